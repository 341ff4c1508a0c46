"""Readiness from consumer lag, for a probe: ``python -m streams.health [--max-lag N]``.

Exits 0 when the worker group (``HEATWATCH_WORKER_APP_ID``) has committed offsets within
``--max-lag`` records of the telemetry topic's end on every partition, 1 when it is behind
(the lag per partition is printed), 2 when Kafka cannot be asked (the reason in one line,
never a credential). Connects exactly as the worker does (streams/security.py).

Why the group's lag and not this process's: a consumer serves no requests, so "ready" means
"the group keeps up". A rolling update (deploy/k8s) then waits for the group to catch up after
each rebalance before it replaces the next pod; a group that stays behind stops the rollout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from streams.security import client_options
from streams.settings import KafkaSettings, WorkerSettings


def partition_lag(end: Mapping[int, int], committed: Mapping[int, int | None]) -> dict[int, int]:
    """Records not yet committed per partition (a partition never committed counts whole)."""
    return {p: max(0, end[p] - (committed.get(p) or 0)) for p in end}


def is_ready(lag: Mapping[int, int], max_lag: int) -> bool:
    return bool(lag) and all(v <= max_lag for v in lag.values())


def group_lag(kafka: KafkaSettings, group: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        client_id="heatwatch-health",
        request_timeout_ms=15_000,
        **client_options(kafka),
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(kafka.telemetry_topic) or [])
        tps = [TopicPartition(kafka.telemetry_topic, p) for p in partitions]
        end = consumer.end_offsets(tps)
        return partition_lag(
            {tp.partition: end[tp] for tp in tps},
            {tp.partition: consumer.committed(tp) for tp in tps},
        )
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ready when the worker group keeps up.")
    parser.add_argument("--max-lag", type=int, default=100_000, help="records per partition")
    args = parser.parse_args(argv)
    kafka = KafkaSettings()
    try:
        lag = group_lag(kafka, WorkerSettings().app_id)
    except Exception as exc:  # any failure to ask is "not ready"; say which, in one line
        print(f"not ready: cannot read the group's lag: {type(exc).__name__}", file=sys.stderr)
        return 2
    if is_ready(lag, args.max_lag):
        return 0
    print(f"not ready: lag per partition {lag} (max {args.max_lag})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
