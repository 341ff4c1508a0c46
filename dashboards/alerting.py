"""Alert rules, contact points, notification policies, mute timings and templates.

Everything is produced in two shapes from one definition:

* **API shape** (``/api/v1/provisioning/...`` bodies) — used by ``heatwatch grafana apply``;
* **file shape** (``provisioning/alerting/*.yaml``, ``apiVersion: 1``) — written by the generator.

Rules alert on low-cardinality series only (active_incidents per county × kind,
feeder_load / station_pressure aggregated per county, worker heartbeats per worker, and one
series per open top-level incident of the paging kinds from ``incident``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alerting_models

from contract.geography import COUNTY_NAMES as COUNTIES
from contract.geography import COUNTY_SLUGS
from contract.glossary import (
    HEAT_COMM_LOSS_RUNBOOK,
    HEAT_DEVICES,
    INCIDENT_KINDS,
    NOUNS,
    PRIORITY_GROUPS,
    RESPONDERS,
    RUNBOOKS,
    SEVERITIES,
    Lang,
    Term,
)
from contract.glossary import label as glossary_label
from contract.incidents import IncidentKind
from dashboards.catalog import dashboard_json
from dashboards.common import (
    DASHBOARD_UIDS,
    DATASOURCE_UID,
    DEFAULT_BUCKET,
    FOLDER_TITLE,
    FOLDER_UID,
    Flux,
    flux,
    source,
)
from dashboards.heat import HEAT_KINDS
from streams.core.heat import HEAT_DOMAIN
from streams.core.heat import SEVERITIES as HEAT_SEVERITIES

ORG_ID = 1
EXPR_UID = "__expr__"


NoDataState = Literal["Alerting", "NoData", "OK", "KeepLast"]
ErrState = Literal["Alerting", "Error", "OK", "KeepLast"]

RECEIVER_DISPATCH = "调度中心 webhook"
RECEIVER_DINGTALK = "调度值班 钉钉"
RECEIVER_OPS_EMAIL = "运维 email"


def env(name: str) -> str:
    """An environment placeholder, expanded by Grafana file provisioning and by `apply`."""
    return "${" + name + "}"


# --------------------------------------------------------------------------- rule model


@dataclass(frozen=True)
class RuleSpec:
    uid: str
    group: str
    title: str
    # summary, summary_en, description, description_en, runbook, runbook_en
    wording: dict[str, str]
    # refId → Flux query; "A" is the one the condition reduces.
    queries: dict[str, str]
    op: Literal["gt", "lt"]
    threshold: float
    for_: str
    keep_firing_for: str
    no_data: NoDataState
    exec_err: ErrState
    labels: dict[str, str]
    range_s: int = 600
    extra_annotations: dict[str, str] = field(default_factory=dict)
    dashboard: str = "dispatch"
    # Relative link with the panel and the county (and kind) preselected; "" = dashboard only.
    link: str = ""


def _active(field_name: str, severity_filter: str) -> str:
    return flux(
        source("active_incidents", [field_name], bucket=DEFAULT_BUCKET),
        f"  |> filter(fn: (r) => {severity_filter})",
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
        '  |> keep(columns: ["_time", "_value", "county", "kind", "severity"])',
    )


def _per_county(measurement: str, field_name: str, tag: str) -> str:
    return flux(
        source(measurement, [field_name], bucket=DEFAULT_BUCKET),
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
        f'  |> group(columns: ["county", "{tag}"])',
        "  |> max()",
        '  |> group(columns: ["county"])',
        "  |> sum()",
        '  |> keep(columns: ["_value", "county"])',
    )


# --------------------------------------------------------------------------- alert wording
# Annotations are Go templates Grafana expands per alert instance ($labels, $values). The kind,
# severity and runbook come from the glossary: a static code when the rule has one, otherwise
# an if-chain over the series' `kind` label generated from the same glossary.

PRIORITY_GROUP_NAMES = "/".join(t.zh for c, t in PRIORITY_GROUPS.items() if t.zh)
PRIORITY_GROUP_NAMES_EN = "/".join(t.en for c, t in PRIORITY_GROUPS.items() if t.en)


def term_of(vocabulary: dict[str, Term], code: str | None, label: str, lang: Lang) -> str:
    """The term for a static ``code``, or a template choosing it from ``$labels.<label>``."""
    if code is not None:
        return glossary_label(vocabulary, code, lang)
    chain = "".join(
        f'{{{{ {"if" if i == 0 else "else if"} eq $labels.{label} "{c}" }}}}'
        f"{glossary_label(vocabulary, c, lang)}"
        for i, c in enumerate(vocabulary)
    )
    return chain + f"{{{{ else }}}}{{{{ $labels.{label} }}}}{{{{ end }}}}"


def _dashboard_link(dashboard: str, kind: str | None, with_kind: bool = True) -> str:
    """Relative link to the right dashboard, panel and county (and kind) preselected."""
    panel = ALERT_PANELS[dashboard]
    link = f"/d/{DASHBOARD_UIDS[dashboard]}?orgId={ORG_ID}&viewPanel={panel_id(dashboard, panel)}"
    link += "&var-county={{ $labels.county | urlquery }}"
    if with_kind:
        link += "&var-kind=" + (kind or "{{ $labels.kind }}")
    return link


# The panel an alert link opens: where the per-entity rows (ids, villages, start times) are.
ALERT_PANELS = {
    "dispatch": "最新事件",
    "power": "负荷与额定容量",
    "gas": "预计耗尽日期",
    "heat": "进行中的供热事件",
}


def panel_id(dashboard: str, title_prefix: str) -> int:
    """The generated id of the dashboard panel whose title starts with ``title_prefix``."""
    name = {"dispatch": "dispatch-overview", "power": "power", "gas": "gas", "heat": "heat"}[
        dashboard
    ]
    for panel in dashboard_json(name)["panels"]:
        if str(panel.get("title", "")).startswith(title_prefix):
            return int(panel["id"])
    raise LookupError(f"{name}: no panel titled {title_prefix}…")


def incident_wording(
    kind: str | None,
    severity: str | None,
    count_unit: str = "起",
    nouns: tuple[str, ...] = ("feeder", "gas_station", "household"),
) -> dict[str, str]:
    """Summary, description and runbook (zh, en) for a county × kind incident alert."""
    county = "{{ $labels.county }}"
    n = "{{ $values.B.Value }}"
    hh = "{{ $values.HH.Value }}"
    ph = "{{ $values.PH.Value }}"
    kind_zh = term_of(INCIDENT_KINDS, kind, "kind", "zh")
    kind_en = term_of(INCIDENT_KINDS, kind, "kind", "en")
    sev_zh = term_of(SEVERITIES, severity, "severity", "zh")
    sev_en = term_of(SEVERITIES, severity, "severity", "en")
    grid_gas = nouns == ("feeder", "gas_station", "household")
    ids_en = "Feeder/station" if grid_gas else "/".join(NOUNS[n].en for n in nouns).capitalize()
    return {
        "summary": f"【{sev_zh}】{county} {kind_zh}：{n} {count_unit}，影响 {hh} 户",
        "summary_en": f"[{sev_en}] {county} {kind_en}: {n} active, {hh} households affected",
        "description": (
            f"{county}有 {n} {count_unit}{kind_zh}（{sev_zh}）正在进行，影响 {hh} 户，"
            f"其中重点群体（{PRIORITY_GROUP_NAMES}）{ph} 户。"
            f"对象编号（{'/'.join(NOUNS[n].zh for n in nouns)}）、村和开始时间见看板链接。"
        ),
        "description_en": (
            f"{county}: {n} {kind_en} incident(s) ({sev_en}) active, {hh} households affected, "
            f"{ph} of them in priority groups ({PRIORITY_GROUP_NAMES_EN}). {ids_en} ids, "
            "villages and start times: see the dashboard link."
        ),
        "runbook": term_of(RUNBOOKS, kind, "kind", "zh"),
        "runbook_en": term_of(RUNBOOKS, kind, "kind", "en"),
    }


def _pipeline_wording(
    summary: str, summary_en: str, runbook: str, runbook_en: str
) -> dict[str, str]:
    return {
        "summary": summary,
        "summary_en": summary_en,
        "description": "没有处理程序就检测不到任何事件。",
        "description_en": "Without the worker no incident is detected.",
        "runbook": runbook,
        "runbook_en": runbook_en,
    }


# A heat device's comm_loss is tagged domain=heat in the snapshot (streams/core/heat.py): it is
# the heat operator's (hw-entity-heat-station pages the station), never a meter comm loss.
NOT_HEAT_DOMAIN = f'(not exists r.domain or r.domain != "{HEAT_DOMAIN}")'


def _incident_rule(uid: str, title: str, severity: str, for_: str) -> RuleSpec:
    # Heat kinds have their own county rules (group heat): exact households, domain=heat.
    not_heat = " and ".join(f'r.kind != "{k}"' for k in HEAT_KINDS)
    cond = f'r.severity == "{severity}" and {not_heat} and {NOT_HEAT_DOMAIN}'
    return RuleSpec(
        uid=uid,
        group="incidents",
        title=title,
        wording=incident_wording(None, severity),
        queries={
            "A": _active("count", cond),
            "HQ": _active("households_affected", cond),
            "PQ": _active("priority_households", cond),
        },
        op="gt",
        threshold=0,
        for_=for_,
        keep_firing_for="10m",
        no_data="KeepLast",
        exec_err="KeepLast",
        labels={"domain": "incidents"},
        extra_annotations=_HOUSEHOLD_ANNOTATIONS,
        link=_dashboard_link("dispatch", None),
    )


_HOUSEHOLD_ANNOTATIONS = {
    "households_affected": "{{ $values.HH.Value }}",
    "priority_households": "{{ $values.PH.Value }}",
}


def _priority_rule() -> RuleSpec:
    wording = incident_wording(None, "critical")
    wording["summary"] = (
        f"【{SEVERITIES['critical'].zh}】{{{{ $labels.county }}}} "
        f"{term_of(INCIDENT_KINDS, None, 'kind', 'zh')}：{{{{ $values.B.Value }}}} 户重点群体"
        f"（{PRIORITY_GROUP_NAMES}）受影响"
    )
    wording["summary_en"] = (
        "[critical] {{ $labels.county }} "
        f"{term_of(INCIDENT_KINDS, None, 'kind', 'en')}: {{{{ $values.B.Value }}}} "
        f"priority-group households ({PRIORITY_GROUP_NAMES_EN}) affected"
    )
    wording["description"] = (
        "{{ $labels.county }}有重点群体户受影响：{{ $values.B.Value }} 户"
        f"（{PRIORITY_GROUP_NAMES}），请优先保障。对象编号与开始时间见看板链接。"
    )
    wording["description_en"] = (
        "{{ $labels.county }}: {{ $values.B.Value }} priority-group households affected; "
        "serve them first. Entity ids and start times: see the dashboard link."
    )
    return RuleSpec(
        uid="hw-priority-households",
        group="incidents",
        title="重点群体户受影响 Priority households affected",
        wording=wording,
        queries={
            "A": flux(
                source("active_incidents", ["priority_households"], bucket=DEFAULT_BUCKET),
                # a silent heat device is not a household without heat: its station page
                # (hw-entity-heat-station) names the priority households, to the heat operator
                f"  |> filter(fn: (r) => {NOT_HEAT_DOMAIN})",
                "  |> last()",
                "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
                '  |> group(columns: ["county", "kind"])',
                "  |> sum()",
                '  |> keep(columns: ["_value", "county", "kind"])',
            ),
        },
        op="gt",
        threshold=0,
        for_="1m",
        keep_firing_for="10m",
        no_data="KeepLast",
        exec_err="KeepLast",
        labels={"domain": "incidents", "severity": "critical", "priority": "true"},
        link=_dashboard_link("dispatch", None),
    )


def _feeder_overload_rule() -> RuleSpec:
    kind = "feeder_overload"
    wording = incident_wording(kind, "warning", count_unit="个")
    wording["summary"] = (
        f"【{SEVERITIES['warning'].zh}】{{{{ $labels.county }}}} {INCIDENT_KINDS[kind].zh}："
        "{{ $values.B.Value }} 个台区过载"
    )
    wording["summary_en"] = (
        "[warning] {{ $labels.county }} feeder overload: {{ $values.B.Value }} feeders overloaded"
    )
    wording["description"] = (
        "{{ $labels.county }}有 {{ $values.B.Value }} 个台区最新读数过载。"
        "过载台区编号、村与负载率见看板链接（负荷与额定容量表）。"
    )
    wording["description_en"] = (
        "{{ $labels.county }}: {{ $values.B.Value }} feeders overloaded on their latest reading. "
        "Feeder ids, villages and load ratios: see the dashboard link (load vs rated table)."
    )
    return RuleSpec(
        uid="hw-feeder-overload",
        group="grid",
        title=f"{INCIDENT_KINDS[kind].zh} Feeders overloaded",
        wording=wording,
        queries={"A": _per_county("feeder_load", "overloaded", "feeder_id")},
        op="gt",
        threshold=0,
        for_="5m",
        keep_firing_for="15m",
        no_data="KeepLast",
        exec_err="Error",
        labels={"domain": "grid", "severity": "warning", "kind": kind},
        dashboard="power",
        link=_dashboard_link("power", kind, with_kind=False),
    )


def _gas_shortfall_rule() -> RuleSpec:
    kind = "gas_supply_shortfall"
    wording = incident_wording(kind, "critical", count_unit="座")
    wording["summary"] = (
        f"【{SEVERITIES['critical'].zh}】{{{{ $labels.county }}}} {INCIDENT_KINDS[kind].zh}："
        "{{ $values.B.Value }} 座燃气调压站，低压户 {{ $values.HH.Value }} 户"
    )
    wording["summary_en"] = (
        "[critical] {{ $labels.county }} gas supply shortfall: {{ $values.B.Value }} stations, "
        "{{ $values.HH.Value }} low-pressure households"
    )
    wording["description"] = (
        "{{ $labels.county }}有 {{ $values.B.Value }} 座燃气调压站供气不足，"
        "低压户 {{ $values.HH.Value }} 户。调压站编号与合同气量见看板链接。"
    )
    wording["description_en"] = (
        "{{ $labels.county }}: {{ $values.B.Value }} gas stations in shortfall, "
        "{{ $values.HH.Value }} low-pressure households. Station ids and quota: see the "
        "dashboard link."
    )
    return RuleSpec(
        uid="hw-gas-shortfall",
        group="gas",
        title=f"{INCIDENT_KINDS[kind].zh} Gas stations in shortfall",
        wording=wording,
        queries={
            "A": _per_county("station_pressure", "shortfall", "station_id"),
            "HQ": _per_county("station_pressure", "low_pressure_households", "station_id"),
        },
        op="gt",
        threshold=0,
        for_="3m",
        keep_firing_for="15m",
        no_data="KeepLast",
        exec_err="Error",
        labels={"domain": "gas", "severity": "critical", "kind": kind},
        extra_annotations={"households_affected": "{{ $values.HH.Value }}"},
        dashboard="gas",
        link=_dashboard_link("gas", kind, with_kind=False),
    )


# --------------------------------------------------------------------------- heat rules
# One county digest per heat kind, one series per county × severity the core opens that kind
# with (``streams.core.heat.SEVERITIES``: the sink writes zero rows for exactly those pairs, so
# a healthy county's series stays present). The snapshot counts a station page and its
# household children alike, so the values are derived for the top-level incidents only:
# every child is one household (households_affected 1), and a heat child is critical exactly
# when its household is in a priority group (streams/core/heatstation.py), so
#   pages       = top_level
#   households  = households_affected − (count − top_level)
#   priority    = priority_households − (count − top_level if critical else 0).
HEAT_VALUES = {
    "A": "r.top_level",
    "HQ": "r.households_affected - (r.count - r.top_level)",
    "PQ": 'r.priority_households - (if r.severity == "critical" then r.count - r.top_level'
    " else 0.0)",
}


def heat_query(kind: str, value: str) -> str:
    severities = " or ".join(f'r.severity == "{s.value}"' for s in HEAT_SEVERITIES[_kind(kind)])
    fields = ("count", "top_level", "households_affected", "priority_households")
    return flux(
        source("active_incidents", list(fields), bucket=DEFAULT_BUCKET),
        f'  |> filter(fn: (r) => r.kind == "{kind}")',
        f"  |> filter(fn: (r) => {severities})",
        "  |> last()",
        "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
        # the Kafka path tags each worker's series with its partition: add them up
        '  |> group(columns: ["county", "kind", "severity", "_field"])',
        "  |> sum()",
        '  |> group(columns: ["county", "kind", "severity"])',
        '  |> pivot(rowKey: ["county", "kind", "severity"], columnKey: ["_field"],'
        ' valueColumn: "_value")',
        f"  |> map(fn: (r) => ({{county: r.county, kind: r.kind, severity: r.severity,"
        f" _value: {value}}}))",
    )


def _kind(code: str) -> IncidentKind:
    (kind,) = [k for k in HEAT_SEVERITIES if k.value == code]
    return kind


def _heat_rule(kind: str) -> RuleSpec:
    paging = "critical" in {s.value for s in HEAT_SEVERITIES[_kind(kind)]}
    wording = incident_wording(kind, None, nouns=("heat_station", "household"))
    return RuleSpec(
        uid=f"hw-heat-{kind.replace('_', '-')}",
        group="heat",
        title=f"{INCIDENT_KINDS[kind].zh} {INCIDENT_KINDS[kind].en.capitalize()} (per county)",
        wording=wording,
        queries={ref: heat_query(kind, value) for ref, value in HEAT_VALUES.items()},
        op="gt",
        threshold=0,
        # a station trip is critical and pages at once; the warnings wait like the others
        for_="1m" if paging else "5m",
        keep_firing_for="10m",
        no_data="KeepLast",
        exec_err="KeepLast",
        labels={"domain": "heat", "kind": kind},
        extra_annotations=_HOUSEHOLD_ANNOTATIONS,
        dashboard="heat",
        link=_dashboard_link("heat", kind, with_kind=False),
    )


# --------------------------------------------------------------------------- per-entity rules
# One alert instance per open top-level incident of a kind that pages someone, read from the
# ``incident`` measurement (low cardinality: only incidents open now; household outages only
# for priority-group households). The worker writes an open incident's point once, at
# ``started_at`` (overwritten on update), and a separate ``state=resolved`` point at
# ``ended_at``; it does not re-emit. So the query looks back EntityRule.range_s (long enough
# for any open incident of these kinds) and takes the decisive point per incident_id: the resolved
# one when present. An open incident's series is therefore present on every evaluation for as
# long as it is open (within the range) and disappears when it resolves.

# The incident's own fields the alerts print; all present on open and resolved points.
_ENTITY_FIELDS = (
    "entity_id",
    "village",
    "parent_id",
    "started_at",
    "households_affected",
    "priority_households",
)
# Label columns of an entity alert: fixed for the incident's life (households are values).
ENTITY_LABELS = (
    "county",
    "village",
    "kind",
    "severity",
    "entity_type",
    "entity_id",
    "incident_id",
    "started_at_beijing",
)


def _or(column: str, values: tuple[str, ...]) -> str:
    return " or ".join(f'r.{column} == "{v}"' for v in values)


def open_incidents_query(
    kinds: tuple[str, ...],
    value: str,
    priority_only: bool = False,
    entity_types: tuple[str, ...] = (),
) -> str:
    """One series per open top-level incident of ``kinds``; ``_value`` is ``value`` (a Flux
    expression over the pivoted row, e.g. ``1.0`` or ``float(v: r.households_affected)``).

    Two passes, because every incident is its own series (incident_id, state) and pivoting all
    of them is what costs: first one field per point (``priority_households``, on open and
    resolved points alike; > 0 for households) decides which incidents are open — the
    resolved point, written at ended_at, wins when there is one — then only those incidents'
    open points are pivoted into labels."""
    labels = ", ".join(f"{c}: r.{c}" for c in ENTITY_LABELS if c != "started_at_beijing")
    kind_filter = f"  |> filter(fn: (r) => {_or('kind', kinds)})"
    if entity_types:  # a tag predicate too: applied in storage
        kind_filter += f"\n  |> filter(fn: (r) => {_or('entity_type', entity_types)})"
    return flux(
        'import "strings"',
        "",
        "open_ids = "
        + source("incident", ["priority_households"], bucket=DEFAULT_BUCKET).replace("\n", "\n  "),
        "    " + kind_filter.strip().replace("\n  ", "\n    "),
        "    |> filter(fn: (r) => r._value > 0)" if priority_only else "",
        '    |> group(columns: ["incident_id"])',
        '    |> map(fn: (r) => ({r with closed: if r.state == "resolved" then 1 else 0}))',
        '    |> sort(columns: ["closed", "_time"])',
        "    |> tail(n: 1)",
        '    |> filter(fn: (r) => r.state == "open")',
        "    |> group()",
        '    |> findColumn(fn: (key) => true, column: "incident_id")',
        "",
        source("incident", list(_ENTITY_FIELDS), bucket=DEFAULT_BUCKET),
        kind_filter,
        # state first, in its own filter: a tag predicate InfluxDB's storage applies
        '  |> filter(fn: (r) => r.state == "open")',
        "  |> filter(fn: (r) => contains(value: r.incident_id, set: open_ids))",
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> filter(fn: (r) => r.parent_id == "")',
        f"  |> map(fn: (r) => ({{{labels},",
        "      started_at_beijing: strings.replace(v: strings.substring(v: string(v: time(v:",
        '          (int(v: r.started_at) + 28800) * 1000000000)), start: 0, end: 16), t: "T",',
        '          u: " ", i: 1),',
        f"      _value: {value}}}))",
        "  |> group(columns: [" + ", ".join(f'"{c}"' for c in ENTITY_LABELS) + "])",
    )


@dataclass(frozen=True)
class EntityRule:
    uid: str
    title: str
    kinds: tuple[str, ...]
    noun: str  # NOUNS key of the entity
    dashboard: str  # where the entity is selected
    panel: str  # title prefix of the panel the link opens ("" = whole dashboard)
    entity_var: str  # the dashboard variable selecting the entity ("" = none)
    for_: str
    priority_only: bool = False
    # How far back an open incident is still found (its open point sits at started_at).
    range_s: int = 30 * 86400
    entity_types: tuple[str, ...] = ()  # only incidents on these entities ("" = any)
    domain: str = "incidents"
    # HEAT_DEVICES key: the rule's comm_loss is this heat device's silence (its words, the heat
    # comm-loss runbook) instead of a meter's ("" = no comm_loss in the rule)
    comm_loss_device: str = ""


ENTITY_RULES = (
    EntityRule(
        "hw-entity-feeder",
        "台区事件 Feeder incident (per feeder)",
        ("feeder_outage", "feeder_overload"),
        "feeder",
        "power",
        "负荷与额定容量",
        "feeder_id",
        "1m",
    ),
    EntityRule(
        "hw-entity-gas-station",
        "燃气调压站供气不足 Gas station shortfall (per station)",
        ("gas_supply_shortfall",),
        "gas_station",
        "gas",
        "出站压力",
        "station_id",
        "1m",
    ),
    EntityRule(
        "hw-entity-priority-household",
        "重点群体户停电 Priority-group household outage (per household)",
        ("household_outage",),
        "household",
        "dispatch",
        "最新事件",
        "",
        "1m",
        priority_only=True,
        # Every household outage is its own series: 30 days of them cost ~11 s a query at
        # 500 outages a day (bench/bench_entity_alerts.py); a priority household out longer
        # than 7 days is still counted by hw-priority-households.
        range_s=7 * 86400,
    ),
    EntityRule(
        "hw-entity-heat-station",
        "换热站/锅炉房事件 Heat station incident (per station)",
        (*HEAT_KINDS, "comm_loss"),
        "heat_station",
        "heat",
        "换热站现状",
        "heat_station_id",
        "1m",
        # station pages only: a cold sampled home on its own is in the county digest, a home's
        # silent sensor (info) on the heat dashboard only
        entity_types=("heat_station",),
        domain="heat",
        comm_loss_device="heat_station",
    ),
)


def entity_link(rule: EntityRule) -> str:
    """Dashboard link with the county, village and the entity (or kind) selected."""
    link = f"/d/{DASHBOARD_UIDS[rule.dashboard]}?orgId={ORG_ID}"
    if rule.panel:
        link += f"&viewPanel={panel_id(rule.dashboard, rule.panel)}"
    link += "&var-county={{ $labels.county | urlquery }}"
    link += "{{ with $labels.village }}&var-village={{ . | urlquery }}{{ end }}"
    if rule.entity_var:
        link += f"&var-{rule.entity_var}={{{{ $labels.entity_id | urlquery }}}}"
    else:
        link += "&var-kind={{ $labels.kind }}"
    return link


def entity_vocabularies(rule: EntityRule) -> tuple[dict[str, Term], dict[str, Term]]:
    """The kind terms and runbooks of the rule's alerts: the glossary's, except that a heat
    device's comm_loss names the device (换热站远传终端通信中断) and the heat runbook."""
    if not rule.comm_loss_device:
        return INCIDENT_KINDS, RUNBOOKS
    device, loss = HEAT_DEVICES[rule.comm_loss_device], INCIDENT_KINDS["comm_loss"]
    term = Term(f"{device.zh}{loss.zh}", f"{device.en} {loss.en}")
    return {**INCIDENT_KINDS, "comm_loss": term}, {**RUNBOOKS, "comm_loss": HEAT_COMM_LOSS_RUNBOOK}


def entity_wording(rule: EntityRule) -> dict[str, str]:
    """Who/where/since when/how many, for one incident (zh, en)."""
    kind = rule.kinds[0] if len(rule.kinds) == 1 else None
    kinds, runbooks = entity_vocabularies(rule)
    kind_zh = term_of(kinds, kind, "kind", "zh")
    kind_en = term_of(kinds, kind, "kind", "en")
    sev_zh = term_of(SEVERITIES, None, "severity", "zh")
    sev_en = term_of(SEVERITIES, None, "severity", "en")
    noun = NOUNS[rule.noun]
    where = "{{ $labels.county }}{{ with $labels.village }} {{ . }}{{ end }}"
    entity = "{{ $labels.entity_id }}"
    since = "{{ $labels.started_at_beijing }}"
    hh = "{{ $values.HH.Value }}"
    ph = "{{ $values.PH.Value }}"
    return {
        "summary": f"【{sev_zh}】{where} {kind_zh}：{noun.zh} {entity}，影响 {hh} 户，"
        f"重点群体 {ph} 户",
        "summary_en": f"[{sev_en}] {where} {kind_en}: {noun.en} {entity}, {hh} households "
        f"affected, {ph} in priority groups",
        "description": f"{noun.zh} {entity}（{where}）{kind_zh}，事件开始（北京时间）{since}，"
        f"影响 {hh} 户，其中重点群体（{PRIORITY_GROUP_NAMES}）{ph} 户。",
        "description_en": f"{noun.en.capitalize()} {entity} ({where}): {kind_en} since {since} "
        "Beijing "
        f"time, {hh} households affected, {ph} of them in priority groups "
        f"({PRIORITY_GROUP_NAMES_EN}).",
        "runbook": term_of(runbooks, kind, "kind", "zh"),
        "runbook_en": term_of(runbooks, kind, "kind", "en"),
    }


def _entity_rule(rule: EntityRule) -> RuleSpec:
    values = {
        "A": "1.0",
        "HQ": "float(v: r.households_affected)",
        "PQ": "float(v: r.priority_households)",
    }
    q = {
        ref: open_incidents_query(rule.kinds, v, rule.priority_only, rule.entity_types)
        for ref, v in values.items()
    }
    return RuleSpec(
        uid=rule.uid,
        group="entities",
        title=rule.title,
        wording=entity_wording(rule),
        queries=q,
        op="gt",
        threshold=0,
        for_=rule.for_,
        keep_firing_for="0s",
        # No open incident = no series = nothing to say. A silent worker leaves the open
        # points in place (the alert keeps firing) and the heartbeat rule tells why.
        no_data="OK",
        exec_err="KeepLast",
        labels={"domain": rule.domain, "scope": "entity"},
        range_s=rule.range_s,
        extra_annotations={
            **_HOUSEHOLD_ANNOTATIONS,
            "entity_id": "{{ $labels.entity_id }}",
            "started_at_beijing": "{{ $labels.started_at_beijing }}",
        },
        dashboard=rule.dashboard,
        link=entity_link(rule),
    )


def rule_specs() -> list[RuleSpec]:
    return [
        _incident_rule(
            "hw-incident-critical", "严重事件 Critical incidents active", "critical", "1m"
        ),
        _incident_rule("hw-incident-warning", "警告事件 Warning incidents active", "warning", "5m"),
        _priority_rule(),
        _feeder_overload_rule(),
        _gas_shortfall_rule(),
        *(_heat_rule(kind) for kind in HEAT_KINDS),
        RuleSpec(
            uid="hw-worker-heartbeat",
            group="pipeline",
            title="处理程序心跳丢失 Worker heartbeat missing",
            wording=_pipeline_wording(
                "处理程序 {{ $labels.worker }} 心跳已 {{ $values.B.Value }} 秒未更新",
                "worker {{ $labels.worker }}: no heartbeat for {{ $values.B.Value }} s",
                "登录服务器查看 heatwatch worker 进程与日志，确认 Kafka 和 InfluxDB 可连接后重启",
                "Check the heatwatch worker process and its log; make sure Kafka and InfluxDB "
                "are reachable, then restart it",
            ),
            queries={
                "A": flux(
                    source("worker", ["last_write"], bucket=DEFAULT_BUCKET),
                    "  |> last()",
                    '  |> group(columns: ["worker"])',
                    '  |> max(column: "_time")',
                    "  |> map(fn: (r) => ({worker: r.worker,"
                    " _value: float(v: uint(v: v.timeRangeStop) - uint(v: r._time)) / 1000000000.0}))",
                ),
            },
            op="gt",
            threshold=60,
            for_="1m",
            keep_firing_for="0s",
            no_data="Alerting",
            exec_err="Alerting",
            labels={"domain": "pipeline", "severity": "critical"},
            range_s=86400,
        ),
        RuleSpec(
            uid="hw-worker-lag",
            group="pipeline",
            title="处理积压 Worker consumer lag",
            wording=_pipeline_wording(
                "处理程序 {{ $labels.worker }} 积压 {{ $values.B.Value }} 条记录",
                "worker {{ $labels.worker }}: consumer lag {{ $values.B.Value }} records",
                "查看处理程序的 CPU 与日志；积压持续增长时增加 worker 实例",
                "Check the worker's CPU and log; add worker instances if the lag keeps growing",
            ),
            queries={
                "A": flux(
                    source("worker", ["lag"], bucket=DEFAULT_BUCKET),
                    "  |> last()",
                    "  |> map(fn: (r) => ({r with _value: float(v: r._value)}))",
                    '  |> group(columns: ["worker"])',
                    "  |> sum()",
                    '  |> keep(columns: ["_value", "worker"])',
                ),
            },
            op="gt",
            threshold=50000,
            for_="10m",
            keep_firing_for="5m",
            no_data="OK",
            exec_err="Error",
            labels={"domain": "pipeline", "severity": "warning"},
        ),
        _partition_stuck_rule(),
        *(_entity_rule(r) for r in ENTITY_RULES),
    ]


# A partition is stuck when its committed offset has not moved over the window while records
# wait behind it (committed_lag > 0): the worker runs but its commits stopped (issue 15).
def _partition_stuck_rule() -> RuleSpec:
    committed = source("worker", ["committed"], bucket=DEFAULT_BUCKET)
    committed_lag = source("worker", ["committed_lag"], bucket=DEFAULT_BUCKET)
    return RuleSpec(
        uid="hw-partition-stuck",
        group="pipeline",
        title="分区提交停滞 Partition commits stuck",
        wording=_pipeline_wording(
            "处理程序 {{ $labels.worker }} 分区 {{ $labels.partition }} 提交位点 15 分钟未动，"
            "其后积压 {{ $values.B.Value }} 条",
            "worker {{ $labels.worker }} partition {{ $labels.partition }}: committed offset "
            "unchanged for 15 min with {{ $values.B.Value }} records behind it",
            "查看该处理程序日志中的 commit/restore 行；确认 InfluxDB 可写后重启该处理程序",
            "Check the worker's log for commit and restore lines; make sure InfluxDB accepts "
            "writes, then restart that worker",
        ),
        queries={
            "A": flux(
                "moved = " + committed,
                '  |> group(columns: ["worker", "partition"])',
                "  |> spread()",
                "behind = " + committed_lag,
                '  |> group(columns: ["worker", "partition"])',
                "  |> last()",
                'join(tables: {m: moved, b: behind}, on: ["worker", "partition"])',
                "  |> map(fn: (r) => ({worker: r.worker, partition: r.partition,"
                " _value: if r._value_m == 0 and r._value_b > 0 then float(v: r._value_b)"
                " else 0.0}))",
            ),
        },
        op="gt",
        threshold=0,
        for_="5m",
        keep_firing_for="5m",
        no_data="OK",
        exec_err="Error",
        labels={"domain": "pipeline", "severity": "warning"},
        range_s=900,
    )


GROUP_INTERVALS = {
    "incidents": "1m",
    "entities": "1m",
    "grid": "1m",
    "gas": "1m",
    "heat": "1m",
    "pipeline": "1m",
}


def _rule_builder(spec: RuleSpec) -> alerting.Rule:
    r = (
        alerting.Rule(spec.title)
        .uid(spec.uid)
        .folder_uid(FOLDER_UID)
        .rule_group(spec.group)
        .org_id(ORG_ID)
        .condition("C")
        .for_val(spec.for_)
        .exec_err_state("Alerting")  # overwritten below: the SDK's literal lacks KeepLast
        .no_data_state("Alerting")
        .labels(dict(spec.labels))
        .annotations(
            {
                **spec.wording,
                "dashboard": spec.link or f"/d/{DASHBOARD_UIDS[spec.dashboard]}?orgId={ORG_ID}",
                **spec.extra_annotations,
            }
        )
        .is_paused(False)
    )
    for ref, q in spec.queries.items():
        r = r.with_query(
            alerting.Query(ref)
            .datasource_uid(DATASOURCE_UID)
            .relative_time_range(alerting_models.RelativeTimeRange(from_val=spec.range_s, to=0))
            .model(Flux(q, ref_id=ref))
        )
    r = r.with_query(
        alerting.Query("B")
        .datasource_uid(EXPR_UID)
        .model(expr.TypeReduce().ref_id("B").expression("A").reducer("last"))
    )
    r = r.with_query(
        alerting.Query("C")
        .datasource_uid(EXPR_UID)
        .model(
            expr.TypeThreshold()
            .ref_id("C")
            .expression("B")
            .conditions(
                [
                    expr.ExprTypeThresholdConditions().evaluator(
                        expr.ExprTypeThresholdConditionsEvaluator()
                        .type(spec.op)
                        .params([spec.threshold])
                    )
                ]
            )
        )
    )
    for ref in spec.queries:
        if ref == "A":
            continue
        # `$values` only holds expression results: reduce the extra queries (HQ → HH) so the
        # annotations can print households affected / priority households.
        red = reduced_ref(ref)
        r = r.with_query(
            alerting.Query(red)
            .datasource_uid(EXPR_UID)
            .model(expr.TypeReduce().ref_id(red).expression(ref).reducer("last"))
        )
    return r


def reduced_ref(ref: str) -> str:
    """Reduce expression refId for an extra data query: ``HQ`` → ``HH``, ``PQ`` → ``PH``."""
    return ref[0] + "H"


def _to_json(obj: Any) -> Any:
    """SDK object → plain JSON types (via the SDK's own encoder)."""
    import json

    return json.loads(json.dumps(obj, cls=JSONEncoder))


def api_rule(spec: RuleSpec) -> dict[str, Any]:
    """Body of ``POST/PUT /api/v1/provisioning/alert-rules`` (ProvisionedAlertRule)."""
    body: dict[str, Any] = _to_json(_rule_builder(spec).build())
    body["noDataState"] = spec.no_data
    body["execErrState"] = spec.exec_err
    body["keep_firing_for"] = spec.keep_firing_for
    body.pop("notification_settings", None)
    body["data"] = sorted(body["data"], key=lambda d: d["refId"])
    return body


def api_rule_group(group: str) -> dict[str, Any]:
    """Body of ``PUT /api/v1/provisioning/folder/{folder}/rule-groups/{group}``."""
    rules = [api_rule(s) for s in rule_specs() if s.group == group]
    return {
        "title": group,
        "folderUid": FOLDER_UID,
        "interval": _seconds(GROUP_INTERVALS[group]),
        "rules": rules,
    }


def _seconds(d: str) -> int:
    m = re.fullmatch(r"(\d+)([smh])", d)
    if not m:
        raise ValueError(d)
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def file_rule(spec: RuleSpec) -> dict[str, Any]:
    """The same rule in file-provisioning shape (``AlertRuleV1``)."""
    body = api_rule(spec)
    out = {
        k: v
        for k, v in body.items()
        if k not in {"folderUID", "ruleGroup", "orgID", "keep_firing_for"}
    }
    out["keepFiringFor"] = body["keep_firing_for"]
    return out


# --------------------------------------------------------------------------- notifications

TEMPLATE_NAME = "heatwatch"
# Notification text (Go templates, Grafana's notification data). Chinese first; the English
# block follows. Beijing time is UTC+8 all year (no DST): StartsAt.UTC + 8 h, formatted.
TEMPLATE = """\
{{ define "heatwatch.title" }}{{ if .Alerts.Firing }}\
{{ with index .Alerts.Firing 0 }}{{ or .Annotations.summary .Labels.alertname }}{{ end }}\
{{ if gt (len .Alerts.Firing) 1 }} 等 {{ len .Alerts.Firing }} 条{{ end }}{{ else }}【已恢复】\
{{ with index .Alerts.Resolved 0 }}{{ or .Annotations.summary .Labels.alertname }}{{ end }}{{ end }}{{ end }}

{{ define "heatwatch.beijing" }}{{ (.UTC.Add 28800000000000).Format "2006-01-02 15:04" }}{{ end }}

{{ define "heatwatch.alert" }}{{ or .Annotations.summary .Labels.alertname }}
{{ with .Annotations.description }}{{ . }}
{{ end }}告警开始（北京时间）：{{ template "heatwatch.beijing" .StartsAt }}
{{ with .Annotations.runbook }}第一步：{{ . }}
{{ end }}{{ end }}

{{ define "heatwatch.alert_en" }}{{ with .Annotations.summary_en }}{{ . }}. {{ end }}\
{{ with .Annotations.description_en }}{{ . }} {{ end }}\
Alert started {{ .StartsAt.UTC.Format "2006-01-02 15:04" }} UTC.\
{{ with .Annotations.runbook_en }} First step: {{ . }}.{{ end }}
{{ end }}

{{ define "heatwatch.message" }}{{ range .Alerts.Firing }}{{ template "heatwatch.alert" . }}\
{{ with .Annotations.dashboard }}看板：{{ reReplaceAll "/$" "" $.ExternalURL }}{{ . }}
{{ end }}
{{ end }}{{ if .Alerts.Resolved }}已恢复：
{{ range .Alerts.Resolved }}{{ or .Annotations.summary .Labels.alertname }}（恢复于 {{ template "heatwatch.beijing" .EndsAt }}）
{{ end }}
{{ end }}English:
{{ range .Alerts.Firing }}{{ template "heatwatch.alert_en" . }}{{ end }}\
{{ range .Alerts.Resolved }}Resolved: {{ or .Annotations.summary_en .Labels.alertname }}
{{ end }}{{ end }}
"""

_TITLE = '{{ template "heatwatch.title" . }}'
_MESSAGE = '{{ template "heatwatch.message" . }}'

# Routing: who answers for which kinds (codes from the contract; responders in the glossary).
# A meter's wrong clock is the metering team's work (the grid company reads the meters).
GRID_KINDS = (
    "household_outage",
    "comm_loss",
    "feeder_outage",
    "peak_charging",
    "feeder_overload",
    "meter_clock_fault",
)
GAS_KINDS = ("gas_low_pressure", "gas_supply_shortfall", "gas_quota_risk")
assert set(GRID_KINDS) | set(GAS_KINDS) | set(HEAT_KINDS) == set(INCIDENT_KINDS)


def responder_receiver(team: str) -> str:
    return f"{RESPONDERS[team].zh} 企业微信"


def county_receiver(county: str) -> str:
    return f"{county} {RESPONDERS['county_office'].zh} 企业微信"


def county_heat_receiver(county: str) -> str:
    """Each county's heat operator (the county's heating company or boiler houses)."""
    return f"{county} {RESPONDERS['heat'].zh} 企业微信"


def _wecom(uid: str, name: str, url_env: str) -> alerting.ContactPoint:
    return (
        alerting.ContactPoint()
        .uid(uid)
        .name(name)
        .type("wecom")
        .settings(
            {"url": env(url_env), "msgtype": "markdown", "title": _TITLE, "message": _MESSAGE}
        )
    )


def contact_points() -> list[dict[str, Any]]:
    """Embedded contact points (one integration each), API shape."""
    cps: list[alerting.ContactPoint] = [
        alerting.ContactPoint()
        .uid("hw-dispatch-webhook")
        .name(RECEIVER_DISPATCH)
        .type("webhook")
        .settings(
            {
                "url": env("HEATWATCH_DISPATCH_WEBHOOK_URL"),
                "httpMethod": "POST",
                "authorization_scheme": "Bearer",
                "authorization_credentials": env("HEATWATCH_DISPATCH_WEBHOOK_TOKEN"),
                "title": _TITLE,
                "message": _MESSAGE,
            }
        ),
        alerting.ContactPoint()
        .uid("hw-dispatch-dingtalk")
        .name(RECEIVER_DINGTALK)
        .type("dingding")
        .settings(
            {
                "url": env("HEATWATCH_DINGTALK_WEBHOOK_URL"),
                "msgType": "actionCard",
                "title": _TITLE,
                "message": _MESSAGE,
            }
        ),
        alerting.ContactPoint()
        .uid("hw-ops-email")
        .name(RECEIVER_OPS_EMAIL)
        .type("email")
        .settings(
            {
                "addresses": env("HEATWATCH_OPS_EMAILS"),
                "singleEmail": True,
                "subject": _TITLE,
                "message": _MESSAGE,
            }
        ),
        _wecom("hw-oncall-power", responder_receiver("power"), "HEATWATCH_WECOM_URL_POWER"),
        _wecom("hw-oncall-gas", responder_receiver("gas"), "HEATWATCH_WECOM_URL_GAS"),
        _wecom("hw-oncall-heat", responder_receiver("heat"), "HEATWATCH_WECOM_URL_HEAT"),
    ]
    for county in COUNTIES:
        slug = COUNTY_SLUGS[county]
        cps.append(
            _wecom(
                f"hw-wecom-{slug}", county_receiver(county), f"HEATWATCH_WECOM_URL_{slug.upper()}"
            )
        )
    for county in COUNTIES:
        slug = COUNTY_SLUGS[county]
        cps.append(
            _wecom(
                f"hw-heat-{slug}",
                county_heat_receiver(county),
                f"HEATWATCH_WECOM_URL_HEAT_{slug.upper()}",
            )
        )
    return [_to_json(c.build()) for c in cps]


def _team_route(receiver: str, *matchers: list[str]) -> alerting.NotificationPolicy:
    return (
        alerting.NotificationPolicy()
        .receiver(receiver)
        .object_matchers(list(matchers))
        .group_wait("10s")
        .repeat_interval("1h")
        .continue_val(True)
    )


def _heat_routes() -> list[alerting.NotificationPolicy]:
    """The heat rules (domain=heat: county digests, station pages incl. a station's comm_loss)
    and the priority digest's heat series (domain=incidents, a heat kind) go to the heat
    operator of the alert's county; an alert without a county to the city's heat on-call.

    Two routes because matchers only AND: their matchers exclude each other, so an alert is
    sent once."""
    heat_kinds = ["kind", "=~", "|".join(HEAT_KINDS)]
    return [
        _team_route(responder_receiver("heat"), *matchers).routes(
            [
                alerting.NotificationPolicy()
                .receiver(county_heat_receiver(county))
                .object_matchers([["county", "=", county]])
                for county in COUNTIES
            ]
        )
        for matchers in (
            [["domain", "=", HEAT_DOMAIN]],
            [["domain", "!=", HEAT_DOMAIN], heat_kinds],
        )
    ]


def _county_route(county: str, windows: list[MaintenanceWindow]) -> alerting.NotificationPolicy:
    """The county office's digest: one message per county, every 30 minutes at most.

    Warnings (never critical alerts) are muted only in maintenance windows someone asked for
    (deploy/grafana/maintenance-windows.yaml); with none configured nothing is muted.
    """
    route = (
        alerting.NotificationPolicy()
        .receiver(county_receiver(county))
        .object_matchers([["county", "=", county]])
        .group_by(["county"])
        .group_wait("1m")
        .group_interval("30m")
        .repeat_interval("12h")
    )
    muting = [w.mute_name for w in windows if w.covers(county)]
    if muting:
        route = route.routes(
            [
                alerting.NotificationPolicy()
                .receiver(county_receiver(county))
                .object_matchers([["severity", "=", "warning"]])
                .mute_time_intervals(muting)
            ]
        )
    return route


def notification_policy(windows: list[MaintenanceWindow] | None = None) -> dict[str, Any]:
    """The notification policy tree (``PUT /api/v1/provisioning/policies``).

    Everything reaches the dispatch centre; grid kinds (not domain=heat: a heat station's
    comm_loss) also the power company's on-call, gas kinds the gas company's, heat kinds and
    domain=heat alerts the heat operator of the alert's county, pipeline alerts the
    platform team, critical alerts the dispatch on-call's DingTalk, and every county alert the
    county office's digest.
    """
    windows = maintenance_windows() if windows is None else windows
    root = (
        alerting.NotificationPolicy()
        .receiver(RECEIVER_DISPATCH)
        .group_by(["alertname", "county", "kind"])
        .group_wait("30s")
        .group_interval("5m")
        .repeat_interval("4h")
        .routes(
            [
                alerting.NotificationPolicy()
                .receiver(RECEIVER_OPS_EMAIL)
                .object_matchers([["domain", "=", "pipeline"]])
                .group_by(["alertname", "worker"])
                .repeat_interval("1h")
                .continue_val(True),
                _team_route(
                    responder_receiver("power"),
                    ["kind", "=~", "|".join(GRID_KINDS)],
                    ["domain", "!=", HEAT_DOMAIN],  # a heat station's comm_loss is not the grid's
                ),
                _team_route(responder_receiver("gas"), ["kind", "=~", "|".join(GAS_KINDS)]),
                *_heat_routes(),
                alerting.NotificationPolicy()
                .receiver(RECEIVER_DINGTALK)
                .object_matchers([["severity", "=", "critical"]])
                .group_wait("10s")
                .repeat_interval("1h")
                .continue_val(True),
                *(_county_route(county, windows) for county in COUNTIES),
            ]
        )
    )
    return _to_json(root.build())  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- maintenance windows

MAINTENANCE_FILE = (
    Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "maintenance-windows.yaml"
)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A planned-work window someone asked for: warnings to these counties are muted in it."""

    name: str
    requested_by: str
    reason: str
    counties: tuple[str, ...]  # empty = every county
    time_intervals: tuple[dict[str, Any], ...]

    @property
    def mute_name(self) -> str:
        return f"maintenance-{self.name}"

    def covers(self, county: str) -> bool:
        return not self.counties or county in self.counties


def parse_maintenance_windows(doc: Any, source: str) -> list[MaintenanceWindow]:
    """Windows from the YAML document; a clear error naming the entry for anything wrong."""
    entries = (doc or {}).get("windows") or []
    out: list[MaintenanceWindow] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: window {i}"
        missing = [
            k for k in ("name", "requested_by", "reason", "time_intervals") if not entry.get(k)
        ]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)} (who asked, why, when)")
        if not re.fullmatch(r"[a-z0-9-]+", str(entry["name"])):
            raise ValueError(f"{where}: name must be lower-case letters, digits and '-'")
        unknown = [c for c in entry.get("counties") or [] if c not in COUNTIES]
        if unknown:
            raise ValueError(f"{where}: unknown county {', '.join(unknown)}")
        out.append(
            MaintenanceWindow(
                name=str(entry["name"]),
                requested_by=str(entry["requested_by"]),
                reason=str(entry["reason"]),
                counties=tuple(entry.get("counties") or ()),
                time_intervals=tuple(
                    {"location": "Asia/Shanghai", **ti} for ti in entry["time_intervals"]
                ),
            )
        )
    return out


def maintenance_windows(path: Path = MAINTENANCE_FILE) -> list[MaintenanceWindow]:
    if not path.exists():
        return []
    return parse_maintenance_windows(yaml.safe_load(path.read_text("utf-8")), str(path))


def mute_timings(windows: list[MaintenanceWindow] | None = None) -> list[dict[str, Any]]:
    """Mute timings in Grafana's API shape: one per configured maintenance window (none by
    default)."""
    windows = maintenance_windows() if windows is None else windows
    return [{"name": w.mute_name, "time_intervals": list(w.time_intervals)} for w in windows]


def templates() -> list[dict[str, Any]]:
    return [
        _to_json(alerting.NotificationTemplate().name(TEMPLATE_NAME).template(TEMPLATE).build())
    ]


# --------------------------------------------------------------------------- files


def provisioning_files() -> dict[str, dict[str, Any]]:
    """File name → document for ``deploy/grafana/provisioning/alerting/``."""
    groups = []
    for group in GROUP_INTERVALS:
        groups.append(
            {
                "orgId": ORG_ID,
                "name": group,
                "folder": FOLDER_TITLE,
                "interval": GROUP_INTERVALS[group],
                "rules": [file_rule(s) for s in rule_specs() if s.group == group],
            }
        )
    receivers_by_name: dict[str, list[dict[str, Any]]] = {}
    for cp in contact_points():
        receivers_by_name.setdefault(cp["name"], []).append(
            {
                "uid": cp["uid"],
                "type": cp["type"],
                "settings": cp["settings"],
                "disableResolveMessage": False,
            }
        )
    policy = copy.deepcopy(notification_policy())
    policy["orgId"] = ORG_ID
    return {
        "rules.yaml": {"apiVersion": 1, "groups": groups},
        "contact-points.yaml": {
            "apiVersion": 1,
            "contactPoints": [
                {"orgId": ORG_ID, "name": name, "receivers": recs}
                for name, recs in receivers_by_name.items()
            ],
        },
        "policies.yaml": {"apiVersion": 1, "policies": [policy]},
        "mute-timings.yaml": {
            "apiVersion": 1,
            "muteTimes": [{"orgId": ORG_ID, **mt} for mt in mute_timings()],
        },
        "templates.yaml": {
            "apiVersion": 1,
            "templates": [{"orgId": ORG_ID, **t} for t in templates()],
        },
    }
