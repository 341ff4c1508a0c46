"""Faults injected into the production path in its DEFAULT configuration (``rocksdb://``
store, a restarted worker reuses its data directory), while the input is being produced.

Each test compares with the embedded replay of the same input: the same incidents (ids and
every field), the same ``incident`` and ``household_day`` points in InfluxDB, the same rollups
and incidents in the workers' results datasets (newest revisions), the same dead letters, and
committed lag 0 within a bounded time. Broker restarts and InfluxDB pauses
strike a private stack (own ports and state directory, deploy/stack/stack.sh) so the shared
one is never disturbed; it is made in the security mode of the configured stack (a secured
stack by default: TLS + SASL/SCRAM, its own credentials read from its stack.env). Recovery times are printed (``pytest -s``) and appended to
``<basetemp>/fault_timings.jsonl`` for docs/production-path.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from contract.incidents import Incident
from formats import worker_dataset
from formats.registry_csv import load_registry_csv
from producers.kafka_producer import Router, jsonl_lines, make_producer, produce
from producers.simulate import SimulationConfig, simulate
from streams.core.clock import CST
from streams.embedded import replay
from streams.inspect import offsets
from streams.security import client_options
from streams.settings import KafkaSettings
from tests.integration.conftest import StackSettings, _read_env_file, _settings_from
from tests.integration.pipeline_support import (
    PipelineEnv,
    committed_lag,
    dead_letters,
    free_port,
    household_day_points,
    incident_points,
    incidents_in_influx,
    stop,
)

PARTITIONS = 4
# readings/s produced while the faults strike: the input must still be flowing at the second
# fault. With heat networks the 330 households send 46k readings (131k before: network
# households have no meter of their own), 11.6 s at 4,000/s; 1,500/s keeps ~31 s.
RATE = 1500
# The broker restart keeps 4,000/s: the rest of the input then waits in the producer during
# the outage while the worker holds a small unconsumed tail, the case that once released
# the reorder buffers before the producer's backlog came (docs/production-path.md). At
# 1,500/s the worker is caught up when the broker stops and the old rule passed as well.
BROKER_RESTART_RATE = 4000
LAG_ZERO_S = 120  # bound on "committed lag 0" after the last fault
REPO = Path(__file__).resolve().parents[2]
DAY_FIELDS = (
    "readings",
    "heating_available_minutes",
    "outage_minutes",
    "shortfall_minutes",
    "no_data_minutes",
    "interruptions",
    "energy_kwh",
    "valley_kwh",
    "valley_share",
    "gas_m3",
)


# --- the input and what the embedded replay makes of it ----------------------------------
@dataclass
class Expected:
    sim: Path
    records: int  # input lines: the kills land at shares of it
    incidents: dict[str, Incident]
    dead: set[tuple[int, str]]
    days: dict[tuple[str, date], dict[str, Any]]

    @property
    def incident_points(self) -> set[tuple[str, str]]:
        opened = {(i, "open") for i in self.incidents}
        return opened | {(i, "resolved") for i, inc in self.incidents.items() if inc.ended_at}


def _reason(reason: str) -> str:
    """A late reading's distance to the newest one depends on the partition's stream."""
    reason = re.sub(r"readings up to -?\d+ s newer", "readings up to N s newer", reason)
    # the embedded runner parses the line with its newline, the worker the record without
    return re.sub(r" at line \d+ column \d+$", "", reason)


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> Expected:
    sim = tmp_path_factory.mktemp("faults-sim")
    simulate(SimulationConfig(households=330, days=4, batches=True, faults=True), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    out = sim / "replay"
    replay(registry, sim / "readings.jsonl", out)
    incidents = [
        Incident.model_validate_json(x) for x in (out / "incidents.jsonl").read_bytes().split()
    ]
    dead = [orjson.loads(x) for x in (out / "dead_letters.jsonl").read_bytes().splitlines()]
    rows = pq.read_table(out / "rollups" / "household_days.parquet").to_pylist()
    return Expected(
        sim=sim,
        records=sum(1 for x in (sim / "readings.jsonl").read_bytes().splitlines() if x.strip()),
        incidents={i.incident_id: i for i in incidents},
        dead={(d["line_no"], _reason(d["reason"])) for d in dead},
        days={(r["household_id"], r["day"]): r for r in rows},
    )


def _diff(got: Incident, want: Incident) -> dict[str, Any]:
    a, b = got.model_dump(), want.model_dump()
    return {k: (a[k], b[k]) for k in b if a[k] != b[k]} | (
        {"incident_id": got.incident_id} if a != b else {}
    )


def assert_same_as_replay(env: PipelineEnv, want: Expected, within: float = 30) -> None:
    """Lag 0 means every record is in a checkpoint; the tail of the input is released a few
    seconds later (caught up and quiet): poll until the results match or ``within`` passes."""
    deadline = time.monotonic() + within
    while True:
        problems = differences(env, want)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not problems, problems


def differences(env: PipelineEnv, want: Expected) -> list[Any]:
    """Every difference at once (incidents, points, household-days, dead letters)."""
    problems: list[Any] = []
    got = {i.incident_id: i for i in incidents_in_influx(env)}
    if sorted(got) != sorted(want.incidents):
        problems.append(("incident ids", set(got) ^ set(want.incidents)))
    differ = [_diff(got[i], want.incidents[i]) for i in want.incidents if i in got]
    differ = [d for d in differ if d]
    if differ:
        problems.append(("incident fields", len(differ), differ[:3]))
    points = {(v["incident_id"], v["state"]) for v in incident_points(env)}
    if points != want.incident_points:
        problems.append(("incident points", points ^ want.incident_points))
    days = {(h, t.astimezone(CST).date()): v for (h, t), v in household_day_points(env).items()}
    if sorted(days) != sorted(want.days):
        extra, missing = set(days) - set(want.days), set(want.days) - set(days)
        problems.append(("household_day keys", sorted(extra)[:3], sorted(missing)[:3]))
    wrong = [
        (key, name, days[key].get(name), row[name])
        for key, row in want.days.items()
        if key in days
        for name in DAY_FIELDS
        if not (days[key].get(name) is None and row[name] is None)
        and days[key].get(name) != pytest.approx(row[name], rel=1e-6)  # Parquet: float32
    ]
    if wrong:
        problems.append(("household_day fields", len(wrong), wrong[:5]))
    problems += dataset_differences(env, want)
    dead = {(d["line_no"], _reason(d["reason"])) for d in dead_letters(env)}
    if dead != want.dead:
        problems.append(
            ("dead letters", sorted(dead - want.dead)[:5], sorted(want.dead - dead)[:5])
        )
    return problems


def dataset_differences(env: PipelineEnv, want: Expected) -> list[Any]:
    """The workers' results datasets (each worker's default ``<data dir>/dataset``, read
    together): the replay's rollups (every field) and incidents, despite kills and replays."""
    roots = sorted(d / "dataset" for d in env.data_dir.iterdir() if (d / "dataset").is_dir())
    if not roots:
        return [("results dataset", "no worker wrote one")]
    problems: list[Any] = []
    tbl = worker_dataset.read_range(roots, worker_dataset.ROLLUPS, date(2000, 1, 1),
                                    date(2100, 1, 1))  # fmt: skip
    days = {(r["household_id"], r["day"]): r for r in tbl.to_pylist()}
    if sorted(days) != sorted(want.days):
        extra, missing = set(days) - set(want.days), set(want.days) - set(days)
        problems.append(("dataset keys", sorted(extra)[:3], sorted(missing)[:3]))
    wrong = [k for k, row in want.days.items() if k in days and {c: days[k][c] for c in row} != row]
    if wrong:
        problems.append(("dataset rollups", len(wrong), wrong[:3]))
    got = {
        i.incident_id: i
        for i in map(Incident.model_validate_json, worker_dataset.read_incidents(roots))
    }
    if got != want.incidents:
        problems.append(("dataset incidents", set(got) ^ set(want.incidents),
                         [i for i in got if i in want.incidents and got[i] != want.incidents[i]][:3]))  # fmt: skip
    return problems


# --- stacks ------------------------------------------------------------------------------
@dataclass
class Target:
    """A Kafka + InfluxDB to run on (the shared stack, or a private one)."""

    bootstrap: str
    influx_url: str
    influx_token: str
    influx_org: str
    stack_env: dict[str, str] = field(default_factory=dict)  # private: stack.sh variables
    # how clients reach this Kafka: conftest.KAFKA_SECURITY_VARS (docs/security.md)
    kafka_env: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, settings: StackSettings, stack_env: dict[str, str] | None = None) -> Target:
        return cls(
            settings.kafka_bootstrap,
            settings.influx_url,
            settings.influx_token,
            settings.influx_org,
            stack_env or {},
            dict(settings.kafka_env),
        )

    def kafka_options(self) -> dict[str, Any]:
        """TLS/SASL keyword arguments for this test's own kafka-python clients."""
        env = self.kafka_env
        return client_options(
            KafkaSettings(
                bootstrap=self.bootstrap,
                security_protocol=env.get("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                ssl_cafile=env.get("HEATWATCH_KAFKA_SSL_CAFILE"),
                sasl_username=env.get("HEATWATCH_KAFKA_SASL_USERNAME"),
                sasl_password=env.get("HEATWATCH_KAFKA_SASL_PASSWORD"),
            )
        )

    def stack_sh(self, *args: str) -> None:
        subprocess.run(
            ["bash", str(REPO / "deploy" / "stack" / "stack.sh"), *args],
            env={**os.environ, **self.stack_env},
            check=True,
            capture_output=True,
            timeout=300,
        )

    def pid(self, service: str) -> int:
        run = Path(self.stack_env["HEATWATCH_STACK_DIR"]) / "run"
        return int((run / f"{service}.pid").read_text())


@pytest.fixture(scope="module")
def private_stack(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """A Kafka and an InfluxDB of our own, to restart and pause (never the shared ones), in
    the security mode of the configured stack; its settings (generated credentials and
    tokens: the admin ones) come from the stack.env its ``up`` writes."""
    state = tmp_path_factory.mktemp("private-stack")
    variables = {
        "HEATWATCH_STACK_DIR": str(state),
        "HEATWATCH_STACK_SECURITY": "sasl_ssl" if stack.secured else "plaintext",
        "HEATWATCH_KAFKA_PORT": str(free_port()),
        "HEATWATCH_KAFKA_CONTROLLER_PORT": str(free_port()),
        "HEATWATCH_INFLUX_PORT": str(free_port()),
    }
    starter = Target("", "", "", "", variables)
    try:
        starter.stack_sh("up")
        settings = _settings_from(_read_env_file(state / "stack.env"))
        assert settings is not None, f"the private stack wrote no usable {state}/stack.env"
        assert settings.secured == stack.secured
        yield Target.of(settings, variables)
    finally:
        starter.stack_sh("down")
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def shared_stack(stack: StackSettings) -> Target:
    return Target.of(stack)


# --- one run: topics, bucket, workers, producer, timings -----------------------------------
class Run:
    def __init__(self, target: Target, want: Expected, tmp_path: Path, name: str) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        tag = f"hw-fault-{name}-{uuid.uuid4().hex[:6]}"
        self.target, self.want, self.tmp = target, want, tmp_path
        self.admin = KafkaAdminClient(
            bootstrap_servers=target.bootstrap, client_id="hw-faults", **target.kafka_options()
        )
        self.admin.create_topics(
            [
                NewTopic(f"{tag}-telemetry", PARTITIONS, 1),
                NewTopic(f"{tag}-dead", 1, 1),
                NewTopic(f"{tag}-incidents", 2, 1),
            ],
            timeout_ms=30_000,
        )
        self.tag = tag
        with self._influx() as client:
            client.buckets_api().create_bucket(bucket_name=tag, org=target.influx_org)
        self.env = PipelineEnv(
            bootstrap=target.bootstrap,
            influx_url=target.influx_url,
            influx_token=target.influx_token,
            influx_org=target.influx_org,
            bucket=tag,
            topic=f"{tag}-telemetry",
            dead_topic=f"{tag}-dead",
            incident_topic=f"{tag}-incidents",
            partitions=PARTITIONS,
            app_id=f"{tag}-app",
            registry=want.sim / "registry.csv",
            data_dir=tmp_path / "data",
            # the target's Kafka and credentials, not those the session exported for the
            # shared stack
            extra=dict(target.kafka_env),
            kafka_options=target.kafka_options(),
        )
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.producer: threading.Thread | None = None
        self.produce_error: BaseException | None = None
        self.gates: list[tuple[int, threading.Event]] = []
        self.arrived: list[threading.Event] = []
        self.timings: dict[str, float] = {}
        self.t0 = time.monotonic()

    def _influx(self) -> Any:
        from influxdb_client.client.influxdb_client import InfluxDBClient

        t = self.target
        return InfluxDBClient(url=t.influx_url, token=t.influx_token, org=t.influx_org)

    # workers
    def start(self, name: str) -> None:
        self.workers[name] = self.env.start_worker(name, self.tmp)
        print(f"{time.monotonic() - self.t0:6.1f} s: started {name}, pid {self.workers[name].pid}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.workers.pop(name)
        stop(proc, sig)
        print(f"{time.monotonic() - self.t0:6.1f} s: {name} (pid {proc.pid}) stopped by {sig}")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    # the input, produced in the background at RATE
    def produce(self, rate: float = RATE, gates: tuple[float, ...] = ()) -> None:
        """``gates``: shares of the input at which the producer waits until ``release()``
        (one per fault): on a loaded machine the worker may commit so slowly that the
        whole input is produced before the fault ("the stream ended before the fault").
        A gate keeps the rest of the input for after the fault, whatever the speeds."""
        registry, _ = load_registry_csv(self.want.sim / "registry.csv")
        self.gates = [(int(share * self.want.records), threading.Event()) for share in gates]
        self.arrived = [threading.Event() for _ in gates]
        gates_left = list(self.gates)

        def gated(lines: Any) -> Any:
            for n, raw in enumerate(lines):
                while gates_left and n >= gates_left[0][0]:
                    at, event = gates_left.pop(0)
                    print(f"{time.monotonic() - self.t0:6.1f} s: producer waits at line {at}")
                    self.arrived[len(self.gates) - len(gates_left) - 1].set()
                    event.wait(300)
                yield raw

        def send() -> None:
            producer = make_producer(
                self.env.bootstrap,
                retries=1_000_000,
                retry_backoff_ms=300,
                delivery_timeout_ms=300_000,
                max_block_ms=300_000,
                max_in_flight_requests_per_connection=1,
                **self.target.kafka_options(),
            )
            try:
                produce(
                    producer,
                    self.env.topic,
                    gated(jsonl_lines(self.want.sim / "readings.jsonl")),
                    router=Router(registry),
                    rate=rate,
                )
            except BaseException as exc:  # reported by finish()
                self.produce_error = exc
            finally:
                producer.close()

        self.producer = threading.Thread(target=send, daemon=True)
        self.producer.start()

    def release(self) -> None:
        """Let the producer past its next gate (the fault has struck)."""
        for _, event in self.gates:
            if not event.is_set():
                event.set()
                return

    @property
    def producing(self) -> bool:
        return self.producer is not None and self.producer.is_alive()

    def records_at_gate(self, i: int, timeout: float = 300) -> int:
        """The Kafka records in the topic once the producer waits at gate ``i``. Floors are
        shares of it, not of the input lines: produce groups one key's readings of an instant
        into one record, so records are fewer than lines by a share that depends on the fleet."""
        assert self.arrived[i].wait(timeout), f"the producer never reached gate {i}"
        time.sleep(1)  # the records before the gate, acknowledged (acks=all, in flight)
        return sum(self.end_offsets().values())

    def committed(self) -> int:
        return sum(offsets(self.env)[1].values())

    def end_offsets(self) -> dict[int, int]:
        return offsets(self.env)[0]

    def wait_committed_beyond(self, floor: int, timeout: float = 60) -> int:
        """Wait for the group's committed offsets to pass ``floor`` (progress)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.committed()
            if done > floor:
                return done
            self._check_workers()
            time.sleep(0.3)
        raise AssertionError(f"no committed progress beyond {floor} in {timeout} s")

    def _check_workers(self) -> None:
        for name, proc in self.workers.items():
            if proc.poll() is not None:
                raise AssertionError(f"worker {name} exited with {proc.returncode}")

    def finish(self, fault_at: float) -> None:
        """Producer done, then lag 0 within the bound; timings recorded from ``fault_at``."""
        assert self.producer is not None
        assert all(event.is_set() for _, event in self.gates), "a gate was never released"
        self.producer.join(timeout=300)
        assert self.produce_error is None, self.produce_error
        deadline = time.monotonic() + LAG_ZERO_S
        lag: dict[int, int] = {}
        while time.monotonic() < deadline:
            lag = committed_lag(self.env)
            if not any(lag.values()):
                self.timings["fault_to_lag_zero_s"] = round(time.monotonic() - fault_at, 1)
                return
            self._check_workers()
            time.sleep(0.5)
        raise AssertionError(f"committed lag did not reach 0 in {LAG_ZERO_S} s: {lag}")

    def assert_no_false_outage(self) -> None:
        """The shared broker was never down: no worker may have declared a Kafka outage (a
        busy machine used to make it log one and then hold the release for 40 s)."""
        for log in self.tmp.glob("*.log"):
            text = log.read_text(errors="replace")
            assert "outage started" not in text, f"{log.name}: a false Kafka outage"

    def assert_same_as_replay(self, fault_at: float, within: float = 30) -> None:
        assert_same_as_replay(self.env, self.want, within)
        self.timings["fault_to_results_complete_s"] = round(time.monotonic() - fault_at, 1)

    def record(self, test: str, basetemp: Path) -> None:
        line = {"test": test, **self.timings}
        print("fault timings:", line)
        with (basetemp / "fault_timings.jsonl").open("ab") as fh:
            fh.write(orjson.dumps(line) + b"\n")

    def close(self) -> None:
        for _, event in self.gates:
            event.set()  # a test that failed before its fault must not leave it waiting
        for name in list(self.workers):
            self.kill(name, signal.SIGTERM)
        if self.producer is not None:
            self.producer.join(timeout=300)
        try:
            names = [t for t in self.admin.list_topics() if t.startswith(self.tag)]
            if names:
                self.admin.delete_topics(names, timeout_ms=30_000)
            with self._influx() as client:
                api = client.buckets_api()
                bucket = api.find_bucket_by_name(self.tag)
                if bucket is not None:
                    api.delete_bucket(bucket)
        finally:
            self.admin.close()


@pytest.fixture
def run_on(expected: Expected, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    runs: list[Run] = []

    def make(target: Target) -> Run:
        run = Run(target, expected, tmp_path, request.node.name[5:25].replace("_", "-"))
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.record(request.node.name, tmp_path.parent.parent)
        run.close()


def _restart_after_progress(run: Run, name: str, sig: int, floor: int) -> tuple[int, float]:
    """Wait for committed progress beyond ``floor`` while the producer still runs, then stop
    the worker with ``sig`` and start it again (same name: same data directory)."""
    done = run.wait_committed_beyond(floor)
    # The producer waits at its gate with the rest of the input: the fault lands mid-stream
    # whether or not the worker has caught up with the records before the gate (it now often
    # has: it is fast, and produce groups lines into fewer records).
    assert run.producing, "the stream ended before the fault: produce more slowly"
    run.kill(name, sig)
    fault_at = time.monotonic()
    run.release()  # the rest of the input comes while the worker restarts
    done = run.committed()  # what the stopped worker committed (a SIGTERM commits on exit)
    run.start(name)
    return done, fault_at


def _progress_after(run: Run, done: int, fault_at: float, key: str) -> None:
    run.wait_committed_beyond(done, timeout=90)
    run.timings[key] = round(time.monotonic() - fault_at, 1)


# --- the faults ---------------------------------------------------------------------------
def test_no_fault(shared_stack: Target, run_on: Any, expected: Expected) -> None:
    """The reference: the same comparison without a fault."""
    run: Run = run_on(shared_stack)
    run.start("w")
    run.produce()
    started = time.monotonic()
    run.finish(started)
    run.assert_same_as_replay(started)
    run.assert_no_false_outage()


@pytest.mark.slow
def test_kill_9_twice_mid_stream(shared_stack: Target, run_on: Any, expected: Expected) -> None:
    run: Run = run_on(shared_stack)
    run.start("w")
    run.produce(gates=(0.5, 0.8))
    floor = run.records_at_gate(0) * 2 // 5
    done, fault_at = _restart_after_progress(run, "w", signal.SIGKILL, floor)
    _progress_after(run, done, fault_at, "first_kill_to_progress_s")
    floor = max(done, run.records_at_gate(1) // 2)
    done, fault_at = _restart_after_progress(run, "w", signal.SIGKILL, floor)
    _progress_after(run, done, fault_at, "second_kill_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)
    assert "restoring checkpoint at offset" in run.log("w")
    run.assert_no_false_outage()


@pytest.mark.slow
def test_sigterm_restart(shared_stack: Target, run_on: Any, expected: Expected) -> None:
    run: Run = run_on(shared_stack)
    run.start("w")
    run.produce(gates=(0.6,))
    floor = run.records_at_gate(0) // 2
    done, fault_at = _restart_after_progress(run, "w", signal.SIGTERM, floor)
    _progress_after(run, done, fault_at, "restart_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)
    assert "restoring checkpoint at offset" in run.log("w")


@pytest.mark.slow
def test_one_of_two_workers_killed(shared_stack: Target, run_on: Any, expected: Expected) -> None:
    run: Run = run_on(shared_stack)
    run.start("wa")
    run.start("wb")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        "rebalance: assigned telemetry partitions" in run.log(n) for n in ("wa", "wb")
    ):
        time.sleep(0.5)
    run.produce(gates=(0.5,))
    done = run.wait_committed_beyond(0)
    assert run.producing
    run.kill("wb", signal.SIGKILL)
    fault_at = time.monotonic()
    run.release()
    done = run.committed()
    _progress_after(run, done, fault_at, "kill_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)


@pytest.mark.slow
def test_broker_restart(private_stack: Target, run_on: Any, expected: Expected) -> None:
    """Kafka down longer than the idle release: nothing may be released as 'quiet'."""
    run: Run = run_on(private_stack)
    run.start("w")
    run.produce(BROKER_RESTART_RATE, gates=(0.6,))
    done = run.wait_committed_beyond(0)
    assert run.producing
    private_stack.stack_sh("down", "kafka")
    fault_at = time.monotonic()
    run.release()  # the producer's backlog builds up during the outage, as in production
    time.sleep(12)  # 4x HEATWATCH_WORKER_IDLE_RELEASE_S of the tests
    private_stack.stack_sh("up", "kafka")
    run.timings["broker_down_s"] = round(time.monotonic() - fault_at, 1)
    _progress_after(run, done, fault_at, "broker_down_to_progress_s")
    run.finish(fault_at)
    # the tail is released once the stall hold has run out: 1.5 x the stall (~18 s), capped
    # at 40 s, after the broker is back (docs/production-path.md, "Idle release")
    run.assert_same_as_replay(fault_at, within=60)


@pytest.mark.slow
def test_influxdb_paused(private_stack: Target, run_on: Any, expected: Expected) -> None:
    """InfluxDB frozen (SIGSTOP) for 20 s: no offset moves past unwritten results."""
    run: Run = run_on(private_stack)
    run.start("w")
    run.produce(gates=(0.5,))
    run.wait_committed_beyond(0)
    pid = private_stack.pid("influxd")
    os.kill(pid, signal.SIGSTOP)
    fault_at = time.monotonic()
    run.release()
    try:
        time.sleep(5)  # commit points in flight settle; from now on nothing may be committed
        frozen = run.committed()
        time.sleep(15)
        assert run.committed() == frozen, "offsets committed while InfluxDB was down"
    finally:
        os.kill(pid, signal.SIGCONT)
    run.timings["influx_paused_s"] = round(time.monotonic() - fault_at, 1)
    _progress_after(run, frozen, fault_at, "influx_pause_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)


@pytest.mark.slow
def test_a_worker_joins_then_dies(shared_stack: Target, run_on: Any, expected: Expected) -> None:
    """A second worker joins mid-stream (a rebalance moves partitions to it), restores them,
    and is killed -9: the first takes them back from the checkpoints it wrote."""
    run: Run = run_on(shared_stack)
    run.start("wa")
    # two gates: a worker faster than the producer's first 40% is caught up and idle when
    # the second joins, so the input between the gates is what both then work on
    run.produce(gates=(0.4, 0.6))
    run.wait_committed_beyond(expected.records // 10)
    run.start("wb")
    deadline = time.monotonic() + 60
    while "rebalance: assigned telemetry partitions" not in run.log("wb"):
        assert time.monotonic() < deadline, "the second worker never got partitions"
        time.sleep(0.3)
    before = run.committed()
    run.release()  # the first gate: records for both workers
    done = run.wait_committed_beyond(before)  # both working
    assert run.producing
    run.kill("wb", signal.SIGKILL)
    fault_at = time.monotonic()
    run.release()
    _progress_after(run, max(done, run.committed()), fault_at, "kill_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)


@pytest.mark.slow
def test_influxdb_killed_and_restarted(
    private_stack: Target, run_on: Any, expected: Expected
) -> None:
    """InfluxDB stopped for 15 s (its data kept): writes retry, no offset moves past them."""
    run: Run = run_on(private_stack)
    run.start("w")
    run.produce(gates=(0.5,))
    run.wait_committed_beyond(expected.records // 10)
    private_stack.stack_sh("down", "influxdb")
    fault_at = time.monotonic()
    run.release()
    time.sleep(5)
    frozen = run.committed()
    time.sleep(10)
    assert run.committed() == frozen, "offsets committed while InfluxDB was down"
    private_stack.stack_sh("up", "influxdb")
    run.timings["influx_down_s"] = round(time.monotonic() - fault_at, 1)
    _progress_after(run, frozen, fault_at, "influx_down_to_progress_s")
    run.finish(fault_at)
    run.assert_same_as_replay(fault_at)


def test_refuses_to_start_empty_behind_a_committed_offset(
    shared_stack: Target, run_on: Any, expected: Expected
) -> None:
    """The checkpoint topic is lost (deleted) but the group has committed: the restarted
    worker must say so and exit, not start empty at the committed offset."""
    run: Run = run_on(shared_stack)
    run.start("w")
    run.produce()
    run.wait_committed_beyond(expected.records // 10)
    run.kill("w", signal.SIGTERM)
    checkpoints = f"{run.env.app_id}-engine-checkpoints"
    run.admin.delete_topics([checkpoints], timeout_ms=30_000)
    deadline = time.monotonic() + 60
    while checkpoints in run.admin.list_topics():  # deleted, not only asked to be
        assert time.monotonic() < deadline, "the checkpoint topic was not deleted"
        time.sleep(0.2)
    run.start("w")
    proc = run.workers["w"]
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker started although its checkpoints are gone")
    finally:
        run.workers.pop("w")
    assert proc.returncode != 0
    log = run.log("w")
    assert "CRITICAL" in log and "refusing to start it empty" in log
