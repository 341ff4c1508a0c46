"""``heatwatch worker``: the production path's consumer (Kafka → Faust → InfluxDB).

Settings come from the environment (``HEATWATCH_KAFKA_*``, ``HEATWATCH_INFLUX_*``,
``HEATWATCH_WORKER_*``, ``HEATWATCH_DETECT_*``); options override the common ones.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.settings import InfluxSettings, KafkaSettings, WorkerSettings
from streams.topics import ensure_topics

app = typer.Typer(help="Kafka → Faust → InfluxDB production path.")


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
    from heatwatch.cli.season import detection_settings
    from heatwatch.formats.registry_csv import load_registry_csv

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
    run_worker(households, detection_settings(), kafka, influx, settings)


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


if __name__ == "__main__":
    app()
