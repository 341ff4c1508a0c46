"""Season stability 采暖季稳定运行: progress towards the 先立后破 criteria.

Dashboard indicators approximate the stability policy (``heatwatch/report/stability``) from
``household_day`` with the default criteria (availability ≥ 98 %, ≥ 1080 known minutes per day,
≤ 24 h total interruption, ≤ 12 h gas shortfall for coal-to-gas, ≤ 3 under-heated days for
heat networks). The authoritative, household-by-household verdict is the season stability
report, not this dashboard.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, table
from grafana_foundation_sdk.models import dashboard as dashboard_models

from contract.glossary import FIELDS, RETROFIT_TYPES
from contract.registry import NETWORK_RETROFITS
from dashboards.common import (
    DURATION_PREAMBLE,
    NO_VALUE,
    base_dashboard,
    bucket_variable,
    code_variable,
    column_legend,
    county_variable,
    flux,
    named_columns,
    rename_codes,
    source,
    stat_panel,
    table_panel,
    tag_filter,
    timeseries_panel,
)

# The availability and coverage tables name their value column after the measure.
AVAILABILITY_COLUMNS = ("county", "retrofit_type", "_value")
AT_RISK_COLUMNS = (
    "county",
    "village",
    "retrofit_type",
    "household_id",
    "priority_group",
    "outage_min",
    "shortfall_min",
    "cold_home_days",
    "interruptions",
)

# At-risk thresholds: half of the policy's budget, so households show up before they fail.
AT_RISK_INTERRUPTION_MIN = 720.0  # 12 h of outage (policy: 24 h)
AT_RISK_SHORTFALL_MIN = 360.0  # 6 h of gas shortfall (policy: 12 h)
AT_RISK_INTERRUPTIONS = 2  # episodes (policy: ≤ 3 long interruptions)
# Heat networks: their shortfall is heat below the curve or a cold home, not gas; a day with
# more than 2 h of it is an under-heated day (policy: ≤ 3, deploy/policy/stability.yaml).
COLD_HOME_DAY_MIN = 120.0
AT_RISK_COLD_HOME_DAYS = 2
_NETWORK = " or ".join(f'r.retrofit_type == "{rt.value}"' for rt in sorted(NETWORK_RETROFITS))

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
    "      identity: {outage_min: 0.0, shortfall_min: 0.0, cold_home_days: 0, interruptions: 0,"
    ' village: "", priority_group: ""},',
    "      fn: (r, accumulator) => ({",
    "        outage_min: accumulator.outage_min + float(v: r.outage_minutes),",
    "        shortfall_min: accumulator.shortfall_min + float(v: r.shortfall_minutes),",
    "        cold_home_days: accumulator.cold_home_days",
    f"          + (if float(v: r.shortfall_minutes) > {COLD_HOME_DAY_MIN} then 1 else 0),",
    "        interruptions: accumulator.interruptions + int(v: r.interruptions),",
    "        village: r.village,",
    "        priority_group: r.priority_group,",
    "      }),",
    "  )",
    # shortfall is gas for coal-to-gas households only; networks count under-heated days
    f"  |> map(fn: (r) => ({{r with network: {_NETWORK}}}))",
    '  |> map(fn: (r) => ({r with gas: r.retrofit_type == "coal_to_gas"}))',
    "  |> filter(fn: (r) =>",
    f"      r.outage_min >= {AT_RISK_INTERRUPTION_MIN}"
    f" or (r.gas and r.shortfall_min >= {AT_RISK_SHORTFALL_MIN})"
    f" or (r.network and r.cold_home_days >= {AT_RISK_COLD_HOME_DAYS})"
    f" or r.interruptions >= {AT_RISK_INTERRUPTIONS})",
    "  |> map(fn: (r) => ({r with shortfall_min: if r.gas then r.shortfall_min else 0.0}))",
    "  |> group()",
)

AT_RISK_TABLE = flux(
    DURATION_PREAMBLE,
    _PER_HOUSEHOLD,
    '  |> map(fn: (r) => ({r with priority: if r.priority_group != "none" then 1 else 0}))',
    '  |> sort(columns: ["priority", "outage_min"], desc: true)',
    "  |> limit(n: 200)",
    # minutes in words (12小时30分), not Grafana's "12.5 hour"
    "  |> map(fn: (r) => ({r with",
    "      outage_min: durationText(secs: int(v: r.outage_min * 60.0)),",
    "      shortfall_min: durationText(secs: int(v: r.shortfall_min * 60.0))}))",
    '  |> keep(columns: ["county", "village", "retrofit_type", "household_id", "priority_group",'
    ' "outage_min", "shortfall_min", "cold_home_days", "interruptions"])',
)

AT_RISK_COUNT = flux(
    _PER_HOUSEHOLD,
    '  |> count(column: "household_id")',
    "  |> map(fn: (r) => ({_value: r.household_id}))",
)


# Under-used households (issue 24) from ``household_use`` (written by ``heatwatch use publish``
# from the rollups: the season's use judgement against peers and degree-days). Casework for
# the county office, never an alert: dashboards/alerting.py has no rule on this measurement.
UNDER_USED_COLUMNS = (
    "county",
    "village",
    "household_id",
    "retrofit_type",
    "priority_group",
    "use_state",
    "use_ratio",
    "low_days",
    "judged_days",
)
UNDER_USED_TABLE = flux(
    source("household_use", ["ratio", "judged", "low", "state", "village", "priority_group"]),
    tag_filter("county", "retrofit_type"),
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    '  |> group(columns: ["county", "retrofit_type", "household_id"])',
    '  |> sort(columns: ["_time"])',
    "  |> reduce(",
    '      identity: {judged_days: 0, low_days: 0, ratio_sum: 0.0, use_state: "",'
    ' village: "", priority_group: ""},',
    "      fn: (r, accumulator) => ({",
    "        judged_days: accumulator.judged_days + (if r.judged then 1 else 0),",
    "        low_days: accumulator.low_days + (if r.low then 1 else 0),",
    "        ratio_sum: accumulator.ratio_sum"
    " + (if r.judged and exists r.ratio then r.ratio else 0.0),",
    # the newest point's state: the season-to-date judgement when it was last published
    "        use_state: r.state,",
    "        village: r.village,",
    "        priority_group: r.priority_group,",
    "      }),",
    "  )",
    '  |> filter(fn: (r) => r.use_state == "under_used")',
    "  |> map(fn: (r) => ({r with use_ratio: if r.judged_days > 0"
    " then r.ratio_sum / float(v: r.judged_days) else 0.0,",
    '      priority: if r.priority_group != "none" then 0 else 1}))',
    "  |> group()",
    '  |> sort(columns: ["county", "village", "priority", "use_ratio"], desc: false)',
    "  |> limit(n: 500)",
    '  |> keep(columns: ["county", "village", "household_id", "retrofit_type", "priority_group",'
    ' "use_state", "use_ratio", "low_days", "judged_days"])',
)


def _under_used_table() -> table.Panel:
    panel = table_panel(
        "疑似未使用/复烧户（按村）Under-used households by village",
        "新设施有供应、但寒冷日用能持续远低于本村（或本县）同类户的户，按县、村排列，最多 500 户；"
        "用能/同类户为所选时段内判定日的平均比值。这是入户核实的案件清单，不是故障，不发告警。"
        "热网户无户内用能数据，不在此列。数据由 heatwatch use publish 按日汇总写入。 "
        "Households whose new heating had supply but whose use on cold days stayed far below "
        "their peers of the same type in the village (or county), by county and village, up "
        "to 500; use vs peers is the mean ratio over the judged days in range. Casework for a "
        "home visit, not a fault: no alert. Network homes have no per-home heating figure and "
        "are not listed. Written from the daily rollups by heatwatch use publish. "
        + column_legend(UNDER_USED_COLUMNS),
        UNDER_USED_TABLE,
        span=24,
        height=12,
    )
    return named_columns(panel, UNDER_USED_COLUMNS).no_value(NO_VALUE)


def _ratio_table(
    title: str, description: str, query: str, measure: str, criterion: float
) -> table.Panel:
    """County × retrofit type with one ratio column, named, in % and coloured by the criterion."""
    panel = table_panel(
        title,
        description + " " + column_legend(["county", "retrofit_type", measure]),
        query,
        span=9,
        height=10,
    )
    panel = named_columns(panel, ("county", "retrofit_type")).no_value(NO_VALUE)
    return panel.override_by_name(
        "_value",
        [
            dashboard_models.DynamicConfigValue(id_val="displayName", value=FIELDS[measure].zh),
            dashboard_models.DynamicConfigValue(id_val="unit", value="percentunit"),
            dashboard_models.DynamicConfigValue(
                id_val="thresholds",
                value={
                    "mode": "absolute",
                    "steps": [
                        {"color": "red", "value": None},
                        {"color": "green", "value": criterion},
                    ],
                },
            ),
            dashboard_models.DynamicConfigValue(
                id_val="custom.cellOptions", value={"type": "color-background"}
            ),
        ],
    )


def _at_risk_table() -> table.Panel:
    panel = table_panel(
        "风险户清单 Households at risk",
        "最多 200 户风险户，重点群体在前，再按停电时长排序。 "
        "Up to 200 households at risk, priority groups first, then by outage minutes. "
        + column_legend(AT_RISK_COLUMNS),
        AT_RISK_TABLE,
        span=24,
        height=12,
    )
    return named_columns(panel, AT_RISK_COLUMNS).no_value(NO_VALUE)


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
        .with_variable(code_variable("retrofit_type", RETROFIT_TYPES))
        .with_panel(
            stat_panel(
                "风险户 Households at risk",
                "所选时段内已用掉一半稳定性预算的户：停电 ≥ 12 小时、中断 ≥ 2 次、煤改气户缺气 ≥ 6 "
                "小时或集中供热户供热不足 ≥ 2 天。 Households past half of a stability budget in "
                "range: ≥ 12 h outage, ≥ 2 interruption episodes, ≥ 6 h gas shortfall "
                "(coal-to-gas) or ≥ 2 under-heated days (heat networks).",
                AT_RISK_COUNT,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (50, "red")),
            )
        )
        .with_panel(
            _ratio_table(
                "供热可用率（县/改造类型）Availability by county and retrofit type",
                "可用分钟 /（可用 + 停电 + 缺气）；标准 ≥ 98 %。 "
                "Available minutes / (available + outage + shortfall); criterion ≥ 98 %.",
                AVAILABILITY,
                "availability",
                0.98,
            )
        )
        .with_panel(
            _ratio_table(
                "数据覆盖率 Data coverage",
                "已知分钟 ≥ 1080 的户日占比；标准 ≥ 90 %。 "
                "Share of household-days with ≥ 1080 known minutes; criterion ≥ 90 %.",
                COVERAGE,
                "coverage",
                0.9,
            )
        )
        .with_panel(
            timeseries_panel(
                "每日可用率 Daily availability by retrofit type",
                "各改造类型每日供热可用率。 "
                "Daily heating availability per retrofit type over the selected counties.",
                AVAILABILITY_TREND,
                unit="percentunit",
                steps=((None, "red"), (0.95, "orange"), (0.98, "green")),
                span=24,
            ).transformations(rename_codes(RETROFIT_TYPES))
        )
        .with_panel(_at_risk_table())
        .with_panel(_under_used_table())
    )
