"""Smoke tests against the real Kafka and InfluxDB of deploy/stack (or docker compose)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import StackSettings


def _telemetry(i: int) -> dict[str, object]:
    return {
        "household_id": f"hh-{i % 7:04d}",
        "feeder_id": f"fd-{i % 3}",
        "ts": 1_767_225_600 + i * 60,
        "kw": round(1.5 + (i % 5) * 0.25, 2),
        "indoor_c": 19.0 + (i % 4) * 0.5,
    }


# --------------------------------------------------------------------------- kafka-python


def test_kafka_python_produce_consume_with_group_commits(
    stack: StackSettings, unique_topic_factory: Callable[..., str]
) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = unique_topic_factory(partitions=3)
    records = [_telemetry(i) for i in range(60)]

    # Encode by hand: kafka-python 3 deprecates plain callables as (de)serializers.
    producer = KafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_options(), acks="all"
    )
    try:
        futures = [
            producer.send(topic, key=str(r["household_id"]).encode(), value=json.dumps(r).encode())
            for r in records
        ]
        producer.flush(timeout=30)
        metas = [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=10)
    assert {m.topic for m in metas} == {topic}
    assert len({m.partition for m in metas}) > 1, "keys should spread over partitions"

    group = f"hw-it-group-{uuid.uuid4().hex[:8]}"

    def consumer() -> KafkaConsumer:
        c = KafkaConsumer(
            bootstrap_servers=stack.kafka_bootstrap,
            **stack.kafka_options(),
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )
        c.subscribe([topic])
        return c

    c1 = consumer()
    got: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < len(records) and time.monotonic() < deadline:
            for batch in c1.poll(timeout_ms=500).values():
                got.extend(json.loads(r.value) for r in batch)
        assert len(got) == len(records)
        assert sorted(json.dumps(r, sort_keys=True) for r in got) == sorted(
            json.dumps(r, sort_keys=True) for r in records
        )
        c1.commit()
        tps = [TopicPartition(topic, p) for p in range(3)]
        end = c1.end_offsets(tps)
        committed = {tp: c1.committed(tp) for tp in tps}
        assert committed == end, f"committed {committed} != end offsets {end}"
    finally:
        c1.close()

    # A new member of the same group resumes from the committed offsets: nothing left.
    c2 = consumer()
    try:
        leftover = 0
        deadline = time.monotonic() + 30
        while not c2.assignment() and time.monotonic() < deadline:
            leftover += sum(len(b) for b in c2.poll(timeout_ms=500).values())
        assert c2.assignment(), "second consumer never joined the group"
        settle = time.monotonic() + 2
        while time.monotonic() < settle:
            leftover += sum(len(b) for b in c2.poll(timeout_ms=500).values())
        assert leftover == 0
    finally:
        c2.close()


# --------------------------------------------------------------------------- InfluxDB


def test_influx_sync_write_and_flux_query(
    stack: StackSettings, unique_bucket_factory: Callable[..., str]
) -> None:
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    bucket = unique_bucket_factory()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    points = [
        Point("heat_reading")
        .tag("household_id", f"hh-{i:04d}")
        .tag("feeder_id", "fd-1")
        .field("kw", 1.0 + i)
        .time(base + timedelta(seconds=i), WritePrecision.S)
        for i in range(5)
    ]
    with InfluxDBClient(
        url=stack.influx_url, token=stack.influx_token, org=stack.influx_org
    ) as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        # Synchronous mode raises on any HTTP error, so returning is the explicit success.
        write_api.write(bucket=bucket, org=stack.influx_org, record=points)
        # Same measurement, tags and timestamps: an overwrite, not a duplicate.
        write_api.write(bucket=bucket, org=stack.influx_org, record=points)

        query = f'''
from(bucket: "{bucket}")
  |> range(start: -1h)
  |> filter(fn: (r) => r._measurement == "heat_reading" and r._field == "kw")
  |> group()
  |> sort(columns: ["household_id"])
'''
        tables = client.query_api().query(query, org=stack.influx_org)
    rows = [(r.values["household_id"], r.get_value()) for t in tables for r in t.records]
    assert rows == [(f"hh-{i:04d}", 1.0 + i) for i in range(5)]


# --------------------------------------------------------------------------- aiokafka


async def _consume_all(
    stack: StackSettings,
    topic: str,
    expected: int,
    *,
    group: str | None = None,
    isolation_level: str = "read_uncommitted",
    timeout_s: float = 60,
) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        **stack.kafka_options(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(values) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for msgs in batches.values():
                values.extend(m.value for m in msgs)
        if group is not None:
            await consumer.commit()
    finally:
        await consumer.stop()
    return values


def test_aiokafka_roundtrip_with_group_commit(
    stack: StackSettings, unique_topic_factory: Callable[..., str]
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    topic = unique_topic_factory(partitions=2)
    payloads = [json.dumps(_telemetry(i)).encode() for i in range(40)]
    group = f"hw-it-aio-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_options(), acks="all"
        )
        await producer.start()
        try:
            for i, p in enumerate(payloads):
                await producer.send(topic, p, key=f"hh-{i % 5}".encode())
            await producer.flush()
        finally:
            await producer.stop()

        got = await _consume_all(stack, topic, len(payloads), group=group)
        assert sorted(got) == sorted(payloads)

        checker = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_options(), group_id=group
        )
        await checker.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(2)]
            end = await checker.end_offsets(tps)
            committed = {tp: await checker.committed(tp) for tp in tps}
        finally:
            await checker.stop()
        assert committed == end

    asyncio.run(run())


def test_aiokafka_idempotent_producer(
    stack: StackSettings, unique_topic_factory: Callable[..., str]
) -> None:
    from aiokafka import AIOKafkaProducer

    topic = unique_topic_factory(partitions=1)
    payloads = [f"reading-{i}".encode() for i in range(25)]

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap,
            enable_idempotence=True,
            **stack.kafka_options(),
        )
        await producer.start()
        try:
            metas = [await producer.send_and_wait(topic, p) for p in payloads]
        finally:
            await producer.stop()
        assert [m.offset for m in metas] == list(range(len(payloads)))
        got = await _consume_all(stack, topic, len(payloads))
        assert got == payloads  # one partition: order kept, no duplicates

    asyncio.run(run())


def test_aiokafka_transactional_producer(
    stack: StackSettings, unique_topic_factory: Callable[..., str]
) -> None:
    """Commit and abort transactions, and commit consumer offsets inside a transaction."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.errors import UnsupportedVersionError
    from aiokafka.structs import TopicPartition

    source = unique_topic_factory(partitions=1)
    sink = unique_topic_factory(partitions=1)
    group = f"hw-it-txn-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap,
            **stack.kafka_options(),
            transactional_id=f"hw-it-txn-{uuid.uuid4().hex[:8]}",
        )
        try:
            await producer.start()
        except UnsupportedVersionError as exc:  # a Kafka-protocol broker without transactions
            pytest.skip(f"broker does not support transactions: {exc}")
        try:
            async with producer.transaction():
                for i in range(5):
                    await producer.send(source, f"committed-{i}".encode())
            await producer.begin_transaction()
            for i in range(5):
                await producer.send(source, f"aborted-{i}".encode())
            await producer.abort_transaction()
            async with producer.transaction():
                await producer.send(source, b"committed-last")
            # consume-transform-produce: output and input offsets commit atomically.
            async with producer.transaction():
                await producer.send(sink, b"derived")
                await producer.send_offsets_to_transaction({TopicPartition(source, 0): 3}, group)
        finally:
            await producer.stop()

        committed_only = await _consume_all(
            stack, source, 6, isolation_level="read_committed", timeout_s=20
        )
        assert committed_only == [f"committed-{i}".encode() for i in range(5)] + [b"committed-last"]
        sink_values = await _consume_all(
            stack, sink, 1, isolation_level="read_committed", timeout_s=20
        )
        assert sink_values == [b"derived"]

        checker = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_options(), group_id=group
        )
        await checker.start()
        try:
            assert await checker.committed(TopicPartition(source, 0)) == 3
        finally:
            await checker.stop()

    asyncio.run(run())
