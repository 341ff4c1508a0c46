"""The reports' one arithmetic: what an incident and a rollup day count for.

Both the monthly report (月报) and the season stability report count with this module, so
one month's figures are the same in both. The definitions are printed in the monthly report
(``i18n`` ``def_*``) and in docs/stability-report.md.

**Kind families.** Several incident kinds describe one thing happening to a household: a
feeder outage and its households' outages are one power outage; a station's silence and a
home's own silent sensor are one loss of sight; a heat station's interruption, its supply
below the heating curve and a home's cold rooms are one failure to heat. Households are
counted per family, so a home reported by several devices or by a parent and its own child
counts **once per (county, kind family, month)**, once in its county's total and once in the
city's. ``KIND_FAMILY`` is the map; ``contract.glossary.KIND_FAMILIES`` names them.

**Interruption.** An interruption is time in which a household's heating supply is lost
or below service: power off (household or feeder outage), gas below service pressure (a
home's low pressure or its station's shortfall), heat not delivered (station or heat-meter
interruption, supply below the heating curve, a home below the service temperature). These
are exactly the minutes the daily rollups (``HouseholdDay``) book as ``outage_minutes`` or
``shortfall_minutes`` — the minutes the stability verdict counts as not available — so the
incident hours and the rollup hours measure one thing, for heat, power and gas alike. Not
interruptions: communication loss and clock faults (the supply is unknown, not lost: the
rollups book ``no_data_minutes``), peak charging (heat was delivered, at the wrong tariff),
feeder overload and gas-quota risk (a risk, the supply is still on) and emission exceedance
(an environmental breach while heat is delivered).

**Attribution.** A child incident (``parent_id`` set, e.g. a home's outage under a feeder
outage) belongs to its parent's family and is not an incident of its own; a child whose
parent is not in the data is top-level. A parent counts in every window its tree (itself or
any child, which may outlive it) overlaps, and its households there are those whose own
interval touches the window. The households of a top-level incident are its
children's households, filled up to ``households_affected`` from the registry's households
on that entity (feeder, gas station, heat station, county) in registry order; without a
registry the missing ones are stand-ins per entity, so repeated incidents on one entity
still count its households once. A household's interruption interval is its own child's
when it has one, otherwise its parent's (a station's low supply has no children: every home
on it was short). A household's intervals in one family (and, for totals, in all
interruption families) are merged before they are summed, so two reports of one cold
evening are not two evenings.

**Episodes from rollups.** ``episodes_started`` is the one rule for counting interruption
episodes from daily rollups, used by the season chart and the monthly table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from contract.incidents import EntityType, Incident, IncidentKind

K = IncidentKind
KIND_FAMILY: dict[IncidentKind, str] = {
    K.HOUSEHOLD_OUTAGE: "power_outage",
    K.FEEDER_OUTAGE: "power_outage",
    K.GAS_LOW_PRESSURE: "gas_shortfall",
    K.GAS_SUPPLY_SHORTFALL: "gas_shortfall",
    K.HEAT_SUPPLY_INTERRUPTION: "heat_shortfall",
    K.HEAT_SUPPLY_LOW: "heat_shortfall",
    K.INDOOR_TEMP_LOW: "heat_shortfall",
    K.COMM_LOSS: "comm_loss",
    K.METER_CLOCK_FAULT: "meter_clock_fault",
    K.PEAK_CHARGING: "peak_charging",
    K.FEEDER_OVERLOAD: "feeder_overload",
    K.GAS_QUOTA_RISK: "gas_quota_risk",
    K.EMISSION_EXCEEDANCE: "emission_exceedance",
}
# The order families are listed in a report: interruptions first.
FAMILY_ORDER: tuple[str, ...] = (
    "heat_shortfall", "power_outage", "gas_shortfall", "comm_loss", "feeder_overload",
    "peak_charging", "gas_quota_risk", "emission_exceedance", "meter_clock_fault",
)  # fmt: skip
INTERRUPTION_FAMILIES = frozenset({"power_outage", "gas_shortfall", "heat_shortfall"})
INTERRUPTION_KINDS = frozenset(k for k, f in KIND_FAMILY.items() if f in INTERRUPTION_FAMILIES)


def family_of(kind: IncidentKind) -> str:
    """A kind's family; a kind added to the contract and not yet here is its own family."""
    return KIND_FAMILY.get(kind, kind.value)


def family_rank(family: str) -> int:
    return FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)


# --------------------------------------------------------------------------- membership
@dataclass(frozen=True)
class Membership:
    """Who hangs on which feeder / gas station / heat station / county, and who is a
    priority household (registry order kept: fills are deterministic)."""

    priority: dict[str, bool] = field(default_factory=dict)
    by_entity: dict[tuple[EntityType, str], list[str]] = field(default_factory=dict)

    @classmethod
    def from_columns(
        cls,
        ids: list[str],
        priority: list[str],
        feeder: list[str],
        station: list[str],
        heat_station: list[str] | None = None,
        county: list[str] | None = None,
    ) -> Membership:
        groups: dict[tuple[EntityType, str], list[str]] = defaultdict(list)
        links = ((EntityType.FEEDER, feeder), (EntityType.GAS_STATION, station),
                 (EntityType.HEAT_STATION, heat_station or []),
                 (EntityType.COUNTY, county or []))  # fmt: skip
        for i, h in enumerate(ids):
            for etype, col in links:
                if col and col[i]:
                    groups[(etype, col[i])].append(h)
        return cls({h: p != "none" for h, p in zip(ids, priority, strict=True)}, dict(groups))

    @property
    def known(self) -> bool:
        return bool(self.priority)


Interval = tuple[datetime, datetime | None]  # end None: still open


def attribute(
    inc: Incident, children: list[Incident], members: Membership
) -> dict[str, tuple[bool, list[Interval]]]:
    """Household id → (is priority, intervals) for a top-level incident (module doc)."""
    own: Interval = (inc.started_at, inc.ended_at)
    out: dict[str, tuple[bool, list[Interval]]] = {}
    if inc.entity_type is EntityType.HOUSEHOLD:
        known = members.priority.get(inc.entity_id)
        out[inc.entity_id] = (known if known is not None else inc.priority_households > 0, [own])
    for c in children:
        if c.entity_type is not EntityType.HOUSEHOLD:
            continue
        prio = members.priority.get(c.entity_id, c.priority_households > 0)
        prev = out.get(c.entity_id)
        out[c.entity_id] = (prio, [*(prev[1] if prev else []), (c.started_at, c.ended_at)])
    if inc.entity_type is EntityType.HOUSEHOLD:
        return out
    want = inc.households_affected
    entity_members = members.by_entity.get((inc.entity_type, inc.entity_id), [])
    for h in entity_members:
        if len(out) >= want:
            break
        out.setdefault(h, (members.priority.get(h, False), [own]))
    missing = want - len(out)
    if missing > 0 and not entity_members:  # no registry for it: stand-ins per entity
        prio_missing = max(inc.priority_households - sum(p for p, _ in out.values()), 0)
        for k in range(missing):
            out[f"{inc.entity_type.value}:{inc.entity_id}#{k}"] = (k < prio_missing, [own])
    return out


def merged_hours(
    intervals: Iterable[Interval], lo: datetime, hi: datetime, data_end: datetime
) -> float:
    """Hours covered by the union of ``intervals`` within ``[lo, hi)``; an open interval
    ends at ``data_end`` (an open incident is never carried past the data)."""
    spans = sorted(
        (max(s, lo), min(e if e is not None else data_end, hi, data_end)) for s, e in intervals
    )
    total, cur_s, cur_e = 0.0, None, None
    for s, e in spans:
        if e <= s:
            continue
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += (cur_e - cur_s).total_seconds()
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_e is not None and cur_s is not None:
        total += (cur_e - cur_s).total_seconds()
    return total / 3600.0


def overlaps(inc: Incident, lo: datetime, hi: datetime, data_end: datetime) -> bool:
    """Whether ``inc`` belongs to ``[lo, hi)``: its interval overlaps it (an instant, or an
    incident open at the very end of the data, belongs where it started)."""
    return _touches(inc.started_at, inc.ended_at, lo, hi, data_end)


def _touches(
    start: datetime, end: datetime | None, lo: datetime, hi: datetime, data_end: datetime
) -> bool:
    stop = min(end or data_end, data_end)
    if stop <= start:
        return lo <= start < hi
    return start < hi and stop > lo


# --------------------------------------------------------------------------- tallies
@dataclass
class Cell:
    """Figures for one (county, family), one county or the city."""

    incidents: int = 0
    households: dict[str, bool] = field(default_factory=dict)  # id → priority
    intervals: dict[str, list[Interval]] = field(default_factory=dict)  # interruptions only
    by_kind: dict[IncidentKind, int] = field(default_factory=dict)  # top-level incidents
    interruption_hours: float = 0.0  # set by ``close``
    interruption: bool = False  # an interruption family (or a total)

    @property
    def households_affected(self) -> int:
        return len(self.households)

    @property
    def priority_affected(self) -> int:
        return sum(self.households.values())

    def add(self, inc: Incident, households: dict[str, tuple[bool, list[Interval]]]) -> None:
        """``households``: only those whose own intervals touch the window (``tally``)."""
        self.incidents += 1
        self.by_kind[inc.kind] = self.by_kind.get(inc.kind, 0) + 1
        counted = family_of(inc.kind) in INTERRUPTION_FAMILIES
        for h, (prio, spans) in households.items():
            self.households[h] = self.households.get(h, False) or prio
            if counted:
                self.intervals.setdefault(h, []).extend(spans)

    def close(self, lo: datetime, hi: datetime, data_end: datetime) -> None:
        self.interruption_hours = sum(
            merged_hours(spans, lo, hi, data_end) for spans in self.intervals.values()
        )


@dataclass
class Tally:
    """Per county: one cell per family and a total; the city total."""

    counties: dict[str, dict[str, Cell]]  # county → family → cell
    totals: dict[str, Cell]  # county → total
    city: Cell


def tally(
    incidents: list[Incident],
    lo: datetime,
    hi: datetime,
    data_end: datetime,
    members: Membership,
) -> Tally:
    """Every top-level incident overlapping ``[lo, hi)`` counted by (county, family)."""
    by_id = {i.incident_id: i for i in incidents}
    children: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        if inc.parent_id is not None and inc.parent_id in by_id:
            children[inc.parent_id].append(inc)
    counties: dict[str, dict[str, Cell]] = defaultdict(dict)
    totals: dict[str, Cell] = defaultdict(Cell)
    city = Cell(interruption=True)
    for inc in sorted(incidents, key=lambda i: (i.started_at, i.incident_id)):
        if inc.parent_id is not None and inc.parent_id in by_id:
            continue  # belongs to its parent
        kids = children.get(inc.incident_id, [])
        # the tree belongs to the window when any of it does (a child may outlive its parent)
        if not any(overlaps(x, lo, hi, data_end) for x in (inc, *kids)):
            continue
        fam = family_of(inc.kind)
        # households affected in the window: those whose own interval (their child's, else
        # the parent's) touches it
        households = {
            h: v
            for h, v in attribute(inc, kids, members).items()
            if any(_touches(s, e, lo, hi, data_end) for s, e in v[1])
        }
        cell = counties[inc.county].setdefault(fam, Cell(interruption=fam in INTERRUPTION_FAMILIES))
        for c in (cell, totals[inc.county], city):
            c.add(inc, households)
    for fams in counties.values():
        for c in fams.values():
            c.close(lo, hi, data_end)
    for c in (*totals.values(), city):
        c.interruption = True
        c.close(lo, hi, data_end)
    return Tally(dict(counties), dict(totals), city)


# --------------------------------------------------------------------------- rollup episodes
def episodes_started(lost: np.ndarray, eps: np.ndarray, lost_prev: np.ndarray) -> np.ndarray:
    """Interruption episodes that began on each household-day, from the daily rollups.

    ``lost`` is the day's outage + shortfall minutes, ``eps`` its ``interruptions`` field,
    ``lost_prev`` the same household's lost minutes on the calendar day before (0 when that
    day has no rollup: a missing day ends a run). A day with lost minutes that does not
    continue the day before's run starts at least one episode, even when the day's
    ``interruptions`` says 0 (a station's supply below the heating curve is booked as
    shortfall minutes by every home on it, but as no episode); a day that continues a run
    and reports no new episode starts none.
    """
    has_lost = lost > 0
    cont = has_lost & (eps == 0) & (lost_prev > 0)
    start = has_lost & ~cont
    return np.where(start, np.maximum(eps, 1), eps).astype(np.int64)


__all__ = [
    "FAMILY_ORDER",
    "INTERRUPTION_FAMILIES",
    "INTERRUPTION_KINDS",
    "KIND_FAMILY",
    "Cell",
    "Membership",
    "Tally",
    "attribute",
    "episodes_started",
    "family_of",
    "family_rank",
    "merged_hours",
    "overlaps",
    "tally",
]
