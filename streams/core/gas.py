"""Gas supply (以气定改): household low pressure, station/village shortfall, delivered vs
expected volume, the gas connection rate (通气率) and contracted-quota burn-down."""

from __future__ import annotations

from datetime import date

from contract.incidents import EntityType, IncidentKind, Severity
from contract.telemetry import GasReading, GasStationReading
from streams.core.clock import date_day_index, day_date, day_start_s
from streams.core.context import DetectorContext, Metric, location_fields
from streams.core.revisions import note_gap
from streams.core.state import HouseholdState, StationState


def on_gas(ctx: DetectorContext, st: HouseholdState, r: GasReading, ts: int) -> None:
    s = ctx.settings
    start = ts - r.interval_s
    # A run of low readings is a run in time: low pressure is not assumed to last through
    # missing data (the readings that fill the gap later would not re-run detection).
    after_gap = 0 < st.accounted_until < start
    if after_gap:  # a late upload may fill it
        note_gap(st, st.accounted_until, start, st.comm)
    covered_from = max(start, st.accounted_until) if st.accounted_until else start
    low = r.pressure_kpa < s.gas_low_pressure_kpa
    if low:
        st.d_short += ts - covered_from
    else:
        st.d_avail += ts - covered_from
    st.accounted_until = ts
    st.d_readings += 1
    st.d_gas += r.m3
    st.last_ts = ts
    station = st.station
    if station is not None:
        station.d_delivered += r.m3
    if st.comm is not None:
        ctx.book.resolve(st.comm, ts)
        st.comm = None
    gas = st.gas
    if low:
        run = gas.low_streak.add(ts, after_gap=after_gap)
        if gas.low is None and run >= s.gas_low_min_readings:
            _open_low_pressure(ctx, st, r.pressure_kpa)
    else:
        gas.low_streak.clear()
        if gas.low is not None and r.pressure_kpa >= s.gas_clear_pressure_kpa:
            ctx.book.resolve(gas.low, ts)
            gas.low = None
            if station is not None:
                station.low_count -= 1
                ctx.dirty_stations.add(station)


def _open_low_pressure(ctx: DetectorContext, st: HouseholdState, pressure: float) -> None:
    hh = st.household
    station = st.station
    parent = station.shortfall.incident_id if station is not None and station.shortfall else None
    st.gas.low = ctx.book.open_household(
        IncidentKind.GAS_LOW_PRESSURE,
        hh,
        st.gas.low_streak.first,
        Severity.CRITICAL if hh.is_priority else Severity.WARNING,
        parent_id=parent,
        details={"gas_station_id": hh.gas_station_id, "pressure_kpa": pressure},
    )
    st.d_interruptions += 1
    if station is not None:
        station.low_count += 1
        ctx.dirty_stations.add(station)


def on_station(ctx: DetectorContext, ss: StationState, r: GasStationReading, ts: int) -> None:
    s = ctx.settings
    if ss.last_ts and ts - ss.last_ts > s.interval_s:  # a late upload may fill it
        note_gap(ss, ss.last_ts, ts - s.interval_s)
    ss.last_ts = ts
    if r.outlet_pressure_kpa < s.station_low_outlet_kpa:
        ss.outlet_low = ss.outlet_streak.add(ts) >= s.station_low_min_readings
    elif r.outlet_pressure_kpa >= s.station_clear_outlet_kpa:
        ss.outlet_streak.clear()
        ss.outlet_low = False
    ctx.dirty_stations.add(ss)
    ctx.output.metric(station_pressure_metric(ss, r, ts))


def station_pressure_metric(ss: StationState, r: GasStationReading, ts: int) -> Metric:
    """The station's point at ``ts`` (a late reading writes it with the state of now)."""
    return Metric(
        "station_pressure",
        {"county": ss.county, "village": ss.village, "station_id": ss.station_id},
        {
            "outlet_pressure_kpa": r.outlet_pressure_kpa,
            "flow_m3h": r.flow_m3h,
            "low_pressure_households": ss.low_count,
            "households": len(ss.members),
            "shortfall": int(ss.shortfall is not None or ss.outlet_low),
            **location_fields(ss.location),
        },
        ts,
    )


def roll_up_station(ctx: DetectorContext, ss: StationState, now: int) -> None:
    """A station/village shortfall: low outlet pressure, or many members low at once."""
    s = ctx.settings
    members = len(ss.members)
    member_share = ss.low_count / members if members else 0.0
    members_low = members >= s.station_member_min and member_share >= s.station_member_low_share
    low_members = [m for m in ss.members if m.gas.low is not None] if ss.low_count else []
    priority_low = sum(1 for m in low_members if m.household.is_priority)
    if ss.shortfall is None:
        if not (ss.outlet_low or members_low):
            return
        starts = [int(m.gas.low.started_at.timestamp()) for m in low_members if m.gas.low]
        if ss.outlet_low:
            starts.append(ss.outlet_streak.first)
        ss.shortfall = ctx.book.open_group(
            IncidentKind.GAS_SUPPLY_SHORTFALL,
            (EntityType.GAS_STATION, ss.station_id),
            ss,
            min(starts),
            Severity.CRITICAL,
            affected=(
                max(len(low_members), members if ss.outlet_low else 0),
                ss.priority_members if ss.outlet_low else priority_low,
            ),
            children=[m.gas.low for m in low_members],
            details={
                "trigger": "outlet_pressure" if ss.outlet_low else "member_pressure",
                "members": members,
                "members_low": len(low_members),
            },
        )
        return
    if not ss.outlet_low and member_share < ctx.settings.feeder_restore_share:
        ctx.book.resolve(ss.shortfall, now, members_low=len(low_members))
        ss.shortfall = None
        return
    if len(low_members) > ss.shortfall.details.get("members_low", 0):
        ctx.book.update(
            ss.shortfall, details={**ss.shortfall.details, "members_low": len(low_members)}
        )
    ctx.book.adopt(ss.shortfall, [m.gas.low for m in low_members])


def expected_m3(ctx: DetectorContext, mean_temp_c: float | None) -> float:
    """Degree-day model: expected gas per household for a day of this mean temperature."""
    if mean_temp_c is None:
        return 0.0
    hdd = max(0.0, ctx.settings.gas_base_temp_c - mean_temp_c)
    return hdd * ctx.settings.gas_m3_per_degree_day


def judge_quota_day(ctx: DetectorContext, st: HouseholdState, day: int) -> float | None:
    """At day close: project the season's use at the recent burn rate against the quota.

    Returns the projected season use (m³), or None when the household has no quota.
    """
    quota = st.household.gas_quota_m3
    gas = st.gas
    s = ctx.settings
    gas.used += st.d_gas
    recent = gas.recent
    if recent is None:
        return None
    recent.append(st.d_gas)
    if len(recent) > s.quota_burn_days:
        del recent[0]
    if quota is None:
        return None
    burn = sum(recent) / len(recent)
    days_left = max(0, date_day_index(s.season_end_on_or_after(day_date(day))) - day - 1)
    projected = gas.used + burn * days_left
    if projected > quota and gas.quota_risk is None:
        hh = st.household
        exhaustion_day = day + 1 + int((quota - gas.used) / burn) if burn > 0 else None
        gas.quota_risk = ctx.book.open_household(
            IncidentKind.GAS_QUOTA_RISK,
            hh,
            day_start_s(day + 1),
            Severity.WARNING,
            details={
                "gas_station_id": hh.gas_station_id,
                "quota_m3": quota,
                "used_m3": round(gas.used, 1),
                "burn_m3_per_day": round(burn, 2),
                "projected_season_m3": round(projected, 1),
                "projected_exhaustion": (
                    day_start_s(max(exhaustion_day, day + 1))
                    if exhaustion_day is not None
                    else None
                ),
            },
        )
    elif gas.quota_risk is not None and projected <= quota * s.quota_clear_share:
        ctx.book.resolve(gas.quota_risk, day_start_s(day + 1))
        gas.quota_risk = None
    return projected


# The severities this module opens its incidents with (see ``engine.OCCURRING_SEVERITIES``).
SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    IncidentKind.GAS_LOW_PRESSURE: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.GAS_SUPPLY_SHORTFALL: (Severity.CRITICAL,),
    IncidentKind.GAS_QUOTA_RISK: (Severity.WARNING,),
}


def station_day_metric(
    ctx: DetectorContext,
    ss: StationState,
    temps: dict[str, tuple[float | None, float | None]],
    day_start: int,
) -> Metric:
    """A station's day: delivered vs the degree-day expectation, and the connection rate
    (通气率: members that drew gas); resets the station's daily delivery."""
    members = ss.members
    drawing = sum(1 for m in members if m.d_gas > 0)
    expected = expected_m3(ctx, temps.get(ss.county, (None, None))[1]) * len(members)
    metric = Metric(
        "gas_supply_daily",
        {"county": ss.county, "station_id": ss.station_id},
        {
            "delivered_m3": round(ss.d_delivered, 3),
            "expected_m3": round(expected, 3),
            "delivery_ratio": round(ss.d_delivered / expected, 4) if expected else 0.0,
            "connection_rate": round(drawing / len(members), 4) if members else 0.0,
            "drawing_households": drawing,
            "households": len(members),
        },
        day_start,
    )
    ss.d_delivered = 0.0
    return metric


class CountyQuotas:
    """Each county's contracted gas quota, use and burn rate, summed over its households at
    day close, projected to the day the quota runs out (``gas_quota``)."""

    def __init__(self) -> None:
        self.by_county: dict[str, list[float]] = {}  # quota, used, burn per day, at risk

    def add(self, st: HouseholdState, projected: float | None) -> None:
        hh = st.household
        if projected is None or hh.gas_quota_m3 is None:
            return
        agg = self.by_county.setdefault(hh.county, [0.0, 0.0, 0.0, 0.0])
        agg[0] += hh.gas_quota_m3
        gas = st.gas
        agg[1] += gas.used
        recent = gas.recent or [0.0]
        agg[2] += sum(recent) / len(recent)
        agg[3] += gas.quota_risk is not None

    def metrics(self, day: int, season_end: date) -> list[Metric]:
        """One ``gas_quota`` point per county; ``projected_exhaustion`` 0 = not this season."""
        day_start = day_start_s(day)
        days_left = (season_end - day_date(day)).days
        out = []
        for county, (quota, used, burn, at_risk) in sorted(self.by_county.items()):
            runway = (quota - used) / burn if burn > 0 else float("inf")
            exhaustion = day_start_s(day + 1 + int(runway)) if runway < days_left else 0
            fields: dict[str, float | int | str] = {
                "quota_m3": round(quota, 1),
                "used_m3": round(used, 1),
                "burn_m3_per_day": round(burn, 2),
                "projected_exhaustion": exhaustion,
                "households_at_risk": int(at_risk),
            }
            out.append(Metric("gas_quota", {"county": county}, fields, day_start))
        return out
