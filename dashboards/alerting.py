"""Alert rules, contact points, notification policies, mute timings and templates.

Everything is produced in two shapes from one definition:

* **API shape** (``/api/v1/provisioning/...`` bodies) — used by ``heatwatch grafana apply``;
* **file shape** (``provisioning/alerting/*.yaml``, ``apiVersion: 1``) — written by the generator.

Rules alert on low-cardinality measurements only (active_incidents per county × kind,
feeder_load / station_pressure aggregated per county, worker heartbeats per worker).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alerting_models

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
from heatwatch.contract.geography import COUNTY_NAMES as COUNTIES
from heatwatch.contract.geography import COUNTY_SLUGS

ORG_ID = 1
EXPR_UID = "__expr__"


NoDataState = Literal["Alerting", "NoData", "OK", "KeepLast"]
ErrState = Literal["Alerting", "Error", "OK", "KeepLast"]

RECEIVER_DISPATCH = "调度中心 webhook"
RECEIVER_DINGTALK = "调度值班 钉钉"
RECEIVER_OPS_EMAIL = "运维 email"
MUTE_MAINTENANCE = "planned-maintenance-window"
MUTE_BUILD_SEASON = "build-season"


def county_receiver(county: str) -> str:
    return f"{county} 县清洁办 企业微信"


def env(name: str) -> str:
    """An environment placeholder, expanded by Grafana file provisioning and by `apply`."""
    return "${" + name + "}"


# --------------------------------------------------------------------------- rule model


@dataclass(frozen=True)
class RuleSpec:
    uid: str
    group: str
    title: str
    summary: str
    description: str
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


_HOUSEHOLD_ANNOTATIONS = {
    "households_affected": "{{ $values.HH.Value }}",
    "priority_households": "{{ $values.PH.Value }}",
}


def rule_specs() -> list[RuleSpec]:
    critical = 'r.severity == "critical"'
    warning = 'r.severity == "warning"'
    return [
        RuleSpec(
            uid="hw-incident-critical",
            group="incidents",
            title="严重事件 Critical incidents active",
            summary="{{ $labels.county }} {{ $labels.kind }}: {{ $values.B.Value }} 起严重事件",
            description=(
                "Critical incidents are active in the county. NoData/Error keep the last state "
                "so a silent snapshot series never resolves a live incident."
            ),
            queries={
                "A": _active("count", critical),
                "HQ": _active("households_affected", critical),
                "PQ": _active("priority_households", critical),
            },
            op="gt",
            threshold=0,
            for_="1m",
            keep_firing_for="10m",
            no_data="KeepLast",
            exec_err="KeepLast",
            labels={"domain": "incidents"},
            extra_annotations=_HOUSEHOLD_ANNOTATIONS,
        ),
        RuleSpec(
            uid="hw-incident-warning",
            group="incidents",
            title="告警事件 Warning incidents active",
            summary="{{ $labels.county }} {{ $labels.kind }}: {{ $values.B.Value }} 起告警事件",
            description="Warning-level incidents active for 5 minutes.",
            queries={
                "A": _active("count", warning),
                "HQ": _active("households_affected", warning),
                "PQ": _active("priority_households", warning),
            },
            op="gt",
            threshold=0,
            for_="5m",
            keep_firing_for="10m",
            no_data="KeepLast",
            exec_err="KeepLast",
            labels={"domain": "incidents"},
            extra_annotations=_HOUSEHOLD_ANNOTATIONS,
        ),
        RuleSpec(
            uid="hw-priority-households",
            group="incidents",
            title="重点保障户受影响 Priority households affected",
            summary=(
                "{{ $labels.county }} {{ $labels.kind }}: {{ $values.B.Value }} "
                "户重点保障户（幼儿园/学校/养老院/困难户）受影响"
            ),
            description="Kindergartens, schools, elderly homes or hardship households affected.",
            queries={
                "A": flux(
                    source("active_incidents", ["priority_households"], bucket=DEFAULT_BUCKET),
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
        ),
        RuleSpec(
            uid="hw-feeder-overload",
            group="grid",
            title="线路过载 Feeders overloaded",
            summary="{{ $labels.county }}: {{ $values.B.Value }} 条线路过载",
            description="Feeders whose latest reading is overloaded, counted per county.",
            queries={"A": _per_county("feeder_load", "overloaded", "feeder_id")},
            op="gt",
            threshold=0,
            for_="5m",
            keep_firing_for="15m",
            no_data="KeepLast",
            exec_err="Error",
            labels={"domain": "grid", "severity": "warning", "kind": "feeder_overload"},
            dashboard="power",
        ),
        RuleSpec(
            uid="hw-gas-shortfall",
            group="gas",
            title="气站供气不足 Gas stations in shortfall",
            summary="{{ $labels.county }}: {{ $values.B.Value }} 座气站供气不足",
            description="Stations whose latest reading is flagged shortfall, counted per county.",
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
            labels={"domain": "gas", "severity": "critical", "kind": "gas_supply_shortfall"},
            extra_annotations={"households_affected": "{{ $values.HH.Value }}"},
            dashboard="gas",
        ),
        RuleSpec(
            uid="hw-worker-heartbeat",
            group="pipeline",
            title="处理程序心跳丢失 Worker heartbeat missing",
            summary="worker {{ $labels.worker }}: 心跳已 {{ $values.B.Value }} 秒未更新",
            description=(
                "Seconds since the worker's last heartbeat. No heartbeat at all (NoData) or a "
                "failing query (Error) alerts too: without the worker no incident is detected."
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
            summary="worker {{ $labels.worker }}: 积压 {{ $values.B.Value }} 条记录",
            description="Kafka consumer lag summed over the worker's partitions.",
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
    ]


GROUP_INTERVALS = {"incidents": "1m", "grid": "1m", "gas": "1m", "pipeline": "1m"}


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
                "summary": spec.summary,
                "description": spec.description,
                "dashboard": f"/d/{DASHBOARD_UIDS[spec.dashboard]}",
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
TEMPLATE = """\
{{ define "heatwatch.title" }}[{{ .Status }}{{ if .Alerts.Firing }} {{ len .Alerts.Firing }}{{ end }}] \
{{ .CommonLabels.alertname }}{{ with .CommonLabels.county }} · {{ . }}{{ end }}{{ end }}

{{ define "heatwatch.alert" }}
【{{ or .Annotations.summary .Labels.alertname }}】
县 County: {{ or .Labels.county "-" }}
村 Village: {{ or .Labels.village "县级汇总 county aggregate（见调度总览 see dispatch overview）" }}
类型 Kind: {{ or .Labels.kind "-" }}  级别 Severity: {{ or .Labels.severity "-" }}
受影响户数 Households affected: {{ or .Annotations.households_affected "-" }}
重点保障户 Priority households: {{ or .Annotations.priority_households "-" }}
{{ with .Annotations.description }}{{ . }}{{ end }}
{{ end }}

{{ define "heatwatch.message" }}\
{{ if .Alerts.Firing }}告警 Firing:
{{ range .Alerts.Firing }}{{ template "heatwatch.alert" . }}{{ end }}{{ end }}\
{{ if .Alerts.Resolved }}已恢复 Resolved:
{{ range .Alerts.Resolved }}{{ template "heatwatch.alert" . }}{{ end }}{{ end }}\
{{ end }}
"""

_TITLE = '{{ template "heatwatch.title" . }}'
_MESSAGE = '{{ template "heatwatch.message" . }}'


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
    ]
    for county in COUNTIES:
        slug = COUNTY_SLUGS[county]
        cps.append(
            alerting.ContactPoint()
            .uid(f"hw-wecom-{slug}")
            .name(county_receiver(county))
            .type("wecom")
            .settings(
                {
                    "url": env(f"HEATWATCH_WECOM_URL_{slug.upper()}"),
                    "msgtype": "markdown",
                    "title": _TITLE,
                    "message": _MESSAGE,
                }
            )
        )
    return [_to_json(c.build()) for c in cps]


def notification_policy() -> dict[str, Any]:
    """The notification policy tree (``PUT /api/v1/provisioning/policies``)."""
    county_routes = []
    for county in COUNTIES:
        county_routes.append(
            alerting.NotificationPolicy()
            .receiver(county_receiver(county))
            .object_matchers([["county", "=", county]])
            .routes(
                [
                    # Warnings to the county office are muted in planned work windows.
                    alerting.NotificationPolicy()
                    .receiver(county_receiver(county))
                    .object_matchers([["severity", "=", "warning"]])
                    .mute_time_intervals([MUTE_MAINTENANCE, MUTE_BUILD_SEASON])
                ]
            )
        )
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
                alerting.NotificationPolicy()
                .receiver(RECEIVER_DINGTALK)
                .object_matchers([["severity", "=", "critical"]])
                .group_wait("10s")
                .repeat_interval("1h")
                .continue_val(True),
                *county_routes,
            ]
        )
    )
    return _to_json(root.build())  # type: ignore[no-any-return]


def mute_timings() -> list[dict[str, Any]]:
    """Mute timings in Grafana's API shape (prometheus TimeInterval: start_time/end_time)."""
    return [
        {
            "name": MUTE_MAINTENANCE,
            "time_intervals": [
                {
                    "times": [{"start_time": "09:00", "end_time": "12:00"}],
                    "weekdays": ["tuesday"],
                    "location": "Asia/Shanghai",
                }
            ],
        },
        {
            # Construction and self-check (1 Jun – 31 Oct): warnings from test runs are expected.
            "name": MUTE_BUILD_SEASON,
            "time_intervals": [{"months": ["june:october"], "location": "Asia/Shanghai"}],
        },
    ]


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
