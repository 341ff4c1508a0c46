"""Production path on the real stack: simulator → Kafka → Faust worker(s) → InfluxDB."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from formats.registry_csv import load_registry_csv
from producers.kafka_producer import Router, jsonl_lines, make_producer, produce
from producers.scoring import score
from producers.simulate import SimulationConfig, simulate
from tests.integration.pipeline_support import (
    PipelineEnv,
    committed_lag,
    committed_offsets,
    count_in_influx,
    dead_letters,
    incidents_in_influx,
    stop,
    wait_for_lag_zero,
)

PARTITIONS = 4


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(households=600, days=2, batches=True, faults=True), out)
    return out


_APP_IDS: list[str] = []


@pytest.fixture(autouse=True)
def _delete_app_topics(stack: Any) -> Any:
    """Faust's own topics (``<app_id>-__assignor-__leader``, ``<app_id>-checkpoints-changelog``)
    are not the topic factory's: delete them after each test."""
    yield
    if not _APP_IDS:
        return
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, client_id="hw-it-admin", **stack.kafka_options()
    )
    try:
        names = [t for t in admin.list_topics() if t.startswith(tuple(f"{a}-" for a in _APP_IDS))]
        if names:
            admin.delete_topics(names, timeout_ms=30_000)
    finally:
        admin.close()
        _APP_IDS.clear()


def _env(
    stack: Any,
    sim: Path,
    tmp_path: Path,
    topics: Callable[..., str],
    buckets: Callable[[], str],
    partitions: int = PARTITIONS,
) -> PipelineEnv:
    topic = topics(partitions)
    _APP_IDS.append(f"{topic}-app")
    return PipelineEnv(
        bootstrap=stack.kafka_bootstrap,
        influx_url=stack.influx_url,
        influx_token=stack.influx_token,
        influx_org=stack.influx_org,
        bucket=buckets(),
        topic=topic,
        dead_topic=topics(1),
        incident_topic=topics(2),
        partitions=partitions,
        app_id=f"{topic}-app",
        registry=sim / "registry.csv",
        data_dir=tmp_path / "data",
        kafka_options=stack.kafka_options(),
    )


def _produce(
    env: PipelineEnv,
    sim: Path,
    rate: float = 0.0,
    gate: tuple[int, threading.Event] | None = None,
) -> int:
    """``gate``: (line, event) — the producer waits before that line until the event is set
    (the rest of the input is kept for after a fault, whatever the machine's speed)."""
    registry, _ = load_registry_csv(sim / "registry.csv")
    producer = make_producer(env.bootstrap, **env.kafka_options)

    def gated(lines: Any) -> Any:
        for n, raw in enumerate(lines):
            if gate is not None and n == gate[0]:
                gate[1].wait(300)
            yield raw

    try:
        stats = produce(
            producer,
            env.topic,
            gated(jsonl_lines(sim / "readings.jsonl")),
            router=Router(registry),
            rate=rate,
        )
    finally:
        producer.close()
    return stats.readings


def _assert_scored(env: PipelineEnv, sim: Path) -> set[str]:
    incidents = incidents_in_influx(env)
    dead = dead_letters(env)
    result = score(incidents, sim / "ground_truth.jsonl", {d["line_no"] for d in dead})
    assert not result.missed, result.missed
    assert not result.wrong_parent, result.wrong_parent
    assert not result.unexpected, [(i.kind, i.entity_id) for i in result.unexpected]
    assert not result.malformed_missed, result.malformed_missed
    return {i.incident_id for i in incidents}


def _scored_within(env: PipelineEnv, sim: Path, within: float = 60) -> set[str]:
    """Lag 0 means every record is in a checkpoint; the results of the tail follow (idle
    release, the sink's last write): retry the comparison until it holds or ``within`` s
    pass, instead of sleeping a fixed time (too short on a loaded machine)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return _assert_scored(env, sim)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _wait_for_log(tmp_path: Path, names: tuple[str, ...], text: str, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while not all(text in (tmp_path / f"{n}.log").read_text(errors="replace") for n in names):
        assert time.monotonic() < deadline, f"{names}: no {text!r} in {within} s"
        time.sleep(0.3)


def test_end_to_end_every_fault_found(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    _produce(env, sim)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 120, [worker])
        ids = _scored_within(env, sim)
        assert ids
        assert count_in_influx(env, "household_day") > 0
        assert count_in_influx(env, "active_incidents") > 0
        assert count_in_influx(env, "worker") > 0
    finally:
        stop(worker)


def test_kill_9_and_restart_gives_the_same_incidents(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    # The kill must land mid-stream: after the worker has committed (checkpointed) some
    # records and while the producer is still sending the rest. Waiting on those two
    # conditions, not on a fixed sleep, keeps the test valid however fast the worker is.
    # The producer waits at half the input until the kill: on a loaded machine the worker
    # may start and commit so slowly that the whole input was sent before it committed.
    worker = env.start_worker("w1", tmp_path)
    lines = sum(1 for _ in (sim / "readings.jsonl").open("rb"))
    released = threading.Event()
    producer = threading.Thread(
        target=_produce, args=(env, sim), kwargs={"rate": 3_000, "gate": (lines // 2, released)}
    )
    try:
        producer.start()
        deadline = time.monotonic() + 180
        committed = 0
        while time.monotonic() < deadline and producer.is_alive():
            committed = sum(committed_offsets(env).values())
            if committed > 0:
                break
            time.sleep(0.2)
        mid_stream = producer.is_alive()
        stop(worker, signal.SIGKILL)
        released.set()
        assert committed > 0, "the worker committed nothing before the kill"
        assert mid_stream, "the stream ended before the kill: produce more slowly"
        producer.join()
        worker = env.start_worker("w2", tmp_path)
        wait_for_lag_zero(env, 120, [worker])
        want = _replay_ids(sim, tmp_path)
        assert _same_ids_within(env, sim, want) == want
    finally:
        released.set()
        stop(worker)
        producer.join()


def _same_ids_within(env: PipelineEnv, sim: Path, want: set[str], within: float = 60) -> set[str]:
    """The worker's incident ids once they equal ``want`` (or the last ones after ``within``)."""
    deadline = time.monotonic() + within
    while True:
        try:
            got = _assert_scored(env, sim)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            got = set()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(1)


def _replay_ids(sim: Path, tmp_path: Path) -> set[str]:
    import orjson

    from streams.embedded import replay

    registry, _ = load_registry_csv(sim / "registry.csv")
    replay(registry, sim / "readings.jsonl", tmp_path / "replay")
    lines = (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    return {orjson.loads(x)["incident_id"] for x in lines}


def test_two_workers_one_leaves_the_other_takes_over(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    a = env.start_worker("wa", tmp_path)
    b = env.start_worker("wb", tmp_path)
    try:
        # both joined: partitions split (a condition, not 12 s: a loaded machine is slower)
        _wait_for_log(tmp_path, ("wa", "wb"), "assigned telemetry partitions")
        _produce(env, sim, rate=30_000)
        stop(b)  # graceful leave mid-stream
        wait_for_lag_zero(env, 120, [a])
        want = _replay_ids(sim, tmp_path)
        assert _same_ids_within(env, sim, want) == want
        log_a = (tmp_path / "wa.log").read_text(errors="replace")
        log_b = (tmp_path / "wb.log").read_text(errors="replace")
        assert "assigned telemetry partitions" in log_a and "assigned telemetry partitions" in log_b
    finally:
        stop(a)
        stop(b)


def test_influx_unavailable_mid_run_nothing_lost(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    import os

    stack_dir = Path(
        os.environ.get("HEATWATCH_STACK_DIR", Path(__file__).resolve().parents[2] / ".stack")
    )
    pid = int((stack_dir / "run" / "influxd.pid").read_text())
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory)
    env.extra["HEATWATCH_INFLUX_TIMEOUT_MS"] = "2000"
    worker = env.start_worker("w1", tmp_path)
    try:
        _wait_for_log(tmp_path, ("w1",), "assigned telemetry partitions")
        os.kill(pid, signal.SIGSTOP)
        try:
            _produce(env, sim)
            time.sleep(10)
            lag = committed_lag(env)
            assert sum(lag.values()) > 0, "offsets were committed while InfluxDB was down"
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for_lag_zero(env, 120, [worker])
        want = _replay_ids(sim, tmp_path)
        assert _same_ids_within(env, sim, want) == want
    finally:
        stop(worker)
