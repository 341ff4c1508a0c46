"""Power 电网负荷: feeder load vs capacity, overloads, valley-start rebound, storage heaters."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from contract.glossary import FIELDS, INCIDENT_KINDS, NOUNS
from dashboards.common import (
    base_dashboard,
    bucket_variable,
    column_legend,
    county_variable,
    flux,
    named_columns,
    rename_codes,
    source,
    stat_panel,
    table_panel,
    tag_filter,
    tag_variable,
    timeseries_panel,
)

FEEDER_TAGS = ("county", "village", "feeder_id")

LOAD_RATIO = flux(
    source("feeder_load", ["load_ratio"]),
    tag_filter(*FEEDER_TAGS),
    "  |> aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)",
    '  |> keep(columns: ["_time", "_value", "feeder_id"])',
)

# kW drawn vs the feeder's rated capacity (rated_kva ≈ kW at pf 1), latest reading.
LOAD_VS_RATED = flux(
    source("feeder_load", ["kw", "rated_kva", "load_ratio", "overloaded"]),
    tag_filter(*FEEDER_TAGS),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "village", "feeder_id"])',
    '  |> pivot(rowKey: ["feeder_id"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> group()",
    '  |> sort(columns: ["load_ratio"], desc: true)',
    '  |> keep(columns: ["county", "village", "feeder_id", "kw", "rated_kva", "load_ratio",'
    ' "overloaded"])',
)
LOAD_VS_RATED_COLUMNS = (
    "county",
    "village",
    "feeder_id",
    "kw",
    "rated_kva",
    "load_ratio",
    "overloaded",
)

OVERLOADED_NOW = flux(
    source("feeder_load", ["overloaded"]),
    tag_filter(*FEEDER_TAGS),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)

OVERLOADS_OVER_TIME = flux(
    source("feeder_load", ["overloaded"]),
    tag_filter(*FEEDER_TAGS),
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    "  |> aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)",
    '  |> group(columns: ["_time", "county"])',
    "  |> sum()",
    '  |> group(columns: ["county"])',
    '  |> sort(columns: ["_time"])',
)

# Valley-start rebound: kW of readings flagged `rebound` (first hour of the valley window).
REBOUND_PEAK = flux(
    source("feeder_load", ["kw", "rebound"]),
    tag_filter(*FEEDER_TAGS),
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> filter(fn: (r) => exists r.rebound and int(v: r.rebound) > 0)",
    "  |> map(fn: (r) => ({_time: r._time, _value: float(v: r.kw), feeder_id: r.feeder_id}))",
    '  |> group(columns: ["feeder_id"])',
    "  |> aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)",
)

REBOUND_COUNT = flux(
    source("feeder_load", ["rebound"]),
    tag_filter(*FEEDER_TAGS),
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)

VALLEY_SHARE = flux(
    source("storage_daily", ["valley_share_mean", "valley_share_min"]),
    tag_filter("county", "feeder_id"),
    '  |> group(columns: ["_time", "county", "_field"])',
    "  |> mean()",
    '  |> group(columns: ["county", "_field"])',
    '  |> sort(columns: ["_time"])',
)

PEAK_CHARGERS = flux(
    source("storage_daily", ["peak_chargers"]),
    tag_filter("county", "feeder_id"),
    "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
    '  |> group(columns: ["_time", "county"])',
    "  |> sum()",
    '  |> group(columns: ["county"])',
    '  |> sort(columns: ["_time"])',
)


def build(bucket: str = "heatwatch") -> dashboard.Dashboard:
    return (
        base_dashboard(
            "power",
            "电网负荷 Power",
            "Feeder load against rated capacity, overloads, the rebound peak at the start of the "
            "valley-tariff window and off-peak use of storage heaters (煤改电).",
            ["power"],
        )
        .with_variable(bucket_variable(bucket))
        .with_variable(county_variable("feeder_load"))
        .with_variable(
            tag_variable("village", NOUNS["village"].zh, "feeder_load", depends_on=["county"])
        )
        .with_variable(
            tag_variable(
                "feeder_id", FIELDS["feeder_id"].zh, "feeder_load", depends_on=["county", "village"]
            )
        )
        .with_row(dashboard.Row("负荷 Load"))
        .with_panel(
            stat_panel(
                "过载台区 Overloaded feeders",
                "最新读数为过载的台区数。 Feeders whose latest reading is flagged overloaded.",
                OVERLOADED_NOW,
                unit="suffix: 个",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            stat_panel(
                "谷段反弹次数 Valley-start rebounds",
                "Readings flagged as rebound (first hour of the valley window, jumped) in range.",
                REBOUND_COUNT,
                unit="suffix: 次",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            timeseries_panel(
                "负载率 Load ratio",
                "kW / (rated kVA × pf) per feeder, window maximum; 100 % is the rated capacity.",
                LOAD_RATIO,
                unit="percentunit",
                steps=((None, "green"), (0.9, "orange"), (1.0, "red")),
                span=24,
            )
        )
        .with_panel(
            named_columns(
                table_panel(
                    "负荷与额定容量 Load vs rated capacity",
                    "各台区最新负荷、额定容量与负载率，负载率高者在前。 "
                    "Latest kW, rated kVA and load ratio per feeder, highest load first. "
                    + column_legend(LOAD_VS_RATED_COLUMNS),
                    LOAD_VS_RATED,
                    span=12,
                ),
                LOAD_VS_RATED_COLUMNS,
            )
        )
        .with_panel(
            timeseries_panel(
                "过载台区数 Overloaded feeders over time",
                "各县过载台区数。 Number of overloaded feeders per county.",
                OVERLOADS_OVER_TIME,
                unit="suffix: 个",
                bars=True,
            )
        )
        .with_row(dashboard.Row("谷电蓄热 Off-peak storage"))
        .with_panel(
            timeseries_panel(
                "谷段反弹峰值 Valley-start rebound peak",
                "Highest kW per feeder among readings flagged rebound.",
                REBOUND_PEAK,
                unit="kwatt",
                span=24,
            )
        )
        .with_panel(
            timeseries_panel(
                "谷电占比 Valley share (storage heaters)",
                "Daily valley-tariff share of storage-heater households' energy (mean and "
                "minimum over feeders) per county.",
                VALLEY_SHARE,
                unit="percentunit",
                steps=((None, "red"), (0.6, "orange"), (0.8, "green")),
            ).transformations(rename_codes(FIELDS, ("valley_share_mean", "valley_share_min")))
        )
        .with_panel(
            timeseries_panel(
                f"{INCIDENT_KINDS['peak_charging'].zh}户 Peak chargers",
                "Storage-heater households charging outside the valley window, per county per day.",
                PEAK_CHARGERS,
                unit="suffix: 户",
                bars=True,
            )
        )
    )
