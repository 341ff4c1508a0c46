"""Heat networks through the production path: simulator → Kafka → Faust worker → InfluxDB
gives the heat incidents the ground truth expects, the same ones (same ids) as the embedded
runner, and the heat points the dashboards will read; a heat station's late upload revises
its homes' days to those of the ordered readings."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from contract.incidents import Incident
from formats.registry_csv import REGISTRY_COLUMNS, load_registry_csv
from producers.scoring import score
from producers.simulate import SimulationConfig, simulate
from streams.core.clock import CST
from streams.embedded import replay
from tests.integration.pipeline_support import (
    count_in_influx,
    dead_letters,
    household_day_points,
    incidents_in_influx,
    stop,
    wait_for_lag_zero,
)

# _delete_app_topics: autouse, so Faust's own topics of these workers are deleted too
from tests.integration.test_pipeline import _delete_app_topics, _env, _produce  # noqa: F401
from tests.unit.streams.pipeline.test_heat_rules_pipeline import _lines as heat_rules_lines
from tests.unit.streams.pipeline.test_heat_rules_pipeline import _registry as heat_rules_registry
from tests.unit.streams.pipeline.test_live_corpus import late_heat_upload

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
    # three days: a live worker closes a day when the next one's readings arrive, and a
    # storage home's peak charging is judged from its second day (its first teaches its own
    # base load) — with two days only the replay's end of file would close that day
    simulate(SimulationConfig(households=600, days=3, faults=True, seed=13), out)
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


DAY_FIELDS = (
    "readings",
    "heating_available_minutes",
    "outage_minutes",
    "shortfall_minutes",
    "no_data_minutes",
    "evidence",
)


def _expected(value: Any) -> Any:
    return value if isinstance(value, str) else pytest.approx(value, rel=1e-6)  # float32


def test_a_late_heat_station_upload_through_kafka_gives_the_ordered_rollups(
    stack: Any, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    """A heat station, its homes' sensors and its stack silent 10:00-13:00 and uploaded the
    next morning, through Kafka, the worker and InfluxDB: the homes' household_day points are
    those of the ordered readings (the replay), and nothing is dead-lettered as late."""
    sim = tmp_path / "sim"
    simulate(SimulationConfig(households=600, days=2, seed=5), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    lines = [ln for ln in (sim / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    replay(registry, sim / "readings.jsonl", tmp_path / "ordered")
    station, late = late_heat_upload(registry, lines, upload_after_h=20)
    (sim / "readings.jsonl").write_bytes(b"\n".join(late) + b"\n")
    homes = {h.household_id for h in registry if h.heat_station_id == station}
    rows = pq.read_table(tmp_path / "ordered" / "rollups" / "household_days.parquet").to_pylist()
    want = {(r["household_id"], r["day"]): r for r in rows if r["household_id"] in homes}
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    _produce(env, sim)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 180, [worker])
        deadline = time.monotonic() + 60  # the last day closes when the worker is quiet
        while True:
            days = {
                (h, t.astimezone(CST).date()): v
                for (h, t), v in household_day_points(env).items()
                if h in homes
            }
            wrong = [
                (key, name, days[key].get(name), row[name])
                for key, row in want.items()
                if key in days
                for name in DAY_FIELDS
                if days[key].get(name) != _expected(row[name])
            ]
            if (set(days) == set(want) and not wrong) or time.monotonic() > deadline:
                break
            time.sleep(2)
        dead = dead_letters(env)
    finally:
        stop(worker)
    assert len(want) == 2 * len(homes)
    assert set(days) == set(want)
    assert not wrong, wrong[:5]
    assert [d["reason"] for d in dead if d["reason"].startswith("late")] == []


def _write_registry(rows: list[Any], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REGISTRY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for h in rows:
            row = h.model_dump(mode="json")
            writer.writerow(
                {
                    k: ""
                    if row[k] is None
                    else str(row[k]).lower()
                    if type(row[k]) is bool
                    else row[k]
                    for k in REGISTRY_COLUMNS
                }
            )


def _state(i: Any) -> tuple[Any, ...]:
    return (i.incident_id, i.kind.value, i.entity_id, i.parent_id, i.started_at, i.ended_at)


def test_the_heat_rules_through_kafka_equal_the_embedded_runner(
    stack: Any, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    """Issue 20's rules on the hand-built scenario of tests/unit/streams/pipeline/
    test_heat_rules_pipeline.py, through Kafka, the worker and InfluxDB: a 50/40 network with
    no design judged against its learned curve, a cold-homes roll-up closed into its station's
    later low-supply page, a home whose indoor sensor and heat meter both upload late — the
    same incidents (ids, kinds, parents, times) as the embedded runner, nothing dead-lettered."""
    sim = tmp_path / "sim"
    sim.mkdir()
    registry = heat_rules_registry()
    _write_registry(registry, sim / "registry.csv")
    assert load_registry_csv(sim / "registry.csv")[0] == registry
    (sim / "readings.jsonl").write_bytes(b"\n".join(heat_rules_lines()) + b"\n")
    replay(registry, sim / "readings.jsonl", tmp_path / "replay")
    want = {}
    for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines():
        inc = Incident.model_validate_json(line)
        want[inc.incident_id] = inc  # the newest state of each
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    _produce(env, sim)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 180, [worker])
        deadline = time.monotonic() + 60
        while True:
            got = {i.incident_id: i for i in incidents_in_influx(env)}
            # the live run saw HS-D-H0's devices go silent before their late upload (the
            # replay re-runs a late file in order): that comm_loss is the live path's own
            live = {k: v for k, v in got.items() if v.entity_id != "HS-D-H0"}
            if {_state(i) for i in live.values()} == {_state(i) for i in want.values()}:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(2)
        dead = dead_letters(env)
    finally:
        stop(worker)
    assert {_state(i) for i in live.values()} == {_state(i) for i in want.values()}
    (silence,) = [i for i in got.values() if i.entity_id == "HS-D-H0"]
    assert silence.details["resolution"].startswith("communication gap")
    assert dead == []
    floor = [i for i in want.values() if i.entity_id == "HS-F" and i.parent_id is None]
    assert [(i.kind.value, i.details["curve"]) for i in floor] == [("heat_supply_low", "learned")]
    (roll,) = [
        i for i in want.values() if i.entity_id == "HS-R" and i.kind.value == "indoor_temp_low"
    ]
    assert roll.parent_id is not None and want[roll.parent_id].kind.value == "heat_supply_low"
