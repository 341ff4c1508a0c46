"""Helpers for the production-path integration tests: run workers, wait for lag 0, read back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from heatwatch.contract.incidents import Incident

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PipelineEnv:
    bootstrap: str
    influx_url: str
    influx_token: str
    influx_org: str
    bucket: str
    topic: str
    dead_topic: str
    incident_topic: str
    partitions: int
    app_id: str
    registry: Path
    data_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    def environ(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT),
                "HEATWATCH_KAFKA_BOOTSTRAP": self.bootstrap,
                "HEATWATCH_KAFKA_TELEMETRY_TOPIC": self.topic,
                "HEATWATCH_KAFKA_DEAD_LETTER_TOPIC": self.dead_topic,
                "HEATWATCH_KAFKA_INCIDENT_TOPIC": self.incident_topic,
                "HEATWATCH_KAFKA_PARTITIONS": str(self.partitions),
                "HEATWATCH_INFLUX_URL": self.influx_url,
                "HEATWATCH_INFLUX_TOKEN": self.influx_token,
                "HEATWATCH_INFLUX_ORG": self.influx_org,
                "HEATWATCH_INFLUX_BUCKET": self.bucket,
                "HEATWATCH_WORKER_APP_ID": self.app_id,
                "HEATWATCH_WORKER_STORE": "memory://",
                "HEATWATCH_WORKER_DATA_DIR": str(self.data_dir / name),
                "HEATWATCH_WORKER_IDLE_RELEASE_S": "3",
                "HEATWATCH_WORKER_SESSION_TIMEOUT_S": "6",
                "HEATWATCH_WORKER_CHECKPOINT_INTERVAL_S": "1",
                "HEATWATCH_WORKER_HEARTBEAT_INTERVAL_S": "2",
                "HEATWATCH_WORKER_WEB_PORT": str(free_port()),
                "HEATWATCH_WORKER_REGISTRY": str(self.registry),
                "HEATWATCH_WORKER_NAME": name,
                "HEATWATCH_WORKER_LOGLEVEL": "info",
            }
        )
        env.update(self.extra)
        return env

    def start_worker(self, name: str, log_dir: Path) -> subprocess.Popen[bytes]:
        log = (log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "heatwatch.cli.main", "worker"],
            env=self.environ(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO_ROOT),
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _offsets(env: PipelineEnv) -> tuple[dict[int, int], dict[int, int]]:
    """(end offset, committed offset of the worker's group) per partition."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=env.bootstrap, group_id=env.app_id, enable_auto_commit=False
    )
    try:
        tps = [TopicPartition(env.topic, p) for p in range(env.partitions)]
        end = consumer.end_offsets(tps)
        return (
            {tp.partition: end[tp] for tp in tps},
            {tp.partition: consumer.committed(tp) or 0 for tp in tps},
        )
    finally:
        consumer.close()


def committed_offsets(env: PipelineEnv) -> dict[int, int]:
    return _offsets(env)[1]


def committed_lag(env: PipelineEnv) -> dict[int, int]:
    end, committed = _offsets(env)
    return {p: end[p] - committed[p] for p in end}


def wait_for_lag_zero(
    env: PipelineEnv, timeout: float, procs: list[subprocess.Popen[bytes]] | None = None
) -> dict[int, int]:
    deadline = time.monotonic() + timeout
    lag: dict[int, int] = {}
    while time.monotonic() < deadline:
        lag = committed_lag(env)
        if all(v == 0 for v in lag.values()):
            return lag
        for proc in procs or []:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}")
        time.sleep(1)
    raise AssertionError(f"lag did not reach 0 in {timeout} s: {lag}")


def influx_client(env: PipelineEnv) -> Any:
    from influxdb_client import InfluxDBClient

    return InfluxDBClient(url=env.influx_url, token=env.influx_token, org=env.influx_org)


def incidents_in_influx(env: PipelineEnv) -> list[Incident]:
    """Each incident's newest state (resolved wins over open), rebuilt from its points."""
    query = f"""
from(bucket: "{env.bucket}")
  |> range(start: 2000-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "incident")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
"""
    with influx_client(env) as client:
        tables = client.query_api().query(query)
    best: dict[str, dict[str, Any]] = {}
    for table in tables:
        for rec in table.records:
            v = rec.values
            prev = best.get(v["incident_id"])
            if prev is None or (v["state"] == "resolved" and prev["state"] != "resolved"):
                best[v["incident_id"]] = v
    out = []
    for v in best.values():
        out.append(
            Incident.model_validate(
                {
                    "incident_id": v["incident_id"],
                    "kind": v["kind"],
                    "entity_type": v["entity_type"],
                    "entity_id": v["entity_id"],
                    "county": v["county"],
                    "village": v["village"] or None,
                    "started_at": _iso(v["started_at"]),
                    "ended_at": _iso(v["ended_at"]) if v["ended_at"] else None,
                    "severity": v["severity"],
                    "households_affected": v["households_affected"],
                    "priority_households": v["priority_households"],
                    "parent_id": v["parent_id"] or None,
                    "details": orjson.loads(v["details"]),
                }
            )
        )
    return out


def _iso(epoch: int) -> str:
    from datetime import datetime, timedelta, timezone

    return datetime.fromtimestamp(epoch, timezone(timedelta(hours=8))).isoformat()


def count_in_influx(env: PipelineEnv, measurement: str) -> int:
    query = f"""
from(bucket: "{env.bucket}")
  |> range(start: 2000-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "{measurement}")
  |> group() |> count()
"""
    with influx_client(env) as client:
        tables = client.query_api().query(query)
    return sum(int(r.get_value()) for t in tables for r in t.records)


def dead_letters(env: PipelineEnv) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=env.bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(env.dead_topic) or set()
        tps = [TopicPartition(env.dead_topic, p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[dict[str, Any]] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                out.extend(orjson.loads(r.value) for r in records)
        return out
    finally:
        consumer.close()
