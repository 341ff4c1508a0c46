"""Per-retrofit-type criteria (deploy/policy/stability.yaml) and the evidence each verdict
rests on, on hand-built rollups: the same day shapes judged differently by retrofit type."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from heatwatch.report.season_ledger import LEDGER_KEYS, ledger_columns, ledger_order
from heatwatch.report.season_lists import HouseholdLists
from heatwatch.report.stability import (
    PolicyError,
    SeasonResult,
    StabilityPolicy,
    Verdict,
    evaluate_season,
    parse_policy,
    policy_from_mapping,
)
from heatwatch.report.stability.policy import Measure
from heatwatch.report.stability.reasons import reason_codes, reason_texts
from tests.unit.report.stability.test_verdicts import SEASON, Builder, Day, full_season

# Five days with 3 h of supply below the heating curve / a cold home (shortfall minutes):
# 15 h in all — above the gas budget (12 h) and five "cold-home days" (> 2 h, limit 3).
LOW = (1260.0, 0.0, 180.0, 1)
FIVE_LOW = {f"2021-12-{10 + 2 * i}": LOW for i in range(5)}
THREE_LOW = {f"2021-12-{10 + 2 * i}": LOW for i in range(3)}
OUTAGE: Day = (1380.0, 60.0, 0.0, 1)  # an hour a day without heat


def _days(**over: Day) -> dict[date, Day]:
    return full_season(**over)


def build() -> Builder:
    b = Builder()
    b.add("net_cold", _days(**FIVE_LOW), retrofit="boiler_ultra_low_emission",
          evidence="heat_station+indoor")  # fmt: skip
    b.add("net_ok", _days(**THREE_LOW), retrofit="district_heating", evidence="heat_station")
    b.add("gas_same", _days(**FIVE_LOW), retrofit="coal_to_gas", evidence="gas_meter")
    b.add("electric_same", _days(**FIVE_LOW), evidence="electric_meter")
    b.add(
        "heat_pump_out",
        {d: OUTAGE for d in _days()},
        retrofit="wind_electric",
        evidence="electric_meter",
    )
    trip = {"2021-12-20": (840.0, 600.0, 0.0, 1), "2021-12-21": (0.0, 1440.0, 0.0, 0),
            "2021-12-22": (1140.0, 300.0, 0.0, 0)}  # fmt: skip
    b.add("net_trip", _days(**trip), retrofit="biomass_chp", evidence="heat_station")
    b.add(
        "net_meter",
        _days(),
        retrofit="biomass_district",
        evidence="heat_station|heat_station+heat_meter",
    )
    b.add("solar_no_record", _days(), retrofit="solar")
    return b


EXPECTED: dict[str, tuple[Verdict, set[str]]] = {
    "net_cold": (Verdict.NOT_YET, {"cold_home_days"}),  # never "gas shortfall"
    "net_ok": (Verdict.ELIGIBLE, {"all_criteria_met"}),
    "gas_same": (Verdict.NOT_YET, {"gas_shortfall"}),  # never "cold-home days"
    "electric_same": (Verdict.ELIGIBLE, {"all_criteria_met"}),  # minutes available: 99.5 %
    "heat_pump_out": (Verdict.NOT_YET, {"availability_low", "cold_availability_low"}),
    "net_trip": (Verdict.NOT_YET, {"interruption_too_long"}),
    "net_meter": (Verdict.ELIGIBLE, {"all_criteria_met"}),
    "solar_no_record": (Verdict.ELIGIBLE, {"all_criteria_met"}),
}


def _evaluate(policy: StabilityPolicy | None = None) -> SeasonResult:
    cols, table = build().build()
    return evaluate_season(cols, table, policy or StabilityPolicy(), SEASON)


@pytest.fixture(scope="module")
def result() -> SeasonResult:
    return _evaluate()


@pytest.mark.parametrize("hid", sorted(EXPECTED))
def test_each_retrofit_type_is_judged_on_its_own_measures(result: SeasonResult, hid: str) -> None:
    i = result.index_of(hid)
    verdict, codes = EXPECTED[hid]
    assert (result.verdict_of(i), set(reason_codes(int(result.reasons[i])))) == (verdict, codes)


def test_cold_home_days_are_counted_and_quoted(result: SeasonResult) -> None:
    days = {h: int(result.cold_home_days[result.index_of(h)]) for h in ("net_cold", "net_ok")}
    assert days == {"net_cold": 5, "net_ok": 3}
    i = result.index_of("net_cold")
    (zh,) = reason_texts([int(result.reasons[i])], result.values_columns(
        StabilityPolicy(), np.array([i], np.int32)), "zh")  # fmt: skip
    assert zh == "供水低于供热曲线或室温不达标超过 2 小时的天数 5 天，超过 3 天的上限"


EVIDENCE_ZH = {
    "net_cold": "换热站供热＋室温采集",
    "net_ok": "换热站供热",
    "gas_same": "燃气表",
    "electric_same": "电表",
    "heat_pump_out": "电表",
    "net_trip": "换热站供热",
    "net_meter": "换热站供热＋户用热表",  # a heat meter on some days: both named
    "solar_no_record": "未记录",  # rollups from before HouseholdDay.evidence
}


def test_the_ledger_states_what_each_verdict_rests_on(result: SeasonResult) -> None:
    policy = StabilityPolicy()
    order = ledger_order(result)
    headers, cols = ledger_columns(result, policy, "zh", order)
    at = LEDGER_KEYS.index("evidence")
    assert headers[at] == "依据" and headers[at - 1] == "结论"
    ids = [result.table.ids[i] for i in order.tolist()]
    assert dict(zip(ids, cols[at], strict=True)) == EVIDENCE_ZH
    _, cols_en = ledger_columns(result, policy, "en", order)
    en = dict(zip(ids, cols_en[at], strict=True))
    assert en["net_cold"] == "heat station supply + indoor temperature sensor"
    assert en["solar_no_record"] == "not recorded"
    days = dict(zip(ids, cols[LEDGER_KEYS.index("cold_home_days")], strict=True))
    assert days["net_cold"] == 5 and days["gas_same"] == 5  # counted, judged only for networks


def test_every_household_list_has_the_evidence_column(result: SeasonResult) -> None:
    from heatwatch.report import season_lists

    lists = HouseholdLists(result, StabilityPolicy(), "zh", ledger_order(result))
    for keys in (season_lists.ELIGIBLE_KEYS, season_lists.NOT_YET_KEYS, season_lists.WORK_KEYS):
        assert "evidence" in keys
    idx = np.array([result.index_of(h) for h in EVIDENCE_ZH], np.int32)
    table = lists.table(season_lists.NOT_YET_KEYS, idx, len(idx))
    col = table.headers.index("依据")
    assert [row[col] for row in table.rows] == list(EVIDENCE_ZH.values())


def test_a_type_can_set_its_own_measures_and_thresholds() -> None:
    policy = policy_from_mapping(
        {"retrofit_types": {"district_heating": {"judged_on": ["cold_home_days"],
                                                 "max_cold_home_days": 2}}}
    )  # fmt: skip
    res = _evaluate(policy)
    i = res.index_of("net_ok")  # 3 cold-home days: fine by default, too many for this policy
    assert res.verdict_of(i) is Verdict.NOT_YET
    assert reason_codes(int(res.reasons[i])) == ["cold_home_days"]
    (zh,) = reason_texts([int(res.reasons[i])], res.values_columns(policy, np.array([i])), "zh")
    assert zh.endswith("3 天，超过 2 天的上限")  # the type's own threshold is quoted
    assert res.threshold("max_cold_home_days", i, policy) == 2
    assert res.values_for(i, policy)["max_cold_home_days"] == 2
    # the other network types keep their defaults (a listed type does not drop the others)
    assert policy.for_retrofit("boiler_ultra_low_emission").judged_on == (
        Measure.AVAILABILITY,
        Measure.COLD_AVAILABILITY,
        Measure.INTERRUPTIONS,
        Measure.COLD_HOME_DAYS,
    )
    assert res.verdict_of(res.index_of("net_cold")) is Verdict.NOT_YET


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("retrofit_types: {coal_to_gaz: {judged_on: [gas_shortfall]}}",
         "field 'retrofit_types': .*unknown retrofit type coal_to_gaz"),
        ("retrofit_types: {coal_to_gas: {judged_on: [gas]}}",
         "field 'retrofit_types.coal_to_gas.judged_on.0'"),
        ("retrofit_types: {coal_to_gas: {judged_on: []}}",
         "field 'retrofit_types.coal_to_gas.judged_on'"),
        ("retrofit_types: {solar: {judged_on: [availability], max_cold_days: 2}}",
         "field 'retrofit_types.solar.max_cold_days': Extra inputs"),
        ("retrofit_types: {solar: {judged_on: [availability], min_availability: 1.5}}",
         "field 'retrofit_types.solar.min_availability'"),
        ("retrofit_types: {solar: {judged_on: [interruptions], max_interruption_hours: 1}}",
         "retrofit_types.solar.max_interruption_hours \\(1\\) must be >= "
         "criteria.long_interruption_hours"),
        ("criteria: {cold_home_day_hours: 30}", "field 'criteria.cold_home_day_hours'"),
    ],
)  # fmt: skip
def test_policy_mistakes_name_the_key(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "stability.yaml")


def test_the_committed_policy_lists_every_retrofit_type() -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[4] / "deploy" / "policy" / "stability.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    policy = parse_policy(path.read_text("utf-8"), str(path))
    assert (
        set(doc["retrofit_types"]) == set(policy.retrofit_types) and len(doc["retrofit_types"]) == 8
    )
    networks = {"district_heating", "boiler_ultra_low_emission", "biomass_chp", "biomass_district"}
    for code, rc in policy.retrofit_types.items():
        assert (Measure.COLD_HOME_DAYS in rc.judged_on) == (code in networks), code
        assert (Measure.GAS_SHORTFALL in rc.judged_on) == (code == "coal_to_gas"), code


def test_old_rollups_without_evidence_still_evaluate() -> None:
    cols, table = build().build()
    from dataclasses import replace

    res = evaluate_season(replace(cols, evidence=np.empty(0, np.int8), evidences=[]), table,
                          StabilityPolicy(), SEASON)  # fmt: skip
    assert not res.evidence.any() and res.evidence_parts == ()
    assert res.verdict_of(res.index_of("net_cold")) is Verdict.NOT_YET
