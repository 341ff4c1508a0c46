"""``heatwatch produce``: publish telemetry to Kafka (the production path's input)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.security import InsecureTransportError, check_transport, client_options
from streams.settings import KafkaSettings, MissingSecretError
from streams.topics import TopicSetupError, ensure_topics

app = typer.Typer(help="Publish telemetry to Kafka.")


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
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT (no TLS, no "
            "authentication): local experiments only. Also HEATWATCH_ALLOW_INSECURE=1.",
            envvar="HEATWATCH_ALLOW_INSECURE",
        ),
    ] = False,
) -> None:
    """Publish telemetry to Kafka (concentrator batches keyed by feeder/station)."""
    from heatwatch.formats.registry_csv import load_registry_csv
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
    try:
        check_transport(kafka, insecure=insecure)
    except (InsecureTransportError, MissingSecretError) as exc:
        typer.echo(f"heatwatch produce: refused: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        ensure_topics(kafka, kafka.partitions, telemetry_only=True)
    except TopicSetupError as exc:
        typer.echo(f"heatwatch produce: {exc}", err=True)
        raise typer.Exit(2) from None
    router = Router(load_registry_csv(registry)[0] if registry else None)
    if input_path is not None:
        lines: Any = jsonl_lines(input_path)
    else:
        from producers.simulate import SimulationConfig, generate

        config = SimulationConfig(
            households=simulate_households, days=days, seed=seed, batches=True
        )
        lines = chunk_lines(generate(config))
    producer = make_producer(
        kafka.bootstrap, None if compression == "none" else compression, **client_options(kafka)
    )
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
