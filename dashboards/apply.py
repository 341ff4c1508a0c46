"""Idempotent provisioning of heatwatch's Grafana objects through the HTTP API (grafana-client).

For each object: read the current state, compare with the desired one, and create / update /
leave unchanged. ``dry_run`` only reads. Secrets in contact points come from ``${ENV}``
placeholders, resolved from the environment here (Grafana itself resolves them in files).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from grafana_client.client import GrafanaClientError

from dashboards import alerting
from dashboards.common import DATASOURCE_TYPE, DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID
from dashboards.generate import BUILDERS, dashboard_json

REDACTED = "[REDACTED]"
_ENV_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class Step:
    kind: str
    name: str
    action: str  # create | update | unchanged

    def __str__(self) -> str:
        return f"{self.action:9} {self.kind:18} {self.name}"


def expand_env(value: Any, environ: Mapping[str, str], missing: set[str]) -> Any:
    """Replace ``${VAR}`` in all strings; unknown variables are collected in ``missing``."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in environ:
                missing.add(name)
                return m.group(0)
            return environ[name]

        return _ENV_RE.sub(sub, value)
    if isinstance(value, list):
        return [expand_env(v, environ, missing) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, environ, missing) for k, v in value.items()}
    return value


def _subset_equal(desired: Any, current: Any) -> bool:
    """Desired ⊆ current: every desired key equal; redacted secrets count as equal."""
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return False
        return all(_subset_equal(v, current.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(desired) != len(current):
            return False
        return all(_subset_equal(d, c) for d, c in zip(desired, current, strict=True))
    if current == REDACTED:
        return True
    if isinstance(desired, int | float) and isinstance(current, int | float):
        return float(desired) == float(current)
    return bool(desired == current)


def _not_found(exc: GrafanaClientError) -> bool:
    return getattr(exc, "status_code", None) == 404


class Provisioner:
    def __init__(
        self,
        api: Any,  # grafana_client.GrafanaApi (untyped library)
        *,
        dry_run: bool = False,
        environ: Mapping[str, str] | None = None,
        datasource: dict[str, Any] | None = None,
    ) -> None:
        self.api: Any = api
        self.dry_run = dry_run
        self.environ = dict(os.environ if environ is None else environ)
        self.datasource = datasource
        self.steps: list[Step] = []
        self.missing_env: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def _do(self, kind: str, name: str, action: str, write: Callable[[], Any]) -> None:
        self.steps.append(Step(kind, name, action))
        if action != "unchanged" and not self.dry_run:
            write()

    def _get(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except GrafanaClientError as exc:
            if _not_found(exc):
                return None
            raise

    # ------------------------------------------------------------------ objects

    def apply_datasource(self) -> None:
        if self.datasource is None:
            return
        ds = self.datasource
        current = self._get(lambda: self.api.datasource.get_datasource_by_uid(DATASOURCE_UID))
        if current is None:
            self._do(
                "datasource",
                ds["name"],
                "create",
                lambda: self.api.datasource.create_datasource(ds),
            )
        else:
            public = {k: v for k, v in ds.items() if k != "secureJsonData"}
            action = "unchanged" if _subset_equal(public, current) else "update"
            self._do(
                "datasource",
                ds["name"],
                action,
                lambda: self.api.datasource.update_datasource_by_uid(DATASOURCE_UID, ds),
            )

    def apply_folder(self) -> None:
        current = self._get(lambda: self.api.folder.get_folder(FOLDER_UID))
        if current is None:
            self._do(
                "folder",
                FOLDER_TITLE,
                "create",
                lambda: self.api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID),
            )
        elif current.get("title") != FOLDER_TITLE:
            self._do(
                "folder",
                FOLDER_TITLE,
                "update",
                lambda: self.api.folder.update_folder(
                    FOLDER_UID, title=FOLDER_TITLE, overwrite=True
                ),
            )
        else:
            self.steps.append(Step("folder", FOLDER_TITLE, "unchanged"))

    def apply_dashboards(self) -> None:
        for name in BUILDERS:
            desired = dashboard_json(name)
            uid = desired["uid"]
            current = self._get(partial(self.api.dashboard.get_dashboard, uid))
            if current is None:
                action = "create"
            else:
                cur = dict(current.get("dashboard", {}))
                for k in ("id", "version"):
                    cur.pop(k, None)
                folder_ok = current.get("meta", {}).get("folderUid") == FOLDER_UID
                action = "unchanged" if folder_ok and _subset_equal(desired, cur) else "update"
            body = {
                "dashboard": {**desired, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "heatwatch grafana apply",
            }
            self._do(
                "dashboard",
                desired["title"],
                action,
                partial(self.api.dashboard.update_dashboard, body),
            )

    def apply_templates(self) -> None:
        existing = {t["name"]: t for t in (self.api.alertingprovisioning.get_templates() or [])}
        for t in alerting.templates():
            cur = existing.get(t["name"])
            action = (
                "create"
                if cur is None
                else ("unchanged" if cur.get("template") == t["template"] else "update")
            )
            self._do(
                "template",
                t["name"],
                action,
                partial(
                    self.api.alertingprovisioning.create_or_update_template,
                    t["name"],
                    {"template": t["template"]},
                ),
            )

    def _upsert(
        self,
        what: str,
        name: str,
        desired: Any,
        current: Any,
        create: Callable[[], Any],
        update: Callable[[], Any],
    ) -> None:
        """Create what is missing; update what differs; leave the rest alone."""
        if current is None:
            self._do(what, name, "create", create)
        else:
            action = "unchanged" if _subset_equal(desired, current) else "update"
            self._do(what, name, action, update)

    def apply_contact_points(self) -> None:
        provisioning = self.api.alertingprovisioning
        existing = {c["uid"]: c for c in (provisioning.get_contactpoints() or [])}
        for cp in alerting.contact_points():
            desired = expand_env(cp, self.environ, self.missing_env)
            self._upsert(
                "contact point",
                cp["name"],
                desired,
                existing.get(cp["uid"]),
                partial(provisioning.create_contactpoint, desired),
                partial(provisioning.update_contactpoint, desired["uid"], desired),
            )

    def apply_mute_timings(self) -> None:
        provisioning = self.api.alertingprovisioning
        existing = {m["name"]: m for m in (provisioning.get_mute_timings() or [])}
        for mt in alerting.mute_timings():
            self._upsert(
                "mute timing",
                mt["name"],
                mt,
                existing.get(mt["name"]),
                partial(provisioning.create_mute_timing, mt),
                partial(provisioning.update_mute_timing, quote(mt["name"], safe=""), mt),
            )

    def apply_rule_groups(self) -> None:
        for group in alerting.GROUP_INTERVALS:
            desired = alerting.api_rule_group(group)
            cur = self._get(
                partial(self.api.alertingprovisioning.get_rule_group, FOLDER_UID, group)
            )
            if cur is None or not cur.get("rules"):
                action = "create"
            else:
                action = "unchanged" if _subset_equal(desired, cur) else "update"
            self._do(
                "rule group",
                group,
                action,
                partial(
                    self.api.alertingprovisioning.update_rule_group, FOLDER_UID, group, desired
                ),
            )

    def apply_policies(self) -> None:
        desired = alerting.notification_policy()
        cur = self.api.alertingprovisioning.get_notification_policy_tree()
        action = "unchanged" if _subset_equal(desired, cur) else "update"
        self._do(
            "notification policy",
            "root",
            action,
            lambda: self.api.alertingprovisioning.set_notification_policy_tree(desired),
        )

    def run(self) -> list[Step]:
        # Order matters: policies reference contact points and mute timings; rules the folder.
        self.apply_datasource()
        self.apply_folder()
        self.apply_dashboards()
        self.apply_templates()
        self.apply_contact_points()
        self.apply_mute_timings()
        self.apply_rule_groups()
        self.apply_policies()
        return self.steps


def influx_datasource(url: str, token: str, org: str, bucket: str) -> dict[str, Any]:
    """Datasource body for ``POST /api/datasources`` (InfluxDB, Flux)."""
    return {
        "uid": DATASOURCE_UID,
        "name": "InfluxDB heatwatch",
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": url,
        "jsonData": {"version": "Flux", "organization": org, "defaultBucket": bucket},
        "secureJsonData": {"token": token},
    }
