"""Telemetry agent: decode → core → write, with offsets committed only behind written results.

One ``Engine`` per assigned partition of the telemetry topic (its households are those whose
feeder/station key hashes there). Per record: parse the raw bytes with the contract's
``WIRE_ADAPTER``, push into the engine, route rejects to the dead-letter topic. Results go to
the InfluxDB sink's buffer, which a background task writes as soon as the previous write is
done (writes overlap processing). A *commit point* (every ``checkpoint_interval_s``, and from
the timer when the stream is idle) is captured at once, under the lock: the sink's line
position, each dirty partition's engine state exported with the offset it includes, and the
events to ack. It then finishes in the background while the agent goes on, in this order:

1. ``await sink.flush_until(position)`` — every line up to the capture is acknowledged;
2. send each captured checkpoint to the worker's checkpoint topic, explicitly on its
   partition (skipped for a partition revoked meanwhile: the new owner replays);
3. ``commit_offsets`` — the producer is flushed, then the offsets the checkpoints cover are
   committed (by us, not by Faust's ack bookkeeping, which creeps after a restore);
4. ``event.ack()`` every record folded into that checkpoint.

One commit point is in flight at a time, so checkpoint slots alternate in order.

So a committed offset never runs ahead of a durable checkpoint, and a checkpoint never runs
ahead of written results. On assignment the worker restores each partition's checkpoint
(``check_restorable`` says which, or refuses when the group committed beyond every
checkpoint), acks and skips records at or below its offset and replays the rest:
deterministic ids and timestamps make the rewrites overwrite, not duplicate.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from heatwatch.contract.incidents import Incident
from heatwatch.contract.keys import registry_by_partition
from heatwatch.contract.registry import Household
from heatwatch.contract.rollups import HouseholdDay
from streams.checkpoint import FORMAT, Checkpoint, decode, encode, export_engine, import_engine
from streams.core.context import Metric
from streams.core.engine import Engine, SnapshotKey, occurring_keys
from streams.core.incidents import Change
from streams.core.settings import DetectionSettings
from streams.ingest import Tally, dead_letter_fields, drain_rejections, ingest_record
from streams.settings import WorkerSettings
from streams.sinks.dataset import DatasetSink, Segment
from streams.sinks.influx import InfluxSink
from streams.sinks.points import (
    active_incidents_line,
    household_day_line,
    incident_line,
    metric_line,
    worker_line,
)

log = logging.getLogger(__name__)

# Aggregates over a county: several partitions' engines each hold part of a county, so their
# points carry a ``partition`` tag to stay separate series (dashboards sum after ``last()``).
COUNTY_AGGREGATES = frozenset({"active_incidents", "gas_quota"})

SendFn = Callable[[bytes | None, bytes], None]


CommitFn = Callable[[dict[int, int]], Awaitable[object]]


class CheckpointBehindCommit(RuntimeError):
    """The group's committed offset is ahead of every checkpoint found: starting empty there
    would silently lose the state of everything before it."""


class PartitionOutput:
    """``EngineOutput`` for one partition: line protocol to the sink, incidents to Kafka.

    ``watermark`` gives the event time an incident changed at (an open incident's duration so
    far); the pipeline wires it to its engine's ``released_until``."""

    def __init__(
        self,
        partition: int,
        sink: InfluxSink,
        send_incident: SendFn | None = None,
        watermark: Callable[[], int] | None = None,
        dataset: DatasetSink | None = None,
    ) -> None:
        self.partition = partition
        self.sink = sink
        self.send_incident = send_incident
        self.watermark = watermark
        self.dataset = dataset
        # the offset of the record being processed (the dataset's revision order)
        self.offset: Callable[[], int] = lambda: -1
        self._extra = {"partition": str(partition)}

    def incident(self, change: Change, incident: Incident) -> None:
        now = self.watermark() if self.watermark is not None else None
        self.sink.add(incident_line(change, incident, now))
        if self.dataset is not None:
            self.dataset.add_incident(self.partition, self.offset(), change.value, incident)
        if self.send_incident is not None:
            payload = incident.model_dump(mode="json")
            payload["change"] = change.value
            self.send_incident(incident.incident_id.encode(), orjson.dumps(payload))

    def rollups(self, days: list[HouseholdDay]) -> None:
        self.sink.extend([household_day_line(d) for d in days])
        if self.dataset is not None:
            self.dataset.add_rollups(self.partition, self.offset(), days)

    def metric(self, metric: Metric) -> None:
        extra = self._extra if metric.measurement in COUNTY_AGGREGATES else None
        self.sink.add(metric_line(metric, extra))


@dataclass
class PartitionState:
    partition: int
    engine: Engine
    output: PartitionOutput
    checkpoint_offset: int = -1  # records at or below are folded into the restored state
    last_offset: int = -1  # last record seen
    slot: int | None = None
    dirty: bool = False
    pending: list[Any] = field(default_factory=list)  # events awaiting ack
    pending_upto: int = -1  # highest offset among them
    readings: int = 0
    dead_letters: int = 0
    last_event_wall: float = field(default_factory=time.monotonic)
    next_snapshot: int = 0
    next_zeros: int = 0  # event time from which the next snapshot writes every zero row
    nonzero: set[SnapshotKey] | None = None  # non-zero at the last snapshot (None: unknown)
    idle_released: bool = False
    answered_since: float | None = None  # the broker has answered its fetches since then
    last_answer: float | None = None  # the latest fetch answer seen
    # after a stall: no idle release before this (``clock``), whatever records come meanwhile
    hold_until: float = 0.0


# The broker "answers" a partition while fetch responses for it keep coming (the consumer
# long-polls: an idle partition still gets an empty answer about every half second).
ANSWER_GAP_S = 2.0


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
        """``highwater(p)``: the log end the consumer last saw; ``fetched_at(p)``: when (on
        ``clock``) the broker last answered a fetch of ``p`` (None: unknown; omitted: always
        now); ``broker_connected()``: whether the consumer holds a live connection to the
        broker (None: unknown; see ``_broker_down``); ``commit_offsets``: commits ``{partition: next offset}`` once the producer is
        flushed (omitted: acks only, as in tests); ``wall_clock``: epoch seconds, which no
        reading's stamp may pass by more than the skew bound (docs/event-time.md);
        ``dataset``: the results dataset, written at each commit point before its
        checkpoints (None: off)."""
        self.registry = registry
        self.settings = settings
        self.sink = sink
        self.config = config
        self.worker_name = config.name or f"{socket.gethostname()}-{os.getpid()}"
        self.topic = topic
        self.checkpoint_get = checkpoint_get
        self.checkpoint_put = checkpoint_put
        self.send_dead_letter = send_dead_letter
        self.send_incident = send_incident
        self.highwater = highwater
        self.fetched_at = fetched_at
        self.broker_connected = broker_connected
        self.commit_offsets = commit_offsets
        self.clock = clock
        self.wall_clock = wall_clock
        self.dataset = dataset
        self.lock = asyncio.Lock()
        self.partitions: dict[int, PartitionState] = {}
        self._registry_split: dict[int, list[Household]] | None = None
        self._partition_count = 0
        self._local: dict[int, tuple[Checkpoint, int]] = {}  # our own latest checkpoints
        self.next_commit = clock() + config.checkpoint_interval_s
        self.next_heartbeat = clock() + config.heartbeat_interval_s
        self.counts: Counter[str] = Counter()
        if config.tune_gc:
            gc.set_threshold(200_000, 50, 1_000)
        self._committing: asyncio.Future[None] | None = None
        self._commit_error: BaseException | None = None
        self.committed: dict[int, int] = {}  # offsets this worker committed (next to read)
        self._stalled_since: float | None = None  # all fetch answers stopped then
        self._answered_once = False
        # fetch-answer history of partitions revoked meanwhile: (last answer, hold until)
        self._answers_before: dict[int, tuple[float | None, float]] = {}
        self._held_for = 0.0  # the latest stall hold, for the "outage ended" log line
        self._last_watch: float | None = None  # the previous broker watch (a timer tick)
        self._starved_at = float("-inf")  # the timer last came ANSWER_GAP_S late then
        self._quiet_logged = False  # "answers stopped, broker connected" said this episode

    # --- partitions ------------------------------------------------------------------------
    def set_partition_count(self, n: int) -> None:
        if n != self._partition_count:
            self._partition_count = n
            self._registry_split = registry_by_partition(self.registry, n)

    def latest_checkpoint(self, partition: int) -> tuple[Checkpoint, int] | None:
        """The newest whole checkpoint of a partition: the store's or our own last one."""
        stored = decode(partition, lambda key: self.checkpoint_get(partition, key))
        local = self._local.get(partition)
        if local is not None and (stored is None or local[0].offset > stored[0].offset):
            stored = local
        return stored

    def check_restorable(self, partition: int, committed: int | None) -> str:
        """On assignment: the one log line saying what will be restored; raises
        ``CheckpointBehindCommit`` when the group's committed offset (next to read) is ahead
        of every checkpoint found (restarting empty there would lose state silently)."""
        stored = self.latest_checkpoint(partition)
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

    def open_partition(self, partition: int) -> PartitionState:
        """The partition's engine, restored from its newest checkpoint (or empty)."""
        if self._registry_split is None:
            raise RuntimeError("set_partition_count() first")
        households = self._registry_split[partition]
        output = PartitionOutput(partition, self.sink, self.send_incident, dataset=self.dataset)
        stored = self.latest_checkpoint(partition)
        if stored is not None:
            checkpoint, slot = stored
            engine = import_engine(checkpoint.engine_blob, households, self.settings, output)
            offset = checkpoint.offset
            log.debug("partition %d: opened from checkpoint at offset %d", partition, offset)
        else:
            engine = Engine(households, self.settings, output)
            offset, slot = -1, None
        output.watermark = lambda: engine.released_until
        engine.wall_clock = self.wall_clock
        state = PartitionState(partition, engine, output, offset, offset, slot)
        output.offset = lambda: state.last_offset
        state.last_answer, state.hold_until = self._answers_before.pop(partition, (None, 0.0))
        state.next_snapshot = self._next_snapshot_after(engine.released_until)
        self.partitions[partition] = state
        self._refreeze()
        return state

    def _refreeze(self) -> None:
        """Move live objects (the engines) out of the collector's scans; a revoked engine's
        cycles are collected first (frozen objects are never collected)."""
        if self.config.tune_gc:
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget revoked partitions: unacked records are replayed by the next owner."""
        gone = False
        for p in partitions:
            self.committed.pop(p, None)
            st = self.partitions.get(p)
            if st is not None:
                # a rebalance in a broker outage must not forget the outage (see quiet())
                self._answers_before[p] = (st.last_answer, st.hold_until)
            if self.dataset is not None:
                self.dataset.forget(p)
            if self.partitions.pop(p, None) is not None:
                log.debug("partition %d revoked", p)
                gone = True
        if gone:
            self._refreeze()

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
        st = self.partitions.get(partition) or self.open_partition(partition)
        st.pending.append(event)
        st.pending_upto = max(st.pending_upto, offset)
        st.last_event_wall = self.clock()
        if offset <= st.checkpoint_offset:
            self.counts["skipped_replayed"] += 1
            return  # already folded into the restored state; acked with the next checkpoint
        st.last_offset = offset
        st.dirty = True
        st.idle_released = False
        raw = value if isinstance(value, bytes | bytearray) else bytes(value or b"")
        ctx = _Origin(partition, offset, key, _line_no(headers))
        self._decode_and_push(st, bytes(raw), ctx)
        engine = st.engine
        if engine.released_until >= st.next_snapshot:
            self._snapshot(st)

    def _decode_and_push(self, st: PartitionState, raw: bytes, origin: _Origin) -> None:
        """The one ingest path (``streams.ingest``), as the embedded runner uses it. The
        origin travels as plain data (it may sit in the engine's buffer, in checkpoints)."""
        tally = Tally()
        where = (origin.partition, origin.offset, origin.key, origin.line_no)

        def dead(at: Any, index: int | None, item: bytes, reason: str) -> None:
            self._dead(st, _Origin(*at) if at else origin, item, reason, index)

        ingest_record(st.engine, raw, where, dead, tally)
        st.readings += tally.readings

    def _drain(self, st: PartitionState) -> None:
        """Dead-letter what the engine refused at its end of input (held readings)."""

        def dead(at: Any, index: int | None, item: bytes, reason: str) -> None:
            origin = _Origin(*at) if at else _Origin(st.partition, st.last_offset, None, None)
            self._dead(st, origin, item, reason, index)

        drain_rejections(st.engine, dead)

    def _dead(
        self, st: PartitionState, origin: _Origin, raw: bytes, reason: str, index: int | None = None
    ) -> None:
        st.dead_letters += 1
        self.counts["dead_letters"] += 1
        payload = {
            "line_no": origin.line_no,
            "raw": raw.decode("utf-8", "replace"),
            **dead_letter_fields(reason),  # code, reason, reason_zh: as dead_letters.jsonl
            "partition": origin.partition,
            "offset": origin.offset,
            "index": index,
        }
        self.send_dead_letter(origin.key, orjson.dumps(payload))

    # --- timers ----------------------------------------------------------------------------
    def _next_snapshot_after(self, ts: int) -> int:
        every = self.config.snapshot_every_s
        return (ts // every + 1) * every if ts else 0

    def _snapshot(self, st: PartitionState) -> None:
        """``active_incidents`` of this partition's counties at the snapshot time.

        Same rows as ``Engine.snapshot`` but fewer: every non-zero row, and the zero row of a
        combination that was non-zero at the previous snapshot (so no live series goes silent
        and a resolved one reads zero at once); all-zero rows of the combinations that occur
        (``occurring_keys``) only once per ``snapshot_zeros_every_s`` of event time.
        After a restart the first snapshot writes every row (the previous set is unknown):
        values are deterministic, so the extra rows overwrite with equal values.
        """
        engine = st.engine
        now = engine.released_until
        if not now:
            return
        every = self.config.snapshot_every_s
        at = now // every * every
        counts = engine.active_counts()
        nonzero = set(counts)
        zeros_every = self.config.snapshot_zeros_every_s
        if st.nonzero is None or zeros_every <= 0 or at >= st.next_zeros:
            for key in occurring_keys(engine.counties):
                counts.setdefault(key, [0, 0, 0, 0])
            if zeros_every > 0:
                st.next_zeros = (at // zeros_every + 1) * zeros_every
        else:
            for key in st.nonzero - nonzero:
                counts[key] = [0, 0, 0, 0]
        partition = str(st.partition)
        lines = [
            active_incidents_line(county, kind, sev, partition, c, h, p, top, at, domain)
            for (county, kind, sev, domain), (c, h, p, top) in sorted(counts.items())
        ]
        self.sink.extend(lines)
        self.counts["snapshot_rows"] += len(lines)
        st.nonzero = nonzero
        st.next_snapshot = self._next_snapshot_after(now)

    def _track_answers(self, st: PartitionState, now: float) -> None:
        fetched = self.fetched_at(st.partition) if self.fetched_at is not None else now
        if fetched is None or now - fetched > ANSWER_GAP_S:
            st.answered_since = None  # stalled (or not fetched yet)
            return
        if st.answered_since is None:
            st.answered_since = fetched
            stalled = st.last_answer is not None and fetched - st.last_answer > ANSWER_GAP_S
            if stalled and self._stalled_since is not None and st.last_answer is not None:
                # A stall of D s leaves producers' backlogs D s old and the producers in their
                # reconnect backoff. The records that come first are the log's unconsumed
                # tail (written before the stall), not that backlog: no record ends the hold.
                # Only after a real outage (``_broker_down``): a gap because our consumer was
                # not scheduled or not fetching leaves the producers connected, with no
                # backlog to wait for (a 40 s hold after such gaps delayed results).
                hold = self.stall_hold(fetched - st.last_answer)
                st.hold_until = max(st.hold_until, fetched + hold)
                self._held_for = max(self._held_for, hold)
        st.last_answer = fetched

    def stall_hold(self, stall_s: float) -> float:
        """How long after a stall of ``stall_s`` the partition is not released as idle
        (``WorkerSettings.stall_hold_factor`` / ``stall_hold_max_s`` say why)."""
        cfg = self.config
        return max(cfg.idle_release_s, min(cfg.stall_hold_factor * stall_s, cfg.stall_hold_max_s))

    def quiet(self, st: PartitionState) -> bool:
        """Caught up with the log end and quiet: for ``idle_release_s`` the broker has kept
        answering our fetches (no gap over ``ANSWER_GAP_S``) and no record came. A broker or
        network stall is not quiet, nor is a backlog (lag above zero), nor is anything before
        the stall's hold has run out (``stall_hold``), whatever records came since: the
        producers' backlog is on its way while they reconnect."""
        idle = self.config.idle_release_s
        now = self.clock()
        if now - st.last_event_wall < idle or now < st.hold_until:
            return False
        high = self.highwater(st.partition) if self.highwater is not None else None
        if high is None or st.last_offset + 1 < high:
            return False  # log end unknown, or records on their way
        since = st.answered_since
        return since is not None and now - max(since, st.last_event_wall) >= idle

    def _broker_down(self, now: float) -> bool:
        """Fetch answers stopped: is it the broker? Our own fetch answers cannot tell: on a
        busy machine the consumer's thread is not scheduled, or it stops fetching while
        fetched records wait for the agent, and no answer comes for tens of seconds with the
        broker up (7 of 13 loaded runs logged false outages). So: the broker is down when the
        consumer holds no live connection to it (a stopped broker closes them; a frozen one
        at the client's request timeout). Without that view (``broker_connected`` omitted or
        None), when our own timer has kept time for the last ``2 × ANSWER_GAP_S``: a process
        that was not scheduled saw its fetch answers stop for the same reason."""
        connected = self.broker_connected() if self.broker_connected is not None else None
        if connected is not None:
            return not connected
        return now - self._starved_at > 2 * ANSWER_GAP_S

    def _watch_broker(self) -> None:
        """Track fetch answers per partition; one log line when they all stop and the broker
        is down (``_broker_down``: an outage of the broker or the network) and one when they
        are back, with the duration."""
        now = self.clock()
        if self._last_watch is not None:
            late = now - self._last_watch - self.config.flush_interval_s
            if late > ANSWER_GAP_S:
                self._starved_at = now  # this process was not scheduled for ``late`` s
        self._last_watch = now
        for st in self.partitions.values():
            self._track_answers(st, now)
        if self.fetched_at is None or not self.partitions:
            return
        answered = any(st.answered_since is not None for st in self.partitions.values())
        if answered:
            self._quiet_logged = False
        elif self._stalled_since is None and self._answered_once and not self._broker_down(now):
            if not self._quiet_logged:
                log.info(
                    "Kafka: no fetch answer for %d partitions for %.0f s, but the broker is "
                    "connected: not an outage (this process busy or fetching paused)",
                    len(self.partitions),
                    ANSWER_GAP_S,
                )
                self._quiet_logged = True
            return
        if answered and self._stalled_since is not None:
            log.warning(
                "Kafka: fetch answers are back after %.1f s without (outage ended); no idle "
                "release for %.1f s (producers reconnect with backoff, their backlog follows)",
                now - self._stalled_since,
                self._held_for,
            )
            self._stalled_since = None
            self._held_for = 0.0
        elif not answered and self._stalled_since is None and self._answered_once:
            self._stalled_since = now
            self._held_for = 0.0  # holds set by a partition's own gaps before do not count
            log.warning(
                "Kafka: no fetch answer for %d partitions for %.0f s: outage started "
                "(processing waits; nothing is released as idle)",
                len(self.partitions),
                ANSWER_GAP_S,
            )
        self._answered_once = self._answered_once or answered

    def _release_idle(self) -> None:
        self._watch_broker()
        if self.config.idle_release_s <= 0:
            return
        for st in self.partitions.values():
            if st.idle_released or not self.quiet(st):
                continue
            if st.engine.buffered_steps:
                st.engine.flush()
                self._drain(st)
                self._snapshot(st)
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
        return self._committing is None and self.clock() >= self.next_commit

    def check(self) -> None:
        """Re-raise, in the caller (the agent), an error of a commit point's background half."""
        if self._commit_error is not None:
            error, self._commit_error = self._commit_error, None
            raise error

    def start_commit(self) -> asyncio.Future[None] | None:
        """Capture a commit point now and finish it in the background (module docstring).

        Synchronous: the caller holds ``lock``, so the captured engines, the sink position and
        the events match. Returns None when a commit point is already in flight (it will be
        retried at the next record or timer tick)."""
        self.check()
        if self._committing is not None:
            return None
        position = self.sink.position
        captured: list[Captured] = []
        for st in self.partitions.values():
            checkpoint = None
            segment = (
                self.dataset.take(st.partition, st.checkpoint_offset + 1, st.last_offset)
                if self.dataset is not None
                else None
            )
            if st.dirty:
                blob = export_engine(st.engine)
                checkpoint = Checkpoint(st.partition, st.last_offset, blob)
                st.checkpoint_offset = st.last_offset
                st.dirty = False
            # every pending record is at or below the captured offset now
            events, st.pending = st.pending, []
            upto, st.pending_upto = st.pending_upto, -1
            if checkpoint is not None or events or segment is not None:
                captured.append(Captured(st, checkpoint, events, upto, segment))
        self.next_commit = self.clock() + self.config.checkpoint_interval_s
        future = asyncio.ensure_future(self._finish_commit(position, captured))
        self._committing = future
        return future

    async def _finish_commit(self, position: int, captured: list[Captured]) -> None:
        try:
            await self.sink.flush_until(position)
            await self._write_segments([c.segment for c in captured if c.segment is not None])
            # no await until the commit: nothing interleaves (a revocation included)
            offsets: dict[int, int] = {}
            for c in captured:
                st = c.state
                if self.partitions.get(st.partition) is not st:
                    continue  # revoked meanwhile: the next owner replays from its checkpoint
                if c.checkpoint is not None:
                    self._put_checkpoint(st, c.checkpoint)
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
            self._commit_error = exc
        finally:
            self._committing = None

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

    def _put_checkpoint(self, st: PartitionState, checkpoint: Checkpoint) -> None:
        for key, value in encode(checkpoint, st.slot):
            self.checkpoint_put(st.partition, key, value)
        st.slot = 0 if st.slot in (None, 1) else 1
        self._local[st.partition] = (checkpoint, st.slot)
        self.counts["checkpoints"] += 1
        self.counts["checkpoint_bytes"] += len(checkpoint.engine_blob)

    async def wait_commit(self) -> None:
        """Wait for the commit point in flight, if any."""
        future = self._committing
        if future is not None:
            await asyncio.wait([future])  # neither raises its error nor cancels it
        self.check()

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
        if self._committing is None and (
            self.due() or any(st.idle_released and st.dirty for st in self.partitions.values())
        ):
            self.start_commit()
        if wait:
            await self.wait_commit()

    def heartbeat(self, now_s: int) -> None:
        for st in self.partitions.values():
            high = self.highwater(st.partition) if self.highwater is not None else None
            lag = max(0, high - (st.last_offset + 1)) if high is not None else 0
            committed = self.committed.get(st.partition)
            self.sink.add(
                worker_line(
                    self.worker_name,
                    self.topic,
                    st.partition,
                    lag=lag,
                    watermark=st.engine.released_until,
                    readings=st.readings,
                    dead_letters=st.dead_letters,
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


@dataclass(frozen=True)
class Captured:
    """One partition's part of a commit point."""

    state: PartitionState
    checkpoint: Checkpoint | None
    events: list[Any]
    upto: int  # highest offset of ``events`` (-1: none)
    segment: Segment | None = None  # the results dataset's rows of this commit point


@dataclass(frozen=True)
class _Origin:
    partition: int
    offset: int
    key: bytes | None
    line_no: int | None


def _line_no(headers: Any) -> int | None:
    """The producer's ``line`` header (input line number), for dead-letter reports."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        if name == "line":
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None
