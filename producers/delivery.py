"""Delivery faults of the simulated stream: late rows or batches, duplicates, malformed lines.

Only readings of entities with no planned fault are delayed or duplicated, so the ground
truth of incidents does not depend on them. Every draw comes from the stream-fault
generator the caller passes in, in stream order.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import numpy.typing as npt

from producers.faults import (
    DUPLICATE_FRACTION,
    LATE_FRACTION,
    MALFORMED_CATEGORIES,
    MALFORMED_PER_CATEGORY,
    FaultPlan,
)
from producers.fleet import Fleet
from producers.lines import Batch

BOOL = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

# (bytes, lines, readings) written later than their interval
Delayed = tuple[bytes, int, int]


def _faulty_members(
    size: int, singles: set[int], groups: set[int], ranges: list[tuple[int, int]]
) -> BOOL:
    faulty = np.zeros(size, dtype=bool)
    if singles:
        faulty[list(singles)] = True
    for g in groups:
        a, b = ranges[g]
        faulty[a:b] = True
    return faulty


def _groups_with(members_of: I64, faulty: BOOL, n_groups: int) -> BOOL:
    out = np.zeros(n_groups, dtype=bool)
    for j in np.flatnonzero(faulty).tolist():
        out[members_of[j]] = True
    return out


class DeliveryFaults:
    """Late and duplicated deliveries and malformed lines, with the counts the ground truth
    reports. ``enabled`` False (``--no-faults``) delivers everything once, on time."""

    def __init__(
        self,
        fleet: Fleet,
        plan: FaultPlan,
        n_intervals: int,
        dt: int,
        lateness_s: int,
        enabled: bool,
        rng: np.random.Generator,
    ) -> None:
        self.rng = rng
        self.enabled = enabled
        self.n_intervals = n_intervals
        self.dt = dt
        self.max_delay = lateness_s // dt if enabled else 0
        feeder_ranges = [(f.first, f.last) for f in fleet.feeders]
        station_ranges = [(s.first, s.last) for s in fleet.stations]
        self.faulty_e = _faulty_members(
            fleet.electric.size, plan.faulty_meters, plan.faulty_feeders, feeder_ranges
        )
        self.faulty_g = _faulty_members(
            fleet.gas.size, plan.faulty_gas, plan.faulty_stations, station_ranges
        )
        self.pending: dict[int, list[Delayed]] = defaultdict(list)
        self.malformed_at = self._schedule_malformed()
        self.healthy_e = np.flatnonzero(~self.faulty_e)
        n_f, n_s = len(fleet.feeders), len(fleet.stations)
        self.faulty_feeder = _groups_with(fleet.feeder_of, self.faulty_e, n_f)
        self.faulty_station = _groups_with(fleet.station_of, self.faulty_g, n_s)
        self.late_count = 0
        self.late_max_delay_s = 0
        self.duplicate_count = 0

    def _schedule_malformed(self) -> dict[int, list[str]]:
        at: dict[int, list[str]] = defaultdict(list)
        if self.enabled and self.n_intervals >= 2:
            for cat in MALFORMED_CATEGORIES:
                for _ in range(MALFORMED_PER_CATEGORY):
                    at[int(self.rng.integers(1, self.n_intervals))].append(cat)
        return at

    def can_delay(self, k: int) -> bool:
        return self.enabled and self.max_delay > 0 and k + 1 < self.n_intervals

    def _hold(self, k: int, delay: int, item: Delayed) -> None:
        self.pending[k + delay].append(item)
        self.late_max_delay_s = max(self.late_max_delay_s, delay * self.dt)

    def late_and_duplicate_rows(
        self, k: int, rows: U8, keep: BOOL, eligible: BOOL
    ) -> tuple[BOOL, I64]:
        """Line mode: hold some rows back (grouped by delay) and pick rows to send twice.

        Returns the rows to write now and the indices to write again at the block's end.
        """
        u = self.rng.random(keep.size)
        ok = eligible & keep
        dups = np.flatnonzero(ok & (u > 1.0 - DUPLICATE_FRACTION)).astype(np.int64)
        if self.can_delay(k):
            late = np.flatnonzero(ok & (u < LATE_FRACTION))
            if late.size:
                draws = self.rng.integers(1, self.max_delay + 1, late.size)
                delays = np.minimum(draws, self.n_intervals - 1 - k)
                keep = keep.copy()
                keep[late] = False
                for dly in np.unique(delays).tolist():
                    held = late[delays == dly]
                    self._hold(k, dly, (rows[held].tobytes(), held.size, held.size))
                self.late_count += int(late.size)
        self.duplicate_count += int(dups.size)
        return keep, dups

    def late_and_duplicate_batches(
        self, k: int, batches: list[Batch]
    ) -> tuple[list[Batch], list[Batch]]:
        """Batch mode: returns the batches to write now and those to write again after them."""
        if not self.enabled:
            return batches, []
        u = self.rng.random(len(batches))
        d = self.rng.integers(1, max(self.max_delay, 1) + 1, len(batches))
        can_delay = self.can_delay(k)
        now: list[Batch] = []
        dups: list[Batch] = []
        for i, batch in enumerate(batches):
            line, readings, eligible = batch
            if eligible and can_delay and u[i] < LATE_FRACTION:
                delay = int(min(d[i], self.n_intervals - 1 - k))
                self._hold(k, delay, (line, 1, readings))
                self.late_count += 1
                continue
            now.append(batch)
            if eligible and u[i] > 1.0 - DUPLICATE_FRACTION:
                dups.append(batch)
        self.duplicate_count += len(dups)
        return now, dups

    def due(self, k: int) -> list[Delayed]:
        """Deliveries held back earlier that arrive in interval ``k``."""
        return self.pending.pop(k, [])

    def malformed_due(self, k: int) -> list[str]:
        return self.malformed_at.get(k, [])

    def healthy_meter(self) -> int:
        """A random electric meter with no planned fault (whose id a malformed line borrows)."""
        if not self.healthy_e.size:
            return 0
        return int(self.healthy_e[int(self.rng.integers(self.healthy_e.size))])
