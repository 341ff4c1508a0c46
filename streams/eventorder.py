"""Order a JSONL input by event time on disk (external merge sort), in bounded memory.

A head-end export is often sorted by meter, a retried upload sits anywhere, a file may be
reversed: the replay must not trust arrival order. Lines are keyed by the earliest ``ts`` they
hold (a line without a parseable ``ts`` first, so it is dead-lettered at once), sorted in
chunks of ``chunk_lines`` and merged. Ties are broken by the line's bytes, not its position,
so every permutation of the same lines gives the same order; the original line number
travels with each line for dead letters.

A concentrator batch whose readings are all of one instant stays one line. A batch that
spans several times (a head-end backlog: hours of one home's devices in one upload) is split
into its readings, each keyed by its own time: kept whole at its earliest time, its later
readings would walk event time hours ahead and refuse every other source's readings between
as late — one source moving time for everyone.

Output lines: ``<line_no>\\t<original line>``, or ``<line_no>:<index>\\t<reading>`` for the
reading at ``index`` of a split batch (``streams.ingest.Decoded.add_piece``).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from contract.telemetry import WIRE_ADAPTER, Batch, event_epoch
from streams.core.sources import SOURCE_KINDS

_TS = re.compile(rb'"ts"\s*:\s*"([^"\\]{1,64})"')
_NO_TIME = -(2**62)
_KEY_BIAS = 2**62  # keys are written as non-negative decimals

ProgressFn = Callable[[int, int], None]


def event_key(line: bytes) -> int:
    """Earliest epoch second among the line's ``ts`` values (``_NO_TIME`` if none parse)."""
    stamps = _stamps(line)
    return min(stamps) if stamps else _NO_TIME


def _stamps(line: bytes) -> list[int]:
    stamps = []
    for match in _TS.finditer(line):
        try:
            stamps.append(event_epoch(match.group(1).decode()))
        except (ValueError, UnicodeDecodeError, OverflowError):
            continue
    return stamps


def _keyed(line: bytes, line_no: int) -> list[tuple[int, bytes, bytes]]:
    """The line keyed by its earliest time, or a valid batch spanning several times as its
    readings, each keyed by its own (``<line_no>:<index>``)."""
    stamps = _stamps(line)
    first = min(stamps) if stamps else _NO_TIME
    whole = [(first, line, b"%d" % line_no)]
    if not stamps or first == max(stamps) or b'"batch"' not in line:
        return whole
    try:
        msg = WIRE_ADAPTER.validate_json(line)
    except ValidationError:
        return whole  # a broken batch is salvaged as a whole line
    if not isinstance(msg, Batch):
        return whole
    try:
        keys = [event_epoch(r.ts) for r in msg.readings]
    except (ValueError, OverflowError):
        return whole  # an impossible date: refused as the line is
    return [
        (key, r.model_dump_json().encode() + b"\n", b"%d:%d" % (line_no, index))
        for index, (key, r) in enumerate(zip(keys, msg.readings, strict=True))
    ]


def _write_run(chunk: list[tuple[int, bytes, bytes]], path: Path) -> None:
    chunk.sort()
    with path.open("wb") as fh:
        for key, raw, number in chunk:
            fh.write(b"%d\t%s\t" % (key + _KEY_BIAS, number) + raw)


def _read_run(path: Path, stack: ExitStack) -> Iterator[tuple[int, bytes, bytes]]:
    fh = stack.enter_context(path.open("rb"))
    for line in fh:
        key, line_no, raw = line.split(b"\t", 2)
        yield int(key), raw, line_no


def sort_by_event_time(
    source: Path,
    work_dir: Path,
    *,
    chunk_lines: int = 250_000,
    progress: ProgressFn | None = None,
) -> Path:
    """Write ``work_dir/ordered.tsv``: every line of ``source`` in event-time order."""
    work_dir.mkdir(parents=True, exist_ok=True)
    total = source.stat().st_size
    runs: list[Path] = []
    chunk: list[tuple[int, bytes, bytes]] = []
    with source.open("rb") as src:
        for line_no, line in enumerate(src, start=1):
            if not line.endswith(b"\n"):
                line += b"\n"
            chunk.extend(_keyed(line, line_no))
            if len(chunk) >= chunk_lines:
                runs.append(work_dir / f"run-{len(runs):05d}.tsv")
                _write_run(chunk, runs[-1])
                chunk = []
                if progress is not None:
                    progress(src.tell(), total)
    if chunk or not runs:
        runs.append(work_dir / f"run-{len(runs):05d}.tsv")
        _write_run(chunk, runs[-1])
    out = work_dir / "ordered.tsv"
    with ExitStack() as stack, out.open("wb") as dst:
        merged = heapq.merge(*(_read_run(run, stack) for run in runs))
        for _key, raw, number in merged:
            dst.write(number + b"\t" + raw)
    for run in runs:
        run.unlink()
    if progress is not None:
        progress(total, total)
    return out


# --- a fast clock meeting its own readings ---------------------------------------------------


def _values_key(canonical: str) -> bytes:
    """A reading's values without its time: equal for a reading and its fast clock's copy."""
    obj = orjson.loads(canonical)
    obj.pop("ts", None)
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def _source(obj: dict[str, Any]) -> str | None:
    """``kind|device`` (``streams.core.sources.source_key``): a device, not a household."""
    kind = SOURCE_KINDS.get(obj.get("kind"))  # type: ignore[arg-type]
    device = obj.get(kind.device_field) if kind is not None else None
    return f"{kind.kind}|{device}" if kind is not None and isinstance(device, str) else None


def _stamps_by_values(
    ordered: Path, wanted: set[tuple[str, bytes]]
) -> dict[tuple[str, bytes], list[int]]:
    """Timestamps of the readings in the ordered file whose (source, values) are ``wanted``
    (memory: bounded by the conflicts, not by the file)."""
    sources = {source for source, _ in wanted}
    devices = sorted({source.split("|", 1)[1] for source in sources})
    needles = re.compile(b"|".join(re.escape(b'"' + d.encode() + b'"') for d in devices))
    out: dict[tuple[str, bytes], list[int]] = {}
    with ordered.open("rb") as fh:
        for line in fh:
            if not needles.search(line):
                continue
            try:
                msg = WIRE_ADAPTER.validate_json(line.split(b"\t", 1)[1])
            except (ValidationError, IndexError):
                continue
            for r in msg.readings if isinstance(msg, Batch) else [msg]:
                dumped = r.model_dump(mode="json")
                source = _source(dumped)
                if source not in sources:
                    continue
                ts = event_epoch(dumped.pop("ts"))
                key = (source, orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS))
                if key in wanted:
                    out.setdefault(key, []).append(ts)
    return out


def find_fast_copies(
    conflicts: list[list[Any]], ordered: Path, skew_s: int, earliest_s: int = 0
) -> dict[int, dict[str, int]]:
    """Which readings of a replay's conflicts are a fast clock's copies of the meter's own
    earlier readings: same values, the meter sent them for a time more than ``skew_s``
    before. Returns ts -> canonical JSON -> offset s (for ``Engine.expect_fast_copies``).

    A function of the file's lines, not their order (any permutation finds the same). Runs
    only when the ordered pass met conflicts: one scan of the lines naming those sources."""
    if not conflicts:
        return {}
    wanted = {(source, _values_key(side)) for source, _, sides in conflicts for side in sides}
    stamps = _stamps_by_values(ordered, wanted)
    fast: dict[int, dict[str, int]] = {}
    for source, ts, sides in conflicts:
        for canonical in sides:
            # a stamp before the programme's window was refused (a reset clock): it is no
            # reading the meter sent earlier, and must not make its on-time reading a "copy"
            earlier = [
                t
                for t in stamps.get((source, _values_key(canonical)), [])
                if ts - t > skew_s and t >= earliest_s
            ]
            if earlier:
                fast.setdefault(ts, {})[canonical] = ts - max(earlier)
    return fast
