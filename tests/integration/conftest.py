"""Fixtures for tests that need the real Kafka and InfluxDB (deploy/stack/stack.sh).

* Every test under tests/integration gets the ``integration`` marker automatically.
* ``stack`` (session): uses a running stack (env vars, or ``.stack/stack.env`` written by
  ``stack.sh up``) or starts it with ``deploy/stack/stack.sh up`` and then stops it at the end
  of the session -- only if this session started it.
* ``HEATWATCH_SKIP_INTEGRATION=1`` skips these tests with a reason; otherwise a stack that
  cannot be reached or started is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INTEGRATION_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEGRATION_DIR.parents[1]
STACK_SH = REPO_ROOT / "deploy" / "stack" / "stack.sh"
KAFKA_PING = REPO_ROOT / "deploy" / "stack" / "kafka_ping.py"
STACK_UP_TIMEOUT_S = float(os.environ.get("HEATWATCH_STACK_UP_TIMEOUT", "3600"))
# How clients reach the stack's Kafka (docs/security.md). Exported to os.environ by the
# ``stack`` fixture so workers started by tests connect the same way.
KAFKA_SECURITY_VARS = (
    "HEATWATCH_KAFKA_SECURITY_PROTOCOL",
    "HEATWATCH_KAFKA_SSL_CAFILE",
    "HEATWATCH_KAFKA_SASL_USERNAME",
    "HEATWATCH_KAFKA_SASL_PASSWORD",
    "HEATWATCH_ALLOW_INSECURE",
)


@dataclass(frozen=True)
class StackSettings:
    """Connection settings of the running stack."""

    kafka_bootstrap: str
    influx_url: str
    influx_token: str
    influx_org: str
    influx_bucket: str
    kafka_env: tuple[tuple[str, str], ...] = ()  # KAFKA_SECURITY_VARS that are set

    @property
    def secured(self) -> bool:
        return dict(self.kafka_env).get("HEATWATCH_KAFKA_SECURITY_PROTOCOL") == "SASL_SSL"

    def kafka_settings(self) -> Any:
        from streams.settings import KafkaSettings

        env = dict(self.kafka_env)
        return KafkaSettings(
            bootstrap=self.kafka_bootstrap,
            security_protocol=env.get("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            ssl_cafile=env.get("HEATWATCH_KAFKA_SSL_CAFILE"),
            sasl_username=env.get("HEATWATCH_KAFKA_SASL_USERNAME"),
            sasl_password=env.get("HEATWATCH_KAFKA_SASL_PASSWORD"),
        )

    def kafka_options(self) -> dict[str, Any]:
        """Security keyword arguments for kafka-python and aiokafka clients."""
        from streams.security import client_options

        return client_options(self.kafka_settings())


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = os.environ.get("HEATWATCH_SKIP_INTEGRATION") == "1"
    skip_mark = pytest.mark.skip(
        reason="HEATWATCH_SKIP_INTEGRATION=1: integration tests need Kafka + InfluxDB "
        "(deploy/stack/stack.sh up)"
    )
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)
            if skip:
                item.add_marker(skip_mark)


# --------------------------------------------------------------------------- stack


def _stack_dir() -> Path:
    return Path(os.environ.get("HEATWATCH_STACK_DIR", str(REPO_ROOT / ".stack")))


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*(?:export\s+)?(HEATWATCH_[A-Z_]+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2).strip().strip("'\"")
    return values


def _kafka_env(values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    env = {k: values[k] for k in KAFKA_SECURITY_VARS if values.get(k)}
    if "HEATWATCH_KAFKA_SECURITY_PROTOCOL" not in env:
        # a stack.env from before secured stacks existed: that stack is PLAINTEXT
        env.update(HEATWATCH_KAFKA_SECURITY_PROTOCOL="PLAINTEXT", HEATWATCH_ALLOW_INSECURE="1")
    return tuple(sorted(env.items()))


def _settings_from(values: dict[str, str]) -> StackSettings | None:
    try:
        return StackSettings(
            kafka_bootstrap=values["HEATWATCH_KAFKA_BOOTSTRAP"],
            influx_url=values["HEATWATCH_INFLUX_URL"].rstrip("/"),
            influx_token=values["HEATWATCH_INFLUX_TOKEN"],
            influx_org=values.get("HEATWATCH_INFLUX_ORG", "heatwatch"),
            influx_bucket=values.get("HEATWATCH_INFLUX_BUCKET", "heatwatch"),
            kafka_env=_kafka_env(values),
        )
    except KeyError:
        return None


def _kafka_ok(bootstrap: str, cafile: str | None = None) -> tuple[bool, str]:
    first = bootstrap.split(",")[0]
    tls = ["--cafile", cafile] if cafile else []
    proc = subprocess.run(
        [sys.executable, str(KAFKA_PING), *tls, first],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.returncode == 0, proc.stderr.strip()


def _influx_ok(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
            body = json.loads(resp.read().decode())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return False, str(exc)
    return body.get("status") == "pass", str(body)


def _healthy(settings: StackSettings) -> tuple[bool, str]:
    cafile = (
        dict(settings.kafka_env).get("HEATWATCH_KAFKA_SSL_CAFILE") if settings.secured else None
    )
    k_ok, k_msg = _kafka_ok(settings.kafka_bootstrap, cafile)
    i_ok, i_msg = _influx_ok(settings.influx_url)
    problems = []
    if not k_ok:
        problems.append(f"Kafka at {settings.kafka_bootstrap}: {k_msg}")
    if not i_ok:
        problems.append(f"InfluxDB at {settings.influx_url}: {i_msg}")
    return not problems, "; ".join(problems)


def _export(settings: StackSettings) -> StackSettings:
    """Workers started by tests inherit the stack's Kafka security settings."""
    for name, value in settings.kafka_env:
        os.environ.setdefault(name, value)
    return settings


@pytest.fixture(scope="session")
def stack() -> Iterator[StackSettings]:
    """The running stack's settings; starts it with stack.sh up if nothing runs."""
    env_settings = _settings_from(dict(os.environ))
    if env_settings is not None:
        # Explicit settings (e.g. a docker compose stack): use them, never start anything.
        ok, why = _healthy(env_settings)
        if not ok:
            pytest.fail(f"stack from HEATWATCH_* env vars is not reachable: {why}", pytrace=False)
        yield _export(env_settings)
        return

    env_file = _stack_dir() / "stack.env"
    file_settings = _settings_from(_read_env_file(env_file))
    if file_settings is not None and _healthy(file_settings)[0]:
        yield _export(file_settings)
        return

    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(STACK_SH), "up"],
        capture_output=True,
        text=True,
        timeout=STACK_UP_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"deploy/stack/stack.sh up failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    settings = _settings_from(_read_env_file(env_file))
    if settings is None:
        pytest.fail(f"stack.sh up succeeded but wrote no usable {env_file}", pytrace=False)
    ok, why = _healthy(settings)
    if not ok:
        pytest.fail(f"stack started but is not healthy: {why}", pytrace=False)
    sys.stderr.write(
        f"\n[stack] started by the test session in {time.monotonic() - started:.1f} s\n"
    )
    try:
        yield _export(settings)
    finally:
        subprocess.run(["bash", str(STACK_SH), "down"], check=False, timeout=120)


@pytest.fixture(scope="session")
def stack_settings(stack: StackSettings) -> StackSettings:
    """Connection settings (bootstrap, url, token, org, bucket) of the stack."""
    return stack


# --------------------------------------------------------------------------- factories


def _unique_name(request: pytest.FixtureRequest, prefix: str) -> str:
    test = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name).strip("-").lower()[:40]
    return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_topic_factory(
    stack: StackSettings, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """make(partitions=1) -> topic name; the topic exists when it returns, deleted afterwards."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, client_id="hw-it-admin", **stack.kafka_options()
    )
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        name = _unique_name(request, "hw-it")
        admin.create_topics(
            [NewTopic(name=name, num_partitions=partitions, replication_factor=1)],
            timeout_ms=30_000,
        )
        created.append(name)
        deadline = time.monotonic() + 30
        while True:
            described = admin.describe_topics([name])
            if (
                described
                and described[0].get("error_code", 0) == 0
                and len(described[0].get("partitions", [])) == partitions
            ):
                return name
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name} not visible after 30 s: {described}")
            time.sleep(0.2)

    try:
        yield make
    finally:
        try:
            if created:
                admin.delete_topics(created, timeout_ms=30_000)
        finally:
            admin.close()


@pytest.fixture
def unique_bucket_factory(
    stack: StackSettings, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """make() -> bucket name in the stack's org; deleted afterwards."""
    from influxdb_client import InfluxDBClient

    client = InfluxDBClient(url=stack.influx_url, token=stack.influx_token, org=stack.influx_org)
    buckets_api = client.buckets_api()
    created = []

    def make() -> str:
        name = _unique_name(request, "hw-it")
        created.append(buckets_api.create_bucket(bucket_name=name, org=stack.influx_org))
        return name

    try:
        yield make
    finally:
        try:
            for bucket in created:
                buckets_api.delete_bucket(bucket)
        finally:
            client.close()
