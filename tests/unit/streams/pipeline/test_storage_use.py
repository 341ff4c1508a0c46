"""A barely used storage heater through the Kafka path's logic (``Pipeline``) and the embedded
runner: neither pages ``peak_charging`` for a home that stopped heating, both still page the
home that charges on peak power, and they agree incident for incident."""

from __future__ import annotations

from pathlib import Path

import orjson

from producers.kafka_producer import Router
from streams.embedded import replay
from tests.unit.streams.pipeline.test_pipeline import Clock, Harness
from tests.unit.streams.scenario import household
from tests.unit.streams.test_storage import _storage_day, appliance_day


def test_both_runners_agree_a_stopped_heater_is_not_peak_charging(tmp_path: Path) -> None:
    registry = [
        household("STOP", heating_device="storage_heater", rated_kw=8.0, feeder_id="F-1"),
        household("PEAK", heating_device="storage_heater", rated_kw=8.0, feeder_id="F-2"),
    ]
    readings = (
        _storage_day("STOP", valley=True)
        + [r for day in (1, 2, 3) for r in appliance_day("STOP", day)]
        + _storage_day("PEAK", valley=False, days=4)
    )
    readings.sort(key=lambda r: (r.ts, r.household_id))
    lines = [r.model_dump_json(exclude_none=True).encode() for r in readings]
    path = tmp_path / "readings.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    h = Harness(lines, Router(registry))
    clock = Clock()
    pipe = h.pipeline(registry, clock)
    h.run(pipe, clock)
    replay(registry, path, tmp_path / "replay")
    embedded = [
        orjson.loads(x) for x in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    ]
    assert {i["incident_id"] for i in embedded} == h.incident_ids()
    peaks = {(i["kind"], i["entity_id"]) for i in embedded if i["kind"] == "peak_charging"}
    assert peaks == {("peak_charging", "PEAK")}
    pipeline_peaks = {
        (v["kind"], v["entity_id"]) for v in h.incidents.values() if v["kind"] == "peak_charging"
    }
    assert pipeline_peaks == peaks
