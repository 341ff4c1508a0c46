"""Table panels as a dispatcher reads them: overrides of the generated JSON applied to rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboards.dispatch import NEWEST_INCIDENT_COLUMNS
from dashboards.gas import QUOTA_COLUMNS
from dashboards.generate import dashboard_json
from dashboards.preview import markdown, table_view


def _panel(name: str, prefix: str) -> dict[str, Any]:
    (panel,) = [p for p in dashboard_json(name)["panels"] if p["title"].startswith(prefix)]
    return panel


def test_newest_incident_row_reads_in_chinese_and_beijing_time() -> None:
    row = {  # as the query returns it (incident and duration worded by the query itself)
        "started_at": datetime(2021, 12, 7, 23, 47, tzinfo=UTC),
        "county": "代县",
        "village": "东楼村",
        "incident": "台区停电：台区 F-DX-0007",
        "severity": "critical",
        "state": "open",
        "households_affected": 150,
        "priority_households": 3,
        "duration": "已持续 1小时30分",
        "incident_id": "inc-1",
        "kind_code": "feeder_outage",
    }
    header, cells = table_view(
        _panel("dispatch-overview", "最新事件"), [row], NEWEST_INCIDENT_COLUMNS
    )
    assert header == ["开始时间", "县（市、区）", "村", "事件", "级别", "状态", "影响户数",
                      "重点群体户数", "持续时长"]  # fmt: skip
    assert cells[0] == [
        "2021-12-08 07:47",
        "代县",
        "东楼村",
        "台区停电：台区 F-DX-0007",
        "严重",
        "进行中",
        "150 户",
        "3 户",
        "已持续 1小时30分",
    ]
    assert "| 开始时间 |" in markdown(header, cells)


def test_quota_without_burn_shows_dashes_not_1970() -> None:
    rows = [
        {
            "county": "五台县",
            "quota_m3": 30000.0,
            "used_m3": 20000.0,
            "remaining_m3": 10000.0,
            "burn_m3_per_day": 900.0,
            "days_left": 11.1,
            "exhaustion": datetime(2021, 12, 19, 2, 0, tzinfo=UTC),
            "households_at_risk": 12.0,
        },
        {
            "county": "忻府区",
            "quota_m3": 30000.0,
            "used_m3": 0.0,
            "remaining_m3": 30000.0,
            "burn_m3_per_day": 0.0,
            "days_left": -1.0,
            "exhaustion": datetime(1970, 1, 1, tzinfo=UTC),
            "households_at_risk": 0.0,
        },
    ]
    header, cells = table_view(_panel("gas", "预计耗尽日期"), rows, QUOTA_COLUMNS)
    assert header == [
        "县（市、区）",
        "合同气量",
        "已用气量",
        "剩余气量",
        "日均用气",
        "可用天数",
        "预计耗尽日期",
        "风险户数",
    ]
    assert cells[0][5:7] == ["11.1 天", "2021-12-19"]
    assert cells[1][5:7] == ["—", "—"]
    assert "1970" not in markdown(header, cells)
