"""Live-stream defects through the real stack (Kafka → worker → InfluxDB): a fast clock
(beyond the data, or by 6 h inside it: its copies meet its own readings), re-sends,
conflicts and absurd values give the embedded runner's incidents and refusals."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from formats.registry_csv import load_registry_csv
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay
from tests.integration.pipeline_support import (
    dead_letters,
    incidents_in_influx,
    stop,
    wait_for_lag_zero,
)
from tests.integration.test_pipeline import _APP_IDS, _delete_app_topics, _env, _produce  # noqa: F401
from tests.unit.streams.pipeline.test_live_corpus import _kind, _live_corpus


@pytest.fixture(
    scope="module",
    params=[timedelta(days=2.5), timedelta(hours=6)],
    ids=["fast-beyond-the-data", "fast-by-6h-inside-it"],
)
def live(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    out = tmp_path_factory.mktemp("live")
    simulate(SimulationConfig(households=600, days=2, batches=True, faults=True, seed=21), out)
    registry, _ = load_registry_csv(out / "registry.csv")
    lines = [ln for ln in (out / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    storage = {h.household_id for h in registry if h.heating_device == "storage_heater"}
    corpus = _live_corpus(lines, storage, ahead_by=request.param)
    (out / "readings.jsonl").write_bytes(b"\n".join(corpus) + b"\n")
    return out


def test_live_defects_on_the_real_stack_match_the_embedded_runner(
    stack: Any, live: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    env = _env(stack, live, tmp_path, unique_topic_factory, unique_bucket_factory)
    registry, _ = load_registry_csv(live / "registry.csv")
    replay(registry, live / "readings.jsonl", tmp_path / "replay")
    rows = (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    expected = [orjson.loads(x) for x in rows]
    embedded = {i["incident_id"]: i for i in expected}
    _produce(env, live)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 180, [worker])
        # The last day closes, and held readings expire, when the worker has been caught up
        # and quiet for idle_release_s: committed offsets can reach the end before that.
        deadline = time.monotonic() + 60
        while True:
            time.sleep(2)
            got = {i.incident_id: i.model_dump(mode="json") for i in incidents_in_influx(env)}
            if got == embedded or time.monotonic() > deadline:
                break
        dead = dead_letters(env)
    finally:
        stop(worker)
    # every incident, meter_clock_fault included: same ids, same final fields
    assert set(got) == set(embedded)
    for incident_id, incident in embedded.items():
        assert got[incident_id] == incident, incident_id
    assert [i["kind"] for i in expected].count("meter_clock_fault") == 1
    embedded_dead = Counter(
        _kind(orjson.loads(x)["reason"])
        for x in (tmp_path / "replay" / "dead_letters.jsonl").read_bytes().splitlines()
    )
    assert Counter(_kind(d["reason"]) for d in dead) == embedded_dead
    assert embedded_dead["clock fault"] == 2 and embedded_dead["conflict"] == 12
    # every dead letter carries its code and the code's Chinese words, alike on both runners
    replayed = [
        orjson.loads(x)
        for x in (tmp_path / "replay" / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    assert Counter((d["code"], d["reason_zh"]) for d in dead) == Counter(
        (d["code"], d["reason_zh"]) for d in replayed
    )
    assert "other" not in {d["code"] for d in dead}
