"""``heatwatch worker`` and ``heatwatch produce``: the production path's entry points.

Settings come from the environment (``HEATWATCH_KAFKA_*``, ``HEATWATCH_INFLUX_*``,
``HEATWATCH_WORKER_*``, ``HEATWATCH_DETECT_*``); options override the common ones.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from heatwatch.settings import DetectionEnvSettings, InfluxSettings, KafkaSettings, WorkerSettings

app = typer.Typer(help="Kafka → Faust → InfluxDB production path.")


def ensure_topics(kafka: KafkaSettings, partitions: int, app_id: str | None = None) -> None:
    """Create telemetry, dead-letter and incident topics if missing (idempotent)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id="heatwatch-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(kafka.telemetry_topic, partitions, 1),
            NewTopic(kafka.dead_letter_topic, 1, 1),
            NewTopic(
                kafka.incident_topic,
                max(1, partitions // 2),
                1,
                topic_configs={"cleanup.policy": "compact"},
            ),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=30_000)
    finally:
        admin.close()


@app.command("worker")
def worker(
    registry: Annotated[Path | None, typer.Option(help="Household registry CSV.")] = None,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    topic: Annotated[str | None, typer.Option(help="Telemetry topic.")] = None,
    bucket: Annotated[str | None, typer.Option(help="InfluxDB bucket.")] = None,
    app_id: Annotated[str | None, typer.Option(help="Consumer group / Faust app id.")] = None,
    store: Annotated[str | None, typer.Option(help="rocksdb:// or memory://")] = None,
    web_port: Annotated[int | None, typer.Option(help="Faust web port.")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Log level.")] = None,
) -> None:
    """Run a Faust worker: telemetry from Kafka, incidents and metrics to InfluxDB."""
    from heatwatch.registry_csv import load_registry_csv

    kafka = KafkaSettings()
    influx = InfluxSettings()
    settings = WorkerSettings()
    updates: dict[str, Any] = {}
    if bootstrap:
        kafka = kafka.model_copy(update={"bootstrap": bootstrap})
    if topic:
        kafka = kafka.model_copy(update={"telemetry_topic": topic})
    if bucket:
        influx = influx.model_copy(update={"bucket": bucket})
    for name, value in (
        ("registry", registry),
        ("app_id", app_id),
        ("store", store),
        ("web_port", web_port),
        ("loglevel", loglevel),
    ):
        if value is not None:
            updates[name] = value
    settings = settings.model_copy(update=updates)
    households, _ = load_registry_csv(settings.registry)
    run_worker(households, DetectionEnvSettings().core(), kafka, influx, settings)


def run_worker(
    households: Any,
    detection: Any,
    kafka: KafkaSettings,
    influx: InfluxSettings,
    settings: WorkerSettings,
) -> None:
    import faust

    from streams.app import build_app

    logging.basicConfig(level=settings.loglevel.upper())
    ensure_topics(kafka, kafka.partitions)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    built = build_app(list(households), detection, kafka, influx, settings)
    worker = faust.Worker(built.app, loglevel=settings.loglevel, quiet=True)
    worker.execute_from_commandline()


@app.command("produce")
def produce_cmd(
    input_path: Annotated[
        Path | None, typer.Option("--input", help="JSONL file (readings or batches).")
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Registry CSV: keys single household readings.")
    ] = None,
    simulate_households: Annotated[
        int, typer.Option("--households", help="Without --input: simulate this many.")
    ] = 1000,
    days: Annotated[int, typer.Option(help="Without --input: days to simulate.")] = 2,
    seed: Annotated[int, typer.Option(help="Without --input: simulator seed.")] = 7,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    topic: Annotated[str | None, typer.Option(help="Telemetry topic.")] = None,
    rate: Annotated[
        float, typer.Option(help="Readings per second; 0 = as fast as possible.")
    ] = 0.0,
    compression: Annotated[str, typer.Option(help="gzip or none.")] = "gzip",
) -> None:
    """Publish telemetry to Kafka (concentrator batches keyed by feeder/station)."""
    from heatwatch.registry_csv import load_registry_csv
    from producers.kafka_producer import (
        ProduceError,
        Router,
        chunk_lines,
        jsonl_lines,
        make_producer,
        produce,
    )

    kafka = KafkaSettings()
    if bootstrap:
        kafka = kafka.model_copy(update={"bootstrap": bootstrap})
    if topic:
        kafka = kafka.model_copy(update={"telemetry_topic": topic})
    ensure_topics(kafka, kafka.partitions)
    router = Router(load_registry_csv(registry)[0] if registry else None)
    if input_path is not None:
        lines: Any = jsonl_lines(input_path)
    else:
        from producers.simulate import SimulationConfig, generate

        config = SimulationConfig(
            households=simulate_households, days=days, seed=seed, batches=True
        )
        lines = chunk_lines(generate(config))
    producer = make_producer(kafka.bootstrap, None if compression == "none" else compression)
    try:
        stats = produce(producer, kafka.telemetry_topic, lines, router=router, rate=rate)
    except ProduceError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        producer.close()
    typer.echo(
        f"sent {stats.records:,} records ({stats.readings:,} readings, "
        f"{stats.bytes / 1e6:.1f} MB) in {stats.seconds:.1f} s "
        f"= {stats.readings_per_s:,.0f} readings/s to {kafka.telemetry_topic}"
    )


if __name__ == "__main__":
    app()
