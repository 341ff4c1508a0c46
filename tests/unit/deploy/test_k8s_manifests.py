"""deploy/k8s validated offline: every built-in resource against the Kubernetes JSON schemas
(kubernetes-validate, strict: unknown fields fail), the Strimzi resources and the worker's
deployment checked for what docs/security.md and docs/scaling.md promise. ``kubectl
kustomize`` renders the whole tree too when kubectl is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
K8S_VERSION = "1.32.0"
STRIMZI = "kafka.strimzi.io/v1beta2"


def _kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((K8S / "kustomization.yaml").read_text()))


def _documents() -> list[dict[str, Any]]:
    docs = []
    for name in _kustomization()["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / name).read_text()) if d)
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def test_every_builtin_resource_matches_the_kubernetes_schema() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    builtin = [d for d in _documents() if not d["apiVersion"].startswith("kafka.strimzi.io")]
    assert len(builtin) >= 20
    for doc in builtin:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_generated_config_maps_name_files_that_exist() -> None:
    for generator in _kustomization()["configMapGenerator"]:
        for file in generator["files"]:
            assert (K8S / file).is_file(), file


def test_no_secret_value_is_written_into_a_manifest() -> None:
    for doc in _documents():
        if "template" not in str(doc.get("spec", "")):
            continue
        for container in _pod_spec(doc)["containers"]:
            for name, entry in _env(container).items():
                if name.endswith(("PASSWORD", "TOKEN")):
                    assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], name


def test_worker_scales_out_in_one_group_over_tls_with_lag_readiness() -> None:
    worker = _one("Deployment", "heatwatch-worker")
    container = _pod_spec(worker)["containers"][0]
    env = _env(container)
    replicas = worker["spec"]["replicas"]
    partitions = _one("KafkaTopic", "heatwatch.telemetry")["spec"]["partitions"]
    assert 2 <= replicas <= partitions == int(env["HEATWATCH_KAFKA_PARTITIONS"]["value"])
    assert env["HEATWATCH_WORKER_APP_ID"]["value"] == "heatwatch"  # one consumer group
    assert env["HEATWATCH_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert "HEATWATCH_ALLOW_INSECURE" not in env and "HEATWATCH_WORKER_WEB_BIND" not in env
    ca = env["HEATWATCH_KAFKA_SSL_CAFILE"]["value"]
    assert any(ca.startswith(m["mountPath"]) for m in container["volumeMounts"])
    assert env["HEATWATCH_INFLUX_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == (
        "heatwatch-influx-worker"
    )
    probe = container["readinessProbe"]["exec"]["command"]
    assert probe[:3] == ["python", "-m", "streams.health"] and "--max-lag" in probe
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["limits"]["memory"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"]  # no OOM surprise
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def _acls(user: str) -> list[tuple[str, str, str, set[str]]]:
    spec = _one("KafkaUser", user)["spec"]
    assert spec["authentication"]["type"] == "scram-sha-512"
    return [
        (
            a["resource"]["type"],
            a["resource"]["name"],
            a["resource"].get("patternType", "literal"),
            set(a["operations"]),
        )
        for a in spec.get("authorization", {}).get("acls", [])
    ]


def test_strimzi_users_have_the_least_privilege_acls() -> None:
    kafka = _one("Kafka", "heatwatch")
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    # the ingest bridge writes telemetry and reads its tail back on resume; nothing else
    assert _acls("producer") == [
        ("topic", "heatwatch.telemetry", "literal", {"Write", "Describe", "Read"})
    ]
    worker = _acls("worker")
    telemetry = [ops for kind, name, _, ops in worker if name == "heatwatch.telemetry"]
    assert telemetry == [{"Read", "Describe"}]  # reads telemetry, never writes it
    for kind, name, _, ops in worker:
        if "Write" in ops:
            assert kind == "topic" and name != "heatwatch.telemetry"
    assert ("group", "heatwatch", "literal", {"Read", "Describe"}) in worker
    for doc in _documents():
        if doc["apiVersion"] == STRIMZI and doc["kind"] != "Kafka":
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "heatwatch"


@pytest.mark.slow  # runs kubectl in a subprocess
def test_kubectl_kustomize_renders_the_tree() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: the schema checks above still ran")
    out = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(K8S)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rendered = [d for d in yaml.safe_load_all(out) if d]
    assert {d["metadata"].get("namespace") for d in rendered if d["kind"] != "Namespace"} == {
        "heatwatch"
    }
    assert len(rendered) == len(_documents()) + len(_kustomization()["configMapGenerator"])


def test_each_component_reads_only_its_own_influx_token() -> None:
    expected = {
        ("Deployment", "heatwatch-worker"): "heatwatch-influx-worker",
        ("Deployment", "grafana"): "heatwatch-influx-grafana",
        ("CronJob", "heatwatch-use-publish"): "heatwatch-influx-use",
    }
    for (kind, name), secret in expected.items():
        container = _pod_spec(_one(kind, name))["containers"][0]
        token = _env(container)["HEATWATCH_INFLUX_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert token["name"] == secret, (kind, name)


def test_the_reports_read_the_workers_results_dataset_from_a_shared_volume() -> None:
    worker = _pod_spec(_one("Deployment", "heatwatch-worker"))
    dataset = _env(worker["containers"][0])["HEATWATCH_WORKER_DATASET_DIR"]["value"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in worker["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims["results"] == "heatwatch-results"
    assert _one("PersistentVolumeClaim", "heatwatch-results")["spec"]["accessModes"] == [
        "ReadWriteMany"  # every worker replica writes its partitions' segments
    ]
    report = _pod_spec(_one("CronJob", "heatwatch-monthly-report"))
    command = " ".join(report["containers"][0]["command"])
    assert "--source dataset" in command and f"--dataset {dataset}" in command
    assert "HEATWATCH_INFLUX_TOKEN" not in _env(report["containers"][0])  # needs no token now
    compact = _pod_spec(_one("CronJob", "heatwatch-dataset-compaction"))["containers"][0]
    assert compact["command"][:3] == ["heatwatch", "dataset", "compact"]
    assert dataset in compact["command"]


def test_use_publish_runs_nightly_from_the_results_dataset_with_its_own_write_token() -> None:
    """issue 24: `heatwatch use publish` as a CronJob — reads the workers' dataset read-only,
    writes with a token the tokens Job creates and may read back, and may reach InfluxDB."""
    worker = _pod_spec(_one("Deployment", "heatwatch-worker"))
    dataset = _env(worker["containers"][0])["HEATWATCH_WORKER_DATASET_DIR"]["value"]
    job = _one("CronJob", "heatwatch-use-publish")
    assert job["spec"]["timeZone"] == "Asia/Shanghai"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = _pod_spec(job)
    (container,) = pod["containers"]
    command = container["command"]
    assert command[:3] == ["heatwatch", "use", "publish"]
    assert command[command.index("--dataset") + 1] == dataset
    assert "--out" not in command  # to InfluxDB, not a file in the pod
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["results"]["readOnly"] and dataset.startswith(mounts["results"]["mountPath"])
    claims = {v["name"]: v["persistentVolumeClaim"] for v in pod["volumes"]}
    assert claims["results"] == {"claimName": "heatwatch-results", "readOnly": True}
    assert container["securityContext"]["readOnlyRootFilesystem"]
    # the tokens Job makes its Secret (a write role) and may read it back
    script = (K8S / "influxdb" / "influx_tokens.py").read_text()
    assert '"use": ("write"' in script
    role = _one("Role", "influx-tokens")
    assert any("heatwatch-influx-use" in r.get("resourceNames", []) for r in role["rules"])
    # the network policies let it reach InfluxDB (default deny otherwise)
    name = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"][
        "app.kubernetes.io/name"
    ]
    for policy in ("influxdb-clients", "to-influxdb"):
        text = str(_one("NetworkPolicy", policy)["spec"])
        assert name in text, policy
