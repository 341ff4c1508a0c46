"""Who gets which alert, and when (if ever) warnings are muted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import alerting
from dashboards.generate import ALERTING_DIR


def _routes(policy: dict[str, Any]) -> list[dict[str, Any]]:
    out = [policy]
    for child in policy.get("routes", []):
        out.extend(_routes(child))
    return out


def _receivers_for(policy: dict[str, Any], labels: dict[str, str]) -> set[str]:
    """Alertmanager routing (continue, object matchers =, !=, =~) for one label set."""

    def matches(route: dict[str, Any]) -> bool:
        for name, op, value in route.get("object_matchers", []):
            have = labels.get(name, "")
            if op == "=" and have != value:
                return False
            if op == "!=" and have == value:
                return False
            if op == "=~" and have not in value.split("|"):
                return False
            if op not in {"=", "!=", "=~"}:
                raise AssertionError(f"matcher {op} not simulated here")
        return True

    def walk(route: dict[str, Any]) -> list[str]:
        got: list[str] = []
        for child in route.get("routes", []):
            if matches(child):
                got += walk(child)
                if not child.get("continue"):
                    break
        return got or [route["receiver"]]

    return set(walk(policy)) | {policy["receiver"]}


POLICY = alerting.notification_policy(windows=[])


def test_grid_alerts_reach_the_power_company_and_the_county_office() -> None:
    got = _receivers_for(
        POLICY, {"county": "代县", "kind": "feeder_outage", "severity": "critical"}
    )
    assert got == {
        alerting.RECEIVER_DISPATCH,
        alerting.RECEIVER_DINGTALK,
        "供电公司值班 企业微信",
        "代县 县清洁办 企业微信",
    }


def test_gas_alerts_reach_the_gas_company_not_the_power_company() -> None:
    got = _receivers_for(
        POLICY, {"county": "五台县", "kind": "gas_low_pressure", "severity": "warning"}
    )
    assert got == {alerting.RECEIVER_DISPATCH, "燃气公司值班 企业微信", "五台县 县清洁办 企业微信"}


def test_pipeline_alerts_reach_the_platform_team() -> None:
    assert alerting.RECEIVER_OPS_EMAIL in _receivers_for(
        POLICY, {"domain": "pipeline", "worker": "w1", "severity": "critical"}
    )


@pytest.mark.parametrize(
    ("kind", "severity", "team"),
    [
        ("feeder_outage", "critical", "供电公司值班 企业微信"),
        ("feeder_overload", "warning", "供电公司值班 企业微信"),
        ("household_outage", "critical", "供电公司值班 企业微信"),
        ("gas_supply_shortfall", "critical", "燃气公司值班 企业微信"),
    ],
)
def test_entity_pages_reach_their_team_and_the_county_digest(
    kind: str, severity: str, team: str
) -> None:
    """A per-entity alert carries the series' labels plus the rule's (scope=entity)."""
    labels = {
        "county": "代县",
        "village": "东楼村",
        "kind": kind,
        "severity": severity,
        "entity_id": "X1",
        "domain": "incidents",
        "scope": "entity",
    }
    got = _receivers_for(POLICY, labels)
    expected = {alerting.RECEIVER_DISPATCH, team, "代县 县清洁办 企业微信"}
    if severity == "critical":
        expected.add(alerting.RECEIVER_DINGTALK)
    assert got == expected


def test_nothing_is_muted_by_default() -> None:
    doc = yaml.safe_load((ALERTING_DIR / "mute-timings.yaml").read_text("utf-8"))
    assert doc["muteTimes"] == []
    (policy,) = yaml.safe_load((ALERTING_DIR / "policies.yaml").read_text("utf-8"))["policies"]
    assert not any(r.get("mute_time_intervals") for r in _routes(policy))


WINDOW = {
    "windows": [
        {
            "name": "daixian-feeder-works",
            "requested_by": "代县供电公司",
            "reason": "台区改造",
            "counties": ["代县"],
            "time_intervals": [{"times": [{"start_time": "09:00", "end_time": "12:00"}]}],
        }
    ]
}


def test_a_requested_window_mutes_only_that_countys_warnings_never_critical() -> None:
    windows = alerting.parse_maintenance_windows(WINDOW, "test.yaml")
    (mute,) = alerting.mute_timings(windows)
    assert mute["name"] == "maintenance-daixian-feeder-works"
    assert mute["time_intervals"][0]["location"] == "Asia/Shanghai"
    policy = alerting.notification_policy(windows)
    muted = [r for r in _routes(policy) if r.get("mute_time_intervals")]
    assert len(muted) == 1
    assert muted[0]["object_matchers"] == [["severity", "=", "warning"]]
    (daixian,) = [
        r for r in policy["routes"] if ["county", "=", "代县"] in r.get("object_matchers", [])
    ]
    assert muted[0] in daixian["routes"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "reason": "r", "time_intervals": [{}]}, "missing requested_by"),
        ({**WINDOW["windows"][0], "counties": ["北京"]}, "unknown county 北京"),
        ({**WINDOW["windows"][0], "name": "Tuesday mornings"}, "lower-case"),
    ],
)
def test_window_mistakes_are_named(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        alerting.parse_maintenance_windows({"windows": [entry]}, "w.yaml")


def test_the_committed_windows_file_parses(tmp_path: Path) -> None:
    assert alerting.maintenance_windows(alerting.MAINTENANCE_FILE) == []
    assert alerting.maintenance_windows(tmp_path / "absent.yaml") == []


HEAT_LABELS = [
    # the county digests (group heat): kind and domain from the rule, severity from the series
    {"domain": "heat", "kind": "heat_supply_interruption", "severity": "critical"},
    {"domain": "heat", "kind": "heat_supply_low", "severity": "warning"},
    {"domain": "heat", "kind": "indoor_temp_low", "severity": "warning"},
    {"domain": "heat", "kind": "emission_exceedance", "severity": "warning"},
    # a station page (entity rule): its labels come from the incident
    {"domain": "heat", "scope": "entity", "kind": "heat_supply_interruption",
     "severity": "critical", "entity_type": "heat_station", "entity_id": "HS-1"},
    # the priority digest counts heat kinds too
    {"domain": "incidents", "priority": "true", "kind": "indoor_temp_low", "severity": "critical"},
    # a silent heat station: a station page of kind comm_loss (the grid's kind name)
    {"domain": "heat", "scope": "entity", "kind": "comm_loss", "severity": "warning",
     "entity_type": "heat_station", "entity_id": "HS-1"},
]  # fmt: skip


@pytest.mark.parametrize("labels", HEAT_LABELS, ids=lambda d: f"{d['kind']}-{d['severity']}")
@pytest.mark.parametrize("county", ["代县", "五寨县", "忻府区"])
def test_a_heat_alert_in_a_county_reaches_that_countys_heat_operator(
    labels: dict[str, str], county: str
) -> None:
    got = _receivers_for(POLICY, {**labels, "county": county})
    expected = {
        alerting.RECEIVER_DISPATCH,
        f"{county} 供热单位值班 企业微信",
        f"{county} 县清洁办 企业微信",
    }
    if labels["severity"] == "critical":
        expected.add(alerting.RECEIVER_DINGTALK)
    assert got == expected  # never the power or gas company, nor another county's operator


def test_every_heat_rule_routes_by_kind_and_every_county_has_a_heat_contact_point() -> None:
    heat_rules = [s for s in alerting.rule_specs() if s.labels.get("domain") == "heat"]
    assert {s.uid for s in heat_rules} == {
        "hw-heat-heat-supply-interruption",
        "hw-heat-heat-supply-low",
        "hw-heat-indoor-temp-low",
        "hw-heat-emission-exceedance",
        "hw-entity-heat-station",
    }
    names = {cp["name"]: cp for cp in alerting.contact_points()}
    for county in alerting.COUNTIES:
        cp = names[f"{county} 供热单位值班 企业微信"]
        assert cp["settings"]["url"].startswith("${HEATWATCH_WECOM_URL_HEAT_")
    # an alert without a county (none today) still reaches the city's heat on-call
    got = _receivers_for(POLICY, {"kind": "heat_supply_low", "severity": "warning"})
    assert "供热单位值班 企业微信" in got


def test_every_contact_point_secret_has_a_line_in_env_example() -> None:
    """docker compose reads the contact points' placeholders from .env (made from the example)."""
    import re

    repo = ALERTING_DIR.parents[3]
    doc = (ALERTING_DIR / "contact-points.yaml").read_text("utf-8")
    needed = set(re.findall(r"\$\{(HEATWATCH_\w+)\}", doc))
    example = (repo / ".env.example").read_text("utf-8")
    assert needed - set(re.findall(r"^(HEATWATCH_\w+)=", example, re.M)) == set()
    assert "HEATWATCH_WECOM_URL_HEAT_DAIXIAN" in needed


@pytest.mark.parametrize("county", ["代县", "五寨县"])
def test_a_silent_heat_station_never_reaches_the_power_on_call(county: str) -> None:
    """The station page (hw-entity-heat-station) of a silent station: exactly dispatch, the
    county's heat operator and the county office; the same kind from a meter stays the
    power company's."""
    station = {
        "domain": "heat",
        "scope": "entity",
        "county": county,
        "village": "东楼村",
        "kind": "comm_loss",
        "severity": "warning",
        "entity_type": "heat_station",
        "entity_id": "HS-1",
    }
    assert _receivers_for(POLICY, station) == {
        alerting.RECEIVER_DISPATCH,
        f"{county} 供热单位值班 企业微信",
        f"{county} 县清洁办 企业微信",
    }
    meter = {"domain": "incidents", "county": county, "kind": "comm_loss", "severity": "warning"}
    assert _receivers_for(POLICY, meter) == {
        alerting.RECEIVER_DISPATCH,
        "供电公司值班 企业微信",
        f"{county} 县清洁办 企业微信",
    }


def test_the_station_page_covers_comm_loss_and_the_digests_leave_heat_comm_loss_out() -> None:
    specs = {s.uid: s for s in alerting.rule_specs()}
    station = specs["hw-entity-heat-station"]
    assert 'r.kind == "comm_loss"' in station.queries["A"]
    assert 'r.entity_type == "heat_station"' in station.queries["A"]
    assert station.labels["domain"] == "heat"
    for uid in ("hw-incident-critical", "hw-incident-warning", "hw-priority-households"):
        for query in specs[uid].queries.values():
            assert alerting.NOT_HEAT_DOMAIN in query, uid
    # no other rule reads the comm_loss of heat devices as its own
    for spec in specs.values():
        if spec.labels.get("domain") != "heat" and "active_incidents" in spec.queries["A"]:
            assert (
                alerting.NOT_HEAT_DOMAIN in spec.queries["A"]
                or 'r.kind == "' in (spec.queries["A"])
            ), spec.uid
