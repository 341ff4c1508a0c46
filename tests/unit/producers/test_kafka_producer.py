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
        produce(FakeProducer({3, 4, 5, 9}, {7}), "t", _lines(10), source="x.jsonl")
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
        produce(first, "t", jsonl_lines(src), only=journal.only())
    journal.record(err.value.stats)
    assert [v for v, _ in first.sent] == [x.strip() for x in _lines(3)]  # 3 sent, failed
    again = DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src)
    second = FakeProducer(set())
    produce(second, "t", jsonl_lines(src), only=again.only())
    again.record(None)
    assert [v for v, _ in second.sent] == [x.strip() for x in _lines(10)[2:]]
    assert DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src).complete
    src.write_bytes(b"".join(_lines(11)))  # another content: the journal does not apply
    assert DeliveryJournal(tmp_path / "in.jsonl.delivery.json", src).only() is None


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
