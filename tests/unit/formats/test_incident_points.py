"""Reading incidents back from their InfluxDB points: the newest state of each."""

from __future__ import annotations

from typing import Any

from formats.incident_points import newest_incidents


def _point(incident_id: str, state: str, severity: str, **fields: Any) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "kind": "household_outage",
        "entity_type": "household",
        "entity_id": "H1",
        "county": "忻府区",
        "village": "",
        "state": state,
        "severity": severity,
        "started_at": 1638316800,
        "ended_at": 1638320400 if state == "resolved" else 0,
        "households_affected": 1,
        "priority_households": 0,
        "parent_id": "",
        "details": '{"cause": "last_gasp"}',
        **fields,
    }


def test_resolved_beats_open_and_an_escalation_beats_the_earlier_severity() -> None:
    points = [
        _point("a", "resolved", "warning"),
        _point("a", "open", "critical"),  # seen after its resolution: still resolved
        _point("b", "open", "warning"),
        _point("b", "open", "critical"),  # escalated
        _point("b", "open", "warning"),
    ]
    got = {i.incident_id: i for i in newest_incidents(points)}
    assert got["a"].ended_at is not None and got["a"].severity.value == "warning"
    assert got["b"].ended_at is None and got["b"].severity.value == "critical"


def test_a_point_becomes_the_incident_it_describes() -> None:
    (inc,) = newest_incidents([_point("c", "open", "warning", village="东楼村", parent_id="p")])
    assert (inc.village, inc.parent_id, inc.details) == ("东楼村", "p", {"cause": "last_gasp"})
    assert inc.started_at.utcoffset() is not None and inc.started_at.timestamp() == 1638316800
    (bare,) = newest_incidents([_point("d", "open", "info", details="")])
    assert (bare.village, bare.parent_id, bare.details) == (None, None, {})
