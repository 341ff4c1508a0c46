"""The ingest bridge (``heatwatch ingest``) against the real Kafka, one fault at a time.

Each test publishes simulator readings (one per line) through the bridge into a topic of
its own and then reads the whole topic back: every input line must be in Kafka — exactly its
bytes, weather once per partition — and the duplicates are counted (the fault matrix in
docs/production-path.md, "Ingest bridge"). Waits are for conditions (the journal's
acknowledged lines, the process's exit), never for a fixed time, except the length of a
fault itself. Results compared with the replay: tests/integration/test_faults.py
(``test_bridge_killed_mid_file``, ``test_produce_rerun``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

from producers.simulate import SimulationConfig, simulate
from streams.records import split_grouped
from tests.integration.test_faults import (
    RATE,
    Expected,
    Run,
    Target,
    expected,
    private_stack,
    run_on,
    shared_stack,
)

__all__ = ["expected", "private_stack", "run_on", "shared_stack"]  # fixtures

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 4
BOUND_S = 180  # a condition not met in this long is a failure (a loaded machine is slow)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bridge-sim")
    simulate(SimulationConfig(households=400, days=3, batches=False, faults=True), out)
    return out


def _input_lines(path: Path) -> dict[int, bytes]:
    return {n: x.strip() for n, x in enumerate(path.read_bytes().split(b"\n"), 1) if x.strip()}


@dataclass
class Topic:
    target: Target
    name: str

    def records(self) -> list[tuple[int, str, int, bytes]]:
        """Every record: (partition, file header, line header, value)."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.target.bootstrap,
            enable_auto_commit=False,
            **self.target.kafka_options(),
        )
        try:
            tps = [TopicPartition(self.name, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            out: list[tuple[int, str, int, bytes]] = []
            deadline = time.monotonic() + BOUND_S
            while any(consumer.position(tp) < end[tp] for tp in tps):
                assert time.monotonic() < deadline, "could not read the topic back"
                for tp, batch in consumer.poll(timeout_ms=1000).items():
                    for r in batch:
                        h = dict(r.headers)
                        name = h.get("file", b"").decode()  # produce: no file header
                        if "lines" in h:  # produce grouped single readings of one instant
                            pieces = split_grouped(r.value, h["lines"])
                            assert pieces is not None, f"a grouped record unlike its header: {h}"
                            out += [(tp.partition, name, n, line) for n, line in pieces]
                            continue
                        out.append((tp.partition, name, int(h["line"]), r.value))
            return out
        finally:
            consumer.close()


@pytest.fixture
def topic(shared_stack: Target) -> Iterator[Topic]:
    yield from _topic(shared_stack)


@pytest.fixture
def private_topic(private_stack: Target) -> Iterator[Topic]:
    yield from _topic(private_stack)


def _topic(target: Target) -> Iterator[Topic]:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    name = f"heatwatch.telemetry.bridge-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=target.bootstrap, **target.kafka_options())
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1)], timeout_ms=30_000)
    finally:
        admin.close()
    yield Topic(target, name)
    _delete_topic(target, name)


def _delete_topic(target: Target, name: str) -> None:
    """With a new admin client, until the broker answers: a test may have restarted it, and
    the client that created the topic lost its connection then (NodeNotReadyError)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError, UnknownTopicOrPartitionError

    deadline = time.monotonic() + 120
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=target.bootstrap, **target.kafka_options())
            try:
                admin.delete_topics([name], timeout_ms=30_000)
            finally:
                admin.close()
            return
        except UnknownTopicOrPartitionError:
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)  # back-off between attempts; the condition is the broker answering


@dataclass
class Matrix:
    """One row of the fault matrix."""

    lines: int  # input lines
    records: int  # records in Kafka
    missing: list[int]
    duplicates: int
    wrong: list[int]  # lines whose bytes in Kafka differ from the input's

    def row(self) -> dict[str, Any]:
        return {
            "lines in": self.lines,
            "records in Kafka": self.records,
            "missing": len(self.missing),
            "duplicates": self.duplicates,
            "altered": len(self.wrong),
        }


def matrix(topic: Topic, files: dict[str, dict[int, bytes]]) -> Matrix:
    """Compare the topic with the input files: weather lines go to every partition."""
    got = topic.records()
    count: Counter[tuple[str, int, int | None]] = Counter()
    wrong: list[int] = []
    for partition, name, line, value in got:
        want = files.get(name, {}).get(line)
        if want != value:
            wrong.append(line)
        weather = b'"kind":"weather"' in value
        count[(name, line, partition if weather else None)] += 1
    missing = []
    for name, lines in files.items():
        for n, value in lines.items():
            if b'"kind":"weather"' in value:
                missing += [n for p in range(PARTITIONS) if (name, n, p) not in count]
            elif (name, n, None) not in count:
                missing.append(n)
    result = Matrix(
        lines=sum(len(v) for v in files.values()),
        records=len(got),
        missing=missing,
        duplicates=sum(c - 1 for c in count.values()),
        wrong=wrong,
    )
    print("bridge fault matrix row:", result.row())
    return result


class BridgeProcess:
    """``heatwatch ingest`` as its own process (so it can be killed -9)."""

    def __init__(self, target: Target, topic: str, work: Path, registry: Path) -> None:
        self.target, self.topic, self.work, self.registry = target, topic, work, registry
        self.drop = work / "drop"
        self.state = work / "state"
        self.drop.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work / "bridge.log"

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **self.target.kafka_env,
            "PYTHONPATH": str(REPO),
            "HEATWATCH_KAFKA_BOOTSTRAP": self.target.bootstrap,
            "HEATWATCH_KAFKA_TELEMETRY_TOPIC": self.topic,
            "HEATWATCH_KAFKA_PARTITIONS": str(PARTITIONS),
        }
        env.pop("HEATWATCH_INFLUX_TOKEN", None)  # heartbeat file only
        cmd = [sys.executable, "-m", "heatwatch.cli.main", "--lang", "en", "ingest"]
        cmd += ["--watch", str(self.drop), "--state", str(self.state), "--http", "off"]
        cmd += ["--registry", str(self.registry), "--quiet-s", "0.5", "--heartbeat-s", "1"]
        self.proc = subprocess.Popen(
            [*cmd, *extra], env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        return self.proc

    def journal(self) -> list[dict[str, Any]]:
        path = self.state / "journal.jsonl"
        if not path.exists():
            return []
        out = []
        for raw in path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):  # a torn last entry
                out.append(orjson.loads(raw))
        return out

    def acked(self, name: str) -> int:
        upto = [e.get("upto", e.get("lines", 0)) for e in self.journal() if e.get("name") == name]
        return max(upto, default=0)

    def done(self, name: str) -> bool:
        return any(e["ev"] == "done" and e["name"] == name for e in self.journal())

    def wait_until(self, what: str, cond: Callable[[], bool]) -> None:
        deadline = time.monotonic() + BOUND_S
        while not cond():
            assert self.proc is not None
            if self.proc.poll() is not None and not cond():
                raise AssertionError(f"bridge exited {self.proc.returncode} before {what}")
            assert time.monotonic() < deadline, f"not within {BOUND_S} s: {what}"
            time.sleep(0.1)

    def finish(self) -> None:
        """Wait for a ``--once`` run to exit 0."""
        assert self.proc is not None
        code = self.proc.wait(timeout=BOUND_S)
        assert code == 0, self.log.read_text(errors="replace")[-3000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)

    def status(self) -> dict[str, Any]:
        return dict(orjson.loads((self.state / "heartbeat.json").read_bytes()))


@pytest.fixture
def bridge_on(sim: Path, tmp_path: Path) -> Iterator[Callable[[Target, str], BridgeProcess]]:
    made: list[BridgeProcess] = []

    def make(target: Target, topic: str) -> BridgeProcess:
        b = BridgeProcess(target, topic, tmp_path / f"b{len(made)}", sim / "registry.csv")
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop(signal.SIGKILL)


def _drop(b: BridgeProcess, sim: Path, name: str) -> None:
    """Deliver a file as an uploader should: a temporary name, renamed when complete."""
    tmp = b.drop / f"{name}.part"
    shutil.copy(sim / "readings.jsonl", tmp)
    tmp.rename(b.drop / name)


def test_no_fault_and_a_redelivered_file(sim: Path, topic: Topic, bridge_on: Any) -> None:
    """Every line once; the same content delivered again under another name adds nothing."""
    b: BridgeProcess = bridge_on(topic.target, topic.name)
    _drop(b, sim, "day-1.jsonl")
    started = time.monotonic()
    b.start("--once")
    b.finish()
    seconds = time.monotonic() - started
    want = {"day-1.jsonl": _input_lines(sim / "readings.jsonl")}
    m = matrix(topic, want)
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])
    print(f"bridge: {m.records} records in {seconds:.1f} s (process start included)")
    _drop(b, sim, "day-1-again.jsonl")
    b.start("--once")
    b.finish()
    assert matrix(topic, want).records == m.records
    assert b.status()["sources"]["drop"]["files_redelivered"] == 1


def test_bridge_killed_9_mid_file(sim: Path, topic: Topic, bridge_on: Any) -> None:
    """kill -9 with a fifth of the file acknowledged: the restart re-sends only what the
    journal had not recorded as acknowledged."""
    b: BridgeProcess = bridge_on(topic.target, topic.name)
    want = {"a.jsonl": _input_lines(sim / "readings.jsonl")}
    total = max(want["a.jsonl"])
    _drop(b, sim, "a.jsonl")
    b.start("--rate", "8000")  # the kill must land mid-file on a fast machine too
    b.wait_until("a fifth acknowledged", lambda: b.acked("a.jsonl") >= total // 5)
    b.stop(signal.SIGKILL)
    assert not b.done("a.jsonl"), "the file was done before the kill: raise the size"
    journaled = b.acked("a.jsonl")
    b.start("--once")
    b.finish()
    m = matrix(topic, want)
    assert (m.missing, m.wrong) == ([], [])
    # re-sent at most: the lines after the journaled frontier that had reached Kafka
    assert m.duplicates <= total - journaled
    print(f"kill -9 at line {journaled} of {total}: {m.duplicates} duplicates")


def test_broker_restart_mid_file(
    sim: Path, private_stack: Target, private_topic: Topic, bridge_on: Any
) -> None:
    """Kafka stopped with the file partly published, started again 10 s later: the bridge
    waits (back-pressure), loses nothing, and the idempotent producer writes no duplicate."""
    b: BridgeProcess = bridge_on(private_stack, private_topic.name)
    want = {"a.jsonl": _input_lines(sim / "readings.jsonl")}
    total = max(want["a.jsonl"])
    _drop(b, sim, "a.jsonl")
    b.start("--once", "--rate", "8000")
    b.wait_until("a fifth acknowledged", lambda: b.acked("a.jsonl") >= total // 5)
    private_stack.stack_sh("down", "kafka")
    down_at = time.monotonic()
    try:
        assert not b.done("a.jsonl"), "the file was done before the fault"
        time.sleep(10)  # the fault's length
        assert b.proc is not None and b.proc.poll() is None, "the bridge gave up"
        assert not b.done("a.jsonl")
    finally:
        private_stack.stack_sh("up", "kafka")
    b.finish()
    print(f"broker down: the file was done {time.monotonic() - down_at:.1f} s after the stop")
    m = matrix(private_topic, want)
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])


def test_a_file_growing_while_read(sim: Path, topic: Topic, bridge_on: Any) -> None:
    """An export written in place in bursts, pauses longer than the quiet period, some cut
    mid-line: each line arrives once and whole."""
    b: BridgeProcess = bridge_on(topic.target, topic.name)
    data = (sim / "readings.jsonl").read_bytes()[:2_000_000]
    data = data[: data.rfind(b"\n") + 1]
    want = {"grow.jsonl": _input_lines_bytes(data)}
    b.start("--tail-quiet-s", "5")
    b.wait_until("the bridge's first heartbeat", (b.state / "heartbeat.json").exists)
    path = b.drop / "grow.jsonl"
    pieces = 12
    cuts = [0] + [(i + 1) * (len(data) // pieces) + 17 for i in range(pieces - 1)] + [len(data)]
    with path.open("wb") as fh:
        for i in range(pieces):
            fh.write(data[cuts[i] : cuts[i + 1]])  # most cuts fall mid-line
            fh.flush()
            time.sleep(1.5 if i % 3 else 0.1)  # longer than --quiet-s 0.5: taken meanwhile
    last = max(want["grow.jsonl"])
    b.wait_until("the whole file acknowledged", lambda: b.acked("grow.jsonl") >= last)
    b.wait_until("nothing pending", lambda: b.status()["pending"] == 0)
    b.stop()
    m = matrix(topic, want)
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])
    begins = [e for e in b.journal() if e["ev"] == "begin"]
    print(f"growing file taken in {len(begins)} versions")
    assert len(begins) > 1, "the file was never taken while it grew"


def _input_lines_bytes(data: bytes) -> dict[int, bytes]:
    return {n: x.strip() for n, x in enumerate(data.split(b"\n"), 1) if x.strip()}


class FullDisk:
    """Opens the journal for appending; writes fail with ENOSPC while ``full``."""

    def __init__(self) -> None:
        self.full = False
        self.failures = 0

    def __call__(self, path: Path) -> IO[bytes]:
        disk = self
        fh = path.open("ab")

        class Handle:
            def write(self, data: bytes) -> int:
                if disk.full:
                    disk.failures += 1
                    raise OSError(28, "No space left on device")
                return fh.write(data)

            def flush(self) -> None:
                fh.flush()

            def fileno(self) -> int:
                return fh.fileno()

            def close(self) -> None:
                fh.close()

            def __enter__(self) -> Handle:
                return self

            def __exit__(self, *a: object) -> None:
                fh.close()

        return Handle()  # type: ignore[return-value]


def test_journal_disk_full(sim: Path, topic: Topic, tmp_path: Path) -> None:
    """The journal's disk fills mid-file (an injected ENOSPC: a tiny filesystem needs root
    mounts): intake stops, what is in flight is delivered, nothing is marked done; when
    space is back the file finishes, and a second file dropped meanwhile follows."""
    from formats.registry_csv import load_registry_csv
    from producers.bridge.drop import DropFolder
    from producers.bridge.journal import Journal
    from producers.bridge.service import Bridge
    from producers.kafka_producer import Router, make_producer

    registry, _ = load_registry_csv(sim / "registry.csv")
    drop, state = tmp_path / "drop", tmp_path / "state"
    drop.mkdir()
    disk = FullDisk()
    producer = make_producer(topic.target.bootstrap, **topic.target.kafka_options())
    bridge = Bridge(
        producer,
        topic.name,
        state,
        router=Router(registry),
        journal=Journal(state / "journal.jsonl", opener=disk),
        rate=8000,
    )
    shutil.copy(sim / "readings.jsonl", drop / "a.jsonl")
    loop = threading.Thread(
        target=bridge.run, args=(DropFolder(drop, 0.5),), kwargs={"poll_s": 0.2}, daemon=True
    )
    loop.start()
    total = max(_input_lines(sim / "readings.jsonl"))
    whole = (sim / "readings.jsonl").read_bytes()
    second = b"\n".join(whole.split(b"\n")[:3000]) + b"\n"  # another content
    deadline = time.monotonic() + BOUND_S

    def files() -> dict[str, Any]:
        return bridge.journal.files

    while not (files().get("a.jsonl") and files()["a.jsonl"].upto >= total // 5):
        assert time.monotonic() < deadline and loop.is_alive()
        time.sleep(0.1)
    disk.full = True
    try:
        while disk.failures < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert not bridge.journal_ok and bridge.status()["journal_ok"] is False
        (drop / "b.jsonl.part").write_bytes(second)
        (drop / "b.jsonl.part").rename(drop / "b.jsonl")
        frozen = bridge.metrics["drop"].records_sent
        while bridge.pending:  # what was in flight is delivered meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert bridge.metrics["drop"].records_sent == frozen, "intake went on with no journal"
        assert not files()["a.jsonl"].done and "b.jsonl" not in files()
    finally:
        disk.full = False
    while not (files().get("b.jsonl") and files()["b.jsonl"].done):
        assert time.monotonic() < deadline and loop.is_alive()
        time.sleep(0.1)
    bridge.stop()
    loop.join(60)
    producer.close()
    assert files()["a.jsonl"].done
    m = matrix(
        topic,
        {"a.jsonl": _input_lines(sim / "readings.jsonl"), "b.jsonl": _input_lines_bytes(second)},
    )
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])
    # and a restart reads the torn journal back whole
    again = Journal(state / "journal.jsonl")
    assert again.files["a.jsonl"].done and again.files["b.jsonl"].done


# --- through the worker: results equal to the replay of the input ---------------------------
def test_bridge_killed_mid_file_same_as_replay(
    shared_stack: Target, run_on: Any, expected: Expected, tmp_path: Path
) -> None:
    """The bridge killed -9 a third into a file while the worker runs, restarted: it reads
    back what reached Kafka and sends the rest, so no record is duplicated (a re-sent one
    behind the engine's released time would be a late dead letter) and the worker's
    results equal the replay of the file."""
    run: Run = run_on(shared_stack)
    run.start("w")
    b = BridgeProcess(
        shared_stack, run.env.topic, tmp_path / "bridge", expected.sim / "registry.csv"
    )
    _drop(b, expected.sim, "a.jsonl")
    lines = _input_lines(expected.sim / "readings.jsonl")
    b.start("--rate", str(RATE))
    try:
        b.wait_until("a third acknowledged", lambda: b.acked("a.jsonl") >= max(lines) // 3)
        b.stop(signal.SIGKILL)
        fault_at = time.monotonic()
        assert not b.done("a.jsonl"), "the file was done before the kill"
        b.start("--once", "--rate", str(RATE))
        proc = b.proc
        assert proc is not None
        run.producer = threading.Thread(target=proc.wait, daemon=True)
        run.producer.start()
        run.finish(fault_at)
        assert proc.returncode == 0, b.log.read_text(errors="replace")[-3000:]
        run.assert_same_as_replay(fault_at)
    finally:
        b.stop(signal.SIGKILL)
    m = matrix(Topic(shared_stack, run.env.topic), {"a.jsonl": lines})
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])
    assert "later lines are already in Kafka" in b.log.read_text(errors="replace")


def test_produce_rerun_after_a_failure(
    shared_stack: Target, run_on: Any, expected: Expected, tmp_path: Path
) -> None:
    """``heatwatch produce``'s first run fails two fifths in (the broker away past the
    delivery timeout, injected); the re-run of the same input with its delivery journal sends
    exactly what was missing: the worker's results equal the replay (effectively-once)."""
    from kafka.errors import KafkaTimeoutError

    from formats.registry_csv import load_registry_csv
    from producers.kafka_producer import (
        DeliveryJournal,
        ProduceError,
        Router,
        jsonl_lines,
        make_producer,
        produce,
    )

    run: Run = run_on(shared_stack)
    run.start("w")
    src = expected.sim / "readings.jsonl"
    journal_path = tmp_path / "readings.jsonl.delivery.json"
    registry, _ = load_registry_csv(expected.sim / "registry.csv")
    sent_again: list[int] = []

    def send() -> None:
        real = make_producer(run.env.bootstrap, **shared_stack.kafka_options())
        cut = expected.records * 2 // 5

        class BrokerGone:
            """The real producer until record ``cut``; then every send fails."""

            def __init__(self) -> None:
                self.n = 0

            def partitions_for(self, topic: str) -> Any:
                return real.partitions_for(topic)

            def send(self, *args: Any, **kwargs: Any) -> Any:
                self.n += 1
                if self.n >= cut:
                    raise KafkaTimeoutError("delivery timeout passed (injected)")
                return real.send(*args, **kwargs)

            def flush(self) -> None:
                real.flush()

        try:
            journal = DeliveryJournal(journal_path, src)
            try:
                produce(
                    BrokerGone(),
                    run.env.topic,
                    jsonl_lines(src),
                    router=Router(registry),
                    rate=RATE,
                )
                raise AssertionError("the injected failure did not fail the run")
            except ProduceError as exc:
                journal.record(exc.stats)
            again = DeliveryJournal(journal_path, src)
            only = again.only()
            assert only is not None
            sent_again.extend(n for n in range(1, expected.records + 1) if only(n))
            produce(
                real,
                run.env.topic,
                jsonl_lines(src),
                router=Router(registry),
                rate=RATE,
                only=only,
                only_partitions=again.only_partitions(),
            )
            again.record(None)
        except BaseException as exc:  # reported by finish()
            run.produce_error = exc
        finally:
            real.close()

    run.producer = threading.Thread(target=send, daemon=True)
    started = time.monotonic()
    run.producer.start()
    run.finish(started)
    run.assert_same_as_replay(started)
    assert DeliveryJournal(journal_path, src).complete
    assert sent_again and sent_again[0] > 1  # only the tail was sent again
    m = matrix(Topic(shared_stack, run.env.topic), {"": _input_lines(src)})
    assert (m.missing, m.wrong) == ([], [])
    # re-sent: only the records that failed (never in Kafka), so nothing twice
    assert m.duplicates == 0


def test_http_push_is_answered_once_kafka_has_every_record(
    sim: Path, topic: Topic, tmp_path: Path
) -> None:
    """A gzip JSONL push through the real producer: 200 only after every record is
    acknowledged, and then every line is in Kafka, once."""
    import gzip
    import urllib.request

    from formats.registry_csv import load_registry_csv
    from producers.bridge.http import make_server, serve_in_background
    from producers.bridge.service import Bridge
    from producers.kafka_producer import Router, make_producer

    registry, _ = load_registry_csv(sim / "registry.csv")
    producer = make_producer(topic.target.bootstrap, **topic.target.kafka_options())
    bridge = Bridge(producer, topic.name, tmp_path / "state", router=Router(registry))
    server = make_server(bridge, "127.0.0.1", 0, token="t0ken")
    serve_in_background(server)
    body = b"\n".join((sim / "readings.jsonl").read_bytes().split(b"\n")[:5000]) + b"\n"
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}/v1/telemetry",
            data=gzip.compress(body),
            method="POST",
            headers={
                "Authorization": "Bearer t0ken",
                "Content-Encoding": "gzip",
                "X-Request-Id": "push-1",
            },
        )
        with urllib.request.urlopen(request, timeout=BOUND_S) as answer:
            assert answer.status == 200
            reply = orjson.loads(answer.read())
        assert reply["lines"] == 5000 and reply["dead"] == 0
        assert bridge.pending == 0  # answered only once nothing waited
    finally:
        server.shutdown()
        producer.close()
    m = matrix(topic, {"http/push-1": _input_lines_bytes(body)})
    assert (m.missing, m.duplicates, m.wrong) == ([], 0, [])
