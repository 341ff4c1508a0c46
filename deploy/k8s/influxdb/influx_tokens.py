"""Create heatwatch's least-privilege InfluxDB tokens once and keep them in Secrets.

Runs in the influx-tokens Job (tokens-job.yaml), standard library only. For each role without
its Secret yet: create the authorization with the operator token, then the Secret
``heatwatch-influx-<role>`` (key ``token``) through the Kubernetes API with the Job's
ServiceAccount. Never prints a token.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

SA = Path("/var/run/secrets/kubernetes.io/serviceaccount")
INFLUX = os.environ["HEATWATCH_INFLUX_URL"].rstrip("/")
ORG = os.environ["HEATWATCH_INFLUX_ORG"]
BUCKET = os.environ["HEATWATCH_INFLUX_BUCKET"]
OPERATOR = os.environ["HEATWATCH_INFLUX_OPERATOR_TOKEN"]


def call(url: str, headers: dict[str, str], body: Any = None, context: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        return json.loads(response.read() or b"null")


def influx(path: str, body: Any = None) -> Any:
    return call(f"{INFLUX}{path}", {"Authorization": f"Token {OPERATOR}"}, body)


def kube(path: str, body: Any = None) -> Any:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ["KUBERNETES_SERVICE_PORT"]
    context = ssl.create_default_context(cafile=str(SA / "ca.crt"))
    headers = {"Authorization": f"Bearer {(SA / 'token').read_text().strip()}"}
    return call(f"https://{host}:{port}{path}", headers, body, context)


def secret_exists(namespace: str, name: str) -> bool:
    try:
        kube(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise
    return True


def main() -> int:
    namespace = (SA / "namespace").read_text().strip()
    org_id = influx(f"/api/v2/orgs?org={ORG}")["orgs"][0]["id"]
    bucket_id = influx(f"/api/v2/buckets?org={ORG}&name={BUCKET}")["buckets"][0]["id"]
    roles = {
        "worker": ("write", {"type": "buckets", "id": bucket_id, "orgID": org_id}),
        "grafana": ("read", {"type": "buckets", "orgID": org_id}),
        "report": ("read", {"type": "buckets", "orgID": org_id}),
        # `heatwatch use publish` (use/use-publish-cronjob.yaml): writes household_use points
        "use": ("write", {"type": "buckets", "id": bucket_id, "orgID": org_id}),
    }
    for role, (action, resource) in roles.items():
        name = f"heatwatch-influx-{role}"
        if secret_exists(namespace, name):
            print(f"{name}: exists, left alone")
            continue
        auth = influx(
            "/api/v2/authorizations",
            {
                "orgID": org_id,
                "description": f"heatwatch {role} ({action})",
                "permissions": [{"action": action, "resource": resource}],
            },
        )
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "heatwatch"}},
            "type": "Opaque",
            "data": {"token": base64.b64encode(auth["token"].encode()).decode()},
        }
        kube(f"/api/v1/namespaces/{namespace}/secrets", secret)
        print(f"{name}: created ({action})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
