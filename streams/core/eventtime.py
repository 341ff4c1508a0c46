"""Event time that one source cannot drag: words for clock faults and the meter_clock_fault
data-quality incident.

The engine keeps the partition's time as the consensus of its sources (``engine.py``: a
reading more than ``clock_skew_s`` ahead never moves time unless ``time_quorum`` distinct
sources agree on its timestamp). Readings a meter stamped too far ahead, too far behind at the
start, or outside the programme's window are dead-lettered with the meter and its clock
offset; this module counts them per meter and opens one ``meter_clock_fault`` per meter that
does it ``clock_fault_readings`` times, so the field team can set the clock.

State is plain data (``dict[str, list]``, ``dict[str, str]``) owned by ``ClockFaultJudge``.
"""

from __future__ import annotations

from typing import Any

from contract.incidents import EntityType, IncidentKind, Severity
from streams.core.clock import to_datetime
from streams.core.context import DetectorContext
from streams.core.snapshots import check_format
from streams.core.state import HouseholdState


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


def note_clock_fault(
    counts: dict[str, list[int]], kind: str, entity: str, offset_s: int, stamp_s: int = 0
) -> None:
    """Count one clock-refused reading of a source (``kind``: the entity type its device
    belongs to, ``entity``: its id): ``"type|id" -> [readings, largest
    |offset| s, latest offset s (signed), earliest stamp, latest stamp]`` (plain data: it is
    engine state). ``stamp_s`` is the reading's own time, 0 when it lies outside the
    programme's window (a reset or corrupt clock says nothing about when it happened).

    The offsets are measured against the consensus time when the reading was refused, which
    depends on the runner (live: after ``clock_hold_s``; replay: at the end of the input); the
    stamps do not, so the incident is built from the stamps and the count only."""
    key = f"{kind}|{entity}"
    entry = counts.get(key)
    if entry is None:
        entry = counts[key] = [0, 0, 0, 0, 0]
    elif len(entry) < 5:  # a checkpoint written before the stamps were kept
        entry.extend([0] * (5 - len(entry)))
    entry[0] += 1
    entry[1] = max(entry[1], abs(offset_s))
    entry[2] = offset_s
    if stamp_s:
        entry[3] = min(entry[3], stamp_s) if entry[3] else stamp_s
        entry[4] = max(entry[4], stamp_s)


def _fault_details(entry: list[int]) -> dict[str, Any]:
    """What both runners know alike: how many readings, and the stamps the clock gave."""
    details: dict[str, Any] = {"rejected_readings": entry[0]}
    if len(entry) >= 5 and entry[3]:
        details["first_rejected_ts"] = to_datetime(entry[3]).isoformat()
        details["last_rejected_ts"] = to_datetime(entry[4]).isoformat()
    return details


def judge_clock_faults(
    ctx: DetectorContext,
    counts: dict[str, list[int]],
    opened: dict[str, str],
    stream_start: int,
    targets: dict[str, Any],
) -> None:
    """Open ``meter_clock_fault`` for every meter over the threshold, once per meter
    (``opened``: key -> incident id), and bring an open one's count up to date.

    The incident starts at the stamp of the meter's earliest refused reading (the stream's
    start if every refused stamp was outside the window), never at the moment a runner judged
    it: a live worker refuses a held reading ``clock_hold_s`` after it came, a replay at the
    end of its input, and both must give the same incident id (docs/event-time.md)."""
    threshold = ctx.settings.clock_fault_readings
    for key in sorted(counts):
        entry = counts[key]
        if entry[0] < threshold:
            continue
        kind, entity = key.split("|", 1)
        if kind == EntityType.COUNTY.value:
            continue  # a weather feed is not a meter the field team can visit
        if key in opened:
            known = ctx.book.open_incidents.get(opened[key])
            if known is not None:
                ctx.book.update(known, details=_fault_details(entry))
            continue
        target = targets.get(key)
        county = getattr(target, "county", "") if target is not None else ""
        village = getattr(target, "village", None) if target is not None else None
        if type(target) is HouseholdState:
            county, village = target.household.county, target.household.village
        start = entry[3] if len(entry) >= 5 and entry[3] else stream_start
        incident = ctx.book.open(
            IncidentKind.METER_CLOCK_FAULT,
            EntityType(kind),
            entity,
            county,
            start,
            Severity.INFO,
            village=village,
            households_affected=1 if kind == EntityType.HOUSEHOLD.value else 0,
            details=_fault_details(entry),
        )
        opened[key] = incident.incident_id


CLOCK_FAULTS_FORMAT = 1


class ClockFaultJudge:
    """The clock-refused readings per source and the ``meter_clock_fault`` opened for each
    (``"type|id"`` keys, as ``note_clock_fault`` counts them)."""

    __slots__ = ("counts", "opened")

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.opened: dict[str, str] = {}  # key -> incident id

    def note(self, kind: str, entity: str, offset_s: int, stamp_s: int = 0) -> None:
        note_clock_fault(self.counts, kind, entity, offset_s, stamp_s)

    def judge(
        self, ctx: DetectorContext, stream_start: int, entities: dict[str, dict[str, Any]]
    ) -> None:
        """Open or update the incidents of sources over the threshold; ``entities``: entity
        type -> id -> the state a fault is opened on (a household, not its heat-home state)."""
        counts, opened = self.counts, self.opened
        if not counts or len(opened) >= len(counts):
            return
        targets: dict[str, Any] = {}
        for key in counts:
            kind, entity = key.split("|", 1)
            targets[key] = entities.get(kind, {}).get(entity)
        judge_clock_faults(ctx, counts, opened, stream_start, targets)

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": CLOCK_FAULTS_FORMAT,
            "counts": {k: list(v) for k, v in self.counts.items()},
            "opened": dict(self.opened),
        }

    def restore(self, data: dict[str, Any]) -> None:
        check_format("clock faults", data, CLOCK_FAULTS_FORMAT)
        self.counts = {k: list(v) for k, v in data["counts"].items()}
        self.opened = dict(data["opened"])
