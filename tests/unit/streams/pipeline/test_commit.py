"""The commit protocol's order, held in one place (``streams.commit``): results flushed →
results dataset written → checkpoint put → Kafka offsets committed → events acked; and a
partition revoked while its commit point was in flight is neither checkpointed nor committed."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from streams.commit import CheckpointStore, CommitProtocol
from streams.core.engine import Engine
from streams.core.settings import DetectionSettings
from streams.partitions import PartitionOutput, PartitionState
from streams.records import RecordFeed
from streams.sinks.dataset import Segment
from streams.sinks.influx import InfluxSink


class Journal:
    """Every step of a commit point, in the order it happened."""

    def __init__(self) -> None:
        self.steps: list[str] = []


class FakeSink(InfluxSink):
    def __init__(self, journal: Journal) -> None:
        async def write(body: bytes) -> None:
            journal.steps.append("influx write")

        super().__init__(write)
        self.journal = journal

    async def flush_until(self, position: int) -> None:
        await super().flush_until(position)
        self.journal.steps.append("results flushed")


class FakeDataset:
    root = "fake"

    def __init__(self, journal: Journal, fail_first: bool = False) -> None:
        self.journal = journal
        self.fail_first = fail_first

    def take(self, partition: int, first: int, last: int) -> Segment | None:
        return Segment(partition, first, last, None)  # type: ignore[arg-type]

    def write(self, segment: Any) -> None:
        if self.fail_first:
            self.fail_first = False
            raise OSError("disk full")
        self.journal.steps.append(f"dataset p{segment.partition}")

    def forget(self, partition: int) -> None:
        pass


class FakeEvent:
    def __init__(self, journal: Journal, offset: int) -> None:
        self.journal, self.offset = journal, offset

    def ack(self) -> None:
        self.journal.steps.append(f"ack {self.offset}")


def _state(partition: int, sink: InfluxSink, journal: Journal, offsets: range) -> PartitionState:
    engine = Engine([], DetectionSettings(), PartitionOutput(partition, sink))
    feed = RecordFeed(partition, engine, lambda k, v: None, Counter())
    st = PartitionState(partition, engine, feed)
    st.pending = [FakeEvent(journal, o) for o in offsets]
    st.pending_upto = offsets[-1]
    st.last_offset = offsets[-1]
    st.dirty = True
    return st


def _protocol(
    journal: Journal, partitions: dict[int, PartitionState], sink: InfluxSink, **kw: Any
) -> CommitProtocol:
    def put(partition: int, key: bytes, value: bytes) -> None:
        if key == f"p{partition}".encode():  # the manifest, written after its chunks
            journal.steps.append(f"checkpoint p{partition}")

    async def commit(offsets: dict[int, int]) -> bool:
        journal.steps.append(f"commit {sorted(offsets.items())}")
        return True

    store = CheckpointStore(lambda p, k: None, put, Counter())
    return CommitProtocol(partitions, sink, store, Counter(), commit_offsets=commit, **kw)


def test_flush_then_dataset_then_checkpoint_then_commit_then_ack() -> None:
    journal = Journal()
    sink = FakeSink(journal)
    partitions = {0: _state(0, sink, journal, range(3))}
    sink.add(b"m v=1i 1")  # a result of those records, not written yet
    commits = _protocol(journal, partitions, sink, dataset=FakeDataset(journal))

    async def go() -> None:
        commits.start()
        await commits.wait()

    asyncio.run(go())
    assert journal.steps == [
        "influx write",
        "results flushed",
        "dataset p0",
        "checkpoint p0",
        "commit [(0, 3)]",
        "ack 0",
        "ack 1",
        "ack 2",
    ]
    assert commits.committed == {0: 3}
    assert partitions[0].checkpoint_offset == 2 and not partitions[0].dirty


def test_a_failing_dataset_write_holds_the_checkpoint_and_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retried, like InfluxDB: nothing after it happens before it succeeds."""
    journal = Journal()
    sink = FakeSink(journal)
    partitions = {0: _state(0, sink, journal, range(2))}
    commits = _protocol(journal, partitions, sink, dataset=FakeDataset(journal, fail_first=True))
    real_sleep = asyncio.sleep
    monkeypatch.setattr("streams.commit.asyncio.sleep", lambda s: real_sleep(0))

    async def go() -> None:
        commits.start()
        await commits.wait()

    asyncio.run(go())
    assert journal.steps == [
        "results flushed",
        "dataset p0",
        "checkpoint p0",
        "commit [(0, 2)]",
        "ack 0",
        "ack 1",
    ]


def test_a_partition_revoked_in_flight_is_neither_checkpointed_nor_committed() -> None:
    journal = Journal()
    sink = FakeSink(journal)
    partitions = {0: _state(0, sink, journal, range(2)), 1: _state(1, sink, journal, range(5))}
    commits = _protocol(journal, partitions, sink)

    async def go() -> None:
        commits.start()
        del partitions[1]  # revoked before the background half ran
        await commits.wait()

    asyncio.run(go())
    assert "checkpoint p1" not in journal.steps
    assert journal.steps[:3] == ["results flushed", "checkpoint p0", "commit [(0, 2)]"]
    assert commits.committed == {0: 2}
