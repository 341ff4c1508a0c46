"""Throughput cost of TLS + SASL/SCRAM-SHA-512 against PLAINTEXT, same run, same machine.

    PYTHONPATH=. .venv/bin/python bench/bench_tls.py [--households 3000 --days 2 --rounds 3]

Starts two Kafka-only stacks with deploy/stack/stack.sh in temporary directories on free
loopback ports — one ``plaintext``, one ``sasl_ssl`` (identical server.properties otherwise,
same JVM heap) — and stops them at the end. Each round, in alternating order, on each broker:

* produce: the simulator's concentrator batches through ``producers.kafka_producer.produce``
  (the ``heatwatch produce`` path: kafka-python, acks=all, no compression) to a fresh
  4-partition topic, as the ``producer`` user on the secured broker;
* consume: aiokafka ``getmany`` of the whole topic (bytes only: the transport's cost) and
  again with the contract's pydantic parse (what a worker pays before detection), as ``admin``.

Prints every round and the medians; docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from contract.telemetry import WIRE_ADAPTER, Batch  # noqa: E402
from formats.registry_csv import load_registry_csv  # noqa: E402
from producers.kafka_producer import Router, jsonl_lines, make_producer, produce  # noqa: E402
from producers.simulate import SimulationConfig, simulate  # noqa: E402
from streams.security import client_options  # noqa: E402
from streams.settings import KafkaSettings  # noqa: E402

STACK_SH = REPO / "deploy" / "stack" / "stack.sh"
PARTITIONS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.removeprefix("export ").strip()
        if line.startswith("HEATWATCH_") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


class Broker:
    """A Kafka-only stack of one security mode in a temporary directory."""

    def __init__(self, mode: str, root: Path) -> None:
        self.mode = mode
        self.env = {
            **os.environ,
            "HEATWATCH_STACK_DIR": str(root / mode),
            "HEATWATCH_STACK_SECURITY": mode,
            "HEATWATCH_KAFKA_PORT": str(free_port()),
            "HEATWATCH_KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        self.bootstrap = f"127.0.0.1:{self.env['HEATWATCH_KAFKA_PORT']}"

    def up(self) -> None:
        subprocess.run(["bash", str(STACK_SH), "up", "kafka"], env=self.env, check=True)

    def down(self) -> None:
        subprocess.run(["bash", str(STACK_SH), "down", "kafka"], env=self.env, check=False)

    def options(self, user: str) -> dict[str, Any]:
        if self.mode == "plaintext":
            return client_options(KafkaSettings(security_protocol="PLAINTEXT"))
        stack = Path(self.env["HEATWATCH_STACK_DIR"])
        password = (stack / "secrets" / f"kafka-{user}-password").read_text().strip()
        settings = KafkaSettings(
            bootstrap=self.bootstrap,
            security_protocol="SASL_SSL",
            ssl_cafile=stack / "secrets" / "ca.crt",
            sasl_username=user,
            sasl_password=password,  # type: ignore[arg-type]  # pydantic makes it a SecretStr
        )
        return client_options(settings)

    def create_topic(self, name: str) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, **self.options("admin"))
        try:
            admin.create_topics([NewTopic(name, PARTITIONS, 1)], timeout_ms=30_000)
        finally:
            admin.close()


def bench_produce(broker: Broker, topic: str, sim: Path, router: Router) -> dict[str, float]:
    broker.create_topic(topic)
    producer = make_producer(broker.bootstrap, None, **broker.options("producer"))
    try:
        stats = produce(producer, topic, jsonl_lines(sim / "readings.jsonl"), router=router)
    finally:
        producer.close()
    return {
        "records": stats.records,
        "readings": stats.readings,
        "produce_readings_s": stats.readings_per_s,
        "produce_mb_s": stats.bytes / 1e6 / stats.seconds,
    }


def bench_consume(broker: Broker, topic: str, records: int, parse: bool) -> tuple[float, float]:
    """(readings/s, MB/s) reading the whole topic from the start."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> tuple[float, float]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=f"bench-tls-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            **broker.options("admin"),
        )
        await consumer.start()
        seen = readings = size = 0
        t0 = 0.0
        try:
            while seen < records:
                batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
                if not t0 and batch:  # from the first data: the group join is not transport
                    t0 = time.perf_counter()
                for msgs in batch.values():
                    for m in msgs:
                        seen += 1
                        size += len(m.value)
                        if parse:
                            try:
                                msg = WIRE_ADAPTER.validate_json(m.value)
                            except ValueError:  # the simulator's deliberately bad lines
                                continue
                            readings += len(msg.readings) if type(msg) is Batch else 1
            seconds = time.perf_counter() - t0
        finally:
            await consumer.stop()
        return (readings or seen) / seconds, size / 1e6 / seconds

    return asyncio.run(run())


def one_round(broker: Broker, sim: Path, router: Router) -> dict[str, float]:
    topic = f"heatwatch.telemetry.bench-{uuid.uuid4().hex[:8]}"
    row = bench_produce(broker, topic, sim, router)
    records = int(row["records"])
    row["consume_records_s"], row["consume_mb_s"] = bench_consume(broker, topic, records, False)
    row["parse_readings_s"], _ = bench_consume(broker, topic, records, True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        root = Path(tmp)
        sim = root / "sim"
        simulate(SimulationConfig(households=args.households, days=args.days, batches=True), sim)
        router = Router(load_registry_csv(sim / "registry.csv")[0])
        brokers = [Broker("plaintext", root), Broker("sasl_ssl", root)]
        try:
            for broker in brokers:
                broker.up()
            results: dict[str, list[dict[str, float]]] = {b.mode: [] for b in brokers}
            for r in range(args.rounds):
                for broker in brokers if r % 2 == 0 else brokers[::-1]:
                    row = one_round(broker, sim, router)
                    results[broker.mode].append(row)
                    print(
                        f"round {r + 1} {broker.mode:9s} "
                        + "  ".join(f"{k}={v:,.0f}" for k, v in row.items()),
                        flush=True,
                    )
        finally:
            for broker in brokers:
                broker.down()
    report(results, os.getloadavg())


def report(results: dict[str, list[dict[str, float]]], load: tuple[float, float, float]) -> None:
    keys = [
        "produce_readings_s",
        "produce_mb_s",
        "consume_records_s",
        "consume_mb_s",
        "parse_readings_s",
    ]
    median = {
        m: {k: statistics.median(r[k] for r in rows) for k in keys} for m, rows in results.items()
    }
    print(f"\nmedians of {len(results['plaintext'])} rounds (load average {load[0]:.1f}):")
    print(f"{'figure':22s} {'PLAINTEXT':>14s} {'SASL_SSL':>14s} {'TLS/plain':>10s}")
    for k in keys:
        p, s = median["plaintext"][k], median["sasl_ssl"][k]
        print(f"{k:22s} {p:14,.1f} {s:14,.1f} {s / p:10.0%}")


if __name__ == "__main__":
    main()
