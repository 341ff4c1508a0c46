"""Two clocks for two jobs: late data revises the record of truth.

Real-time detection keeps its short lateness bound. The record of truth — daily household
rollups, the per-reading feeder and station points, and incident history — accepts a reading
up to ``revision_horizon_s`` late when it fills a *communication gap* of its meter (an
interval the meter did not report while it was not in outage: a concentrator's GPRS outage, a
head-end collecting yesterday's curve this morning). Electric and gas household readings,
feeder and gas-station readings are revised here; heat-network readings (stations, home
sensors, stacks) in ``heatrevisions.py``. Such a reading:

* household (electric, gas): is added to its household-day: the open day directly, a closed
  day by re-emitting that day's rollup with the same key (household, day), so InfluxDB
  overwrites the point and a revised rollup replaces the old one;
* feeder, gas station: writes the point its step lacks (``feeder_load``, ``station_pressure``:
  keyed by source and time, so a re-send overwrites it with the same values);
* marks the comm_loss incident of that gap (if one was raised) as a communication gap whose
  readings arrived: ``details.resolution`` and ``details.backfilled_intervals``.

Detector state (outages, peaks, overloads, pressure runs) is *not* replayed: detection already
happened in real time; the revision corrects the evidence. A late reading that fills no gap
(the interval was already processed) stays a late dead letter. State is plain data.
"""

from __future__ import annotations

import copy
from typing import Any

from contract.rollups import HouseholdDay
from contract.telemetry import ElectricReading, GasReading
from streams.core.clock import interval_day_index
from streams.core.context import DetectorContext
from streams.core.snapshots import check_format
from streams.core.state import HouseholdState

BACKFILLED = "communication gap: readings backfilled"


def take_gap(st: Any, start: int, end: int) -> list[Any] | None:
    """The recorded gap that holds the interval [start, end], split around it; None if the
    interval lies in no gap (it was processed, or is older than anything recorded)."""
    gaps: list[list[Any]] | None = st.gaps
    if not gaps:
        return None
    for i, gap in enumerate(gaps):
        if gap[0] <= start and end <= gap[1]:
            rest = [[gap[0], start, gap[2]], [end, gap[1], gap[2]]]
            gaps[i : i + 1] = [g for g in rest if g[1] > g[0]]
            return gap
    return None


def forget_old_gaps(st: Any, before: int) -> None:
    if st.gaps:
        st.gaps = [g for g in st.gaps if g[1] > before] or None


def note_gap(st: Any, covered_from: int, start: int, incident: Any = None) -> None:
    """A source went silent between ``covered_from`` and ``start``: a late upload may fill it."""
    gap = [covered_from, start, incident]
    if st.gaps is None:
        st.gaps = [gap]
    else:
        st.gaps.append(gap)


def _supplied(ctx: DetectorContext, r: ElectricReading | GasReading) -> bool:
    """The interval had working supply: voltage present / gas pressure above the low mark."""
    if isinstance(r, GasReading):
        return r.pressure_kpa >= ctx.settings.gas_low_pressure_kpa
    return not (r.event == "power_down" or r.voltage_v < ctx.voltage_min)


def add_to_open_day(
    ctx: DetectorContext, st: HouseholdState, r: ElectricReading | GasReading, ts: int
) -> None:
    if _supplied(ctx, r):
        st.d_avail += r.interval_s
    elif type(r) is GasReading:
        st.d_short += r.interval_s
    else:
        st.d_outage += r.interval_s
    st.d_readings += 1
    if isinstance(r, GasReading):
        st.d_gas += r.m3
        if st.station is not None:
            st.station.d_delivered += r.m3
        return
    st.d_energy += r.kwh
    in_valley = ctx.valley.contains((ts - r.interval_s + ts) / 2)
    if in_valley:
        st.d_valley += r.kwh
    if st.storage is not None:  # the heater's part of the meter (streams/core/storage.py)
        st.storage.add(
            r.kwh,
            r.interval_s,
            in_valley,
            ctx.settings.peak_charging_heater_share * st.household.rated_kw,
        )


def revise_closed_day(
    ctx: DetectorContext,
    day: HouseholdDay,
    r: ElectricReading | GasReading,
    ts: int,
    st: HouseholdState | None = None,
) -> HouseholdDay:
    """The closed day's rollup with one more interval (same key: it replaces the old one);
    a storage heater's interval also joins the day's heater part, split with the base its
    household (``st``) has learned by now — the day's own is not kept."""
    minutes = r.interval_s / 60
    supplied = _supplied(ctx, r)
    update: dict[str, Any] = {
        "readings": day.readings + 1,
        "heating_available_minutes": day.heating_available_minutes + (minutes if supplied else 0),
        "no_data_minutes": max(0.0, day.no_data_minutes - minutes),
    }
    if isinstance(r, GasReading):
        update["shortfall_minutes"] = day.shortfall_minutes + (0 if supplied else minutes)
        update["gas_m3"] = round(day.gas_m3 + r.m3, 4)
        return day.model_copy(update=update)
    start = ts - r.interval_s
    energy = day.energy_kwh + r.kwh
    in_valley = ctx.valley.contains((start + ts) / 2)
    valley = day.valley_kwh + (r.kwh if in_valley else 0.0)
    peak = None if st is None else st.storage
    if peak is not None and st is not None and day.heater_kwh is not None:
        heater_kw = ctx.settings.peak_charging_heater_share * st.household.rated_kw
        heat = peak.heater_kwh(r.kwh, r.interval_s, in_valley, heater_kw)
        if heat is not None:
            update["heater_kwh"] = round(day.heater_kwh + heat, 4)
    share = day.valley_share
    if share is not None and energy > 0:
        share = round(valley / energy, 4)
    update["outage_minutes"] = day.outage_minutes + (0 if supplied else minutes)
    update["energy_kwh"] = round(energy, 4)
    update["valley_kwh"] = round(valley, 4)
    update["valley_share"] = share
    return day.model_copy(update=update)


def mark_backfilled(ctx: DetectorContext, gap: list[Any]) -> None:
    """The gap's comm_loss was a communication gap: its readings arrived late."""
    incident = gap[2]
    if incident is None:
        return
    details = dict(incident.details)
    details["resolution"] = BACKFILLED
    details["backfilled_intervals"] = int(details.get("backfilled_intervals", 0)) + 1
    ctx.book.update(incident, details=details)


def day_of(ts: int) -> int:
    return interval_day_index(ts)


REVISABLE_FORMAT = 1


class Revisable:
    """What a late reading may still revise, kept within the revision horizon: closed days'
    rollups of households with a recent gap, closed days' heat-station sums
    (``heatrevisions.py``), and the late readings already used (a re-send of one is a
    duplicate, not late). Plain data (JSON types), not models: it is engine state."""

    __slots__ = ("heat", "rollups", "used")

    def __init__(self) -> None:
        self.rollups: dict[int, dict[str, dict[str, Any]]] = {}  # day -> household -> rollup
        self.heat: dict[int, dict[str, dict[str, Any]]] = {}  # day -> heat station -> sums
        self.used: dict[str, str] = {}  # "kind|source|ts" -> canonical JSON

    def keep(self, day: int, rollups: dict[str, dict[str, Any]]) -> None:
        if rollups:
            self.rollups[day] = rollups

    def keep_heat(self, day: int, sums: dict[str, dict[str, Any]]) -> None:
        if sums:
            self.heat[day] = sums

    def forget_days_before(self, oldest: int) -> None:
        for old in [d for d in self.rollups if d < oldest]:
            del self.rollups[old]
        for old in [d for d in self.heat if d < oldest]:
            del self.heat[old]

    def forget_used_before(self, before: int) -> None:
        if self.used:
            self.used = {k: v for k, v in self.used.items() if int(k.rsplit("|", 1)[1]) >= before}

    def snapshot(self) -> dict[str, Any]:
        def days(by_day: dict[int, dict[str, dict[str, Any]]]) -> list[list[Any]]:
            return [[d, copy.deepcopy(kept)] for d, kept in by_day.items()]  # revised in place

        return {
            "format": REVISABLE_FORMAT,
            "rollups": days(self.rollups),
            "heat": days(self.heat),
            "used": dict(self.used),
        }

    def restore(self, data: dict[str, Any]) -> None:
        check_format("revisable days", data, REVISABLE_FORMAT)
        self.rollups = {int(d): kept for d, kept in data["rollups"]}
        self.heat = {int(d): kept for d, kept in data["heat"]}
        self.used = dict(data["used"])
