"""Use and cost (issue 24) come from the rollups, so the worker's results dataset (Kafka path's
logic, no Kafka) and the embedded runner's replay give the same figures through the report's
own readers — including the use-and-cost columns the dataset reader must now return."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from heatwatch.report.loading import RunInputs, build_inputs, dataset_inputs, run_dir_inputs
from heatwatch.report.stability import evaluate_season, parse_policy
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.use_cost import load_tariffs
from tests.unit.streams.pipeline.test_pipeline import sim

__all__ = ["sim"]

# Two simulated days: judge every cold-enough supplied day at once (no warm-up), so the use
# figures are not trivially empty.
POLICY = parse_policy("use: {warmup_days: 0, min_hdd: 0, min_judged_days: 1, baseline_days: 3}")


def _evaluate(inputs: RunInputs) -> SeasonResult:
    assert inputs.rollups is not None
    span = inputs.rollups.day_range()
    assert span is not None
    rows, table = build_inputs(inputs.rollups.read(*span), inputs.registry)
    return evaluate_season(rows, table, POLICY, "2021-2022", load_tariffs())


def _heater_days(inputs: RunInputs) -> dict[tuple[str, int], float]:
    """Each storage home's heater part per day, as the rollups carry it."""
    assert inputs.rollups is not None
    span = inputs.rollups.day_range()
    assert span is not None
    rows, table = build_inputs(inputs.rollups.read(*span), inputs.registry)
    has = ~np.isnan(rows.heater)
    return {
        (table.ids[h], d): round(float(x), 3)
        for h, d, x in zip(
            rows.household[has].tolist(),
            rows.day[has].tolist(),
            rows.heater[has].tolist(),
            strict=True,
        )
    }


def test_dataset_and_replay_give_the_same_use_and_cost(
    sim: Path, fleet_through_both_runners: tuple[Path, Path]
) -> None:
    ds, run = fleet_through_both_runners  # conftest.py: the two runs, shared
    a = _evaluate(run_dir_inputs(run, sim / "registry.csv"))
    b = _evaluate(dataset_inputs([ds], sim / "registry.csv"))
    assert a.table.ids == b.table.ids
    assert a.use is not None and b.use is not None and a.cost is not None and b.cost is not None
    assert int(a.use.judged_days.sum()) > 0  # something was judged
    assert float(a.cost.energy_kwh.sum()) > 0 and float(a.cost.gas_m3.sum()) > 0
    assert float(a.cost.valley_kwh.sum()) > 0
    # storage homes are judged on their heater's part (HouseholdDay.heater_kwh), which each
    # runner's peak-charging state splits off the meter
    assert a.use.heater_part.any()
    ha = _heater_days(run_dir_inputs(run, sim / "registry.csv"))
    assert ha and any(x > 0 for x in ha.values())
    assert ha == _heater_days(dataset_inputs([ds], sim / "registry.csv"))
    for name in ("state", "judged_days", "low_days", "median_ratio", "scope", "heater_part"):
        np.testing.assert_array_equal(getattr(a.use, name), getattr(b.use, name), err_msg=name)
    for name in ("energy_kwh", "valley_kwh", "gas_m3", "energy_cost", "subsidy", "net_cost",
                 "peak_extra"):  # fmt: skip
        np.testing.assert_allclose(getattr(a.cost, name), getattr(b.cost, name), err_msg=name)
    np.testing.assert_array_equal(a.verdict, b.verdict)
