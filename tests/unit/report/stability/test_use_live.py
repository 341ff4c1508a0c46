"""The live view of use (issue 24): household_use points from the season's use judgement, and
the Grafana panel that lists under-used households per village without paging anyone."""

from __future__ import annotations

import json
from datetime import date

import yaml

from contract.glossary import FIELDS, USE_COST_COLUMNS
from dashboards import alerting, season
from dashboards.generate import ALERTING_DIR, DASHBOARD_DIR
from heatwatch.report.stability import SeasonResult, StabilityPolicy, evaluate_season
from heatwatch.report.use_live import use_lines
from tests.unit.report.stability.use_fixtures import TRUTH, fixture_inputs


def _result() -> SeasonResult:
    rows, table = fixture_inputs()
    return evaluate_season(rows, table, StabilityPolicy(), "2021-2022", use_days=True)


def test_points_carry_each_judged_day_and_the_state() -> None:
    r = _result()
    lines = [x.decode() for x in use_lines(r)]
    by_h: dict[str, list[str]] = {}
    for x in lines:
        hid = x.split("household_id=")[1].split(",")[0]
        by_h.setdefault(hid, []).append(x)
    # every measured household (heat-meter homes too), a point per day with a rollup; the
    # network home without a heat meter gets none
    net = [h for h, t in TRUTH.items() if t == "not_judged"]
    assert all(h not in by_h for h in net)
    assert len(by_h) == len(TRUTH) - len(net)
    assert all(len(v) == 121 for v in by_h.values())
    for hid, truth in TRUTH.items():
        for x in by_h.get(hid, []):
            assert f'state="{truth}"' in x
            assert ("under_used=true" in x) == (truth == "under_used")
    first = by_h["S-01"][0]
    assert first.startswith("household_use,county=")
    assert "judged=false" in first and "ratio=" not in first  # warm-up: not judged, no ratio
    judged = [x for x in by_h["S-01"] if "judged=true" in x]
    assert judged and all("ratio=" in x and 'unit="kWh"' in x for x in judged)
    assert all('unit="m3"' in x for x in by_h["G-01"])
    assert all('unit="kWh_heat"' in x for x in by_h["M-01"])  # a heat meter's delivered heat


def test_points_are_deterministic_and_windowed() -> None:
    a, b = use_lines(_result()), use_lines(_result())
    assert a == b  # the same rollups give the same points: a re-publication overwrites
    r = _result()
    week = use_lines(r, date(2022, 3, 9), date(2022, 3, 15))
    assert len(week) == 7 * (len(a) // 121)
    assert set(week) <= set(a)


def test_the_panel_is_in_the_season_dashboard_chinese_first() -> None:
    data = json.loads((DASHBOARD_DIR / "season-stability.json").read_text("utf-8"))
    panel = next(p for p in data["panels"] if "household_use" in json.dumps(p))
    assert panel["title"].startswith("疑似未使用/复烧户（按村）")
    assert "不发告警" in panel["description"] and "no alert" in panel["description"]
    names = {
        o["matcher"]["options"]: o["properties"][0]["value"]
        for o in panel["fieldConfig"]["overrides"]
    }
    assert names["use_ratio"] == USE_COST_COLUMNS["use_ratio"].zh == FIELDS["use_ratio"].zh
    assert names["village"] == FIELDS["village"].zh
    assert 'r.use_state == "under_used"' in season.UNDER_USED_TABLE


def test_no_alert_rule_reads_household_use() -> None:
    """Under-use is casework for the county office, not an outage: nothing pages on it."""
    for path in ALERTING_DIR.glob("*.yaml"):
        assert "household_use" not in path.read_text("utf-8"), path
    rules = yaml.safe_load((ALERTING_DIR / "rules.yaml").read_text("utf-8"))
    assert "household_use" not in json.dumps(rules)
    assert all(
        "household_use" not in json.dumps(alerting.file_rule(s)) for s in alerting.rule_specs()
    )


def test_the_report_says_what_network_homes_are_judged_on() -> None:
    """Network homes with a heat meter are judged on the heat delivered; the others are not,
    and the section says so, and why, by their devices (not a silent pass)."""
    from heatwatch.report.use_cost import network_counts, network_note

    r = _result()
    total, meter, indoor, station = network_counts(r)
    net = [h for h in TRUTH if h.startswith(("D-", "M-"))]
    assert total == len(net) and meter == sum(1 for h in net if h.startswith("M-")) == 8
    assert meter + indoor + station == total
    assert station == sum(1 for t in TRUTH.values() if t == "not_judged") >= 1
    zh, en = network_note(r, "zh"), network_note(r, "en")
    assert zh.startswith(
        f"热网户（集中供热、锅炉房、生物质）{total} 户：其中 {meter} 户有户用热量表"
    )
    assert f"其余 {total - meter} 户未判定用能" in zh and "故不判定" in zh
    assert "室温采集器" in zh
    assert f"{meter} have a household heat meter and are judged on use" in en
    assert "not judged" in en


def test_the_ledger_says_why_a_network_home_without_a_heat_meter_is_not_judged() -> None:
    """Not a blank 未判定: the reason, by household; a heat-meter home gets its state."""
    import numpy as np

    from heatwatch.report.use_cost import ledger_use_cost_columns

    r = _result()
    order = np.arange(len(r.table))
    _, cols = ledger_use_cost_columns(r, "zh", order)
    state = dict(zip(r.table.ids, cols[0], strict=True))
    assert state["D-01"] == "未判定（热网户，无户用热量表：没有每户用热量）"
    assert state["M-01"] == "正常使用" and state["M-PART"] == "疑似未使用/复烧"
    _, en = ledger_use_cost_columns(r, "en", order)
    assert dict(zip(r.table.ids, en[0], strict=True))["D-01"].startswith("not judged (network")
