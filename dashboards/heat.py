"""District heating 集中供热: stations on the map, supply vs the heating curve, cold homes,
stack emissions vs the ultra-low limits, open heat incidents.

Every query reads what the core writes (``streams/core/heat.py``, docs/influx-schema.md):
``heat_station`` per reading, ``stack_emission_hourly`` per clock hour, ``heat_station_daily``
per day, and the heat kinds in ``incident`` / ``active_incidents``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, geomap, table, timeseries

from contract.glossary import FIELDS, INCIDENT_KINDS, NOUNS
from dashboards.common import (
    INCIDENT_WORDS_PREAMBLE,
    NO_VALUE,
    base_dashboard,
    bucket_variable,
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
from streams.core.heat import SEVERITIES as HEAT_SEVERITIES
from streams.core.settings import DetectionSettings

# The heat kinds and the severities the core opens them with (alert rules use the same table).
HEAT_KINDS: tuple[str, ...] = tuple(kind.value for kind in HEAT_SEVERITIES)

STATION_TAGS = ("county", "village", "heat_station_id")

_DEFAULTS = DetectionSettings()
# Ultra-low-emission limits (mg/m³ at the reference O₂) the detector judges against: the
# dashboard draws the same lines (HEATWATCH_DETECT_EMISSION_* change both, see settings).
EMISSION_LIMITS: dict[str, float] = {
    "particulates_mg_m3": _DEFAULTS.emission_particulates_mg_m3,
    "so2_mg_m3": _DEFAULTS.emission_so2_mg_m3,
    "nox_mg_m3": _DEFAULTS.emission_nox_mg_m3,
}


def kind_is_heat(column: str = "kind") -> str:
    return "  |> filter(fn: (r) => " + " or ".join(f'r.{column} == "{k}"' for k in HEAT_KINDS) + ")"


def station_points(*tags: str) -> str:
    """Heat stations with coordinates; state 2 interrupted, 1 below the curve or cold homes."""
    return flux(
        source("heat_station", ["interrupted", "supply_low", "cold_homes", "lat", "lon"]),
        tag_filter(*tags),
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
        '  |> group(columns: ["county", "village", "heat_station_id"])',
        '  |> pivot(rowKey: ["heat_station_id"], columnKey: ["_field"], valueColumn: "_value")',
        "  |> filter(fn: (r) => exists r.lat and exists r.lon)",
        "  |> map(fn: (r) => ({",
        '      name: r.heat_station_id, entity: "heat_station", county: r.county,'
        " village: r.village,",
        "      lat: float(v: r.lat), lon: float(v: r.lon),",
        "      state: if exists r.interrupted and int(v: r.interrupted) > 0 then 2",
        "        else if (exists r.supply_low and int(v: r.supply_low) > 0)",
        "          or (exists r.cold_homes and int(v: r.cold_homes) > 0) then 1 else 0,",
        "  }))",
        "  |> group()",
    )


def heat_households_affected(*tags: str) -> str:
    """Households without proper heat now: all of a station's when it is interrupted or
    below its curve, else its cold sampled homes (no double count of parent and children)."""
    return flux(
        source("heat_station", ["households", "cold_homes", "interrupted", "supply_low"]),
        tag_filter(*tags),
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
        '  |> group(columns: ["heat_station_id"])',
        '  |> pivot(rowKey: ["heat_station_id"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> map(fn: (r) => ({heat_station_id: r.heat_station_id, _field: "households",',
        "      _value: if r.interrupted > 0.0 or r.supply_low > 0.0 then r.households",
        "        else r.cold_homes}))",
        '  |> group(columns: ["_field"])',
        "  |> sum()",
    )


def open_heat_incidents(*tags: str) -> str:
    """Top-level open heat incidents (last active_incidents snapshot)."""
    return flux(
        source("active_incidents", ["top_level"]),
        tag_filter(*tags),
        kind_is_heat(),
        "  |> last()",
        '  |> group(columns: ["_field"])',
        "  |> sum()",
    )


def _station_sum(field: str) -> str:
    return flux(
        source("heat_station", [field]),
        tag_filter(*STATION_TAGS),
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: int(v: r._value)}))",
        '  |> group(columns: ["_field"])',
        "  |> sum()",
    )


STATIONS_INTERRUPTED = _station_sum("interrupted")
STATIONS_BELOW_CURVE = _station_sum("supply_low")
COLD_HOMES = _station_sum("cold_homes")
HOUSEHOLDS_WITHOUT_HEAT = heat_households_affected(*STATION_TAGS)
EMISSION_EXCEEDANCES = flux(
    source("active_incidents", ["count"]),
    tag_filter("county"),
    '  |> filter(fn: (r) => r.kind == "emission_exceedance")',
    "  |> last()",
    '  |> group(columns: ["_field"])',
    "  |> sum()",
)
MAP_POINTS = flux(
    station_points(*STATION_TAGS),
    '  |> keep(columns: ["name", "entity", "county", "village", "lat", "lon", "state"])',
)

SUPPLY_VS_CURVE = flux(
    source("heat_station", ["secondary_supply_c", "curve_supply_c"]),
    tag_filter(*STATION_TAGS),
    "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)",
    '  |> keep(columns: ["_time", "_value", "_field", "heat_station_id"])',
)

STATION_COLUMNS = (
    "heat_station_id",
    "county",
    "village",
    "secondary_supply_c",
    "curve_supply_c",
    "secondary_return_c",
    "flow_m3h",
    "heat_kw",
    "households",
    "cold_homes",
    "interrupted",
    "supply_low",
)
STATIONS_NOW = flux(
    source("heat_station", [c for c in STATION_COLUMNS if c not in STATION_TAGS]),
    tag_filter(*STATION_TAGS),
    "  |> last()",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["county", "village", "heat_station_id"])',
    '  |> pivot(rowKey: ["heat_station_id"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> group()",
    '  |> sort(columns: ["interrupted", "supply_low", "cold_homes"], desc: true)',
    "  |> keep(columns: [" + ", ".join(f'"{c}"' for c in STATION_COLUMNS) + "])",
)

# Cold sampled homes per county over time: each station's last value per window, summed.
COLD_HOMES_HISTORY = flux(
    source("heat_station", ["cold_homes"]),
    tag_filter(*STATION_TAGS),
    "  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)",
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["_time", "county"])',
    "  |> sum()",
    '  |> group(columns: ["county"])',
    '  |> sort(columns: ["_time"])',
)

DAILY_MINUTES = ("supplied_minutes", "low_minutes", "interrupted_minutes", "no_data_minutes")
STATION_DAYS = flux(
    source("heat_station_daily", list(DAILY_MINUTES)),
    tag_filter("county", "heat_station_id"),
    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
    '  |> group(columns: ["_time", "_field"])',
    "  |> sum()",
    '  |> group(columns: ["_field"])',
    '  |> sort(columns: ["_time"])',
)


def emission_query(field: str) -> str:
    return flux(
        source("stack_emission_hourly", [field]),
        tag_filter(*STATION_TAGS),
        '  |> keep(columns: ["_time", "_value", "heat_station_id"])',
    )


INCIDENT_FIELDS = (
    "entity_id",
    "village",
    "households_affected",
    "priority_households",
    "started_at",
    "duration_s",
)
OPEN_INCIDENT_COLUMNS = (
    "started_at",
    "county",
    "village",
    "incident",
    "severity",
    "households_affected",
    "priority_households",
    "duration",
    "incident_id",  # hidden (common.HIDDEN_COLUMNS)
    "kind_code",  # hidden: the dispatch link's kind
)
# The decisive point per incident (the resolved one when there is one, even at the same
# second as the open point), then the still-open ones; the panel looks back 30 days.
OPEN_INCIDENTS = flux(
    INCIDENT_WORDS_PREAMBLE,
    source("incident", list(INCIDENT_FIELDS)),
    tag_filter("county"),
    # the heat kinds, and a station's silence (comm_loss on a heat station: its telemetry
    # unit, dispatch no longer sees whether its households get heat)
    "  |> filter(fn: (r) => "
    + " or ".join(f'r.kind == "{k}"' for k in HEAT_KINDS)
    + ' or (r.kind == "comm_loss" and r.entity_type == "heat_station"))',
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    "  |> map(fn: (r) => ({r with started_at: time(v: int(v: r.started_at) * 1000000000),",
    '      closed: if r.state == "resolved" then 1 else 0}))',
    '  |> group(columns: ["incident_id"])',
    '  |> sort(columns: ["closed", "_time"])',
    "  |> tail(n: 1)",
    '  |> filter(fn: (r) => r.state == "open")',
    "  |> group()",
    '  |> sort(columns: ["started_at"], desc: true)',
    "  |> limit(n: 200)",
    incident_words(),
    "  |> keep(columns: [" + ", ".join(f'"{c}"' for c in OPEN_INCIDENT_COLUMNS) + "])",
)


def _map() -> geomap.Panel:
    station = NOUNS["heat_station"]
    return facility_geomap(
        f"{station.zh}状态 Heat stations",
        "换热站/锅炉房按经纬度（其供热户的平均位置）标注，颜色表示最新状态：正常（绿）、紧张（黄：二次"
        "供水低于供热曲线或有室温不达标户）、故障（红：供热中断）。 Heat exchange stations and "
        "boiler houses at the mean location of their households, coloured by the latest reading: "
        "ok / strained (below the heating curve or cold sampled homes) / failing (interrupted).",
        MAP_POINTS,
        f"{station.zh} {station.en}",
    )


def _stations_table() -> table.Panel:
    panel = table_panel(
        "换热站现状 Stations now",
        "每座换热站/锅炉房的最新读数，中断和低于供热曲线的排在前面。 Latest reading per station; "
        "interrupted and below-curve stations first. " + column_legend(STATION_COLUMNS),
        STATIONS_NOW,
        span=24,
        height=10,
    )
    return named_columns(panel, STATION_COLUMNS).no_value(NO_VALUE)


def _incidents_table() -> table.Panel:
    panel = table_panel(
        "进行中的供热事件 Open heat incidents",
        "近 30 天内开始、仍在进行的供热中断、供水温度偏低、室温不达标与排放超标事件（换热站事件及其"
        "用户子事件）；行链接打开调度总览。 Heat incidents started in the last 30 days and still "
        "open (station incidents and their household children). "
        + column_legend(OPEN_INCIDENT_COLUMNS),
        OPEN_INCIDENTS,
        span=24,
        height=12,
    ).time_from("30d")
    panel = named_columns(panel, OPEN_INCIDENT_COLUMNS).no_value(NO_VALUE)
    return panel.data_links(
        [
            link(
                "调度总览 Dispatch overview",
                "dispatch",
                {"county": "${__data.fields.county}", "kind": "${__data.fields.kind_code}"},
            ),
        ]
    )


def _emission_panel(field: str) -> timeseries.Panel:
    limit = EMISSION_LIMITS[field]
    term = FIELDS[field]
    return timeseries_panel(
        f"{term.zh}小时均值 {term.en} hourly mean",
        f"各锅炉房{term.zh}小时均值（折算到基准含氧量），红线为超低排放限值 {limit:g} mg/m³。"
        f" Hourly mean {term.en} at the reference O₂ per boiler house; the red line is the "
        f"ultra-low-emission limit ({limit:g} mg/m³). An hour with too few readings is shown "
        "but not judged.",
        emission_query(field),
        unit="conmgm3",
        steps=((None, "green"), (limit, "red")),
        span=8,
    )


def build(bucket: str = "heatwatch") -> dashboard.Dashboard:
    station = NOUNS["heat_station"]
    return (
        base_dashboard(
            "heat",
            "集中供热 District heating",
            "Heat networks and boiler houses (72 % of the programme's households): stations on "
            "the map, secondary supply vs the heating curve, cold sampled homes, stack "
            "emissions vs the ultra-low limits, open heat incidents.",
            ["heat"],
        )
        .with_variable(bucket_variable(bucket))
        .with_variable(county_variable("heat_station"))
        .with_variable(
            tag_variable("village", NOUNS["village"].zh, "heat_station", depends_on=["county"])
        )
        .with_variable(
            tag_variable(
                "heat_station_id",
                FIELDS["heat_station_id"].zh,
                "heat_station",
                depends_on=["county", "village"],
            )
        )
        .with_row(dashboard.Row("当前态势 Now"))
        .with_panel(
            stat_panel(
                f"{INCIDENT_KINDS['heat_supply_interruption'].zh}{station.zh} Stations interrupted",
                "最新读数为供热中断的换热站/锅炉房数。 Stations whose latest reading is interrupted.",
                STATIONS_INTERRUPTED,
                unit="suffix: 座",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            stat_panel(
                "低于供热曲线 Stations below the curve",
                "二次供水温度低于供热曲线的换热站数。 Stations supplying below their heating curve.",
                STATIONS_BELOW_CURVE,
                unit="suffix: 座",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            stat_panel(
                "供热不足户数 Households without proper heat",
                "中断或低于曲线的换热站的全部供热户，其余换热站的室温不达标户。 All households of "
                "interrupted or below-curve stations, plus the cold sampled homes of the others.",
                HOUSEHOLDS_WITHOUT_HEAT,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (100, "red")),
            )
        )
        .with_panel(
            stat_panel(
                f"{INCIDENT_KINDS['emission_exceedance'].zh} Emission exceedances",
                "小时均值超过超低排放限值的锅炉房（进行中的排放超标事件）。 "
                "Boiler houses with an open emission exceedance.",
                EMISSION_EXCEEDANCES,
                unit="suffix: 座",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(_map())
        .with_panel(
            timeseries_panel(
                "二次供水与供热曲线 Supply vs heating curve",
                "二次供水温度与按室外温度计算的供热曲线最低值（选一座换热站看得最清楚）。 Secondary "
                "supply temperature against the heating curve's minimum for the outdoor "
                "temperature (select one station to compare).",
                SUPPLY_VS_CURVE,
                unit="celsius",
            ).transformations(rename_codes(FIELDS, ("secondary_supply_c", "curve_supply_c")))
        )
        .with_panel(_stations_table())
        .with_row(dashboard.Row("室温 Cold homes"))
        .with_panel(
            stat_panel(
                "室温不达标户 Cold homes",
                "室温采集户中当前室温不达标的户数。 Sampled homes with an open indoor_temp_low.",
                COLD_HOMES,
                unit="suffix: 户",
                steps=((None, "green"), (1, "orange"), (10, "red")),
            )
        )
        .with_panel(
            timeseries_panel(
                "室温不达标户趋势 Cold homes over time",
                "各县室温不达标的采集户数。 Cold sampled homes per county.",
                COLD_HOMES_HISTORY,
                unit="suffix: 户",
                span=18,
            )
        )
        .with_panel(
            timeseries_panel(
                "每日供热时长 Daily supply",
                "所选换热站每日正常供热、低于曲线、中断和无数据的分钟数之和。 Minutes per day "
                "supplied, below the curve, interrupted and without data (selected stations).",
                STATION_DAYS,
                # minutes as minutes: Grafana's "m" unit rescales to "16.7 hour"
                unit="suffix: 分钟",
                bars=True,
                span=24,
            ).transformations(rename_codes(FIELDS, DAILY_MINUTES))
        )
        .with_row(dashboard.Row("排放 Emissions"))
        .with_panel(_emission_panel("particulates_mg_m3"))
        .with_panel(_emission_panel("so2_mg_m3"))
        .with_panel(_emission_panel("nox_mg_m3"))
        .with_row(dashboard.Row("事件 Incidents"))
        .with_panel(_incidents_table())
    )
