"""The drop folder: which files are complete, and their lines as Kafka record values.

**Completion rule.** A file is taken when (1) its name is not a temporary one — hidden
(``.name``), or ending in ``.part``, ``.tmp``, ``.partial``, ``.filepart``, ``.crdownload``,
``.uploading`` — so an uploader that writes under a temporary name and renames when done is
taken at the rename, and (2) its size and modification time have not changed for
``quiet_s`` seconds as observed by the bridge (its own monotonic clock: the uploader's clock
does not matter), which covers uploaders that write in place (FTP, scp). On top of that:

* a plain JSONL/CSV file is published up to its last newline; a last line without one is
  published only once the file has been quiet ``tail_quiet_s`` (a writer paused mid-line
  must not have half a reading sent);
* a gzip file is taken only when its stream is complete (a truncated member is an upload in
  progress), then all its lines;
* a file that grows after it was published (an hourly export appended to) continues: if
  its first ``size`` bytes still hash to what was published, only the lines after those
  are sent. Anything else under a published name is a new version, sent whole (its exact
  re-sends are engine duplicates).

**Formats**, by name: ``*.jsonl`` / ``*.ndjson`` (one reading or concentrator batch per line,
the contract), ``*.csv`` (a header row of the contract's field names, ``kind`` among them;
one reading per row; empty cells omitted; the contract's numeric fields converted to
numbers, anything unparseable left as text so the worker dead-letters it with its reason),
each optionally ``.gz``. A CSV field must not contain a newline (line numbers are physical
lines).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import orjson

TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload", ".uploading")
FORMATS = (".jsonl", ".ndjson", ".csv")


def is_candidate(name: str) -> bool:
    """A name the bridge takes (a complete export, not a temporary upload name)."""
    base = name.rsplit("/", 1)[-1]
    if base.startswith((".", "~")) or base.endswith(TEMPORARY_SUFFIXES):
        return False
    stem = base[:-3] if base.endswith(".gz") else base
    return stem.endswith(FORMATS)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # unchanged since (bridge clock)


class DropFolder:
    """Scans ``root`` (recursively); ``ready()`` lists complete files with how long they have
    been quiet."""

    def __init__(
        self, root: Path, quiet_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.root = root
        self.quiet_s = quiet_s
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def candidates(self) -> list[tuple[str, Path]]:
        out = []
        for path in sorted(self.root.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if is_candidate(name) and path.is_file():
                out.append((name, path))
        return out

    def ready(self) -> list[tuple[str, Path, float]]:
        now = self.clock()
        out: list[tuple[str, Path, float]] = []
        present: set[str] = set()
        for name, path in self.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            present.add(name)
            seen = self._seen.get(name)
            if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._seen[name] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            quiet = now - seen.since
            if quiet >= self.quiet_s:
                out.append((name, path, quiet))
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return out


@dataclass
class Version:
    """The part of a file to publish: its first ``size`` bytes, whose SHA-256 is ``sha``."""

    sha: str
    size: int
    complete: bool  # False: a gzip stream still being written (nothing to publish yet)


def sha_of(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        left = size
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def version_of(path: Path, allow_tail: bool) -> Version:
    """What can be published of ``path`` now (module docstring: the completion rule)."""
    size = path.stat().st_size
    if path.name.endswith(".gz"):
        return Version(sha_of(path, size), size, _gzip_complete(path, size))
    if not allow_tail and size:
        size = _last_newline_end(path, size)
    return Version(sha_of(path, size), size, True)


def _last_newline_end(path: Path, size: int) -> int:
    with path.open("rb") as fh:
        pos = size
        while pos > 0:
            step = min(pos, 1 << 16)
            fh.seek(pos - step)
            chunk = fh.read(step)
            i = chunk.rfind(b"\n")
            if i >= 0:
                return pos - step + i + 1
            pos -= step
    return 0


def _gzip_complete(path: Path, size: int) -> bool:
    """Every gzip member of the first ``size`` bytes ends (a truncated one: still uploading)."""
    with path.open("rb") as fh:
        data = fh.read(size)
    while data:
        d = zlib.decompressobj(wbits=31)
        try:
            d.decompress(data)
        except zlib.error:
            return False  # not gzip: the worker would get nothing sensible; wait for a rename
        if not d.eof:
            return False
        data = d.unused_data
    return True


def lines_of(path: Path, size: int) -> Iterator[bytes]:
    """The lines of the first ``size`` bytes (decompressed for ``.gz``), without newlines."""
    with path.open("rb") as fh:
        data = fh.read(size)
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            yield data[start:]
            return
        yield data[start:end]
        start = end + 1


def records_of(path: Path, size: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, record value)`` for every line; None for a line that is no reading
    (blank, or a CSV header)."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    lines = lines_of(path, size)
    if not stem.endswith(".csv"):
        for n, line in enumerate(lines, 1):
            line = line.strip()
            yield n, (line or None)
        return
    header: list[str] | None = None
    for n, line in enumerate(lines, 1):
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            yield n, None
            continue
        row = next(csv.reader([text]))
        if header is None:
            header = [h.strip() for h in row]
            yield n, None
            continue
        yield n, csv_record(header, row)


_NUMERIC: dict[str, dict[str, type]] | None = None


def _numeric_fields() -> dict[str, dict[str, type]]:
    """kind → {field: int | float} from the contract's models (the one schema)."""
    global _NUMERIC
    if _NUMERIC is None:
        from contract.telemetry import AnyReading

        out: dict[str, dict[str, type]] = {}
        for model in get_args(AnyReading):
            kind = model.model_fields["kind"].default
            out[kind] = {
                name: f.annotation
                for name, f in model.model_fields.items()
                if f.annotation in (int, float)
            }
        _NUMERIC = out
    return _NUMERIC


def csv_record(header: list[str], row: list[str]) -> bytes:
    obj: dict[str, Any] = {}
    for name, value in zip(header, row, strict=False):
        value = value.strip()
        if name and value:
            obj[name] = value
    numeric = _numeric_fields().get(str(obj.get("kind")), {})
    for name, typ in numeric.items():
        if name in obj:
            # unparseable: stays text, and the worker dead-letters it as a wrong type
            with contextlib.suppress(ValueError):
                obj[name] = int(obj[name]) if typ is int else float(obj[name])
    return orjson.dumps(obj)
