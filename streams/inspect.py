"""Read back what the production path did: committed offsets and lag of the worker's group,
incidents, household-days and point counts in InfluxDB, dead letters in Kafka.

For operators, benchmarks and tests alike (bench/ and tests/integration use it; tests keep
only their process handling). Blocking clients (kafka-python, influxdb-client): call it from
scripts, not from the worker's event loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from contract.incidents import Incident
from formats.incident_points import newest_incidents


@dataclass
class PipelineEnv:
    """Where one production path runs (Kafka topics, consumer group, InfluxDB bucket) and the
    worker settings a worker process gets for it (``environ``)."""

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
    # TLS/SASL keyword arguments for this module's Kafka clients (streams.security's
    # client_options); empty = PLAINTEXT. The worker takes its own from the environment.
    kafka_options: dict[str, Any] = field(default_factory=dict, repr=False)

    def environ(self, name: str, pythonpath: Path | None = None) -> dict[str, str]:
        """The environment of worker ``name`` (its data directory is ``data_dir/name``: the
        same name reuses it, as a restarted worker does)."""
        env = dict(os.environ)
        if pythonpath is not None:
            env["PYTHONPATH"] = str(pythonpath)
        env.update(
            {
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
                "HEATWATCH_WORKER_DATA_DIR": str(self.data_dir / name),
                "HEATWATCH_WORKER_REGISTRY": str(self.registry),
                "HEATWATCH_WORKER_NAME": name,
            }
        )
        env.update(self.extra)
        return env


# --- Kafka -------------------------------------------------------------------------------
def offsets(env: PipelineEnv) -> tuple[dict[int, int], dict[int, int]]:
    """(end offset, committed offset of the worker's group) per partition."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=env.bootstrap,
        group_id=env.app_id,
        enable_auto_commit=False,
        **env.kafka_options,
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
    return offsets(env)[1]


def committed_lag(env: PipelineEnv) -> dict[int, int]:
    end, committed = offsets(env)
    return {p: end[p] - committed[p] for p in end}


def dead_letters(env: PipelineEnv) -> list[dict[str, Any]]:
    """Every record of the dead-letter topic, in partition order."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=env.bootstrap, enable_auto_commit=False, **env.kafka_options
    )
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


# --- InfluxDB ----------------------------------------------------------------------------
def influx_client(env: PipelineEnv) -> Any:
    from influxdb_client.client.influxdb_client import InfluxDBClient

    return InfluxDBClient(url=env.influx_url, token=env.influx_token, org=env.influx_org)


def _points(env: PipelineEnv, measurement: str) -> list[dict[str, Any]]:
    query = f"""
from(bucket: "{env.bucket}")
  |> range(start: 2000-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "{measurement}")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
"""
    with influx_client(env) as client:
        tables = client.query_api().query(query)
    return [rec.values for table in tables for rec in table.records]


def incident_points(env: PipelineEnv) -> list[dict[str, Any]]:
    """Every ``incident`` point (one series per incident and state), tags and fields."""
    return _points(env, "incident")


def household_day_points(env: PipelineEnv) -> dict[tuple[str, datetime], dict[str, Any]]:
    """``household_day`` points by (household, day start)."""
    return {(v["household_id"], v["_time"]): v for v in _points(env, "household_day")}


def incidents_in_influx(env: PipelineEnv) -> list[Incident]:
    """Each incident's newest state, rebuilt from its points as the reports' InfluxDB source
    does."""
    return newest_incidents(incident_points(env))


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
