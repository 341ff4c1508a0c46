"""The text a phone shows: rule annotations and the notification template rendered by Go.

Grafana renders alert text with Go's text/template; so does ``gotemplate/render.go`` (standard
library only), fed with Grafana's data shapes. Skipped where no Go toolchain is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dashboards import alerting

RENDERER = Path(__file__).parent / "gotemplate" / "render.go"
GO = shutil.which("go") or (
    "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
)

# The slow tier (make slow, make test): every render runs `go run` in a subprocess (the first
# compiles the renderer).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(GO is None, reason="no Go toolchain to render Go templates"),
]

EXTERNAL_URL = "https://grafana.xinzhou.example/"


def _spec(uid: str) -> alerting.RuleSpec:
    return {s.uid: s for s in alerting.rule_specs()}[uid]


def _alert(uid: str, labels: dict[str, str], values: dict[str, float], **kw: Any) -> dict[str, Any]:
    spec = _spec(uid)
    rule = alerting.api_rule(spec)
    return {
        "status": kw.get("status", "firing"),
        "alertname": rule["title"],
        "rule_labels": rule["labels"],
        "labels": labels,
        "values": values,
        "annotations": rule["annotations"],
        "starts_at": kw.get("starts_at", "2021-12-07T23:47:00Z"),
        "ends_at": kw.get("ends_at", "0001-01-01T00:00:00Z"),
    }


def render(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    assert GO is not None
    payload = {"template": alerting.TEMPLATE, "external_url": EXTERNAL_URL, "alerts": alerts}
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local"}
    done = subprocess.run(
        [GO, "run", str(RENDERER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_a_critical_feeder_outage_reads_as_something_to_act_on() -> None:
    out = render(
        [
            _alert(
                "hw-incident-critical",
                {"county": "代县", "kind": "feeder_outage", "severity": "critical"},
                {"B": 2, "HH": 150, "PH": 3},
            )
        ]
    )
    msg = out["message"]
    assert out["title"] == "【严重】代县 台区停电：2 起，影响 150 户"
    assert msg.startswith("【严重】代县 台区停电：2 起，影响 150 户\n")
    assert (
        "其中重点群体（幼儿园/中小学校/养老机构/困难户/独居老人户/残疾人家庭/低收入家庭）3 户"
        in msg
    )
    assert "告警开始（北京时间）：2021-12-08 07:47" in msg  # 23:47 UTC
    assert "第一步：立即电话供电公司调度" in msg
    link = (
        "看板：https://grafana.xinzhou.example/d/heatwatch-dispatch?orgId=1&viewPanel="
        f"{alerting.panel_id('dispatch', '最新事件')}"
        "&var-county=%E4%BB%A3%E5%8E%BF&var-kind=feeder_outage"
    )
    assert link in msg
    chinese, english = msg.split("English:\n")
    assert "feeder_outage" not in chinese.replace("var-kind=feeder_outage", "")
    assert "NoData" not in msg and "县级汇总" not in msg
    assert english.startswith("[critical] 代县 feeder outage: 2 active, 150 households affected.")
    assert "Alert started 2021-12-07 23:47 UTC." in english
    assert "First step: Phone the power company's dispatch now" in english


def test_gas_shortfall_names_stations_households_and_the_gas_dashboard() -> None:
    out = render([_alert("hw-gas-shortfall", {"county": "五台县"}, {"B": 1, "HH": 42})])
    msg = out["message"]
    assert msg.startswith("【严重】五台县 燃气供应不足：1 座燃气调压站，低压户 42 户\n")
    assert "第一步：立即电话燃气公司调度" in msg
    assert "/d/heatwatch-gas?orgId=1&viewPanel=" in msg and "var-county=%E4%BA%94" in msg


def test_resolved_alerts_say_when_in_beijing_time() -> None:
    out = render(
        [
            _alert(
                "hw-incident-warning",
                {"county": "代县", "kind": "gas_low_pressure", "severity": "warning"},
                {"B": 1, "HH": 4, "PH": 0},
                status="resolved",
                ends_at="2021-12-08T02:05:00Z",
            )
        ]
    )
    assert out["title"] == "【已恢复】【警告】代县 用户燃气压力低：1 起，影响 4 户"
    assert (
        "【警告】代县 用户燃气压力低：1 起，影响 4 户（恢复于 2021-12-08 10:05）" in out["message"]
    )
    assert "Resolved: [warning] 代县 low gas pressure" in out["message"]


def test_every_kind_has_a_term_and_a_runbook_line() -> None:
    kinds = list(alerting.INCIDENT_KINDS)
    out = render(
        [
            _alert(
                "hw-incident-warning",
                {"county": "忻府区", "kind": kind, "severity": "warning"},
                {"B": 1, "HH": 1, "PH": 0},
            )
            for kind in kinds
        ]
    )
    assert out["title"] == f"【警告】忻府区 用户停电：1 起，影响 1 户 等 {len(kinds)} 条"
    for kind, ann in zip(kinds, out["annotations"], strict=True):
        assert (
            ann["summary"] == f"【警告】忻府区 {alerting.INCIDENT_KINDS[kind].zh}：1 起，影响 1 户"
        )
        assert ann["runbook"] == alerting.RUNBOOKS[kind].zh
        assert ann["runbook_en"] == alerting.RUNBOOKS[kind].en
        assert f"第一步：{alerting.RUNBOOKS[kind].zh}" in out["message"]


def _entity_labels(**kw: str) -> dict[str, str]:
    labels = {
        "county": "代县",
        "village": "东楼村",
        "kind": "feeder_outage",
        "severity": "critical",
        "entity_type": "feeder",
        "entity_id": "DX-F017",
        "incident_id": "inc-42",
        "started_at_beijing": "2021-12-08 07:40",
    }
    return {**labels, **kw}


def test_a_feeder_outage_page_names_the_feeder_village_start_and_households() -> None:
    out = render([_alert("hw-entity-feeder", _entity_labels(), {"B": 1, "HH": 150, "PH": 3})])
    msg = out["message"]
    assert out["title"] == "【严重】代县 东楼村 台区停电：台区 DX-F017，影响 150 户，重点群体 3 户"
    assert msg.startswith(out["title"] + "\n")
    assert (
        "台区 DX-F017（代县 东楼村）台区停电，事件开始（北京时间）2021-12-08 07:40，"
        "影响 150 户，其中重点群体（幼儿园/中小学校/养老机构/困难户/独居老人户/残疾人家庭/低收入家庭）3 户。"
    ) in msg
    assert "第一步：立即电话供电公司调度" in msg
    link = (
        "看板：https://grafana.xinzhou.example/d/heatwatch-power?orgId=1&viewPanel="
        f"{alerting.panel_id('power', '负荷与额定容量')}"
        "&var-county=%E4%BB%A3%E5%8E%BF&var-village=%E4%B8%9C%E6%A5%BC%E6%9D%91"
        "&var-feeder_id=DX-F017"
    )
    assert link in msg
    chinese, english = msg.split("English:\n")
    assert "feeder_outage" not in chinese and "{{" not in msg
    assert english.startswith(
        "[critical] 代县 东楼村 feeder outage: feeder DX-F017, 150 households affected, "
        "3 in priority groups."
    )
    assert "since 2021-12-08 07:40 Beijing time" in english
    assert out["annotations"][0]["entity_id"] == "DX-F017"
    assert out["annotations"][0]["households_affected"] == "150"


def test_an_overload_page_uses_its_own_term_and_runbook() -> None:
    labels = _entity_labels(kind="feeder_overload", severity="warning", entity_id="DX-F003")
    out = render([_alert("hw-entity-feeder", labels, {"B": 1, "HH": 60, "PH": 0})])
    assert out["title"].startswith("【警告】代县 东楼村 台区过载：台区 DX-F003")
    assert f"第一步：{alerting.RUNBOOKS['feeder_overload'].zh}" in out["message"]


def test_a_gas_station_page_selects_the_station_and_a_household_page_the_village() -> None:
    gas = _entity_labels(
        county="五台县",
        village="",
        kind="gas_supply_shortfall",
        entity_type="gas_station",
        entity_id="WT-S2",
    )
    home = _entity_labels(kind="household_outage", entity_type="household", entity_id="H0815")
    out = render(
        [
            _alert("hw-entity-gas-station", gas, {"B": 1, "HH": 85, "PH": 2}),
            _alert("hw-entity-priority-household", home, {"B": 1, "HH": 1, "PH": 1}),
        ]
    )
    msg = out["message"]
    # no village known: no empty village in the text or the link
    assert "【严重】五台县 燃气供应不足：燃气调压站 WT-S2，影响 85 户，重点群体 2 户\n" in msg
    assert "燃气调压站 WT-S2（五台县）燃气供应不足" in msg
    assert "&var-station_id=WT-S2" in msg and "var-village=&" not in msg
    assert "/d/heatwatch-gas?orgId=1&viewPanel=" in msg
    assert "【严重】代县 东楼村 用户停电：用户 H0815，影响 1 户，重点群体 1 户" in msg
    assert (
        "/d/heatwatch-dispatch?orgId=1&viewPanel="
        f"{alerting.panel_id('dispatch', '最新事件')}&var-county=%E4%BB%A3%E5%8E%BF"
        "&var-village=%E4%B8%9C%E6%A5%BC%E6%9D%91&var-kind=household_outage"
    ) in msg
    assert out["title"].endswith(" 等 2 条")


def test_an_entity_page_resolves_by_name() -> None:
    out = render(
        [
            _alert(
                "hw-entity-feeder",
                _entity_labels(),
                {"B": 1, "HH": 150, "PH": 3},
                status="resolved",
                ends_at="2021-12-08T03:10:00Z",
            )
        ]
    )
    assert out["title"].startswith("【已恢复】【严重】代县 东楼村 台区停电：台区 DX-F017")
    assert "（恢复于 2021-12-08 11:10）" in out["message"]


def test_a_station_trip_digest_names_the_heat_operator_step_and_the_heat_dashboard() -> None:
    out = render(
        [
            _alert(
                "hw-heat-heat-supply-interruption",
                {"county": "忻府区", "kind": "heat_supply_interruption", "severity": "critical"},
                {"B": 1, "HH": 4, "PH": 1},
            )
        ]
    )
    msg = out["message"]
    assert out["title"] == "【严重】忻府区 供热中断：1 起，影响 4 户"
    assert (
        "其中重点群体（幼儿园/中小学校/养老机构/困难户/独居老人户/残疾人家庭/低收入家庭）1 户"
        in msg
    )
    assert "对象编号（换热站/锅炉房/用户）" in msg
    assert "第一步：立即电话供热单位调度，核实换热站/锅炉房停运原因与恢复时间" in msg
    link = (
        "看板：https://grafana.xinzhou.example/d/heatwatch-heat?orgId=1&viewPanel="
        f"{alerting.panel_id('heat', '进行中的供热事件')}&var-county=%E5%BF%BB%E5%BA%9C%E5%8C%BA"
    )
    assert link in msg
    english = msg.split("English:\n")[1]
    assert english.startswith("[critical] 忻府区 heat supply interruption: 1 active, 4 households")
    assert "First step: Phone the heat operator's dispatch now" in english


def test_a_heat_station_page_selects_the_station_on_the_heat_dashboard() -> None:
    labels = {
        "county": "忻府区",
        "village": "东楼村",
        "kind": "emission_exceedance",
        "severity": "warning",
        "entity_type": "heat_station",
        "entity_id": "HS-1",
        "incident_id": "x",
        "started_at_beijing": "2021-12-08 09:00",
    }
    out = render([_alert("hw-entity-heat-station", labels, {"B": 1, "HH": 0, "PH": 0})])
    msg = out["message"]
    assert msg.startswith("【警告】忻府区 东楼村 排放超标：换热站/锅炉房 HS-1")
    assert "第一步：通知县生态环境部门与锅炉房核实在线监测数据" in msg
    assert "/d/heatwatch-heat?orgId=1&viewPanel=" in msg and "var-heat_station_id=HS-1" in msg


def test_a_silent_heat_station_names_the_telemetry_unit_and_the_heat_runbook() -> None:
    labels = {
        "county": "忻府区",
        "village": "东楼村",
        "kind": "comm_loss",
        "severity": "warning",
        "entity_type": "heat_station",
        "entity_id": "HS-1",
        "incident_id": "x",
        "started_at_beijing": "2021-12-08 09:00",
    }
    out = render([_alert("hw-entity-heat-station", labels, {"B": 1, "HH": 4, "PH": 1})])
    msg = out["message"]
    device = alerting.HEAT_DEVICES["heat_station"]
    assert out["title"] == (
        f"【警告】忻府区 东楼村 {device.zh}通信中断：换热站/锅炉房 HS-1，影响 4 户，重点群体 1 户"
    )
    assert f"第一步：{alerting.HEAT_COMM_LOSS_RUNBOOK.zh}" in msg
    assert alerting.RUNBOOKS["comm_loss"].zh not in msg  # never the concentrator's step
    assert "var-heat_station_id=HS-1" in msg
    english = msg.split("English:\n")[1]
    assert english.startswith(
        f"[warning] 忻府区 东楼村 {device.en} communication loss: heat station / boiler house HS-1"
    )
    assert f"First step: {alerting.HEAT_COMM_LOSS_RUNBOOK.en}." in english
    assert alerting.RUNBOOKS["comm_loss"].en not in english
