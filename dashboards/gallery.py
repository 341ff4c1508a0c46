"""A text gallery of the dashboards: a replay run's data through every stat and table panel.

    heatwatch replay --registry sim/registry.csv --input sim/readings.jsonl --out run --metrics
    . .stack/stack.env   # HEATWATCH_INFLUX_URL / _TOKEN / _ORG
    PYTHONPATH=. python -m dashboards.gallery run docs/dashboard-gallery.md

Writes the run's metrics, incidents, active-incident snapshot and household days into a
temporary bucket, runs each panel's query as Grafana would (all variables "All", the run's
time range), applies the panel's display names, value mappings and units
(:mod:`dashboards.preview`) and writes what a dispatcher would read. Deletes the bucket after.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contract.incidents import Incident
from contract.rollups import HouseholdDay
from dashboards.catalog import BUILDERS, dashboard_json
from dashboards.common import render_flux
from dashboards.preview import column_config, formatted, mapped, markdown, table_view
from streams.core.heat import snapshot_domain
from streams.core.incidents import Change
from streams.sinks.points import (
    active_incidents_line,
    household_day_line,
    incident_line,
    line,
)

MAX_ROWS = 8


def _metric_lines(run: Path) -> Iterator[str]:
    path = run / "metrics.jsonl"
    if not path.exists():
        return
    for raw in path.read_text("utf-8").splitlines():
        m = json.loads(raw)
        yield line(m["measurement"], m["tags"], m["fields"], int(m["ts"])).decode()


def _incident_lines(run: Path) -> tuple[list[str], int, str]:
    """Line protocol of the run's incidents and snapshot, the last time, and the incident
    with most children (the 下级事件 drill-down shows its children)."""
    incidents = [
        Incident.model_validate_json(raw)
        for raw in (run / "incidents.jsonl").read_text("utf-8").splitlines()
    ]
    last = max(int((i.ended_at or i.started_at).timestamp()) for i in incidents)
    lines = [incident_line(Change.OPENED, i, now_s=last).decode() for i in incidents]
    active: Counter[tuple[str, str, str, str]] = Counter()
    households: Counter[tuple[str, str, str, str]] = Counter()
    priority: Counter[tuple[str, str, str, str]] = Counter()
    for i in incidents:
        if i.ended_at is None and i.parent_id is None:
            # domain as the worker's snapshot has it (a heat device's comm_loss: heat)
            key = (i.county, i.kind.value, i.severity.value, snapshot_domain(i))
            active[key] += 1
            households[key] += i.households_affected
            priority[key] += i.priority_households
    for key, n in active.items():
        county, kind, severity, domain = key
        lines.append(
            active_incidents_line(
                county, kind, severity, "0", n, households[key], priority[key], n, last, domain
            ).decode()
        )
    kids = Counter(i.parent_id for i in incidents if i.parent_id)
    parent = min(kids, key=lambda p: (-kids[p], p)) if kids else ""
    return lines, last, parent


def _household_day_lines(run: Path) -> list[str]:
    import pyarrow.parquet as pq

    path = run / "rollups" / "household_days.parquet"
    if not path.exists():
        return []
    rows = pq.read_table(path).to_pylist()
    return [household_day_line(HouseholdDay.model_validate(r)).decode() for r in rows]


def _stat(panel: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    unit = panel["fieldConfig"]["defaults"].get("unit")
    value = rows[-1]["_value"] if rows else None
    shown = panel["fieldConfig"]["defaults"].get("noValue", "—") if value is None else None
    return shown or formatted(value, unit)


def _panel_section(panel: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    title = f"**{panel['title']}**"
    if panel["type"] == "stat":
        return f"- {title}: {_stat(panel, rows)}\n"
    if panel["type"] not in ("table", "geomap"):
        return ""
    config = column_config(panel)
    order: dict[str, int] = next(
        (
            t["options"]["indexByName"]
            for t in panel.get("transformations", [])
            if t["id"] == "organize"
        ),
        {},
    )
    columns = sorted(
        (c for c in (rows[0] if rows else {}) if c in config), key=lambda c: order.get(c, 99)
    )
    if panel["type"] == "geomap":
        columns = [c for c in ("name", "entity", "county", "village", "state") if c in columns]
    if not columns:
        return f"\n{title}: (no rows)\n"
    header, cells = table_view(panel, rows[:MAX_ROWS], columns)
    if panel["type"] == "geomap":  # the tooltip's words for each marker
        state = config.get("state", {}).get("mappings", [])
        for row, cell in zip(rows, cells, strict=False):
            cell[-1] = mapped(row.get("state"), state) or cell[-1]
    more = f"\n({len(rows) - MAX_ROWS} more rows)\n" if len(rows) > MAX_ROWS else ""
    return f"\n{title}\n\n{markdown(header, cells)}{more}"


def build(run: Path) -> str:
    influx: Any = importlib.import_module("influxdb_client")  # untyped library
    synchronous = importlib.import_module("influxdb_client.client.write_api").SYNCHRONOUS
    client: Any = influx.InfluxDBClient(
        url=os.environ["HEATWATCH_INFLUX_URL"],
        token=os.environ["HEATWATCH_INFLUX_TOKEN"],
        org=os.environ.get("HEATWATCH_INFLUX_ORG", "heatwatch"),
    )
    buckets = client.buckets_api()
    bucket = buckets.create_bucket(bucket_name=f"hw-gallery-{int(time.time())}")
    try:
        incident_lines, last, parent = _incident_lines(run)
        lines = [*_metric_lines(run), *incident_lines, *_household_day_lines(run)]
        client.write_api(write_options=synchronous).write(
            bucket=bucket.name, record=lines, write_precision=influx.WritePrecision.S
        )
        stop = datetime.fromtimestamp(last, UTC) + timedelta(minutes=1)
        start = stop - timedelta(days=30)
        variables: dict[str, Any] = {"bucket": bucket.name}
        variables |= dict.fromkeys(
            (
                "county",
                "village",
                "feeder_id",
                "station_id",
                "heat_station_id",
                "retrofit_type",
                "kind",
            )
        )
        variables["incident"] = parent
        out = [
            "# What the dashboards show (text gallery)\n\n"
            f"Generated by `python -m dashboards.gallery` from the replay run `{run.name}` "
            f"({len(lines):,} points, range {start:%Y-%m-%d} – {stop:%Y-%m-%d %H:%M} UTC): each "
            "panel's query run on InfluxDB 2.7, then the panel's display names, value mappings "
            f"and units applied. Stats and tables only; at most {MAX_ROWS} rows per table.\n"
        ]
        query_api = client.query_api()
        for name in BUILDERS:
            data = dashboard_json(name)
            out.append(f"\n## {data['title']}\n\n")
            for panel in data["panels"]:
                if panel["type"] not in ("stat", "table", "geomap"):
                    continue
                q = render_flux(
                    panel["targets"][0]["query"],
                    variables,
                    start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    stop=stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
                rows = [dict(r.values) for t in query_api.query(q) for r in t.records]
                out.append(_panel_section(panel, rows))
        return "".join(out)
    finally:
        buckets.delete_bucket(bucket)
        client.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m dashboards.gallery RUN_DIR OUT.md", file=sys.stderr)
        return 2
    text = build(Path(args[0]))
    Path(args[1]).write_text(text, encoding="utf-8")
    print(args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
