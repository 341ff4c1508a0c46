"""Outages: household power loss (last gasp / zero voltage), communication loss, and the
feeder roll-up that turns forty household pages into one feeder page."""

from __future__ import annotations

from collections.abc import Iterable

from contract.incidents import EntityType, IncidentKind, Severity
from contract.telemetry import ElectricReading
from streams.core.clock import DAY_S
from streams.core.context import DetectorContext
from streams.core.plausibility import check_electric
from streams.core.state import FeederState, HouseholdState


def on_electric(
    ctx: DetectorContext, st: HouseholdState, r: ElectricReading, ts: int
) -> str | None:
    """Account one meter interval and move the household's outage / comm-loss state.

    Returns why the reading cannot be physical (plausibility, ``streams/core/plausibility.py``)
    instead of using it: checked here, where the values are read anyway, because one test
    per reading on the hot path is what it costs."""
    interval = r.interval_s
    kwh = r.kwh
    voltage = r.voltage_v
    if kwh > st.energy_cap * interval or voltage > ctx.voltage_max or DAY_S % interval:
        return check_electric(r, st.energy_cap, ctx.settings) or "implausible value"
    start = ts - interval
    covered_from = st.accounted_until
    if covered_from < start:
        if covered_from and st.outage is not None:
            st.d_outage += start - covered_from  # the silent gap after a last gasp
        elif covered_from:  # a gap a late upload may still fill (streams/core/revisions.py)
            gap = [covered_from, start, st.comm]
            if st.gaps is None:
                st.gaps = [gap]
            else:
                st.gaps.append(gap)
        covered_from = start
    dead = r.event == "power_down" or voltage < ctx.voltage_min
    if dead:
        st.d_outage += ts - covered_from
    else:
        st.d_avail += ts - covered_from
    st.accounted_until = ts
    st.d_readings += 1
    st.d_energy += kwh
    in_valley = ctx.in_valley(start, ts)
    if in_valley:
        st.d_valley += kwh
    if st.storage is not None:  # the heater's part of the meter (streams/core/storage.py)
        st.storage.add(
            kwh,
            interval,
            in_valley,
            ctx.settings.peak_charging_heater_share * st.household.rated_kw,
        )
    st.last_ts = ts
    if st.comm is not None:
        ctx.book.resolve(st.comm, ts)
        st.comm = None
        if st.feeder is not None and st.feeder.comm is not None:
            ctx.dirty_feeders.add(st.feeder)  # the concentrator may be back
    if dead:
        if st.outage is None:
            _open_household_outage(ctx, st, ts, "power_down" if r.event else "zero_voltage")
    elif st.outage is not None:
        ctx.book.resolve(st.outage, ts, restored_by=r.event or "data_returned")
        st.outage = None
        feeder = st.feeder
        if feeder is not None:
            feeder.out_count -= 1
            ctx.dirty_feeders.add(feeder)

    return None


def _open_household_outage(ctx: DetectorContext, st: HouseholdState, ts: int, cause: str) -> None:
    hh = st.household
    feeder = st.feeder
    parent = feeder.outage.incident_id if feeder is not None and feeder.outage else None
    st.outage = ctx.book.open_household(
        IncidentKind.HOUSEHOLD_OUTAGE,
        hh,
        ts,
        Severity.CRITICAL if hh.is_priority else Severity.WARNING,
        parent_id=parent,
        details={"cause": cause, "feeder_id": hh.feeder_id, "priority_group": hh.priority_group},
    )
    st.d_interruptions += 1
    if feeder is not None:
        feeder.out_count += 1
        ctx.dirty_feeders.add(feeder)


def roll_up_feeder(ctx: DetectorContext, feeder: FeederState, now: int) -> None:
    """Open, grow or end the feeder outage from its members' outage states."""
    if feeder.comm is not None:
        roll_up_concentrator(ctx, feeder, now)
    members = len(feeder.members)
    if members < ctx.settings.feeder_outage_min_households:
        return
    share = feeder.out_count / members
    out = [m for m in feeder.members if m.outage is not None] if feeder.out_count else []
    priority_out = sum(1 for m in out if m.household.is_priority)
    if feeder.outage is None:
        if share >= ctx.settings.feeder_outage_share:
            started = min(int(m.outage.started_at.timestamp()) for m in out if m.outage)
            feeder.outage = ctx.book.open_group(
                IncidentKind.FEEDER_OUTAGE,
                (EntityType.FEEDER, feeder.feeder_id),
                feeder,
                started,
                Severity.CRITICAL,
                affected=(len(out), priority_out),
                children=[m.outage for m in out],
                details={"members": members, "share_out": round(share, 3)},
            )
        return
    if share < ctx.settings.feeder_restore_share:
        ctx.book.resolve(feeder.outage, now, still_out=len(out))
        feeder.outage = None
        return
    if len(out) > feeder.outage.households_affected:
        ctx.book.update(
            feeder.outage, households_affected=len(out), priority_households=priority_out
        )
    ctx.book.adopt(feeder.outage, [m.outage for m in out])


def scan_comm_loss(
    ctx: DetectorContext, households: Iterable[HouseholdState], now: int, stream_start: int
) -> None:
    """Open comm_loss for meters silent beyond the threshold (including never-reporting ones).

    A meter that sent a last gasp is in outage, not comm loss; a meter on a feeder that is out
    as a whole is covered by the feeder incident. Households with neither an electric nor a
    gas meter (heat-network households) are not scanned.
    """
    limit = now - ctx.comm_after_s
    touched: dict[str, FeederState] = {}
    for st in households:
        if st.comm is not None or st.outage is not None:
            continue
        if st.feeder is None and st.gas.recent is None:
            continue  # no meter of its own (a heat-network household): nothing to go silent
        last = st.last_ts or stream_start
        if last > limit:
            continue
        feeder = st.feeder
        if feeder is not None and feeder.outage is not None:
            continue
        hh = st.household
        st.comm = ctx.book.open_household(
            IncidentKind.COMM_LOSS,
            hh,
            last,
            Severity.INFO,
            parent_id=feeder.comm.incident_id if feeder is not None and feeder.comm else None,
            details={
                "feeder_id": hh.feeder_id,
                "gas_station_id": hh.gas_station_id,
                "never_reported": st.last_ts == 0,
            },
        )
        if feeder is not None:
            touched[feeder.feeder_id] = feeder
    for feeder_id in sorted(touched):
        roll_up_concentrator(ctx, touched[feeder_id], now)


def roll_up_concentrator(ctx: DetectorContext, feeder: FeederState, now: int) -> None:
    """All meters of a transformer area silent together, without last gasps, is one
    concentrator (data collector) that lost its uplink: one feeder-level comm_loss with the
    households' comm_loss as children, the way a feeder outage rolls up household outages.
    Same shares as the outage roll-up (``feeder_outage_share`` / ``feeder_restore_share``)."""
    members = len(feeder.members)
    if members < ctx.settings.feeder_outage_min_households:
        return
    silent = [m for m in feeder.members if m.comm is not None]
    share = len(silent) / members
    if feeder.comm is None:
        if share < ctx.settings.feeder_outage_share:
            return
        feeder.comm = ctx.book.open_group(
            IncidentKind.COMM_LOSS,
            (EntityType.FEEDER, feeder.feeder_id),
            feeder,
            min(int(m.comm.started_at.timestamp()) for m in silent if m.comm is not None),
            Severity.WARNING,
            affected=(len(silent), sum(1 for m in silent if m.household.is_priority)),
            children=[m.comm for m in silent],
            details={"concentrator": f"DC-{feeder.feeder_id}", "members": members},
        )
        return
    elif share < ctx.settings.feeder_restore_share:
        ctx.book.resolve(feeder.comm, now, still_silent=len(silent))
        feeder.comm = None
        return
    elif len(silent) > feeder.comm.households_affected:
        ctx.book.update(
            feeder.comm,
            households_affected=len(silent),
            priority_households=sum(1 for m in silent if m.household.is_priority),
        )
    ctx.book.adopt(feeder.comm, [m.comm for m in silent])


# The severities this module opens its incidents with (periodic zero rows of the
# ``active_incidents`` snapshot cover these; see ``engine.OCCURRING_SEVERITIES``).
SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    IncidentKind.HOUSEHOLD_OUTAGE: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.COMM_LOSS: (Severity.INFO, Severity.WARNING),  # household; concentrator
    IncidentKind.FEEDER_OUTAGE: (Severity.CRITICAL,),
}
