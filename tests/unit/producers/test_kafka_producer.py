"""``heatwatch produce``'s delivery: every record acknowledged or reported by its input line."""

from __future__ import annotations

from typing import Any

import pytest

from producers.kafka_producer import ProduceError, line_ranges, make_producer, produce


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


def test_undelivered_records_are_named_by_line() -> None:
    with pytest.raises(ProduceError) as err:
        produce(FakeProducer({3, 4, 5, 9}, {7}), "t", _lines(10), source="x.jsonl")
    assert err.value.undelivered == [3, 4, 5, 7, 9]
    assert "x.jsonl: lines 3-5, 7, 9" in str(err.value)
    assert "5 records not delivered" in str(err.value)


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
