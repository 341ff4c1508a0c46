"""The commit protocol, in one place: results → results dataset → checkpoint → Kafka commit.

A *commit point* is captured at once, under the pipeline's lock (``CommitProtocol.start``):
the sink's line position, each dirty partition's engine state with the offset it includes
(an immutable view, serialised off the event loop: ``streams.export``), the dataset's rows up
to that offset, and the events to ack. It then finishes in
the background while the agent goes on (``_finish``), in this order:

1. ``await sink.flush_until(position)`` — every line up to the capture is acknowledged;
2. the results dataset's segments of the commit point are written (retried while failing);
3. each captured checkpoint goes to the worker's checkpoint topic, explicitly on its
   partition (skipped for a partition revoked meanwhile: the new owner replays);
4. ``commit_offsets`` — the producer is flushed, then the offsets the checkpoints cover are
   committed (by us, not by Faust's ack bookkeeping, which creeps after a restore);
5. ``event.ack()`` every record folded into that checkpoint.

One commit point is in flight at a time, so checkpoint slots alternate in order. So a
committed offset never runs ahead of a durable checkpoint, a checkpoint never runs ahead of
the dataset, and the dataset never runs ahead of written results. On assignment the worker
restores each partition's newest checkpoint, acks and skips records at or below its offset
and replays the rest: deterministic ids and timestamps make the rewrites overwrite, not
duplicate (tests/unit/streams/pipeline/test_commit.py holds the order).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.checkpoint import Checkpoint, decode, encode
from streams.export import Export, ExportFailed
from streams.sinks.dataset import DatasetSink, Segment
from streams.sinks.influx import InfluxSink

if TYPE_CHECKING:
    from streams.partitions import PartitionState

log = logging.getLogger(__name__)

# Forked exports failed (or hung) this many times in a row: export inline from then on. A
# fork that hangs on a lock copied from another thread may well hang again; inline costs the
# event loop the export's time at each commit point, which is what the fork saved.
FORK_FAILURES_BEFORE_INLINE = 2

CommitFn = Callable[[dict[int, int]], Awaitable[object]]


class CheckpointStore:
    """The checkpoints of every partition: the topic's (``get``/``put``) and our own newest,
    with the slot each partition's next checkpoint goes to."""

    def __init__(
        self,
        get: Callable[[int, bytes], bytes | None],
        put: Callable[[int, bytes, bytes], None],
        counts: Counter[str],
    ) -> None:
        self.get = get
        self._put = put
        self.counts = counts
        self._local: dict[int, tuple[Checkpoint, int]] = {}  # our own latest checkpoints
        self._slots: dict[int, int | None] = {}  # the slot of each partition's last one

    def latest(self, partition: int) -> tuple[Checkpoint, int] | None:
        """The newest whole checkpoint of a partition: the store's or our own last one."""
        stored = decode(partition, lambda key: self.get(partition, key))
        local = self._local.get(partition)
        if local is not None and (stored is None or local[0].offset > stored[0].offset):
            stored = local
        return stored

    def opened(self, partition: int, slot: int | None) -> None:
        """The partition was opened from a checkpoint in ``slot`` (None: none)."""
        self._slots[partition] = slot

    def put(self, checkpoint: Checkpoint) -> None:
        partition = checkpoint.partition
        previous = self._slots.get(partition)
        for key, value in encode(checkpoint, previous):
            self._put(partition, key, value)
        slot = 0 if previous in (None, 1) else 1
        self._slots[partition] = slot
        self._local[partition] = (checkpoint, slot)
        self.counts["checkpoints"] += 1
        self.counts["checkpoint_bytes"] += len(checkpoint.engine_blob)


@dataclass(frozen=True)
class Captured:
    """One partition's part of a commit point."""

    state: PartitionState
    checkpoint_offset: int | None  # the engine's state is exported as of this offset (None: no)
    events: list[Any]
    upto: int  # highest offset of ``events`` (-1: none)
    segment: Segment | None = None  # the results dataset's rows of this commit point


class CommitProtocol:
    """Captures commit points and finishes them in the background (module docstring).

    ``partitions`` is the pipeline's live map of assigned partitions (a partition no longer
    in it, or there with another state, was revoked meanwhile); ``commit_offsets`` commits
    ``{partition: next offset}`` once the producer is flushed (None: acks only, as in tests);
    ``dataset``: the results dataset (None: off); ``fork``: export the engines' states in a
    forked child (``streams.export``), not on the event loop."""

    def __init__(
        self,
        partitions: Mapping[int, PartitionState],
        sink: InfluxSink,
        store: CheckpointStore,
        counts: Counter[str],
        *,
        dataset: DatasetSink | None = None,
        commit_offsets: CommitFn | None = None,
        fork: bool = True,
        export_timeout_s: float = 60.0,
    ) -> None:
        self.partitions = partitions
        self.fork = fork
        self.export_timeout_s = export_timeout_s
        self.fork_failures = 0  # forked exports failed in a row
        self.sink = sink
        self.store = store
        self.counts = counts
        self.dataset = dataset
        self.commit_offsets = commit_offsets
        self.committed: dict[int, int] = {}  # offsets this worker committed (next to read)
        self._in_flight: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    def check(self) -> None:
        """Re-raise, in the caller (the agent), an error of a commit point's background half."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def start(self) -> asyncio.Future[None] | None:
        """Capture a commit point now and finish it in the background.

        Synchronous: the caller holds the pipeline's lock, so the captured engines, the sink
        position and the events match. Returns None when a commit point is already in flight
        (it is retried at the next record or timer tick)."""
        self.check()
        if self._in_flight is not None:
            return None
        position = self.sink.position
        captured: list[Captured] = []
        engines = []
        for st in self.partitions.values():
            exported = None
            segment = (
                self.dataset.take(st.partition, st.checkpoint_offset + 1, st.last_offset)
                if self.dataset is not None
                else None
            )
            if st.dirty:
                engines.append((st.partition, st.engine))
                exported = st.checkpoint_offset = st.last_offset
                st.dirty = False
            # every pending record is at or below the captured offset now
            events, st.pending = st.pending, []
            upto, st.pending_upto = st.pending_upto, -1
            if exported is not None or events or segment is not None:
                captured.append(Captured(st, exported, events, upto, segment))
        # the engines as they are now (an immutable view), serialised off the event loop
        export = Export.start(engines, fork=self.fork, timeout_s=self.export_timeout_s)
        future = asyncio.ensure_future(self._finish(position, export, captured))
        self._in_flight = future
        return future

    async def _finish(self, position: int, export: Export, captured: list[Captured]) -> None:
        """The commit order (module docstring): the one place it is written."""
        try:
            await self.sink.flush_until(position)
            await self._write_segments([c.segment for c in captured if c.segment is not None])
            try:
                blobs = await export.result()
            except ExportFailed as failed:
                self._export_failed(failed, captured)
                return
            if export.forked:
                self.fork_failures = 0
            # no await until the commit: nothing interleaves (a revocation included)
            offsets: dict[int, int] = {}
            for c in captured:
                st = c.state
                if self.partitions.get(st.partition) is not st:
                    continue  # revoked meanwhile: the next owner replays from its checkpoint
                if c.checkpoint_offset is not None:
                    blob = blobs[st.partition]
                    self.store.put(Checkpoint(st.partition, c.checkpoint_offset, blob))
                if c.upto >= 0:
                    offsets[st.partition] = c.upto + 1
            # the producer (checkpoints, dead letters, incidents) is flushed first
            if self.commit_offsets is not None and offsets and await self.commit_offsets(offsets):
                self.committed.update(offsets)
            for c in captured:
                for event in c.events:
                    event.ack()
        except Exception as exc:  # re-raised in the agent by ``check()``
            log.exception("commit point failed")
            self._error = exc
        finally:
            self._in_flight = None

    def _export_failed(self, failed: ExportFailed, captured: list[Captured]) -> None:
        """A forked export failed or hung: this commit point writes no checkpoint, commits no
        offset and acks nothing (results and dataset segments written meanwhile are ahead of
        the checkpoint, as a crash here would leave them: a replay overwrites them). Each
        captured partition stays dirty with its events pending, so the next commit point
        checkpoints and commits them; after ``FORK_FAILURES_BEFORE_INLINE`` failures in a
        row, exports are taken inline."""
        self.counts["checkpoint_export_failures"] += 1
        self.fork_failures += 1
        inline = self.fork and self.fork_failures >= FORK_FAILURES_BEFORE_INLINE
        log.error(
            "%s; no offset committed, retried at the next commit point%s",
            failed,
            f" with the export inline (forked exports failed {self.fork_failures} times in a row)"
            if inline
            else "",
        )
        if inline:
            self.fork = False
        for c in captured:
            st = c.state
            if self.partitions.get(st.partition) is not st:
                continue  # revoked meanwhile: the next owner replays from its checkpoint
            if c.checkpoint_offset is not None:
                st.dirty = True
            st.pending[:0] = c.events
            st.pending_upto = max(st.pending_upto, c.upto)

    async def _write_segments(self, segments: list[Segment]) -> None:
        """The results dataset's segments of this commit point, before its checkpoints (a
        crash in between replays the same records: same segment names, or overlapping ones
        the reader de-duplicates). A failed write is retried, like InfluxDB's: no offset
        moves meanwhile."""
        dataset = self.dataset
        if dataset is None or not segments:
            return
        delay = 0.5
        for segment in segments:
            while True:
                try:
                    await asyncio.to_thread(dataset.write, segment)
                    break
                except OSError as exc:
                    log.error(
                        "results dataset: writing %s failed (%s); retrying", dataset.root, exc
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        self.counts["dataset_segments"] += len(segments)

    async def wait(self) -> None:
        """Wait for the commit point in flight, if any."""
        future = self._in_flight
        if future is not None:
            await asyncio.wait([future])  # neither raises its error nor cancels it
        self.check()

    def forget(self, partition: int) -> None:
        self.committed.pop(partition, None)
