"""Fault injection plan and ground truth.

Every fault sits on a distinct, otherwise healthy entity chosen by the seed. Interval ``k``
covers ``[start + k*dt, start + (k+1)*dt)`` and its readings carry ``ts = start + (k+1)*dt``
(the END of the interval). Ground-truth ``start``/``end`` are reading timestamps:

* outages: ``start`` = ts of the ``power_down`` reading, ``end`` = ts of the ``power_up`` one;
* comm_loss: ``start`` = ts of the last reading before the silence, ``end`` = ts of the first
  reading after it (never-reporting meter: ``start`` = simulation start, ``end`` null);
* pressure faults / feeder overload: ``start`` = ts of the first abnormal reading, ``end`` =
  ts of the first normal reading after it;
* peak_charging: ``start`` = 00:00 local of the first simulated day, ``end`` null;
* quota_overrun (``gas_quota_risk``): ``start`` = ts of the first reading, ``end`` null;
* heat faults (station trip, low supply, cold home): ``start`` = ts of the first abnormal
  reading, ``end`` = ts of the first normal one; emission exceedance: ``start`` = the start of
  the first exceeding clock hour, ``end`` = the start of the first compliant one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from contract.geography import COUNTY_NAMES
from producers.fleet import DEV, FEEDER_LOAD_FACTOR, STANDARD_KVA, Fleet

F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

MALFORMED_CATEGORIES = [
    "invalid_json",
    "unknown_kind",
    "wrong_type",
    "negative_energy",
    "bad_timestamp",
    "unknown_household",
]
LATE_FRACTION = 0.02
DUPLICATE_FRACTION = 0.005
MALFORMED_PER_CATEGORY = 3


@dataclass
class FaultPlan:
    feeder_outages: list[tuple[int, int, int]] = field(default_factory=list)  # feeder, down, up
    household_outages: list[tuple[int, int, int]] = field(default_factory=list)  # meter, down, up
    comm_losses: list[tuple[int, int, int]] = field(default_factory=list)  # meter, first, resume
    never_report: list[int] = field(default_factory=list)  # electric meter index
    peak_chargers: list[int] = field(default_factory=list)  # electric meter index
    overloads: list[tuple[int, float]] = field(default_factory=list)  # feeder, undersized kVA
    station_drops: list[tuple[int, int, int]] = field(default_factory=list)  # station, k0, k1
    low_pressure: list[tuple[int, int, int]] = field(default_factory=list)  # gas meter, k0, k1
    quota_overrun: list[int] = field(default_factory=list)  # gas meter index
    # heat networks: (heat station index, k0, k1) / (heat household index, k0, k1)
    station_trips: list[tuple[int, int, int]] = field(default_factory=list)
    supply_lows: list[tuple[int, int, int]] = field(default_factory=list)
    cold_homes: list[tuple[int, int, int]] = field(default_factory=list)
    emissions: list[tuple[int, int, int]] = field(default_factory=list)  # hour-aligned
    # telemetry silent for [k0, k1): a station's (heat station index), a home's indoor sensor
    # (heat household index)
    station_silences: list[tuple[int, int, int]] = field(default_factory=list)
    sensor_silences: list[tuple[int, int, int]] = field(default_factory=list)
    # a household heat meter without heat (return ≈ supply) while its station supplies
    meter_no_heat: list[tuple[int, int, int]] = field(default_factory=list)
    # the heat source lost while the pumps run (issue 20): supply falls to the return
    source_losses: list[tuple[int, int, int]] = field(default_factory=list)
    # a failing source: below the curve for ESCALATION_LOW intervals, then lost, until k1
    escalations: list[tuple[int, int, int]] = field(default_factory=list)
    faulty_meters: set[int] = field(default_factory=set)
    faulty_gas: set[int] = field(default_factory=set)
    faulty_feeders: set[int] = field(default_factory=set)
    faulty_stations: set[int] = field(default_factory=set)

    # per-interval lookups, filled by ``index``
    silent: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    events: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    unpowered: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    feeder_silent: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    station_low: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    meter_low: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def index(self, fleet: Fleet, n_intervals: int) -> None:
        for f, down, up in self.feeder_outages:
            fd = fleet.feeders[f]
            members = list(range(fd.first, fd.last))
            self._outage(members, down, up)
            for k in range(down, up):
                self.feeder_silent[k].append(f)
        for m, down, up in self.household_outages:
            self._outage([m], down, up)
        for m, first, resume in self.comm_losses:
            for k in range(first, resume):
                self.silent[k].append(m)
        for m in self.never_report:
            for k in range(n_intervals):
                self.silent[k].append(m)
        for s, k0, k1 in self.station_drops:
            for k in range(k0, k1):
                self.station_low[k].append(s)
        for g, k0, k1 in self.low_pressure:
            for k in range(k0, k1):
                self.meter_low[k].append(g)

    def _outage(self, members: list[int], down: int, up: int) -> None:
        for m in members:
            self.events[down].append((m, "power_down"))
            self.events[up].append((m, "power_up"))
        for k in range(down, up):
            self.unpowered[k].extend(members)
        for k in range(down + 1, up):
            self.silent[k].extend(members)


def _scale(households: int) -> int:
    return max(1, households // 25_000)


class _FaultWindows:
    """Draws fault windows (interval ranges) that keep a 2-hour margin from both stream ends."""

    def __init__(self, rng: np.random.Generator, n_intervals: int, interval_s: int) -> None:
        self.rng = rng
        self.n_intervals = n_intervals
        self.per_h = 3600 / interval_s
        self.margin = math.ceil(2 * self.per_h)

    def draw(self, lo_h: float, hi_h: float) -> tuple[int, int] | None:
        """A window of ``lo_h``-``hi_h`` hours, or None when the run is too short for one."""
        per_h = self.per_h
        dur = int(self.rng.integers(math.ceil(lo_h * per_h), math.floor(hi_h * per_h) + 1))
        dur = max(dur, 1)
        hi = self.n_intervals - dur - self.margin
        if hi <= self.margin:
            return None
        k0 = int(self.rng.integers(self.margin, hi))
        return k0, k0 + dur


def _storage_kw(fleet: Fleet, storage: BOOL) -> F64:
    weights = np.where(storage, fleet.rated_kw[fleet.electric], 0.0)
    kw = np.bincount(fleet.feeder_of, weights=weights, minlength=len(fleet.feeders))
    return np.asarray(kw, dtype=np.float64)


def _evening_load_kw(fleet: Fleet) -> F64:
    """Per feeder: base load plus 75% of the rated kW of pumps, direct and solar back-up heaters."""
    nf = len(fleet.feeders)
    other_kw = np.zeros(nf)
    base_kw = np.bincount(fleet.feeder_of, weights=fleet.base_kw[fleet.electric], minlength=nf)
    for j, h in enumerate(fleet.electric.tolist()):
        d = int(fleet.device[h])
        if d in (DEV["heat_pump"], DEV["direct_electric"], DEV["solar_thermal"]):
            other_kw[fleet.feeder_of[j]] += 0.75 * fleet.rated_kw[h]
    return np.asarray(base_kw + other_kw, dtype=np.float64)


def _undersized_kva(storage_kw: float, other_kw: float) -> float:
    """A standard transformer the valley-start surge overloads (> 0.9 x kVA) but little else."""
    theta = FEEDER_LOAD_FACTOR * (0.8 * storage_kw + other_kw)  # 0.9 x kVA
    lo = FEEDER_LOAD_FACTOR * (0.74 * storage_kw + other_kw) / 0.9
    hi = FEEDER_LOAD_FACTOR * (0.86 * storage_kw + other_kw) / 0.9
    std = [k for k in STANDARD_KVA if lo <= k <= hi]
    return float(std[0]) if std else float(round(theta / 0.9))


def _plan_overloads(
    fleet: Fleet, plan: FaultPlan, storage: BOOL, rng: np.random.Generator, n: int
) -> None:
    """Undersize the transformer of storage-heavy feeders (storage kW >= 1.5x the rest at 22:00)."""
    s_kw = _storage_kw(fleet, storage)
    load22 = _evening_load_kw(fleet)
    heavy = [f for f in range(len(fleet.feeders)) if s_kw[f] > 0 and s_kw[f] >= 1.5 * load22[f]]
    rng.shuffle(heavy)
    for f in heavy[:n]:
        plan.overloads.append((f, _undersized_kva(float(s_kw[f]), float(load22[f]))))
        plan.faulty_feeders.add(f)


def _plan_feeder_outages(
    fleet: Fleet, plan: FaultPlan, windows: _FaultWindows, n: int
) -> list[int]:
    """Feeder outages on feeders not overloaded; returns the shuffled healthy feeders."""
    feeders = [
        f
        for f in windows.rng.permutation(len(fleet.feeders)).tolist()
        if f not in plan.faulty_feeders
    ]
    for f in feeders[:n]:
        w = windows.draw(1.0, 3.0)
        if w is None:
            break
        plan.feeder_outages.append((f, w[0], w[1]))
        plan.faulty_feeders.add(f)
    return [f for f in feeders if f not in plan.faulty_feeders]


class _MeterPicker:
    """Picks healthy electric meters round-robin over healthy feeders (one fault per feeder first)."""

    def __init__(
        self,
        fleet: Fleet,
        plan: FaultPlan,
        feeders: list[int],
        storage: BOOL,
        rng: np.random.Generator,
    ) -> None:
        self.fleet, self.plan, self.feeders = fleet, plan, feeders
        self.storage, self.rng = storage, rng
        self.cursor = 0

    def pick(self, require_storage: bool) -> int | None:
        for _ in range(2 * len(self.feeders) + 1):
            if not self.feeders:
                return None
            f = self.feeders[self.cursor % len(self.feeders)]
            self.cursor += 1
            fd = self.fleet.feeders[f]
            cands = [
                m
                for m in range(fd.first, fd.last)
                if m not in self.plan.faulty_meters and (not require_storage or self.storage[m])
            ]
            if cands:
                m = int(self.rng.choice(cands))
                self.plan.faulty_meters.add(m)
                return m
        return None


def _plan_household_faults(
    plan: FaultPlan, picker: _MeterPicker, windows: _FaultWindows, n: int
) -> None:
    """Peak chargers, household outages, communication losses and one never-reporting meter."""
    for _ in range(n):
        m = picker.pick(True)
        if m is not None:
            plan.peak_chargers.append(m)
    for _ in range(n):
        w = windows.draw(1.0, 4.0)
        m = picker.pick(False) if w else None
        if m is not None and w is not None:
            plan.household_outages.append((m, w[0], w[1]))
    for _ in range(n):
        w = windows.draw(3.0, 6.0)
        m = picker.pick(False) if w else None
        if m is not None and w is not None:
            plan.comm_losses.append((m, w[0], w[1]))
    m = picker.pick(False)
    if m is not None:
        plan.never_report.append(m)


def _plan_station_drops(
    fleet: Fleet, plan: FaultPlan, windows: _FaultWindows, n: int
) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """Station pressure drops; returns the shuffled stations and each drop's window."""
    stations = windows.rng.permutation(len(fleet.stations)).tolist()
    drop_windows: dict[int, tuple[int, int]] = {}
    for s in stations[:n]:
        w = windows.draw(2.0, 4.0)
        if w is None:
            break
        plan.station_drops.append((s, w[0], w[1]))
        plan.faulty_stations.add(s)
        drop_windows[s] = w
    return stations, drop_windows


def _window_clear_of(
    windows: _FaultWindows, drop: tuple[int, int] | None
) -> tuple[int, int] | None:
    """A 2-3 h window at least one interval away from the station's own drop (50 tries)."""
    w = None
    for _ in range(50):
        w = windows.draw(2.0, 3.0)
        if w is None or drop is None:
            break
        d0, d1 = drop
        if w[1] + 1 < d0 or w[0] > d1 + 1:
            break
        w = None
    return w


def _plan_low_pressure(
    fleet: Fleet,
    plan: FaultPlan,
    windows: _FaultWindows,
    n: int,
    stations: list[int],
    drop_windows: dict[int, tuple[int, int]],
) -> None:
    """Single gas meters with low pressure, preferably behind stations without a drop."""
    other = [s for s in stations if s not in plan.faulty_stations] or stations
    for i in range(n):
        if not other:
            break
        s = other[i % len(other)]
        st = fleet.stations[s]
        cands = [g for g in range(st.first, st.last) if g not in plan.faulty_gas]
        if not cands:
            continue
        w = _window_clear_of(windows, drop_windows.get(s))
        if w is None:
            continue
        g = int(windows.rng.choice(cands))
        plan.faulty_gas.add(g)
        plan.low_pressure.append((g, w[0], w[1]))


def _plan_quota_overruns(fleet: Fleet, plan: FaultPlan, rng: np.random.Generator, n: int) -> None:
    """Gas households whose contracted quota is cut to 40% of their expected season use."""
    gas_free = [
        g
        for g in range(fleet.gas.size)
        if g not in plan.faulty_gas and int(fleet.station_of[g]) not in plan.faulty_stations
    ] or [g for g in range(fleet.gas.size) if g not in plan.faulty_gas]
    for g in rng.permutation(gas_free)[:n].tolist():
        plan.faulty_gas.add(int(g))
        plan.quota_overrun.append(int(g))
        h = int(fleet.gas[g])
        fleet.gas_quota[h] = round(0.4 * fleet.expected_season_m3(int(g)))


def plan_faults(
    fleet: Fleet, n_intervals: int, interval_s: int, seed: int, day_offset_h: float
) -> FaultPlan:
    """Choose faulty entities and windows (seeded).

    Undersized feeders and cut gas quotas are written into ``fleet`` (the registry the
    detectors see), so the plan must be made before the registry is written.
    """
    # The draw order from this one generator is the output's identity: keep it.
    rng = np.random.default_rng([seed, 2])
    plan = FaultPlan()
    n = _scale(fleet.size)
    windows = _FaultWindows(rng, n_intervals, interval_s)
    storage = fleet.device[fleet.electric] == DEV["storage_heater"]
    _plan_overloads(fleet, plan, storage, rng, n)
    healthy_feeders = _plan_feeder_outages(fleet, plan, windows, n)
    _plan_household_faults(
        plan, _MeterPicker(fleet, plan, healthy_feeders, storage, rng), windows, n
    )
    stations, drop_windows = _plan_station_drops(fleet, plan, windows, n)
    _plan_low_pressure(fleet, plan, windows, n, stations, drop_windows)
    _plan_quota_overruns(fleet, plan, rng, n)
    for f, kva in plan.overloads:
        fleet.feeders[f].rated_kva = kva
    plan_heat_faults(fleet, plan, n_intervals, interval_s, seed, day_offset_h)
    plan.index(fleet, n_intervals)
    return plan


_HEAT_FAULT_LISTS = (
    "station_trips",
    "supply_lows",
    "cold_homes",
    "emissions",
    "station_silences",
    "sensor_silences",
    "meter_no_heat",
    "source_losses",
    "escalations",
)
ESCALATION_LOW = 6  # intervals of low supply before the source is lost (paged low after 4)


def plan_heat_faults(
    fleet: Fleet, plan: FaultPlan, n_intervals: int, interval_s: int, seed: int, s0_h: float
) -> None:
    """Station trips, heat-source losses, low supply, a cold home, a stack exceedance,
    silences — each on its own station. A run of two weeks or more gets a round of them every
    week (a season sees each kind many times, on different stations). Its own generator
    ``[seed, 6]``: the other faults do not move with it."""
    rng = np.random.default_rng([seed, 6])
    week = 7 * 86_400 // interval_s  # whole days: local hours repeat from round to round
    rounds = n_intervals // week if n_intervals >= 2 * week else 1
    for r in range(rounds):
        seg0 = r * week
        seg_len = n_intervals - seg0 if r == rounds - 1 else week
        part = FaultPlan()
        _plan_heat_round(fleet, part, rng, seg_len, interval_s, s0_h)
        for name in _HEAT_FAULT_LISTS:
            getattr(plan, name).extend(
                (x, k0 + seg0, k1 + seg0) for x, k0, k1 in getattr(part, name)
            )


def _plan_heat_round(
    fleet: Fleet,
    plan: FaultPlan,
    rng: np.random.Generator,
    n_intervals: int,
    interval_s: int,
    s0_h: float,
) -> None:
    n = _scale(fleet.size)
    windows = _FaultWindows(rng, n_intervals, interval_s)
    order = rng.permutation(len(fleet.heat_stations)).tolist()
    # a boiler house that banks its boiler daily has flagged stop/start-up hours: an
    # exceedance is planted on one that runs through
    boilers = [
        s
        for s in order
        if fleet.heat_stations[s].kind == "boiler_house"
        and not (fleet.heat_stations[s].design and fleet.heat_stations[s].design.cycles)
    ]
    used: set[int] = set()
    for s in [s for s in boilers][:n]:
        w = _hour_aligned(windows, interval_s, s0_h, 2, 3)
        if w is not None:
            plan.emissions.append((s, w[0], w[1]))
            used.add(s)
    free = [s for s in order if s not in used]
    for target, lo, hi in ((plan.station_trips, 1.0, 3.0), (plan.supply_lows, 3.0, 5.0)):
        for s in free[:n]:
            w = windows.draw(lo, hi)
            if w is not None:
                target.append((s, w[0], w[1]))
                used.add(s)
        free = [s for s in free if s not in used]
    for s in free[:n]:
        w = _occupied_window(windows, interval_s, s0_h)
        sampled = fleet.heat_stations[s].sampled
        if w is not None and sampled:
            plan.cold_homes.append((int(rng.choice(sampled)), w[0], w[1]))
    _plan_heat_silences(fleet, plan, windows, free, n)
    # the heat source lost on a station with nothing else planted (its homes' meters and
    # sensors would otherwise read a second fault)
    busy = used | {s for s, _, _ in plan.station_silences}
    busy |= {
        s
        for s, hs in enumerate(fleet.heat_stations)
        for x, _, _ in plan.cold_homes + plan.sensor_silences + plan.meter_no_heat
        if hs.first <= x < hs.last
    }
    for s in [s for s in free if s not in busy][:n]:
        w = windows.draw(1.0, 3.0)
        if w is not None:
            plan.source_losses.append((s, w[0], w[1]))
    busy |= {s for s, _, _ in plan.source_losses}
    for s in [s for s in free if s not in busy][:n]:
        w = windows.draw(2.5, 4.5)
        if w is not None:
            plan.escalations.append((s, w[0], w[1]))


def _plan_heat_silences(
    fleet: Fleet, plan: FaultPlan, windows: _FaultWindows, free: list[int], n: int
) -> None:
    """A station's telemetry and a sampled home's indoor sensor silent 3-6 h, drawn after the
    other heat faults (they do not move): a station without a supply or emission fault (one
    without a cold home first: its telemetry does not judge indoor temperatures), a home
    other than the cold one."""
    cold = {x for x, _, _ in plan.cold_homes}
    cold_stations = {s for s in free for x in cold if x in fleet.heat_stations[s].sampled}
    quiet = sorted(free, key=lambda s: s in cold_stations)  # stable: draw order kept
    for s in quiet[:n]:
        w = windows.draw(3.0, 6.0)
        if w is not None:
            plan.station_silences.append((s, w[0], w[1]))
    homes = [x for s in free for x in fleet.heat_stations[s].sampled if x not in cold]
    for _ in range(n):
        w = windows.draw(3.0, 6.0)
        if w is not None and homes:
            plan.sensor_silences.append((homes.pop(int(windows.rng.integers(len(homes)))), *w))
    # a home's meter without heat on a station that supplies (not tripped, not silent)
    off = {s for s, _, _ in plan.station_silences} | {s for s, _, _ in plan.station_trips}
    ok = [s for s in range(len(fleet.heat_stations)) if s not in off]
    metered = [x for s in ok for x in fleet.heat_stations[s].metered]
    for _ in range(n):
        w = windows.draw(2.0, 4.0)
        if w is not None and metered:
            plan.meter_no_heat.append((metered.pop(int(windows.rng.integers(len(metered)))), *w))


def _local_hour(k: int, interval_s: int, s0_h: float) -> float:
    """Local time of day (h) at the start of interval ``k``."""
    return (s0_h + k * interval_s / 3600) % 24.0


def _hour_aligned(
    windows: _FaultWindows, interval_s: int, s0_h: float, lo_h: int, hi_h: int
) -> tuple[int, int] | None:
    """A window of whole clock hours (hourly means see exactly the fault)."""
    for _ in range(200):
        w = windows.draw(lo_h, hi_h)
        if w is None:
            return None
        k0 = w[0]
        if abs(_local_hour(k0, interval_s, s0_h) % 1.0) < 1e-9:
            hours = int(windows.rng.integers(lo_h, hi_h + 1))
            k1 = k0 + int(hours * 3600 / interval_s)
            if k1 <= windows.n_intervals - windows.margin:
                return k0, k1
    return None


def _occupied_window(
    windows: _FaultWindows, interval_s: int, s0_h: float
) -> tuple[int, int] | None:
    """A 3-5 h window whose readings all fall in occupied hours (06:15-22:00 stamps)."""
    for _ in range(200):
        w = windows.draw(3.0, 5.0)
        if w is None:
            return None
        first = _local_hour(w[0], interval_s, s0_h)  # first abnormal interval's start
        last = _local_hour(w[1], interval_s, s0_h)  # end of the last abnormal interval
        if first >= 6.0 and last <= 22.0 and first < last:
            return w
    return None


class _GroundTruth:
    """Builds the expected-incident records, one fault kind at a time, in a fixed order."""

    def __init__(
        self, fleet: Fleet, ts: Callable[[int], str], start_iso: str, first_day_iso: str
    ) -> None:
        self.fleet, self.ts = fleet, ts
        self.start_iso, self.first_day_iso = start_iso, first_day_iso
        self.out: list[dict[str, Any]] = []

    def meter_hh(self, m: int) -> str:
        return self.fleet.household_ids[int(self.fleet.electric[m])]

    def gas_hh(self, g: int) -> str:
        return self.fleet.household_ids[int(self.fleet.gas[g])]

    def meter_county(self, m: int) -> str:
        return COUNTY_NAMES[int(self.fleet.county[int(self.fleet.electric[m])])]

    def add(
        self,
        fault: str,
        kind: str,
        entity: tuple[str, str],
        county: str,
        window: tuple[str, str | None],
        households: list[str],
        parent: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        record: dict[str, Any] = {
            "fault": fault,
            "kind": kind,
            "entity_type": entity[0],
            "entity_id": entity[1],
            "county": county,
            "start": window[0],
            "end": window[1],
            "households": households,
            "parent": parent,
        }
        record.update(extra)
        self.out.append(record)

    def feeder_outages(self, outages: list[tuple[int, int, int]]) -> None:
        """One feeder incident plus a household outage (child) per member."""
        for f, down, up in outages:
            fd = self.fleet.feeders[f]
            members = [self.meter_hh(m) for m in range(fd.first, fd.last)]
            county = COUNTY_NAMES[fd.county]
            window = (self.ts(down), self.ts(up))
            fault = "feeder_outage"
            self.add(fault, fault, ("feeder", fd.feeder_id), county, window, members)
            parent = {"kind": "feeder_outage", "entity_id": fd.feeder_id}
            for h in members:
                self.add(fault, "household_outage", ("household", h), county, window, [h], parent)

    def household_faults(self, plan: FaultPlan) -> None:
        ts = self.ts
        window: tuple[str, str | None]
        for m, down, up in plan.household_outages:
            h = self.meter_hh(m)
            fault = "household_outage"
            window = (ts(down), ts(up))
            self.add(fault, fault, ("household", h), self.meter_county(m), window, [h])
        for m, first, resume in plan.comm_losses:
            h = self.meter_hh(m)
            window = (ts(first - 1), ts(resume))
            self.add("comm_loss", "comm_loss", ("household", h), self.meter_county(m), window, [h])
        for m in plan.never_report:
            h = self.meter_hh(m)
            window = (self.start_iso, None)
            county = self.meter_county(m)
            self.add(
                "comm_loss", "comm_loss", ("household", h), county, window, [h], never_reported=True
            )
        for m in plan.peak_chargers:
            h = self.meter_hh(m)
            window = (self.first_day_iso, None)
            fault = "peak_charging"
            self.add(fault, fault, ("household", h), self.meter_county(m), window, [h])

    def overloads(
        self,
        overloads: list[tuple[int, float]],
        windows: dict[int, list[tuple[int, int | None]]],
    ) -> None:
        """One incident per window the simulated feeder load actually spent above 0.9 x kVA."""
        for f, kva in overloads:
            fd = self.fleet.feeders[f]
            members = [self.meter_hh(m) for m in range(fd.first, fd.last)]
            for k0, k1 in windows.get(f, []):
                window = (self.ts(k0), self.ts(k1) if k1 is not None else None)
                fault = "feeder_overload"
                entity = ("feeder", fd.feeder_id)
                county = COUNTY_NAMES[fd.county]
                self.add(fault, fault, entity, county, window, members, rebound=True, rated_kva=kva)

    def station_drops(self, drops: list[tuple[int, int, int]]) -> None:
        """One station shortfall plus a low-pressure incident (child) per member household."""
        for s, k0, k1 in drops:
            st = self.fleet.stations[s]
            members = [self.gas_hh(g) for g in range(st.first, st.last)]
            county = COUNTY_NAMES[st.county]
            window = (self.ts(k0), self.ts(k1))
            fault = "gas_station_pressure_drop"
            entity = ("gas_station", st.station_id)
            self.add(fault, "gas_supply_shortfall", entity, county, window, members)
            parent = {"kind": "gas_supply_shortfall", "entity_id": st.station_id}
            for h in members:
                entity = ("household", h)
                self.add(fault, "gas_low_pressure", entity, county, window, [h], parent)

    def gas_household_faults(self, plan: FaultPlan) -> None:
        fleet = self.fleet
        for g, k0, k1 in plan.low_pressure:
            h = self.gas_hh(g)
            county = COUNTY_NAMES[int(fleet.county[int(fleet.gas[g])])]
            window = (self.ts(k0), self.ts(k1))
            self.add(
                "household_low_pressure", "gas_low_pressure", ("household", h), county, window, [h]
            )
        for g in plan.quota_overrun:
            hidx = int(fleet.gas[g])
            h = fleet.household_ids[hidx]
            self.add(
                "quota_overrun",
                "gas_quota_risk",
                ("household", h),
                COUNTY_NAMES[int(fleet.county[hidx])],
                (self.ts(0), None),
                [h],
                gas_quota_m3=float(fleet.gas_quota[hidx]),
                expected_season_m3=round(fleet.expected_season_m3(g), 1),
            )


def _heat_truth(truth: _GroundTruth, plan: FaultPlan) -> None:
    fleet, ts = truth.fleet, truth.ts
    ids = fleet.household_ids
    for s, k0, k1 in plan.station_trips:
        hs = fleet.heat_stations[s]
        members = [ids[h] for h in fleet.heat[hs.first : hs.last].tolist()]
        county, window = COUNTY_NAMES[hs.county], (ts(k0), ts(k1))
        kind = "heat_supply_interruption"
        truth.add(
            "heat_station_trip", kind, ("heat_station", hs.station_id), county, window, members
        )
        parent = {"kind": kind, "entity_id": hs.station_id}
        for h in members:
            truth.add("heat_station_trip", kind, ("household", h), county, window, [h], parent)
    for s, k0, k1 in plan.source_losses:
        hs = fleet.heat_stations[s]
        members = [ids[h] for h in fleet.heat[hs.first : hs.last].tolist()]
        county, window = COUNTY_NAMES[hs.county], (ts(k0), ts(k1))
        kind = "heat_supply_interruption"
        entity = ("heat_station", hs.station_id)
        truth.add("heat_source_loss", kind, entity, county, window, members)
        parent = {"kind": kind, "entity_id": hs.station_id}
        for h in members:
            truth.add("heat_source_loss", kind, ("household", h), county, window, [h], parent)
    for s, k0, k1 in plan.escalations:
        # one page: the low-supply page escalated (its start), the homes' children from the
        # loss of the source
        hs = fleet.heat_stations[s]
        members = [ids[h] for h in fleet.heat[hs.first : hs.last].tolist()]
        county = COUNTY_NAMES[hs.county]
        kind = "heat_supply_interruption"
        entity = ("heat_station", hs.station_id)
        truth.add("heat_low_then_lost", kind, entity, county, (ts(k0), ts(k1)), members)
        parent = {"kind": kind, "entity_id": hs.station_id}
        window = (ts(k0 + ESCALATION_LOW), ts(k1))
        for h in members:
            truth.add("heat_low_then_lost", kind, ("household", h), county, window, [h], parent)
    for s, k0, k1 in plan.supply_lows:
        hs = fleet.heat_stations[s]
        members = [ids[h] for h in fleet.heat[hs.first : hs.last].tolist()]
        entity = ("heat_station", hs.station_id)
        window = (ts(k0), ts(k1))
        county = COUNTY_NAMES[hs.county]
        truth.add("heat_supply_low", "heat_supply_low", entity, county, window, members)
    for x, k0, k1 in plan.cold_homes:
        h = int(fleet.heat[x])
        county = COUNTY_NAMES[int(fleet.county[h])]
        entity = ("household", ids[h])
        truth.add("cold_home", "indoor_temp_low", entity, county, (ts(k0), ts(k1)), [ids[h]])
    for s, k0, k1 in plan.emissions:
        hs = fleet.heat_stations[s]
        window = (ts(k0 - 1) if k0 else truth.start_iso, ts(k1 - 1))
        entity = ("heat_station", hs.station_id)
        county = COUNTY_NAMES[hs.county]
        truth.add("emission_exceedance", "emission_exceedance", entity, county, window, [])
    for s, k0, k1 in plan.station_silences:
        hs = fleet.heat_stations[s]
        members = [ids[h] for h in fleet.heat[hs.first : hs.last].tolist()]
        entity = ("heat_station", hs.station_id)
        county = COUNTY_NAMES[hs.county]
        window = (ts(k0 - 1), ts(k1))
        truth.add("heat_station_silent", "comm_loss", entity, county, window, members)
    for x, k0, k1 in plan.sensor_silences:
        h = int(fleet.heat[x])
        county = COUNTY_NAMES[int(fleet.county[h])]
        window = (ts(k0 - 1), ts(k1))
        truth.add(
            "indoor_sensor_silent", "comm_loss", ("household", ids[h]), county, window, [ids[h]]
        )
    for x, k0, k1 in plan.meter_no_heat:
        h = int(fleet.heat[x])
        county = COUNTY_NAMES[int(fleet.county[h])]
        entity = ("household", ids[h])
        kind = "heat_supply_interruption"
        truth.add("heat_meter_no_heat", kind, entity, county, (ts(k0), ts(k1)), [ids[h]])


def ground_truth(
    fleet: Fleet,
    plan: FaultPlan,
    ts: Callable[[int], str],
    start_iso: str,
    first_day_iso: str,
    overload_windows: dict[int, list[tuple[int, int | None]]],
) -> list[dict[str, Any]]:
    """Expected incidents; ``ts(k)`` is the timestamp of interval k's readings."""
    truth = _GroundTruth(fleet, ts, start_iso, first_day_iso)
    truth.feeder_outages(plan.feeder_outages)
    truth.household_faults(plan)
    truth.overloads(plan.overloads, overload_windows)
    truth.station_drops(plan.station_drops)
    truth.gas_household_faults(plan)
    _heat_truth(truth, plan)
    return truth.out


def heat_network_days(
    fleet: Fleet, plan: FaultPlan, n_intervals: int, interval_s: int, start: datetime
) -> list[dict[str, Any]]:
    """Each network home's expected days from the plan (``heat_days_truth.jsonl``): the
    minutes its station supplied, was down (trip, lost source), ran below its curve or was
    silent, its own cold or heatless minutes, and the interruptions opened that day (as the
    detector counts them: a station page after 2 readings, a cold home after 8, a heatless
    meter after 4). The season verdicts of these days are the truth the detector's rollups
    must reach (tests/unit/streams/test_heat_season.py)."""
    per_day = 86_400 // interval_s
    n_days = -(-n_intervals // per_day)
    zero = np.zeros((len(fleet.heat_stations), n_days), dtype=np.int64)
    down, low, quiet, opened = zero.copy(), zero.copy(), zero.copy(), zero.copy()

    def spread(row: np.ndarray, s: int, k0: int, k1: int) -> None:
        for k in range(k0, min(k1, n_intervals)):
            row[s, k // per_day] += interval_s

    for s, k0, k1 in plan.station_trips + plan.source_losses:
        spread(down, s, k0, k1)
        opened[s, min(k0 + 1, n_intervals - 1) // per_day] += 1
    for s, k0, k1 in plan.supply_lows:
        spread(low, s, k0, k1)
    for s, k0, k1 in plan.escalations:
        spread(low, s, k0, k0 + ESCALATION_LOW)
        spread(down, s, k0 + ESCALATION_LOW, k1)
        opened[s, min(k0 + ESCALATION_LOW + 1, n_intervals - 1) // per_day] += 1
    for s, k0, k1 in plan.station_silences:
        spread(quiet, s, k0, k1)
    own: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for x, k0, k1 in plan.cold_homes:
        own[x].append((k0, k1, 8))
    for x, k0, k1 in plan.meter_no_heat:
        own[x].append((k0, k1, 4))
    first_day = start.date()
    out: list[dict[str, Any]] = []
    for s, hs in enumerate(fleet.heat_stations):
        for x in range(hs.first, hs.last):
            hid = fleet.household_ids[int(fleet.heat[x])]
            cold = np.zeros(n_days, dtype=np.int64)
            mine = np.zeros(n_days, dtype=np.int64)
            for k0, k1, need in own.get(x, ()):
                for k in range(k0, min(k1, n_intervals)):
                    cold[k // per_day] += interval_s
                mine[min(k0 + need - 1, n_intervals - 1) // per_day] += 1
            for d in range(n_days):
                span = min(per_day, n_intervals - d * per_day) * interval_s
                ok = int(span - down[s, d] - low[s, d] - quiet[s, d])
                own_cold = min(int(cold[d]), int(ok))
                out.append(
                    {
                        "household_id": hid,
                        "day": (first_day + timedelta(days=d)).isoformat(),
                        "heating_available_minutes": (ok - own_cold) / 60,
                        "outage_minutes": int(down[s, d]) / 60,
                        "shortfall_minutes": (int(low[s, d]) + own_cold) / 60,
                        "no_data_minutes": (86_400 - span + int(quiet[s, d])) / 60,
                        "interruptions": int(opened[s, d] + mine[d]),
                    }
                )
    return out
