"""Late heat-network readings revise the record of truth (the heat side of ``revisions.py``).

A network household has no meter of its own: its day is accounted from its station's supply
(``heat.home_minutes``), corrected by its own indoor sensor or heat meter if it has one. So

* a late ``heat_station`` reading filling the station's gap adds its interval to the station's
  day — the open day's sums, or, for a closed day, the sums kept at the close, from which every
  home's rollup is recomputed and re-emitted with the same key (household, day) and the
  station's ``heat_station_daily`` point re-written; the ``heat_station`` point its step
  lacked is written (its state flags are those of the moment: detection is not re-run);
* a late ``indoor_temp`` / ``heat_meter`` reading adds its interval (and, if cold or heatless,
  its cold time) to its home's day the same way;
* a late ``stack_emission`` reading goes into the hour it belongs to: the open hour's sums, or
  an hour already judged with readings missing (kept for the horizon) or missing altogether,
  whose ``stack_emission_hourly`` point (keyed by station and hour) is re-written with the
  mean of all its readings. An hourly mean is a sum over the hour's readings divided by their
  count, so the revised point is the ordered one (up to the float rounding of the order the
  sums were added in, below the point's 0.01 mg/m³); the exceedance verdict is not re-judged.

The closed-day sums are plain data kept by the engine (``Engine._revisable_heat``): day ->
station id -> {"ok", "down", "low": seconds, "homes": {household id: [cold s, own s]},
"daily": the ``heat_station_daily`` fields}.
"""

from __future__ import annotations

from typing import Any

from contract.rollups import HouseholdDay
from contract.telemetry import (
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.clock import DAY_S, day_start_s
from streams.core.context import DetectorContext, Metric
from streams.core.heat import home_minutes, near_down, own_cold, station_minutes
from streams.core.heathomes import no_heat_at_meter, occupied_at, sensor_every
from streams.core.heatstack import (
    RUNNING,
    STARTUP,
    STOPPED,
    at_reference_o2,
    firing,
    hour_metric,
    reference_o2,
)
from streams.core.heatstation import station_metric, supply_state
from streams.core.state import HeatHomeState, HeatStationState, StackState

DayRecord = dict[str, Any]
Rollups = dict[str, dict[str, Any]]  # household id -> kept rollup (JSON types)


def revise_station(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    ts: int,
    closed: tuple[int, DayRecord, Rollups] | None,
) -> int:
    """A late station reading filling the station's gap; ``closed`` is (day, kept sums, kept
    rollups) when its day is closed. Returns the number of household rollups re-emitted."""
    s = ctx.settings
    down, low, curve = supply_state(s, ss, r, ss.weather.outdoor_at(ts), ts)
    span = s.interval_s
    station_metric(ctx, ss, r, curve, ts)
    if closed is None:
        if down:
            ss.d_down += span
            ss.d_down_ts.append(ts)
        elif low:
            ss.d_low += span
        else:
            ss.d_ok += span
        return 0
    day, record, rollups = closed
    record["down" if down else "low" if low else "ok"] += span
    if down:
        # a home's cold at this step was counted as its own shortfall: now it is the outage
        down_ts = record.setdefault("down_ts", [])
        down_ts.append(ts)
        for own in record["homes"].values():
            if len(own) > 2:
                own[0] = own_cold(own[2], down_ts, s.interval_s)
    record["daily"] = {
        **record["daily"],
        **station_minutes(record["ok"], record["down"], record["low"]),
    }
    ctx.output.metric(
        Metric(
            "heat_station_daily",
            {"county": ss.county, "heat_station_id": ss.station_id},
            record["daily"],
            day_start_s(day),
        )
    )
    revised = []
    for home in ss.homes:
        hid = home.household.household.household_id
        if hid in rollups:
            rollup = revise_home_day(rollups[hid], record, hid, home.own_source, 0)
            rollups[hid] = rollup.model_dump(mode="json")
            revised.append(rollup)
    ctx.output.rollups(revised)
    return len(revised)


def revise_home(
    ctx: DetectorContext,
    home: HeatHomeState,
    r: IndoorTempReading | HeatMeterReading,
    ts: int,
    closed: tuple[int, DayRecord, Rollups] | None,
) -> int:
    """A late indoor-sensor or heat-meter reading filling its home's gap (as ``on_indoor`` /
    ``on_heat_meter`` account it; their detectors are not re-run). Returns the number of
    household rollups re-emitted (0 or 1)."""
    s = ctx.settings
    if type(r) is HeatMeterReading:
        span, cold, source = r.interval_s, no_heat_at_meter(s, home, r), "heat_meter"
    else:
        assert type(r) is IndoorTempReading
        cold = r.temp_c < s.indoor_low_c and occupied_at(s, ts)
        span, source = sensor_every(s, home), "indoor"
    if home.own_source is None:
        home.own_source = source
    heat = r.energy_kwh if type(r) is HeatMeterReading else None
    if closed is None:
        if heat is not None:
            home.d_heat = (home.d_heat or 0.0) + heat
        home.d_readings += 1
        home.d_own += span
        if cold:
            home.d_cold += span
            home.d_cold_ts.append([ts, span])
        return 0
    _, record, rollups = closed
    hid = home.household.household.household_id
    own = record["homes"][hid]
    down_ts = record.get("down_ts", [])
    if cold and len(own) > 2:
        # the union of its devices' cold intervals, as at the close (``heat.own_cold``)
        own[2].append([ts, span])
        own[0] = own_cold(own[2], down_ts, s.interval_s)
    elif cold and not near_down(ts, down_ts, s.interval_s):
        own[0] += span  # kept by an older close without its cold steps
    own[1] += span
    rollup = revise_home_day(rollups[hid], record, hid, home.own_source, 1, heat)
    rollups[hid] = rollup.model_dump(mode="json")
    ctx.output.rollups([rollup])
    return 1


def revise_home_day(
    kept: dict[str, Any],
    record: DayRecord,
    hid: str,
    own_source: str | None,
    readings: int,
    heat_kwh: float | None = None,
) -> HouseholdDay:
    """A network home's closed day recomputed from the kept sums (same key: it replaces the
    rollup emitted at the close), as ``heat._home_day`` and ``engine.household_day`` did."""
    day = HouseholdDay.model_validate(kept)
    d_cold, d_own = record["homes"][hid][:2]
    avail, outage, short = home_minutes(record["ok"], record["down"], record["low"], d_cold, d_own)
    update: dict[str, Any] = {
        "readings": day.readings + readings,
        "heating_available_minutes": avail / 60,
        "outage_minutes": outage / 60,
        "shortfall_minutes": short / 60,
        "no_data_minutes": max(0, DAY_S - avail - outage - short) / 60,
    }
    if d_own > 0 and own_source is not None:
        update["evidence"] = f"heat_station+{own_source}"
    if heat_kwh is not None:  # a late heat-meter reading's heat joins its day (issue 24)
        update["heat_kwh"] = round((day.heat_kwh or 0.0) + heat_kwh, 4)
    return day.model_copy(update=update)


def fill_stack_hour(ctx: DetectorContext, sk: StackState, r: StackEmissionReading, ts: int) -> None:
    """A late stack reading filling the stack's gap: into the open hour's sums, or into an
    hour already judged (or never judged: all its readings were missing), whose hourly point
    is re-written with the mean of all its readings."""
    hour = (ts - r.interval_s) // 3600
    fired = firing(ctx.settings, sk, r)
    pm, so2, nox = at_reference_o2(ctx.settings, r, reference_o2(ctx.settings, sk))
    if not fired:
        pm = so2 = nox = 0.0  # near-ambient O₂: not converted, not in the firing mean
    if hour == sk.em_hour:
        if sk.em_n == 0:
            sk.em_first_fire = fired
        sk.em_n += 1
        sk.em_s += min(r.interval_s, 3600)
        sk.em_fire += int(fired)
        sk.em_pm += pm
        sk.em_so2 += so2
        sk.em_nox += nox
        return
    kept = next((h for h in sk.hours or () if h[0] == hour), None)
    if kept is None:
        kept = [hour, 0, 0.0, 0.0, 0.0, 0, None]
        if sk.hours is None:
            sk.hours = [kept]
        else:
            sk.hours.append(kept)
    if len(kept) < 6:  # kept before firing was counted: every reading was taken as firing
        kept.append(kept[1])
    kept[1] += 1
    kept[2] += pm
    kept[3] += so2
    kept[4] += nox
    kept[5] += int(fired)
    # the state the hour was judged in; an hour never judged (all its readings were late)
    # is told from its readings alone: all firing is normal operation
    state = kept[6] if len(kept) > 6 else None
    if state is None:
        state = STOPPED if not kept[5] else RUNNING if kept[5] == kept[1] else STARTUP
    ctx.output.metric(hour_metric(sk, hour, kept[1], (kept[2], kept[3], kept[4]), kept[5], state))


def forget_stack_hours(sk: StackState, before: int) -> None:
    if sk.hours:
        sk.hours = [h for h in sk.hours if h[0] * 3600 >= before] or None
