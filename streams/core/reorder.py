"""The reorder buffer: admitted readings waiting for event time to pass their step.

Readings are kept by timestamp ("steps") and released in timestamp order once the
partition's time (``eventclock.py``) is more than the lateness bound ahead, so arrival order
within that bound never changes a result. Beside each step it keeps the *contested*
readings: a second reading of a source at or before its newest pushed timestamp (a re-send,
a conflict, or just out of order), settled against the step when it is released.

An entry is ``(handler, target, reading, origin, source)``: a tuple, not a class, because
one is built per reading on the hot path. Only the reading and its origin are stored in a
snapshot; the engine rebuilds the rest from the reading (its kind's route), so a snapshot
holds no code and no detector state.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from contract.telemetry import AnyReading, Reading
from streams.core.snapshots import check_format

# handler, target (detector state), reading, origin, source (the device's identity clock)
Entry = tuple[Any, Any, AnyReading, Any, Any]
# (ts, reading, origin): a buffered reading as the engine shows and restores it
Waiting = tuple[int, AnyReading, Any]

BUFFER_FORMAT = 1
_READING: TypeAdapter[Any] = TypeAdapter(Reading)


class ReorderBuffer:
    """Steps waiting for release (a heap of their timestamps) and their contested readings."""

    __slots__ = ("contested", "heap", "steps")

    def __init__(self) -> None:
        self.steps: dict[int, list[Entry]] = {}
        # the steps' timestamps; an expired step leaves a stale entry (skipped on release)
        self.heap: list[int] = []
        self.contested: dict[int, list[Entry]] = {}

    def open_step(self, ts: int) -> list[Entry]:
        """The (new) list of a step's first readings per source."""
        bucket = self.steps[ts] = []
        heapq.heappush(self.heap, ts)
        return bucket

    def contest(self, ts: int, entry: Entry) -> None:
        """A source's second reading at or before its newest: settled on release."""
        self.contested.setdefault(ts, []).append(entry)

    def next_before(self, before: int) -> tuple[int, list[Entry]] | None:
        """The oldest step strictly before ``before``, taken out of the buffer; None when
        there is none. (A stale heap entry of an expired step is skipped.)"""
        heap, steps = self.heap, self.steps
        while heap and heap[0] < before:
            ts = heapq.heappop(heap)
            bucket = steps.pop(ts, None)
            if bucket is not None:
                return ts, bucket
        return None

    def take_contested(self, ts: int) -> list[Entry] | None:
        return self.contested.pop(ts, None) if self.contested else None

    def expire(self, ts: int) -> list[Entry]:
        """A step's readings and contested readings, taken out (clock faults)."""
        return self.steps.pop(ts, []) + self.contested.pop(ts, [])

    @property
    def waiting_steps(self) -> int:
        return len(self.heap)

    def buffered(self) -> list[Waiting]:
        """``(ts, reading, origin)`` of each step's first reading per source, in order."""
        return [(ts, e[2], e[3]) for ts in sorted(self.steps) for e in self.steps[ts]]

    def contested_readings(self) -> list[Waiting]:
        """``(ts, reading, origin)`` of the re-sends and conflicts waiting beside the steps."""
        return [(ts, e[2], e[3]) for ts in sorted(self.contested) for e in self.contested[ts]]

    def put_back(
        self,
        buffered: list[Waiting],
        contested: list[Waiting],
        entry_of: Callable[[AnyReading, Any], Entry],
    ) -> None:
        """Put stored readings back as they were: no admission, no release."""
        for ts, r, origin in buffered:
            self.steps.setdefault(ts, []).append(entry_of(r, origin))
        for ts, r, origin in contested:
            self.steps.setdefault(ts, [])
            self.contested.setdefault(ts, []).append(entry_of(r, origin))
        self.heap = sorted(self.steps)  # a sorted list is a heap

    # --- snapshot ------------------------------------------------------------------------
    def snapshot(self, origin_of: Callable[[Any], Any]) -> dict[str, Any]:
        """``[ts, reading, origin]`` rows (``origin_of`` makes an origin plain data)."""

        def rows(waiting: list[Waiting]) -> list[list[Any]]:
            return [[ts, r.model_dump(mode="json"), origin_of(o)] for ts, r, o in waiting]

        return {
            "format": BUFFER_FORMAT,
            "buffered": rows(self.buffered()),
            "contested": rows(self.contested_readings()),
        }

    def restore(
        self,
        data: dict[str, Any],
        origin_from: Callable[[Any], Any],
        entry_of: Callable[[AnyReading, Any], Entry],
    ) -> None:
        check_format("reorder buffer", data, BUFFER_FORMAT)

        def waiting(rows: list[list[Any]]) -> list[Waiting]:
            return [(ts, _READING.validate_python(r), origin_from(o)) for ts, r, o in rows]

        self.put_back(waiting(data["buffered"]), waiting(data["contested"]), entry_of)
