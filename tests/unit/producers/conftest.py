from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from producers.simulate import SimulationConfig, SimulationResult, simulate


@dataclass
class Run:
    result: SimulationResult
    raw_lines: list[bytes]
    registry: list[dict[str, str]]
    ground_truth: list[dict[str, Any]]
    fleet: dict[str, Any]

    def parsed(self) -> list[tuple[int, dict[str, Any] | None]]:
        out: list[tuple[int, dict[str, Any] | None]] = []
        for i, raw in enumerate(self.raw_lines, start=1):
            try:
                out.append((i, orjson.loads(raw)))
            except orjson.JSONDecodeError:
                out.append((i, None))
        return out


def _load(out: Path, result: SimulationResult) -> Run:
    raw = (out / "readings.jsonl").read_bytes().splitlines()
    with (out / "registry.csv").open(encoding="utf-8") as fh:
        registry = list(csv.DictReader(fh))
    gt = [orjson.loads(x) for x in (out / "ground_truth.jsonl").read_bytes().splitlines()]
    fleet = orjson.loads((out / "fleet.json").read_bytes())
    return Run(result, raw, registry, gt, fleet)


@pytest.fixture(scope="session")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("faulty")
    result = simulate(SimulationConfig(households=3000, days=3, seed=7), out)
    return _load(out, result)


@pytest.fixture(scope="session")
def healthy_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("healthy")
    result = simulate(SimulationConfig(households=700, days=2, seed=11, faults=False), out)
    return _load(out, result)
