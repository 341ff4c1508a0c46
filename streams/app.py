"""The one place a ``faust.App`` is built and wired: topics, checkpoint table, agent, timers.

Values stay raw bytes end to end (``value_serializer='raw'``) and are parsed by the contract's
pydantic ``WIRE_ADAPTER``; no ``faust.Record``. See docs/production-path.md for the design.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import faust

from heatwatch.contract.registry import Household
from streams.core.settings import DetectionSettings
from streams.pipeline import Pipeline, PipelineConfig
from streams.security import faust_app_options
from streams.settings import InfluxSettings, KafkaSettings, WebSettings, WorkerSettings
from streams.sinks.influx import InfluxSink, InfluxWriter

log = logging.getLogger(__name__)


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
    app = faust.App(
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
    checkpoints = app.Table(
        "checkpoints",
        key_type=bytes,
        value_type=bytes,
        partitions=kafka.partitions,
    )
    writer = InfluxWriter(influx)
    if sink is None:
        sink = InfluxSink(
            writer, batch_size=influx.batch_size, max_pending=influx.max_pending_lines
        )

    def table_get(partition: int, key: bytes) -> bytes | None:
        value = checkpoints.data.get(key)
        return bytes(value) if value is not None else None

    def table_put(partition: int, key: bytes, value: bytes) -> None:
        checkpoints.send_changelog(partition, key, value, "raw", "raw")

    def send_dead_letter(key: bytes | None, value: bytes) -> None:
        dead_letters.send_soon(key=key, value=value, key_serializer="raw", value_serializer="raw")

    def send_incident(key: bytes | None, value: bytes) -> None:
        incidents.send_soon(key=key, value=value, key_serializer="raw", value_serializer="raw")

    topic_name = kafka.telemetry_topic

    def highwater(partition: int) -> int | None:
        try:
            return int(app.consumer.highwater(faust.types.TP(topic_name, partition)))
        except Exception:  # not assigned or not fetched yet
            return None

    pipeline = Pipeline(
        registry,
        detection,
        sink,
        PipelineConfig(
            worker=worker.name or f"{socket.gethostname()}-{os.getpid()}",
            topic=topic_name,
            checkpoint_interval_s=worker.checkpoint_interval_s,
            snapshot_every_s=worker.snapshot_every_s,
            snapshot_zeros_every_s=worker.snapshot_zeros_every_s,
            heartbeat_interval_s=worker.heartbeat_interval_s,
            idle_release_s=worker.idle_release_s,
            tune_gc=worker.tune_gc,
        ),
        table_get=table_get,
        table_put=table_put,
        send_dead_letter=send_dead_letter,
        send_incident=send_incident,
        highwater=highwater,
    )
    assigned: set[int] = set()

    @app.agent(telemetry, name="heatwatch-telemetry")
    async def process(stream: Any) -> None:
        # Households are split by the topic's real partition count (Faust only creates
        # topics that don't exist yet, so the configured count may be stale).
        consumer: Any = app.consumer
        pipeline.set_partition_count(consumer.topic_partitions(topic_name) or kafka.partitions)
        async for event in stream.noack().events():
            message = event.message
            async with pipeline.lock:
                if message.partition not in assigned:
                    continue  # buffered before a rebalance took it away: the new owner has it
                pipeline.handle(
                    message.partition,
                    message.offset,
                    message.key,
                    event.value,
                    event,
                    message.headers,
                )
                if pipeline.due():
                    pipeline.start_commit()  # finishes in the background (agents.py)
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

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def on_assigned(sender: Any, assigned_tps: Any = None, **kwargs: Any) -> None:
        # the consumer's assignment is authoritative (eager or incremental rebalancing alike)
        assigned.clear()
        assigned.update(tp.partition for tp in app.consumer.assignment() if tp.topic == topic_name)
        log.info("assigned telemetry partitions %s", sorted(assigned))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        tps = revoked or set()
        gone = {tp.partition for tp in tps if tp.topic == topic_name}
        async with pipeline.lock:
            assigned.difference_update(gone)
            pipeline.revoke(gone)

    return Worker(app, pipeline, writer)
