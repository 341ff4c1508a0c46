"""Gas 燃气保供: station pressure, delivered vs expected, connection rate, quota burn-down."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, table
from grafana_foundation_sdk.models import dashboard as dashboard_models

from contract.glossary import FIELDS, NOUNS
from dashboards.common import (
    NO_VALUE,
    base_dashboard,
    bucket_variable,
    column_legend,
    column_order,
    column_properties,
    county_variable,
    flux,
    rename_codes,
    source,
    stat_panel,
    table_panel,
    tag_filter,
    tag_variable,
    timeseries_panel,
)

STATION_TAGS = ("county", "village", "station_id")

PRESSURE = flux(
    source("station_pressure", ["outlet_pressure_kpa"]),
    tag_filter(*STATION_TAGS),
    "  |> aggregateWindow(every: v.windowPeriod, fn: min, createEmpty: false)",
    '  |> keep(columns: ["_time", "_value", "station_id"])',
)

SHORTFALL_STATIONS = flux(
    source("station_pressure", ["shortfall"]),
    tag_filter(*STATION_TAGS),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)

LOW_PRESSURE_HOUSEHOLDS = flux(
    source("station_pressure", ["low_pressure_households"]),
    tag_filter(*STATION_TAGS),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)

DELIVERED_VS_EXPECTED = flux(
    source("gas_supply_daily", ["delivered_m3", "expected_m3"]),
    tag_filter("county", "station_id"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["_time", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["_field"])',
    '  |> sort(columns: ["_time"])',
)

# 通气率: drawing households / gas households, weighted over the selected stations.
CONNECTION_RATE = flux(
    source("gas_supply_daily", ["drawing_households", "households"]),
    tag_filter("county", "station_id"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["_time", "county", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["county"])',
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> filter(fn: (r) => r.households > 0.0)",
    "  |> map(fn: (r) => ({_time: r._time, county: r.county,"
    " _value: r.drawing_households / r.households}))",
    '  |> sort(columns: ["_time"])',
)

QUOTA_BURN = flux(
    source("gas_quota", ["quota_m3", "used_m3"]),
    tag_filter("county"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> map(fn: (r) => ({_time: r._time, county: r.county, _value: r.quota_m3 - r.used_m3}))",
    '  |> group(columns: ["county"])',
)

# Quota state per county. A worker writes one series per (county, partition) — a county's
# gas stations may live on several partitions — so the latest value of each is summed before
# the remaining volume and the days until exhaustion at the current burn rate are derived.
QUOTA_TABLE = flux(
    source("gas_quota", ["quota_m3", "used_m3", "burn_m3_per_day", "households_at_risk"]),
    tag_filter("county"),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["county"])',
    '  |> pivot(rowKey: ["county"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> group()",
    "  |> map(fn: (r) => ({r with remaining_m3: r.quota_m3 - r.used_m3}))",
    "  |> map(fn: (r) => ({r with",
    "      days_left: if r.burn_m3_per_day > 0.0 then r.remaining_m3 / r.burn_m3_per_day else -1.0,",
    "  }))",
    "  |> map(fn: (r) => ({r with",
    "      exhaustion: if r.days_left >= 0.0",
    "        then time(v: int(v: v.timeRangeStop) + int(v: r.days_left * 86400.0) * 1000000000)",
    "        else time(v: 0),",
    "  }))",
    '  |> sort(columns: ["days_left"])',
    '  |> keep(columns: ["county", "quota_m3", "used_m3", "remaining_m3", "burn_m3_per_day",'
    ' "days_left", "exhaustion", "households_at_risk"])',
)
QUOTA_COLUMNS = (
    "county",
    "quota_m3",
    "used_m3",
    "remaining_m3",
    "burn_m3_per_day",
    "days_left",
    "exhaustion",
    "households_at_risk",
)

# No burn → the query writes days_left -1 and exhaustion = epoch 0: show "—", never 1970-01-01.
_NO_BURN = [
    {"type": "value", "options": {"0": {"text": NO_VALUE, "index": 0}}},
    {"type": "range", "options": {"from": -1e18, "to": 86400000, "result": {"text": NO_VALUE}}},
]
_NO_DAYS_LEFT = [
    {"type": "range", "options": {"from": -1e18, "to": -0.5, "result": {"text": NO_VALUE}}},
]


def _quota_table() -> table.Panel:
    panel = table_panel(
        "预计耗尽日期 Projected exhaustion",
        "各县合同气量最新状态；按当前日均用气推算耗尽日期，无消耗时显示“—”。 "
        "Latest quota state per county; the exhaustion date at the current burn rate, "
        "'—' when nothing is burning. " + column_legend(QUOTA_COLUMNS),
        QUOTA_TABLE,
        span=12,
        height=9,
    ).no_value(NO_VALUE)
    for column in QUOTA_COLUMNS:
        props = column_properties(column)
        if column in ("exhaustion", "days_left"):
            mappings = _NO_BURN if column == "exhaustion" else _NO_DAYS_LEFT
            props.append(dashboard_models.DynamicConfigValue(id_val="mappings", value=mappings))
        panel = panel.override_by_name(column, props)
    return panel.with_transformation(column_order(QUOTA_COLUMNS))


def build(bucket: str = "heatwatch") -> dashboard.Dashboard:
    return (
        base_dashboard(
            "gas",
            "燃气保供 Gas",
            "Gas supply for coal-to-gas households (以气定改): station outlet pressure, delivered "
            "vs expected volume, connection rate 通气率 and contracted quota burn-down.",
            ["gas"],
        )
        .with_variable(bucket_variable(bucket))
        .with_variable(county_variable("station_pressure"))
        .with_variable(
            tag_variable("village", NOUNS["village"].zh, "station_pressure", depends_on=["county"])
        )
        .with_variable(
            tag_variable(
                "station_id",
                FIELDS["station_id"].zh,
                "station_pressure",
                depends_on=["county", "village"],
            )
        )
        .with_row(dashboard.Row("压力 Pressure"))
        .with_panel(
            stat_panel(
                "供气不足调压站 Stations in shortfall",
                "最新读数为供气不足的燃气调压站数。 Stations whose latest reading is flagged shortfall.",
                SHORTFALL_STATIONS,
                unit="suffix: 座",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            stat_panel(
                "低压户数 Low-pressure households",
                "Households below the low-pressure threshold (latest reading per station).",
                LOW_PRESSURE_HOUSEHOLDS,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (50, "red")),
            )
        )
        .with_panel(
            timeseries_panel(
                "出站压力 Station outlet pressure",
                "Outlet pressure per station (window minimum), kPa.",
                PRESSURE,
                unit="pressurekpa",
                span=24,
            )
        )
        .with_row(dashboard.Row("供需 Supply"))
        .with_panel(
            timeseries_panel(
                "供气量 Delivered vs expected",
                "Daily delivered volume against the degree-day expected volume (sum of "
                "selected stations).",
                DELIVERED_VS_EXPECTED,
                unit="m3",
                bars=True,
            ).transformations(rename_codes(FIELDS, ("delivered_m3", "expected_m3")))
        )
        .with_panel(
            timeseries_panel(
                "通气率 Connection rate",
                "Share of converted gas households that drew gas that day, per county.",
                CONNECTION_RATE,
                unit="percentunit",
                steps=((None, "red"), (0.9, "orange"), (0.97, "green")),
            )
        )
        .with_row(dashboard.Row("合同气量 Quota"))
        .with_panel(
            timeseries_panel(
                "剩余气量 Quota remaining",
                "Contracted quota minus used volume per county (burn-down).",
                QUOTA_BURN,
                unit="m3",
            )
        )
        .with_panel(_quota_table())
    )
