"""The simulator's use behaviours and their truth (issue 24), and how the demo scores them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from producers.faults import FaultPlan
from producers.fleet import DEV, build_fleet
from producers.scoring import score_use
from producers.usage import (
    MIN_RUN_DAYS,
    billed_homes,
    expected_use,
    heat_metered_homes,
    plan_use,
    use_truth,
)

CST = timezone(timedelta(hours=8))


def test_behaviours_are_seeded_and_network_homes_only_with_a_billing_heat_meter() -> None:
    fleet = build_fleet(3000, 7)
    a, b = plan_use(fleet, FaultPlan(), 121, 7), plan_use(fleet, FaultPlan(), 121, 7)
    assert [(x.household, x.kind) for x in a.behaviours] == [
        (x.household, x.kind) for x in b.behaviours
    ]
    kinds = {x.kind for x in a.behaviours}
    assert kinds == {"partial", "stop_after_bill", "back_to_coal", "away_weeks",
                     "away_season", "large", "small"}  # fmt: skip
    homes = np.array([x.household for x in a.behaviours])
    assert len(set(homes.tolist())) == len(homes)  # one behaviour a home
    # network homes: only those with a billing heat meter (their use is the heat delivered),
    # never away (a heat meter does not see occupancy), a tenth of the heat when back on coal
    net = [x for x in a.behaviours if fleet.device[x.household] == DEV["district"]]
    assert {x.household for x in net} <= set(billed_homes(fleet).tolist())
    assert {x.kind for x in net} == {"partial", "stop_after_bill", "back_to_coal", "large", "small"}
    assert all(x.heat == 0.1 for x in net if x.kind == "back_to_coal")
    assert len(billed_homes(fleet)) >= 60  # enough for a few of each kind
    stop = next(x for x in a.behaviours if x.kind == "stop_after_bill")
    assert a.heat(stop.first_day - 1)[stop.household] == 1.0
    assert a.heat(stop.first_day)[stop.household] == 0.1
    away = next(x for x in a.behaviours if x.kind == "away_weeks")
    assert a.base(away.first_day)[away.household] < 0.2  # the fridge only
    assert a.base(away.last_day)[away.household] == 1.0  # back home


def test_households_in_a_fault_get_no_behaviour() -> None:
    fleet = build_fleet(2000, 3)
    plan = FaultPlan(peak_chargers=list(range(200)), quota_overrun=list(range(50)))
    use = plan_use(fleet, plan, 60, 3)
    homes = {x.household for x in use.behaviours}
    assert not homes & {int(fleet.electric[m]) for m in range(200)}
    assert not homes & {int(fleet.gas[g]) for g in range(50)}


def test_expected_class_follows_the_run_length() -> None:
    assert expected_use("partial", 0, 121, 121, True) == "under_used"
    assert expected_use("back_to_coal", 48, 121, 121, True) == "under_used"
    assert expected_use("back_to_coal", 10, 20, 20, True) == "not_judged"  # too short a run
    assert expected_use("stop_after_bill", 30, 45, 45, True) == "used"  # low only 15 days
    assert expected_use("away_weeks", 50, 71, 121, True) == "used"  # empty days not judged
    assert expected_use("away_season", 3, 121, 121, True) == "empty"
    assert expected_use("large", 0, 121, 121, True) == "used"
    assert expected_use("normal", 0, 121, 121, False) == "not_judged"  # a network home
    assert expected_use("normal", 0, MIN_RUN_DAYS - 1, MIN_RUN_DAYS - 1, True) == "not_judged"


def test_truth_has_every_household() -> None:
    fleet = build_fleet(600, 5)
    use = plan_use(fleet, FaultPlan(), 40, 5)
    truth = use_truth(fleet, use, datetime(2021, 12, 1, tzinfo=CST))
    assert [r["household_id"] for r in truth] == fleet.household_ids
    net = {fleet.household_ids[int(h)] for h in fleet.heat}
    metered = {fleet.household_ids[int(h)] for h in heat_metered_homes(fleet)}
    assert metered and metered < net
    # a network home without a heat meter is not judged; with one it is, and says so
    assert all(r["expected"] == "not_judged" for r in truth if r["household_id"] in net - metered)
    assert all(
        r["expected"] != "not_judged" and r["heat_meter"]
        for r in truth
        if r["household_id"] in metered
    )
    assert not any(r.get("heat_meter") for r in truth if r["household_id"] not in metered)
    stop = next(r for r in truth if r["use_kind"] == "stop_after_bill")
    assert stop["from"] == "2021-12-14" and stop["to"] == "2022-01-10"


def test_score_use_counts_found_missed_false() -> None:
    truth = [
        {"household_id": "A", "use_kind": "partial", "expected": "under_used"},
        {"household_id": "B", "use_kind": "back_to_coal", "expected": "under_used"},
        {"household_id": "C", "use_kind": "away_season", "expected": "empty"},
        {"household_id": "D", "use_kind": "small", "expected": "used"},
        {"household_id": "E", "use_kind": "normal", "expected": "not_judged"},
    ]
    s = score_use(truth, {"A": "under_used", "B": "used", "C": "empty", "D": "under_used"})
    assert s.by_state == {"under_used": (2, 1, 1), "empty": (1, 1, 0)}
    assert s.missed == ["B"] and s.false == ["D"] and not s.perfect
    assert s.by_behaviour["small"]["used->under_used"] == 1
    assert s.judged == 4 and s.scored
    assert not score_use(truth[4:], {}).scored
    # the network homes judged on a heat meter are also counted on their own
    net = [{**truth[0], "heat_meter": True}, {**truth[3], "household_id": "F", "heat_meter": True}]
    n = score_use(truth + net, {"A": "under_used", "F": "under_used", "D": "used"})
    assert n.network == {"under_used": (1, 1, 1), "empty": (0, 0, 0)} and n.network_judged == 2


def test_the_demo_output_shows_use_per_state_or_says_why_not() -> None:
    from rich.console import Console

    from heatwatch.cli.presentation import score_table, use_score_note
    from producers.scoring import Score

    truth = [
        {"household_id": "A", "use_kind": "partial", "expected": "under_used"},
        {"household_id": "C", "use_kind": "away_season", "expected": "empty"},
    ]
    s = Score(use=score_use(truth, {"A": "under_used", "C": "used"}))
    console = Console(width=120, record=True)
    console.print(score_table(s))
    text = console.export_text()
    assert "用能：疑似未使用/复烧" in text and "用能：疑似空置" in text
    assert "其中热网户" not in text  # no network home in this truth: no row
    assert not s.perfect  # a missed empty home fails the demo like a missed fault
    assert "遗漏 1" in (use_score_note(s) or "")
    short = Score(use=score_use([{**truth[0], "expected": "not_judged"}], {}))
    assert "运行不足 24 天" in (use_score_note(short) or "")


def test_a_gas_home_heating_less_still_cooks() -> None:
    """Back to coal is not an empty home: the gas stove still draws ~0.3 m³ a day."""
    fleet = build_fleet(3000, 7)
    use = plan_use(fleet, FaultPlan(), 121, 7)
    coal = next(
        x for x in use.behaviours if x.kind == "back_to_coal" and x.household in set(fleet.gas)
    )
    away = next(x for x in use.behaviours if x.kind == "away_season")
    assert use.cook(coal.first_day - 1)[coal.household] == 0.0  # heating: cooking is in the flow
    assert use.cook(coal.first_day)[coal.household] * 24 == pytest.approx(0.3)
    assert use.cook(away.first_day)[away.household] == 0.0  # nobody home, nobody cooks


def test_a_large_gas_homes_quota_follows_its_heat_need() -> None:
    """Else a large home is a false gas_quota_risk (found on the 3-day demo)."""
    from producers.usage import size_gas_quotas

    fleet = build_fleet(3000, 7)
    before = fleet.gas_quota.copy()
    use = plan_use(fleet, FaultPlan(), 3, 7)
    size_gas_quotas(fleet, use)
    gas = set(fleet.gas.tolist())
    sized = [b for b in use.behaviours if b.kind in ("large", "small") and b.household in gas]
    assert sized
    for b in sized:
        assert fleet.gas_quota[b.household] == round(before[b.household] * b.heat)
    others = [h for h in gas if h not in {b.household for b in sized}]
    assert np.array_equal(fleet.gas_quota[others], before[others])
