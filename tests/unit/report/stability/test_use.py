"""Use enters the verdict (issue 24): hand-built rollups with truth (use_fixtures.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from heatwatch.report.stability import SeasonResult, StabilityPolicy, evaluate_season, parse_policy
from heatwatch.report.stability.reasons import Reason, Verdict, reason_text
from heatwatch.report.stability.use import PeerScope, UseState
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
    assert score(found, "under_used") == (13, 0, 0)
    assert score(found, "empty") == (3, 0, 0)
    # small and large homes, a big home cutting back, a family away for the Spring Festival:
    # all used; the network home without a heat meter is not judged, those with one are
    assert {h: found[h] for h in TRUTH if TRUTH[h] != found[h]} == {}


def test_stable_supply_but_under_used_is_a_visit_not_eligible() -> None:
    _, r = _states()
    verdicts = Counter(r.verdict_of(i).value for i in range(len(r.table)))
    assert verdicts == {"eligible": 30, "visit_required": 16}
    i = r.index_of("COAL")
    assert r.verdict_of(i) is Verdict.VISIT_REQUIRED
    assert r.reasons[i] & Reason.UNDER_USED and not r.reasons[i] & Reason.ALL_CRITERIA_MET
    text = reason_text(Reason.UNDER_USED, r.values_for(i, StabilityPolicy()), "zh")
    # the figures that led there: judged days, low days, ratio to the village's peers
    assert text.startswith("疑似未使用/复烧：有供热的寒冷日 104 天中 58 天用能远低于本村同类户")
    # its heating part (kWh above the 3 kWh appliance allowance) per degree-day: 5 % of its
    # peers' (16 % on the whole meter, the appliances diluting it)
    assert "5%" in text
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


def test_a_heat_meter_home_is_judged_on_delivered_heat_against_metered_network_homes() -> None:
    """Network homes with a household heat meter (fixtures M-*): the heat delivered per
    degree-day against the other metered network homes (the fixtures have no registry, so no
    station: the county's metered network homes of any type); never 疑似空置 (a heat meter
    sees heat, not occupancy). The reason names the peers."""
    found, r = _states()
    assert r.use is not None
    metered = [i for i, h in enumerate(r.table.ids) if h.startswith("M-")]
    assert r.use.heat_metered[metered].all() and not r.use.heat_metered[r.index_of("D-01")]
    assert not r.use.heat_metered[r.index_of("N-01")]
    i = r.index_of("M-PART")
    assert found["M-PART"] == "under_used" and found["M-VALVE"] == "under_used"
    assert abs(float(r.use.median_ratio[i]) - 0.2) < 0.02  # no appliances to dilute it
    assert r.use.scope[i] == int(PeerScope.COUNTY)
    text = reason_text(Reason.UNDER_USED, r.values_for(i, StabilityPolicy()), "zh")
    assert "本县同类户" in text
    assert all(found[h] == "used" for h in ("M-01", "M-02", "M-03", "M-04", "M-05", "M-06"))


def test_heat_meter_homes_on_one_network_are_each_others_peers() -> None:
    """With the registry's heat station, the metered homes on one network are the near group
    (as a village is for meters): the reason says 同一热网."""
    import dataclasses

    rows, table = fixture_inputs()
    station = np.array([0 if h.startswith("M-") else -1 for h in table.ids], np.int32)
    table = dataclasses.replace(table, station=station, stations=["HS-1"])
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    assert r.use is not None
    i = r.index_of("M-PART")
    assert r.use.state[i] == int(UseState.UNDER_USED) and r.use.scope[i] == int(PeerScope.VILLAGE)
    policy = StabilityPolicy()
    assert "用能远低于同一热网同类户" in reason_text(
        Reason.UNDER_USED, r.values_for(i, policy), "zh"
    )
    assert "same-network peers" in reason_text(Reason.UNDER_USED, r.values_for(i, policy), "en")


def test_the_heating_part_of_a_whole_home_meter_is_judged() -> None:
    """Appliances dilute the whole meter's ratio to peers: PARTIAL (a fifth of normal heat)
    reads far lower on its heating part; without heating_share it reads the whole meter."""
    _, on = _states()
    _, off = _states(parse_policy("use: {heating_share: false}"))
    assert on.use is not None and off.use is not None
    i = on.index_of("PARTIAL")
    # 0.30 on the whole meter, 0.23 on its heating part (the 3 kWh allowance is below its
    # ~4 kWh of appliances: a little dilution stays)
    assert float(on.use.median_ratio[i]) < 0.24 < 0.28 < float(off.use.median_ratio[i])
    # normal homes keep their place among their peers
    n = on.index_of("N-02")  # a home of 0.8× the size
    assert 0.7 < float(on.use.median_ratio[n]) < 0.9


def test_a_storage_home_with_a_shop_is_judged_on_its_heater_not_its_whole_meter() -> None:
    """A storage-heater home that also runs a village shop (30 kWh a day, 09:00-19:00):
    heating at 12% of its peers it is under-used, heating like them it is used — judged on
    its heater's part of the meter (heater_kwh), which the shop is not in. On the whole meter
    less the appliance allowance (heater_part off: the measure before) the shop hides the
    disuse."""
    from tests.unit.report.stability.use_fixtures import days_of

    extra = [
        *days_of("SHOP-LOW", "南营村", "coal_to_electric", "storage_heater", 1.0, lambda k: 0.12,
                 shop_kwh=30.0),
        *days_of("SHOP-OK", "南营村", "coal_to_electric", "storage_heater", 1.0, lambda k: 1.0,
                 shop_kwh=30.0),
    ]  # fmt: skip
    rows, table = fixture_inputs(fixture_days() + extra)

    def states(policy: StabilityPolicy) -> tuple[dict[str, str], SeasonResult]:
        r = evaluate_season(rows, table, policy, "2021-2022")
        assert r.use is not None
        found = {h: STATE[UseState(int(r.use.state[i]))] for i, h in enumerate(table.ids)}
        return found, r

    found, r = states(StabilityPolicy())
    assert r.use is not None
    assert found["SHOP-LOW"] == "under_used" and found["SHOP-OK"] == "used"
    assert abs(float(r.use.median_ratio[r.index_of("SHOP-LOW")]) - 0.12) < 0.02
    assert r.verdict_of(r.index_of("SHOP-LOW")) is Verdict.VISIT_REQUIRED
    storage = [i for i, h in enumerate(table.ids) if h.startswith(("S-", "SHOP-"))]
    assert r.use.heater_part[storage].all() and not r.use.heater_part[r.index_of("N-01")]
    # every other household keeps its true state
    assert {h: found[h] for h in TRUTH if TRUTH[h] != found[h]} == {}
    before, _ = states(parse_policy("use: {heater_part: false}"))
    assert before["SHOP-LOW"] == "used"  # the shop's kWh read as heating


def test_a_group_whose_heaters_are_never_seen_charging_is_measured_on_the_meter() -> None:
    # back-up elements that never draw near their rating (a solar-thermal home's, a low
    # setting): every storage home's heater part is 0, which measures nothing — the group is
    # judged on its meters, and S-COAL (meter at appliances only from day 30) is still found
    days = [
        d.model_copy(update={"heater_kwh": 0.0}) if d.heater_kwh is not None else d
        for d in fixture_days()
    ]
    rows, table = fixture_inputs(days)
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    assert r.use is not None
    states = {hid: STATE[UseState(int(r.use.state[i]))] for i, hid in enumerate(table.ids)}
    storage = [h for h in TRUTH if h.startswith("S-")]
    assert {h: states[h] for h in storage} == {h: TRUTH[h] for h in storage}
    assert not r.use.heater_part[[r.index_of(h) for h in storage]].any()
    assert not np.isnan(r.use.median_ratio[r.index_of("S-01")])
