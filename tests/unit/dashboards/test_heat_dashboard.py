"""The 集中供热 dashboard reads exactly what the sink writes, and shows what a dispatcher needs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from contract.glossary import INCIDENT_KINDS
from dashboards.generate import dashboard_json
from dashboards.heat import EMISSION_LIMITS, HEAT_KINDS
from streams.core.heat import SEVERITIES, snapshot_domain
from tests.unit.dashboards.heat_scenario import heat_run, line_protocol


def _written() -> dict[str, tuple[set[str], set[str]]]:
    """measurement → (tag keys, field keys) of every line the sink writes for a heat day."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for raw in line_protocol(heat_run(), 1_900_000_000):
        text = raw.decode()
        series, fields, _ = re.split(r"(?<!\\) ", text)
        measurement, *tags = re.split(r"(?<!\\),", series)
        tag_keys, field_keys = out.setdefault(measurement, (set(), set()))
        tag_keys.update(t.split("=", 1)[0] for t in tags)
        field_keys.update(f.split("=", 1)[0] for f in re.split(r",(?=\w+=)", fields))
    return out


WRITTEN = _written()


def _blocks(query: str) -> list[str]:
    return query.split("from(bucket:")[1:]


def _queries(name: str) -> list[tuple[str, str]]:
    return [
        (p["title"], t["query"])
        for p in dashboard_json(name)["panels"]
        for t in p.get("targets", [])
    ]


HEAT_MEASUREMENTS = {"heat_station", "stack_emission_hourly", "heat_station_daily"}


@pytest.mark.parametrize("name", ["heat", "dispatch-overview"])
def test_every_heat_query_names_measurements_fields_and_tags_the_sink_writes(name: str) -> None:
    checked = 0
    for title, query in _queries(name):
        for block in _blocks(query):
            (measurement,) = re.findall(r'r\._measurement == "(\w+)"', block)
            if name == "dispatch-overview" and measurement not in HEAT_MEASUREMENTS:
                continue
            tags, fields = WRITTEN[measurement]
            wanted = set(re.findall(r'r\._field == "(\w+)"', block))
            assert wanted <= fields, (title, measurement, wanted - fields)
            filtered = set(re.findall(r"r\.(\w+) =~ /", block))
            assert filtered <= tags, (title, measurement, filtered - tags)
            checked += 1
    assert checked >= (10 if name == "heat" else 1)


def test_open_heat_incidents_are_exactly_the_cores_heat_kinds() -> None:
    assert set(HEAT_KINDS) == {k.value for k in SEVERITIES}
    assert set(HEAT_KINDS) <= set(INCIDENT_KINDS)
    (table,) = [
        p for p in dashboard_json("heat")["panels"] if p["title"].startswith("进行中的供热事件")
    ]
    query = table["targets"][0]["query"]
    kinds = set(re.findall(r'r\.kind == "(\w+)"', query))
    assert kinds == {*HEAT_KINDS, "comm_loss"}
    # comm_loss only as a heat station's silence, never a meter's
    assert '(r.kind == "comm_loss" and r.entity_type == "heat_station")' in query
    assert table["timeFrom"] == "30d"  # an interruption opened days ago is still listed


def _panel(prefix: str) -> dict[str, Any]:
    (panel,) = [p for p in dashboard_json("heat")["panels"] if p["title"].startswith(prefix)]
    return panel


@pytest.mark.parametrize(
    ("prefix", "field", "limit"),
    [("颗粒物", "particulates_mg_m3", 10.0), ("二氧化硫", "so2_mg_m3", 35.0),
     ("氮氧化物", "nox_mg_m3", 50.0)],
)  # fmt: skip
def test_emission_panels_draw_the_ultra_low_limits(prefix: str, field: str, limit: float) -> None:
    panel = _panel(prefix)
    assert EMISSION_LIMITS[field] == limit
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, limit] and steps[1]["color"] == "red"
    assert f'r._field == "{field}"' in panel["targets"][0]["query"]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_supply_is_drawn_against_the_heating_curve_in_words() -> None:
    panel = _panel("二次供水与供热曲线")
    renames = {
        t["options"]["regex"]: t["options"]["renamePattern"] for t in panel["transformations"]
    }
    assert renames == {
        "/\\bsecondary_supply_c\\b/g": "二次供水温度",
        "/\\bcurve_supply_c\\b/g": "供热曲线温度",
    }


def test_the_map_and_the_county_variable_are_there() -> None:
    data = dashboard_json("heat")
    assert data["uid"] == "heatwatch-heat" and data["title"].startswith("集中供热")
    names = [v["name"] for v in data["templating"]["list"]]
    assert names == ["bucket", "county", "village", "heat_station_id"]
    (geo,) = [p for p in data["panels"] if p["type"] == "geomap"]
    assert 'r._measurement == "heat_station"' in geo["targets"][0]["query"]


def test_the_dispatch_overview_includes_heat() -> None:
    panels = dashboard_json("dispatch-overview")["panels"]
    titles = [p["title"] for p in panels]
    assert "供热事件 Open heat incidents" in titles
    assert "供热不足户数 Heat households affected" in titles
    (geo,) = [p for p in panels if p["type"] == "geomap"]
    assert "heat_station" in geo["targets"][0]["query"]


def _flux_value(expression: str, row: dict[str, Any]) -> float:
    """Evaluate one of the heat rules' value expressions (Flux) on a pivoted row."""
    py = re.sub(r"\(if (.+?) then (.+?) else (.+?)\)", r"((\2) if (\1) else (\3))", expression)
    py = re.sub(r"r\.(\w+)", r"row['\1']", py)
    return float(eval(py, {"row": row}))  # our own generated expression, not input


def test_heat_digest_values_count_top_level_incidents_exactly() -> None:
    """The snapshot counts a station page and its children alike; the rules' derived values
    equal the top-level incidents' own households and priority households."""
    from dashboards.alerting import HEAT_VALUES

    result = heat_run()
    checked = 0
    for m in result.snapshot:
        row = {**m.tags, **{k: float(v) for k, v in m.fields.items()}}
        top = [
            i
            for i in result.incidents
            if i.ended_at is None
            and i.parent_id is None
            and (i.county, i.kind.value, i.severity.value, snapshot_domain(i))
            == (m.tags["county"], m.tags["kind"], m.tags["severity"], m.tags.get("domain", ""))
        ]
        assert _flux_value(HEAT_VALUES["A"], row) == len(top)
        assert _flux_value(HEAT_VALUES["HQ"], row) == sum(i.households_affected for i in top)
        assert _flux_value(HEAT_VALUES["PQ"], row) == sum(i.priority_households for i in top)
        checked += bool(top)
    # interruption (critical), low, cold homes, emissions; HS-4 silent (warning), D0's sensor
    # silent (info): the heat comm_loss rows (domain=heat) follow the same formulas
    assert checked == 6
