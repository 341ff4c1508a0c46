"""``heatwatch ingest``: the long-running bridge from a drop folder and HTTP pushes to Kafka
(producers/bridge; docs/production-path.md, "Ingest bridge")."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import threading
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from heatwatch.cli.common import (
    INSECURE_HELP,
    CliError,
    kafka_errors,
    load_registry_or_exit,
    refuse_unprotected,
    t,
)
from streams.security import client_options
from streams.settings import InfluxSettings, KafkaSettings
from streams.topics import ensure_topics

log = logging.getLogger("heatwatch.ingest")


def _influx_writer(influx: InfluxSettings) -> Any:
    """Posts the heartbeat's line protocol to InfluxDB (None without a token)."""
    if influx.token is None:
        return None
    token = influx.token.get_secret_value()
    url = (
        f"{influx.url.rstrip('/')}/api/v2/write?org={influx.org}&bucket={influx.bucket}&precision=s"
    )

    def write(lines: bytes) -> None:
        request = urllib.request.Request(
            url, data=lines, method="POST", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    return write


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def ingest(
    watch: Annotated[
        Path | None,
        typer.Option(
            help="投递目录：完成的 JSONL/CSV（可 .gz）文件。 Drop folder of complete "
            "JSONL/CSV (optionally .gz) exports."
        ),
    ] = None,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state",
            help="日志（已发布记录）、心跳与本地拒收记录所在目录。 Journal, heartbeat and "
            "local dead letters.",
            envvar="HEATWATCH_INGEST_STATE_DIR",
        ),
    ] = Path(".stack/ingest"),
    http: Annotated[
        str,
        typer.Option(
            help="HTTP 接收地址 HOST:PORT，off 关闭。 HTTP endpoint HOST:PORT, or off.",
            envvar="HEATWATCH_INGEST_HTTP",
        ),
    ] = "127.0.0.1:8787",
    registry: Annotated[
        Path | None,
        typer.Option(help="登记册 CSV：为单户读数确定分区键。 Registry CSV: keys single readings."),
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka 地址。 Kafka bootstrap servers.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="遥测主题。 Telemetry topic.")] = None,
    quiet_s: Annotated[
        float,
        typer.Option(
            "--quiet-s",
            help="文件大小与修改时间多少秒不变才算完整。 Seconds a file's size and mtime must "
            "stay unchanged before it is taken.",
        ),
    ] = 10.0,
    tail_quiet_s: Annotated[
        float,
        typer.Option(
            "--tail-quiet-s",
            help="末行没有换行符时，多少秒不变才发送它。 Seconds unchanged before a last line "
            "without a newline is sent.",
        ),
    ] = 60.0,
    max_pending: Annotated[
        int,
        typer.Option(
            help="未确认记录上限（背压）。 Unacknowledged records at most (back-pressure)."
        ),
    ] = 20_000,
    rate: Annotated[
        float,
        typer.Option(
            help="投递目录的每秒读数上限（补录不压垮处理程序）；0 表示不限。 Readings per second "
            "from the drop folder (a back-fill must not swamp the worker); 0 = no limit.",
        ),
    ] = 0.0,
    delivery_timeout_s: Annotated[
        float,
        typer.Option(
            "--delivery-timeout-s",
            help="一条记录重试多久后重新发送。 How long a record is retried before it is sent "
            "again.",
        ),
    ] = 600.0,
    heartbeat_s: Annotated[
        float, typer.Option("--heartbeat-s", help="心跳间隔（秒）。 Heartbeat interval (s).")
    ] = 10.0,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="发布完目录里现有的文件后退出（测试、补录）。 Publish what the folder holds, "
            "then exit (tests, back-fills).",
        ),
    ] = False,
    insecure: Annotated[
        bool, typer.Option("--insecure", help=INSECURE_HELP, envvar="HEATWATCH_ALLOW_INSECURE")
    ] = False,
) -> None:
    """长期运行的接入桥：投递目录与 HTTP 推送 → Kafka，记录已确认的内容，重启后续传。
    Long-running bridge: drop folder and HTTP pushes → Kafka, with a journal of what Kafka
    acknowledged; resumes after a restart."""
    from producers.bridge.drop import DropFolder
    from producers.bridge.http import make_server, serve_in_background
    from producers.bridge.service import Bridge, kafka_present
    from producers.kafka_producer import Router, make_producer

    kafka = KafkaSettings()
    if bootstrap:
        kafka = kafka.model_copy(update={"bootstrap": bootstrap})
    if topic:
        kafka = kafka.model_copy(update={"telemetry_topic": topic})
    refuse_unprotected(kafka, insecure=insecure)
    if watch is None and http == "off":
        raise CliError("请给 --watch 或 --http。", "give --watch or --http.")
    if watch is not None and not watch.is_dir():
        raise CliError(f"投递目录不存在：{watch}。", f"drop folder not found: {watch}.")
    host, port = "", 0
    token = os.environ.get("HEATWATCH_INGEST_HTTP_TOKEN") or None
    if http != "off":
        host, _, port_text = http.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            raise CliError(
                f"--http 应为 HOST:PORT：{http}", f"--http must be HOST:PORT: {http}"
            ) from None
        if not _loopback(host) and token is None:
            raise CliError(
                "拒绝启动：在回环地址以外接收推送须设 HEATWATCH_INGEST_HTTP_TOKEN（见 docs/security.md）。",
                "refused: listening beyond loopback needs HEATWATCH_INGEST_HTTP_TOKEN "
                "(docs/security.md).",
            )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its connection chatter at INFO
    router = Router(load_registry_or_exit(registry) if registry else None)
    with kafka_errors(kafka.bootstrap):
        ensure_topics(kafka, kafka.partitions, telemetry_only=True)
        producer = make_producer(
            kafka.bootstrap,
            delivery_timeout_ms=int(delivery_timeout_s * 1000),
            client_id="heatwatch-ingest",
            **client_options(kafka),
        )
    bridge = Bridge(
        producer,
        kafka.telemetry_topic,
        state_dir,
        router=router,
        max_pending=max_pending,
        rate=rate,
        heartbeat_s=heartbeat_s,
        influx_write=_influx_writer(InfluxSettings()),
        present=kafka_present(
            kafka.bootstrap,
            kafka.telemetry_topic,
            4 * max_pending + 10_000,
            client_id="heatwatch-ingest-resume",
            **client_options(kafka),
        ),
    )
    server = None
    if http != "off":
        server = make_server(bridge, host, port, token=token)
        serve_in_background(server)
        log.info("ingest: HTTP on %s:%d (POST /v1/telemetry, GET /v1/status)", host, port)

    def on_signal(signum: int, frame: Any) -> None:
        log.info("ingest: signal %d: stopping after what is in flight", signum)
        bridge.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    folder = DropFolder(watch, quiet_s) if watch is not None else None

    def finished() -> bool:
        return bridge.pending == 0 and (folder is None or bridge.all_settled(folder))

    try:
        bridge.run(folder, tail_quiet_s=tail_quiet_s, until=finished if once else None)
        bridge.drain(timeout=60)
    finally:
        if server is not None:
            server.shutdown()
        bridge.heartbeat()
        producer.close(timeout=10)
        bridge.journal.close()
    m = bridge.metrics
    typer.echo(
        t(
            f"接入桥停止：{m['drop'].files_done} 个文件完成，{m['drop'].files_redelivered} 个重复投递，"
            f"已确认 {m['drop'].records_acked + m['http'].records_acked:,} 条记录，"
            f"本地拒收 {m['drop'].dead + m['http'].dead} 条",
            f"ingest stopped: {m['drop'].files_done} files done, {m['drop'].files_redelivered} "
            f"re-delivered, {m['drop'].records_acked + m['http'].records_acked:,} records "
            f"acknowledged, {m['drop'].dead + m['http'].dead} dead-lettered locally",
        )
    )
