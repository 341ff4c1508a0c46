"""Shared pieces of the heatwatch Grafana dashboards and alert rules.

* a small custom Flux dataquery type (grafana-foundation-sdk has no InfluxDB query builder);
* the datasource reference, the bucket constant and the template variables;
* panel helpers with the wall-display defaults;
* :func:`render_flux`, which substitutes dashboard variables and Grafana's Flux macros the way
  Grafana's InfluxDB datasource does, so tests can run every panel query against a real InfluxDB.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence

from grafana_foundation_sdk.builders import bargauge, dashboard, geomap, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models

from contract.glossary import (
    DURATION_UNITS,
    ENTITY_TYPES,
    FACILITY_STATES,
    FIELDS,
    INCIDENT_KINDS,
    INCIDENT_STATES,
    NOUNS,
    PRIORITY_GROUPS,
    RETROFIT_TYPES,
    SEVERITIES,
    USE_STATES,
    VERDICTS,
    YES_NO,
    Term,
)

DATASOURCE_UID = "heatwatch-influxdb"
DATASOURCE_TYPE = "influxdb"
DEFAULT_BUCKET = "heatwatch"
FOLDER_UID = "heatwatch"
FOLDER_TITLE = "Heatwatch 清洁取暖调度"
TIMEZONE = "Asia/Shanghai"

DASHBOARD_UIDS = {
    "dispatch": "heatwatch-dispatch",
    "power": "heatwatch-power",
    "gas": "heatwatch-gas",
    "season": "heatwatch-season",
    "heat": "heatwatch-heat",
}


# --------------------------------------------------------------------------- Flux dataquery


class FluxQuery(cogvariants.Dataquery):
    """An InfluxDB (Flux) target: ``{"refId", "datasource", "query", "hide"}``.

    This is the JSON Grafana's InfluxDB datasource reads for Flux (``query`` is the Flux text,
    see ``pkg/tsdb/influxdb/flux/query_models.go``).
    """

    ref_id: str
    query: str
    datasource: dashboard_models.DataSourceRef | None
    hide: bool | None

    def __init__(
        self,
        ref_id: str = "",
        query: str = "",
        datasource: dashboard_models.DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {"refId": self.ref_id, "query": self.query}
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> typing.Self:
        ds = data.get("datasource")
        return cls(
            ref_id=str(data.get("refId", "")),
            query=str(data.get("query", "")),
            datasource=dashboard_models.DataSourceRef.from_json(ds) if ds else None,
            hide=data.get("hide"),
        )


class Flux(cogbuilder.Builder[FluxQuery]):
    """Builder for :class:`FluxQuery` (usable wherever the SDK takes a dataquery builder)."""

    def __init__(self, query: str, ref_id: str = "A") -> None:
        self._internal = FluxQuery(ref_id=ref_id, query=query.strip() + "\n", datasource=ds_ref())

    def build(self) -> FluxQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self


def register_flux_variant() -> None:
    """Let the SDK's ``Dashboard.from_json`` decode influxdb targets as :class:`FluxQuery`."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=FluxQuery.from_json)
    )


register_flux_variant()


def ds_ref() -> dashboard_models.DataSourceRef:
    return dashboard_models.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


# --------------------------------------------------------------------------- Flux snippets


def source(measurement: str, fields: Sequence[str] | None = None, *, bucket: str = "") -> str:
    """``from |> range |> filter(measurement[, fields])`` with Grafana's time-range macros."""
    b = bucket or "${bucket}"
    lines = [
        f'from(bucket: "{b}")',
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)",
        f'  |> filter(fn: (r) => r._measurement == "{measurement}")',
    ]
    if fields:
        cond = " or ".join(f'r._field == "{f}"' for f in fields)
        lines.append(f"  |> filter(fn: (r) => {cond})")
    return "\n".join(lines)


def tag_filter(*tags: str) -> str:
    """Filters on tag columns from multi-value template variables of the same name."""
    return "\n".join(f"  |> filter(fn: (r) => r.{t} =~ /^${{{t}:regex}}$/)" for t in tags)


def flux(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _flux_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flux_dict(name: str, vocabulary: Mapping[str, Term]) -> str:
    pairs = ", ".join(
        f"{{key: {_flux_str(c)}, value: {_flux_str(t.zh)}}}" for c, t in vocabulary.items() if t.zh
    )
    return f"{name} = dict.fromList(pairs: [{pairs}])"


def _duration_fn() -> str:
    """``durationText(secs:)``: ``glossary.duration_text`` in Flux (the same rule; the
    integration test compares them value by value)."""
    u = {k: _flux_str(t.zh) for k, t in DURATION_UNITS.items()}
    return "\n".join(
        [
            "durationText = (secs) => {",
            "  d = secs / 86400",
            "  h = secs % 86400 / 3600",
            "  m = secs % 3600 / 60",
            f'  return if secs <= 0 then "0" + {u["minute"]}',
            f"    else if secs < 60 then {u['under_a_minute']}",
            f"    else if d > 0 then string(v: d) + {u['day']} + string(v: h) + {u['hour']}",
            f"    else if h > 0 then string(v: h) + {u['hour']} + string(v: m) + {u['minute']}",
            f"    else string(v: m) + {u['minute']}",
            "}",
        ]
    )


# Goes before ``from(...)``: the glossary's kind and entity words as Flux dictionaries and
# the duration rule as a Flux function.
INCIDENT_WORDS_PREAMBLE = "\n".join(
    [
        'import "dict"',
        "",
        _flux_dict("kindTerms", INCIDENT_KINDS),
        _flux_dict("entityTerms", ENTITY_TYPES),
        _duration_fn(),
        "",
    ]
)
DURATION_PREAMBLE = _duration_fn() + "\n"


def incident_words() -> str:
    """Flux map (after the pivot, ``started_at`` already a time) adding text columns in the
    dispatcher's words, from the glossary (``INCIDENT_WORDS_PREAMBLE`` first):

    * ``duration`` — ``1小时48分`` (``glossary.duration_text``; Grafana's ``s`` unit reads
      "1.8 hour"), and for an open incident the time since it started, ``已持续 2小时5分``
      (its ``duration_s`` is 0 until it resolves) — up to the end of the viewed range, which
      on the live board is now, and on a past range or a replayed season the range's end;
    * ``incident`` — ``台区停电：台区 F-XF-0001`` instead of the incident's id;
    * ``kind_code`` — the kind, for row links (hidden).
    """
    elapsed = _flux_str(DURATION_UNITS["elapsed"].zh)
    return "\n".join(
        [
            "  |> map(fn: (r) => {",
            '      secs = if r.state == "open"',
            "        then (int(v: v.timeRangeStop) - int(v: r.started_at)) / 1000000000",
            "        else int(v: r.duration_s)",
            "      text = durationText(secs: secs)",
            "      return {r with",
            "        kind_code: r.kind,",
            f'        duration: if r.state == "open" then {elapsed} + " " + text else text,',
            '        incident: dict.get(dict: kindTerms, key: r.kind, default: r.kind) + "："',
            "          + dict.get(dict: entityTerms, key: r.entity_type, default: r.entity_type)",
            '          + " " + r.entity_id}',
            "  })",
        ]
    )


# --------------------------------------------------------------------------- variables


def bucket_variable(bucket: str = DEFAULT_BUCKET) -> dashboard.ConstantVariable:
    return (
        dashboard.ConstantVariable("bucket")
        .label("Bucket")
        .description("InfluxDB bucket the heatwatch sink writes to.")
        .value(bucket)
    )


def tag_variable(
    name: str,
    label: str,
    measurement: str,
    *,
    depends_on: Sequence[str] = (),
    description: str = "",
) -> dashboard.QueryVariable:
    """Multi-value tag variable from ``schema.tagValues`` (chained on ``depends_on``)."""
    predicate = f'r._measurement == "{measurement}"'
    for dep in depends_on:
        predicate += f" and r.{dep} =~ /^${{{dep}:regex}}$/"
    query = (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "${{bucket}}", tag: "{name}", '
        f"predicate: (r) => {predicate}, start: -30d)"
    )
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .description(description or f"Values of tag `{name}` in `{measurement}` (last 30 days).")
        .datasource(ds_ref())
        .query(query)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(dashboard_models.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .current(dashboard_models.VariableOption(selected=True, text="All", value="$__all"))
    )


def county_variable(measurement: str = "active_incidents") -> dashboard.QueryVariable:
    return tag_variable("county", NOUNS["county"].zh, measurement, description="County filter.")


def code_variable(
    name: str, vocabulary: Mapping[str, Term], codes: Sequence[str] = ()
) -> dashboard.CustomVariable:
    """A drop-down listing glossary terms (Chinese) whose values are the contract's codes.

    Grafana's custom-variable syntax ``text : value`` shows the text and filters by the value.
    """
    chosen = list(codes) or [c for c in vocabulary if vocabulary[c].zh]
    return (
        dashboard.CustomVariable(name)
        .label(FIELDS[name].zh)
        .description(f"{FIELDS[name].en} (codes: {', '.join(chosen)}).")
        .values(",".join(f"{vocabulary[c].zh} : {c}" for c in chosen))
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dashboard_models.VariableOption(selected=True, text="All", value="$__all"))
    )


# --------------------------------------------------------------------------- dashboards


def base_dashboard(
    key: str, title: str, description: str, tags: Sequence[str]
) -> dashboard.Dashboard:
    """A dashboard with the wall-display defaults: 1 min refresh, 24 h window, CST."""
    return (
        dashboard.Dashboard(title)
        .uid(DASHBOARD_UIDS[key])
        .description(description)
        .tags(["heatwatch", *tags])
        .timezone(TIMEZONE)
        .time("now-24h", "now")
        .refresh("1m")
        .readonly()
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .timepicker(dashboard.TimePicker().refresh_intervals(["30s", "1m", "5m", "15m", "1h"]))
        .link(
            dashboard.DashboardLink("Heatwatch")
            .type(dashboard_models.DashboardLinkType.DASHBOARDS)
            .tags(["heatwatch"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_models.Threshold(value=v, color=c) for v, c in steps])
    )


def stat_panel(
    title: str,
    description: str,
    query: str,
    *,
    unit: str = "short",
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(ds_ref())
        .with_target(Flux(query))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value("0")
        .height(5)
        .span(6)
    )


def timeseries_panel(
    title: str,
    description: str,
    query: str,
    *,
    unit: str = "short",
    bars: bool = False,
    steps: Sequence[tuple[float | None, str]] | None = None,
    span: int = 12,
) -> timeseries.Panel:
    p = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(ds_ref())
        .with_target(Flux(query))
        .unit(unit)
        .height(9)
        .span(span)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.TABLE)
            .placement(common_models.LegendPlacement.RIGHT)
            .calcs(["lastNotNull", "max"])
        )
    )
    if bars:
        p = p.draw_style(common_models.GraphDrawStyle.BARS).fill_opacity(80)
    else:
        p = p.line_width(2).fill_opacity(10)
    if steps:
        p = p.thresholds(thresholds(*steps)).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common_models.GraphThresholdsStyleMode.LINE
            )
        )
    return p


def table_panel(
    title: str, description: str, query: str, *, span: int = 24, height: int = 10
) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(ds_ref())
        .with_target(Flux(query))
        .height(height)
        .span(span)
    )


def bargauge_panel(
    title: str,
    description: str,
    query: str,
    *,
    unit: str = "short",
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    span: int = 12,
) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(ds_ref())
        .with_target(Flux(query))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(9)
        .span(span)
    )


def link(title: str, dashboard_key: str, params: Mapping[str, str]) -> dashboard.DashboardLink:
    """A data link to another heatwatch dashboard, carrying the time range and row values."""
    query = "&".join(f"var-{k}={v}" for k, v in params.items())
    url = f"/d/{DASHBOARD_UIDS[dashboard_key]}?{query}&${{__url_time_range}}"
    return dashboard.DashboardLink(title).url(url)


# --------------------------------------------------------------------------- the dispatcher's words
# Every column a table shows gets its glossary name; every code column its glossary terms.

# Columns whose values are codes, and the vocabulary that names them.
CODE_COLUMNS: dict[str, Mapping[str, Term]] = {
    "kind": INCIDENT_KINDS,
    "severity": SEVERITIES,
    "state": INCIDENT_STATES,
    "entity_type": ENTITY_TYPES,
    "entity": ENTITY_TYPES,
    "retrofit_type": RETROFIT_TYPES,
    "priority_group": {**PRIORITY_GROUPS, "none": Term("—", "—")},
    "verdict": VERDICTS,
    "overloaded": YES_NO,
    "interrupted": YES_NO,
    "supply_low": YES_NO,
    "use_state": USE_STATES,
}

# Units per column (Grafana unit ids; `suffix:` for counted things).
COLUMN_UNITS: dict[str, str] = {
    "duration_s": "s",
    "households_affected": "suffix: 户",
    "priority_households": "suffix: 户",
    "households_at_risk": "suffix: 户",
    "kw": "kwatt",
    "rated_kva": "kvoltamp",
    "load_ratio": "percentunit",
    "quota_m3": "m3",
    "used_m3": "m3",
    "remaining_m3": "m3",
    "burn_m3_per_day": "m3",
    "days_left": "suffix: 天",
    "exhaustion": "time:YYYY-MM-DD",
    "_time": "time:YYYY-MM-DD HH:mm",
    "started_at": "time:YYYY-MM-DD HH:mm",
    "secondary_supply_c": "celsius",
    "secondary_return_c": "celsius",
    "curve_supply_c": "celsius",
    "flow_m3h": "suffix: m³/h",
    "heat_kw": "kwatt",
    "households": "suffix: 户",
    "cold_homes": "suffix: 户",
    "cold_home_days": "suffix: 天",
    "use_ratio": "percentunit",
    "judged_days": "suffix: 天",
    "low_days": "suffix: 天",
}

NO_VALUE = "—"


def value_mappings(vocabulary: Mapping[str, Term]) -> list[dict[str, object]]:
    """Grafana value mappings code → Chinese term (codes without a term show as themselves)."""
    options = {
        code: {"text": term.zh or NO_VALUE, "index": i}
        for i, (code, term) in enumerate(vocabulary.items())
    }
    return [{"type": "value", "options": options}]


# Columns a table keeps in its data (for a data link) but does not show: the incident tables
# show the incident in words (``incident_words``) and link by its id and kind.
HIDDEN_COLUMNS = frozenset({"incident_id", "kind_code"})


def column_properties(column: str) -> list[dashboard_models.DynamicConfigValue]:
    """Display name, unit and value mappings of one column, from the glossary."""
    props = [dashboard_models.DynamicConfigValue(id_val="displayName", value=FIELDS[column].zh)]
    if column in HIDDEN_COLUMNS:
        props.append(dashboard_models.DynamicConfigValue(id_val="custom.hidden", value=True))
    if column in COLUMN_UNITS:
        props.append(dashboard_models.DynamicConfigValue(id_val="unit", value=COLUMN_UNITS[column]))
    if column in CODE_COLUMNS:
        props.append(
            dashboard_models.DynamicConfigValue(
                id_val="mappings", value=value_mappings(CODE_COLUMNS[column])
            )
        )
    return props


def column_legend(columns: Sequence[str]) -> str:
    """``列 Columns: 县（市、区） county · 村 village …`` for a panel description (English)."""
    shown = [c for c in columns if c not in HIDDEN_COLUMNS]
    return "列 Columns: " + " · ".join(f"{FIELDS[c].zh} {FIELDS[c].en}" for c in shown)


_P = typing.TypeVar("_P", table.Panel, geomap.Panel)


def named_columns(panel: _P, columns: Sequence[str]) -> _P:
    """Show ``columns`` under their glossary names, with units and code → term mappings.

    Tables also get their columns in this order (Flux returns them in its own order).
    """
    for column in columns:
        panel = panel.override_by_name(column, column_properties(column))
    if isinstance(panel, table.Panel):
        panel = panel.with_transformation(column_order(columns))
    return panel


def column_order(columns: Sequence[str]) -> dashboard_models.DataTransformerConfig:
    """Grafana's ``organize`` transformation ordering the columns (no renames: the overrides
    match the raw names)."""
    return dashboard_models.DataTransformerConfig(
        id_val="organize",
        options={
            "indexByName": {c: i for i, c in enumerate(columns)},
            "excludeByName": {},
            "renameByName": {},
        },
    )


def rename_codes(
    vocabulary: Mapping[str, Term], codes: Sequence[str] = ()
) -> list[dashboard_models.DataTransformerConfig]:
    """Replace codes inside series names (legend, bar labels) by their Chinese terms.

    Series names carry tag values (``{county="代县", kind="feeder_outage"}``): value mappings do
    not reach them, so each code is substituted in the display name (``/code/g``, JS regex).
    """
    return [
        dashboard_models.DataTransformerConfig(
            id_val="renameByRegex",
            options={"regex": f"/\\b{code}\\b/g", "renamePattern": term.zh},
        )
        for code, term in vocabulary.items()
        if term.zh and (not codes or code in codes)
    ]


# --------------------------------------------------------------------------- query rendering

_VAR_RE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


def render_flux(
    query: str,
    variables: Mapping[str, str | Sequence[str] | None],
    *,
    start: str,
    stop: str,
    window: str = "1m0s",
) -> str:
    """Substitute template variables and Flux macros as Grafana does before sending a query.

    ``variables`` maps name → value, list of values, or ``None`` for "All" (the variables'
    ``allValue`` is ``.*``). ``start``/``stop`` are RFC3339 times; ``window`` is a Go duration
    (Grafana substitutes ``v.windowPeriod`` with ``time.Duration.String()``, e.g. ``1m0s``).
    """

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        fmt = m.group(2)
        if name.startswith("__") or name not in variables:
            return m.group(0)
        value = variables[name]
        if value is None:
            return ".*"
        if isinstance(value, str):
            return re.escape(value) if fmt == "regex" else value
        vals = list(value)
        if fmt == "regex":
            escaped = [re.escape(v) for v in vals]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        return ",".join(vals)

    out = _VAR_RE.sub(sub, query)
    out = out.replace("v.timeRangeStart", start).replace("v.timeRangeStop", stop)
    return out.replace("v.windowPeriod", window)


# --------------------------------------------------------------------------- facility map
# Map markers: 0 ok (green), 1 strained (yellow), 2 failing (red) — FACILITY_STATES.
_STATE_COLOURS = {"0": "green", "1": "#EAB839", "2": "red"}


def facility_state_properties() -> list[dashboard_models.DynamicConfigValue]:
    """0/1/2 shown as 正常/紧张/故障 in the tooltip, keeping the marker colours."""
    options = {
        code: {"text": term.zh, "color": _STATE_COLOURS[code], "index": int(code)}
        for code, term in FACILITY_STATES.items()
    }
    return [
        dashboard_models.DynamicConfigValue(id_val="displayName", value="状态"),
        dashboard_models.DynamicConfigValue(
            id_val="mappings", value=[{"type": "value", "options": options}]
        ),
    ]


def facility_geomap(title: str, description: str, query: str, layer: str) -> geomap.Panel:
    """Facilities at their ``lat``/``lon`` coloured by ``state`` (the query's columns: name,
    entity, county, village, lat, lon, state)."""
    markers = (
        common_builders.MapLayerOptions()
        .type("markers")
        .name(layer)
        .location(
            common_builders.FrameGeometrySource()
            .mode(common_models.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .tooltip(True)
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "state", "fixed": "green"},
                    "size": {"fixed": 8, "min": 4, "max": 16},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "text": {"field": "name", "mode": "field", "fixed": ""},
                    "textConfig": {"fontSize": 10, "offsetY": -12},
                },
            }
        )
    )
    return (
        geomap.Panel()
        .title(title)
        .description(description)
        .datasource(ds_ref())
        .with_target(Flux(query))
        .view(geomap.MapViewConfig().id("coords").lat(38).lon(112).zoom(8))
        .basemap(common_builders.MapLayerOptions().type("default").name("Basemap"))
        .layers([markers])
        .thresholds(thresholds((None, "green"), (1, "#EAB839"), (2, "red")))
        .height(14)
        .span(12)
        .override_by_name("state", facility_state_properties())
        .override_by_name("name", column_properties("name"))
        .override_by_name("entity", column_properties("entity"))
        .override_by_name("county", column_properties("county"))
        .override_by_name("village", column_properties("village"))
    )
