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
