"""Season stability 采暖季稳定运行: progress towards the 先立后破 criteria.

Dashboard indicators approximate the stability policy (``heatwatch/report/stability``) from
``household_day`` with the default criteria (availability ≥ 98 %, ≥ 1080 known minutes per day,
≤ 24 h total interruption, ≤ 12 h gas shortfall). The authoritative, household-by-household
verdict is the season stability report, not this dashboard.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as dashboard_models

from dashboards.common import (
    base_dashboard,
    bucket_variable,
    county_variable,
    flux,
    source,
    stat_panel,
    table_panel,
    tag_filter,
    timeseries_panel,
)

RETROFIT_TYPES = (
    "district_heating",
    "boiler_ultra_low_emission",
    "coal_to_electric",
    "coal_to_gas",
    "biomass_chp",
    "biomass_district",
    "wind_electric",
    "solar",
)

# At-risk thresholds: half of the policy's budget, so households show up before they fail.
AT_RISK_INTERRUPTION_MIN = 720.0  # 12 h of outage (policy: 24 h)
AT_RISK_SHORTFALL_MIN = 360.0  # 6 h of gas shortfall (policy: 12 h)
AT_RISK_INTERRUPTIONS = 2  # episodes (policy: ≤ 3 long interruptions)

# Availability = available / (available + outage + shortfall), per county × retrofit type.
AVAILABILITY = flux(
    source("household_day", ["heating_available_minutes", "outage_minutes", "shortfall_minutes"]),
    tag_filter("county", "retrofit_type"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "retrofit_type", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["county", "retrofit_type"])',
    '  |> pivot(rowKey: ["county"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> map(fn: (r) => ({county: r.county, retrofit_type: r.retrofit_type,",
    "      _value: if r.heating_available_minutes + r.outage_minutes + r.shortfall_minutes > 0.0",
    "        then r.heating_available_minutes",
    "          / (r.heating_available_minutes + r.outage_minutes + r.shortfall_minutes)",
    "        else 0.0}))",
    "  |> group()",
    '  |> sort(columns: ["_value"])',
)

# Coverage = share of household-days with ≥ 1080 known minutes (no_data ≤ 360).
COVERAGE = flux(
    source("household_day", ["no_data_minutes"]),
    tag_filter("county", "retrofit_type"),
    "  |> map(fn: (r) => ({r with _value: if float(v: r._value) <= 360.0 then 1.0 else 0.0}))",
    '  |> group(columns: ["county", "retrofit_type"])',
    "  |> mean()",
    "  |> group()",
    '  |> sort(columns: ["_value"])',
)

# Daily availability trend per retrofit type.
AVAILABILITY_TREND = flux(
    source("household_day", ["heating_available_minutes", "outage_minutes", "shortfall_minutes"]),
    tag_filter("county", "retrofit_type"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["_time", "retrofit_type", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["retrofit_type"])',
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> map(fn: (r) => ({_time: r._time, retrofit_type: r.retrofit_type,",
    "      _value: if r.heating_available_minutes + r.outage_minutes + r.shortfall_minutes > 0.0",
    "        then r.heating_available_minutes",
    "          / (r.heating_available_minutes + r.outage_minutes + r.shortfall_minutes)",
    "        else 0.0}))",
    '  |> sort(columns: ["_time"])',
)

_PER_HOUSEHOLD = flux(
    source(
        "household_day",
        ["outage_minutes", "shortfall_minutes", "interruptions", "village", "priority_group"],
    ),
    tag_filter("county", "retrofit_type"),
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    '  |> group(columns: ["county", "retrofit_type", "household_id"])',
    "  |> reduce(",
    '      identity: {outage_min: 0.0, shortfall_min: 0.0, interruptions: 0, village: "",'
    ' priority_group: ""},',
    "      fn: (r, accumulator) => ({",
    "        outage_min: accumulator.outage_min + float(v: r.outage_minutes),",
    "        shortfall_min: accumulator.shortfall_min + float(v: r.shortfall_minutes),",
    "        interruptions: accumulator.interruptions + int(v: r.interruptions),",
    "        village: r.village,",
    "        priority_group: r.priority_group,",
    "      }),",
    "  )",
    "  |> filter(fn: (r) =>",
    f"      r.outage_min >= {AT_RISK_INTERRUPTION_MIN}"
    f" or r.shortfall_min >= {AT_RISK_SHORTFALL_MIN}"
    f" or r.interruptions >= {AT_RISK_INTERRUPTIONS})",
    "  |> group()",
)

AT_RISK_TABLE = flux(
    _PER_HOUSEHOLD,
    '  |> map(fn: (r) => ({r with priority: if r.priority_group != "none" then 1 else 0}))',
    '  |> sort(columns: ["priority", "outage_min"], desc: true)',
    "  |> limit(n: 200)",
    '  |> keep(columns: ["county", "village", "retrofit_type", "household_id", "priority_group",'
    ' "outage_min", "shortfall_min", "interruptions"])',
)

AT_RISK_COUNT = flux(
    _PER_HOUSEHOLD,
    '  |> count(column: "household_id")',
    "  |> map(fn: (r) => ({_value: r.household_id}))",
)


def _retrofit_variable() -> dashboard.CustomVariable:
    return (
        dashboard.CustomVariable("retrofit_type")
        .label("改造类型")
        .description("Retrofit type (tag retrofit_type of household_day).")
        .values(",".join(RETROFIT_TYPES))
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dashboard_models.VariableOption(selected=True, text="All", value="$__all"))
    )


def build(bucket: str = "heatwatch") -> dashboard.Dashboard:
    return (
        base_dashboard(
            "season",
            "采暖季稳定运行 Season stability",
            "Progress of converted households towards running stably through a full heating "
            "season (先立后破): availability, data coverage, households at risk. Indicative only; "
            "the season stability report decides.",
            ["season"],
        )
        .time("now-30d", "now")
        .refresh("15m")
        .with_variable(bucket_variable(bucket))
        .with_variable(county_variable("household_day"))
        .with_variable(_retrofit_variable())
        .with_panel(
            stat_panel(
                "风险户 Households at risk",
                "Households past half of a stability budget in range: ≥ 12 h outage, ≥ 6 h gas "
                "shortfall or ≥ 2 interruption episodes.",
                AT_RISK_COUNT,
                unit="户",
                steps=((None, "green"), (1, "orange"), (50, "red")),
            )
        )
        .with_panel(
            table_panel(
                "供热可用率（县/改造类型）Availability by county and retrofit type",
                "Available minutes / (available + outage + shortfall); criterion ≥ 98 %.",
                AVAILABILITY,
                span=9,
                height=10,
            )
        )
        .with_panel(
            table_panel(
                "数据覆盖率 Data coverage",
                "Share of household-days with ≥ 1080 known minutes; criterion ≥ 90 %.",
                COVERAGE,
                span=9,
                height=10,
            )
        )
        .with_panel(
            timeseries_panel(
                "每日可用率 Daily availability by retrofit type",
                "Daily heating availability per retrofit type over the selected counties.",
                AVAILABILITY_TREND,
                unit="percentunit",
                steps=((None, "red"), (0.95, "orange"), (0.98, "green")),
                span=24,
            )
        )
        .with_panel(
            table_panel(
                "风险户清单 Households at risk",
                "Up to 200 households at risk, priority groups first, then by outage minutes.",
                AT_RISK_TABLE,
                span=24,
                height=12,
            )
        )
    )
