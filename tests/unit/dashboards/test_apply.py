"""`heatwatch grafana apply` against a stub Grafana HTTP API on 127.0.0.1.

The stub implements the request shapes of Grafana's documented endpoints used by apply
(folders, dashboards/db, datasources, /api/v1/provisioning/*) and stores what it receives, so
a second apply must report everything unchanged. It is not Grafana: semantic validation by the
real server (e.g. rule evaluation, policy validation) is not covered here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from typer.testing import CliRunner

from dashboards import alerting
from dashboards.catalog import BUILDERS
from heatwatch.cli.grafana import app

# The slow tier (make slow, make test): a stub Grafana HTTP server on 127.0.0.1 (a socket,
# not a pure unit test).
pytestmark = pytest.mark.slow


class StubGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, Any] = {}
        self.dashboards: dict[str, Any] = {}
        self.datasources: dict[str, Any] = {}
        self.templates: dict[str, Any] = {}
        self.contact_points: dict[str, Any] = {}
        self.mute_timings: dict[str, Any] = {}
        self.rule_groups: dict[tuple[str, str], Any] = {}
        self.policy: dict[str, Any] = {"receiver": "grafana-default-email"}
        self.writes: list[tuple[str, str]] = []
        self.auth: set[str] = set()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        p = [unquote(x) for x in path.strip("/").split("/")]
        if method != "GET":
            self.writes.append((method, path))
        match (method, p):
            case ("GET", ["api", "folders", uid]):
                return (200, self.folders[uid]) if uid in self.folders else (404, {"message": "nf"})
            case ("POST", ["api", "folders"]):
                self.folders[body["uid"]] = body
                return 200, body
            case ("GET", ["api", "dashboards", "uid", uid]):
                if uid not in self.dashboards:
                    return 404, {"message": "Dashboard not found"}
                d = self.dashboards[uid]
                return 200, {
                    "dashboard": {**d["dashboard"], "id": 7, "version": 3},
                    "meta": {"folderUid": d["folderUid"]},
                }
            case ("POST", ["api", "dashboards", "db"]):
                assert body["overwrite"] is True and body["folderUid"]
                self.dashboards[body["dashboard"]["uid"]] = body
                return 200, {"status": "success", "uid": body["dashboard"]["uid"]}
            case ("GET", ["api", "datasources", "uid", uid]):
                if uid not in self.datasources:
                    return 404, {"message": "Data source not found"}
                ds = {k: v for k, v in self.datasources[uid].items() if k != "secureJsonData"}
                return 200, {**ds, "id": 1, "secureJsonFields": {"token": True}}
            case ("POST", ["api", "datasources"]):
                self.datasources[body["uid"]] = body
                return 200, {"datasource": body}
            case ("GET", ["api", "v1", "provisioning", "templates"]):
                return 200, list(self.templates.values())
            case ("PUT", ["api", "v1", "provisioning", "templates", name]):
                assert set(body) == {"template"}
                self.templates[name] = {"name": name, **body}
                return 202, self.templates[name]
            case ("GET", ["api", "v1", "provisioning", "contact-points"]):
                # Grafana redacts secure settings on read.
                out = []
                for cp in self.contact_points.values():
                    s = dict(cp["settings"])
                    for k in ("url", "authorization_credentials"):
                        if k in s:
                            s[k] = "[REDACTED]"
                    out.append({**cp, "settings": s})
                return 200, out
            case ("POST", ["api", "v1", "provisioning", "contact-points"]):
                assert {"uid", "name", "type", "settings"} <= set(body)
                self.contact_points[body["uid"]] = body
                return 202, body
            case ("GET", ["api", "v1", "provisioning", "mute-timings"]):
                return 200, list(self.mute_timings.values())
            case ("POST", ["api", "v1", "provisioning", "mute-timings"]):
                assert {"name", "time_intervals"} <= set(body)
                self.mute_timings[body["name"]] = body
                return 201, body
            case ("GET", ["api", "v1", "provisioning", "folder", f, "rule-groups", g]):
                if (f, g) not in self.rule_groups:
                    return 404, {"message": "rule group does not exist"}
                return 200, self.rule_groups[(f, g)]
            case ("PUT", ["api", "v1", "provisioning", "folder", f, "rule-groups", g]):
                assert body["title"] == g and body["folderUid"] == f
                assert isinstance(body["interval"], int)
                for r in body["rules"]:
                    assert {
                        "uid",
                        "title",
                        "condition",
                        "data",
                        "noDataState",
                        "execErrState",
                        "for",
                        "folderUID",
                        "ruleGroup",
                        "orgID",
                    } <= set(r)
                    assert r["folderUID"] == f and r["ruleGroup"] == g
                self.rule_groups[(f, g)] = body
                return 200, body
            case ("GET", ["api", "v1", "provisioning", "policies"]):
                return 200, self.policy
            case ("PUT", ["api", "v1", "provisioning", "policies"]):
                assert "receiver" in body
                self.policy = body
                return 202, {"message": "policies updated"}
        return 404, {"message": f"stub: no route {method} {path}"}


@pytest.fixture
def grafana() -> Iterator[tuple[str, StubGrafana]]:
    stub = StubGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            stub.auth.add(self.headers.get("Authorization", ""))
            status, payload = stub.handle(self.command, urlparse(self.path).path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", stub
    finally:
        server.shutdown()
        server.server_close()


def _apply(url: str, *extra: str) -> str:
    result = CliRunner().invoke(
        app,
        [
            "apply",
            "--url",
            url,
            "--token",
            "glsa_test",
            "--influx-url",
            "http://influx:8086",
            "--influx-token",
            "t",
            *extra,
        ],
        env={"HEATWATCH_DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?x=1"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_dry_run_sends_nothing(grafana: tuple[str, StubGrafana]) -> None:
    url, stub = grafana
    out = _apply(url, "--dry-run")
    assert stub.writes == []
    assert "新建" in out and "将修改" in out
    assert "Bearer glsa_test" in stub.auth


def test_apply_creates_then_is_idempotent(grafana: tuple[str, StubGrafana]) -> None:
    url, stub = grafana
    out = _apply(url)
    assert "联系点缺少环境变量" in out  # only DingTalk given; others listed
    assert len(stub.dashboards) == len(BUILDERS) and len(stub.rule_groups) == len(
        alerting.GROUP_INTERVALS
    )
    assert stub.datasources["heatwatch-influxdb"]["jsonData"]["version"] == "Flux"
    ding = stub.contact_points["hw-dispatch-dingtalk"]
    assert ding["settings"]["url"].startswith("https://oapi.dingtalk.com/")
    assert stub.policy["routes"]
    n_writes = len(stub.writes)
    out2 = _apply(url)
    assert len(stub.writes) == n_writes, stub.writes[n_writes:]
    assert "已修改 0 /" in out2
    rules = stub.rule_groups[("heatwatch", "incidents")]["rules"]
    assert {r["noDataState"] for r in rules} == {"KeepLast"}
    assert all("keep_firing_for" in r for r in rules)
