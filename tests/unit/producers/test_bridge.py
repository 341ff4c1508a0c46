"""The ingest bridge without Kafka: a producer double that acknowledges when told to."""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

from producers.bridge.drop import DropFolder, is_candidate, records_of, version_of
from producers.bridge.http import make_server, serve_in_background
from producers.bridge.journal import Journal
from producers.bridge.service import Bridge, _lines_of
from producers.kafka_producer import Router
from streams.records import split_grouped


class FakeFuture:
    """Like kafka-python's: a callback added after the outcome runs at once."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] = []
        self.errbacks: list[Callable[[BaseException], None]] = []
        self.outcome: tuple[bool, Any] | None = None

    def resolve(self, ok: bool, value: Any) -> None:
        self.outcome = (ok, value)
        for fn in self.callbacks if ok else self.errbacks:
            fn(value)

    def add_callback(self, fn: Callable[[Any], None]) -> FakeFuture:
        self.callbacks.append(fn)
        if self.outcome is not None and self.outcome[0]:
            fn(self.outcome[1])
        return self

    def add_errback(self, fn: Callable[[BaseException], None]) -> FakeFuture:
        self.errbacks.append(fn)
        if self.outcome is not None and not self.outcome[0]:
            fn(self.outcome[1])
        return self


class MessageSizeTooLargeError(Exception):
    pass


class FakeProducer:
    """``auto``: acknowledge at once. ``log``: what Kafka holds (value, line, file)."""

    def __init__(self, auto: bool = False) -> None:
        self.auto = auto
        self.in_flight: list[tuple[FakeFuture, tuple[bytes, int, str]]] = []
        self.log: list[tuple[bytes, int, str]] = []
        self.sent_headers: list[dict[str, bytes]] = []
        self.lock = threading.Lock()

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def send(self, topic: str, *, value: bytes, key: Any, partition: Any, headers: Any) -> Any:
        h = dict(headers)
        self.sent_headers.append(h)
        item = (value, int(h["line"]), h["file"].decode())
        fut = FakeFuture()
        if b"too-large" in value:
            fut.resolve(False, MessageSizeTooLargeError("record too large"))
            return fut
        with self.lock:
            self.in_flight.append((fut, item))
        if self.auto:
            self.deliver()
        return fut

    def deliver(self, n: int | None = None, fail: Callable[[int], bool] | None = None) -> None:
        """Acknowledge the first ``n`` records in flight (all), failing those ``fail`` says."""
        with self.lock:
            k = len(self.in_flight) if n is None else n
            batch, self.in_flight = self.in_flight[:k], self.in_flight[k:]
        for fut, item in batch:
            if fail is not None and fail(item[1]):
                fut.resolve(False, TimeoutError("delivery timeout"))
                continue
            self.log.append(item)
            fut.resolve(True, None)

    def lose_in_flight(self) -> None:
        """kill -9: what was not acknowledged is gone with the process."""
        self.in_flight = []

    def flush(self, timeout: float | None = None) -> None:
        self.deliver()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(n: int, start: int = 1) -> bytes:
    return b"".join(
        b'{"kind":"electric","household_id":"H%d","ts":"2021-12-01T08:15:00+08:00"}\n' % i
        for i in range(start, start + n)
    )


def _bridge(tmp: Path, producer: FakeProducer, **kw: Any) -> Bridge:
    kw.setdefault("ack_interval_s", 0)  # every progress call writes (the tests look at it)
    return Bridge(producer, "t", tmp / "state", heartbeat_s=3600, **kw)


def _scan(bridge: Bridge, folder: DropFolder, clock: Clock, tail_quiet_s: float = 60.0) -> None:
    folder.ready()  # first sight
    clock.now += 10
    bridge.scan(folder, tail_quiet_s)


def _lines_in_kafka(p: FakeProducer, name: str) -> list[int]:
    return sorted(line for _, line, f in p.log if f == name)


def test_a_file_is_done_only_when_every_record_is_acknowledged(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(100))
    clock = Clock()
    folder = DropFolder(drop, quiet_s=5, clock=clock)
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, folder, clock)
    assert not b.journal.files["a.jsonl"].done
    p.deliver(60)
    b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 60 and not b.journal.files["a.jsonl"].done
    p.deliver()
    b._journal_progress()
    assert b.journal.files["a.jsonl"].done
    assert _lines_in_kafka(p, "a.jsonl") == list(range(1, 101))
    assert b.metrics["drop"].files_done == 1
    # nothing more on the next scans
    clock.now += 10
    b.scan(folder, 60)
    assert len(p.log) == 100 and not p.in_flight


def test_kill_9_mid_file_resends_only_the_unacknowledged_tail(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(100))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    p.deliver(70)
    b._journal_progress()
    p.deliver(5)  # acknowledged, but the process dies before the journal says so
    p.lose_in_flight()
    # a new process on the same state directory
    p2 = FakeProducer(auto=True)
    p2.log = p.log
    b2 = _bridge(tmp_path, p2)
    _scan(b2, DropFolder(drop, 5, clock), clock)
    b2._journal_progress()
    got = _lines_in_kafka(p2, "a.jsonl")
    assert sorted(set(got)) == list(range(1, 101))  # nothing lost
    assert [n for n in set(got) if got.count(n) > 1] == list(range(71, 76))  # re-sent: 5
    assert b2.journal.files["a.jsonl"].done


def test_a_redelivered_file_is_recognised_by_its_content(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(10))
    clock = Clock()
    folder = DropFolder(drop, 5, clock)
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p)
    _scan(b, folder, clock)
    b._journal_progress()
    (drop / "again").mkdir()
    (drop / "again" / "a-copy.jsonl").write_bytes(_lines(10))
    _scan(b, folder, clock)
    assert len(p.log) == 10
    assert b.metrics["drop"].files_redelivered == 1
    # and after a restart too (the journal remembers the content)
    b2 = _bridge(tmp_path, p)
    _scan(b2, DropFolder(drop, 5, clock), clock)
    assert len(p.log) == 10


def test_a_growing_file_continues_after_what_was_published(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    f = drop / "hourly.jsonl"
    f.write_bytes(_lines(10) + b'{"kind":"electric","household_id":"H1')  # writer mid-line
    clock = Clock()
    folder = DropFolder(drop, 5, clock)
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p)
    _scan(b, folder, clock)
    b._journal_progress()
    assert _lines_in_kafka(p, "hourly.jsonl") == list(range(1, 11))  # not the cut line
    with f.open("ab") as fh:
        fh.write(b'1","ts":"2021-12-01T08:15:00+08:00"}\n' + _lines(4, 12))
    _scan(b, folder, clock)
    b._journal_progress()
    assert _lines_in_kafka(p, "hourly.jsonl") == list(range(1, 16))
    assert orjson.loads(next(v for v, n, _ in p.log if n == 11))["household_id"] == "H11"


def test_an_unterminated_last_line_waits_for_the_tail_quiet_period(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(3).rstrip(b"\n"))
    clock = Clock()
    folder = DropFolder(drop, 5, clock)
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p)
    _scan(b, folder, clock, tail_quiet_s=60)
    b._journal_progress()
    assert _lines_in_kafka(p, "a.jsonl") == [1, 2]
    clock.now += 60
    b.scan(folder, 60)
    b._journal_progress()
    assert _lines_in_kafka(p, "a.jsonl") == [1, 2, 3]
    assert b.journal.files["a.jsonl"].done


def test_temporary_names_and_incomplete_gzip_are_not_taken(tmp_path: Path) -> None:
    assert not is_candidate("x.jsonl.part") and not is_candidate(".x.jsonl")
    assert not is_candidate("x.txt") and is_candidate("d/x.csv.gz")
    whole = gzip.compress(_lines(5))
    f = tmp_path / "a.jsonl.gz"
    f.write_bytes(whole[: len(whole) // 2])
    assert not version_of(f, allow_tail=True).complete
    f.write_bytes(whole + gzip.compress(_lines(2, 6)))  # two members: an appended export
    v = version_of(f, allow_tail=True)
    assert v.complete
    assert [n for n, r in records_of(f, v.size) if r] == list(range(1, 8))


def test_csv_rows_become_contract_readings(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "kind,household_id,ts,interval_s,kwh,kw,voltage_v,event\n"
        "electric,0042,2021-12-01T08:15:00+08:00,900,0.5,2,230,\n"
        "electric,0043,2021-12-01T08:15:00+08:00,900,abc,2,230,\n"
    )
    got = [(n, orjson.loads(r)) for n, r in records_of(f, f.stat().st_size) if r]
    assert got[0] == (
        2,
        {
            "kind": "electric",
            "household_id": "0042",  # ids stay text
            "ts": "2021-12-01T08:15:00+08:00",
            "interval_s": 900,
            "kwh": 0.5,
            "kw": 2.0,
            "voltage_v": 230.0,
        },
    )
    assert got[1][1]["kwh"] == "abc"  # the worker dead-letters it, with the line


def test_a_failed_delivery_is_sent_again_and_the_file_waits_for_it(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(20))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    p.deliver(fail=lambda line: line % 7 == 0)  # e.g. the delivery timeout passed
    b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 6 and not b.journal.files["a.jsonl"].done
    b._resend_failed()
    p.deliver()
    b._journal_progress()
    assert b.journal.files["a.jsonl"].done
    assert _lines_in_kafka(p, "a.jsonl") == list(range(1, 21))
    assert b.metrics["drop"].records_resent == 2


def test_a_record_kafka_refuses_is_dead_lettered_with_its_reason(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(2) + b'{"kind":"batch","x":"too-large"}\n')
    clock = Clock()
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    b._journal_progress()
    assert b.journal.files["a.jsonl"].done and b.journal.files["a.jsonl"].dead == 1
    dead = [
        orjson.loads(x)
        for x in (tmp_path / "state" / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    assert dead[0]["line_no"] == 3 and "MessageSizeTooLargeError" in dead[0]["reason"]


class FullDisk:
    """Opens the journal for appending; writes fail while ``full``."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, path: Path) -> IO[bytes]:
        outer = self
        fh = path.open("ab")

        class Handle:
            def write(self, data: bytes) -> int:
                if outer.full:
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


def test_a_full_journal_disk_stops_intake_and_loses_nothing(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(50))
    disk = FullDisk()
    clock = Clock()
    folder = DropFolder(drop, 5, clock)
    p = FakeProducer()
    b = _bridge(tmp_path, p, journal=Journal(tmp_path / "state" / "journal.jsonl", opener=disk))
    _scan(b, folder, clock)
    disk.full = True
    p.deliver()
    b._journal_progress()
    assert not b.journal_ok and "No space" in b.journal_error
    b._journal_progress()  # nothing new to write: still full, and still said so
    assert not b.journal_ok
    assert not b.journal.files["a.jsonl"].done  # never marked done without the journal
    (drop / "b.jsonl").write_bytes(_lines(5, 100))
    folder.ready()
    clock.now += 10
    b.run(folder, poll_s=0, until=lambda: True)
    assert "b.jsonl" not in b.journal.files and _lines_in_kafka(p, "b.jsonl") == []  # stopped
    disk.full = False
    b.run(folder, poll_s=0, until=lambda: True)
    p.deliver()
    b._journal_progress()
    assert b.journal_ok and b.journal.files["a.jsonl"].done and b.journal.files["b.jsonl"].done
    assert _lines_in_kafka(p, "a.jsonl") == list(range(1, 51))
    assert _lines_in_kafka(p, "b.jsonl") == list(range(1, 6))
    # the torn entries are ignored on load, the state is the same
    again = Journal(tmp_path / "state" / "journal.jsonl")
    assert again.files["a.jsonl"].done and again.files["b.jsonl"].done


def test_back_pressure_bounds_what_waits_for_kafka(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(100))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p, max_pending=10)
    released: list[int] = []

    def kafka() -> None:  # acknowledges slowly, and only when 10 wait
        while len(p.log) < 100:
            if len(p.in_flight) >= 10 or len(p.log) >= 90:
                released.append(len(p.in_flight))
                p.deliver()

    t = threading.Thread(target=kafka, daemon=True)
    t.start()
    _scan(b, DropFolder(drop, 5, clock), clock)
    t.join(10)
    assert max(released) <= 10 and len(p.log) == 100


@pytest.mark.slow  # a real HTTP server on loopback
def test_http_push_answers_after_every_record_is_acknowledged(tmp_path: Path) -> None:
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p, max_pending=5)
    server = make_server(b, "127.0.0.1", 0, token="s3cret")
    serve_in_background(server)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/telemetry"
    try:

        def post(body: bytes, token: str = "s3cret", **headers: str) -> tuple[int, Any]:
            req = urllib.request.Request(
                url, data=body, method="POST",
                headers={"Authorization": f"Bearer {token}", **headers},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, orjson.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, orjson.loads(e.read())

        status, body = post(gzip.compress(_lines(3)), **{"Content-Encoding": "gzip"})
        assert (status, body["records"]) == (200, 3)
        assert len(p.log) == 3
        assert post(_lines(1), token="wrong")[0] == 401
        health = url.replace("/v1/telemetry", "/healthz")
        with urllib.request.urlopen(health, timeout=10) as r:  # probes carry no token
            assert orjson.loads(r.read()) == {"alive": True}
        p.auto = False  # Kafka stops answering
        b.max_pending = 2
        post_result: list[int] = []
        threading.Thread(target=lambda: post_result.append(post(_lines(2))[0])).start()
        while len(p.in_flight) < 2:
            pass
        assert post(_lines(1))[0] == 503  # back-pressure: retry later
        p.deliver()
        while not post_result:
            pass
        assert post_result == [200]
    finally:
        server.shutdown()


def test_the_heartbeat_says_what_each_source_did(tmp_path: Path) -> None:
    from producers.bridge.service import ingest_lines

    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p)
    b.heartbeat()
    status = orjson.loads((tmp_path / "state" / "heartbeat.json").read_bytes())
    assert set(status["sources"]) == {"drop", "http"} and status["kafka_ok"]
    lines = ingest_lines(status).split(b"\n")
    assert lines[0].startswith(b"ingest,bridge=") and b"source=drop" in lines[0]
    assert b"kafka_ok=true" in lines[0] and b"pending=0i" in lines[0]


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz"])
def test_records_carry_their_line(tmp_path: Path, name: str) -> None:
    data = b"\n" + _lines(2)
    f = tmp_path / name
    f.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    got = list(records_of(f, f.stat().st_size))
    assert [(n, r is not None) for n, r in got] == [(1, False), (2, True), (3, True)]


def test_acknowledgements_are_journaled_at_most_every_interval(tmp_path: Path) -> None:
    """Each entry is an fsync: not one per record."""
    clock = Clock()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(30))
    p = FakeProducer()
    b = _bridge(tmp_path, p, ack_interval_s=0.5, clock=clock)
    _scan(b, DropFolder(drop, 5, clock), clock)
    for _ in range(10):
        p.deliver(1)
        b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 0  # the interval has not passed
    clock.now += 0.5
    b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 10
    p.deliver()
    b._journal_progress()  # done is written at once
    assert b.journal.files["a.jsonl"].done


def test_a_resume_reads_back_what_reached_kafka_and_sends_only_the_rest(tmp_path: Path) -> None:
    """kill -9 with records acknowledged but not journaled, and records in flight that
    landed: read back from Kafka, none is sent twice; what never landed is sent."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(100))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    p.deliver(70)
    b._journal_progress()
    p.deliver(20)  # lines 71-90 landed, unjournaled; 91-100 never did
    p.lose_in_flight()
    asked: list[tuple[str, str, int]] = []

    def present(name: str, version: str, after: int) -> dict[int, set[int]]:
        asked.append((name, version, after))
        return {n: {0} for _, n, f in p.log if f == name and n > after}

    p2 = FakeProducer(auto=True)
    p2.log = p.log
    b2 = _bridge(tmp_path, p2, present=present)
    _scan(b2, DropFolder(drop, 5, clock), clock)
    b2._journal_progress()
    got = _lines_in_kafka(p2, "a.jsonl")
    assert got == list(range(1, 101))  # each line once
    assert asked == [("a.jsonl", b2.journal.files["a.jsonl"].sha[:16], 70)]
    assert b2.journal.files["a.jsonl"].done


def test_without_a_read_back_the_tail_is_sent_again(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(10))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    p.deliver(5)
    b._journal_progress()
    p.lose_in_flight()

    def refused(name: str, version: str, after: int) -> dict[int, set[int]]:
        raise PermissionError("TopicAuthorizationFailedError")

    p2 = FakeProducer(auto=True)
    b2 = _bridge(tmp_path, p2, present=refused)
    _scan(b2, DropFolder(drop, 5, clock), clock)
    assert _lines_in_kafka(p2, "a.jsonl") == list(range(6, 11))


def test_a_full_journal_is_not_declared_writable_without_a_write(tmp_path: Path) -> None:
    """Between journal intervals nothing is due to be written: that is no sign of space."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_lines(50))
    disk = FullDisk()
    clock = Clock()
    p = FakeProducer()
    journal = Journal(tmp_path / "state" / "journal.jsonl", opener=disk)
    b = _bridge(tmp_path, p, journal=journal, ack_interval_s=10, clock=clock)
    _scan(b, DropFolder(drop, 5, clock), clock)
    p.deliver(10)
    disk.full = True
    clock.now += 10
    b._journal_progress()
    assert not b.journal_ok
    b._journal_progress()  # within the interval: no acked entry due
    assert not b.journal_ok
    disk.full = False
    b._journal_progress()
    assert b.journal_ok and b.journal.files["a.jsonl"].upto == 10


def test_the_heartbeat_point_is_posted_off_the_publishing_thread(tmp_path: Path) -> None:
    posted: list[bytes] = []
    gate = threading.Event()

    def slow_influx(lines: bytes) -> None:  # InfluxDB answering slowly
        gate.wait(5)
        posted.append(lines)

    b = _bridge(tmp_path, FakeProducer(auto=True), influx_write=slow_influx)
    b.heartbeat()  # returns at once
    assert posted == []
    gate.set()
    for _ in range(100):
        if posted:
            break
        threading.Event().wait(0.05)
    b.stop()
    assert posted and posted[0].startswith(b"ingest,")


def test_the_journal_is_compacted_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from producers.bridge import journal as journal_module

    monkeypatch.setattr(journal_module, "COMPACT_AFTER", 10)
    j = Journal(tmp_path / "j.jsonl")
    j.begin("a.jsonl", "s" * 64, 100, 0)
    for upto in range(1, 30):
        j.acked("a.jsonl", "s" * 64, upto)
    lines = (tmp_path / "j.jsonl").read_bytes().splitlines()
    assert len(lines) < 12  # compacted, then a few more entries
    again = Journal(tmp_path / "j.jsonl")
    assert again.files["a.jsonl"].upto == 29 and not again.files["a.jsonl"].done


def test_a_file_that_grew_after_a_crash_reads_back_the_unfinished_version(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    f = drop / "a.jsonl"
    f.write_bytes(_lines(20))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p)
    _scan(b, DropFolder(drop, 5, clock), clock)
    old = b.journal.files["a.jsonl"].sha
    p.deliver(10)
    b._journal_progress()
    p.deliver(5)  # 11-15 landed unjournaled; 16-20 lost with the process
    p.lose_in_flight()
    with f.open("ab") as fh:
        fh.write(_lines(5, 21))  # the export grew while the bridge was down
    asked: list[str] = []

    def present(name: str, version: str, after: int) -> dict[int, set[int]]:
        asked.append(version)
        return {n: {0} for _, n, fn in p.log if fn == name and n > after}

    p2 = FakeProducer(auto=True)
    p2.log = p.log
    b2 = _bridge(tmp_path, p2, present=present)
    _scan(b2, DropFolder(drop, 5, clock), clock)
    b2._journal_progress()
    assert asked == [old[:16]]
    assert _lines_in_kafka(p2, "a.jsonl") == list(range(1, 26))


def _one_feeder(n: int) -> Router:
    """H1..Hn behind one concentrator: their readings share a key."""
    router = Router()
    router.household_keys = {f"H{i}": b"F1" for i in range(1, n + 1)}
    return router


def _at(hid: int, ts: str, extra: bytes = b"") -> bytes:
    return b'{"kind":"electric","household_id":"H%d","ts":"%s"%s}\n' % (hid, ts.encode(), extra)


def test_readings_of_one_key_and_instant_are_one_record_and_the_file_waits_for_it(
    tmp_path: Path,
) -> None:
    """Grouped as ``heatwatch produce`` groups: one record per key and instant with a
    ``lines`` header the worker splits back into the input lines; a line is acknowledged
    (journaled) only with its record."""
    drop = tmp_path / "drop"
    drop.mkdir()
    first = [_at(i, "2021-12-01T08:15:00+08:00") for i in range(1, 6)]
    second = [_at(i, "2021-12-01T08:30:00+08:00") for i in range(1, 4)]
    (drop / "a.jsonl").write_bytes(b"".join(first + second))
    clock = Clock()
    p = FakeProducer()
    b = _bridge(tmp_path, p, router=_one_feeder(5))
    _scan(b, DropFolder(drop, 5, clock), clock)
    assert len(p.in_flight) == 2 and b.metrics["drop"].records_sent == 2
    h = p.sent_headers[0]
    value = p.in_flight[0][1][0]
    assert split_grouped(value, h["lines"]) == [(i, first[i - 1].strip()) for i in range(1, 6)]
    assert _lines_of(h) == [1, 2, 3, 4, 5] and _lines_of(p.sent_headers[1]) == [6, 7, 8]
    b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 0
    p.deliver(1)
    b._journal_progress()
    assert b.journal.files["a.jsonl"].upto == 5 and not b.journal.files["a.jsonl"].done
    p.deliver()
    b._journal_progress()
    assert b.journal.files["a.jsonl"].done and b.metrics["drop"].readings_acked == 8


def test_a_grouped_record_kafka_refuses_is_sent_line_by_line(tmp_path: Path) -> None:
    """Too large as a group: each line goes alone, and only the line Kafka refuses alone is
    dead-lettered (grouping dead-letters nothing a line alone would not have been)."""
    drop = tmp_path / "drop"
    drop.mkdir()
    ts = "2021-12-01T08:15:00+08:00"
    lines = [_at(1, ts), _at(2, ts, b',"note":"too-large"'), _at(3, ts)]
    (drop / "a.jsonl").write_bytes(b"".join(lines))
    clock = Clock()
    p = FakeProducer(auto=True)
    b = _bridge(tmp_path, p, router=_one_feeder(3))
    _scan(b, DropFolder(drop, 5, clock), clock)
    b._resend_failed()  # the loop's housekeeping: the group's lines, one record each
    b._journal_progress()
    assert _lines_in_kafka(p, "a.jsonl") == [1, 3]
    assert b.journal.files["a.jsonl"].done and b.journal.files["a.jsonl"].dead == 1
    assert b.pending == 0
