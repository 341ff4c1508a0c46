"""How households use their new heating (issue 24): the simulator's under-users, empty homes,
large and small homes, and the truth the use judgement is scored against.

A seeded share of the households whose own meter measures their heating (electric and gas
retrofits; heat-network homes with a billing heat meter, ``NETWORK_BEHAVIOURS``) is given a
behaviour; the loads (``producers/loads.py``) scale each home's heater —
and, for an empty home, its appliances — by the day's factors. Households in an injected fault
are left alone: a peak charger that stopped heating, or a quota over-runner that barely burns
gas, would change what those faults' truth means.

Behaviours (``kind``; day numbers are offsets from the run's first day):

* ``partial`` — heats at a fifth of normal all season (one room, the heater on low);
* ``stop_after_bill`` — normal, then a tenth from the first bill (about a third into the run);
* ``back_to_coal`` — normal, then the heater off from mid-run (返煤: the old stove is used);
* ``away_weeks`` — nobody home for three weeks mid-run (a Spring Festival visit, a hospital
  stay): not under-use, its empty days are simply not judged;
* ``away_season`` — left after the first days and away for the rest of the run (外出务工);
* ``large`` / ``small`` — a home needing about 1.6× / 0.55× the heat of its peers (heated
  area): normal use, which the judgement must not flag;
* ``normal`` — everyone else.

``expected`` in the truth is what the simulator meant, in the use judgement's words
(``under_used``, ``empty``, ``used``, ``not_judged``): an under-use counts only once it has
lasted ``PERSIST_DAYS`` days inside the run; a run shorter than ``MIN_RUN_DAYS`` judges nobody.
Its own generator ``[seed, 13]``: no other draw moves with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from producers.faults import FaultPlan
from producers.fleet import DEV, Fleet

F64 = npt.NDArray[np.float64]

# (kind, share of the eligible households, heater factor while in effect, appliance factor)
BEHAVIOURS: tuple[tuple[str, float, float, float], ...] = (
    ("partial", 0.015, 0.2, 1.0),
    ("stop_after_bill", 0.015, 0.1, 1.0),
    ("back_to_coal", 0.015, 0.0, 1.0),
    ("away_weeks", 0.01, 0.0, 0.15),  # a fridge left on: ~0.5 kWh a day
    ("away_season", 0.01, 0.0, 0.15),
    ("large", 0.05, 1.6, 1.0),
    ("small", 0.05, 0.55, 1.0),
)
# Heat-network homes with a billing heat meter (issue 24): the same kinds, drawn apart (their
# own generator ``[seed, 17]``), with a larger share so a 3,000-home fleet's ~100 billing
# meters hold a few of each. Back to coal here is the valves turned down to frost protection
# (a tenth of the heat): a valve shut altogether is the heat meter's no-heat interruption, a
# fault of its own. No away kinds: a heat meter sees heat, not occupancy (the judgement never
# calls a heat-meter home empty; an absent family's turned-down valves read as under-use).
NETWORK_BEHAVIOURS: tuple[tuple[str, float, float, float], ...] = (
    ("partial", 0.03, 0.2, 1.0),
    ("stop_after_bill", 0.03, 0.1, 1.0),
    ("back_to_coal", 0.03, 0.1, 1.0),
    ("large", 0.05, 1.6, 1.0),
    ("small", 0.05, 0.55, 1.0),
)
UNDER_USE_KINDS = frozenset({"partial", "stop_after_bill", "back_to_coal"})
# "Persistently": three weeks of low use (the judgement's window); a run needs a few more days
# than that before anybody can be judged at all.
PERSIST_DAYS = 21
MIN_RUN_DAYS = 24
AWAY_WEEKS_DAYS = 21
# A gas home that heats less still cooks on its gas stove (0.2–0.5 m³ a day, the use
# judgement's own empty_max_m3 rationale): a family back on coal is not a home at 0 m³. The
# normal homes' cooking is inside their boiler's flow; only a home heating less gets it added.
COOK_M3H = 0.3 / 24


@dataclass(frozen=True)
class Behaviour:
    household: int
    kind: str
    first_day: int  # the behaviour's days [first_day, last_day) in run-day offsets
    last_day: int
    heat: float
    base: float


class UsePlan:
    """Who behaves how, and each day's heater and appliance factors per household."""

    def __init__(self, behaviours: list[Behaviour], n_households: int, days: int) -> None:
        self.behaviours = behaviours
        self.days = days
        self._heat = np.ones((days, n_households))
        self._base = np.ones((days, n_households))
        for b in behaviours:
            self._heat[b.first_day : b.last_day, b.household] = b.heat
            self._base[b.first_day : b.last_day, b.household] = b.base

    def heat(self, day: int) -> F64:
        """Heater factor per household on run day ``day`` (1 outside the run)."""
        if not 0 <= day < self.days:
            return np.ones(self._heat.shape[1])
        return np.asarray(self._heat[day])

    def base(self, day: int) -> F64:
        if not 0 <= day < self.days:
            return np.ones(self._base.shape[1])
        return np.asarray(self._base[day])

    def cook(self, day: int) -> F64:
        """Gas stove m³/h per household: occupied homes heating less than normal."""
        heat, base = self.heat(day), self.base(day)
        return np.where((heat < 1.0) & (base >= 1.0), COOK_M3H, 0.0)


def _eligible(fleet: Fleet, plan: FaultPlan) -> npt.NDArray[np.int64]:
    """(electric, gas) household indices measured by their own meter and in no fault."""
    bad_e = {m for m, _, _ in plan.household_outages} | {m for m, _, _ in plan.comm_losses}
    bad_e |= set(plan.never_report) | set(plan.peak_chargers) | set(plan.faulty_meters)
    for f, _, _ in plan.feeder_outages:
        bad_e |= set(range(fleet.feeders[f].first, fleet.feeders[f].last))
    bad_g = {g for g, _, _ in plan.low_pressure} | set(plan.quota_overrun)
    bad_g |= set(plan.faulty_gas)
    for s, _, _ in plan.station_drops:
        bad_g |= set(range(fleet.stations[s].first, fleet.stations[s].last))
    dev = fleet.device[fleet.electric]
    e_ok = [
        int(fleet.electric[m])
        for m in range(fleet.electric.size)
        if m not in bad_e and dev[m] != DEV["district"]
    ]
    g_ok = [int(fleet.gas[g]) for g in range(fleet.gas.size) if g not in bad_g]
    return np.array(sorted(e_ok + g_ok), dtype=np.int64)


def billed_homes(fleet: Fleet) -> npt.NDArray[np.int64]:
    """Household indices of the network homes with a billing heat meter (in no fault)."""
    billed = [int(fleet.heat[x]) for hs in fleet.heat_stations for x in hs.billed]
    return np.array(sorted(billed), dtype=np.int64)


def heat_metered_homes(fleet: Fleet) -> npt.NDArray[np.int64]:
    """Household indices of every network home with a heat meter (billing or not)."""
    homes = [int(fleet.heat[x]) for hs in fleet.heat_stations for x in hs.metered + hs.billed]
    return np.array(sorted(set(homes)), dtype=np.int64)


def plan_use(fleet: Fleet, plan: FaultPlan, days: int, seed: int) -> UsePlan:
    """Seeded behaviours over the eligible households (its own generator ``[seed, 13]``; the
    heat-network homes with a billing meter ``[seed, 17]``)."""
    behaviours = _draw(np.random.default_rng([seed, 13]), _eligible(fleet, plan), BEHAVIOURS, days)
    behaviours += _draw(
        np.random.default_rng([seed, 17]), billed_homes(fleet), NETWORK_BEHAVIOURS, days
    )
    return UsePlan(behaviours, fleet.size, days)


def _draw(
    rng: np.random.Generator,
    eligible: npt.NDArray[np.int64],
    kinds: tuple[tuple[str, float, float, float], ...],
    days: int,
) -> list[Behaviour]:
    order = rng.permutation(eligible)
    behaviours: list[Behaviour] = []
    pos = 0
    bill = max(1, days // 3)
    mid = max(1, (days * 2) // 5)  # 返煤 from 40 % of the run: a 40-day run still shows it
    for kind, share, heat, base in kinds:
        n = round(share * eligible.size)
        for h in order[pos : pos + n].tolist():
            if kind == "stop_after_bill":
                span = (bill, days)
            elif kind == "back_to_coal":
                span = (mid, days)
            elif kind == "away_weeks":
                a = max(0, mid - AWAY_WEEKS_DAYS // 2)
                span = (a, min(days, a + AWAY_WEEKS_DAYS))
            elif kind == "away_season":
                span = (min(days, 3), days)
            else:
                span = (0, days)
            behaviours.append(Behaviour(int(h), kind, span[0], span[1], heat, base))
        pos += n
    return behaviours


def size_gas_quotas(fleet: Fleet, use: UsePlan) -> None:
    """A large or small gas home's contracted quota follows its heat need (the county sizes
    it on the heated area): without this a large home would be a false ``gas_quota_risk``.
    Changes ``fleet.gas_quota`` in place (the registry is written from it)."""
    gas = set(fleet.gas.tolist())
    for b in use.behaviours:
        if b.kind in ("large", "small") and b.household in gas:
            fleet.gas_quota[b.household] = round(float(fleet.gas_quota[b.household]) * b.heat)


def expected_use(kind: str, first_day: int, last_day: int, days: int, measured: bool) -> str:
    """What the simulator meant, in the use judgement's words (see the module doc)."""
    if not measured or days < MIN_RUN_DAYS:
        return "not_judged"
    if kind in UNDER_USE_KINDS:
        return "under_used" if last_day - first_day >= PERSIST_DAYS else "used"
    if kind == "away_season":
        return "empty" if last_day - first_day >= days - 7 else "used"
    return "used"


def use_truth(fleet: Fleet, use: UsePlan, start: datetime) -> list[dict[str, object]]:
    """One line per household: its behaviour, the days it covers and the expected use class."""
    by_h = {b.household: b for b in use.behaviours}
    measured = np.zeros(fleet.size, np.bool_)
    measured[fleet.gas] = True
    measured[fleet.electric[fleet.device[fleet.electric] != DEV["district"]]] = True
    measured[heat_metered_homes(fleet)] = True  # judged on the heat delivered (issue 24)
    day0 = start.date()
    on_net = np.zeros(fleet.size, np.bool_)
    on_net[heat_metered_homes(fleet)] = True
    out: list[dict[str, object]] = []
    for h, hid in enumerate(fleet.household_ids):
        b = by_h.get(h)
        kind, a, z = (b.kind, b.first_day, b.last_day) if b else ("normal", 0, use.days)
        out.append(
            {
                "household_id": hid,
                "use_kind": kind,
                "from": (day0 + timedelta(days=a)).isoformat(),
                "to": (day0 + timedelta(days=z)).isoformat(),  # exclusive
                "expected": expected_use(kind, a, z, use.days, bool(measured[h])),
                # a network home judged on its heat meter's delivered heat (issue 24)
                **({"heat_meter": True} if on_net[h] else {}),
            }
        )
    return out
