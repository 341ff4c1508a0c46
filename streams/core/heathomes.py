"""A network household's own evidence (issue 20: a source is a device): its indoor sensor
(室温采集器: cold in occupied hours) and its heat meter (户用热量表: no heat while its station
supplies), each device's coverage and the gaps a late upload may fill, and the station's
roll-up of its cold sampled homes into one page. Owns ``HeatHomeState`` and the station's
``cold`` roll-up; reads the station's supply (``supplied_before``), never changes it."""

from __future__ import annotations

import math
from datetime import time
from functools import lru_cache

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.telemetry import HeatMeterReading, IndoorTempReading
from streams.core.clock import ValleyWindow
from streams.core.context import DetectorContext
from streams.core.heatnormal import design_of
from streams.core.revisions import note_gap
from streams.core.settings import DetectionSettings
from streams.core.state import HeatHomeState, HeatStationState


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
            (home.no_heat_streak if device is home.meter else home.cold_streak).clear()
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
        or r.supply_c < design_of(s, home.station).return_c - s.heat_dead_below_return_k
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
        run = home.cold_streak.add(ts)
        if home.indoor_low is None and run >= s.indoor_low_min_readings:
            _open_cold_home(ctx, home, r.temp_c)
        return
    home.cold_streak.clear()
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
        home.cold_streak.first,
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
        home.no_heat_streak.clear()
        if home.no_heat is not None:
            ctx.book.resolve(home.no_heat, ts, energy_kwh=r.energy_kwh)
            home.no_heat = None
        return
    if not supplied_before(home.station, ts, s.interval_s):
        home.no_heat_streak.clear()  # the station's interruption (or its silence) explains it
        return
    run = home.no_heat_streak.add(ts)
    if home.no_heat is None and run >= s.heat_meter_no_heat_min_readings:
        hh = home.household.household
        home.no_heat = ctx.book.open_household(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            hh,
            home.no_heat_streak.first,
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
        ctx.book.adopt(explains, (h.indoor_low for h in cold))
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
            h.cold_streak.clear()
            ss.cold_count -= 1
        cold = [h for h in cold if h.indoor_low is not None]
    if ss.cold is None:
        if len(cold) < need:
            return
        ss.cold = ctx.book.open_group(
            IncidentKind.INDOOR_TEMP_LOW,
            (EntityType.HEAT_STATION, ss.station_id),
            ss,
            min(int(h.indoor_low.started_at.timestamp()) for h in cold if h.indoor_low),
            Severity.WARNING,
            affected=(len(cold), sum(1 for h in cold if h.household.household.is_priority)),
            children=(h.indoor_low for h in cold),
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
    ctx.book.adopt(ss.cold, (h.indoor_low for h in cold))


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
            h.cold_streak.clear()
            ss.cold_count -= 1
