"""The secured stack refuses what it must, and the pipeline works over TLS + SASL/SCRAM.

Runs against a stack made with ``HEATWATCH_STACK_SECURITY=sasl_ssl``: the one named by
``HEATWATCH_STACK_DIR`` if it is secured and up, otherwise one started here in a temporary
directory on free loopback ports (and stopped at the end). See docs/security.md.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streams.security import client_options
from streams.settings import KafkaSettings
from tests.integration.conftest import REPO_ROOT, STACK_SH, _read_env_file

ROLES = ("worker", "producer", "report", "grafana")


@dataclass(frozen=True, repr=False)
class Secured:
    dir: Path
    admin: dict[str, str]  # stack.env: admin Kafka user, InfluxDB operator token
    roles: dict[str, dict[str, str]]  # env/<role>.env

    def __repr__(self) -> str:  # pytest prints fixtures on failure: never the secrets
        return f"Secured({self.dir})"

    def kafka(self, values: dict[str, str], **changes: Any) -> KafkaSettings:
        fields: dict[str, Any] = {
            "bootstrap": self.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
            "security_protocol": "SASL_SSL",
            "ssl_cafile": self.admin["HEATWATCH_KAFKA_SSL_CAFILE"],
            "sasl_username": values.get("HEATWATCH_KAFKA_SASL_USERNAME"),
            "sasl_password": values.get("HEATWATCH_KAFKA_SASL_PASSWORD"),
        }
        return KafkaSettings(**{**fields, **changes})

    @property
    def influx_url(self) -> str:
        return self.admin["HEATWATCH_INFLUX_URL"]

    def secrets(self) -> dict[str, str]:
        """Every password and token of the stack, by file name."""
        out = {}
        for path in sorted((self.dir / "secrets").iterdir()):
            if path.name.endswith(("-password", "-token")):
                out[path.name] = path.read_text().strip()
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(stack_dir: Path) -> Secured:
    return Secured(
        stack_dir,
        _read_env_file(stack_dir / "stack.env"),
        {r: _read_env_file(stack_dir / "env" / f"{r}.env") for r in ROLES},
    )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    given = Path(os.environ.get("HEATWATCH_STACK_DIR", str(REPO_ROOT / ".stack")))
    values = _read_env_file(given / "stack.env")
    if values.get("HEATWATCH_STACK_SECURITY") == "sasl_ssl":
        status = subprocess.run(
            ["bash", str(STACK_SH), "status"],
            capture_output=True,
            env={**os.environ, "HEATWATCH_STACK_DIR": str(given)},
            check=False,
        )
        if status.returncode == 0:
            yield _load(given)
            return
    own = tmp_path_factory.mktemp("secured-stack")
    env = {
        **os.environ,
        "HEATWATCH_STACK_DIR": str(own),
        "HEATWATCH_STACK_SECURITY": "sasl_ssl",
        "HEATWATCH_KAFKA_PORT": str(_free_port()),
        "HEATWATCH_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "HEATWATCH_INFLUX_PORT": str(_free_port()),
    }
    up = subprocess.run(
        ["bash", str(STACK_SH), "up"], capture_output=True, text=True, env=env, check=False
    )
    try:
        if up.returncode != 0:
            pytest.fail(f"secured stack did not start:\n{up.stderr[-3000:]}", pytrace=False)
        yield _load(own)
    finally:
        subprocess.run(["bash", str(STACK_SH), "down"], env=env, check=False, timeout=120)


RUNS: set[str] = set()  # run ids in this module's topic and group names


def _run_id() -> str:
    run = uuid.uuid4().hex[:8]
    RUNS.add(run)
    return run


@pytest.fixture(scope="module", autouse=True)
def _delete_run_topics(secured: Secured) -> Iterator[None]:
    """Topics this module made (telemetry, dead letters, incidents, Faust's own) go at the end."""
    yield
    if not RUNS:
        return
    admin = _admin_client(secured)
    try:
        names = [t for t in admin.list_topics() if any(run in t for run in RUNS)]
        if names:
            admin.delete_topics(names, timeout_ms=30_000)
    finally:
        admin.close()


def _admin_client(s: Secured) -> Any:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=s.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
        client_id="hw-it-security",
        **client_options(s.kafka(s.admin)),
    )


def _refused_connect(**options: Any) -> Exception:
    """The exception a kafka-python client raises when it cannot get in."""
    from kafka import KafkaAdminClient

    with pytest.raises(Exception) as info:
        admin = KafkaAdminClient(
            client_id="hw-it-refused",
            request_timeout_ms=5000,
            api_version_auto_timeout_ms=5000,
            **options,
        )
        admin.list_topics()  # reached only if the connection was accepted
    return info.value


# --------------------------------------------------------------------------- Kafka refusals


def test_unauthenticated_clients_are_refused(secured: Secured) -> None:
    from kafka.errors import KafkaError

    bootstrap = secured.admin["HEATWATCH_KAFKA_BOOTSTRAP"]
    plain = _refused_connect(bootstrap_servers=bootstrap, security_protocol="PLAINTEXT")
    assert isinstance(plain, KafkaError), plain
    tls_only = _refused_connect(
        bootstrap_servers=bootstrap,
        security_protocol="SSL",
        ssl_context=client_options(secured.kafka(secured.admin))["ssl_context"],
    )
    assert isinstance(tls_only, KafkaError), tls_only
    producer = secured.roles["producer"]
    wrong = client_options(secured.kafka(producer, sasl_password="not-the-password"))
    bad_password = _refused_connect(bootstrap_servers=bootstrap, **wrong)
    assert isinstance(bad_password, KafkaError), bad_password


def test_a_client_that_does_not_trust_the_ca_is_refused(secured: Secured) -> None:
    from kafka.errors import KafkaError

    # right user and password, but the system CAs: the broker's certificate does not verify,
    # so the password is never sent
    untrusting = client_options(secured.kafka(secured.roles["producer"], ssl_cafile=None))
    exc = _refused_connect(
        bootstrap_servers=secured.admin["HEATWATCH_KAFKA_BOOTSTRAP"], **untrusting
    )
    assert isinstance(exc, KafkaError), exc
    ping = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "deploy" / "stack" / "kafka_ping.py"),
            "--cafile",
            "/etc/ssl/certs/ca-certificates.crt",
            secured.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ping.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in ping.stderr, ping.stderr


def _send(s: Secured, role: str, topic: str) -> Any:
    from producers.kafka_producer import make_producer

    producer = make_producer(
        s.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
        None,
        max_block_ms=10_000,
        **client_options(s.kafka(s.roles[role])),
    )
    try:
        return producer.send(topic, b'{"kind":"probe"}').get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_producer_may_write_telemetry_only(secured: Secured) -> None:
    from kafka.errors import KafkaError

    run = _run_id()
    meta = _send(secured, "producer", f"heatwatch.telemetry.it-{run}")  # may create + write
    assert meta.offset == 0
    for topic in (f"heatwatch.incidents.it-{run}", "heatwatch.incidents", "heatwatch-x"):
        with pytest.raises(KafkaError) as info:
            _send(secured, "producer", topic)
        assert "Authorization" in type(info.value).__name__ or "uthoriz" in str(info.value)


def test_worker_may_not_write_telemetry(secured: Secured) -> None:
    from kafka.errors import KafkaError

    with pytest.raises(KafkaError) as info:
        _send(secured, "worker", f"heatwatch.telemetry.it-{_run_id()}")
    assert "Authorization" in type(info.value).__name__ or "uthoriz" in str(info.value)


def test_worker_may_not_create_telemetry_and_says_so_in_one_line(
    secured: Secured, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "household_id,county,village,retrofit_type,heating_device,feeder_id,gas_station_id,"
        "priority_group,rated_kw\n"
        "H1,忻府区,东营村,coal_to_electric,storage_heater,F1,,none,6\n",  # one: the CLI
        encoding="utf-8",  # refuses an empty registry before it reaches Kafka
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEATWATCH_")},
        **secured.roles["worker"],
        "PYTHONPATH": str(REPO_ROOT),
        "HEATWATCH_KAFKA_TELEMETRY_TOPIC": f"heatwatch.telemetry.it-{_run_id()}",
        "HEATWATCH_WORKER_REGISTRY": str(registry),
        "HEATWATCH_WORKER_STORE": "memory://",
        "HEATWATCH_WORKER_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "heatwatch.cli.main", "worker"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "无权创建" in done.stderr and "Traceback" not in done.stderr  # Chinese first
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert secured.roles["worker"]["HEATWATCH_KAFKA_SASL_PASSWORD"] not in done.stderr


# --------------------------------------------------------------------------- InfluxDB refusals


def _influx(s: Secured, token: str, method: str, path: str, body: bytes = b"") -> int:
    request = urllib.request.Request(
        f"{s.influx_url}{path}",
        data=body if method == "POST" else None,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _make_bucket(s: Secured, name: str) -> Any:
    from influxdb_client import InfluxDBClient

    client = InfluxDBClient(
        url=s.influx_url,
        token=s.admin["HEATWATCH_INFLUX_TOKEN"],
        org=s.admin["HEATWATCH_INFLUX_ORG"],
    )
    return client, client.buckets_api().create_bucket(
        bucket_name=name, org=s.admin["HEATWATCH_INFLUX_ORG"]
    )


def test_worker_token_writes_its_bucket_only(secured: Secured) -> None:
    org = secured.admin["HEATWATCH_INFLUX_ORG"]
    own = secured.roles["worker"]["HEATWATCH_INFLUX_BUCKET"]
    worker_token = secured.roles["worker"]["HEATWATCH_INFLUX_TOKEN"]
    client, other = _make_bucket(secured, f"hw-it-other-{uuid.uuid4().hex[:8]}")
    try:
        line = b"probe value=1i 1700000000"
        assert (
            _influx(
                secured,
                worker_token,
                "POST",
                f"/api/v2/write?org={org}&bucket={own}&precision=s",
                line,
            )
            == 204
        )
        refused = _influx(
            secured,
            worker_token,
            "POST",
            f"/api/v2/write?org={org}&bucket={other.name}&precision=s",
            line,
        )
        assert refused in (401, 403, 404), refused
        # read-only tokens may not write anywhere; the worker's may not read
        for role in ("report", "grafana"):
            token = secured.roles[role]["HEATWATCH_INFLUX_TOKEN"]
            status = _influx(
                secured, token, "POST", f"/api/v2/write?org={org}&bucket={own}&precision=s", line
            )
            assert status in (401, 403, 404), (role, status)
            assert _influx(secured, token, "GET", f"/api/v2/buckets?org={org}") == 200
        listed = _influx(
            secured, worker_token, "GET", f"/api/v2/buckets?org={org}&name={other.name}"
        )
        assert listed in (200, 401, 403, 404)  # listing may answer, but with nothing readable
    finally:
        client.buckets_api().delete_bucket(other)
        client.close()


# --------------------------------------------------------------------------- the pipeline


def _wait_lag_zero(
    s: Secured, topic: str, group: str, worker: subprocess.Popen[bytes], timeout: float
) -> None:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=s.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
        group_id=group,
        enable_auto_commit=False,
        **client_options(s.kafka(s.admin)),
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            end = consumer.end_offsets(tps)
            if all((consumer.committed(tp) or 0) == end[tp] for tp in tps):
                return
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            time.sleep(1)
    finally:
        consumer.close()
    raise AssertionError(f"lag not 0 after {timeout} s")


def _dead_letter_values(s: Secured, topic: str) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=s.admin["HEATWATCH_KAFKA_BOOTSTRAP"],
        enable_auto_commit=False,
        **client_options(s.kafka(s.admin)),
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[bytes] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                out.extend(r.value for r in records)
        return out
    finally:
        consumer.close()


def _bucket_token(s: Secured, bucket: Any) -> str:
    """A write-only token for one bucket, as the stack makes the worker's."""
    from influxdb_client import InfluxDBClient, Permission, PermissionResource

    with InfluxDBClient(url=s.influx_url, token=s.admin["HEATWATCH_INFLUX_TOKEN"]) as client:
        resource = PermissionResource(type="buckets", id=bucket.id, org_id=bucket.org_id)
        auth = client.authorizations_api().create_authorization(
            org_id=bucket.org_id, permissions=[Permission(action="write", resource=resource)]
        )
        return str(auth.token)


def _listening_on(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def _all_command_lines() -> str:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                out.append(
                    (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
    return "\n".join(out)


def test_pipeline_over_tls_sasl_keeps_secrets_out_of_every_output(
    secured: Secured, tmp_path: Path
) -> None:
    from formats.registry_csv import load_registry_csv  # noqa: F401  (registry loads)
    from producers.scoring import score
    from producers.simulate import SimulationConfig, simulate
    from tests.integration.pipeline_support import PipelineEnv, incidents_in_influx

    run = _run_id()
    sim = tmp_path / "sim"
    # three days: peak charging is judged from a storage home's second day, which a live worker
    # closes when the third day's readings arrive
    simulate(SimulationConfig(households=300, days=3, batches=True, faults=True), sim)
    topic, dead, incidents = (
        f"heatwatch.{t}.it-{run}" for t in ("telemetry", "dead-letters", "incidents")
    )
    app_id = f"heatwatch-it-{run}"
    client, bucket = _make_bucket(secured, f"hw-it-secure-{run}")
    web_port = _free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEATWATCH_")}
    base["PYTHONPATH"] = str(REPO_ROOT)
    common = {
        "HEATWATCH_KAFKA_TELEMETRY_TOPIC": topic,
        "HEATWATCH_KAFKA_DEAD_LETTER_TOPIC": dead,
        "HEATWATCH_KAFKA_INCIDENT_TOPIC": incidents,
        "HEATWATCH_KAFKA_PARTITIONS": "3",
    }
    produced = subprocess.run(
        [
            sys.executable,
            "-m",
            "heatwatch.cli.main",
            "produce",
            "--input",
            str(sim / "readings.jsonl"),
            "--registry",
            str(sim / "registry.csv"),
        ],
        env={**base, **secured.roles["producer"], **common},
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert produced.returncode == 0, produced.stderr.decode()[-2000:]
    worker_env = {
        **base,
        **secured.roles["worker"],
        **common,
        "HEATWATCH_INFLUX_TOKEN": _bucket_token(secured, bucket),
        "HEATWATCH_INFLUX_BUCKET": bucket.name,
        "HEATWATCH_WORKER_APP_ID": app_id,
        "HEATWATCH_WORKER_STORE": "memory://",
        "HEATWATCH_WORKER_DATA_DIR": str(tmp_path / "data"),
        "HEATWATCH_WORKER_REGISTRY": str(sim / "registry.csv"),
        "HEATWATCH_WORKER_NAME": f"it-{run}",
        "HEATWATCH_WORKER_CHECKPOINT_INTERVAL_S": "1",
        "HEATWATCH_WORKER_LOGLEVEL": "debug",  # the most output there is to leak into
        "HEATWATCH_WORKER_WEB_ENABLED": "true",
        "HEATWATCH_WORKER_WEB_PORT": str(web_port),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "heatwatch.cli.main", "worker"],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    try:
        _wait_lag_zero(secured, topic, app_id, worker, timeout=180)
        time.sleep(2)  # the last results' write
        assert _listening_on(web_port) == {"0100007F"}, "Faust web must listen on loopback only"
        command_lines = _all_command_lines()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
    try:
        reader = PipelineEnv(
            bootstrap="",
            influx_url=secured.influx_url,
            influx_token=secured.roles["report"]["HEATWATCH_INFLUX_TOKEN"],
            influx_org=secured.admin["HEATWATCH_INFLUX_ORG"],
            bucket=bucket.name,
            topic=topic,
            dead_topic=dead,
            incident_topic=incidents,
            partitions=3,
            app_id=app_id,
            registry=sim / "registry.csv",
            data_dir=tmp_path,
        )
        found = incidents_in_influx(reader)
        dead_values = _dead_letter_values(secured, dead)
        import orjson

        lines = {int(orjson.loads(v)["line_no"]) for v in dead_values}
        result = score(found, sim / "ground_truth.jsonl", lines)
        assert found and not result.missed and not result.unexpected, (
            result.missed,
            result.unexpected,
        )
        assert not result.malformed_missed
    finally:
        client.buckets_api().delete_bucket(bucket)
        client.close()
    outputs = {
        "worker log": log_path.read_bytes().decode(errors="replace"),
        "produce stdout+stderr": (produced.stdout + produced.stderr).decode(errors="replace"),
        "dead letters": b"\n".join(dead_values).decode(errors="replace"),
        "command lines": command_lines,
        "stack logs": "\n".join(
            p.read_text(errors="replace") for p in (secured.dir / "logs").glob("*") if p.is_file()
        ),
    }
    secrets = {**secured.secrets(), "bucket token": worker_env["HEATWATCH_INFLUX_TOKEN"]}
    leaks = [
        (name, where)
        for name, value in secrets.items()
        for where, text in outputs.items()
        if value and value in text
    ]
    assert not leaks, leaks
    assert re.search(r"assigned telemetry partitions", outputs["worker log"])
