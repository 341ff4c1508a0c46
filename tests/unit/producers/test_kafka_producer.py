"""``heatwatch produce``'s delivery: every record acknowledged or reported by its input line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from producers.kafka_producer import (
    DeliveryJournal,
    ProduceError,
    jsonl_lines,
    line_ranges,
    make_producer,
    produce,
)


class _Future:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def add_errback(self, fn: Any) -> _Future:
        if self.error is not None:
            fn(self.error)
        return self


class FakeProducer:
    """Fails the records whose input line is in ``fail`` (as a delivery timeout would)."""

    def __init__(self, fail: set[int], raise_on_send: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.fail = fail
        self.raise_on_send = raise_on_send
        self.sent: list[tuple[bytes, int | None]] = []

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}

    def send(self, topic: str, *, value: bytes, key: Any, partition: Any, headers: Any) -> Any:
        line = int(dict(headers)["line"])
        if line in self.raise_on_send:
            raise TimeoutError("Failed to update metadata after 600.0 secs.")
        self.sent.append((value, partition))
        return _Future(RuntimeError("NotLeaderForPartitionError") if line in self.fail else None)

    def flush(self) -> None:
        pass


def _lines(n: int) -> list[bytes]:
    return [b'{"kind":"electric","household_id":"H%d"}\n' % i for i in range(1, n + 1)]


def test_every_line_acknowledged_is_success() -> None:
    stats = produce(FakeProducer(set()), "t", _lines(10))
    assert stats.records == 10 and stats.errors == 0 and stats.undelivered == []


def test_undelivered_records_are_named_by_line_and_nothing_is_sent_past_a_gap() -> None:
    with pytest.raises(ProduceError) as err:
        produce(FakeProducer({3, 4, 5, 9}, {7}), "t", _lines(10), source="x.jsonl", group=0)
    assert err.value.undelivered == [3]
    assert err.value.stats is not None and err.value.stats.unsent_from == 4
    assert "x.jsonl: lines 3; not sent: lines 4-" in str(err.value)
    assert "1 records not delivered" in str(err.value)


def test_a_rerun_sends_exactly_what_was_not_delivered(tmp_path: Path) -> None:
    """Lines 1-2 delivered, 3 failed, 4- never sent: the re-run sends 3-10, in order, once."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_lines(10)))
    journal = DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src)
    first = FakeProducer({3})
    with pytest.raises(ProduceError) as err:
        produce(first, "t", jsonl_lines(src), only=journal.only(), group=0)
    journal.record(err.value.stats)
    assert [v for v, _ in first.sent] == [x.strip() for x in _lines(3)]  # 3 sent, failed
    again = DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src)
    second = FakeProducer(set())
    produce(second, "t", jsonl_lines(src), only=again.only(), group=0)
    again.record(None)
    assert [v for v, _ in second.sent] == [x.strip() for x in _lines(10)[2:]]
    assert DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src).complete
    src.write_bytes(b"".join(_lines(11)))  # another content: the journal does not apply
    assert DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src).only() is None


class FailsPartition(FakeProducer):
    """Fails line ``line``'s record on ``partition`` only (a broadcast half delivered)."""

    def __init__(self, line: int, partition: int) -> None:
        super().__init__(set())
        self.bad = (line, partition)

    def send(self, topic: str, *, value: bytes, key: Any, partition: Any, headers: Any) -> Any:
        line = int(dict(headers)["line"])
        self.sent.append((value, partition))
        return _Future(RuntimeError("RequestTimedOut") if (line, partition) == self.bad else None)


def test_a_weather_line_half_broadcast_is_sent_again_only_where_it_failed(tmp_path: Path) -> None:
    """Weather goes to every partition: partition 0 acknowledged line 2, partition 1 did not.
    The re-run sends line 2 to partition 1 only — no partition holds it twice."""
    weather = b'{"kind":"weather","county":"C","ts":"2021-12-01T00:15:00+08:00","temp_c":-3}\n'
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join([_lines(1)[0], weather, *_lines(3)[1:]]))
    journal = DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src)
    with pytest.raises(ProduceError) as err:
        produce(FailsPartition(2, 1), "t", jsonl_lines(src), group=0)
    journal.record(err.value.stats)
    again = DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src)
    second = FakeProducer(set())
    produce(
        second,
        "t",
        jsonl_lines(src),
        only=again.only(),
        only_partitions=again.only_partitions(),
        group=0,
    )
    assert second.sent[0] == (weather.strip(), 1)
    assert [p for v, p in second.sent if v == weather.strip()] == [1]


def test_line_ranges_are_capped() -> None:
    assert line_ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert line_ranges(range(0, 100, 2), limit=2).endswith("(48 more ranges)")


def test_the_producer_is_idempotent_and_retries_until_a_delivery_timeout() -> None:
    """No retry count (5 ran out during a broker restart)."""
    captured: dict[str, Any] = {}

    import kafka

    class Capture:
        def __init__(self, **options: Any) -> None:
            captured.update(options)

    real = kafka.KafkaProducer
    kafka.KafkaProducer = Capture
    try:
        make_producer("localhost:1", delivery_timeout_ms=90_000)
    finally:
        kafka.KafkaProducer = real
    assert captured["enable_idempotence"] is True
    assert captured["retries"] == float("inf")
    assert captured["delivery_timeout_ms"] == 90_000
    assert captured["max_block_ms"] == 90_000


# --- grouping single readings of one key into one record (issue 23) -------------------------
def _heat(n: int, ts: str, station: str = "S1") -> bytes:
    return b'{"kind":"heat_meter","household_id":"H%d","heat_station_id":"%s","ts":"%s"}' % (
        n,
        station.encode(),
        ts.encode(),
    )


class Router1:
    """Households 1-9 on station A, 10- on B (as a registry would key them)."""

    def route_reading(self, line: bytes) -> tuple[bytes | None, bool, dict[str, Any] | None]:
        import orjson

        obj = orjson.loads(line)
        if obj.get("kind") == "weather":
            return None, True, None
        n = int(obj["household_id"][1:])
        return (b"DC-A" if n < 10 else b"DC-B"), False, obj

    def route(self, line: bytes) -> tuple[bytes | None, bool]:
        key, broadcast, _ = self.route_reading(line)
        return key, broadcast


class Capture(FakeProducer):
    def __init__(self, fail: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__(set(fail))
        self.records: list[tuple[Any, bytes, dict[str, bytes]]] = []

    def send(self, topic: str, *, value: bytes, key: Any, partition: Any, headers: Any) -> Any:
        self.records.append((key, value, dict(headers)))
        return super().send(topic, value=value, key=key, partition=partition, headers=headers)


def test_readings_of_one_key_and_instant_become_one_batch_record() -> None:
    t1, t2 = "2021-12-01T00:15:00+08:00", "2021-12-01T00:30:00+08:00"
    weather = b'{"kind":"weather","county":"C","ts":"%s","temp_c":-3.0}' % t2.encode()
    lines = [_heat(1, t1), _heat(10, t1), _heat(2, t1), weather, _heat(3, t2), _heat(11, t2)]
    lines += [_heat(4, t2), _heat(5, "2021-12-01T00:45:00+08:00")]
    producer = Capture()
    stats = produce(producer, "t", lines, router=Router1())  # type: ignore[arg-type]
    got = [(k, v, h) for k, v, h in producer.records]
    # t1: A's two readings in one record, B's alone (as it came); weather flushes first
    assert [k for k, _, _ in got][:3] == [b"DC-A", b"DC-B", None]
    import orjson

    first = orjson.loads(got[0][1])
    assert first["kind"] == "batch" and first["source"] == "DC-A"
    assert [r["household_id"] for r in first["readings"]] == ["H1", "H2"]
    assert got[0][2]["line"] == b"1" and got[0][2]["lines"] == b"1:%d,3:%d" % (
        len(lines[0]),
        len(lines[2]),
    )
    assert got[1][1] == lines[1] and "lines" not in got[1][2]  # alone: the line itself
    # weather is broadcast to both partitions (two sends, one record)
    assert got[2][1] == weather and got[3][1] == weather
    # t2: a group per key; the reading of another instant sends them before it
    after = [(k, orjson.loads(v)) for k, v, _ in got[4:]]
    assert [(k, v.get("kind")) for k, v in after] == [
        (b"DC-A", "batch"),
        (b"DC-B", "heat_meter"),
        (b"DC-A", "heat_meter"),
    ]
    assert stats.readings == len(lines) and stats.records == 6


def test_a_failed_grouped_record_names_each_of_its_lines_and_the_rerun_sends_them() -> None:
    ts = "2021-12-01T00:15:00+08:00"
    lines = [_heat(1, ts), _heat(2, ts), _heat(3, "2021-12-01T00:30:00+08:00"), _heat(4, ts)]
    producer = Capture(fail={1})  # the group's record carries line 1 in its header
    with pytest.raises(ProduceError) as err:
        produce(producer, "t", lines, router=Router1())  # type: ignore[arg-type]
    # lines 1-2 were one record, which failed; line 3 was grouped, never sent: all three are
    # sent again by a re-run (line 4 is past the gap: ``unsent_from``)
    assert err.value.undelivered == [1, 2, 3]
    assert err.value.stats is not None and err.value.stats.unsent_from == 4


def test_a_paced_input_does_not_hold_a_reading_for_its_group() -> None:
    """Readings 0.1 s apart (a paced or live input): each is sent before the next comes,
    not when its instant ends (``GROUP_LINGER_S``)."""
    ts = "2021-12-01T00:15:00+08:00"
    lines = [_heat(n, ts) for n in range(1, 5)]
    t = {"now": 0.0}

    def clock() -> float:
        t["now"] += 0.1
        return t["now"]

    producer = Capture()
    seen: list[int] = []

    def tracked(lines: list[bytes]) -> Any:
        for line in lines:
            seen.append(len(producer.records))  # records sent before this line is read
            yield line

    produce(producer, "t", tracked(lines), router=Router1(), clock=clock)  # type: ignore[arg-type]
    assert seen == [0, 1, 2, 3] and len(producer.records) == 4
