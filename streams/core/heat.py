"""Heat networks and boiler houses (集中供热): station interruption with its households as
children, secondary supply below the heating curve, cold sampled homes rolled up to their
station, stack emissions above the ultra-low limits, and each network household's day
accounted from heat delivered rather than from a meter of its own."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import time
from functools import lru_cache
from typing import Any

from contract.glossary import HEAT_DEVICES
from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatStationKind
from contract.telemetry import (
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.clock import DAY_S, ValleyWindow, day_start_s
from streams.core.context import DetectorContext, Metric, location_fields
from streams.core.heatnormal import (
    Reference,
    StationDesign,
    band_of,
    curve_at,
    learn,
    learn_supply,
    learned_curve_at,
    reference,
    station_design,
)
from streams.core.revisions import note_gap
from streams.core.settings import DetectionSettings
from streams.core.state import (
    CountyWeather,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    StackState,
    mean_location,
)

HeatTarget = HeatStationState | StackState | HeatHomeState
_POLLUTANTS = ("particulates", "so2", "nox")


class HeatNetwork:
    """The heat stations, their stacks and their households known to one engine.

    Built from the registry (nothing here is stored in a checkpoint but the per-entity slots,
    see ``streams/core/persist.py``). ``dirty`` holds the stations whose indoor roll-up is
    re-evaluated after the current event-time step.
    """

    __slots__ = ("delivered", "dirty", "homes", "stacks", "stations")

    def __init__(
        self,
        households: Iterable[HouseholdState],
        weather: dict[str, CountyWeather],
        settings: DetectionSettings | None = None,
    ) -> None:
        settings = settings or DetectionSettings()
        self.stations: dict[str, HeatStationState] = {}
        self.stacks: dict[str, StackState] = {}
        self.homes: dict[str, HeatHomeState] = {}
        self.dirty: set[HeatStationState] = set()
        # the closing day's heat delivered per household with a heat-meter reading that day
        # (filled by ``close_day`` for the rollups; nothing between closes)
        self.delivered: dict[str, float] = {}
        for st in households:
            hh = st.household
            if not hh.is_network or hh.heat_station_id is None:
                continue
            station = self.stations.get(hh.heat_station_id)
            if station is None:
                county_weather = weather.get(hh.county)
                if county_weather is None:
                    county_weather = weather[hh.county] = CountyWeather()
                station = HeatStationState(
                    hh.heat_station_id,
                    hh.heat_station_kind or HeatStationKind.BOILER_HOUSE,
                    hh.county,
                    hh.village,
                    county_weather,
                    self.dirty,
                )
                self.stations[hh.heat_station_id] = station
                self.stacks[hh.heat_station_id] = StackState(station)
            home = HeatHomeState(st, station)
            self.homes[hh.household_id] = home
            station.homes.append(home)
            station.priority_members += hh.is_priority
            st.evidence = "heat_station"
        for station in self.stations.values():
            station.location = mean_location([h.household for h in station.homes])
            rows = [h.household.household for h in station.homes]
            station.design = station_design(settings, station.kind, rows)

    def roll_up(self, ctx: DetectorContext, now: int) -> None:
        for station in sorted(self.dirty, key=lambda s: s.station_id):
            roll_up_cold_homes(ctx, station, now)
        self.dirty.clear()

    def scan_silence(self, ctx: DetectorContext, now: int, stream_start: int) -> None:
        """``comm_loss`` for a station whose telemetry, or a home whose own sensor (indoor
        sensor or heat meter), has been silent beyond the threshold, as ``scan_comm_loss``
        does for meters; resolved by the next reading (``on_heat_station`` / ``_own_span``).
        A station that never reported counts from the stream's start; a home's sensor only
        once it has reported (the registry does not say which homes have one)."""
        limit = now - ctx.comm_after_s
        for ss in self.stations.values():
            last = ss.last_ts or stream_start
            if ss.comm is None and 0 < last <= limit:
                _open_station_silence(ctx, ss, last)
            for home in ss.homes:
                if home.comm is not None:
                    continue
                # each device on its own: a silent indoor sensor is a silence though the
                # home's heat meter reports, and a sensor reporting hourly is silent after as
                # many of its own intervals as a meter (one missed hourly reading is not)
                for kind, name in _HOME_DEVICES:
                    last = home.device(kind).last_ts
                    every = sensor_every(ctx.settings, home, kind)
                    if 0 < last <= min(limit, now - ctx.settings.comm_loss_intervals * every):
                        _open_sensor_silence(ctx, home, last, name)
                        break

    def close_day(self, ctx: DetectorContext, day: int) -> dict[str, dict[str, Any]]:
        """Before the household rollups: each network household's minutes from heat delivered.

        Returns, for each station with a communication gap (its own or a home sensor's) that
        a late upload may fill, the day's sums a revision recomputes the homes' days from
        (``streams/core/heatrevisions.py``): plain data, kept by the engine for the horizon."""
        day_end = day_start_s(day) + DAY_S
        kept: dict[str, dict[str, Any]] = {}
        for stack in self.stacks.values():
            if stack.station.kind is HeatStationKind.BOILER_HOUSE or stack.last_ts:
                close_stack_day(ctx, stack, day)
        for station in self.stations.values():
            _note_silent_at_close(station, day_end)
            fields = _station_day_metric(ctx, station, day)
            if station.gaps or any(home.gaps for home in station.homes):
                kept[station.station_id] = {
                    "ok": station.d_ok,
                    "down": station.d_down,
                    "low": station.d_low,
                    "down_ts": list(station.d_down_ts),
                    "homes": {
                        h.household.household.household_id: [
                            own_cold(h.d_cold_ts, station.d_down_ts, ctx.settings.interval_s),
                            h.d_own,
                            [list(c) for c in h.d_cold_ts],
                        ]
                        for h in station.homes
                    },
                    "daily": fields,
                }
            for home in station.homes:
                if home.d_heat is not None:
                    self.delivered[home.household.household.household_id] = round(home.d_heat, 4)
                _home_day(home, station, ctx.settings.interval_s)
            station.reset_day()
        return kept


def _note_silent_at_close(station: HeatStationState, day_end: int) -> None:
    """A station or home sensor silent when its day closes: the rest of the day is a gap a
    late upload may fill (as for a household meter, ``Engine._close_day``)."""
    if 0 < station.accounted_until < day_end:
        note_gap(station, station.accounted_until, day_end, station.comm)
        station.accounted_until = day_end
    for home in station.homes:
        for device in (home.indoor, home.meter):
            if 0 < device.covered_until < day_end:
                note_gap(device, device.covered_until, day_end, home.comm)
                device.covered_until = day_end


# --- silence: a station's telemetry, a home's own sensor ---------------------------------
def _open_station_silence(ctx: DetectorContext, ss: HeatStationState, last: int) -> None:
    """One page for the station: dispatch no longer sees whether its households get heat."""
    ss.comm = ctx.book.open(
        IncidentKind.COMM_LOSS,
        EntityType.HEAT_STATION,
        ss.station_id,
        ss.county,
        last,
        Severity.WARNING,
        village=ss.village,
        households_affected=len(ss.homes),
        priority_households=ss.priority_members,
        details={
            "device": "heat_station",
            "heat_station_kind": ss.kind.value,
            "never_reported": ss.last_ts == 0,
        },
    )


# a home's own devices: (reading kind, the name its comm_loss gives it: ``details.device``)
_HOME_DEVICES = (("indoor_temp", "indoor"), ("heat_meter", "heat_meter"))


def _open_sensor_silence(ctx: DetectorContext, home: HeatHomeState, last: int, device: str) -> None:
    """One comm_loss per home at a time (its id is the household's and the start), naming the
    silent device; it ends when that device reports again."""
    home.comm = ctx.book.open_household(
        IncidentKind.COMM_LOSS,
        home.household.household,
        last,
        Severity.INFO,
        details={"device": device, "heat_station_id": home.station.station_id},
    )


# --- station supply: interruption and the heating curve --------------------------------
def curve_supply_c(
    settings: DetectionSettings,
    kind: HeatStationKind,
    outdoor_c: float,
    design: StationDesign | None = None,
) -> float:
    """The minimum secondary supply for ``outdoor_c`` on a station of ``kind`` (its own
    curve when its design is given: registry override or rescaled to its design supply)."""
    if design is not None:
        return curve_at(design.curve, outdoor_c)
    curves = settings.heat_curves
    return curve_at(curves.get(kind.value) or curves.get("boiler_house") or (45.0, 68.0), outdoor_c)


def _design(s: DetectionSettings, ss: HeatStationState) -> StationDesign:
    if ss.design is None:  # a station state built outside a heat network (tests, tools)
        ss.design = station_design(s, ss.kind, [h.household.household for h in ss.homes])
    design: StationDesign = ss.design
    return design


def on_heat_station(
    ctx: DetectorContext, ss: HeatStationState, r: HeatStationReading, ts: int
) -> None:
    s = ctx.settings
    if ss.accounted_until and ts - s.interval_s > ss.accounted_until:  # a late upload may
        note_gap(ss, ss.accounted_until, ts - s.interval_s, ss.comm)  # fill it (revisions)
        # Runs are runs in time: a state is not assumed to last through missing data (the
        # readings that fill the gap later do not re-run detection).
        ss.down_run = ss.low_run = 0
    if ss.comm is not None:
        ctx.book.resolve(ss.comm, ts)
        ss.comm = None
    supply = r.secondary_supply_c
    outdoor = ss.weather.outdoor_before(ts)
    note_homes(s, ss, ts)
    trigger, low, curve, ref = judge_reading(s, ss, r, outdoor, ts)
    down = trigger is not None
    covered_from = max(ss.accounted_until, ts - s.interval_s)
    if down:
        ss.d_down += ts - covered_from
        ss.d_down_ts.append(ts)
    elif low:
        ss.d_low += ts - covered_from
    else:
        ss.d_ok += ts - covered_from
    ss.accounted_until = ts
    if ts != ss.last_ts:
        ss.down_prior, ss.prior_ts = ss.down_now, ss.last_ts
    ss.down_now = down
    ss.last_ts = ts
    _judge_interruption(ctx, ss, r, ts, trigger, ref)
    if ss.interruption is None and not down:
        if curve is not None:
            _judge_supply_low(ctx, ss, supply, curve, ts)
        elif outdoor is not None and station_curve(s, ss, _design(s, ss), outdoor, ts)[1] == (
            "homes_warm"
        ):
            _not_judged_low(ctx, ss, supply, ts)  # unlearned, its warm homes say enough
    if trigger is None and ss.interruption is None and outdoor is not None:
        _learn_curve(s, ss, supply, outdoor, ts, low)
    if ss.cold_count:
        ss.dirty.add(ss)  # its cold homes follow its pages (``roll_up_cold_homes``)
    if not down and not low and ss.interruption is None and ss.supply_low is None:
        # only what is judged healthy is learned: a fault never becomes the normal
        delta = r.secondary_supply_c - r.secondary_return_c
        learn(s, ss.norm_flow, ss.norm_delta, outdoor, r.flow_m3h, delta, ss.norm_heat, r.heat_kw)
    station_metric(ctx, ss, r, curve, ts)


def sampled_at(s: DetectionSettings, ss: HeatStationState, ts: int) -> tuple[int, int, int]:
    """(reporting, warm, cold) sampled homes of a station at its step ``ts``: each home's
    latest indoor reading before the step (the one before that if its reading of this step
    was handled first: the same answer in either order), if within two of its intervals.
    Warm: at or above ``indoor_low_c``; cold: below it in occupied hours (a night setback is
    neither)."""
    reporting = warm = cold = 0
    for home in ss.homes:
        d = home.indoor
        if not d.last_ts:
            continue
        seen, temp = (d.prior_ts, d.prior_temp_c) if d.last_ts >= ts else (d.last_ts, d.temp_c)
        if not seen or seen < ts - 2 * sensor_every(s, home):
            continue
        reporting += 1
        if temp >= s.indoor_low_c:
            warm += 1
        elif occupied_at(s, seen):
            cold += 1
    return reporting, warm, cold


def station_curve(
    s: DetectionSettings, ss: HeatStationState, design: StationDesign, outdoor: float, ts: int
) -> tuple[float | None, str]:
    """(the minimum supply the station is judged against at ``outdoor`` or None, where it
    comes from): the registry's curve, else what its warm homes taught (its kind's curve if
    that fits, else its learned curve), else — not known yet — its kind's guess while no
    sampled home reports or enough of them are cold, else none (``heat_curve_learn_readings``
    says why)."""
    if design.curve_from_registry:
        return curve_at(design.curve, outdoor), "registry"
    learned = learned_curve_at(s, design, ss.norm_supply, outdoor)
    if learned is not None:
        return learned
    reporting, warm, cold = sampled_at(s, ss, ts)
    said = _homes_say(s, reporting, warm, cold)
    if reporting and said is None:
        return None, "unknown"  # a night setback: neither warm nor cold, nothing is judged
    if ss.homes_warm if said is None else said:
        return None, "homes_warm"  # they show (or last showed) the supply is enough
    return curve_at(design.curve, outdoor), "kind"


def note_homes(s: DetectionSettings, ss: HeatStationState, ts: int) -> None:
    """Keep in ``homes_warm`` what the station's reporting sampled homes say at its live step
    ``ts``, for the steps none reports. Noted at every live step, also before the outdoor
    temperature is known: a sensor silent for a while (its upload comes late) then leaves the
    judgement where its last readings put it, as the ordered readings would. (Only here: a
    late reading judged on revision does not move it.)"""
    if _design(s, ss).curve_from_registry:
        return  # judged against its registry curve: what its homes say is not needed
    said = _homes_say(s, *sampled_at(s, ss, ts))
    if said is not None:
        ss.homes_warm = said


def _homes_say(s: DetectionSettings, reporting: int, warm: int, cold: int) -> bool | None:
    """True: enough reporting sampled homes warm; False: enough cold; None: none reports,
    or a night setback (neither)."""
    if not reporting:
        return None
    if cold >= max(1, math.ceil(s.indoor_station_share * reporting)):
        return False
    if _warm_enough(s, reporting, warm):
        return True
    return None


def _learn_curve(
    s: DetectionSettings, ss: HeatStationState, supply: float, outdoor: float, ts: int, low: bool
) -> None:
    """A station without a registry curve learns its own while its sampled homes are warm:
    what is judged low against its curve is never learned, but what is not judged (a
    low-temperature network before its curve is known) is."""
    design = _design(s, ss)
    if design.curve_from_registry or low:
        return
    entry = ss.norm_supply.get(band_of(s, outdoor))
    if entry is not None and entry[0] >= s.heat_curve_learn_readings:
        return  # that band is learned (and fixed)
    reporting, warm, _ = sampled_at(s, ss, ts)
    if _warm_enough(s, reporting, warm) or (not reporting and ss.homes_warm):
        learn_supply(s, design, ss.norm_supply, outdoor, supply)


def _warm_enough(s: DetectionSettings, reporting: int, warm: int) -> bool:
    """Enough of a station's reporting sampled homes warm that its supply is evidently
    enough: all but a share that would not roll up as a station problem."""
    return warm > 0 and warm >= (1.0 - s.indoor_station_share) * reporting


def judge_reading(
    s: DetectionSettings,
    ss: HeatStationState,
    r: HeatStationReading,
    outdoor: float | None,
    ts: int,
) -> tuple[str | None, bool, float | None, Reference]:
    """(why it gives no useful heat or None, below its curve, the curve, the thresholds) of
    one station reading, against the station's own design and learned normal.

    No useful heat: the pumps stopped (flow below a share of its normal), the supply below its
    design's dead line, or the heat source lost while the pumps run (supply–return difference
    collapsed to a share of its normal at this outdoor temperature: flow × ΔT, the heat
    output, is then ~0 although the network's water is still warm)."""
    design = _design(s, ss)
    ref = reference(s, design, ss.norm_flow, ss.norm_delta, outdoor, ss.norm_heat)
    supply = r.secondary_supply_c
    delta = supply - r.secondary_return_c
    curve = station_curve(s, ss, design, outdoor, ts)[0] if outdoor is not None else None
    trigger: str | None = None
    if r.flow_m3h <= ref.flow_stopped_m3h:
        trigger = "flow_stopped"
        if (
            not ref.flow_learned
            and not design.flow_from_registry
            and r.flow_m3h > s.heat_flow_floor_m3h
            and supply >= ref.dead_supply_c + s.heat_restore_margin_k
            and delta >= ref.delta_lost_k
            and (curve is None or supply >= curve - s.heat_low_margin_c)
        ):
            # a design flow guessed from the number of homes is no better than 2-3×: a
            # circulating station delivering heat on its curve is running, and its flow is
            # learned (never a season-long "interruption" of a small or undersized network)
            trigger = None
    elif supply < ref.dead_supply_c:
        trigger = "supply_temperature"
    elif delta < ref.delta_lost_k or (
        # the station's heat meter reads ~no output while the difference is already falling
        ref.heat_normal_kw
        and ref.delta_normal_k
        and r.heat_kw <= s.heat_source_loss_heat_share * ref.heat_normal_kw
        and delta < 0.5 * ref.delta_normal_k
    ):
        trigger = "heat_source_lost"
    low = trigger is None and curve is not None and supply < curve - s.heat_low_margin_c
    return trigger, low, curve, ref


def supply_state(
    s: DetectionSettings,
    ss: HeatStationState,
    r: HeatStationReading,
    outdoor: float | None,
    ts: int,
) -> tuple[bool, bool, float | None]:
    """(down: no useful heat, low: below the heating curve, the curve) of one reading."""
    trigger, low, curve, _ = judge_reading(s, ss, r, outdoor, ts)
    return trigger is not None, low, curve


def station_metric(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    curve: float | None,
    ts: int,
) -> None:
    """The ``heat_station`` point: supply vs curve (no curve field before any weather)."""
    curve_field = {"curve_supply_c": round(curve, 2)} if curve is not None else {}
    ctx.output.metric(
        Metric(
            "heat_station",
            {"county": ss.county, "village": ss.village, "heat_station_id": ss.station_id},
            {
                "secondary_supply_c": r.secondary_supply_c,
                "secondary_return_c": r.secondary_return_c,
                **curve_field,
                "flow_m3h": r.flow_m3h,
                "heat_kw": r.heat_kw,
                "households": len(ss.homes),
                "cold_homes": ss.cold_count,
                "interrupted": int(ss.interruption is not None),
                "supply_low": int(ss.supply_low is not None),
                **location_fields(ss.location),
            },
            ts,
        )
    )


def _judge_interruption(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    ts: int,
    trigger: str | None,
    ref: Reference,
) -> None:
    s = ctx.settings
    if trigger is not None:
        if ss.down_run == 0:
            ss.down_first_ts = ts
        ss.down_run += 1
        ss.low_run = 0  # an interruption is not also a low supply
        if ss.interruption is None and ss.down_run >= s.heat_interruption_min_readings:
            _open_interruption(ctx, ss, r, trigger, ref)
        return
    ss.down_run = 0
    restored = r.secondary_supply_c >= ref.dead_supply_c + s.heat_restore_margin_k
    if ss.interruption is not None and restored:
        for home in ss.homes:
            if home.interruption is not None:
                ctx.book.resolve(home.interruption, ts)
                home.interruption = None
        ctx.book.resolve(ss.interruption, ts, restored_supply_c=r.secondary_supply_c)
        ss.interruption = None


def _open_interruption(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    trigger: str,
    ref: Reference,
) -> None:
    """One station incident (the page) and one child per household of the station.

    A station already paged for low supply escalates that incident (same id, now an
    interruption, critical): a failing source is one event for dispatch, whichever symptom
    showed first."""
    details = {
        "heat_station_kind": ss.kind.value,
        "trigger": trigger,
        "secondary_supply_c": r.secondary_supply_c,
        "secondary_return_c": r.secondary_return_c,
        "flow_m3h": r.flow_m3h,
        "heat_kw": r.heat_kw,
        "members": len(ss.homes),
        "reference": "learned" if ref.learned else "design",
        "flow_stopped_below_m3h": round(ref.flow_stopped_m3h, 3),
        "delta_lost_below_k": round(ref.delta_lost_k, 2),
    }
    if ss.supply_low is not None:
        low = ss.supply_low
        ss.supply_low = None
        ss.low_run = 0
        ctx.book.update(
            low,
            kind=IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            severity=Severity.CRITICAL,
            details={**low.details, **details, "escalated_from": "heat_supply_low"},
        )
        ss.interruption = low
    else:
        ss.interruption = ctx.book.open(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            EntityType.HEAT_STATION,
            ss.station_id,
            ss.county,
            ss.down_first_ts,
            Severity.CRITICAL,
            village=ss.village,
            households_affected=len(ss.homes),
            priority_households=ss.priority_members,
            details=details,
        )
    ss.d_interruptions += 1
    parent = ss.interruption.incident_id
    for home in ss.homes:
        hh = home.household.household
        home.interruption = ctx.book.open_household(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            hh,
            ss.down_first_ts,
            Severity.CRITICAL if hh.is_priority else Severity.WARNING,
            parent_id=parent,
            details={"heat_station_id": ss.station_id},
        )


def _not_judged_low(ctx: DetectorContext, ss: HeatStationState, supply: float, ts: int) -> None:
    """A reading not judged against a curve (unlearned, its sampled homes warm): no low run,
    and a low-supply page opened on the guess ends (the homes show the supply is enough)."""
    ss.low_run = 0
    if ss.supply_low is not None:
        ctx.book.resolve(ss.supply_low, ts, secondary_supply_c=supply, ended_by="homes_warm")
        ss.supply_low = None


def _curve_source(s: DetectionSettings, ss: HeatStationState, ts: int) -> str:
    """``registry``, ``learned`` or ``kind``: the station's curve at ``ts`` (details)."""
    outdoor = ss.weather.outdoor_before(ts)
    return station_curve(s, ss, _design(s, ss), outdoor, ts)[1] if outdoor is not None else ""


def _judge_supply_low(
    ctx: DetectorContext, ss: HeatStationState, supply: float, curve: float, ts: int
) -> None:
    s = ctx.settings
    if supply < curve - s.heat_low_margin_c:
        if ss.low_run == 0:
            ss.low_first_ts = ts
        ss.low_run += 1
        if ss.supply_low is None and ss.low_run >= s.heat_low_min_readings:
            ss.supply_low = ctx.book.open(
                IncidentKind.HEAT_SUPPLY_LOW,
                EntityType.HEAT_STATION,
                ss.station_id,
                ss.county,
                ss.low_first_ts,
                Severity.WARNING,
                village=ss.village,
                households_affected=len(ss.homes),
                priority_households=ss.priority_members,
                details={
                    "heat_station_kind": ss.kind.value,
                    "secondary_supply_c": supply,
                    "curve_supply_c": round(curve, 2),
                    "curve": _curve_source(s, ss, ts),
                },
            )
        return
    ss.low_run = 0
    if ss.supply_low is not None and supply >= curve - s.heat_low_clear_margin_c:
        ctx.book.resolve(ss.supply_low, ts, secondary_supply_c=supply)
        ss.supply_low = None


# --- sampled homes: indoor temperature and heat meters ----------------------------------
@lru_cache(maxsize=8)
def _occupied_window(start: time, end: time) -> ValleyWindow:
    return ValleyWindow(start, end)


def sensor_every(s: DetectionSettings, home: HeatHomeState, kind: str = "indoor_temp") -> int:
    """How often the home's device of reading ``kind`` reports: learned (the shortest gap,
    once a few gaps were seen: a sensor's first gap may straddle a missed reading), else the
    meters' interval. An indoor sensor's reading has no interval of its own; it stands for
    its cadence."""
    device = home.device(kind)
    if device.every_seen >= s.sensor_cadence_min_gaps:
        return device.every
    return s.interval_s


def _own_span(
    ctx: DetectorContext, home: HeatHomeState, ts: int, kind: str, interval_s: int | None = None
) -> int:
    """Seconds a home's device reading covers: its interval (an indoor sensor's: its learned
    cadence), never overlapping that device's previous one. Coverage and gaps are the
    device's own (issue 20): a home with an indoor sensor and a heat meter loses neither's
    late upload to the other's live readings."""
    device = home.device(kind)
    gap = ts - device.last_ts if device.last_ts else 0
    if gap > 0:
        device.every_seen += 1
        if not device.every or gap < device.every:
            device.every = gap
    if interval_s is None:
        interval_s = sensor_every(ctx.settings, home, kind)
    span = min(interval_s, gap) if device.last_ts else interval_s
    if device.covered_until and ts - interval_s > device.covered_until:  # a late upload may
        note_gap(device, device.covered_until, ts - interval_s, home.comm)  # fill it
        # Sensors miss readings routinely: a short gap is not a recovery and the run goes on;
        # a longer silence ends it (runs are runs in time, as the station's). The indoor
        # sensor's silence ends the cold run, the heat meter's the no-heat run.
        if (
            ts - device.covered_until
            > (ctx.settings.indoor_missing_grace_readings + 1) * interval_s
        ):
            if device is home.meter:
                home.no_heat_run = 0
            else:
                home.cold_run = 0
    device.last_ts = device.covered_until = ts
    home.last_ts = max(home.last_ts, ts)
    if home.comm is not None and home.comm.details.get("device") == (
        "heat_meter" if kind == "heat_meter" else "indoor"
    ):
        ctx.book.resolve(home.comm, ts)
        home.comm = None
    home.d_readings += 1
    home.d_own += span
    return span


def occupied_at(s: DetectionSettings, ts: int) -> bool:
    """The interval ending at ``ts`` lies in the hours a home is judged cold in."""
    return _occupied_window(s.indoor_occupied_start, s.indoor_occupied_end).contains(ts - 1)


def no_heat_at_meter(s: DetectionSettings, home: HeatHomeState, r: HeatMeterReading) -> bool:
    """No heat at a home's heat meter: no energy, no heat given off, or a supply too cold to
    heat — judged against its own network's design, as the station is (``heat_dead_below_
    return_k`` under the design return: 35 °C on a 75/50 radiator network, 25 °C on a 50/40
    floor-heating one, whose homes normally see ~34 °C in mild weather)."""
    return (
        r.energy_kwh <= 0
        or r.supply_c - r.return_c < s.heat_meter_min_delta_c
        or r.supply_c < _design(s, home.station).return_c - s.heat_dead_below_return_k
    )


def on_indoor(ctx: DetectorContext, home: HeatHomeState, r: IndoorTempReading, ts: int) -> None:
    s = ctx.settings
    device = home.indoor
    if ts != device.last_ts:  # the reading before this one: what its station's step sees
        device.prior_ts, device.prior_temp_c = device.last_ts, device.temp_c
    span = _own_span(ctx, home, ts, "indoor_temp")
    device.temp_c = r.temp_c
    home.own_source = "indoor"
    occupied = occupied_at(s, ts)
    if r.temp_c < s.indoor_low_c:
        if not occupied:
            return  # a night setback is no failure; the run neither grows nor ends
        home.d_cold += span
        home.d_cold_ts.append([ts, span])
        if home.cold_run == 0:
            home.cold_first_ts = ts
        home.cold_run += 1
        if home.indoor_low is None and home.cold_run >= s.indoor_low_min_readings:
            _open_cold_home(ctx, home, r.temp_c)
        return
    home.cold_run = 0
    if home.indoor_low is not None and r.temp_c >= s.indoor_clear_c:
        ctx.book.resolve(home.indoor_low, ts, indoor_temp_c=r.temp_c)
        home.indoor_low = None
        home.station.cold_count -= 1
        home.station.dirty.add(home.station)


def _open_cold_home(ctx: DetectorContext, home: HeatHomeState, temp_c: float) -> None:
    hh = home.household.household
    station = home.station
    home.indoor_low = ctx.book.open_household(
        IncidentKind.INDOOR_TEMP_LOW,
        hh,
        home.cold_first_ts,
        Severity.CRITICAL if hh.is_priority else Severity.WARNING,
        parent_id=station.cold.incident_id if station.cold is not None else None,
        details={"heat_station_id": station.station_id, "indoor_temp_c": temp_c},
    )
    home.d_interruptions += 1
    station.cold_count += 1
    station.dirty.add(station)


def on_heat_meter(ctx: DetectorContext, home: HeatHomeState, r: HeatMeterReading, ts: int) -> None:
    """A household heat meter is the home's own evidence of heat delivered, and its own
    detector: no heat at the meter while the station supplies is the home's fault."""
    s = ctx.settings
    span = _own_span(ctx, home, ts, "heat_meter", r.interval_s)
    if home.own_source is None:  # a home with an indoor sensor is a sampled home
        home.own_source = "heat_meter"
    home.d_heat = (home.d_heat or 0.0) + r.energy_kwh  # the home's use figure (issue 24)
    no_heat = no_heat_at_meter(s, home, r)
    if no_heat:
        home.d_cold += span
        home.d_cold_ts.append([ts, span])
    _judge_no_heat(ctx, home, r, ts, no_heat)


def supplied_before(ss: HeatStationState, ts: int, interval_s: int) -> bool:
    """Whether the station supplied heat at its last reading before the step ``ts``, taken
    within two intervals of it: the same answer whether this step's station reading was
    handled before or after the asking meter's (as ``CountyWeather.outdoor_before``)."""
    down, seen = (ss.down_prior, ss.prior_ts) if ss.last_ts >= ts else (ss.down_now, ss.last_ts)
    return seen > 0 and seen >= ts - 2 * interval_s and not down


def _judge_no_heat(
    ctx: DetectorContext, home: HeatHomeState, r: HeatMeterReading, ts: int, no_heat: bool
) -> None:
    s = ctx.settings
    if not no_heat:
        home.no_heat_run = 0
        if home.no_heat is not None:
            ctx.book.resolve(home.no_heat, ts, energy_kwh=r.energy_kwh)
            home.no_heat = None
        return
    if not supplied_before(home.station, ts, s.interval_s):
        home.no_heat_run = 0  # the station's interruption (or its silence) explains it
        return
    if home.no_heat_run == 0:
        home.no_heat_first_ts = ts
    home.no_heat_run += 1
    if home.no_heat is None and home.no_heat_run >= s.heat_meter_no_heat_min_readings:
        hh = home.household.household
        home.no_heat = ctx.book.open_household(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            hh,
            home.no_heat_first_ts,
            Severity.CRITICAL if hh.is_priority else Severity.WARNING,
            details={
                "trigger": "heat_meter",
                "heat_station_id": home.station.station_id,
                "supply_c": r.supply_c,
                "return_c": r.return_c,
                "energy_kwh": r.energy_kwh,
            },
        )
        home.d_interruptions += 1


def roll_up_cold_homes(ctx: DetectorContext, ss: HeatStationState, now: int) -> None:
    """A share of a station's sampled homes cold at once: one station incident, homes as
    children. Not while the station is itself interrupted or below its curve: that page
    explains the cold, and the cold homes are its children. Children close with their
    parent (after the event-time step, so the order of a step's readings does not matter)."""
    s = ctx.settings
    cold = [h for h in ss.homes if h.indoor_low is not None] if ss.cold_count else []
    sampled = sum(1 for h in ss.homes if h.own_source == "indoor")
    need = max(s.indoor_station_min_homes, math.ceil(s.indoor_station_share * sampled))
    explains = ss.interruption if ss.interruption is not None else ss.supply_low
    if explains is not None:
        # the station's own page explains its cold homes: they are its children (one page
        # for the event), never a second station page
        if ss.cold is not None:
            # a cold roll-up opened before the station's page (the homes felt it first) is
            # the same event: closed into the page as its child, its homes re-parented to
            # the page (a flat tree: the reports attribute children to their top incident)
            _merge_station_cold(ctx, ss, explains, now, cold)
        for h in cold:
            if h.indoor_low is not None and h.indoor_low.parent_id != explains.incident_id:
                ctx.book.update(h.indoor_low, parent_id=explains.incident_id)
        return
    ended = [
        h
        for h in cold
        if explains is None
        and h.indoor_low is not None
        and h.indoor_low.parent_id is not None
        and h.indoor_low.parent_id != (ss.cold.incident_id if ss.cold is not None else None)
    ]
    if ended:  # children of a station page that has ended close with it
        for h in ended:
            assert h.indoor_low is not None
            ctx.book.resolve(h.indoor_low, now, closed_with_parent=True)
            h.indoor_low = None
            h.cold_run = 0
            ss.cold_count -= 1
        cold = [h for h in cold if h.indoor_low is not None]
    if ss.cold is None:
        if len(cold) < need:
            return
        ss.cold = ctx.book.open(
            IncidentKind.INDOOR_TEMP_LOW,
            EntityType.HEAT_STATION,
            ss.station_id,
            ss.county,
            min(int(h.indoor_low.started_at.timestamp()) for h in cold if h.indoor_low),
            Severity.WARNING,
            village=ss.village,
            households_affected=len(cold),
            priority_households=sum(1 for h in cold if h.household.household.is_priority),
            details={
                "trigger": "sampled_homes",
                "cold_homes": len(cold),
                "sampled_homes": sampled,
                "share_needed": s.indoor_station_share,
            },
        )
    elif len(cold) < need:
        _end_station_cold(ctx, ss, now, cold)
        return
    elif len(cold) > ss.cold.households_affected:
        ctx.book.update(ss.cold, households_affected=len(cold))
    parent = ss.cold.incident_id
    for h in cold:
        if h.indoor_low is not None and h.indoor_low.parent_id != parent:
            ctx.book.update(h.indoor_low, parent_id=parent)


def _merge_station_cold(
    ctx: DetectorContext,
    ss: HeatStationState,
    page: Incident,
    now: int,
    cold: list[HeatHomeState],
) -> None:
    """The station's cold roll-up ends as a child of its own low-supply or interruption
    ``page`` (ids unchanged: deterministic); the homes stay cold, now under the page."""
    assert ss.cold is not None
    roll = ss.cold
    ss.cold = None
    ctx.book.update(roll, parent_id=page.incident_id)
    ctx.book.resolve(roll, now, cold_homes=len(cold), merged_into=page.incident_id)


def _end_station_cold(
    ctx: DetectorContext, ss: HeatStationState, now: int, cold: list[HeatHomeState]
) -> None:
    """The station's cold roll-up ends and its children with it: a home still cold starts a
    run of its own (paged on its own after ``indoor_low_min_readings``)."""
    assert ss.cold is not None
    parent = ss.cold.incident_id
    ctx.book.resolve(ss.cold, now, cold_homes=len(cold))
    ss.cold = None
    for h in cold:
        if h.indoor_low is not None and h.indoor_low.parent_id == parent:
            ctx.book.resolve(h.indoor_low, now, closed_with_parent=True)
            h.indoor_low = None
            h.cold_run = 0
            ss.cold_count -= 1


# --- stack emissions (CEMS) --------------------------------------------------------------
# Operating states of a boiler-house hour (HJ 75-2017 flags start-up, shutdown and stopped
# data apart from normal operation; only running hours are judged against the limits).
RUNNING, STARTUP, SHUTDOWN, STOPPED = "running", "startup", "shutdown", "stopped"
_LONG_RUNNING = 1_000_000  # run_hours of a boiler already running when the stream began


def reference_o2(s: DetectionSettings, sk: StackState) -> float:
    """The reference O₂ of the stack's limits, by the boiler house's fuel (registry)."""
    design = _design(s, sk.station)
    if design.fuel is not None:
        return s.emission_reference_o2_by_fuel.get(design.fuel.value, s.emission_reference_o2_pct)
    return s.emission_reference_o2_pct


def firing(s: DetectionSettings, sk: StackState, r: StackEmissionReading) -> bool:
    """Whether the boiler fired in normal operation during the reading: combustion gas (O₂
    below near-ambient), a running fan (flue flow not collapsed against its own running
    flow), not banked (high O₂ at low draught) and, when reported, a warm stack."""
    if r.o2_pct >= s.cems_firing_o2_max_pct or r.flue_flow_m3h <= 0:
        return False
    if r.flue_temp_c is not None and r.flue_temp_c < s.cems_firing_flue_temp_c:
        return False
    n, mean = sk.flue_norm
    learned = n >= s.heat_normal_min_readings
    if learned and r.flue_flow_m3h < s.cems_firing_flow_share * mean:
        return False  # a stopped fan
    # banked (压火): minimum fire at low draught, O₂ near ambient; the conversion would
    # multiply its small concentrations several times. Air blown in to dilute the flue gas
    # raises the flow as well as the O₂, so that is still judged (once the running flow is
    # known: before, high O₂ alone is taken as banked).
    low_draught = not learned or r.flue_flow_m3h < s.cems_banked_flow_share * mean
    return not (r.o2_pct >= s.cems_banked_o2_min_pct and low_draught)


def on_stack(ctx: DetectorContext, sk: StackState, r: StackEmissionReading, ts: int) -> None:
    """Average an hour (by interval start) of the firing readings at the reference O₂; judge
    it when the next begins (or when its day closes)."""
    s = ctx.settings
    if sk.last_ts and ts - r.interval_s > sk.last_ts:  # a late upload may fill it
        note_gap(sk, sk.last_ts, ts - r.interval_s)
    sk.last_ts = ts
    hour = (ts - r.interval_s) // 3600
    if hour != sk.em_hour:
        if sk.em_hour >= 0 and sk.em_n:
            _judge_hour(ctx, sk)
        sk.em_hour, sk.em_n, sk.em_fire, sk.em_s = hour, 0, 0, 0
        sk.em_pm, sk.em_so2, sk.em_nox = 0.0, 0.0, 0.0
    fired = firing(s, sk, r)
    sk.em_s += min(r.interval_s, 3600)
    if sk.em_n == 0:
        sk.em_first_fire = fired
    sk.em_last_fire = fired
    sk.em_n += 1
    if not fired:
        return  # near-ambient O₂: a reference-O₂ conversion would only multiply noise
    sk.em_fire += 1
    _fold_flue(s, sk, r.flue_flow_m3h)
    pm, so2, nox = at_reference_o2(s, r, reference_o2(s, sk))
    sk.em_pm += pm
    sk.em_so2 += so2
    sk.em_nox += nox


def _fold_flue(s: DetectionSettings, sk: StackState, flow: float) -> None:
    n = sk.flue_norm[0] + 1
    sk.flue_norm[0] = n
    sk.flue_norm[1] += (flow - sk.flue_norm[1]) * max(s.heat_normal_weight, 1.0 / n)


def at_reference_o2(
    s: DetectionSettings, r: StackEmissionReading, ref_o2: float | None = None
) -> tuple[float, float, float]:
    """Particulates, SO₂ and NOx of one firing reading converted to the reference O₂."""
    ref = s.emission_reference_o2_pct if ref_o2 is None else ref_o2
    factor = (21.0 - ref) / (21.0 - min(r.o2_pct, s.cems_firing_o2_max_pct))
    return r.particulates_mg_m3 * factor, r.so2_mg_m3 * factor, r.nox_mg_m3 * factor


def hour_metric(
    sk: StackState,
    hour: int,
    n: int,
    sums: tuple[float, float, float],
    fired: int | None = None,
    state: str | None = None,
) -> Metric:
    """The ``stack_emission_hourly`` point of an hour (keyed by station and hour start):
    means over its firing readings, its operating state when judged."""
    ss = sk.station
    fired = n if fired is None else fired
    means = {
        k: round(v / fired, 2) if fired else 0.0 for k, v in zip(_POLLUTANTS, sums, strict=True)
    }
    extra: dict[str, Any] = {"firing_readings": fired}
    if state is not None:
        extra["operating_state"] = state
    return Metric(
        "stack_emission_hourly",
        {"county": ss.county, "village": ss.village, "heat_station_id": ss.station_id},
        {**{f"{k}_mg_m3": v for k, v in means.items()}, "readings": n, **extra},
        hour * 3600,
    )


def hour_state(s: DetectionSettings, sk: StackState) -> str:
    """The operating state of the hour being closed (updates the start-up count)."""
    if sk.em_fire == 0:
        sk.run_hours = 0
        return STOPPED
    if sk.em_fire < sk.em_n:  # fired part of the hour: lit (start-up) or put out (shutdown)
        sk.run_hours = 0
        return SHUTDOWN if sk.em_first_fire and not sk.em_last_fire else STARTUP
    sk.run_hours = min(sk.run_hours + 1, _LONG_RUNNING)
    return STARTUP if sk.run_hours <= s.cems_startup_hours else RUNNING


def _judge_hour(ctx: DetectorContext, sk: StackState) -> None:
    s = ctx.settings
    ss = sk.station
    hour_start = sk.em_hour * 3600
    state = hour_state(s, sk)
    sk.last_state = state
    complete = (
        sk.em_n >= s.emission_min_readings_per_hour
        and sk.em_s >= s.emission_min_minutes_per_hour * 60
    )
    sums = (sk.em_pm, sk.em_so2, sk.em_nox)
    fired = sk.em_fire
    means = {
        k: round(v / fired, 2) if fired else 0.0 for k, v in zip(_POLLUTANTS, sums, strict=True)
    }
    ref_o2 = reference_o2(s, sk)
    limits = {
        "particulates": s.emission_particulates_mg_m3,
        "so2": s.emission_so2_mg_m3,
        "nox": s.emission_nox_mg_m3,
    }
    ctx.output.metric(hour_metric(sk, sk.em_hour, sk.em_n, sums, fired, state))
    hours = sk.d_hours
    hours[state] = hours.get(state, 0) + 1
    if state == RUNNING and complete:
        hours["running_valid"] = hours.get("running_valid", 0) + 1
    if s.revision_horizon_s and sk.em_n < 3600 // s.interval_s:  # a late upload may fill it
        hour = [sk.em_hour, sk.em_n, *sums, fired, state]
        if sk.hours is None:
            sk.hours = [hour]
        else:
            sk.hours.append(hour)
    if state != RUNNING:
        # start-up, shutdown and stopped hours are flagged, not judged; an exceedance ends
        # when the boiler leaves normal operation (its emissions are no longer comparable)
        if sk.emission is not None:
            ctx.book.resolve(sk.emission, hour_start, ended_by=state)
            sk.emission = None
        return
    if not complete:
        return  # an hour with too few readings is neither a breach nor a recovery
    over = {k: v for k, v in means.items() if v > limits[k]}
    if over and sk.emission is None:
        sk.emission = ctx.book.open(
            IncidentKind.EMISSION_EXCEEDANCE,
            EntityType.HEAT_STATION,
            ss.station_id,
            ss.county,
            hour_start,
            Severity.WARNING,
            village=ss.village,
            households_affected=0,
            details={
                "pollutants": sorted(over),
                "hourly_means_mg_m3": means,
                "limits_mg_m3": limits,
                "reference_o2_pct": ref_o2,
                "fuel": sk.station.design.fuel.value if sk.station.design.fuel else None,
                "operating_state": state,
            },
        )
    elif not over and sk.emission is not None:
        ctx.book.resolve(sk.emission, hour_start, hours_compliant_from=hour_start)
        sk.emission = None


def close_stack_day(ctx: DetectorContext, sk: StackState, day: int) -> None:
    """Judge the day's last hour (all its readings are in when the day closes) and write the
    stack's ``stack_emission_daily`` point: hours by operating state and data completeness
    (valid running hours of running hours: the share the county can rely on)."""
    day_end = day_start_s(day) + DAY_S
    if sk.em_hour >= 0 and sk.em_n and sk.em_hour * 3600 < day_end:
        _judge_hour(ctx, sk)
        sk.em_hour, sk.em_n, sk.em_fire, sk.em_s = -1, 0, 0, 0
        sk.em_pm, sk.em_so2, sk.em_nox = 0.0, 0.0, 0.0
    hours = sk.d_hours
    if not hours and not sk.last_ts:
        return  # a stack that never reported: its silence is the station's comm_loss
    reported = sum(hours.get(k, 0) for k in (RUNNING, STARTUP, SHUTDOWN, STOPPED))
    running = hours.get(RUNNING, 0)
    fields: dict[str, Any] = {
        "hours_running": running,
        "hours_running_valid": hours.get("running_valid", 0),
        "hours_startup": hours.get(STARTUP, 0),
        "hours_shutdown": hours.get(SHUTDOWN, 0),
        "hours_stopped": hours.get(STOPPED, 0),
        "hours_missing": max(0, 24 - reported),
    }
    if running:
        fields["completeness"] = round(hours.get("running_valid", 0) / running, 4)
    ss = sk.station
    ctx.output.metric(
        Metric(
            "stack_emission_daily",
            {"county": ss.county, "heat_station_id": ss.station_id},
            fields,
            day_start_s(day),
        )
    )
    sk.d_hours = {}


# --- the day -----------------------------------------------------------------------------
def near_down(ts: int, down_ts: list[int], interval_s: int) -> bool:
    """Whether the station was down at the step of a home reading stamped ``ts``."""
    return any(abs(d - ts) < interval_s for d in down_ts)


def own_cold(cold_ts: list[list[int]], down_ts: list[int], interval_s: int) -> int:
    """A home's cold or heatless seconds while its station supplied: those at a step the
    station was down are its outage already (counted once, as outage). Its devices' cold
    intervals are counted as their union: an indoor sensor and a heat meter that both say
    so at one time are one cold interval (the same in any order the readings came)."""
    spans = sorted(
        (ts - span, ts)
        for ts, span in cold_ts
        if not (down_ts and near_down(ts, down_ts, interval_s))
    )
    total, reach = 0, None
    for start, end in spans:
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += end - start
        reach = end if reach is None else max(reach, end)
    return total


def _home_day(home: HeatHomeState, station: HeatStationState, interval_s: int) -> None:
    """Write the household's minutes from its station's supply, corrected by its own data."""
    st = home.household
    own = home.d_own > 0
    cold = own_cold(home.d_cold_ts, station.d_down_ts, interval_s)
    st.d_avail, st.d_outage, st.d_short = home_minutes(
        station.d_ok, station.d_down, station.d_low, cold, home.d_own
    )
    st.d_interruptions = station.d_interruptions + home.d_interruptions
    st.d_readings += home.d_readings
    if own and home.own_source is not None:
        st.evidence = f"heat_station+{home.own_source}"
    else:
        st.evidence = "heat_station"
    home.reset_day()


def home_minutes(ok: int, down: int, low: int, d_cold: int, d_own: int) -> tuple[int, int, int]:
    """A network home's (available, outage, shortfall) seconds from its station's supply
    (``ok``, ``down``, ``low``), corrected by its own cold or heatless readings."""
    cold = min(d_cold, ok) if d_own > 0 else 0
    return ok - cold, down, low + cold


def station_minutes(ok: int, down: int, low: int) -> dict[str, float]:
    """The minutes of a ``heat_station_daily`` point."""
    return {
        "supplied_minutes": ok / 60,
        "interrupted_minutes": down / 60,
        "low_minutes": low / 60,
        "no_data_minutes": max(0, DAY_S - ok - down - low) / 60,
    }


def _station_day_metric(ctx: DetectorContext, ss: HeatStationState, day: int) -> dict[str, Any]:
    """Write the station's ``heat_station_daily`` point; returns its fields."""
    fields: dict[str, Any] = {
        **station_minutes(ss.d_ok, ss.d_down, ss.d_low),
        "households": len(ss.homes),
        "sampled_homes": sum(1 for h in ss.homes if h.own_source == "indoor"),
        "cold_homes": ss.cold_count,
    }
    ctx.output.metric(
        Metric(
            "heat_station_daily",
            {"county": ss.county, "heat_station_id": ss.station_id},
            fields,
            day_start_s(day),
        )
    )
    return fields


# The severities this module opens its incidents with (see ``engine.OCCURRING_SEVERITIES``).
SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    IncidentKind.HEAT_SUPPLY_INTERRUPTION: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.HEAT_SUPPLY_LOW: (Severity.WARNING,),
    IncidentKind.INDOOR_TEMP_LOW: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.EMISSION_EXCEEDANCE: (Severity.WARNING,),
}


# A heat device's ``comm_loss`` is the heat operator's work, not the grid's: the snapshot
# (``active_incidents``) tags it ``domain=heat`` so the grid's digests do not count it as a
# meter's. Every other row has no domain tag (``""``: the series stay as they were).
HEAT_DOMAIN = "heat"
# (kind, domain) → the severities the snapshot's zero rows cover, as ``SEVERITIES`` does for
# the untagged rows: a silent station is a warning, a home's silent sensor info.
DOMAIN_SEVERITIES: dict[tuple[IncidentKind, str], tuple[Severity, ...]] = {
    (IncidentKind.COMM_LOSS, HEAT_DOMAIN): (Severity.WARNING, Severity.INFO),
}


def snapshot_domain(incident: Incident) -> str:
    """``heat`` for the ``comm_loss`` of a heat device (``details.device``), else ``""``."""
    if incident.kind is IncidentKind.COMM_LOSS and incident.details.get("device") in HEAT_DEVICES:
        return HEAT_DOMAIN
    return ""
