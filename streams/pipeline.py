"""Telemetry agent: decode → core → write, with offsets committed only behind written results.

One ``Engine`` per assigned partition of the telemetry topic (its households are those whose
feeder/station key hashes there). Per record: parse the raw bytes with the contract's
``WIRE_ADAPTER``, push into the engine, route rejects to the dead-letter topic. Results go to
the InfluxDB sink's buffer, which a background task writes as soon as the previous write is
done (writes overlap processing). A *commit point* (every ``checkpoint_interval_s``, and from
the timer when the stream is idle) is captured at once, under the lock: the sink's line
position, each dirty partition's engine pickled with the offset it includes, and the events
to ack. It then finishes in the background while the agent goes on, in this order:

1. ``await sink.flush_until(position)`` — every line up to the capture is acknowledged;
2. write each captured checkpoint to the checkpoint table's changelog, explicitly on its
   partition (skipped for a partition revoked meanwhile: the new owner replays);
3. ``event.ack()`` every record folded into that checkpoint.

One commit point is in flight at a time, so checkpoint slots alternate in order.

Faust flushes its producer (changelog, dead letters, incidents) before it commits offsets,
so a committed offset never runs ahead of a durable checkpoint, and a checkpoint never runs
ahead of written results. After a crash or rebalance the new owner restores the checkpoint,
acks and skips records at or below its offset and replays the rest: deterministic ids and
timestamps make the rewrites overwrite, not duplicate.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from heatwatch.contract.incidents import Incident, IncidentKind, Severity
from heatwatch.contract.keys import registry_by_partition
from heatwatch.contract.registry import Household
from heatwatch.contract.rollups import HouseholdDay
from streams.checkpoint import Checkpoint, decode, encode, export_engine, import_engine
from streams.core.context import Metric
from streams.core.engine import Engine
from streams.core.incidents import Change
from streams.core.settings import DetectionSettings
from streams.ingest import Tally, drain_rejections, ingest_record
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

# The severities each incident kind is opened with (streams/core/outages.py, storage.py,
# gas.py). Periodic zero rows of ``active_incidents`` cover these combinations only; a
# combination outside this table still gets its rows while it is non-zero (and its zero row
# when it drops back), it just gets no periodic zeros.
OCCURRING_SEVERITIES: dict[str, tuple[str, ...]] = {
    IncidentKind.HOUSEHOLD_OUTAGE.value: (Severity.WARNING.value, Severity.CRITICAL.value),
    IncidentKind.COMM_LOSS.value: (Severity.INFO.value,),
    IncidentKind.FEEDER_OUTAGE.value: (Severity.CRITICAL.value,),
    IncidentKind.PEAK_CHARGING.value: (Severity.INFO.value,),
    IncidentKind.FEEDER_OVERLOAD.value: (Severity.WARNING.value, Severity.CRITICAL.value),
    IncidentKind.GAS_LOW_PRESSURE.value: (Severity.WARNING.value, Severity.CRITICAL.value),
    IncidentKind.GAS_SUPPLY_SHORTFALL.value: (Severity.CRITICAL.value,),
    IncidentKind.GAS_QUOTA_RISK.value: (Severity.WARNING.value,),
}
SnapshotKey = tuple[str, str, str]  # county, kind, severity


@dataclass
class PipelineConfig:
    worker: str = field(default_factory=socket.gethostname)
    topic: str = "heatwatch.telemetry"
    checkpoint_interval_s: float = 2.0
    snapshot_every_s: int = 60  # event time
    # ``active_incidents`` rows that are zero and were zero at the previous snapshot are
    # written only at the first snapshot of each such event-time period (0 = every snapshot).
    snapshot_zeros_every_s: int = 3600
    heartbeat_interval_s: float = 10.0
    # Release the reorder buffer of a partition that is caught up and quiet this long (wall
    # clock). 0 = never (live data keeps arriving; late readings stay welcome). Replays and
    # tests set it so the tail of a finite input is processed and committed.
    idle_release_s: float = 0.0
    # Keep the cyclic GC off the long-lived engines (as the embedded runner does): freeze
    # them after a partition opens, raise the gen-0 threshold. The worker sets it; measured
    # ~1.5x the readings/s of the default GC with 2,500 households per engine. Process-wide,
    # so off by default (tests).
    tune_gc: bool = False


class PartitionOutput:
    """``EngineOutput`` for one partition: line protocol to the sink, incidents to Kafka."""

    def __init__(
        self, partition: int, sink: InfluxSink, send_incident: SendFn | None = None
    ) -> None:
        self.partition = partition
        self.sink = sink
        self.send_incident = send_incident
        self.engine: Engine | None = None
        self._extra = {"partition": str(partition)}

    def incident(self, change: Change, incident: Incident) -> None:
        now = self.engine.released_until if self.engine is not None else None
        self.sink.add(incident_line(change, incident, now))
        if self.send_incident is not None:
            payload = incident.model_dump(mode="json")
            payload["change"] = change.value
            self.send_incident(incident.incident_id.encode(), orjson.dumps(payload))

    def rollups(self, days: list[HouseholdDay]) -> None:
        self.sink.extend([household_day_line(d) for d in days])

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
    readings: int = 0
    dead_letters: int = 0
    last_event_wall: float = field(default_factory=time.monotonic)
    next_snapshot: int = 0
    next_zeros: int = 0  # event time from which the next snapshot writes every zero row
    nonzero: set[SnapshotKey] | None = None  # non-zero at the last snapshot (None: unknown)
    idle_released: bool = False


class Pipeline:
    """All partitions of one worker; every entry point runs under ``lock`` (no interleaving
    between the agent and the timers, so a checkpoint always matches what was flushed)."""

    def __init__(
        self,
        registry: list[Household],
        settings: DetectionSettings,
        sink: InfluxSink,
        config: PipelineConfig,
        *,
        table_get: Callable[[int, bytes], bytes | None],
        table_put: Callable[[int, bytes, bytes], None],
        send_dead_letter: SendFn,
        send_incident: SendFn | None = None,
        highwater: Callable[[int], int | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.sink = sink
        self.config = config
        self.table_get = table_get
        self.table_put = table_put
        self.send_dead_letter = send_dead_letter
        self.send_incident = send_incident
        self.highwater = highwater
        self.clock = clock
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

    # --- partitions ------------------------------------------------------------------------
    def set_partition_count(self, n: int) -> None:
        if n != self._partition_count:
            self._partition_count = n
            self._registry_split = registry_by_partition(self.registry, n)

    def _open(self, partition: int) -> PartitionState:
        if self._registry_split is None:
            raise RuntimeError("set_partition_count() first")
        output = PartitionOutput(partition, self.sink, self.send_incident)
        stored = decode(partition, lambda key: self.table_get(partition, key))
        local = self._local.get(partition)
        if local is not None and (stored is None or local[0].offset > stored[0].offset):
            stored = local
        if stored is not None:
            checkpoint, slot = stored
            engine = import_engine(checkpoint.engine_blob, output)
            offset = checkpoint.offset
            log.info("partition %d: restored checkpoint at offset %d", partition, offset)
        else:
            engine = Engine(self._registry_split[partition], self.settings, output)
            offset, slot = -1, None
        output.engine = engine
        state = PartitionState(partition, engine, output, offset, offset, slot)
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
            if self.partitions.pop(p, None) is not None:
                log.info("partition %d revoked", p)
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
        st = self.partitions.get(partition) or self._open(partition)
        st.pending.append(event)
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
            "reason": reason,
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
        (``OCCURRING_SEVERITIES``) only once per ``snapshot_zeros_every_s`` of event time.
        After a restart the first snapshot writes every row (the previous set is unknown):
        values are deterministic, so the extra rows overwrite with equal values.
        """
        engine = st.engine
        now = engine.released_until
        if not now:
            return
        every = self.config.snapshot_every_s
        at = now // every * every
        counts: dict[SnapshotKey, list[int]] = {}
        for inc in engine.ctx.book.open_incidents.values():
            key = (inc.county, inc.kind.value, inc.severity.value)
            agg = counts.get(key)
            if agg is None:
                agg = counts[key] = [0, 0, 0, 0]
            agg[0] += 1
            agg[1] += inc.households_affected
            agg[2] += inc.priority_households
            agg[3] += inc.parent_id is None
        nonzero = set(counts)
        zeros_every = self.config.snapshot_zeros_every_s
        if st.nonzero is None or zeros_every <= 0 or at >= st.next_zeros:
            for county in engine.counties:
                for kind, severities in OCCURRING_SEVERITIES.items():
                    for sev in severities:
                        counts.setdefault((county, kind, sev), [0, 0, 0, 0])
            if zeros_every > 0:
                st.next_zeros = (at // zeros_every + 1) * zeros_every
        else:
            for key in st.nonzero - nonzero:
                counts[key] = [0, 0, 0, 0]
        partition = str(st.partition)
        lines = [
            active_incidents_line(county, kind, sev, partition, c, h, p, top, at)
            for (county, kind, sev), (c, h, p, top) in sorted(counts.items())
        ]
        self.sink.extend(lines)
        self.counts["snapshot_rows"] += len(lines)
        st.nonzero = nonzero
        st.next_snapshot = self._next_snapshot_after(now)

    def _release_idle(self) -> None:
        if self.config.idle_release_s <= 0:
            return
        now = self.clock()
        for st in self.partitions.values():
            if st.idle_released or now - st.last_event_wall < self.config.idle_release_s:
                continue
            high = self.highwater(st.partition) if self.highwater is not None else None
            if high is not None and st.last_offset + 1 < high:
                continue  # not caught up: more records are on their way
            if st.engine._bucket_heap:
                st.engine.flush()
                self._drain(st)
                self._snapshot(st)
                st.dirty = True
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
        captured: list[tuple[PartitionState, Checkpoint | None, list[Any]]] = []
        for st in self.partitions.values():
            checkpoint = None
            if st.dirty:
                blob = export_engine(st.engine)
                checkpoint = Checkpoint(st.partition, st.last_offset, blob)
                st.checkpoint_offset = st.last_offset
                st.dirty = False
            # every pending record is at or below the captured offset now
            events, st.pending = st.pending, []
            if checkpoint is not None or events:
                captured.append((st, checkpoint, events))
        self.next_commit = self.clock() + self.config.checkpoint_interval_s
        future = asyncio.ensure_future(self._finish_commit(position, captured))
        self._committing = future
        return future

    async def _finish_commit(
        self, position: int, captured: list[tuple[PartitionState, Checkpoint | None, list[Any]]]
    ) -> None:
        try:
            await self.sink.flush_until(position)
            # no await from here on: nothing interleaves (a revocation included)
            for st, checkpoint, events in captured:
                if self.partitions.get(st.partition) is not st:
                    continue  # revoked meanwhile: the next owner replays from its checkpoint
                if checkpoint is not None:
                    for key, value in encode(checkpoint, st.slot):
                        self.table_put(st.partition, key, value)
                    st.slot = 0 if st.slot in (None, 1) else 1
                    self._local[st.partition] = (checkpoint, st.slot)
                    self.counts["checkpoints"] += 1
                    self.counts["checkpoint_bytes"] += len(checkpoint.engine_blob)
                for event in events:
                    event.ack()
        except Exception as exc:  # re-raised in the agent by ``check()``
            log.exception("commit point failed")
            self._commit_error = exc
        finally:
            self._committing = None

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
            self.sink.add(
                worker_line(
                    self.config.worker,
                    self.config.topic,
                    st.partition,
                    lag=lag,
                    watermark=st.engine.released_until,
                    readings=st.readings,
                    dead_letters=st.dead_letters,
                    last_write=self.sink.stats.last_write_s,
                    now_s=now_s,
                )
            )
        self.next_heartbeat = self.clock() + self.config.heartbeat_interval_s


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
