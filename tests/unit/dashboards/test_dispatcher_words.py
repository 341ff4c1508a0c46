"""The dashboards speak the dispatcher's words: glossary names, mapped codes, units, no epochs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from contract.glossary import FIELDS, INCIDENT_KINDS, RETROFIT_TYPES
from dashboards.common import CODE_COLUMNS
from dashboards.generate import BUILDERS, dashboard_json, render

CJK = re.compile(r"[\u4e00-\u9fff]")


def _panels(name: str) -> list[dict[str, Any]]:
    return [p for p in dashboard_json(name)["panels"] if p["type"] != "row"]


def _kept_columns(query: str) -> list[str]:
    m = re.search(r"keep\(columns: \[(.*?)\]\)", query, re.S)
    return re.findall(r'"(\w+)"', m.group(1)) if m else []


def _overrides(panel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        if o["matcher"]["id"] == "byName":
            out[o["matcher"]["options"]] = {p["id"]: p["value"] for p in o["properties"]}
    return out


def test_feeders_are_tai_qu_never_xian_lu() -> None:
    text = json.dumps(render(), ensure_ascii=False)
    assert "线路" not in text
    assert "台区" in text


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_table_column_has_its_glossary_name_and_codes_are_mapped(name: str) -> None:
    tables = [p for p in _panels(name) if p["type"] in ("table", "geomap")]
    assert tables
    for panel in tables:
        overrides = _overrides(panel)
        columns = _kept_columns(panel["targets"][0]["query"])
        if not columns:  # ratio tables: the group key and the reduced value
            assert "_value" in overrides, panel["title"]
            columns = ["county", "retrofit_type", "_value"]
        for column in columns:
            if column == "_value":  # the ratio tables name it after their measure
                assert CJK.search(overrides["_value"]["displayName"]), panel["title"]
                continue
            if column in ("lat", "lon"):
                continue
            props = overrides.get(column)
            assert props is not None, f"{panel['title']}: column {column} shown raw"
            assert CJK.search(props["displayName"]), (panel["title"], column)
            if column in CODE_COLUMNS and not (panel["type"] == "geomap" and column == "state"):
                (mapping,) = props["mappings"]
                shown = {code: opt["text"] for code, opt in mapping["options"].items()}
                for code, term in CODE_COLUMNS[column].items():
                    assert shown[code] == (term.zh or "—")


def test_the_incident_column_reads_in_words_and_durations_in_chinese() -> None:
    """The incident column is 台区停电：台区 F-XF-0001 (the glossary's words inside the query),
    not the incident's id; durations are text (1小时48分), not Grafana's "1.8 hour"."""
    (table,) = [p for p in _panels("dispatch-overview") if p["title"].startswith("最新事件")]
    over = _overrides(table)
    assert over["incident"]["displayName"] == FIELDS["incident"].zh == "事件"
    assert over["duration"]["displayName"] == "持续时长" and "unit" not in over["duration"]
    assert over["incident_id"]["custom.hidden"] is True and over["kind_code"]["custom.hidden"]
    assert over["started_at"]["displayName"] == "开始时间"
    query = table["targets"][0]["query"]
    assert '{key: "feeder_outage", value: "台区停电"}' in query
    assert '{key: "feeder", value: "台区"}' in query
    assert '"已持续"' in query and '"小时"' in query and "duration_s" in query
    assert "1.8 hour" not in json.dumps(dashboard_json("dispatch-overview"))


def test_gas_exhaustion_shows_a_dash_not_1970() -> None:
    (table,) = [p for p in _panels("gas") if p["title"].startswith("预计耗尽日期")]
    assert "1970" not in json.dumps(table)
    ex = _overrides(table)["exhaustion"]
    assert ex["unit"] == "time:YYYY-MM-DD"
    texts = [m["options"]["0"]["text"] for m in ex["mappings"] if m["type"] == "value"]
    ranges = [m["options"] for m in ex["mappings"] if m["type"] == "range"]
    assert texts == ["—"]
    assert (
        ranges and ranges[0]["from"] < 0 <= ranges[0]["to"] and ranges[0]["result"]["text"] == "—"
    )
    days = _overrides(table)["days_left"]["mappings"][0]["options"]
    assert days["to"] < 0 and days["result"]["text"] == "—"  # days_left = -1 means no burn


def test_drop_downs_show_chinese_labels_with_code_values() -> None:
    variables = {
        v["name"]: v
        for name in ("season-stability", "dispatch-overview")
        for v in dashboard_json(name)["templating"]["list"]
    }
    retrofit = variables["retrofit_type"]
    assert retrofit["label"] == "改造类型"
    pairs = dict(p.split(" : ") for p in retrofit["query"].split(","))
    assert pairs == {t.zh: code for code, t in RETROFIT_TYPES.items()}
    kinds = dict(p.split(" : ") for p in variables["kind"]["query"].split(","))
    assert kinds["台区停电"] == "feeder_outage" and len(kinds) == len(INCIDENT_KINDS)
    for v in variables.values():
        if v["type"] != "constant":
            assert CJK.search(v["label"]), v["name"]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_numbers_carry_units(name: str) -> None:
    for panel in _panels(name):
        if panel["type"] in ("stat", "timeseries", "bargauge"):
            assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]


@pytest.mark.parametrize(
    ("name", "prefix", "codes"),
    [
        ("dispatch-overview", "事件趋势", INCIDENT_KINDS),
        ("dispatch-overview", "活动事件（县/类型）", INCIDENT_KINDS),
        ("season-stability", "每日可用率", RETROFIT_TYPES),
    ],
)
def test_series_named_by_codes_are_renamed_to_terms(name: str, prefix: str, codes: Any) -> None:
    (panel,) = [p for p in _panels(name) if p["title"].startswith(prefix)]
    renames = {
        t["options"]["regex"]: t["options"]["renamePattern"]
        for t in panel["transformations"]
        if t["id"] == "renameByRegex"
    }
    for code, term in codes.items():
        assert renames[f"/\\b{code}\\b/g"] == term.zh
    # What Grafana does with it (JS String.replace with a global regex) on a Flux series name:
    series = 'count {county="代县", kind="feeder_outage"}'
    for regex, term in renames.items():
        series = re.sub(regex[1:-2], term, series)
    if codes is INCIDENT_KINDS:
        assert series == 'count {county="代县", kind="台区停电"}'


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tables_show_columns_in_the_order_a_dispatcher_reads(name: str) -> None:
    for panel in _panels(name):
        columns = _kept_columns(panel["targets"][0]["query"])
        if panel["type"] != "table" or not columns:
            continue
        (organize,) = [t for t in panel["transformations"] if t["id"] == "organize"]
        order = organize["options"]["indexByName"]
        assert sorted(order, key=order.get) == [c for c in columns if c in order]
        assert organize["options"]["renameByName"] == {}  # overrides match the raw names
