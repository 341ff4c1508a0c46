"""An incident as the sink writes it to InfluxDB (``incident`` points, one series per
incident and state, docs/influx-schema.md), read back: the newest state of each incident.

One reading of the schema, used by the reports' InfluxDB source (streams/sinks/influx_read.py)
and by the tests' and benches' inspection of a pipeline run (streams/inspect.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from contract.incidents import Incident

BEIJING = timezone(timedelta(hours=8))
_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def newer_incident_point(row: dict[str, Any], prev: dict[str, Any]) -> bool:
    """Whether ``row`` (a pivoted ``incident`` point) is a later state of the incident than
    ``prev``: resolved beats open; then a raised severity (an escalation) beats the earlier."""
    if (row["state"] == "resolved") != (prev["state"] == "resolved"):
        return bool(row["state"] == "resolved")
    return _SEVERITY_RANK.get(row["severity"], 0) > _SEVERITY_RANK.get(prev["severity"], 0)


def incident_from_point(v: dict[str, Any]) -> Incident:
    """The ``Incident`` a pivoted ``incident`` point (tags and fields) describes."""

    def at(epoch: int | None) -> datetime | None:
        return datetime.fromtimestamp(epoch, BEIJING) if epoch else None

    return Incident.model_validate(
        {
            "incident_id": v["incident_id"],
            "kind": v["kind"],
            "entity_type": v["entity_type"],
            "entity_id": v["entity_id"],
            "county": v["county"],
            "village": v.get("village") or None,
            "started_at": at(v["started_at"]),
            "ended_at": at(v.get("ended_at")),
            "severity": v["severity"],
            "households_affected": v["households_affected"],
            "priority_households": v["priority_households"],
            "parent_id": v.get("parent_id") or None,
            "details": orjson.loads(v["details"]) if v.get("details") else {},
        }
    )


def newest_incidents(points: Iterable[dict[str, Any]]) -> list[Incident]:
    """Each incident's newest state, by start then id."""
    best: dict[str, dict[str, Any]] = {}
    for row in points:
        prev = best.get(row["incident_id"])
        if prev is None or newer_incident_point(row, prev):
            best[row["incident_id"]] = row
    return sorted(
        (incident_from_point(v) for v in best.values()),
        key=lambda i: (i.started_at, i.incident_id),
    )
