"""Engine part: the engine's tally — what came, what was used, refused, revised, closed.

Every part that accepts, refuses or settles a reading moves it (the engine, ``refusals.py``);
a replay's summary and the worker's metrics read it. Its snapshot is the counts by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from streams.core.snapshots import check_format

COUNTERS_FORMAT = 1


@dataclass
class EngineCounters:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    processed: int = 0
    days_closed: int = 0
    days_skipped: int = 0
    conflicts: int = 0
    held_ahead: int = 0
    clock_rejected: int = 0
    implausible: int = 0
    backfilled: int = 0
    rollups_revised: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {"format": COUNTERS_FORMAT, "counts": dataclasses.asdict(self)}

    def restore(self, data: dict[str, Any]) -> None:
        check_format("counters", data, COUNTERS_FORMAT)
        for name, value in data["counts"].items():  # in place: the parts that count hold it
            setattr(self, name, value)
