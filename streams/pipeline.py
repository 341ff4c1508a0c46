"""Telemetry agent: decode → core → write, with offsets committed only behind written results.

The coordinator of the worker's parts, each in its own module:

- ``streams.partitions`` — partition lifecycle: one ``Engine`` per assigned partition of the
  telemetry topic, restored from its newest checkpoint or new;
- ``streams.records`` — each record decoded through the one ingest path, dead letters out;
- ``streams.snapshot`` — the ``active_incidents`` snapshot as event time passes;
- ``streams.liveness`` — broker-stall watching: when a caught-up partition is quiet enough
  to release its reorder buffer;
- ``streams.commit`` — the commit protocol (flush results → results dataset → checkpoint →
  Kafka commit → ack), in one place.

Records come in batches (``handle_batch``: the Faust agent takes many records per iteration);
a batch is handled whole under ``lock``, and a commit point is captured only between batches,
so every record of a batch is folded into the engine before any checkpoint that covers its
offset (nothing is acked, and no offset committed, for a record not processed). On assignment
the worker restores each partition's checkpoint (``check_restorable`` says which, or refuses
when the group committed beyond every checkpoint), acks and skips records at or below its
offset and replays the rest: deterministic ids and timestamps make the rewrites overwrite.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from contract.registry import Household
from streams.checkpoint import FORMAT, Checkpoint
from streams.commit import CheckpointStore, CommitFn, CommitProtocol
from streams.core.settings import DetectionSettings
from streams.liveness import BrokerWatch
from streams.partitions import Partitions, PartitionState
from streams.records import SendFn
from streams.settings import WorkerSettings
from streams.sinks.dataset import DatasetSink
from streams.sinks.influx import InfluxSink
from streams.sinks.points import worker_line
from streams.snapshot import ActiveSnapshot

log = logging.getLogger(__name__)

# One record of a batch: (offset, key, value, headers, event to ack once committed).
Record = tuple[int, bytes | None, Any, Any, Any]


class CheckpointBehindCommit(RuntimeError):
    """The group's committed offset is ahead of every checkpoint found: starting empty there
    would silently lose the state of everything before it."""


class Pipeline:
    """All partitions of one worker; every entry point runs under ``lock`` (no interleaving
    between the agent and the timers, so a checkpoint always matches what was flushed)."""

    def __init__(
        self,
        registry: list[Household],
        settings: DetectionSettings,
        sink: InfluxSink,
        config: WorkerSettings,
        *,
        topic: str,
        checkpoint_get: Callable[[int, bytes], bytes | None],
        checkpoint_put: Callable[[int, bytes, bytes], None],
        send_dead_letter: SendFn,
        send_incident: SendFn | None = None,
        highwater: Callable[[int], int | None] | None = None,
        fetched_at: Callable[[int], float | None] | None = None,
        broker_connected: Callable[[], bool | None] | None = None,
        commit_offsets: CommitFn | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        dataset: DatasetSink | None = None,
    ) -> None:
        """The consumer's view (``highwater``, ``fetched_at``, ``broker_connected``) is
        ``streams.liveness.BrokerWatch``'s; ``commit_offsets`` and ``dataset`` are
        ``streams.commit.CommitProtocol``'s; ``wall_clock``: epoch seconds, which no
        reading's stamp may pass by more than the skew bound (docs/event-time.md)."""
        self.sink = sink
        self.config = config
        self.worker_name = config.name or f"{socket.gethostname()}-{os.getpid()}"
        self.topic = topic
        self.clock = clock
        self.lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()
        if config.tune_gc:
            gc.set_threshold(200_000, 50, 1_000)
        self.lifecycle = Partitions(
            registry,
            settings,
            sink,
            send_dead_letter=send_dead_letter,
            send_incident=send_incident,
            dataset=dataset,
            wall_clock=wall_clock,
            counts=self.counts,
            tune_gc=config.tune_gc,
        )
        self.partitions: dict[int, PartitionState] = self.lifecycle.states
        self.store = CheckpointStore(checkpoint_get, checkpoint_put, self.counts)
        self.commits = CommitProtocol(
            self.partitions,
            sink,
            self.store,
            self.counts,
            dataset=dataset,
            commit_offsets=commit_offsets,
            fork=config.checkpoint_fork,
            export_timeout_s=config.checkpoint_export_timeout_s,
        )
        self.watch = BrokerWatch(
            config,
            clock,
            highwater=highwater,
            fetched_at=fetched_at,
            broker_connected=broker_connected,
        )
        self.snapshots = ActiveSnapshot(sink, config, self.counts)
        self.dataset = dataset
        self.committed = self.commits.committed  # offsets this worker committed (next to read)
        self.next_commit = clock() + config.checkpoint_interval_s
        self.next_heartbeat = clock() + config.heartbeat_interval_s

    # --- partitions ------------------------------------------------------------------------
    def set_partition_count(self, n: int) -> None:
        self.lifecycle.set_count(n)

    def latest_checkpoint(self, partition: int) -> tuple[Checkpoint, int] | None:
        return self.store.latest(partition)

    def check_restorable(self, partition: int, committed: int | None) -> str:
        """On assignment: the one log line saying what will be restored; raises
        ``CheckpointBehindCommit`` when the group's committed offset (next to read) is ahead
        of every checkpoint found (restarting empty there would lose state silently)."""
        stored = self.store.latest(partition)
        covered = stored[0].offset + 1 if stored is not None else 0
        if committed is not None and committed > covered:
            raise CheckpointBehindCommit(
                f"partition {partition}: committed offset {committed} is ahead of "
                + (
                    f"the newest checkpoint (offset {stored[0].offset})"
                    if stored is not None
                    else "any checkpoint (none found)"
                )
                + "; refusing to start it empty. Restore the checkpoint topic, or reset the "
                "group's offsets to replay the partition."
            )
        if stored is None:
            return f"partition {partition}: no checkpoint, starting empty (committed {committed})"
        checkpoint = stored[0]
        return (
            f"partition {partition}: restoring checkpoint at offset {checkpoint.offset} "
            f"({len(checkpoint.engine_blob)} bytes, format {FORMAT}; committed {committed})"
        )

    def open_partition(self, partition: int, *, refreeze: bool = True) -> PartitionState:
        """The partition's engine, restored from its newest checkpoint (or empty);
        ``refreeze=False``: the caller freezes once after opening several."""
        stored = self.store.latest(partition)
        st = self.lifecycle.open(partition, stored, refreeze=refreeze)
        self.store.opened(partition, stored[1] if stored is not None else None)
        st.answers = self.watch.adopt(partition)
        st.snapshot = self.snapshots.start(st.engine)
        return st

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget revoked partitions: unacked records are replayed by the next owner."""
        gone = False
        for p in partitions:
            self.commits.forget(p)
            st = self.lifecycle.revoke(p)
            if self.dataset is not None:
                self.dataset.forget(p)
            if st is not None:
                self.watch.forget(p, st.answers)
                gone = True
        if gone:
            self.lifecycle.refreeze()

    # --- records ---------------------------------------------------------------------------
    def handle(
        self,
        partition: int,
        offset: int,
        key: bytes | None,
        value: Any,
        event: Any,
        headers: Any = None,
    ) -> None:
        """One record (``handle_batch`` of one)."""
        self.handle_batch(partition, [(offset, key, value, headers, event)])

    def handle_batch(self, partition: int, records: Sequence[Record]) -> None:
        """Records of one partition, in offset order, folded into its engine in one call.

        Records at or below the restored checkpoint's offset are skipped (acked with the next
        commit point). The engine call stops at each snapshot instant its event time reaches
        (``Engine.push_many``'s ``stop_at``) to write the snapshot there, as event time may
        cross several snapshot instants within a batch."""
        st = self.partitions.get(partition) or self.open_partition(partition)
        if not records:
            return
        pending = st.pending
        st.answers.last_record = self.clock()
        feed = st.feed
        add = feed.add
        covered = st.checkpoint_offset
        skipped = 0
        upto = st.pending_upto
        for offset, key, value, headers, event in records:
            pending.append(event)
            if offset > upto:
                upto = offset
            if offset <= covered:
                skipped += 1
                continue  # already folded into the restored state
            st.last_offset = offset
            add(offset, key, value, headers)
        st.pending_upto = upto
        if skipped:
            self.counts["skipped_replayed"] += skipped
        if skipped == len(records):
            return
        st.dirty = True
        st.idle_released = False
        engine, snap = st.engine, st.snapshot
        try:
            at, end = 0, feed.added
            while True:
                at = feed.push_added(at, snap.next_at)
                if engine.released_until >= snap.next_at:
                    self.snapshots.write(partition, engine, snap)
                if at >= end:
                    break
        finally:
            feed.clear()

    # --- timers ----------------------------------------------------------------------------
    def _release_idle(self) -> None:
        self.watch.watch((p, st.answers) for p, st in self.partitions.items())
        if self.config.idle_release_s <= 0:
            return
        for st in self.partitions.values():
            if st.idle_released or not self.watch.quiet(st.partition, st.answers, st.last_offset):
                continue
            if st.engine.buffered_steps:
                st.engine.flush()
                st.feed.drain(st.last_offset)
                self.snapshots.write(st.partition, st.engine, st.snapshot)
                st.dirty = True
                log.info(
                    "partition %d: caught up at offset %d and quiet for %.0f s: reorder buffer "
                    "released up to event time %d",
                    st.partition,
                    st.last_offset,
                    self.config.idle_release_s,
                    st.engine.released_until,
                )
            st.idle_released = True

    def due(self) -> bool:
        """A commit point is due and none is in flight."""
        return not self.commits.in_flight and self.clock() >= self.next_commit

    def check(self) -> None:
        """Re-raise, in the caller (the agent), an error of a commit point's background half."""
        self.commits.check()

    def start_commit(self) -> asyncio.Future[None] | None:
        """Capture a commit point now and finish it in the background (``streams.commit``).
        The caller holds ``lock``; None when one is already in flight."""
        future = self.commits.start()
        if future is not None:
            self.next_commit = self.clock() + self.config.checkpoint_interval_s
        return future

    async def wait_commit(self) -> None:
        """Wait for the commit point in flight, if any."""
        await self.commits.wait()

    async def commit_point(self) -> None:
        """Flush results, checkpoint dirty partitions, ack what the checkpoints cover; returns
        when done (tests; the worker uses ``start_commit``)."""
        await self.wait_commit()
        self.start_commit()
        await self.wait_commit()

    async def tick(self, now_wall_s: int | None = None, *, wait: bool = True) -> None:
        """Timer: idle release, heartbeat, and a commit point when due or idle.
        ``wait=False`` (the worker) leaves the commit point to finish in the background."""
        self._release_idle()
        if self.clock() >= self.next_heartbeat:
            self.heartbeat(now_wall_s or int(time.time()))
        if not self.commits.in_flight and (
            self.due() or any(st.idle_released and st.dirty for st in self.partitions.values())
        ):
            self.start_commit()
        if wait:
            await self.wait_commit()

    def heartbeat(self, now_s: int) -> None:
        for st in self.partitions.values():
            high = self.watch.high(st.partition)
            lag = max(0, high - (st.last_offset + 1)) if high is not None else 0
            committed = self.committed.get(st.partition)
            self.sink.add(
                worker_line(
                    self.worker_name,
                    self.topic,
                    st.partition,
                    lag=lag,
                    watermark=st.engine.released_until,
                    readings=st.feed.readings,
                    dead_letters=st.feed.dead_letters,
                    last_write=self.sink.stats.last_write_s,
                    now_s=now_s,
                    committed=committed,
                    committed_lag=(
                        max(0, high - committed)
                        if high is not None and committed is not None
                        else None
                    ),
                )
            )
        self.next_heartbeat = self.clock() + self.config.heartbeat_interval_s
