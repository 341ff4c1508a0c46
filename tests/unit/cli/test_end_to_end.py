"""Simulator ground truth scored end to end through the embedded runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from formats.registry_csv import load_registry_csv
from heatwatch.cli.main import app
from producers.scoring import read_dead_letter_lines, read_incidents, score
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay


# One fleet in the fast tier; the larger fleets, other seeds and the batch-mode input are
# simulations the slow tier runs (`make slow`, `make test`).
@pytest.mark.parametrize(
    ("households", "days", "batches", "seed"),
    [
        pytest.param(1000, 2, False, 7, marks=pytest.mark.slow),
        pytest.param(1500, 3, True, 11, marks=pytest.mark.slow),
        (800, 2, False, 3),
    ],
)
def test_every_injected_fault_is_found_and_healthy_households_stay_quiet(
    tmp_path: Path, households: int, days: int, batches: bool, seed: int
) -> None:
    sim = tmp_path / "sim"
    simulate(SimulationConfig(households=households, days=days, batches=batches, seed=seed), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    summary = replay(registry, sim / "readings.jsonl", tmp_path / "run")
    incidents = read_incidents(tmp_path / "run" / "incidents.jsonl")
    result = score(
        incidents,
        sim / "ground_truth.jsonl",
        read_dead_letter_lines(tmp_path / "run" / "dead_letters.jsonl"),
    )

    assert result.missed == []
    assert result.wrong_parent == []
    assert result.unexpected == []
    assert result.malformed_missed == []
    assert result.malformed_expected > 0
    kinds = {e.kind.value for e, _ in result.found}
    assert kinds >= {
        "household_outage",
        "feeder_outage",
        "comm_loss",
        "peak_charging",
        "feeder_overload",
        "gas_low_pressure",
        "gas_supply_shortfall",
        "gas_quota_risk",
        "heat_supply_interruption",
        "heat_supply_low",
        "indoor_temp_low",
        "emission_exceedance",
    }
    # Duplicates injected by the simulator are recognised, not double counted.
    assert summary.data["duplicates"] >= result.facts["duplicates"]["count"]
    assert summary.data["rollup_rows"] == households * days


def test_demo_command_runs_and_reports_a_perfect_score(tmp_path: Path) -> None:
    from heatwatch.cli.main import _mount_subcommands

    _mount_subcommands()  # demo is one of the lazily loaded commands
    result = CliRunner().invoke(
        app, ["demo", "--households", "200", "--days", "2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "summary.html").read_text(encoding="utf-8").count("<tr>") > 5
    assert (tmp_path / "run" / "incidents.jsonl").stat().st_size > 0


def test_network_households_rest_on_heat_delivered_not_on_a_meter(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    sim = tmp_path / "sim"
    simulate(SimulationConfig(households=200, days=2, seed=5), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    replay(registry, sim / "readings.jsonl", tmp_path / "run")
    days = pq.read_table(tmp_path / "run" / "rollups" / "household_days.parquet").to_pylist()
    network = {h.household_id for h in registry if h.is_network}
    assert network and all(h.feeder_id is None for h in registry if h.is_network)
    evidence = {d["evidence"] for d in days if d["household_id"] in network}
    assert evidence == {"heat_station", "heat_station+indoor", "heat_station+heat_meter"}
    assert {d["evidence"] for d in days if d["household_id"] not in network} <= {
        "electric_meter",
        "gas_meter",
    }
    for d in days:
        if d["household_id"] in network:
            total = (
                d["heating_available_minutes"]
                + d["outage_minutes"]
                + d["shortfall_minutes"]
                + d["no_data_minutes"]
            )
            assert total == pytest.approx(1440)
            assert d["energy_kwh"] == 0  # no fake electric meter any more
