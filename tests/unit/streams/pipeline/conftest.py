"""Fixtures shared by the pipeline tests (the Kafka path's logic without Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.simulate import SimulationConfig, simulate

# Big enough for every kind of source, fault and malformed line the simulator injects (a gas
# station, heat stations, feeders, storage heaters, late and re-sent readings); small enough that
# a run through the pipeline costs the fast tier about a second. Fleet-sized runs are the slow
# tier's (test_live_corpus.py).
FLEET_HOUSEHOLDS = 200


@pytest.fixture(scope="session")
def pipeline_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated fleet, written once for every module that runs it (read only)."""
    out = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(households=FLEET_HOUSEHOLDS, days=2, batches=True, faults=True), out)
    return out


@pytest.fixture(scope="session")
def fleet_through_both_runners(
    pipeline_fleet: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The fleet through the Kafka path's logic into a results dataset, and through the
    embedded runner's replay: (dataset root, replay run directory), run once for the tests that
    only read and compare the two (read only)."""
    from streams.embedded import replay
    from tests.unit.streams.pipeline.test_dataset import _with_dataset
    from tests.unit.streams.pipeline.test_pipeline import Clock, _setup

    out = tmp_path_factory.mktemp("both_runners")
    registry, h = _setup(pipeline_fleet)
    clock = Clock()
    h.run(_with_dataset(h, registry, clock, out / "ds"), clock)
    replay(registry, pipeline_fleet / "readings.jsonl", out / "replay")
    return out / "ds", out / "replay"
