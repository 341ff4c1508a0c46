"""The monthly report's figures (月报), pure: incidents (+ registry, rollup sums) → figures.

The month, the data range and the window are here; what an incident counts for (kind
families, interruptions, households once per (county, family, month)) is the reports' one
arithmetic in :mod:`heatwatch.report.arithmetic`.

An incident **belongs to a month** when its interval ``[started_at, end)`` overlaps the
month; ``end`` is ``ended_at``, or the end of the data for an incident still open, so an
open incident is never carried into months after the data. An incident counts in every
month it overlaps and only those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from contract.incidents import Incident, IncidentKind
from heatwatch.report.arithmetic import Cell, Membership, tally

BEIJING = timezone(timedelta(hours=8), "Beijing")


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


@dataclass
class CountyMonth:
    total: Cell = field(default_factory=lambda: Cell(interruption=True))
    by_family: dict[str, Cell] = field(default_factory=dict)
    gas_households: set[str] = field(default_factory=set)
    shortfall_incidents: int = 0
    peak_charging_households: set[str] = field(default_factory=set)
    household_interruptions: int = 0  # from the daily rollups (``episodes_started``)
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
    tl = tally(incidents, window.covered_start, window.covered_end, data.end, members)
    counties: dict[str, CountyMonth] = {}
    for county, fams in tl.counties.items():
        cm = CountyMonth(total=tl.totals[county], by_family=fams)
        gas = fams.get("gas_shortfall")
        if gas is not None:
            cm.gas_households = set(gas.households)
            cm.shortfall_incidents = gas.by_kind.get(IncidentKind.GAS_SUPPLY_SHORTFALL, 0)
        peak = fams.get("peak_charging")
        if peak is not None:
            cm.peak_charging_households = set(peak.households)
        counties[county] = cm
    return MonthlyFigures(window, counties, tl.city, has_rollups=False)


def add_rollup_sums(figures: MonthlyFigures, sums: dict[str, tuple[int, float]]) -> MonthlyFigures:
    """County → (interruption episodes started, outage + shortfall hours) from the daily
    rollups of the month's covered days."""
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
    "data_range",
    "month_bounds",
    "month_window",
    "monthly_figures",
]
