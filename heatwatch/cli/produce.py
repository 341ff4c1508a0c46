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
    journal_path: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            help=(
                "记录未送达行的文件（默认 <输入>.delivery.json）；同一输入重新运行时只补发这些行。 "
                "Where undelivered lines are recorded (default <input>.delivery.json); a re-run "
                "of the same input sends exactly those."
            ),
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help=INSECURE_HELP, envvar="HEATWATCH_ALLOW_INSECURE")
    ] = False,
) -> None:
    """把遥测发布到 Kafka（按台区/调压站分区的集中器批次）。 Publish telemetry to Kafka
    (concentrator batches keyed by feeder/station)."""
    from heatwatch.cli.inputs import check_readings_file
    from producers.kafka_producer import (
        DeliveryJournal,
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
    journal = None
    if input_path is not None:
        journal = DeliveryJournal(
            journal_path or input_path.with_name(input_path.name + ".delivery.json"), input_path
        )
        if journal.complete:
            typer.echo(
                t(
                    f"{input_path} 已全部送达（见 {journal.path}）；未发送。要重发请删除该文件。",
                    f"{input_path} was delivered completely (see {journal.path}); nothing sent. "
                    "Remove that file to send it again.",
                )
            )
            return
        if journal.state is not None:
            typer.echo(
                t(
                    f"按 {journal.path} 只补发上次未送达的行。",
                    f"sending only the lines {journal.path} lists as not delivered last time.",
                )
            )
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
                only=journal.only() if journal is not None else None,
                only_partitions=journal.only_partitions() if journal is not None else None,
            )
        if journal is not None:
            journal.record(None)
    except ProduceError as exc:
        if journal is not None:
            journal.record(exc.stats)
        raise CliError(
            f"发送到 Kafka 失败：{exc}。请检查 Kafka（{kafka.bootstrap}）和主题 "
            f"{kafka.telemetry_topic}，然后用同一输入重新运行：只补发未送达的行（记录在日志文件中）。",
            f"sending to Kafka failed: {exc}. Check Kafka at {kafka.bootstrap} and the topic "
            f"{kafka.telemetry_topic}, then run the same input again: exactly the lines not "
            "delivered are sent (the journal lists them).",
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
