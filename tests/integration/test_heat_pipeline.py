"""Heat networks through the production path: simulator → Kafka → Faust worker → InfluxDB
gives the heat incidents the ground truth expects, the same ones (same ids) as the embedded
runner, and the heat points the dashboards will read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from heatwatch.formats.registry_csv import load_registry_csv
from producers.scoring import score
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay
from tests.integration.pipeline_support import (
    count_in_influx,
    dead_letters,
    incidents_in_influx,
    stop,
    wait_for_lag_zero,
)
from tests.integration.test_pipeline import _env, _produce

PARTITIONS = 4
HEAT_KINDS = {
    "heat_supply_interruption",
    "heat_supply_low",
    "indoor_temp_low",
    "emission_exceedance",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("heat-sim")
    simulate(SimulationConfig(households=600, days=2, faults=True, seed=13), out)
    return out


def test_heat_incidents_through_kafka_equal_the_embedded_runner(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    # the same environment and producer as the other pipeline tests (the stack's security
    # options, Faust's own topics cleaned up afterwards)
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory, PARTITIONS)
    registry, _ = load_registry_csv(sim / "registry.csv")
    _produce(env, sim)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 180, [worker])
        time.sleep(1)
        incidents = incidents_in_influx(env)
        result = score(
            incidents, sim / "ground_truth.jsonl", {d["line_no"] for d in dead_letters(env)}
        )
        assert not result.missed, result.missed
        assert not result.wrong_parent, result.wrong_parent
        assert not result.unexpected, [(i.kind, i.entity_id) for i in result.unexpected]
        assert {e.kind.value for e, _ in result.found} >= HEAT_KINDS
        # silent station telemetry and a silent indoor sensor: comm_loss, as for meters; a
        # household heat meter without heat while its station supplies
        assert {e.fault for e, _ in result.found} >= {
            "heat_station_silent",
            "indoor_sensor_silent",
            "heat_meter_no_heat",
        }
        replay(registry, sim / "readings.jsonl", tmp_path / "replay")
        lines = (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
        assert {i.incident_id for i in incidents} == {orjson.loads(x)["incident_id"] for x in lines}
        assert count_in_influx(env, "heat_station") > 0
        assert count_in_influx(env, "stack_emission_hourly") > 0
        assert count_in_influx(env, "heat_station_daily") > 0
    finally:
        stop(worker)
