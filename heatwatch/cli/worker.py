"""``heatwatch worker``: the production path's consumer (Kafka → Faust → InfluxDB).

Settings come from the environment (``HEATWATCH_KAFKA_*``, ``HEATWATCH_INFLUX_*``,
``HEATWATCH_WORKER_*``, ``HEATWATCH_DETECT_*``); options override the common ones.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.error import URLError
from urllib.request import urlopen

import typer

from heatwatch.cli.common import (
    EXIT_UNREACHABLE,
    INSECURE_HELP,
    CliError,
    kafka_errors,
    load_registry_or_exit,
    refuse_unprotected,
)
from heatwatch.cli.season import detection_settings
from streams.settings import InfluxSettings, KafkaSettings, WorkerSettings
from streams.topics import ensure_topics

app = typer.Typer(
    help="生产链路：Kafka → Faust → InfluxDB。 Kafka → Faust → InfluxDB production path."
)


@app.command("worker")
def worker(
    registry: Annotated[
        Path | None, typer.Option(help="用户登记册（台账）CSV。 Household registry CSV.")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka 地址。 Kafka bootstrap servers.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="遥测主题。 Telemetry topic.")] = None,
    bucket: Annotated[str | None, typer.Option(help="InfluxDB 存储桶。 InfluxDB bucket.")] = None,
    app_id: Annotated[
        str | None, typer.Option(help="消费组 / Faust 应用 id。 Consumer group / Faust app id.")
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="状态存储：rocksdb:// 或 memory://。 State store.")
    ] = None,
    web_port: Annotated[int | None, typer.Option(help="Faust 网页端口。 Faust web port.")] = None,
    loglevel: Annotated[str | None, typer.Option(help="日志级别。 Log level.")] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help=INSECURE_HELP, envvar="HEATWATCH_ALLOW_INSECURE")
    ] = False,
) -> None:
    """运行处理程序：从 Kafka 读遥测，把事件与指标写入 InfluxDB。 Run a Faust worker:
    telemetry from Kafka, incidents and metrics to InfluxDB."""
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
    # Refuse before anything connects (or is read): one line naming what is missing, never a value.
    refuse_unprotected(kafka, insecure=insecure, influx=influx)
    households = load_registry_or_exit(settings.registry)
    check_influx(influx.url)
    with kafka_errors(kafka.bootstrap):
        # Reach the broker before Faust starts: its own failure is a long log, not a sentence.
        ensure_topics(kafka, kafka.partitions)
        run_worker(households, detection_settings(), kafka, influx, settings)


def check_influx(url: str, timeout_s: float = 5.0) -> None:
    """InfluxDB's /health answers, or one sentence naming the URL and the setting to change."""
    health = url.rstrip("/") + "/health"
    try:
        with urlopen(health, timeout=timeout_s) as response:
            response.read()
    except (URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(
            f"连不上 InfluxDB（{url}）：{reason}。请确认 InfluxDB 已启动，"
            "或用环境变量 HEATWATCH_INFLUX_URL 指定地址。",
            f"cannot reach InfluxDB at {url}: {reason}. Start InfluxDB, or set the address "
            "with HEATWATCH_INFLUX_URL.",
            EXIT_UNREACHABLE,
        ) from exc


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
