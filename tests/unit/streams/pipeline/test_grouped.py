"""Readings grouped by ``heatwatch produce`` (one record per key and instant, the contract's
batch form: ``producers.kafka_producer.Grouper``) give the Kafka path the same incidents as
the embedded runner, and the same dead letters — line numbers and reasons — as records of
one line each, for every reading kind the fleet sends one per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.keys import partition_for_key
from producers.kafka_producer import Router, produce
from streams.embedded import replay
from tests.unit.streams.pipeline.test_pipeline import PARTITIONS, Clock, Harness, _setup, sim

__all__ = ["sim"]


class _Future:
    def add_errback(self, fn: Any) -> _Future:
        return self


class TopicProducer:
    """``produce``'s producer, writing into a Harness's fake topic as Kafka would."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        h.topic = {p: [] for p in range(PARTITIONS)}
        self.grouped_kinds: set[str] = set()
        self.records = 0

    def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def send(self, topic: str, *, value: bytes, key: Any, partition: Any, headers: Any) -> Any:
        line = int(dict(headers)["line"])
        if partition is None:  # unkeyed lines go where the one-line Harness puts them
            partition = partition_for_key(key, PARTITIONS) if key else line % PARTITIONS
        self.h.topic[partition].append((key, value, list(headers)))
        self.records += 1
        if "lines" in dict(headers):
            self.grouped_kinds |= {r["kind"] for r in orjson.loads(value)["readings"]}
        return _Future()

    def flush(self) -> None:
        pass


def _dead(h: Harness) -> list[tuple[Any, ...]]:
    return sorted((d["line_no"], d["reason"], d["raw"], d["code"]) for d in h.dead)


@pytest.mark.slow  # two runs of the simulated fleet and a replay
def test_grouped_records_give_the_same_results_and_dead_letters(sim: Path, tmp_path: Path) -> None:
    registry, one_line = _setup(sim)
    clock = Clock()
    one_line.run(one_line.pipeline(registry, clock), clock)

    registry, grouped = _setup(sim)
    lines = [ln for ln in (sim / "readings.jsonl").read_bytes().splitlines()]
    producer = TopicProducer(grouped)
    produce(producer, "t", lines, router=Router(registry))
    # every kind the fleet sends one per line travelled grouped
    assert {"indoor_temp", "heat_meter", "heat_station", "stack_emission"} <= (
        producer.grouped_kinds
    )
    assert producer.records < sum(len(t) for t in one_line.topic.values()) * 0.7
    clock = Clock()
    grouped.run(grouped.pipeline(registry, clock), clock)

    replay(registry, sim / "readings.jsonl", tmp_path / "replay")
    expected = {
        orjson.loads(line)["incident_id"]
        for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    }
    assert expected and grouped.incident_ids() == expected == one_line.incident_ids()
    assert grouped.dead and _dead(grouped) == _dead(one_line)
    assert all(grouped.committed[p] == len(grouped.topic[p]) for p in range(PARTITIONS))
