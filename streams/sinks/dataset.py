"""The worker's results dataset (``formats/worker_dataset.py``): rollups and incident
revisions buffered per partition between commit points, written as that commit point's
segment **before** its checkpoint (docs/production-path.md, "Results dataset").

Each row is tagged with the offset of the record whose processing emitted it (the last record
of its batch: a batch is pushed in one engine call), so the reader keeps the newest revision of
a key however a crash cut the segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from contract.incidents import Incident
from contract.rollups import HouseholdDay
from formats.rollup_parquet import ROLLUP_SCHEMA
from formats.worker_dataset import (
    INCIDENT_ROWS_SCHEMA,
    INCIDENTS,
    ROLLUP_ROWS_SCHEMA,
    ROLLUPS,
    write_segment,
)

BEIJING = timezone(timedelta(hours=8))
_ENUMS = ("retrofit_type", "heating_device", "priority_group")


@dataclass
class PartitionRows:
    """What one partition emitted since its last commit point."""

    rollups: list[tuple[int, HouseholdDay]] = field(default_factory=list)
    incidents: list[tuple[int, str, str, date, str]] = field(default_factory=list)
    # (offset, change, incident_id, Beijing day it started, the incident as JSON)

    def __bool__(self) -> bool:
        return bool(self.rollups or self.incidents)


@dataclass(frozen=True)
class Segment:
    """One partition's rows of one commit point: the records ``first..last`` emitted them."""

    partition: int
    first: int
    last: int
    rows: PartitionRows


class DatasetSink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._rows: dict[int, PartitionRows] = {}
        self.segments_written = 0
        self.files_written = 0

    def add_rollups(self, partition: int, offset: int, days: list[HouseholdDay]) -> None:
        rows = self._rows.setdefault(partition, PartitionRows())
        rows.rollups.extend((offset, d) for d in days)

    def add_incident(self, partition: int, offset: int, change: str, incident: Incident) -> None:
        # serialized now: the engine may go on changing its incident before the commit point
        rows = self._rows.setdefault(partition, PartitionRows())
        day = _beijing_day(incident.started_at)
        rows.incidents.append(
            (offset, change, incident.incident_id, day, incident.model_dump_json())
        )

    def take(self, partition: int, first: int, last: int) -> Segment | None:
        """The partition's rows so far, as the segment of the commit point being captured."""
        rows = self._rows.pop(partition, None)
        return Segment(partition, first, last, rows) if rows else None

    def forget(self, partition: int) -> None:
        """A revoked partition: its new owner replays these records and writes them."""
        self._rows.pop(partition, None)

    def write(self, segment: Segment) -> None:
        """Blocking file writes (the pipeline runs this in a thread)."""
        p, a, b = segment.partition, segment.first, segment.last
        files = write_segment(self.root, ROLLUPS, p, a, b, rollup_rows(p, segment.rows.rollups))
        files += write_segment(
            self.root, INCIDENTS, p, a, b, incident_rows(p, segment.rows.incidents)
        )
        self.segments_written += 1
        self.files_written += len(files)


def rollup_rows(partition: int, rows: list[tuple[int, HouseholdDay]]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in ROLLUP_SCHEMA.names}
    for _, d in rows:
        for name, values in columns.items():
            values.append(getattr(d, name))
    for enum_col in _ENUMS:
        columns[enum_col] = [v.value for v in columns[enum_col]]
    columns["partition"] = [partition] * len(rows)
    columns["offset"] = [offset for offset, _ in rows]
    return pa.table(columns, schema=ROLLUP_ROWS_SCHEMA)


def incident_rows(partition: int, rows: list[tuple[int, str, str, date, str]]) -> pa.Table:
    return pa.table(
        {
            "incident_id": [r[2] for r in rows],
            "started_day": [r[3] for r in rows],
            "change": [r[1] for r in rows],
            "incident": [r[4] for r in rows],
            "partition": [partition] * len(rows),
            "offset": [r[0] for r in rows],
        },
        schema=INCIDENT_ROWS_SCHEMA,
    )


def _beijing_day(t: datetime) -> date:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(BEIJING).date()
