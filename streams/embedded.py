"""The embedded runner: the detection core over a JSONL file, results to a directory.

No servers: this is what ``heatwatch replay`` and ``heatwatch demo`` run. Every input line is
either used or written to ``dead_letters.jsonl`` with a reason; blank lines are skipped.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow.parquet as pq

from contract.incidents import Incident
from contract.registry import Household
from contract.rollups import HouseholdDay
from formats.rollup_parquet import ROLLUP_SCHEMA, rollups_to_table
from streams.core.context import Metric
from streams.core.engine import Engine
from streams.core.incidents import Change
from streams.core.settings import DetectionSettings
from streams.eventorder import find_fast_copies, sort_by_event_time
from streams.ingest import Decoded, Tally, dead_letter_fields, drain_rejections, push_decoded

ProgressCallback = Callable[[int, int], None]
# Lines decoded and pushed into the engine per call (and between two looks at whether order
# has mattered): a power of two, so the hot loop tests one mask.
_CHUNK_LINES = 1024
_CHUNK_MASK = _CHUNK_LINES - 1


class DirectoryOutput:
    """Collects incidents' final states, streams rollups to Parquet, counts metrics."""

    def __init__(self, out_dir: Path, *, write_metrics: bool = False) -> None:
        self.out_dir = out_dir
        self.incidents: dict[str, Incident] = {}
        self.changes: Counter[str] = Counter()
        self.metric_counts: Counter[str] = Counter()
        self.rollup_rows = 0
        (out_dir / "rollups").mkdir(parents=True, exist_ok=True)
        self.rollup_path = out_dir / "rollups" / "household_days.parquet"
        self._rollup_writer: pq.ParquetWriter | None = None
        self._metrics_file: BinaryIO | None = (
            (out_dir / "metrics.jsonl").open("wb") if write_metrics else None
        )

    def incident(self, change: Change, incident: Incident) -> None:
        self.incidents[incident.incident_id] = incident
        self.changes[change.value] += 1

    def rollups(self, days: list[HouseholdDay]) -> None:
        if not days:
            return
        if self._rollup_writer is None:
            self._rollup_writer = pq.ParquetWriter(
                self.rollup_path, ROLLUP_SCHEMA, compression="zstd"
            )
        self._rollup_writer.write_table(rollups_to_table(days))
        self.rollup_rows += len(days)

    def metric(self, metric: Metric) -> None:
        self.metric_counts[metric.measurement] += 1
        if self._metrics_file is not None:
            self._metrics_file.write(orjson.dumps(metric._asdict()) + b"\n")

    def close(self) -> None:
        if self._rollup_writer is not None:
            self._rollup_writer.close()
        else:  # an empty but valid file, so readers need no special case
            pq.write_table(ROLLUP_SCHEMA.empty_table(), self.rollup_path)
        if self._metrics_file is not None:
            self._metrics_file.close()

    def write_incidents(self) -> Path:
        path = self.out_dir / "incidents.jsonl"
        ordered = sorted(self.incidents.values(), key=lambda i: (i.started_at, i.incident_id))
        with path.open("wb") as fh:
            for inc in ordered:
                fh.write(orjson.dumps(inc.model_dump(mode="json")) + b"\n")
        return path


@dataclass
class ReplaySummary:
    data: dict[str, Any]
    out_dir: Path


@contextmanager
def long_lived_state() -> Iterator[None]:
    """Keep the cyclic GC from rescanning detector state millions of times.

    The registry and per-household state are long-lived and acyclic in practice; each reading
    allocates a few short-lived objects. With default thresholds the collector ran a full
    scan of every live object thousands of times per million readings (measured: ~3× slower).
    """
    gc.collect()
    gc.freeze()
    old = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def replay(
    registry: list[Household],
    input_path: Path,
    out_dir: Path,
    settings: DetectionSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
    observer: Callable[[int, int, dict[str, int]], None] | None = None,
    write_metrics: bool = False,
    chunk_lines: int = 250_000,
) -> ReplaySummary:
    """Run the core over ``input_path`` (JSONL of readings or concentrator batches).

    The same lines in any order give the same results. The file is first run as it comes;
    if the engine meets anything whose outcome could depend on arrival order (a reading
    later than the lateness bound, one held ahead of time, a clock fault, a conflict settled
    after the fact), the run is abandoned and the input is ordered by event time on disk
    (``streams.eventorder``, bounded memory) and run again from the start. Ordered input —
    what meters stream — pays nothing for this."""
    settings = settings or DetectionSettings()
    out_dir.mkdir(parents=True, exist_ok=True)
    if observer is not None:
        inner = progress
        live: dict[str, DirectoryOutput] = {}

        def progress(done: int, total: int) -> None:
            if inner is not None:
                inner(done, total)
            output = live.get("output")
            counts = Counter(i.kind.value for i in output.incidents.values()) if output else {}
            observer(done, total, dict(counts))
    else:
        live = {}
    started = time.perf_counter()
    run = _Run(registry, settings, out_dir, write_metrics, live, started)
    if run.feed(input_path, progress, numbered=False, stop_if_order_sensitive=True):
        return run.finish(input_path, "as given (already in event-time order)")
    with tempfile.TemporaryDirectory(prefix="ordering-", dir=out_dir) as tmp:
        ordered = sort_by_event_time(
            input_path, Path(tmp), chunk_lines=chunk_lines, progress=progress
        )
        run = _Run(registry, settings, out_dir, write_metrics, live, started)
        run.engine.conflict_log = []
        run.feed(ordered, progress, numbered=True, stop_if_order_sensitive=False)
        # A meter whose clock ran fast by less than the input's length meets its own
        # readings: those conflicts are its clock's fault. Found, the ordered file is run once
        # more with the copies known (only then: a pass costs what the first one did).
        fast = find_fast_copies(
            run.engine.conflict_log,
            ordered,
            settings.clock_skew_s,
            int(settings.earliest_event.timestamp()),
        )
        if fast:
            run = _Run(registry, settings, out_dir, write_metrics, live, started)
            run.engine.expect_fast_copies(fast)
            run.feed(ordered, progress, numbered=True, stop_if_order_sensitive=False)
    return run.finish(input_path, "ordered by event time on disk (input was not)")


class _Run:
    """One pass of the engine over a file, writing into ``out_dir`` (a new pass truncates)."""

    def __init__(
        self,
        registry: list[Household],
        settings: DetectionSettings,
        out_dir: Path,
        write_metrics: bool,
        live: dict[str, DirectoryOutput],
        started: float,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.out_dir = out_dir
        self.output = live["output"] = DirectoryOutput(out_dir, write_metrics=write_metrics)
        self.engine = Engine(registry, settings, self.output)
        self.tally = Tally()
        self.blank_lines = 0
        self.rejected = 0
        self.rejected_by_code: dict[str, int] = {}  # dead letters by code (dead_letter_code)
        self.lines = 0
        self.started = started
        self.last_day_closed = False

    def feed(
        self,
        path: Path,
        progress: ProgressCallback | None,
        *,
        numbered: bool,
        stop_if_order_sensitive: bool,
    ) -> bool:
        """Run every line; returns False if stopped because order could matter."""
        engine = self.engine
        tally = self.tally
        total = path.stat().st_size
        with (
            long_lived_state(),
            path.open("rb") as src,
            (self.out_dir / "dead_letters.jsonl").open("wb") as dead,
        ):

            def dead_letter(line_no: Any, index: int | None, raw: bytes, reason: str) -> None:
                text = raw.decode("utf-8", "replace")
                fields = dead_letter_fields(reason)
                dead.write(orjson.dumps({"line_no": line_no, "raw": text, **fields}))
                dead.write(b"\n")
                self.rejected += 1
                by_code = self.rejected_by_code
                by_code[fields["code"]] = by_code.get(fields["code"], 0) + 1

            decoded = Decoded(tally)
            chunks = self._numbered(src, decoded) if numbered else self._plain(src, decoded)
            count = blank = 0
            for chunk, (lines, blanks) in enumerate(chunks, start=1):
                # every chunk (1,024 lines): one engine call, progress, has order mattered?
                push_decoded(engine, decoded, dead_letter)
                decoded.clear()
                count += lines
                blank += blanks
                if progress is not None and not chunk & 0x3F:
                    progress(src.tell(), total)
                if stop_if_order_sensitive and engine.order_sensitive:
                    return False
            if stop_if_order_sensitive and engine.order_sensitive:
                return False
            self.lines = count
            self.blank_lines = blank
            tally.records = count - blank
            if progress is not None:
                progress(total, total)
            self.last_day_closed = engine.flush()
            drain_rejections(engine, dead_letter)
        return True

    @staticmethod
    def _plain(src: BinaryIO, decoded: Decoded) -> Iterator[tuple[int, int]]:
        """The file as given, decoded a chunk at a time: yields (lines, blank lines) of each
        chunk once it is in ``decoded`` (origin: the line number). No line of a file as given
        is a split batch's reading: that test is ``_numbered``'s alone, off this hot loop."""
        add = decoded.add
        line_no = blank = 0
        for line_no, line in enumerate(src, start=1):
            if line[0] != 0x7B and not line.strip():  # not "{": maybe blank
                blank += 1
            else:
                add(line, line_no)
            if not line_no & _CHUNK_MASK:
                yield _CHUNK_LINES, blank
                blank = 0
        if line_no & _CHUNK_MASK:
            yield line_no & _CHUNK_MASK, blank

    @staticmethod
    def _numbered(src: BinaryIO, decoded: Decoded) -> Iterator[tuple[int, int]]:
        """An ordered file (``<line_no>\\t<line>``, or ``<line_no>:<index>\\t<reading>`` for a
        reading of a batch the ordering split by time), a chunk at a time as ``_plain``: a
        split batch counts as one line (at its first reading), as it was in the input."""
        add, add_piece = decoded.add, decoded.add_piece
        count = blank = rows = 0
        for line in src:
            tab = line.index(b"\t")
            number, colon, index = line[:tab].partition(b":")
            if colon:
                at = int(index)
                count += at == 0
                add_piece(line[tab + 1 :], int(number), at)
            else:
                count += 1
                raw = line[tab + 1 :]
                if raw[0] != 0x7B and not raw.strip():  # not "{": maybe blank
                    blank += 1
                else:
                    add(raw, int(number))
            rows += 1
            if not rows & _CHUNK_MASK:
                yield count, blank
                count = blank = 0
        if rows & _CHUNK_MASK:
            yield count, blank

    def finish(self, input_path: Path, ordering: str) -> ReplaySummary:
        output, engine = self.output, self.engine
        output.close()
        elapsed = time.perf_counter() - self.started
        output.write_incidents()
        by_kind = Counter(i.kind.value for i in output.incidents.values())
        c = engine.counters
        readings = self.tally.readings
        data: dict[str, Any] = {
            "input": str(input_path),
            "input_order": ordering,
            "lines_read": self.lines,
            "blank_lines": self.blank_lines,
            "batches": self.tally.batches,
            "readings_received": readings,
            "accepted": c.accepted - c.duplicates,
            "duplicates": c.duplicates,
            "conflicts": c.conflicts,
            "rejected": self.rejected,
            "rejected_by_reason": dict(
                sorted(self.rejected_by_code.items(), key=lambda kv: (-kv[1], kv[0]))
            ),
            "clock_rejected": c.clock_rejected,
            "implausible": c.implausible,
            "implausible_by_meter": dict(sorted(engine.implausible.items())),
            "incidents": len(output.incidents),
            "incidents_open_at_end": engine.open_incidents,
            "incidents_by_kind": dict(sorted(by_kind.items())),
            "incident_changes": dict(sorted(output.changes.items())),
            "rollup_rows": output.rollup_rows,
            "days_rolled_up": c.days_closed,
            "days_skipped": c.days_skipped,
            "last_day_partial": not self.last_day_closed and engine.current_day is not None,
            "metrics_by_measurement": dict(sorted(output.metric_counts.items())),
            "households_registered": len(self.registry),
            "elapsed_s": round(elapsed, 3),
            "readings_per_s": round(readings / elapsed) if elapsed > 0 else None,
            "settings": self.settings.model_dump(mode="json"),
        }
        (self.out_dir / "summary.json").write_bytes(
            orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
        )
        return ReplaySummary(data, self.out_dir)
