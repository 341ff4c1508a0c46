"""The worker's results dataset: ``household_day`` rollups and incident revisions as
day-partitioned Parquet, written by every worker without coordination and read by the reports.

Layout (one directory; a shared volume or object-store mount in production)::

    household_day/day=2021-12-01/seg-p0003-000000001201-000000001450.parquet
    household_day/day=2021-12-01/compacted-3f2a….parquet
    incidents/day=2021-12-01/seg-p0003-000000001201-000000001450.parquet   (day it started)

* A **segment** holds what one partition's engine emitted for the records
  ``first..last`` (offsets of the telemetry partition) of one commit point, split by day.
  Its name is deterministic, so a worker that crashed after writing it and replays the same
  records writes the same name again (an atomic replace, tmp file + rename); a replay cut at
  other commit points writes overlapping segments, which the reader de-duplicates.
* Every row carries ``partition`` and ``offset``: the offset of the record whose processing
  emitted it (the worker tags a batch's rows with its last record's offset: its records are
  pushed in one engine call). A revision by late data is emitted at a later offset, so **the
  newest revision of a key** — ``(household_id, day)`` or ``incident_id`` — is the row with
  the highest offset (ties: the later row in file-name and row order — revisions emitted in
  one batch are rows of one segment in the order emitted — or the same result replayed). A household and its incidents live on one partition (``contract/keys.py``), so
  offsets of different partitions are never compared for one key.
* **Compaction** (``compact``) rewrites a day's files as one ``compacted-*`` file (newest
  revision of each key, sorted by key, offsets kept) and then deletes what it read; a crash
  in between leaves both, which read the same. New segments written meanwhile are not
  touched and still win by offset.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from formats.rollup_parquet import ROLLUP_SCHEMA

ROLLUPS = "household_day"
INCIDENTS = "incidents"
KEYS = {ROLLUPS: "household_id", INCIDENTS: "incident_id"}
TAG_FIELDS = [pa.field("partition", pa.int32()), pa.field("offset", pa.int64())]
TAGS = [f.name for f in TAG_FIELDS]

ROLLUP_ROWS_SCHEMA = pa.schema([*ROLLUP_SCHEMA, *TAG_FIELDS])
INCIDENT_ROWS_SCHEMA = pa.schema(
    [
        ("incident_id", pa.string()),
        ("started_day", pa.date32()),  # Beijing date it started: its day directory
        ("change", pa.string()),
        ("incident", pa.string()),  # the Incident as JSON (its contract model)
        *TAG_FIELDS,
    ]
)
SCHEMAS = {ROLLUPS: ROLLUP_ROWS_SCHEMA, INCIDENTS: INCIDENT_ROWS_SCHEMA}
DAY_COLUMN = {ROLLUPS: "day", INCIDENTS: "started_day"}
SEGMENT_PREFIX = "seg-"
COMPACTED_PREFIX = "compacted-"
# Big row groups: a compacted city day (191,634 rows) is one row group, read in one go.
ROW_GROUP_ROWS = 256 * 1024


class DatasetError(Exception):
    """The dataset cannot be read or written as asked; the message says what and where."""


def segment_name(partition: int, first: int, last: int) -> str:
    """Deterministic: the same partition and offset range always gives the same file."""
    return f"{SEGMENT_PREFIX}p{partition:04d}-{first:012d}-{last:012d}.parquet"


def day_dir(root: Path, table: str, day: date) -> Path:
    return root / table / f"day={day.isoformat()}"


def _atomic_write(table: pa.Table, path: Path) -> None:
    """Readers never see a partial file: write a private tmp file, fsync, rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with tmp.open("wb") as fh:
            pq.write_table(
                table, fh, compression="zstd", row_group_size=ROW_GROUP_ROWS, use_dictionary=True
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_segment(
    root: Path, table: str, partition: int, first: int, last: int, rows: pa.Table
) -> list[Path]:
    """One partition's rows of one commit point (offsets ``first..last``), one file per
    day they fall on. ``rows`` has the table's schema (tags included)."""
    schema = SCHEMAS[table]
    if rows.schema != schema:
        rows = rows.select(schema.names).cast(schema)
    if rows.num_rows == 0:
        return []
    days = rows.column(DAY_COLUMN[table])
    written = []
    for day in pc.unique(days).to_pylist():
        part = rows.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        path = day_dir(root, table, day) / segment_name(partition, first, last)
        _atomic_write(part, path)
        written.append(path)
    return written


# --- reading -----------------------------------------------------------------------------
def days(roots: Sequence[Path], table: str) -> list[date]:
    """Days that have files, from the directory names only (no file is opened)."""
    found: set[date] = set()
    for root in roots:
        base = root / table
        if not base.is_dir():
            continue
        for d in base.iterdir():
            if d.name.startswith("day=") and _files([d]):
                try:
                    found.add(date.fromisoformat(d.name[4:]))
                except ValueError:
                    raise DatasetError(f"{d}: not a day directory (day=YYYY-MM-DD)") from None
    return sorted(found)


def _files(dirs: Iterable[Path]) -> list[Path]:
    out = []
    for d in dirs:
        if d.is_dir():
            out += [
                p
                for p in d.iterdir()
                if p.suffix == ".parquet" and p.name.startswith((SEGMENT_PREFIX, COMPACTED_PREFIX))
            ]
    return sorted(out, key=lambda p: (p.name, str(p)))


def read_day(
    roots: Sequence[Path],
    table: str,
    day: date,
    columns: list[str] | None = None,
    read_dictionary: list[str] | None = None,
    *,
    tags: bool = False,
) -> pa.Table:
    """The newest revision of every key on ``day`` (across all ``roots``), sorted by key.

    One compacted file alone is read as is (compaction de-duplicated and sorted it)."""
    schema = SCHEMAS[table]
    want = list(columns or [n for n in schema.names if n not in TAGS])
    with_tags = [*want, *[c for c in (KEYS[table], *TAGS) if c not in want]]
    for attempt in range(3):
        files = _files(day_dir(r, table, day) for r in roots)
        # one compacted file alone: de-duplicated and sorted already, no tags needed
        single = len(files) == 1 and files[0].name.startswith(COMPACTED_PREFIX)
        read_cols = want if single and not tags else with_tags
        try:
            parts = [_read(p, read_cols, read_dictionary) for p in files]
            break
        except FileNotFoundError:  # compacted meanwhile: list the day again
            if attempt == 2:
                raise DatasetError(
                    f"{day}: the {table} files kept changing while being read (a compaction "
                    "running?); run the report again"
                ) from None
    if not parts:
        return _empty(schema, with_tags if tags else want, read_dictionary)
    out = parts[0] if single else newest(pa.concat_tables(parts), KEYS[table])
    return out if tags else out.select(want)


# Columns added to a table after datasets were written: a file from before has none, read as
# nulls (``heat_kwh``, a network home's delivered heat, and ``heater_kwh``, a storage heater's
# part of the meter; issue 24).
LATE_COLUMNS = frozenset({"heat_kwh", "heater_kwh"})


def _read(path: Path, columns: list[str], read_dictionary: list[str] | None) -> pa.Table:
    try:
        # ParquetFile, not read_table: no dataset discovery per file (2x faster for 121 days)
        f = pq.ParquetFile(path, read_dictionary=read_dictionary)
        have = set(f.schema_arrow.names)
        late = [c for c in columns if c in LATE_COLUMNS and c not in have]
        if not late:
            return f.read(columns=columns)
        tbl = f.read(columns=[c for c in columns if c not in late])
        for name in late:
            kind = ROLLUP_SCHEMA.field(name).type
            tbl = tbl.append_column(pa.field(name, kind), pa.nulls(tbl.num_rows, kind))
        return tbl.select(columns)
    except FileNotFoundError:
        raise
    except (pa.ArrowInvalid, OSError, KeyError) as exc:
        raise DatasetError(f"{path}: not a readable dataset file ({exc})") from None


def _empty(schema: pa.Schema, names: list[str], read_dictionary: list[str] | None) -> pa.Table:
    fields = []
    for name in names:
        f = schema.field(name)
        if read_dictionary and name in read_dictionary:
            f = f.with_type(pa.dictionary(pa.int32(), f.type))
        fields.append(f)
    return pa.schema(fields).empty_table()


def newest(rows: pa.Table, key: str) -> pa.Table:
    """Of the rows of each key, the one with the highest (partition, offset); of equal
    offsets, the later row. Sorted by key."""
    n = rows.num_rows
    if n == 0:
        return rows
    offset = rows.column("offset").to_numpy()
    partition = rows.column("partition").to_numpy()
    order = np.lexsort((np.arange(n), offset, partition))[::-1]  # newest first
    col = rows.column(key)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    codes = pc.dictionary_encode(col.combine_chunks()).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes[order], return_index=True)
    kept = rows.take(pa.array(order[first]))
    return kept.take(pc.sort_indices(kept.column(key)))


def read_range(
    roots: Sequence[Path],
    table: str,
    first: date,
    last: date,
    columns: list[str] | None = None,
    read_dictionary: list[str] | None = None,
) -> pa.Table:
    """Every day from ``first`` to ``last`` that has files, in day order."""
    wanted = [d for d in days(roots, table) if first <= d <= last]
    # two days in flight: Parquet decoding releases the GIL
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(
            pool.map(lambda d: read_day(roots, table, d, columns, read_dictionary), wanted)
        )
    if not parts:
        names = columns or [n for n in SCHEMAS[table].names if n not in TAGS]
        return _empty(SCHEMAS[table], list(names), read_dictionary)
    return pa.concat_tables(parts)


# --- compaction --------------------------------------------------------------------------
@dataclass(frozen=True)
class Compacted:
    table: str
    day: date
    files_read: int
    rows_read: int
    rows_kept: int
    path: Path


def compact_day(root: Path, table: str, day: date) -> Compacted | None:
    """The day's files as one compacted file (None: nothing to do — no files, or already
    one compacted file). Deletes the files it read only after the new one is in place."""
    d = day_dir(root, table, day)
    files = _files([d])
    if not files or (len(files) == 1 and files[0].name.startswith(COMPACTED_PREFIX)):
        return None
    schema = SCHEMAS[table]
    rows = pa.concat_tables([_read(p, schema.names, None).cast(schema) for p in files])
    kept = newest(rows, KEYS[table])
    digest = hashlib.sha1("\n".join(p.name for p in files).encode()).hexdigest()[:16]
    path = d / f"{COMPACTED_PREFIX}{digest}.parquet"
    _atomic_write(kept, path)
    for p in files:
        if p != path:
            p.unlink(missing_ok=True)
    return Compacted(table, day, len(files), rows.num_rows, kept.num_rows, path)


def compact(root: Path, before: date | None = None) -> list[Compacted]:
    """Compact every day of both tables strictly before ``before`` (None: every day).
    Run one compaction at a time per dataset (``CompactionLock``)."""
    done = []
    for table in (ROLLUPS, INCIDENTS):
        for day in days([root], table):
            if before is not None and day >= before:
                continue
            result = compact_day(root, table, day)
            if result is not None:
                done.append(result)
    return done


class CompactionLock:
    """An exclusive lock file in the dataset root (``O_EXCL``): two compactions of one day
    could delete each other's output. A stale lock (a killed compaction) names its pid."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".compaction.lock"

    def __enter__(self) -> CompactionLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = self.path.read_text(encoding="utf-8", errors="replace").strip()
            raise DatasetError(
                f"{self.path}: another compaction holds the lock ({held}); if none runs, "
                "delete the file"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def read_incidents(roots: Sequence[Path]) -> list[str]:
    """The newest revision of every incident (as its JSON), whatever day directory holds it."""
    cols = ["incident_id", "incident"]
    parts = [read_day(roots, INCIDENTS, d, cols, tags=True) for d in days(roots, INCIDENTS)]
    if not parts:
        return []
    rows = newest(pa.concat_tables(parts), "incident_id")
    return [str(x) for x in rows.column("incident").to_pylist()]
