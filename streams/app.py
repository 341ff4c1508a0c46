"""The one place a ``faust.App`` is built and wired: topics, checkpoint table, agent, timers.

Values stay raw bytes end to end (``value_serializer='raw'``) and are parsed by the contract's
pydantic ``WIRE_ADAPTER``; no ``faust.Record``. See docs/production-path.md for the design.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import faust

from contract.registry import Household
from streams.checkpoint_topic import CheckpointTopic
from streams.core.settings import DetectionSettings
from streams.log_limits import limit_client_logs
from streams.pipeline import CheckpointBehindCommit, Pipeline, Record
from streams.security import client_options, faust_app_options
from streams.settings import InfluxSettings, KafkaSettings, WebSettings, WorkerSettings
from streams.sinks.dataset import DatasetSink
from streams.sinks.influx import InfluxSink, InfluxWriter

log = logging.getLogger(__name__)


class FetchView:
    """What the consumer last heard from the broker about a telemetry partition."""

    def __init__(self, app: faust.App, topic: str) -> None:
        self.app = app
        self.topic = topic

    def _client(self) -> Any:
        consumer: Any = self.app.consumer
        return consumer._thread._ensure_consumer()  # the aiokafka consumer

    def highwater(self, partition: int) -> int | None:
        try:
            return int(self.app.consumer.highwater(faust.types.TP(self.topic, partition)))
        except Exception:  # not assigned or not fetched yet
            return None

    def broker_connected(self) -> bool | None:
        """Whether the consumer's client holds a live connection to a broker (None: unknown).

        Read from the consumer thread's aiokafka client without a request: a stopped broker
        closes the connections at once, a frozen one at the client's request timeout; a
        consumer thread that was merely not scheduled keeps them (pipeline ``_broker_down``)."""
        try:
            conns = list(self._client()._client._conns.values())
        except Exception:  # not started, or aiokafka's internals changed: fall back
            return None
        # none at all: aiokafka drops a closed connection when it next needs it and keeps
        # none that failed to open, so a broker away for a while leaves the dict empty
        return any(conn.connected() for conn in conns)

    def fetched_at(self, partition: int) -> float | None:
        """When (``time.monotonic``) the broker last answered a fetch of the partition."""
        try:
            ms = self._client().last_poll_timestamp(faust.types.TP(self.topic, partition))
        except Exception:  # not assigned, not fetched yet, or consumer not started
            return None
        if ms is None:
            return None
        return float(time.monotonic() - (time.time() - ms / 1000))


def _faust_app(kafka: KafkaSettings, worker: WorkerSettings) -> faust.App:
    return faust.App(
        worker.app_id,
        broker=f"kafka://{kafka.bootstrap}",
        store=worker.store,
        datadir=str(worker.data_dir),
        topic_partitions=kafka.partitions,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        broker_session_timeout=worker.session_timeout_s,
        broker_heartbeat_interval=max(0.5, worker.session_timeout_s / 6),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        # Our acks trail processing by design (until the next checkpoint); waiting for them
        # at a rebalance would stall it. Unacked records are simply replayed by the new owner.
        stream_wait_empty=False,
        web_enabled=worker.web_enabled,
        web_port=worker.web_port,
        web_bind=WebSettings().bind,  # loopback unless HEATWATCH_WORKER_WEB_BIND says otherwise
        producer_max_request_size=2 * 1024 * 1024,
        consumer_max_fetch_size=kafka.fetch_max_bytes_per_partition,
        stream_buffer_maxsize=kafka.stream_buffer_maxsize,
        **faust_app_options(kafka),  # TLS + SASL/SCRAM (streams/security.py)
    )


class Assignments:
    """Rebalance hooks: restore newly assigned partitions before their records are processed
    (``ready`` gates the agent), forget revoked ones."""

    def __init__(
        self,
        app: faust.App,
        pipeline: Pipeline,
        checkpoints: CheckpointTopic,
        checkpoint_topic: Any,
        kafka: KafkaSettings,
        ready: dict[int, asyncio.Event],
    ) -> None:
        self.app = app
        self.pipeline = pipeline
        self.checkpoints = checkpoints
        self.checkpoint_topic = checkpoint_topic
        self.kafka = kafka
        self.topic = kafka.telemetry_topic
        self.ready = ready

    async def on_assigned(self, sender: Any, assigned_tps: Any = None, **kwargs: Any) -> None:
        # the consumer's assignment is authoritative (eager or incremental rebalancing alike)
        consumer: Any = self.app.consumer
        ready = self.ready
        mine = {tp.partition for tp in consumer.assignment() if tp.topic == self.topic}
        for p in set(ready) - mine:
            ready.pop(p).set()
        new = sorted(mine - set(ready))
        log.info("rebalance: assigned telemetry partitions %s (new: %s)", sorted(mine), new)
        if not new:
            return
        for p in new:
            ready[p] = asyncio.Event()
        count = consumer.topic_partitions(self.topic) or self.kafka.partitions
        self.pipeline.set_partition_count(count)
        await self.restore(new)

    async def restore(self, partitions: list[int]) -> None:
        """Load the checkpoints of newly assigned partitions; refuse if the group committed
        beyond the newest one: the exception crashes the app (Faust), loudly."""
        await self.checkpoint_topic.maybe_declare()
        committed, took = await self.checkpoints.load(partitions, self.topic)
        async with self.pipeline.lock:
            opened = False
            for p in partitions:
                try:
                    line = self.pipeline.check_restorable(p, committed[p])
                except CheckpointBehindCommit as exc:
                    log.critical("%s", exc)
                    raise
                log.info("restore: %s; checkpoint topic read in %.2f s", line, took)
                if p not in self.pipeline.partitions:
                    # Opened now, not at its first record: a partition handed over at its log
                    # end gets no record, and its engine's tail must still be released when
                    # it is caught up and quiet.
                    self.pipeline.open_partition(p, refreeze=False)
                    opened = True
                gate = self.ready.get(p)
                if gate is not None:
                    gate.set()
            if opened:  # one full collection for the whole assignment, not one per partition
                self.pipeline.lifecycle.refreeze()

    async def on_revoked(self, sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        gone = {tp.partition for tp in revoked or set() if tp.topic == self.topic}
        async with self.pipeline.lock:
            for p in gone:
                gate = self.ready.pop(p, None)
                if gate is not None:
                    gate.set()  # wake a waiting agent: it sees the partition gone
            self.pipeline.revoke(gone)
            self.checkpoints.forget(gone)
        if gone:
            log.info("rebalance: revoked telemetry partitions %s", sorted(gone))


def by_partition(events: Iterable[Any]) -> dict[int, list[Record]]:
    """A batch of Faust events as each partition's records, in the order they came."""
    out: dict[int, list[Record]] = {}
    for event in events:
        m = event.message
        records = out.get(m.partition)
        if records is None:
            records = out[m.partition] = []
        records.append((m.offset, m.key, event.value, m.headers, event))
    return out


def _dataset_sink(worker: WorkerSettings) -> DatasetSink | None:
    root = worker.results_dataset_dir()
    if root is None:
        log.info("results dataset: off (HEATWATCH_WORKER_DATASET_ENABLED=false)")
        return None
    root.mkdir(parents=True, exist_ok=True)
    log.info("results dataset: writing rollups and incidents under %s", root)
    return DatasetSink(root)


@dataclass
class Worker:
    app: faust.App
    pipeline: Pipeline
    writer: InfluxWriter


def build_app(
    registry: list[Household],
    detection: DetectionSettings,
    kafka: KafkaSettings,
    influx: InfluxSettings,
    worker: WorkerSettings,
    *,
    sink: InfluxSink | None = None,
) -> Worker:
    limit_client_logs()  # a broker outage must not flood the log (docs/production-path.md)
    app = _faust_app(kafka, worker)
    telemetry = app.topic(
        kafka.telemetry_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=kafka.partitions,
    )
    dead_letters = app.topic(
        kafka.dead_letter_topic, key_type=bytes, value_type=bytes, value_serializer="raw"
    )
    incidents = app.topic(
        kafka.incident_topic, key_type=bytes, value_type=bytes, value_serializer="raw"
    )
    checkpoint_topic = app.topic(
        f"{worker.app_id}-engine-checkpoints",
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=kafka.partitions,
        compacting=True,
        internal=True,
    )
    writer = InfluxWriter(influx)
    if sink is None:
        sink = InfluxSink(
            writer, batch_size=influx.batch_size, max_pending=influx.max_pending_lines
        )

    def send_checkpoint(partition: int, key: bytes, value: bytes) -> None:
        checkpoint_topic.send_soon(
            key=key, value=value, partition=partition, key_serializer="raw", value_serializer="raw"
        )

    checkpoints = CheckpointTopic(
        kafka.bootstrap,
        checkpoint_topic.get_topic_name(),
        worker.app_id,
        send_checkpoint,
        client_options(kafka),
    )

    def send_dead_letter(key: bytes | None, value: bytes) -> None:
        dead_letters.send_soon(key=key, value=value, key_serializer="raw", value_serializer="raw")

    def send_incident(key: bytes | None, value: bytes) -> None:
        incidents.send_soon(key=key, value=value, key_serializer="raw", value_serializer="raw")

    topic_name = kafka.telemetry_topic
    fetch_view = FetchView(app, topic_name)

    async def commit_offsets(offsets: dict[int, int]) -> object:
        consumer: Any = app.consumer
        # Faust's own commit path (flush the producer, then commit), with our offsets: its
        # ack-based bookkeeping creeps after a restore (docs/production-path.md)
        return await consumer._commit_offsets(
            {faust.types.TP(topic_name, p): o for p, o in offsets.items()}
        )

    pipeline = Pipeline(
        registry,
        detection,
        sink,
        worker,
        topic=topic_name,
        checkpoint_get=checkpoints.get,
        checkpoint_put=checkpoints.put,
        send_dead_letter=send_dead_letter,
        send_incident=send_incident,
        highwater=fetch_view.highwater,
        fetched_at=fetch_view.fetched_at,
        broker_connected=fetch_view.broker_connected,
        commit_offsets=commit_offsets,
        dataset=_dataset_sink(worker),
    )
    # partition → set once its checkpoint is loaded; records wait for it (a record processed
    # before its partition's restore would start an empty engine)
    ready: dict[int, asyncio.Event] = {}

    @app.agent(telemetry, name="heatwatch-telemetry")
    async def process(stream: Any) -> None:
        # Households are split by the topic's real partition count (Faust only creates
        # topics that don't exist yet, so the configured count may be stale).
        consumer: Any = app.consumer
        pipeline.set_partition_count(consumer.topic_partitions(topic_name) or kafka.partitions)
        # Many records per iteration (Faust's per-event machinery costs far more than the
        # detection: docs/production-path.md, "Batches"). Nothing may be acked but by a
        # commit point, which covers only records already handled (streams/commit.py), so:
        # ``noack_take``, not ``take`` (take acks a batch in its ``finally``, also when the
        # generator is closed at shutdown with the batch never processed), and on a
        # ``noack()`` clone: ``noack_take`` turns acks off only while it runs and turns them
        # back on when closed at shutdown, while the stream still drains records, which
        # Faust then acks and commits (seen: a graceful stop committed offset 453 over a
        # checkpoint at 364, and the next owner refused to start).
        batches = stream.noack().noack_take(worker.batch_records, within=worker.batch_within_s)
        async for events in batches:
            for partition, records in by_partition(events).items():
                gate = ready.get(partition)
                if gate is None:
                    continue  # buffered before a rebalance took it away: the new owner has it
                if not gate.is_set():
                    await gate.wait()
                async with pipeline.lock:
                    if ready.get(partition) is not gate:
                        continue  # revoked while waiting
                    pipeline.handle_batch(partition, records)
                    if pipeline.due():
                        pipeline.start_commit()  # finishes in the background (commit.py)
            if sink.backlogged:  # InfluxDB down or slower than us: wait, holding no lock
                await sink.wait_for_room()

    @app.task  # type: ignore[untyped-decorator]
    async def write_results() -> None:
        # writes the sink's lines as they come, one request in flight (sinks/influx.py)
        await sink.run()

    @app.timer(interval=worker.flush_interval_s)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        async with pipeline.lock:
            await pipeline.tick(wait=False)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def on_shutdown(sender: Any, **kwargs: Any) -> None:
        await writer.close()  # the aiohttp session; unacked records are replayed next time
        log.info("InfluxDB writer closed (%d lines written)", sink.stats.lines_written)

    assignments = Assignments(app, pipeline, checkpoints, checkpoint_topic, kafka, ready)
    app.on_partitions_assigned.connect(assignments.on_assigned)  # type: ignore[arg-type]
    app.on_partitions_revoked.connect(assignments.on_revoked)  # type: ignore[arg-type]

    return Worker(app, pipeline, writer)
