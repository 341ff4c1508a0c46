"""``heatwatch worker``: the production path's consumer (Kafka → Faust → InfluxDB).

Settings come from the environment (``HEATWATCH_KAFKA_*``, ``HEATWATCH_INFLUX_*``,
``HEATWATCH_WORKER_*``, ``HEATWATCH_DETECT_*``); options override the common ones.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.security import InsecureTransportError, check_transport
from streams.settings import (
    DetectionEnvSettings,
    InfluxSettings,
    KafkaSettings,
    MissingSecretError,
    WorkerSettings,
)
from streams.topics import TopicSetupError, ensure_topics

INSECURE_HELP = (
    "Allow HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT (no TLS, no authentication): "
    "local experiments only. Also HEATWATCH_ALLOW_INSECURE=1."
)

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
    insecure: Annotated[
        bool, typer.Option("--insecure", help=INSECURE_HELP, envvar="HEATWATCH_ALLOW_INSECURE")
    ] = False,
) -> None:
    """Run a Faust worker: telemetry from Kafka, incidents and metrics to InfluxDB."""
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
    try:  # refuse before touching Kafka: one line naming what is missing, never a value
        check_transport(kafka, insecure=insecure)
        influx.require_token()
    except (InsecureTransportError, MissingSecretError) as exc:
        typer.echo(f"heatwatch worker: refused: {exc}", err=True)
        raise typer.Exit(2) from None
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
    try:
        ensure_topics(kafka, kafka.partitions)
    except TopicSetupError as exc:
        typer.echo(f"heatwatch worker: {exc}", err=True)
        raise typer.Exit(2) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    built = build_app(list(households), detection, kafka, influx, settings)
    worker = faust.Worker(built.app, loglevel=settings.loglevel, quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    app()
