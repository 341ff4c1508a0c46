"""Dispatch overview 调度总览: what is broken right now, where, and whom it hits."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, geomap, table

from contract.glossary import FIELDS, INCIDENT_KINDS, NOUNS, PRIORITY_GROUPS
from dashboards.common import (
    INCIDENT_WORDS_PREAMBLE,
    NO_VALUE,
    bargauge_panel,
    base_dashboard,
    bucket_variable,
    code_variable,
    column_legend,
    county_variable,
    facility_geomap,
    flux,
    incident_words,
    link,
    named_columns,
    rename_codes,
    source,
    stat_panel,
    table_panel,
    tag_filter,
    tag_variable,
    timeseries_panel,
)
from dashboards.heat import heat_households_affected, open_heat_incidents, station_points


def active_total(field: str, *filters: str) -> str:
    """The last snapshot of every active_incidents series, summed over the selection."""
    return flux(
        source("active_incidents", [field]),
        tag_filter("county"),
        *filters,
        "  |> last()",
        '  |> group(columns: ["_field"])',
        "  |> sum()",
    )


ACTIVE_TOTAL = active_total("top_level")
HEAT_INCIDENTS = open_heat_incidents("county")
HEAT_HOUSEHOLDS = heat_households_affected("county", "village")
# Households of the top-level incidents only: the snapshot counts a feeder / station incident
# and its household children alike, and every child is one household (households_affected
# 1), so per series  households = households_affected − (count − top_level).
HOUSEHOLDS_AFFECTED = flux(
    source("active_incidents", ["households_affected", "count", "top_level"]),
    tag_filter("county"),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    '  |> map(fn: (r) => ({_field: "households_affected",',
    "      _value: r.households_affected - (r.count - r.top_level)}))",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)
PRIORITY_AFFECTED = active_total("priority_households")
CRITICAL_ACTIVE = active_total("count", '  |> filter(fn: (r) => r.severity == "critical")')

# One bar per county × kind: the current number of active incidents.
ACTIVE_BY_COUNTY_KIND = flux(
    source("active_incidents", ["count"]),
    tag_filter("county", "kind"),
    "  |> last()",
    '  |> group(columns: ["county", "kind"])',
    "  |> sum()",
    "  |> filter(fn: (r) => r._value > 0)",
)

# History: per-series last value in each window, then summed per county × kind.
ACTIVE_HISTORY = flux(
    source("active_incidents", ["count"]),
    tag_filter("county", "kind"),
    "  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)",
    '  |> group(columns: ["_time", "kind"])',
    "  |> sum()",
    '  |> group(columns: ["kind"])',
    '  |> sort(columns: ["_time"])',
)

_FEEDERS = flux(
    source("feeder_load", ["load_ratio", "overloaded", "lat", "lon"]),
    tag_filter("county", "village"),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "village", "feeder_id"])',
    '  |> pivot(rowKey: ["feeder_id"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> filter(fn: (r) => exists r.lat and exists r.lon)",
    "  |> map(fn: (r) => ({",
    '      name: r.feeder_id, entity: "feeder", county: r.county, village: r.village,',
    "      lat: float(v: r.lat), lon: float(v: r.lon),",
    "      state: if exists r.overloaded and int(v: r.overloaded) > 0 then 2",
    "        else if exists r.load_ratio and float(v: r.load_ratio) >= 0.9 then 1 else 0,",
    "  }))",
    "  |> group()",
)

_STATIONS = flux(
    source("station_pressure", ["shortfall", "low_pressure_households", "lat", "lon"]),
    tag_filter("county", "village"),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "village", "station_id"])',
    '  |> pivot(rowKey: ["station_id"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> filter(fn: (r) => exists r.lat and exists r.lon)",
    "  |> map(fn: (r) => ({",
    '      name: r.station_id, entity: "gas_station", county: r.county, village: r.village,',
    "      lat: float(v: r.lat), lon: float(v: r.lon),",
    "      state: if exists r.shortfall and int(v: r.shortfall) > 0 then 2",
    "        else if exists r.low_pressure_households",
    "          and int(v: r.low_pressure_households) > 0 then 1 else 0,",
    "  }))",
    "  |> group()",
)

# Feeders, gas stations and heat stations with their coordinates; state 0 ok / 1 strained / 2 failing.
MAP_POINTS = (
    "feeders = "
    + _FEEDERS.replace("\n", "\n  ")
    + "\nstations = "
    + _STATIONS.replace("\n", "\n  ")
    + "\nheat = "
    + station_points("county", "village").replace("\n", "\n  ")
    + "\nunion(tables: [feeders, stations, heat])\n"
    + '  |> keep(columns: ["name", "entity", "county", "village", "lat", "lon", "state"])'
)

_SHOWN = ("started_at", "county", "village", "incident", "severity", "state",
          "households_affected", "priority_households", "duration")  # fmt: skip
# hidden: the drill-down link's incident and the kind for filtering links
_KEEP = (
    "  |> keep(columns: ["
    + ", ".join(f'"{c}"' for c in (*_SHOWN, "incident_id", "kind_code"))
    + "])"
)

# Newest incidents: one row per top-level incident (its latest point: open or resolved); a
# feeder or station incident's household children are on the drill-down panel below, so one
# large outage does not push everything else off the 50 rows.
NEWEST_INCIDENTS = flux(
    INCIDENT_WORDS_PREAMBLE,
    source(
        "incident",
        [
            "entity_id",
            "village",
            "households_affected",
            "priority_households",
            "started_at",
            "duration_s",
            "parent_id",
        ],
    ),
    tag_filter("county", "kind"),
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    # started_at is written as epoch seconds; a time column shows in Beijing time.
    "  |> map(fn: (r) => ({r with started_at: time(v: int(v: r.started_at) * 1000000000)}))",
    '  |> group(columns: ["incident_id"])',
    '  |> sort(columns: ["_time"])',
    "  |> tail(n: 1)",
    # top-level by the incident's latest point (a household outage may be put under a
    # feeder outage after it opened)
    '  |> filter(fn: (r) => not exists r.parent_id or r.parent_id == "")',
    "  |> group()",
    '  |> sort(columns: ["_time"], desc: true)',
    "  |> limit(n: 50)",
    incident_words(),
    _KEEP,
)
NEWEST_INCIDENT_COLUMNS = (*_SHOWN, "incident_id", "kind_code")
# The drill-down: the children of the incident chosen in 最新事件 (the `incident` variable).
CHILD_INCIDENTS = flux(
    INCIDENT_WORDS_PREAMBLE,
    source(
        "incident",
        [
            "entity_id",
            "village",
            "households_affected",
            "priority_households",
            "started_at",
            "duration_s",
            "parent_id",
        ],
    ),
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> map(fn: (r) => ({r with started_at: time(v: int(v: r.started_at) * 1000000000)}))",
    '  |> group(columns: ["incident_id"])',
    '  |> sort(columns: ["_time"])',
    "  |> tail(n: 1)",
    '  |> filter(fn: (r) => exists r.parent_id and r.parent_id != ""',
    '      and r.parent_id == "${incident}")',
    "  |> group()",
    '  |> sort(columns: ["priority_households", "started_at"], desc: true)',
    "  |> limit(n: 500)",
    incident_words(),
    _KEEP,
)
CHILD_INCIDENT_COLUMNS = NEWEST_INCIDENT_COLUMNS
MAP_COLUMNS = ("name", "entity", "county", "village", "state")


def _geomap() -> geomap.Panel:
    return facility_geomap(
        f"{NOUNS['feeder'].zh}/{NOUNS['gas_station'].zh}/{NOUNS['heat_station'].zh}状态 "
        "Facility map",
        "台区（feeder_load）、燃气调压站（station_pressure）与换热站/锅炉房（heat_station）按经纬度"
        "标注，颜色表示状态：正常（绿）、紧张（黄：负载率 ≥ 90 %、有低压户、供水低于供热曲线或有室温"
        "不达标户）、故障（红：过载、供气不足或供热中断）。 "
        "Feeders, gas stations and heat stations at their lat/lon, coloured ok / strained / "
        "failing. Needs the `lat`/`lon` fields.",
        MAP_POINTS,
        f"{NOUNS['feeder'].zh}/{NOUNS['gas_station'].zh}/{NOUNS['heat_station'].zh} "
        "feeders, gas & heat stations",
    )


def _incidents_table() -> table.Panel:
    panel = table_panel(
        "最新事件 Newest incidents",
        "最近 50 起上级事件（每起事件的最新状态：进行中或已恢复；台区、调压站、换热站事件下的各户事件"
        "不单列，点行链接“下级事件”在下方查看）；持续时长对进行中的事件为已持续的时间；行链接还可打开该县、"
        "村的电网、燃气或集中供热看板。 "
        "The 50 most recent top-level incidents (latest point per incident: open or resolved; "
        "the household incidents under a feeder, gas-station or heat-station incident are on "
        "the drill-down below, row link 'Child incidents'); the duration of an open incident "
        "is the time since it started. Row links also open the power, gas or heat dashboard "
        "for the incident's county and village. " + column_legend(NEWEST_INCIDENT_COLUMNS),
        NEWEST_INCIDENTS,
        span=24,
        height=12,
    )
    panel = named_columns(panel, NEWEST_INCIDENT_COLUMNS).no_value(NO_VALUE)
    return panel.data_links(
        [
            link(
                "下级事件 Child incidents",
                "dispatch",
                {"incident": "${__data.fields.incident_id}"},
            ),
            link(
                "电网负荷详情 Power detail",
                "power",
                {"county": "${__data.fields.county}", "village": "${__data.fields.village}"},
            ),
            link(
                "燃气保供详情 Gas detail",
                "gas",
                {"county": "${__data.fields.county}", "village": "${__data.fields.village}"},
            ),
            link(
                "集中供热详情 Heat detail",
                "heat",
                {"county": "${__data.fields.county}", "village": "${__data.fields.village}"},
            ),
            link(
                "采暖季稳定运行 Season detail",
                "season",
                {"county": "${__data.fields.county}"},
            ),
        ]
    )


def _children_table() -> table.Panel:
    panel = table_panel(
        "下级事件 Child incidents",
        "“最新事件”中所选上级事件（行链接“下级事件”）下的各户事件，重点群体户在前。 "
        "The household incidents under the incident chosen in 最新事件 (row link 'Child "
        "incidents'), priority-group households first. " + column_legend(CHILD_INCIDENT_COLUMNS),
        CHILD_INCIDENTS,
        span=24,
        height=10,
    )
    return named_columns(panel, CHILD_INCIDENT_COLUMNS).no_value(NO_VALUE)


def build(bucket: str = "heatwatch") -> dashboard.Dashboard:
    return (
        base_dashboard(
            "dispatch",
            "调度总览 Dispatch overview",
            "Live overview for the dispatch centre: active incidents by county and kind, "
            "households and priority-group households affected, facility map, newest incidents.",
            ["dispatch"],
        )
        .with_variable(bucket_variable(bucket))
        .with_variable(county_variable())
        .with_variable(
            tag_variable("village", NOUNS["village"].zh, "feeder_load", depends_on=["county"])
        )
        .with_variable(code_variable("kind", INCIDENT_KINDS))
        .with_variable(
            dashboard.TextBoxVariable("incident")
            .label(FIELDS["parent_id"].zh)
            .description(
                "下级事件面板显示此事件的下级事件（由“最新事件”的行链接填入）。 The incident "
                "whose children the drill-down panel lists (set by the row link in 最新事件)."
            )
        )
        .with_row(dashboard.Row("当前态势 Now"))
        .with_panel(
            stat_panel(
                "活动事件 Active incidents",
                "Top-level active incidents (no parent), last snapshot of active_incidents.",
                ACTIVE_TOTAL,
                unit="suffix: 起",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            stat_panel(
                "严重事件 Critical incidents",
                "Active incidents with severity=critical.",
                CRITICAL_ACTIVE,
                unit="suffix: 起",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            stat_panel(
                "受影响户数 Households affected",
                "活动事件影响的户数：台区/站级事件计其全部户，其下的分户事件不重复计。 "
                "Households affected by active incidents; a feeder or station incident counts "
                "its households once, not again through its household children.",
                HOUSEHOLDS_AFFECTED,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (100, "red")),
            )
        )
        .with_panel(
            stat_panel(
                "重点群体户数 Priority households affected",
                "受影响的重点群体户："
                + "、".join(t.zh for t in PRIORITY_GROUPS.values() if t.zh)
                + "。 Priority-group households affected: "
                + ", ".join(t.en for t in PRIORITY_GROUPS.values() if t.en)
                + ".",
                PRIORITY_AFFECTED,
                unit="suffix: 户",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            bargauge_panel(
                "活动事件（县/类型）Active by county and kind",
                "各县各类型当前活动事件数。 Current active incidents per county and incident kind.",
                ACTIVE_BY_COUNTY_KIND,
                unit="suffix: 起",
                steps=((None, "orange"), (5, "red")),
            ).transformations(rename_codes(INCIDENT_KINDS))
        )
        .with_panel(_geomap())
        .with_panel(
            timeseries_panel(
                "事件趋势 Active incidents over time",
                "所选时段内各类型活动事件数。 Active incidents per kind over the selected range.",
                ACTIVE_HISTORY,
                unit="suffix: 起",
                span=24,
            ).transformations(rename_codes(INCIDENT_KINDS))
        )
        .with_row(dashboard.Row("事件明细 Incidents"))
        .with_panel(_incidents_table())
        .with_panel(_children_table())
        .with_row(dashboard.Row("集中供热 Heat networks"))
        .with_panel(
            stat_panel(
                "供热事件 Open heat incidents",
                "进行中的供热中断、供水温度偏低、室温不达标和排放超标事件（不含用户子事件）。 "
                "Open top-level heat incidents (interruption, low supply, cold homes, emissions).",
                HEAT_INCIDENTS,
                unit="suffix: 起",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            stat_panel(
                "供热不足户数 Heat households affected",
                "中断或低于供热曲线的换热站的全部供热户，其余换热站的室温不达标户。 All households "
                "of interrupted or below-curve stations, plus the cold sampled homes of the others.",
                HEAT_HOUSEHOLDS,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (100, "red")),
            )
        )
    )
