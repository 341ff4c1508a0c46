"""Generated dashboards and alerting files: up to date, SDK-valid, provisioning-format-valid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import alerting
from dashboards.common import DATASOURCE_UID, FluxQuery, render_flux
from dashboards.generate import ALERTING_DIR, BUILDERS, DASHBOARD_DIR, dashboard_json, generate
from dashboards.heat import HEAT_KINDS

REPO = Path(__file__).resolve().parents[3]


def test_committed_files_match_generator(tmp_path: Path) -> None:
    generate(tmp_path / "dash", tmp_path / "alerting")
    for fresh_dir, committed_dir in (
        (tmp_path / "dash", DASHBOARD_DIR),
        (tmp_path / "alerting", ALERTING_DIR),
    ):
        fresh = sorted(p.name for p in fresh_dir.iterdir())
        assert fresh == sorted(p.name for p in committed_dir.iterdir() if p.is_file())
        for name in fresh:
            assert (fresh_dir / name).read_text("utf-8") == (committed_dir / name).read_text(
                "utf-8"
            ), f"{committed_dir / name} is stale or hand-edited: run python -m dashboards.generate"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", tmp_path / "aa")
    generate(tmp_path / "b", tmp_path / "bb")
    for d1, d2 in (("a", "b"), ("aa", "bb")):
        for p in (tmp_path / d1).iterdir():
            assert p.read_bytes() == (tmp_path / d2 / p.name).read_bytes()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_dashboard_round_trips_through_sdk_model(name: str) -> None:
    data = dashboard_json(name)
    model = Dashboard.from_json(data)
    again = json.loads(json.dumps(model, cls=JSONEncoder))
    data.pop("panels")
    panels_again = again.pop("panels")
    assert {k: again[k] for k in data} == data
    assert all(
        isinstance(t, FluxQuery)
        for p in model.panels or []
        for t in (getattr(p, "targets", None) or [])
    )
    assert len(panels_again) == len(dashboard_json(name)["panels"])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_panel_has_a_flux_query_on_our_datasource(name: str) -> None:
    data = dashboard_json(name)
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    assert data["uid"].startswith("heatwatch-") and data["refresh"] and data["time"]["from"]
    for panel in data["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
        for t in panel["targets"]:
            assert t["datasource"]["uid"] == DATASOURCE_UID
            assert "from(bucket:" in t["query"] and "v.timeRangeStart" in t["query"]
        assert re.search(r"[\u4e00-\u9fff]", panel["title"]), "Chinese title expected"
        assert panel.get("description"), panel["title"]
    names = {v["name"] for v in data["templating"]["list"]}
    assert {"bucket", "county"} <= names


def test_render_flux_matches_grafana_interpolation() -> None:
    q = (
        'from(bucket: "${bucket}") |> range(start: v.timeRangeStart, stop: v.timeRangeStop)'
        " |> filter(fn: (r) => r.county =~ /^${county:regex}$/) |> aggregateWindow(every: v.windowPeriod)"
    )
    out = render_flux(
        q,
        {"bucket": "b", "county": ["忻府区", "代县"]},
        start="2021-11-15T00:00:00Z",
        stop="2021-11-16T00:00:00Z",
    )
    assert out == (
        'from(bucket: "b") |> range(start: 2021-11-15T00:00:00Z, stop: '
        "2021-11-16T00:00:00Z) |> filter(fn: (r) => r.county =~ /^(忻府区|代县)$/)"
        " |> aggregateWindow(every: 1m0s)"
    )
    assert "/^.*$/" in render_flux(q, {"bucket": "b", "county": None}, start="s", stop="t")


# --------------------------------------------------------------------------- alerting files


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ALERTING_DIR / name).read_text("utf-8"))
    assert doc["apiVersion"] == 1
    return doc


def _datasource_uids() -> set[str]:
    uids = {DATASOURCE_UID, "__expr__"}
    ds_file = REPO / "deploy/grafana/provisioning/datasources/influxdb.yaml"
    if ds_file.exists():
        ds_doc = yaml.safe_load(ds_file.read_text("utf-8"))
        file_uids = {d.get("uid") for d in ds_doc.get("datasources", [])}
        assert DATASOURCE_UID in file_uids, "datasource provisioning lacks heatwatch-influxdb"
        uids |= file_uids
    return uids


def test_rules_file_format() -> None:
    doc = _load("rules.yaml")
    uids: list[str] = []
    known = _datasource_uids()
    for group in doc["groups"]:
        assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
        for rule in group["rules"]:
            uids.append(rule["uid"])
            assert {
                "uid",
                "title",
                "condition",
                "data",
                "noDataState",
                "execErrState",
                "for",
                "keepFiringFor",
                "annotations",
                "labels",
            } <= set(rule)
            assert rule["noDataState"] in {"Alerting", "NoData", "OK", "KeepLast"}
            assert rule["execErrState"] in {"Alerting", "Error", "OK", "KeepLast"}
            refs = {d["refId"] for d in rule["data"]}
            assert rule["condition"] in refs
            for d in rule["data"]:
                assert d["datasourceUid"] in known
                assert d["model"]["refId"] == d["refId"]
                if d["datasourceUid"] == "__expr__":
                    assert d["model"]["expression"] in refs
                else:
                    assert "relativeTimeRange" in d and d["model"]["query"]
            # Env interpolation: annotations only expand ${VAR}; none must appear there.
            assert not any("${" in v for v in rule["annotations"].values())
    assert len(uids) == len(set(uids))


def test_incident_rules_never_resolve_on_silence() -> None:
    by_uid = {s.uid: s for s in alerting.rule_specs()}
    for uid in ("hw-incident-critical", "hw-incident-warning", "hw-priority-households"):
        assert by_uid[uid].no_data == "KeepLast" and by_uid[uid].exec_err == "KeepLast"
    assert by_uid["hw-worker-heartbeat"].no_data == "Alerting"
    assert by_uid["hw-worker-heartbeat"].exec_err == "Alerting"
    for spec in by_uid.values():  # low-cardinality measurements only
        for q in spec.queries.values():
            assert "household_day" not in q
            if spec.labels.get("scope") != "entity":
                assert '"incident"' not in q


def test_entity_rules_read_only_open_top_level_incidents_of_paging_kinds() -> None:
    """Per-entity rules: one series per open top-level incident; households only when in a
    priority group; quiet (OK) when nothing is open; range long enough for a live incident."""
    entity = [s for s in alerting.rule_specs() if s.labels.get("scope") == "entity"]
    kinds: set[str] = set()
    for spec in entity:
        assert spec.no_data == "OK" and spec.range_s >= 7 * 86400
        # one pass decides which incidents are open, the second pivots only those
        assert "findColumn" in spec.queries["A"]
        assert "contains(value: r.incident_id" in spec.queries["A"]
        for q in spec.queries.values():
            assert 'r.state == "open"' in q and 'r.parent_id == ""' in q
            found = set(re.findall(r'r\.kind == "(\w+)"', q))
            kinds |= found
            if "household_outage" in found:
                assert "r._value > 0" in q  # on the priority_households field
            if found & set(HEAT_KINDS):  # station pages only, never one per cold home
                assert 'r.entity_type == "heat_station"' in q
            if "comm_loss" in found:  # a heat station's silence, never a meter's
                assert set(re.findall(r'r\.entity_type == "(\w+)"', q)) == {"heat_station"}
    assert kinds == {
        "feeder_outage",
        "feeder_overload",
        "gas_supply_shortfall",
        "household_outage",
        "comm_loss",
        *HEAT_KINDS,
    }


def test_contact_points_policies_mute_timings_templates() -> None:
    cps = _load("contact-points.yaml")["contactPoints"]
    names = {c["name"] for c in cps}
    types = {r["type"] for c in cps for r in c["receivers"]}
    assert {"webhook", "email", "dingding", "wecom"} <= types
    rec_uids = [r["uid"] for c in cps for r in c["receivers"]]
    assert len(rec_uids) == len(set(rec_uids))
    for c in cps:
        for r in c["receivers"]:
            assert r["settings"]
            secrets = [
                v
                for k, v in r["settings"].items()
                if k in {"url", "authorization_credentials", "addresses"}
            ]
            assert all(re.fullmatch(r"\$\{HEATWATCH_[A-Z_]+\}", s) for s in secrets), secrets
    mutes = {m["name"] for m in _load("mute-timings.yaml")["muteTimes"]}

    def walk(route: dict[str, Any]) -> None:
        assert route.get("receiver", "x") in names | {"x"}
        assert set(route.get("mute_time_intervals", [])) <= mutes
        for child in route.get("routes", []):
            walk(child)

    (policy,) = _load("policies.yaml")["policies"]
    assert policy["receiver"] in names
    walk(policy)
    matchers = {tuple(m) for r in policy["routes"] for m in r.get("object_matchers", [])}
    assert ("severity", "=", "critical") in matchers
    assert ("county", "=", "忻府区") in matchers
    (tpl,) = _load("templates.yaml")["templates"]
    for word in ("summary", "description", "runbook", "dashboard", "summary_en", "StartsAt"):
        assert word in tpl["template"]
    assert '{{ define "heatwatch.message" }}' in tpl["template"]
