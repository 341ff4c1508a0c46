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
* quota_overrun (``gas_quota_risk``): ``start`` = ts of the first reading, ``end`` null.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from producers.fleet import COUNTY_NAMES, DEV, FEEDER_LOAD_FACTOR, STANDARD_KVA, Fleet

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


def plan_faults(
    fleet: Fleet, n_intervals: int, interval_s: int, seed: int, day_offset_h: float
) -> FaultPlan:
    """Choose faulty entities and windows (seeded)."""
    rng = np.random.default_rng([seed, 2])
    plan = FaultPlan()
    n = _scale(fleet.size)
    per_h = 3600 / interval_s
    margin = math.ceil(2 * per_h)

    def window(lo_h: float, hi_h: float) -> tuple[int, int] | None:
        dur = int(rng.integers(math.ceil(lo_h * per_h), math.floor(hi_h * per_h) + 1))
        dur = max(dur, 1)
        hi = n_intervals - dur - margin
        if hi <= margin:
            return None
        k0 = int(rng.integers(margin, hi))
        return k0, k0 + dur

    nf = len(fleet.feeders)
    storage = fleet.device[fleet.electric] == DEV["storage_heater"]
    used_feeders: set[int] = set()

    # feeder_overload: storage-heavy feeders
    s_kw = np.bincount(
        fleet.feeder_of,
        weights=np.where(storage, fleet.rated_kw[fleet.electric], 0.0),
        minlength=nf,
    )
    other_kw = np.zeros(nf)
    base_kw = np.bincount(fleet.feeder_of, weights=fleet.base_kw[fleet.electric], minlength=nf)
    for j, h in enumerate(fleet.electric.tolist()):
        d = int(fleet.device[h])
        if d in (DEV["heat_pump"], DEV["direct_electric"], DEV["solar_thermal"]):
            other_kw[fleet.feeder_of[j]] += 0.75 * fleet.rated_kw[h]
    load22 = base_kw + other_kw
    heavy = [f for f in range(nf) if s_kw[f] > 0 and s_kw[f] >= 1.5 * load22[f]]
    rng.shuffle(heavy)
    for f in heavy[:n]:
        theta = FEEDER_LOAD_FACTOR * (0.8 * s_kw[f] + load22[f])  # 0.9 x kVA
        lo = FEEDER_LOAD_FACTOR * (0.74 * s_kw[f] + load22[f]) / 0.9
        hi = FEEDER_LOAD_FACTOR * (0.86 * s_kw[f] + load22[f]) / 0.9
        std = [k for k in STANDARD_KVA if lo <= k <= hi]
        kva = float(std[0]) if std else float(round(theta / 0.9))
        plan.overloads.append((f, kva))
        used_feeders.add(f)

    feeders = [f for f in rng.permutation(nf).tolist() if f not in used_feeders]
    for f in feeders[:n]:
        w = window(1.0, 3.0)
        if w is None:
            break
        plan.feeder_outages.append((f, w[0], w[1]))
        used_feeders.add(f)
    plan.faulty_feeders = set(used_feeders)

    # household-level electric faults: one household per feeder where possible
    hh_feeders = [f for f in feeders if f not in used_feeders]
    cursor = 0

    def pick_meter(require_storage: bool) -> int | None:
        nonlocal cursor
        for _ in range(2 * len(hh_feeders) + 1):
            if not hh_feeders:
                return None
            f = hh_feeders[cursor % len(hh_feeders)]
            cursor += 1
            fd = fleet.feeders[f]
            cands = [
                m
                for m in range(fd.first, fd.last)
                if m not in plan.faulty_meters and (not require_storage or storage[m])
            ]
            if cands:
                m = int(rng.choice(cands))
                plan.faulty_meters.add(m)
                return m
        return None

    for _ in range(n):
        m = pick_meter(True)
        if m is not None:
            plan.peak_chargers.append(m)
    for _ in range(n):
        w = window(1.0, 4.0)
        m = pick_meter(False) if w else None
        if m is not None and w is not None:
            plan.household_outages.append((m, w[0], w[1]))
    for _ in range(n):
        w = window(3.0, 6.0)
        m = pick_meter(False) if w else None
        if m is not None and w is not None:
            plan.comm_losses.append((m, w[0], w[1]))
    m = pick_meter(False)
    if m is not None:
        plan.never_report.append(m)

    # gas faults
    ns = len(fleet.stations)
    stations = rng.permutation(ns).tolist()
    drop_windows: dict[int, tuple[int, int]] = {}
    for s in stations[:n]:
        w = window(2.0, 4.0)
        if w is None:
            break
        plan.station_drops.append((s, w[0], w[1]))
        plan.faulty_stations.add(s)
        drop_windows[s] = w
    other = [s for s in stations if s not in plan.faulty_stations] or stations
    for i in range(n):
        if not other:
            break
        s = other[i % len(other)]
        st = fleet.stations[s]
        cands = [g for g in range(st.first, st.last) if g not in plan.faulty_gas]
        if not cands:
            continue
        w = None
        for _ in range(50):
            w = window(2.0, 3.0)
            if w is None or s not in drop_windows:
                break
            d0, d1 = drop_windows[s]
            if w[1] + 1 < d0 or w[0] > d1 + 1:
                break
            w = None
        if w is None:
            continue
        g = int(rng.choice(cands))
        plan.faulty_gas.add(g)
        plan.low_pressure.append((g, w[0], w[1]))
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
    for f, kva in plan.overloads:
        fleet.feeders[f].rated_kva = kva

    del day_offset_h
    plan.index(fleet, n_intervals)
    return plan


def ground_truth(
    fleet: Fleet,
    plan: FaultPlan,
    ts: Callable[[int], str],
    start_iso: str,
    first_day_iso: str,
    overload_windows: dict[int, list[tuple[int, int | None]]],
) -> list[dict[str, Any]]:
    """Expected incidents; ``ts(k)`` is the timestamp of interval k's readings."""
    hid = fleet.household_ids
    out: list[dict[str, Any]] = []

    def meter_hh(m: int) -> str:
        return hid[int(fleet.electric[m])]

    def gas_hh(g: int) -> str:
        return hid[int(fleet.gas[g])]

    def county_of(h: int) -> str:
        return COUNTY_NAMES[int(fleet.county[h])]

    def line(
        fault: str,
        kind: str,
        etype: str,
        eid: str,
        county: str,
        start: str,
        end: str | None,
        households: list[str],
        parent: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "fault": fault,
            "kind": kind,
            "entity_type": etype,
            "entity_id": eid,
            "county": county,
            "start": start,
            "end": end,
            "households": households,
            "parent": parent,
        }
        d.update(extra)
        return d

    for f, down, up in plan.feeder_outages:
        fd = fleet.feeders[f]
        members = [meter_hh(m) for m in range(fd.first, fd.last)]
        county = COUNTY_NAMES[fd.county]
        out.append(
            line(
                "feeder_outage",
                "feeder_outage",
                "feeder",
                fd.feeder_id,
                county,
                ts(down),
                ts(up),
                members,
            )
        )
        parent = {"kind": "feeder_outage", "entity_id": fd.feeder_id}
        for h in members:
            out.append(
                line(
                    "feeder_outage",
                    "household_outage",
                    "household",
                    h,
                    county,
                    ts(down),
                    ts(up),
                    [h],
                    parent,
                )
            )
    for m, down, up in plan.household_outages:
        h = meter_hh(m)
        out.append(
            line(
                "household_outage",
                "household_outage",
                "household",
                h,
                county_of(int(fleet.electric[m])),
                ts(down),
                ts(up),
                [h],
            )
        )
    for m, first, resume in plan.comm_losses:
        h = meter_hh(m)
        out.append(
            line(
                "comm_loss",
                "comm_loss",
                "household",
                h,
                county_of(int(fleet.electric[m])),
                ts(first - 1),
                ts(resume),
                [h],
            )
        )
    for m in plan.never_report:
        h = meter_hh(m)
        out.append(
            line(
                "comm_loss",
                "comm_loss",
                "household",
                h,
                county_of(int(fleet.electric[m])),
                start_iso,
                None,
                [h],
                never_reported=True,
            )
        )
    for m in plan.peak_chargers:
        h = meter_hh(m)
        out.append(
            line(
                "peak_charging",
                "peak_charging",
                "household",
                h,
                county_of(int(fleet.electric[m])),
                first_day_iso,
                None,
                [h],
            )
        )
    for f, kva in plan.overloads:
        fd = fleet.feeders[f]
        members = [meter_hh(m) for m in range(fd.first, fd.last)]
        for k0, k1 in overload_windows.get(f, []):
            out.append(
                line(
                    "feeder_overload",
                    "feeder_overload",
                    "feeder",
                    fd.feeder_id,
                    COUNTY_NAMES[fd.county],
                    ts(k0),
                    ts(k1) if k1 is not None else None,
                    members,
                    rebound=True,
                    rated_kva=kva,
                )
            )
    for s, k0, k1 in plan.station_drops:
        st = fleet.stations[s]
        members = [gas_hh(g) for g in range(st.first, st.last)]
        county = COUNTY_NAMES[st.county]
        out.append(
            line(
                "gas_station_pressure_drop",
                "gas_supply_shortfall",
                "gas_station",
                st.station_id,
                county,
                ts(k0),
                ts(k1),
                members,
            )
        )
        parent = {"kind": "gas_supply_shortfall", "entity_id": st.station_id}
        for h in members:
            out.append(
                line(
                    "gas_station_pressure_drop",
                    "gas_low_pressure",
                    "household",
                    h,
                    county,
                    ts(k0),
                    ts(k1),
                    [h],
                    parent,
                )
            )
    for g, k0, k1 in plan.low_pressure:
        h = gas_hh(g)
        out.append(
            line(
                "household_low_pressure",
                "gas_low_pressure",
                "household",
                h,
                county_of(int(fleet.gas[g])),
                ts(k0),
                ts(k1),
                [h],
            )
        )
    for g in plan.quota_overrun:
        hidx = int(fleet.gas[g])
        h = hid[hidx]
        out.append(
            line(
                "quota_overrun",
                "gas_quota_risk",
                "household",
                h,
                county_of(hidx),
                ts(0),
                None,
                [h],
                gas_quota_m3=float(fleet.gas_quota[hidx]),
                expected_season_m3=round(fleet.expected_season_m3(g), 1),
            )
        )
    return out
