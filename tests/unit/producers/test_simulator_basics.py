from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import orjson
import pytest

from contract import Household
from contract.geography import COUNTY_NAMES
from contract.telemetry import WIRE_ADAPTER, parse_event_time
from producers.fleet import (
    PROGRAMME_TOTAL,
    RETROFIT_MIX,
    build_fleet,
)
from producers.simulate import Simulation, SimulationConfig, generate, simulate

from .conftest import Run


def _digest(cfg: SimulationConfig) -> str:
    h = hashlib.sha256()
    for chunk in generate(cfg):
        h.update(chunk)
    return h.hexdigest()


def test_same_seed_is_byte_identical() -> None:
    cfg = SimulationConfig(households=600, days=2, seed=3)
    assert _digest(cfg) == _digest(cfg)
    assert _digest(cfg) != _digest(cfg.model_copy(update={"seed": 4}))


def test_same_seed_is_byte_identical_on_disk(tmp_path: Path) -> None:
    cfg = SimulationConfig(households=500, days=2, seed=5, batches=True)
    simulate(cfg, tmp_path / "a")
    simulate(cfg, tmp_path / "b")
    for name in ("readings.jsonl", "ground_truth.jsonl", "registry.csv", "fleet.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_every_healthy_line_validates(healthy_run: Run) -> None:
    kinds: Counter[str] = Counter()
    for raw in healthy_run.raw_lines:
        msg = WIRE_ADAPTER.validate_json(raw)
        kinds[msg.kind] += 1
        if msg.kind != "batch":
            offset = parse_event_time(msg.ts).utcoffset()  # type: ignore[union-attr]
            assert offset is not None and offset.total_seconds() == 8 * 3600
    assert set(kinds) == {
        "electric", "gas", "feeder", "gas_station", "weather",
        "heat_station", "indoor_temp", "stack_emission", "heat_meter",
    }  # fmt: skip
    assert kinds["weather"] == 14 * 48
    assert not any(g.get("fault") for g in healthy_run.ground_truth)


def test_batches_validate() -> None:
    cfg = SimulationConfig(households=500, days=1, seed=2, batches=True, faults=False)
    sim = Simulation(cfg)
    n = 0
    for chunk in sim.chunks():
        for raw in chunk.splitlines():
            msg = WIRE_ADAPTER.validate_json(raw)
            if msg.kind == "batch":
                assert msg.source.startswith("DC-")
                n += len(msg.readings)
    metered = sim.fleet.electric.size + sim.fleet.gas.size  # heat lines are not batched
    per_interval = metered + len(sim.fleet.feeders) + len(sim.fleet.stations)
    assert n == 96 * per_interval


def test_ts_is_interval_end(healthy_run: Run) -> None:
    first = orjson.loads(healthy_run.raw_lines[0])
    second_block = [orjson.loads(x) for x in healthy_run.raw_lines[:2000]]
    assert first["ts"] == "2021-12-01T00:15:00+08:00"
    assert min(r["ts"] for r in second_block) == "2021-12-01T00:15:00+08:00"


def test_registry_rows_validate(healthy_run: Run) -> None:
    header = (healthy_run.result.files["registry"]).read_text("utf-8").splitlines()[0]
    # The contract's column order (contract.md), spelled out rather than imported.
    assert header.split(",") == [
        "household_id", "county", "village", "township", "retrofit_type", "heating_device",
        "feeder_id", "gas_station_id", "priority_group", "rated_kw", "lat", "lon",
        "retrofit_completed", "old_heating_present", "gas_quota_m3",
        "heat_station_id", "heat_station_kind", "area_m2",
        # v2 (issue 20): the station's design, optional
        "heat_station_design_flow_m3h", "heat_station_heated_area_m2",
        "heat_station_design_supply_c", "heat_station_design_return_c",
        "heat_station_curve_mild_c", "heat_station_curve_design_c",
        "heat_station_fuel", "heat_station_rated_mw",
    ]  # fmt: skip
    for row in healthy_run.registry:
        clean = {k: (v if v != "" else None) for k, v in row.items()}
        hh = Household.model_validate(clean)
        assert hh.county in COUNTY_NAMES
        assert hh.household_id.startswith("H") and len(hh.household_id) == 8
        if hh.is_gas:
            assert hh.feeder_id is None and hh.gas_station_id and hh.gas_quota_m3
        elif hh.is_network:  # heat evidence from its station: no fake electric meter
            assert hh.feeder_id is None and hh.gas_station_id is None
            assert hh.heat_station_id and hh.heat_station_kind
        else:
            assert hh.feeder_id and hh.gas_station_id is None
        assert abs(hh.lat - 38.4) <= 1.1 and abs(hh.lon - 112.7) <= 1.1  # type: ignore[operator]


def test_retrofit_mix_and_topology() -> None:
    fleet = build_fleet(20_000, 1)
    rows = fleet.registry_rows()
    mix = Counter(r["retrofit_type"] for r in rows)
    for name, n in RETROFIT_MIX.items():
        assert abs(mix[name] / 20_000 - n / PROGRAMME_TOTAL) < 0.002, name
    for r in rows:
        if r["retrofit_type"] in ("wind_electric", "solar"):
            assert r["county"] == "繁峙县"
        dev = r["heating_device"]
        expect = {
            "coal_to_gas": {"gas_boiler"},
            "wind_electric": {"storage_heater"},
            "solar": {"solar_thermal"},
            "coal_to_electric": {"storage_heater", "heat_pump", "direct_electric"},
        }.get(r["retrofit_type"], {"district"})
        assert dev in expect
    c2e = Counter(r["heating_device"] for r in rows if r["retrofit_type"] == "coal_to_electric")
    total = sum(c2e.values())
    assert abs(c2e["storage_heater"] / total - 0.60) < 0.05
    assert abs(c2e["heat_pump"] / total - 0.35) < 0.05
    assert {r["county"] for r in rows} == set(COUNTY_NAMES)
    assert sum(r["priority_group"] == "hardship" for r in rows) / 20_000 == pytest.approx(
        0.01, abs=0.004
    )
    for f in fleet.feeders:
        members = fleet.electric[f.first : f.last]
        assert len({int(fleet.village[h]) for h in members}) == 1
        village_electric = int((fleet.village[fleet.electric] == f.village).sum())
        if village_electric >= 40:
            assert 40 <= f.last - f.first <= 80
        assert f.feeder_id.startswith("F-") and f.rated_kva in (
            100,
            200,
            315,
            400,
            500,
            630,
            800,
            1000,
            1250,
        )
    village_sizes = Counter(fleet.village.tolist())
    assert max(village_sizes.values()) <= 350


def test_every_type_present_at_500() -> None:
    fleet = build_fleet(500, 9)
    present = {r["retrofit_type"] for r in fleet.registry_rows()}
    assert present == set(RETROFIT_MIX)
