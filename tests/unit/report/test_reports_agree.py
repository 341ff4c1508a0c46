"""The two reports on one simulated run (heat networks, feeders, a gas station, faults of every
kind): the season chart and the monthly table give each month the same interruptions; no
family, county or city counts more households than the registry has; interruption hours are
heat, power and gas alike. The slow tier: a simulation and a replay (~15 s)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from formats.registry_csv import load_registry_csv
from heatwatch.cli.report import load_policy
from heatwatch.report.arithmetic import INTERRUPTION_FAMILIES
from heatwatch.report.loading import run_dir_inputs
from heatwatch.report.monthly import compute_monthly
from heatwatch.report.season import evaluate
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay

CST = timezone(timedelta(hours=8))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("agree")
    start = datetime(2021, 11, 28, tzinfo=CST)  # two months: Nov 28–30 and Dec 1–5
    simulate(SimulationConfig(households=400, days=8, start=start, seed=11), base / "sim")
    registry, _ = load_registry_csv(base / "sim" / "registry.csv")
    replay(registry, base / "sim" / "readings.jsonl", base / "run")
    (base / "run" / "registry.csv").write_bytes((base / "sim" / "registry.csv").read_bytes())
    return base / "run"


@pytest.mark.parametrize("month", ["2021-11", "2021-12"])
def test_season_chart_and_monthly_table_agree_on_one_run(run: Path, month: str) -> None:
    inputs = run_dir_inputs(run, None)
    monthly = compute_monthly(month, inputs.incidents, inputs.rollups, inputs.registry)
    result, _ = evaluate(inputs.rollups, inputs.registry, load_policy(None), "2021-2022")
    col = [m.strftime("%Y-%m") for m in result.month_starts].index(month)
    chart = {c: int(result.interruptions_by_month[i, col]) for i, c in enumerate(result.table.counties)}  # fmt: skip
    table = {c: cm.household_interruptions for c, cm in monthly.counties.items()}
    assert {c: n for c, n in chart.items() if n} == {c: n for c, n in table.items() if n}
    assert sum(chart.values()) > 0


def test_no_count_exceeds_the_registry_and_every_carrier_has_hours(run: Path) -> None:
    inputs = run_dir_inputs(run, None)
    assert inputs.registry is not None
    registered = Counter(inputs.registry.county)
    f = compute_monthly("2021-12", inputs.incidents, inputs.rollups, inputs.registry)
    hours = Counter[str]()
    for county, cm in f.counties.items():
        assert cm.total.households_affected <= registered[county], county
        for fam, cell in cm.by_family.items():
            assert cell.households_affected <= cm.total.households_affected, (county, fam)
            if fam in INTERRUPTION_FAMILIES:
                hours[fam] += round(cell.interruption_hours)
    assert f.city.households_affected <= len(inputs.registry.ids)
    # the simulator injects heat, power and gas interruptions: each has hours in the table
    assert set(hours) == INTERRUPTION_FAMILIES and all(hours.values()), hours
    # incident hours and the rollups' lost hours measure the same thing (not equal: the
    # rollups book minutes from readings, incidents from their start and end)
    total_rollup = sum(cm.rollup_interruption_hours for cm in f.counties.values())
    assert 0.8 * total_rollup <= f.city.interruption_hours <= 1.2 * total_rollup
