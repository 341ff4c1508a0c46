"""Event time that one source cannot drag: words for clock faults and the meter_clock_fault
data-quality incident.

The engine keeps the partition's time as the consensus of its sources (``engine.py``: a
reading more than ``clock_skew_s`` ahead never moves time unless ``time_quorum`` distinct
sources agree on its timestamp). Readings a meter stamped too far ahead, too far behind at the
start, or outside the programme's window are dead-lettered with the meter and its clock
offset; this module counts them per meter and opens one ``meter_clock_fault`` per meter that
does it ``clock_fault_readings`` times, so the field team can set the clock.

State is plain data (``dict[str, list]``, ``dict[str, str]``) kept on the engine.
"""

from __future__ import annotations

from typing import Any

from heatwatch.contract.incidents import EntityType, IncidentKind, Severity
from streams.core.context import DetectorContext
from streams.core.state import (
    CountyWeather,
    FeederState,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    StackState,
    StationState,
)


def describe_offset(seconds: int) -> str:
    """``+2 d 12 h 00 min`` style: what a field engineer sets a clock by."""
    sign = "+" if seconds >= 0 else "-"
    s = abs(seconds)
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days} d {hours} h {minutes:02d} min"
    return f"{sign}{hours} h {minutes:02d} min"


def source_of(target: Any) -> tuple[str, str]:
    """(entity type, id) of a reading's source, for reasons and the per-meter counts."""
    if type(target) is HouseholdState:
        return EntityType.HOUSEHOLD.value, target.household.household_id
    if type(target) is FeederState:
        return EntityType.FEEDER.value, target.feeder_id
    if type(target) is StationState:
        return EntityType.GAS_STATION.value, target.station_id
    if type(target) is HeatStationState:
        return EntityType.HEAT_STATION.value, target.station_id
    if type(target) is StackState:  # the station's emission monitor
        return EntityType.HEAT_STATION.value, target.station.station_id
    if type(target) is HeatHomeState:  # an indoor sensor or heat meter of a network home
        return EntityType.HOUSEHOLD.value, target.household.household.household_id
    assert type(target) is CountyWeather
    return EntityType.COUNTY.value, target.county


def note_clock_fault(counts: dict[str, list[int]], target: Any, offset_s: int) -> None:
    """Count one clock-refused reading of a source: ``"type|id" -> [readings, largest
    |offset| s, latest offset s (signed)]`` (plain data: it is engine state)."""
    kind, entity = source_of(target)
    key = f"{kind}|{entity}"
    entry = counts.get(key)
    if entry is None:
        entry = counts[key] = [0, 0, 0]
    entry[0] += 1
    entry[1] = max(entry[1], abs(offset_s))
    entry[2] = offset_s


def judge_clock_faults(
    ctx: DetectorContext,
    counts: dict[str, list[int]],
    opened: dict[str, str],
    now_s: int,
    targets: dict[str, Any],
) -> None:
    """Open ``meter_clock_fault`` for every meter over the threshold, once per meter
    (``opened``: key -> incident id).

    Called at day close and end of stream, so in an event-time ordered input the incident's
    start does not depend on where in the day the bad readings sat."""
    threshold = ctx.settings.clock_fault_readings
    for key in sorted(counts):
        n, worst, latest = counts[key]
        if n < threshold or key in opened:
            continue
        kind, entity = key.split("|", 1)
        if kind == EntityType.COUNTY.value:
            continue  # a weather feed is not a meter the field team can visit
        target = targets.get(key)
        county = getattr(target, "county", "") if target is not None else ""
        village = getattr(target, "village", None) if target is not None else None
        if type(target) is HouseholdState:
            county, village = target.household.county, target.household.village
        incident = ctx.book.open(
            IncidentKind.METER_CLOCK_FAULT,
            EntityType(kind),
            entity,
            county,
            now_s,
            Severity.INFO,
            village=village,
            households_affected=1 if kind == EntityType.HOUSEHOLD.value else 0,
            details={
                "rejected_readings": n,
                "largest_offset_s": worst,
                "latest_offset_s": latest,
                "latest_offset": describe_offset(latest),
            },
        )
        opened[key] = incident.incident_id
