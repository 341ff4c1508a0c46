"""``heatwatch produce``: publish telemetry to Kafka (the production path's input)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from heatwatch.cli.common import (
    EXIT_PROBLEMS,
    INSECURE_HELP,
    CliError,
    kafka_errors,
    load_registry_or_exit,
    refuse_unprotected,
    t,
)
from streams.security import client_options
from streams.settings import KafkaSettings
from streams.topics import ensure_topics

app = typer.Typer(help="把遥测发布到 Kafka。 Publish telemetry to Kafka.")


@app.command("produce")
def produce_cmd(
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input", help="读数 JSONL（单条或批量）。 JSONL file (readings or batches)."
        ),
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option(help="登记册 CSV：为单户读数确定分区键。 Registry CSV: keys single readings."),
    ] = None,
    simulate_households: Annotated[
        int,
        typer.Option(
            "--households", help="不给 --input 时模拟的用户数。 Without --input: households."
        ),
    ] = 1000,
    days: Annotated[
        int, typer.Option(help="不给 --input 时模拟的天数。 Without --input: days to simulate.")
    ] = 2,
    seed: Annotated[
        int, typer.Option(help="不给 --input 时的随机种子。 Without --input: simulator seed.")
    ] = 7,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka 地址。 Kafka bootstrap servers.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="遥测主题。 Telemetry topic.")] = None,
    rate: Annotated[
        float,
        typer.Option(help="每秒读数；0 表示尽快。 Readings per second; 0 = as fast as possible."),
    ] = 0.0,
    compression: Annotated[
        str, typer.Option(help="压缩：gzip 或 none。 Compression: gzip or none.")
    ] = "gzip",
    delivery_timeout_s: Annotated[
        float,
        typer.Option(
            "--delivery-timeout-s",
            help=(
                "每条记录重试发送的最长时间（秒），超时则报告其行号并以非零退出。 "
                "How long each record is retried (s); past it, its line is reported and the "
                "exit code is non-zero."
            ),
        ),
    ] = 600.0,
    insecure: Annotated[
        bool, typer.Option("--insecure", help=INSECURE_HELP, envvar="HEATWATCH_ALLOW_INSECURE")
    ] = False,
) -> None:
    """把遥测发布到 Kafka（按台区/调压站分区的集中器批次）。 Publish telemetry to Kafka
    (concentrator batches keyed by feeder/station)."""
    from heatwatch.cli.inputs import check_readings_file
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
    if compression not in ("gzip", "none"):
        raise CliError("--compression 只能是 gzip 或 none。", "--compression must be gzip or none.")
    # Refuse before anything connects: one line naming what is missing, never a value.
    refuse_unprotected(kafka, insecure=insecure)
    if input_path is not None:
        check_readings_file(input_path)
    router = Router(load_registry_or_exit(registry) if registry else None)
    with kafka_errors(kafka.bootstrap):
        # with ACLs the producer may see and create only telemetry topics
        ensure_topics(kafka, kafka.partitions, telemetry_only=True)
    if input_path is not None:
        lines: Any = jsonl_lines(input_path)
    else:
        from producers.simulate import SimulationConfig, generate

        config = SimulationConfig(
            households=simulate_households, days=days, seed=seed, batches=True
        )
        lines = chunk_lines(generate(config))
    with kafka_errors(kafka.bootstrap):
        producer = make_producer(
            kafka.bootstrap,
            None if compression == "none" else compression,
            delivery_timeout_ms=int(delivery_timeout_s * 1000),
            **client_options(kafka),
        )
    try:
        with kafka_errors(kafka.bootstrap):
            stats = produce(
                producer,
                kafka.telemetry_topic,
                lines,
                router=router,
                rate=rate,
                source=str(input_path) if input_path is not None else "simulator",
            )
    except ProduceError as exc:
        raise CliError(
            f"发送到 Kafka 失败：{exc}。请检查 Kafka（{kafka.bootstrap}）和主题 "
            f"{kafka.telemetry_topic}，然后用同一输入重新运行：缺失的记录会补发，已送达的记录"
            "被引擎计为重复，结果不变。",
            f"sending to Kafka failed: {exc}. Check Kafka at {kafka.bootstrap} and the topic "
            f"{kafka.telemetry_topic}, then run the same input again: what is missing is "
            "delivered, records that arrived count as duplicates in the engine, results do not "
            "change.",
            EXIT_PROBLEMS,
        ) from exc
    finally:
        producer.close()
    mb = stats.bytes / 1e6
    typer.echo(
        t(
            f"已发送 {stats.records:,} 条记录（{stats.readings:,} 条读数，{mb:.1f} MB），"
            f"用时 {stats.seconds:.1f} 秒，每秒 {stats.readings_per_s:,.0f} 条读数，主题 {kafka.telemetry_topic}",
            f"sent {stats.records:,} records ({stats.readings:,} readings, {mb:.1f} MB) in "
            f"{stats.seconds:.1f} s = {stats.readings_per_s:,.0f} readings/s to {kafka.telemetry_topic}",
        )
    )
