"""Use enters the verdict (issue 24): hand-built rollups with truth (use_fixtures.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from heatwatch.report.stability import SeasonResult, StabilityPolicy, evaluate_season, parse_policy
from heatwatch.report.stability.reasons import Reason, Verdict, reason_text
from heatwatch.report.stability.use import UseState
from tests.unit.report.stability.use_fixtures import TRUTH, fixture_days, fixture_inputs

STATE = {UseState.USED: "used", UseState.UNDER_USED: "under_used", UseState.EMPTY: "empty",
         UseState.NOT_JUDGED: "not_judged"}  # fmt: skip


def _states(policy: StabilityPolicy | None = None) -> tuple[dict[str, str], SeasonResult]:
    rows, table = fixture_inputs()
    r = evaluate_season(rows, table, policy or StabilityPolicy(), "2021-2022")
    assert r.use is not None
    found = {hid: STATE[UseState(int(r.use.state[i]))] for i, hid in enumerate(table.ids)}
    return found, r


def score(found: dict[str, str], kind: str) -> tuple[int, int, int]:
    """(found, missed, false) for one kind against the fixtures' truth."""
    hit = sum(1 for h, t in TRUTH.items() if t == kind and found[h] == kind)
    missed = sum(1 for h, t in TRUTH.items() if t == kind and found[h] != kind)
    false = sum(1 for h, t in TRUTH.items() if t != kind and found[h] == kind)
    return hit, missed, false


def test_every_fixture_household_gets_its_true_use_state() -> None:
    found, _ = _states()
    assert score(found, "under_used") == (11, 0, 0)
    assert score(found, "empty") == (1, 0, 0)
    # small and large homes, a big home cutting back, a family away for the Spring Festival:
    # all used; the network home (no meter of its own) is not judged
    assert {h: found[h] for h in TRUTH if TRUTH[h] != found[h]} == {}


def test_stable_supply_but_under_used_is_a_visit_not_eligible() -> None:
    _, r = _states()
    verdicts = Counter(r.verdict_of(i).value for i in range(len(r.table)))
    assert verdicts == {"eligible": 24, "visit_required": 12}
    i = r.index_of("COAL")
    assert r.verdict_of(i) is Verdict.VISIT_REQUIRED
    assert r.reasons[i] & Reason.UNDER_USED and not r.reasons[i] & Reason.ALL_CRITERIA_MET
    text = reason_text(Reason.UNDER_USED, r.values_for(i, StabilityPolicy()), "zh")
    # the figures that led there: judged days, low days, ratio to the village's peers
    assert text.startswith("疑似未使用/复烧：有供热的寒冷日 104 天中 58 天用能远低于本村同类户")
    assert "16%" in text
    e = r.index_of("EMPTY")
    assert r.reasons[e] & Reason.HOME_EMPTY
    assert "疑似空置：连续 105 天" in reason_text(
        Reason.HOME_EMPTY, r.values_for(e, StabilityPolicy()), "zh"
    )
    # a storage-heater home in a village of four is measured against the county's group
    assert "本县同类户" in reason_text(
        Reason.UNDER_USED, r.values_for(r.index_of("S-COAL"), StabilityPolicy()), "zh"
    )


def test_use_off_in_the_policy_restores_supply_only_verdicts() -> None:
    rows, table = fixture_inputs()
    r = evaluate_season(rows, table, parse_policy("use: {enabled: false}"), "2021-2022")
    assert r.use is None
    assert (r.verdict == 0).all()


def test_mild_days_and_warmup_are_not_judged() -> None:
    # a mild season (every day above +4 °C): nothing is judged, nobody is under-used
    days = [d.model_copy(update={"county_mean_temp_c": 6.0}) for d in fixture_days()]
    rows, table = fixture_inputs(days)
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    assert r.use is not None
    assert int(r.use.judged_days.max()) == 0
    assert not (r.use.state == int(UseState.UNDER_USED)).any()
    # the first warmup_days are never judged: a cold season judges at most 121 - 14 days
    _, full = _states()
    assert full.use is not None and int(full.use.judged_days.max()) <= 121 - 14


def test_outage_days_are_not_judged_as_disuse() -> None:
    # PARTIAL's supply was down (heating unavailable) on every day: no use judgement, and the
    # stability verdict (not use) is what speaks for it
    days = [
        d.model_copy(update={"heating_available_minutes": 600, "outage_minutes": 840})
        if d.household_id == "PARTIAL" else d
        for d in fixture_days()
    ]  # fmt: skip
    rows, table = fixture_inputs(days)
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    assert r.use is not None
    i = r.index_of("PARTIAL")
    assert r.use.judged_days[i] == 0 and r.use.state[i] == int(UseState.NOT_JUDGED)
    assert r.verdict_of(i) is Verdict.NOT_YET
    assert np.isnan(r.use.median_ratio[i])


def test_a_whole_village_that_stopped_is_measured_against_its_county() -> None:
    found, _ = _states()
    assert all(found[f"U-0{k}"] == "under_used" for k in range(1, 7))
    # without the village floor the village is its own (low) reference: none of them is found
    rows, table = fixture_inputs()
    r = evaluate_season(rows, table, parse_policy("use: {village_floor: 0}"), "2021-2022")
    assert r.use is not None
    assert all(r.use.state[r.index_of(f"U-0{k}")] == UseState.USED for k in range(1, 7))


def test_a_meter_that_never_reported_is_not_an_empty_home() -> None:
    # the rollups of a silent meter: 0 kWh, no readings, every minute without data (a fault
    # the simulator injects: a false 疑似空置 on seed 11 before this was handled)
    days = [
        d.model_copy(update={"energy_kwh": 0.0, "valley_kwh": 0.0, "valley_share": None,
                             "readings": 0, "heating_available_minutes": 0.0,
                             "no_data_minutes": 1440.0})
        if d.household_id == "N-01" else d
        for d in fixture_days()
    ]  # fmt: skip
    rows, table = fixture_inputs(days)
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    assert r.use is not None
    i = r.index_of("N-01")
    assert r.use.state[i] == UseState.NOT_JUDGED and r.use.empty_days[i] == 0
    assert r.verdict_of(i) is Verdict.INSUFFICIENT_DATA


def test_a_small_home_heated_fully_is_used_when_its_area_is_known() -> None:
    """A 25 m² home heated for its size draws about a third of its neighbours' energy: by
    energy alone it reads 'barely used'; per m² (the registry's area) it is used, while a home
    of ordinary size heating one room stays under-used."""
    from dataclasses import replace

    from tests.unit.report.stability.use_fixtures import HOUSEHOLDS, always, days_of

    tiny = ("TINY", "东营村", "coal_to_electric", "heat_pump", 0.25, always(1.0))
    rows, table = fixture_inputs([*fixture_days(), *days_of(*tiny)])

    def state_of(area: np.ndarray) -> dict[str, str]:
        r = evaluate_season(rows, replace(table, area_m2=area), StabilityPolicy(), "2021-2022")
        assert r.use is not None
        return {h: STATE[UseState(int(r.use.state[i]))] for i, h in enumerate(table.ids)}

    size = {h[0]: h[4] for h in HOUSEHOLDS} | {"TINY": 0.25}
    unknown = np.full(len(table), np.nan)
    by_size = np.array([100.0 * size[h] for h in table.ids])
    assert state_of(unknown)["TINY"] == "under_used"
    found = state_of(by_size)
    assert found["TINY"] == "used"
    assert found["PARTIAL"] == "under_used" and found["BILL"] == "under_used"
    assert {h: found[h] for h in TRUTH if TRUTH[h] != found[h]} == {}
