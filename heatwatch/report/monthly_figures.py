"""The monthly report's arithmetic (月报), pure: incidents (+ registry, rollup sums) → figures.

Definitions (also printed in the report, see ``i18n`` ``def_*``):

* An incident **belongs to a month** when its interval ``[started_at, end)`` overlaps the
  month; ``end`` is ``ended_at``, or the end of the data for an incident still open, so an
  open incident is never carried into months after the data. An incident counts in every
  month it overlaps and only those.
* A **child** incident (``parent_id`` set, e.g. the household outages under a feeder outage)
  belongs to its parent: it is not counted as an incident of its own and its households are
  the parent's. A child whose parent is not in the data counts as top-level.
* **Households affected** are distinct household ids: each household once per (county, kind)
  and once in a county's and the city's total. The households of a feeder / gas-station
  incident are its children's households, or, when it has fewer children than
  ``households_affected`` (an overload has none), the registry's households on that
  feeder / station. Without a registry the missing ones are counted per entity, so repeated
  incidents on one feeder still count its households once.
* **Interruption household-hours**: for every household-level outage or low-pressure incident
  (a child or top-level), its duration clipped to the month and to the data, summed under the
  kind of its top-level incident.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from heatwatch.contract.incidents import EntityType, Incident, IncidentKind

BEIJING = timezone(timedelta(hours=8), "Beijing")
INTERRUPTION_KINDS = frozenset({IncidentKind.HOUSEHOLD_OUTAGE, IncidentKind.GAS_LOW_PRESSURE})
GAS_KINDS = frozenset({IncidentKind.GAS_SUPPLY_SHORTFALL, IncidentKind.GAS_LOW_PRESSURE})


class MonthError(ValueError):
    """A month that cannot be reported; the message says why and what range exists."""


@dataclass(frozen=True)
class DataRange:
    """What the data covers: ``[start, end)`` in Beijing time."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class MonthWindow:
    month: str
    start: datetime  # calendar month, Beijing time
    end: datetime
    covered_start: datetime  # the month ∩ the data
    covered_end: datetime

    @property
    def days_in_month(self) -> int:
        return (self.end - self.start).days

    @property
    def days_covered(self) -> float:
        return (self.covered_end - self.covered_start).total_seconds() / 86400

    @property
    def partial(self) -> bool:
        return self.covered_start > self.start or self.covered_end < self.end


def month_bounds(month: str) -> tuple[datetime, datetime]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise MonthError(f"--month must look like 2021-12, got {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    start = datetime(y, mo, 1, tzinfo=BEIJING)
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=BEIJING)
    return start, end


def data_range(incidents: Iterable[Incident], rollup_days: tuple[date, date] | None) -> DataRange:
    """From the first to the last moment anything was observed (rollup days, incident times)."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    if rollup_days is not None:
        starts.append(datetime.combine(rollup_days[0], datetime.min.time(), BEIJING))
        ends.append(datetime.combine(rollup_days[1], datetime.min.time(), BEIJING) + _DAY)
    for inc in incidents:
        starts.append(inc.started_at)
        ends.append(inc.ended_at or inc.started_at)
    if not starts:
        raise MonthError("no data: the source has neither daily rollups nor incidents")
    return DataRange(min(starts), max(ends))


_DAY = timedelta(days=1)


def month_window(month: str, data: DataRange) -> MonthWindow:
    start, end = month_bounds(month)
    lo, hi = max(start, data.start), min(end, data.end)
    if lo >= hi:
        raise MonthError(
            f"month {month} is outside the data, which covers "
            f"{data.start.astimezone(BEIJING):%Y-%m-%d %H:%M} – "
            f"{data.end.astimezone(BEIJING):%Y-%m-%d %H:%M} (Beijing time)"
        )
    return MonthWindow(month, start, end, lo, hi)


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Membership:
    """Who hangs on which feeder / gas station, and who is a priority household."""

    priority: dict[str, bool] = field(default_factory=dict)
    by_entity: dict[tuple[EntityType, str], list[str]] = field(default_factory=dict)

    @classmethod
    def from_columns(
        cls, ids: list[str], priority: list[str], feeder: list[str], station: list[str]
    ) -> Membership:
        groups: dict[tuple[EntityType, str], list[str]] = defaultdict(list)
        for i, h in enumerate(ids):
            if feeder and feeder[i]:
                groups[(EntityType.FEEDER, feeder[i])].append(h)
            if station and station[i]:
                groups[(EntityType.GAS_STATION, station[i])].append(h)
        return cls({h: p != "none" for h, p in zip(ids, priority, strict=True)}, dict(groups))


def affected_households(
    inc: Incident, children: list[Incident], members: Membership
) -> dict[str, bool]:
    """Household id → is a priority household, for a top-level incident (module doc)."""
    if inc.entity_type is EntityType.HOUSEHOLD:
        known = members.priority.get(inc.entity_id)
        return {inc.entity_id: known if known is not None else inc.priority_households > 0}
    out = {
        c.entity_id: members.priority.get(c.entity_id, c.priority_households > 0)
        for c in children
        if c.entity_type is EntityType.HOUSEHOLD
    }
    if len(out) < inc.households_affected:
        for h in members.by_entity.get((inc.entity_type, inc.entity_id), []):
            out.setdefault(h, members.priority.get(h, False))
    missing = inc.households_affected - len(out)
    if missing > 0:  # no registry: stand-ins per entity, priority ones first
        prio_missing = max(inc.priority_households - sum(out.values()), 0)
        for k in range(missing):
            out[f"{inc.entity_type.value}:{inc.entity_id}#{k}"] = k < prio_missing
    return out


def overlap_hours(inc: Incident, lo: datetime, hi: datetime, data_end: datetime) -> float:
    end = inc.ended_at or data_end
    s, e = max(inc.started_at, lo), min(end, hi)
    return max((e - s).total_seconds(), 0.0) / 3600.0


def overlaps(inc: Incident, lo: datetime, hi: datetime, data_end: datetime) -> bool:
    end = min(inc.ended_at or data_end, data_end)
    if end <= inc.started_at:  # an instant (or open at the very end): where it started
        return lo <= inc.started_at < hi
    return inc.started_at < hi and end > lo


# ---------------------------------------------------------------------------------------
@dataclass
class Cell:
    """Figures for one (county, kind), one county or the city."""

    incidents: int = 0
    households: dict[str, bool] = field(default_factory=dict)  # id → priority
    interruption_hours: float = 0.0

    @property
    def households_affected(self) -> int:
        return len(self.households)

    @property
    def priority_affected(self) -> int:
        return sum(self.households.values())

    def add(self, households: dict[str, bool], hours: float) -> None:
        self.incidents += 1
        self.households.update(households)
        self.interruption_hours += hours


@dataclass
class CountyMonth:
    total: Cell = field(default_factory=Cell)
    by_kind: dict[IncidentKind, Cell] = field(default_factory=dict)
    gas_households: set[str] = field(default_factory=set)
    shortfall_incidents: int = 0
    peak_charging_households: set[str] = field(default_factory=set)
    household_interruptions: int = 0  # from the daily rollups
    rollup_interruption_hours: float = 0.0


@dataclass(frozen=True)
class MonthlyFigures:
    window: MonthWindow
    counties: dict[str, CountyMonth]
    city: Cell
    has_rollups: bool


def monthly_figures(
    incidents: list[Incident],
    window: MonthWindow,
    data: DataRange,
    members: Membership,
) -> MonthlyFigures:
    by_id = {i.incident_id: i for i in incidents}
    children: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        if inc.parent_id is not None and inc.parent_id in by_id:
            children[inc.parent_id].append(inc)
    counties: dict[str, CountyMonth] = defaultdict(CountyMonth)
    city = Cell()
    lo, hi = window.covered_start, window.covered_end
    for inc in incidents:
        if inc.parent_id is not None and inc.parent_id in by_id:
            continue  # belongs to its parent
        if not overlaps(inc, lo, hi, data.end):
            continue
        kids = children.get(inc.incident_id, [])
        households = affected_households(inc, kids, members)
        tree = [inc, *kids]
        hours = sum(
            overlap_hours(x, lo, hi, data.end)
            for x in tree
            if x.kind in INTERRUPTION_KINDS and x.entity_type is EntityType.HOUSEHOLD
        )
        _count(counties[inc.county], inc, households, hours)
        city.add(households, hours)
    return MonthlyFigures(window, dict(counties), city, has_rollups=False)


def _count(cm: CountyMonth, inc: Incident, households: dict[str, bool], hours: float) -> None:
    cm.by_kind.setdefault(inc.kind, Cell()).add(households, hours)
    cm.total.add(households, hours)
    if inc.kind in GAS_KINDS:
        cm.gas_households.update(households)
    if inc.kind is IncidentKind.GAS_SUPPLY_SHORTFALL:
        cm.shortfall_incidents += 1
    if inc.kind is IncidentKind.PEAK_CHARGING:
        cm.peak_charging_households.update(households)


def add_rollup_sums(figures: MonthlyFigures, sums: dict[str, tuple[int, float]]) -> MonthlyFigures:
    """County → (household interruptions, outage + shortfall hours) from the daily rollups of
    the month's covered days."""
    counties = dict(figures.counties)
    for county, (n, hours) in sums.items():
        cm = counties.setdefault(county, CountyMonth())
        cm.household_interruptions = n
        cm.rollup_interruption_hours = hours
    return MonthlyFigures(figures.window, counties, figures.city, has_rollups=True)


__all__ = [
    "BEIJING",
    "Cell",
    "CountyMonth",
    "DataRange",
    "Membership",
    "MonthError",
    "MonthWindow",
    "MonthlyFigures",
    "add_rollup_sums",
    "affected_households",
    "data_range",
    "month_bounds",
    "month_window",
    "monthly_figures",
]
