"""Every dashboard panel's and alert rule's Flux query, run against the real InfluxDB.

Points shaped per docs/influx-schema.md (plus the requested lat/lon fields) describe a small
scenario: 忻府区 has faults (critical feeder outage touching priority households, an overloaded
feeder, a gas station in shortfall, a household at risk), 原平市 is healthy, worker w2's
heartbeat is stale and lagging. Heat data are not hand-shaped: a heat day run through the
real core and rendered by the sink's own line functions (tests/unit/dashboards/heat_scenario.py,
a station trip and an emission exceedance at HS-1, a low supply with cold homes at HS-3 and a
silent HS-4 (telemetry, and its elderly home's indoor sensor: heat comm_loss, which the grid's
digests and the priority digest must not count) in 忻府区, a healthy HS-2 in 原平市), moved in
time to end a minute ago. Queries are rendered the way Grafana renders them (template
variables, v.timeRangeStart/Stop, v.windowPeriod) before they are sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contract.glossary import INCIDENT_KINDS, duration_text
from dashboards import alerting
from dashboards.common import render_flux
from dashboards.generate import BUILDERS, dashboard_json
from dashboards.heat import HEAT_KINDS
from dashboards.season import UNDER_USED_TABLE
from streams.sinks.points import household_use_line
from tests.unit.dashboards import heat_scenario

influxdb_client = pytest.importorskip("influxdb_client")
from influxdb_client import InfluxDBClient, Point, WritePrecision  # noqa: E402
from influxdb_client.client.write_api import SYNCHRONOUS  # noqa: E402

FAULT, HEALTHY = "忻府区", "原平市"
NO_BURN = "代县"
NOW = datetime.now(UTC).replace(microsecond=0)
HEAT = heat_scenario.heat_run()
HEAT_END = int((NOW - timedelta(minutes=1)).timestamp())


def heat_lines() -> list[bytes]:
    return heat_scenario.line_protocol(HEAT, HEAT_END)


def use_lines() -> list[bytes]:
    """``household_use`` (issue 24) by the sink's own line function: U1 under-used (a fifth of
    its peers on every judged day), U2 used, in 忻府区's 东楼村, over the last three days."""
    out: list[bytes] = []
    for d in _day_starts(3):
        for hid, ratio, state, pg in (("U1", 0.2, "under_used", "hardship"),
                                      ("U2", 1.0, "used", "none")):  # fmt: skip
            out.append(
                household_use_line(
                    {"county": FAULT, "retrofit_type": "coal_to_electric", "household_id": hid},
                    int(d.timestamp()),
                    energy=60.0 * ratio,
                    unit="kWh",
                    hdd=25.0,
                    ratio=ratio,
                    judged=True,
                    low=ratio < 0.35,
                    state=state,
                    village="东楼村",
                    priority_group=pg,
                )
            )
    return out


def _heat_snapshot_sum(field: str, county: str) -> int:
    return sum(int(m.fields[field]) for m in HEAT.snapshot if m.tags["county"] == county)


def _day_starts(days: int) -> list[datetime]:
    """Local (UTC+8) day starts of the last ``days`` days, as UTC datetimes."""
    local_now = NOW + timedelta(hours=8)
    today = local_now.replace(hour=0, minute=0, second=0) - timedelta(hours=8)
    return [today - timedelta(days=i) for i in range(days)]


def scenario_points() -> list[Point]:
    pts: list[Point] = []
    minutes = [NOW - timedelta(minutes=m) for m in range(0, 30)]
    # active_incidents snapshots (zeros written too)
    series = [
        (FAULT, "feeder_outage", "critical", 2, 150, 3),
        (FAULT, "gas_low_pressure", "warning", 1, 40, 0),
        (HEALTHY, "feeder_outage", "critical", 0, 0, 0),
        (HEALTHY, "gas_low_pressure", "warning", 0, 0, 0),
    ]
    for t in minutes[:10]:
        for county, kind, sev, count, hh, ph in series:
            pts.append(
                Point("active_incidents")
                .tag("county", county)
                .tag("kind", kind)
                .tag("severity", sev)
                .field("count", count)
                .field("households_affected", hh)
                .field("priority_households", ph)
                .field("top_level", count)
                .time(t)
            )
    # feeder_load: F1 overloaded with a rebound, F2 healthy
    for i, t in enumerate(minutes):
        pts.append(
            Point("feeder_load")
            .tag("county", FAULT)
            .tag("village", "东楼村")
            .tag("feeder_id", "F1")
            .field("kw", 480.0)
            .field("rated_kva", 400.0)
            .field("load_ratio", 1.26)
            .field("overloaded", 1)
            .field("rebound", 1 if i == 5 else 0)
            .field("lat", 38.42)
            .field("lon", 112.73)
            .time(t)
        )
        pts.append(
            Point("feeder_load")
            .tag("county", HEALTHY)
            .tag("village", "西村")
            .tag("feeder_id", "F2")
            .field("kw", 120.0)
            .field("rated_kva", 400.0)
            .field("load_ratio", 0.32)
            .field("overloaded", 0)
            .field("rebound", 0)
            .field("lat", 38.73)
            .field("lon", 112.71)
            .time(t)
        )
        pts.append(
            Point("station_pressure")
            .tag("county", FAULT)
            .tag("village", "东楼村")
            .tag("station_id", "S1")
            .field("outlet_pressure_kpa", 1.2)
            .field("flow_m3h", 30.0)
            .field("low_pressure_households", 85)
            .field("households", 120)
            .field("shortfall", 1)
            .field("lat", 38.41)
            .field("lon", 112.74)
            .time(t)
        )
        pts.append(
            Point("station_pressure")
            .tag("county", HEALTHY)
            .tag("village", "西村")
            .tag("station_id", "S2")
            .field("outlet_pressure_kpa", 3.1)
            .field("flow_m3h", 55.0)
            .field("low_pressure_households", 0)
            .field("households", 90)
            .field("shortfall", 0)
            .field("lat", 38.74)
            .field("lon", 112.70)
            .time(t)
        )
    for d in _day_starts(3):
        for county, st, delivered, drawing in (
            (FAULT, "S1", 800.0, 70),
            (HEALTHY, "S2", 950.0, 89),
        ):
            pts.append(
                Point("gas_supply_daily")
                .tag("county", county)
                .tag("station_id", st)
                .field("delivered_m3", delivered)
                .field("expected_m3", 1000.0)
                .field("delivery_ratio", delivered / 1000.0)
                .field("connection_rate", drawing / 90)
                .field("drawing_households", drawing)
                .field("households", 90)
                .time(d)
            )
        # The faulty county's stations sit on two partitions (the worker tags each series with
        # its partition): the quota table must add them up.
        for county, partition, quota, used, burn, exhaust in (
            (FAULT, "0", 60000.0, 54000.0, 540.0, int((NOW + timedelta(days=20)).timestamp())),
            (FAULT, "1", 40000.0, 36000.0, 360.0, int((NOW + timedelta(days=20)).timestamp())),
            (HEALTHY, "0", 100000.0, 20000.0, 900.0, 0),
            (NO_BURN, "0", 50000.0, 0.0, 0.0, 0),  # nothing drawn yet: no exhaustion date
        ):
            pts.append(
                Point("gas_quota")
                .tag("county", county)
                .tag("partition", partition)
                .field("quota_m3", quota)
                .field("used_m3", used)
                .field("burn_m3_per_day", burn)
                .field("projected_exhaustion", exhaust)
                .field("households_at_risk", 6)
                .time(d)
            )
        for county, fid, share, peak in ((FAULT, "F1", 0.55, 14), (HEALTHY, "F2", 0.91, 0)):
            pts.append(
                Point("storage_daily")
                .tag("county", county)
                .tag("feeder_id", fid)
                .field("storage_households", 60)
                .field("valley_share_mean", share)
                .field("valley_share_min", share - 0.2)
                .field("peak_chargers", peak)
                .time(d)
            )
        households = [
            ("H1", FAULT, "coal_to_electric", "school", 800.0, 0.0, 2),  # at risk
            ("H2", FAULT, "coal_to_gas", "none", 0.0, 30.0, 0),
            ("H3", HEALTHY, "coal_to_electric", "none", 0.0, 0.0, 0),
            # a network household under-heated (below the curve / cold) 200 min every day
            ("N9", FAULT, "district_heating", "none", 0.0, 200.0, 0),
        ]
        for hid, county, rt, pg, outage, short, intr in households:
            pts.append(
                Point("household_day")
                .tag("county", county)
                .tag("retrofit_type", rt)
                .tag("household_id", hid)
                .field("readings", 1400)
                .field("heating_available_minutes", 1440.0 - outage - short - 10.0)
                .field("outage_minutes", outage)
                .field("shortfall_minutes", short)
                .field("no_data_minutes", 10.0)
                .field("interruptions", intr)
                .field("energy_kwh", 40.0)
                .field("valley_kwh", 30.0)
                .field("valley_share", 0.75)
                .field("gas_m3", 0.0)
                .field("priority_group", pg)
                .field("village", "东楼村")
                .field("heating_device", "storage_heater")
                .time(d)
            )
    # incidents: one open, one resolved (two points, state tag differs)
    start = NOW - timedelta(minutes=20)
    pts.append(
        Point("incident")
        .tag("kind", "feeder_outage")
        .tag("severity", "critical")
        .tag("county", FAULT)
        .tag("entity_type", "feeder")
        .tag("incident_id", "inc-1")
        .tag("state", "open")
        .field("entity_id", "F1")
        .field("village", "东楼村")
        .field("households_affected", 150)
        .field("priority_households", 3)
        .field("parent_id", "")
        .field("started_at", int(start.timestamp()))
        .field("ended_at", 0)
        .field("duration_s", 1200)
        .field("details", "{}")
        .time(start)
    )
    for state, t in (
        ("open", NOW - timedelta(minutes=50)),
        ("resolved", NOW - timedelta(minutes=40)),
    ):
        pts.append(
            Point("incident")
            .tag("kind", "gas_low_pressure")
            .tag("severity", "warning")
            .tag("county", HEALTHY)
            .tag("entity_type", "gas_station")
            .tag("incident_id", "inc-2")
            .tag("state", state)
            .field("entity_id", "S2")
            .field("village", "西村")
            .field("households_affected", 20)
            .field("priority_households", 0)
            .field("parent_id", "")
            .field("started_at", int((NOW - timedelta(minutes=50)).timestamp()))
            .field("ended_at", int(t.timestamp()) if state == "resolved" else 0)
            .field("duration_s", 600)
            .field("details", "{}")
            .time(t)
        )
    # a household child of inc-1 (top-level incidents only in 最新事件; children on the
    # drill-down), and a resolved 1 h 48 min outage (the duration reads 1小时48分)
    pts.append(
        Point("incident")
        .tag("kind", "household_outage")
        .tag("severity", "warning")
        .tag("county", FAULT)
        .tag("entity_type", "household")
        .tag("incident_id", "inc-1-H7")
        .tag("state", "open")
        .field("entity_id", "H7")
        .field("village", "东楼村")
        .field("households_affected", 1)
        .field("priority_households", 0)
        .field("parent_id", "inc-1")
        .field("started_at", int(start.timestamp()))
        .field("ended_at", 0)
        .field("duration_s", 0)
        .field("details", "{}")
        .time(start)
    )
    long_start, long_end = NOW - timedelta(minutes=180), NOW - timedelta(minutes=72)
    pts.append(
        Point("incident")
        .tag("kind", "household_outage")
        .tag("severity", "warning")
        .tag("county", HEALTHY)
        .tag("entity_type", "household")
        .tag("incident_id", "inc-3")
        .tag("state", "resolved")
        .field("entity_id", "H9")
        .field("village", "西村")
        .field("households_affected", 1)
        .field("priority_households", 0)
        .field("parent_id", "")
        .field("started_at", int(long_start.timestamp()))
        .field("ended_at", int(long_end.timestamp()))
        .field("duration_s", int((long_end - long_start).total_seconds()))
        .field("details", "{}")
        .time(long_end)
    )
    # worker heartbeats: w1 fresh, w2 stale for 10 minutes and lagging
    for worker, last_age_min, lag in (("w1", 0, 10), ("w2", 10, 80000)):
        for m in range(last_age_min, last_age_min + 5):
            t = NOW - timedelta(minutes=m)
            pts.append(
                Point("worker")
                .tag("worker", worker)
                .tag("topic", "readings")
                .tag("partition", "0")
                .field("lag", lag)
                .field("watermark", int(t.timestamp()))
                .field("readings", 1000)
                .field("dead_letters", 0)
                .field("last_write", int(t.timestamp()))
                # w1 commits as it goes; w2's commits stopped with records behind them
                .field("committed", 5000 - m if worker == "w1" else 1200)
                .field("committed_lag", 0 if worker == "w1" else lag)
                .time(t)
            )
    return pts


@pytest.fixture(scope="module")
def module_bucket(stack: Any) -> Iterator[tuple[Any, str]]:
    client = InfluxDBClient(url=stack.influx_url, token=stack.influx_token, org=stack.influx_org)
    buckets = client.buckets_api()
    name = f"hw-it-grafana-{int(NOW.timestamp())}"
    bucket = buckets.create_bucket(bucket_name=name, org=stack.influx_org)
    try:
        write = client.write_api(write_options=SYNCHRONOUS)
        write.write(bucket=name, record=scenario_points(), write_precision=WritePrecision.S)
        write.write(bucket=name, record=heat_lines(), write_precision=WritePrecision.S)
        write.write(bucket=name, record=use_lines(), write_precision=WritePrecision.S)
        yield client, name
    finally:
        buckets.delete_bucket(bucket)
        client.close()


def _run(client: Any, query: str) -> list[dict[str, Any]]:
    tables = client.query_api().query(query)
    return [dict(rec.values) for table in tables for rec in table.records]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _panels(name: str) -> list[dict[str, Any]]:
    return [p for p in dashboard_json(name)["panels"] if p.get("type") != "row"]


PANEL_CASES = [(name, p["title"]) for name in BUILDERS for p in _panels(name)]


@pytest.mark.parametrize(("dashboard", "title"), PANEL_CASES)
def test_panel_query_returns_data(
    module_bucket: tuple[Any, str], dashboard: str, title: str
) -> None:
    client, bucket = module_bucket
    (panel,) = [p for p in _panels(dashboard) if p["title"] == title]
    variables: dict[str, Any] = {
        "bucket": bucket,
        "county": None,
        "village": None,
        "feeder_id": None,
        "station_id": None,
        "heat_station_id": None,
        "retrofit_type": None,
        "kind": None,
        "incident": "inc-1",  # the drill-down: inc-1's children
    }
    for target in panel["targets"]:
        q = render_flux(
            target["query"],
            variables,
            start=_iso(NOW - timedelta(days=3)),
            stop=_iso(NOW + timedelta(minutes=1)),
        )
        assert "${" not in q and "v.timeRange" not in q
        rows = _run(client, q)
        assert rows, f"{dashboard} / {title}: no rows"
        if panel["type"] in ("stat", "timeseries", "bargauge"):
            assert all("_value" in r for r in rows), f"{title}: rows without _value"
        if panel["type"] == "geomap":
            assert {"lat", "lon", "state", "name"} <= set(rows[0])
            states = {r["name"]: r["state"] for r in rows}
            expected = dict(heat_scenario.EXPECTED_STATE)
            if dashboard == "dispatch-overview":
                expected |= {"F1": 2, "F2": 0, "S1": 2, "S2": 0}
            assert states == expected


def test_under_used_panel_lists_the_under_used_household(
    module_bucket: tuple[Any, str],
) -> None:
    client, bucket = module_bucket
    q = render_flux(
        UNDER_USED_TABLE,
        {"bucket": bucket, "county": None, "retrofit_type": None},
        start=_iso(NOW - timedelta(days=3)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    rows = _run(client, q)
    assert [r["household_id"] for r in rows] == ["U1"]
    (u1,) = rows
    assert u1["village"] == "东楼村" and u1["priority_group"] == "hardship"
    assert u1["use_state"] == "under_used" and u1["low_days"] == u1["judged_days"] >= 2
    assert abs(u1["use_ratio"] - 0.2) < 1e-9


def test_single_county_filter(module_bucket: tuple[Any, str]) -> None:
    client, bucket = module_bucket
    (panel,) = [p for p in _panels("dispatch-overview") if p["title"].startswith("受影响户数")]
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": [HEALTHY]},
        start=_iso(NOW - timedelta(hours=1)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    assert [r["_value"] for r in _run(client, q)] == [0]  # 原平市's heat station is healthy too
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": [FAULT, HEALTHY]},
        start=_iso(NOW - timedelta(hours=1)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    # heat: the station trip's households once, not again through its household children
    heat = _heat_snapshot_sum("households_affected", FAULT) - (
        _heat_snapshot_sum("count", FAULT) - _heat_snapshot_sum("top_level", FAULT)
    )
    assert 0 < heat < _heat_snapshot_sum("households_affected", FAULT)
    assert [r["_value"] for r in _run(client, q)] == [190 + heat]


def test_newest_incidents_one_row_per_incident(module_bucket: tuple[Any, str]) -> None:
    client, bucket = module_bucket
    (panel,) = [p for p in _panels("dispatch-overview") if p["title"].startswith("最新事件")]
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": None, "kind": None},
        start=_iso(NOW - timedelta(hours=4)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    rows = _run(client, q)
    # top-level incidents only: inc-1's household child is on the drill-down
    assert [(r["incident_id"], r["state"]) for r in rows] == [
        ("inc-1", "open"),
        ("inc-2", "resolved"),
        ("inc-3", "resolved"),
    ]
    assert rows[0]["households_affected"] == 150 and rows[0]["village"] == "东楼村"
    # started_at (epoch seconds in the point) comes back as a time column (shown in CST).
    assert isinstance(rows[0]["started_at"], datetime) and rows[0]["started_at"].tzinfo
    # the incident in words; durations in Chinese, an open one as the time since it started
    by_id = {r["incident_id"]: r for r in rows}
    assert by_id["inc-1"]["incident"] == "台区停电：台区 F1"
    assert by_id["inc-2"]["incident"] == "用户燃气压力低：燃气调压站 S2"
    assert by_id["inc-3"]["duration"] == duration_text(108 * 60) == "1小时48分"
    assert by_id["inc-2"]["duration"] == "10分"
    assert by_id["inc-1"]["duration"] in ("已持续 20分", "已持续 21分")
    # The kind drop-down narrows the table (alert links preselect county and kind).
    kinds = {r["kind_code"] for r in rows}
    one = sorted(kinds)[0]
    q_one = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": None, "kind": [one]},
        start=_iso(NOW - timedelta(hours=4)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    assert {r["kind_code"] for r in _run(client, q_one)} == {one}
    # the drill-down lists the chosen incident's children, and nothing without a choice
    (child,) = [p for p in _panels("dispatch-overview") if p["title"].startswith("下级事件")]
    window = {"start": _iso(NOW - timedelta(hours=4)), "stop": _iso(NOW + timedelta(minutes=1))}
    kids = _run(client, render_flux(child["targets"][0]["query"],
                                    {"bucket": bucket, "incident": "inc-1"}, **window))  # fmt: skip
    assert [(r["incident_id"], r["incident"]) for r in kids] == [("inc-1-H7", "用户停电：用户 H7")]
    assert not _run(client, render_flux(child["targets"][0]["query"],
                                        {"bucket": bucket, "incident": ""}, **window))  # fmt: skip


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 600, 3599, 3600, 6480, 86399, 86400, 200000])
def test_flux_durations_read_as_the_glossary_writes_them(
    module_bucket: tuple[Any, str], seconds: int
) -> None:
    """The query's duration text is glossary.duration_text, whatever the length."""
    from dashboards.common import INCIDENT_WORDS_PREAMBLE, incident_words

    client, _ = module_bucket
    rows = (
        '[{kind: "comm_loss", entity_type: "household", entity_id: "H1", state: "resolved", '
        f"started_at: now(), duration_s: {seconds}}}]"
    )
    q = render_flux(
        f'import "array"\n{INCIDENT_WORDS_PREAMBLE}array.from(rows: {rows})\n{incident_words()}',
        {},
        start=_iso(NOW - timedelta(hours=1)),
        stop=_iso(NOW),
    )
    (row,) = _run(client, q)
    assert row["duration"] == duration_text(seconds)


def test_quota_table_adds_up_partitions_per_county(module_bucket: tuple[Any, str]) -> None:
    client, bucket = module_bucket
    (panel,) = [p for p in _panels("gas") if p["title"].startswith("预计耗尽日期")]
    stop = NOW + timedelta(minutes=1)
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": None},
        start=_iso(NOW - timedelta(days=3)),
        stop=_iso(stop),
    )
    rows = {r["county"]: r for r in _run(client, q)}
    fault = rows[FAULT]
    assert (fault["quota_m3"], fault["used_m3"], fault["remaining_m3"]) == (
        100000.0,
        90000.0,
        10000.0,
    )
    assert fault["burn_m3_per_day"] == 900.0 and fault["households_at_risk"] == 12.0
    assert abs(fault["days_left"] - 10000.0 / 900.0) < 1e-9
    assert abs((fault["exhaustion"] - stop).total_seconds() - 10000.0 / 900.0 * 86400) < 1
    assert rows[HEALTHY]["days_left"] > fault["days_left"]


def test_tables_read_in_the_dispatchers_words(module_bucket: tuple[Any, str]) -> None:
    """Real query rows through the generated overrides: Chinese terms, no 1970 dates."""
    from dashboards.dispatch import NEWEST_INCIDENT_COLUMNS
    from dashboards.gas import QUOTA_COLUMNS
    from dashboards.preview import table_view

    client, bucket = module_bucket
    window = {"start": _iso(NOW - timedelta(days=3)), "stop": _iso(NOW + timedelta(minutes=1))}
    (quota,) = [p for p in _panels("gas") if p["title"].startswith("预计耗尽日期")]
    q = render_flux(quota["targets"][0]["query"], {"bucket": bucket, "county": None}, **window)
    rows = _run(client, q)
    header, cells = table_view(quota, rows, QUOTA_COLUMNS)
    by_county = {c[0]: dict(zip(header, c, strict=True)) for c in cells}
    assert by_county[NO_BURN]["预计耗尽日期"] == "—" and by_county[NO_BURN]["可用天数"] == "—"
    assert by_county[FAULT]["预计耗尽日期"].startswith(str(NOW.year)[:3])
    (table,) = [p for p in _panels("dispatch-overview") if p["title"].startswith("最新事件")]
    q = render_flux(
        table["targets"][0]["query"], {"bucket": bucket, "county": None, "kind": None}, **window
    )
    header, cells = table_view(table, _run(client, q), NEWEST_INCIDENT_COLUMNS)
    shown = {h: {row[i] for row in cells} for i, h in enumerate(header)}
    assert "事件编号" not in header  # the id stays in the data (drill-down link), not on screen
    assert shown["状态"] <= {"进行中", "已恢复"} and {x.split("：")[0] for x in shown["事件"]} <= {
        "台区停电",
        "台区过载",
        "用户停电",
        "用户燃气压力低",
        "燃气供应不足",
        "通信中断",  # HS-4's telemetry and D0's indoor sensor (heat comm_loss)
        *(INCIDENT_KINDS[k].zh for k in HEAT_KINDS),
    }


def test_at_risk_households_are_judged_by_retrofit_type(module_bucket: tuple[Any, str]) -> None:
    """A network household's shortfall is heat, not gas: it is at risk by under-heated days
    and its gas-shortfall cell reads 0; the coal-to-gas household stays within its budget."""
    client, bucket = module_bucket
    (panel,) = [p for p in _panels("season-stability") if p["title"].startswith("风险户清单")]
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": None, "retrofit_type": None},
        start=_iso(NOW - timedelta(days=3)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    rows = {r["household_id"]: r for r in _run(client, q)}
    assert "H1" in rows and "H2" not in rows and "H3" not in rows
    n9 = rows["N9"]
    assert (n9["cold_home_days"], n9["shortfall_min"]) == (3, "0分")
    # minutes in words, not Grafana's "12.5 hour": H1's three days of outage
    h1 = rows["H1"]["outage_min"]
    assert re.fullmatch(r"(\d+天)?\d+小时(\d+分)?|\d+分", h1), h1


def test_variable_queries(module_bucket: tuple[Any, str]) -> None:
    client, bucket = module_bucket
    for name in BUILDERS:
        for var in dashboard_json(name)["templating"]["list"]:
            if var["type"] != "query":
                continue
            q = render_flux(
                var["query"], {"bucket": bucket, "county": None, "village": None}, start="", stop=""
            )
            values = {r["_value"] for r in _run(client, q)}
            assert values, f"{name}: variable {var['name']} has no values"


EXPECTED_FIRING: dict[str, set[tuple[tuple[str, str], ...]]] = {
    "hw-incident-critical": {
        (("county", FAULT), ("kind", "feeder_outage"), ("severity", "critical"))
    },
    "hw-incident-warning": {
        (("county", FAULT), ("kind", "gas_low_pressure"), ("severity", "warning"))
    },
    "hw-priority-households": {
        (("county", FAULT), ("kind", "feeder_outage")),
        (("county", FAULT), ("kind", "heat_supply_interruption")),  # the elderly home on HS-1
        (("county", FAULT), ("kind", "heat_supply_low")),  # the elderly home D0 on HS-4
    },
    "hw-feeder-overload": {(("county", FAULT),)},
    "hw-gas-shortfall": {(("county", FAULT),)},
    "hw-worker-heartbeat": {(("worker", "w2"),)},
    "hw-worker-lag": {(("worker", "w2"),)},
    "hw-partition-stuck": {(("partition", "0"), ("worker", "w2"))},
    "hw-heat-heat-supply-interruption": {
        (("county", FAULT), ("kind", "heat_supply_interruption"), ("severity", "critical"))
    },
    "hw-heat-heat-supply-low": {
        (("county", FAULT), ("kind", "heat_supply_low"), ("severity", "warning"))
    },
    "hw-heat-indoor-temp-low": {
        (("county", FAULT), ("kind", "indoor_temp_low"), ("severity", "warning"))
    },
    "hw-heat-emission-exceedance": {
        (("county", FAULT), ("kind", "emission_exceedance"), ("severity", "warning"))
    },
}


def _labels(row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    skip = {"_value", "_time", "_start", "_stop", "_field", "_measurement", "result", "table"}
    return tuple(sorted((k, str(v)) for k, v in row.items() if k not in skip))


COUNTY_RULES = [s for s in alerting.rule_specs() if s.labels.get("scope") != "entity"]
ENTITY_RULES = [s for s in alerting.rule_specs() if s.labels.get("scope") == "entity"]


@pytest.mark.parametrize("spec", COUNTY_RULES, ids=lambda s: s.uid)
def test_alert_query_fires_for_faults_only(module_bucket: tuple[Any, str], spec: Any) -> None:
    client, bucket = module_bucket
    evaluate: Callable[[float], bool] = (
        (lambda v: v > spec.threshold) if spec.op == "gt" else (lambda v: v < spec.threshold)
    )
    results = _rule_results(client, bucket, spec)
    rows = results["A"]
    assert rows, f"{spec.uid}: no series (would be NoData)"
    firing = {_labels(r) for r in rows if evaluate(float(r["_value"]))}
    healthy = {_labels(r) for r in rows} - firing
    assert firing == EXPECTED_FIRING[spec.uid]
    assert healthy, f"{spec.uid}: healthy series must stay present (no MissingSeries resolve)"
    for ref, extra in results.items():
        # Extra queries (households) must carry the same label sets as A.
        assert {_labels(r) for r in extra} == {_labels(r) for r in rows}, ref


def _rule_results(client: Any, bucket: str, spec: Any) -> dict[str, list[dict[str, Any]]]:
    """Each data query of ``spec`` as Grafana sends it (rule range ending now)."""
    results: dict[str, list[dict[str, Any]]] = {}
    for ref, query in spec.queries.items():
        q = query.replace('from(bucket: "heatwatch")', f'from(bucket: "{bucket}")')
        q = render_flux(
            q,
            {},
            start=_iso(NOW - timedelta(seconds=spec.range_s)),
            stop=_iso(NOW + timedelta(seconds=5)),
        )
        assert not re.search(r"\$\{|v\.timeRange", q)
        results[ref] = _run(client, q)
    return results


# --------------------------------------------------------------------------- per-entity rules


def _incident(
    incident_id: str,
    kind: str,
    severity: str,
    entity: tuple[str, str],
    *,
    started: datetime,
    ended: datetime | None = None,
    households: int = 1,
    priority: int = 0,
    parent: str = "",
    county: str = FAULT,
    village: str = "东楼村",
) -> list[Point]:
    """An incident as the worker writes it: the open point at started_at and, once it ended,
    the resolved point at ended_at (incident_line in streams/sinks/points.py)."""
    entity_type, entity_id = entity
    states = [("open", started)] + ([("resolved", ended)] if ended is not None else [])
    return [
        Point("incident")
        .tag("kind", kind)
        .tag("severity", severity)
        .tag("county", county)
        .tag("entity_type", entity_type)
        .tag("incident_id", incident_id)
        .tag("state", state)
        .field("entity_id", entity_id)
        .field("village", village)
        .field("households_affected", households)
        .field("priority_households", priority)
        .field("parent_id", parent)
        .field("started_at", int(started.timestamp()))
        .field("ended_at", int(ended.timestamp()) if state == "resolved" and ended else 0)
        .field("duration_s", int(((ended or NOW) - started).total_seconds()))
        .field("details", "{}")
        .time(t)
        for state, t in states
    ]


def _healthy_incidents() -> list[Point]:
    """Everything has ended, or is of a kind that does not page per entity."""
    day = NOW - timedelta(days=1)
    return [
        *_incident(
            "h-1",
            "feeder_outage",
            "critical",
            ("feeder", "F2"),
            started=day,
            ended=day + timedelta(hours=2),
            households=80,
            priority=2,
            county=HEALTHY,
            village="西村",
        ),
        *_incident(
            "h-2",
            "gas_supply_shortfall",
            "critical",
            ("gas_station", "S2"),
            started=day,
            ended=day + timedelta(hours=5),
            households=40,
            county=HEALTHY,
        ),
        *_incident(
            "h-3",
            "household_outage",
            "warning",
            ("household", "H3"),
            started=day,
            ended=day + timedelta(minutes=30),
            priority=1,
            county=HEALTHY,
        ),
        *_incident(  # open, but comm loss is not paged per entity
            "h-4",
            "comm_loss",
            "info",
            ("feeder", "F2"),
            started=NOW - timedelta(hours=1),
            county=HEALTHY,
        ),
    ]


# Started 3 days ago: far older than the county rules' 10-minute range, still open.
LONG_AGO = NOW - timedelta(days=3, minutes=7)


def _faulty_incidents() -> list[Point]:
    recent = NOW - timedelta(minutes=25)
    return [
        *_healthy_incidents(),
        *_incident(
            "f-1",
            "feeder_outage",
            "critical",
            ("feeder", "F1"),
            started=LONG_AGO,
            households=150,
            priority=3,
        ),
        # its households: children of the feeder outage, never paged on their own
        *_incident(
            "f-1-h1",
            "household_outage",
            "critical",
            ("household", "H1"),
            started=LONG_AGO,
            priority=1,
            parent="f-1",
        ),
        *_incident(  # a priority household out on its own: paged
            "f-2",
            "household_outage",
            "critical",
            ("household", "H7"),
            started=recent,
            priority=1,
        ),
        *_incident(  # an ordinary household out on its own: not paged per entity
            "f-3",
            "household_outage",
            "warning",
            ("household", "H8"),
            started=recent,
        ),
        *_incident(
            "f-4",
            "gas_supply_shortfall",
            "critical",
            ("gas_station", "S1"),
            started=recent,
            households=85,
            priority=2,
        ),
        *_incident(  # opened and resolved at the same second: the resolved point decides
            "f-5",
            "feeder_overload",
            "warning",
            ("feeder", "F1"),
            started=recent,
            ended=recent,
            households=60,
        ),
    ]


@pytest.fixture
def incident_bucket(stack: Any, request: Any) -> Iterator[tuple[Any, str, Any]]:
    """A fresh bucket; yields (client, bucket, write function)."""
    client = InfluxDBClient(url=stack.influx_url, token=stack.influx_token, org=stack.influx_org)
    buckets = client.buckets_api()
    name = f"hw-it-entity-{request.node.name[-12:]}-{int(datetime.now(UTC).timestamp())}"
    name = re.sub(r"[^a-z0-9-]", "-", name.lower())
    bucket = buckets.create_bucket(bucket_name=name, org=stack.influx_org)
    write_api = client.write_api(write_options=SYNCHRONOUS)

    def write(points: list[Point] | list[bytes]) -> None:
        write_api.write(bucket=name, record=points, write_precision=WritePrecision.S)

    try:
        yield client, name, write
    finally:
        buckets.delete_bucket(bucket)
        client.close()


def _firing(client: Any, bucket: str) -> dict[str, dict[str, dict[str, Any]]]:
    """rule uid → entity_id → labels and the HH/PH values of its one series."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in ENTITY_RULES:
        results = _rule_results(client, bucket, spec)
        rows = results["A"]
        assert all(r["_value"] == 1.0 for r in rows)
        per_entity: dict[str, dict[str, Any]] = {}
        for r in rows:
            # Only string columns and _value, no time column: Grafana's Flux frame builder
            # makes this a table frame, which alerting reads as a number table (each row one
            # series, its string columns the labels), like the county rules' per-county sums.
            assert set(r) - {"result", "table"} == {*alerting.ENTITY_LABELS, "_value"}, r
            labels = dict(_labels(r))
            assert set(labels) == set(alerting.ENTITY_LABELS), labels
            assert r["entity_id"] not in per_entity, "one series per open incident"
            per_entity[r["entity_id"]] = labels
        for ref, key in (("HQ", "HH"), ("PQ", "PH")):
            extra = {_labels(r): r["_value"] for r in results[ref]}
            assert set(extra) == {_labels(r) for r in rows}, ref  # same label sets as A
            for r in rows:
                per_entity[r["entity_id"]][key] = extra[_labels(r)]
        out[spec.uid] = per_entity
    return out


def test_entity_rules_fire_for_the_injected_entities_only(
    incident_bucket: tuple[Any, str, Any],
) -> None:
    client, bucket, write = incident_bucket
    write(_faulty_incidents())
    firing = _firing(client, bucket)
    assert {uid: set(e) for uid, e in firing.items()} == {
        "hw-entity-feeder": {"F1"},
        "hw-entity-gas-station": {"S1"},
        "hw-entity-priority-household": {"H7"},
        "hw-entity-heat-station": set(),
    }
    f1 = firing["hw-entity-feeder"]["F1"]
    assert (f1["county"], f1["village"], f1["kind"], f1["severity"]) == (
        FAULT,
        "东楼村",
        "feeder_outage",
        "critical",
    )
    assert f1["incident_id"] == "f-1" and f1["entity_type"] == "feeder"
    # started_at in Beijing time (UTC+8), minutes
    assert f1["started_at_beijing"] == (LONG_AGO + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert (f1["HH"], f1["PH"]) == (150.0, 3.0)
    s1 = firing["hw-entity-gas-station"]["S1"]
    assert (s1["kind"], s1["HH"], s1["PH"]) == ("gas_supply_shortfall", 85.0, 2.0)
    assert firing["hw-entity-priority-household"]["H7"]["PH"] == 1.0


def test_heat_digests_give_the_top_level_figures(module_bucket: tuple[Any, str]) -> None:
    """The station trip at HS-1: one page, its 4 households (the page's own count, not the
    page plus its children), 1 priority household (the elderly home)."""
    client, bucket = module_bucket
    spec = {s.uid: s for s in alerting.rule_specs()}["hw-heat-heat-supply-interruption"]
    results = _rule_results(client, bucket, spec)
    key = (("county", FAULT), ("kind", "heat_supply_interruption"), ("severity", "critical"))
    values = {ref: {_labels(r): r["_value"] for r in rows}[key] for ref, rows in results.items()}
    assert values == {"A": 1.0, "HQ": 4.0, "PQ": 1.0}


def test_heat_station_pages_follow_the_cores_incidents(
    incident_bucket: tuple[Any, str, Any],
) -> None:
    """The worker's own incident points for a heat day: one page per open top-level incident
    on a station (interruption, emissions, low supply, cold homes rolled up), none for the
    children, with the incident's own households."""
    client, bucket, write = incident_bucket
    write(heat_lines())
    (spec,) = [s for s in ENTITY_RULES if s.uid == "hw-entity-heat-station"]
    results = _rule_results(client, bucket, spec)
    expected = {
        i.incident_id: i
        for i in HEAT.incidents
        if i.parent_id is None and i.ended_at is None and i.entity_type.value == "heat_station"
    }
    assert len(expected) == 5
    assert {r["incident_id"] for r in results["A"]} == set(expected)
    for r in results["HQ"]:
        assert r["_value"] == expected[r["incident_id"]].households_affected
    for r in results["PQ"]:
        assert r["_value"] == expected[r["incident_id"]].priority_households
    trip = [r for r in results["A"] if r["kind"] == "heat_supply_interruption"]
    assert [(r["entity_id"], r["village"], r["severity"]) for r in trip] == [
        ("HS-1", "东楼村", "critical")
    ]
    # the silent station is paged as the station's (heat) comm_loss, with its households;
    # its home's silent sensor (a household incident, info) is not
    silent = [r for r in results["A"] if r["kind"] == "comm_loss"]
    assert [(r["entity_id"], r["entity_type"], r["severity"]) for r in silent] == [
        ("HS-4", "heat_station", "warning")
    ]
    hq = {r["incident_id"]: r["_value"] for r in results["HQ"]}
    pq = {r["incident_id"]: r["_value"] for r in results["PQ"]}
    assert (hq[silent[0]["incident_id"]], pq[silent[0]["incident_id"]]) == (2.0, 1.0)


def test_open_heat_incidents_table_lists_a_silent_station(
    incident_bucket: tuple[Any, str, Any],
) -> None:
    """The 集中供热 dashboard's open-incident table: the heat kinds' open incidents and HS-4's
    silence (comm_loss on the station), not the silent home sensor's household comm_loss."""
    client, bucket, write = incident_bucket
    write(heat_lines())
    (panel,) = [p for p in _panels("heat") if p["title"].startswith("进行中的供热事件")]
    q = render_flux(
        panel["targets"][0]["query"],
        {"bucket": bucket, "county": None},
        start=_iso(NOW - timedelta(days=30)),
        stop=_iso(NOW + timedelta(minutes=1)),
    )
    rows = _run(client, q)
    expected = {
        i.incident_id
        for i in HEAT.incidents
        if i.ended_at is None
        and (i.kind.value in HEAT_KINDS or i.entity_type.value == "heat_station")
    }
    assert {r["incident_id"] for r in rows} == expected
    silent = [r["incident"] for r in rows if r["kind_code"] == "comm_loss"]
    assert silent == ["通信中断：换热站/锅炉房 HS-4"]
    # open incidents: the time since they started, in Chinese (never "0 s")
    assert all(r["duration"].startswith("已持续 ") for r in rows)


def test_heat_comm_loss_is_in_the_snapshot_but_not_in_the_grids_digests(
    module_bucket: tuple[Any, str],
) -> None:
    """HS-4's silence and D0's silent sensor are open comm_loss rows (domain=heat) in
    忻府区's snapshot, the sensor's with a priority household; the generic and priority digests
    read none of them (EXPECTED_FIRING has no comm_loss), so they only page the heat operator."""
    client, bucket = module_bucket
    heat_loss = {
        m.tags["severity"]: int(m.fields["count"])
        for m in HEAT.snapshot
        if m.tags["county"] == FAULT and m.tags["kind"] == "comm_loss"
    }
    assert heat_loss == {"warning": 1, "info": 1}
    rows = _run(
        client,
        f'from(bucket: "{bucket}") |> range(start: -1h)'
        ' |> filter(fn: (r) => r._measurement == "active_incidents" and r.kind == "comm_loss")'
        ' |> filter(fn: (r) => r._field == "count" and r._value > 0)',
    )
    assert {(r["county"], r["severity"], r.get("domain")) for r in rows} == {
        (FAULT, "warning", "heat"),
        (FAULT, "info", "heat"),
    }
    specs = {s.uid: s for s in alerting.rule_specs()}
    for uid in ("hw-incident-critical", "hw-incident-warning", "hw-priority-households"):
        for ref, series in _rule_results(client, bucket, specs[uid]).items():
            kinds = {r.get("kind") for r in series}
            assert "comm_loss" not in kinds, (uid, ref)


def test_a_live_incident_keeps_firing_until_it_resolves(
    incident_bucket: tuple[Any, str, Any],
) -> None:
    client, bucket, write = incident_bucket
    write(_faulty_incidents())
    # an update (more households) overwrites the open point: same series, new value
    (update,) = _incident(
        "f-1",
        "feeder_outage",
        "critical",
        ("feeder", "F1"),
        started=LONG_AGO,
        households=210,
        priority=4,
    )
    write([update])
    before = _firing(client, bucket)["hw-entity-feeder"]["F1"]
    assert (before["HH"], before["PH"]) == (210.0, 4.0)
    # the worker writes the resolved point when the feeder comes back
    write(
        _incident(
            "f-1",
            "feeder_outage",
            "critical",
            ("feeder", "F1"),
            started=LONG_AGO,
            ended=NOW - timedelta(minutes=1),
            households=210,
            priority=4,
        )[1:]
    )
    after = _firing(client, bucket)
    assert "F1" not in after["hw-entity-feeder"]
    assert set(after["hw-entity-gas-station"]) == {"S1"}  # the others stay


def test_entity_rules_stay_quiet_when_healthy(incident_bucket: tuple[Any, str, Any]) -> None:
    client, bucket, write = incident_bucket
    write(_healthy_incidents())
    # no series at all: NoData, which these rules map to OK
    assert _firing(client, bucket) == {spec.uid: {} for spec in ENTITY_RULES}
    assert all(spec.no_data == "OK" for spec in ENTITY_RULES)


def _open_at(client: Any, bucket: str, spec: Any, at: datetime) -> set[str]:
    """incident_ids the rule's query A returns when Grafana evaluates it at ``at``."""
    at = at.astimezone(UTC)
    q = spec.queries["A"].replace('from(bucket: "heatwatch")', f'from(bucket: "{bucket}")')
    q = render_flux(q, {}, start=_iso(at - timedelta(seconds=spec.range_s)), stop=_iso(at))
    return {r["incident_id"] for r in _run(client, q)}


def test_entity_rules_follow_a_replayed_run(
    incident_bucket: tuple[Any, str, Any], tmp_path: Any
) -> None:
    """The worker's own incident points (streams.sinks.points.incident_line) from a simulated
    run: at any moment each rule fires for exactly the top-level incidents of its kinds open
    then (households only in priority groups), and for none once they ended."""
    import subprocess
    import sys

    from contract.incidents import Incident
    from streams.core.incidents import Change
    from streams.sinks.points import incident_line

    client, bucket, write = incident_bucket
    out = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "heatwatch.cli.main",
            "demo",
            "--households",
            "600",
            "--days",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    incidents = [
        Incident.model_validate_json(raw)
        for raw in (out / "run" / "incidents.jsonl").read_text("utf-8").splitlines()
    ]
    lines: list[bytes] = []
    for inc in incidents:  # the open point, then (if it ended) the resolved point
        lines.append(incident_line(Change.OPENED, inc.model_copy(update={"ended_at": None})))
        if inc.ended_at is not None:
            lines.append(incident_line(Change.RESOLVED, inc))
    write(lines)
    rules = {spec.uid: spec for spec in ENTITY_RULES}
    kinds = {
        "hw-entity-feeder": {"feeder_outage", "feeder_overload"},
        "hw-entity-gas-station": {"gas_supply_shortfall"},
        "hw-entity-priority-household": {"household_outage"},
        # a station's silence too (comm_loss on a heat_station; a meter's is on a household)
        "hw-entity-heat-station": {*HEAT_KINDS, "comm_loss"},
    }
    paging = [
        i
        for i in incidents
        if i.parent_id is None and any(i.kind.value in k for k in kinds.values())
    ]
    on_station = {"hw-entity-heat-station": "heat_station"}
    assert len(paging) >= 3, "the demo run should have feeder and gas incidents"
    # moments inside each incident, just after its end, and just after the run
    moments = {i.started_at + timedelta(minutes=7) for i in paging}
    moments |= {i.ended_at + timedelta(minutes=7) for i in paging if i.ended_at}
    fired: set[str] = set()
    for at in sorted(moments):
        for uid, spec in rules.items():
            expected = {
                i.incident_id
                for i in incidents
                if i.parent_id is None
                and i.kind.value in kinds[uid]
                and i.started_at < at
                and (i.ended_at is None or i.ended_at > at)
                and (uid != "hw-entity-priority-household" or i.priority_households > 0)
                and on_station.get(uid, i.entity_type.value) == i.entity_type.value
            }
            assert _open_at(client, bucket, spec, at) == expected, (uid, at)
            fired |= {uid} if expected else set()
    assert {"hw-entity-feeder", "hw-entity-gas-station", "hw-entity-heat-station"} <= fired
