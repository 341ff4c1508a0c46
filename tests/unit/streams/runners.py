"""Run the same JSONL lines through both runners — the embedded replay and the Kafka worker's
logic (``streams.pipeline.Pipeline`` over the fake topic of ``pipeline/test_pipeline.py``) —
and return what a user sees of each: incident ids and dead letters (line, reason)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from contract.registry import Household
from producers.kafka_producer import Router
from streams.embedded import replay
from tests.unit.streams.pipeline.test_pipeline import Clock, Harness


@dataclass
class Seen:
    incidents: set[str]
    dead: list[tuple[int | None, str]]  # (input line, reason), sorted
    dead_full: list[dict[str, Any]]

    def reasons(self) -> list[str]:
        return [reason for _, reason in self.dead]


def embedded(registry: list[Household], lines: list[bytes], tmp: Path) -> Seen:
    src = tmp / "readings.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp / "replay"
    replay(registry, src, out)
    incidents = {
        orjson.loads(x)["incident_id"] for x in (out / "incidents.jsonl").read_bytes().splitlines()
    }
    dead = [orjson.loads(x) for x in (out / "dead_letters.jsonl").read_bytes().splitlines()]
    return Seen(incidents, sorted((d["line_no"], d["reason"]) for d in dead), dead)


def worker(registry: list[Household], lines: list[bytes]) -> Seen:
    h = Harness(lines, Router(registry))
    clock = Clock()
    h.run(h.pipeline(registry, clock), clock)
    incidents = set(h.incidents)
    return Seen(incidents, sorted((d["line_no"], d["reason"]) for d in h.dead), h.dead)


def both(registry: list[Household], lines: list[bytes], tmp: Path) -> tuple[Seen, Seen]:
    """(embedded, worker) for ``lines``; a test asserts on one and that they agree."""
    return embedded(registry, lines, tmp), worker(registry, lines)
