"""The agent's logic without Kafka or InfluxDB: partitions, dead letters, commit points,
and restart from a checkpoint giving the same incidents as an uninterrupted run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.keys import partition_for_key, registry_by_partition
from formats.registry_csv import load_registry_csv
from producers.kafka_producer import Router
from streams.checkpoint import Checkpoint, decode, encode, export_engine, import_engine
from streams.core.settings import DetectionSettings
from streams.embedded import replay
from streams.pipeline import Pipeline
from streams.settings import WorkerSettings
from streams.sinks.influx import InfluxSink

PARTITIONS = 3


class FakeEvent:
    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset, self.acked = partition, offset, False

    def ack(self) -> bool:
        self.acked = True
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Harness:
    """A fake topic (partition → records), a fake changelog, a fake InfluxDB."""

    def __init__(self, lines: list[bytes], router: Router) -> None:
        # (key, value, input line or the headers the record was sent with) per offset
        self.topic: dict[int, list[tuple[bytes | None, bytes, Any]]] = {
            p: [] for p in range(PARTITIONS)
        }
        for n, line in enumerate(lines, 1):
            key, broadcast = router.route(line)
            if broadcast:
                targets = list(range(PARTITIONS))
            elif key is None:
                targets = [n % PARTITIONS]
            else:
                targets = [partition_for_key(key, PARTITIONS)]
            for p in targets:
                self.topic[p].append((key, line, n))
        self.changelog: dict[int, dict[bytes, bytes]] = {p: {} for p in range(PARTITIONS)}
        self.written: list[bytes] = []
        self.dead: list[dict[str, Any]] = []
        self.incidents: dict[str, dict[str, Any]] = {}  # newest state sent, by id
        self.committed = {p: 0 for p in range(PARTITIONS)}
        self.gate: asyncio.Event | None = None  # set: InfluxDB answers; clear: it hangs

    def pipeline(
        self,
        registry: list[Any],
        clock: Clock,
        wall_clock: Callable[[], float] = time.time,
        *,
        ports: dict[str, Any] | None = None,
        **config: Any,
    ) -> Pipeline:
        """``ports``: the consumer's view and the commit (``Pipeline``'s keywords) to use
        instead of this fake topic's (``highwater``, ``fetched_at``, ``commit_offsets``…)."""

        async def write(body: bytes) -> None:
            if self.gate is not None:
                await self.gate.wait()
            self.written.extend(body.split(b"\n"))

        pipe = Pipeline(
            registry,
            DetectionSettings(),
            InfluxSink(write),
            # checkpoints exported inline unless a test asks for the forked export (a fork of
            # the test process per commit point costs more than this tier can afford)
            WorkerSettings(
                **{
                    "name": "t",
                    "checkpoint_interval_s": 1.0,
                    "idle_release_s": 5.0,
                    "tune_gc": False,
                    "checkpoint_fork": False,
                }
                | config
            ),
            topic="heatwatch.telemetry",
            checkpoint_get=lambda p, k: self.changelog[p].get(k),
            checkpoint_put=lambda p, k, v: self.changelog[p].__setitem__(k, v),
            send_dead_letter=lambda k, v: self.dead.append(orjson.loads(v)),
            send_incident=lambda k, v: self.incidents.__setitem__(k.decode(), orjson.loads(v)),
            clock=clock,
            wall_clock=wall_clock,
            **({"highwater": lambda p: len(self.topic[p])} | (ports or {})),
        )
        pipe.set_partition_count(PARTITIONS)
        return pipe

    def run(self, pipe: Pipeline, clock: Clock, stop_after: int | None = None) -> None:
        """Interleave partitions from their committed offsets; commit what was acked."""
        events: dict[int, list[FakeEvent]] = {p: [] for p in range(PARTITIONS)}
        cursors = dict(self.committed)
        handled = 0

        async def go() -> None:
            nonlocal handled
            while any(cursors[p] < len(self.topic[p]) for p in range(PARTITIONS)):
                for p in range(PARTITIONS):
                    for _ in range(7):
                        if cursors[p] >= len(self.topic[p]):
                            break
                        offset = cursors[p]
                        key, value, n = self.topic[p][offset]
                        # n: the input line, or the headers the producer sent the record with
                        headers = n if isinstance(n, list) else [("line", str(n).encode())]
                        ev = FakeEvent(p, offset)
                        events[p].append(ev)
                        pipe.handle(p, offset, key, value, ev, headers)
                        cursors[p] += 1
                        handled += 1
                        clock.t += 0.01
                        if pipe.due():
                            await pipe.commit_point()
                        if stop_after is not None and handled >= stop_after:
                            return
            clock.t += 10  # idle: release the tails
            await pipe.tick()
            clock.t += 10
            await pipe.tick()

        asyncio.run(go())
        for p, evs in events.items():
            acked = [e.offset for e in evs if e.acked]
            if acked:
                self.committed[p] = max(self.committed[p], max(acked) + 1)

    def incident_ids(self) -> set[str]:
        out = set()
        for line in self.written:
            if line.startswith(b"incident,"):
                tags = dict(t.split(b"=", 1) for t in line.split(b" ", 1)[0].split(b",")[1:])
                out.add(tags[b"incident_id"].decode())
        return out


@pytest.fixture(scope="module")
def sim(pipeline_fleet: Path) -> Path:
    """The simulated fleet (conftest.py: simulated once per session, not once per module)."""
    return pipeline_fleet


def _setup(sim: Path) -> tuple[list[Any], Harness]:
    registry, _ = load_registry_csv(sim / "registry.csv")
    lines = [ln for ln in (sim / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    return registry, Harness(lines, Router(registry))


def test_same_incidents_as_the_embedded_runner(sim: Path, tmp_path: Path) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    # as the worker: forked export, at a commit point every 500 records (a fork each: every
    # 100 cost the fast tier a second of CPU in forked children for no more of the path)
    pipe = h.pipeline(registry, clock, checkpoint_fork=True, checkpoint_interval_s=5.0)
    h.run(pipe, clock)
    summary = replay(registry, sim / "readings.jsonl", tmp_path / "replay")
    expected = {
        orjson.loads(line)["incident_id"]
        for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    }
    assert expected and h.incident_ids() == expected
    # every malformed line is dead-lettered with its input line number
    truth = [orjson.loads(x) for x in (sim / "ground_truth.jsonl").read_bytes().splitlines()]
    malformed = {t["line_no"] for t in truth if t["fault"] == "malformed"}
    assert malformed <= {d["line_no"] for d in h.dead}
    assert summary.data["rejected"] > 0
    # everything was acked in the end: committed = end of every partition
    assert all(h.committed[p] == len(h.topic[p]) for p in range(PARTITIONS))


@pytest.mark.slow  # three runs of the simulated fleet
def test_restart_from_checkpoint_gives_the_same_incidents(sim: Path) -> None:
    registry, clean = _setup(sim)
    clock = Clock()
    clean.run(clean.pipeline(registry, clock), clock)

    registry, h = _setup(sim)
    clock = Clock()
    # "crash": nothing after this; checkpoints exported by forked children, as the worker does
    h.run(h.pipeline(registry, clock, checkpoint_fork=True), clock, stop_after=900)
    assert 0 < sum(h.committed.values()) < sum(len(t) for t in h.topic.values())
    h.run(h.pipeline(registry, clock, checkpoint_fork=True), clock)  # restore + replay
    assert h.incident_ids() == clean.incident_ids()


def test_checkpoint_round_trip_and_chunks(sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    pipe = h.pipeline(registry, clock)
    h.run(pipe, clock, stop_after=300)
    partition, st = next(iter(pipe.partitions.items()))
    engine = st.engine
    blob = export_engine(engine)
    monkeypatch.setattr("streams.checkpoint.CHUNK_BYTES", max(1, len(blob) // 3))
    store: dict[bytes, bytes] = {}
    for k, v in encode(Checkpoint(1, 42, blob), None):
        store[k] = v
    got = decode(1, store.get)
    assert got is not None and got[0].offset == 42 and got[0].engine_blob == blob
    assert len(store) >= 4  # chunks + manifest
    households = registry_by_partition(registry, PARTITIONS)[partition]
    restored = import_engine(got[0].engine_blob, households, DetectionSettings(), engine.output)
    assert restored.released_until == engine.released_until
    assert restored.open_incidents == engine.open_incidents
    # a torn write of the next checkpoint (chunks of the other slot only) leaves this one whole
    for k, v in encode(Checkpoint(1, 50, blob[::-1]), got[1])[:-1]:
        store[k] = v[:-1]
    again = decode(1, store.get)
    assert again is not None and again[0].offset == 42


def _active_rows(written: list[bytes]) -> dict[bytes, dict[int, int]]:
    """series key → {time: count} of the ``active_incidents`` lines."""
    rows: dict[bytes, dict[int, int]] = {}
    for line in written:
        if line.startswith(b"active_incidents,"):
            series, fields, ts = line.split(b" ")
            count = int(fields.split(b",")[0].removeprefix(b"count=").rstrip(b"i"))
            rows.setdefault(series, {})[int(ts)] = count
    return rows


@pytest.mark.slow  # two runs of the simulated fleet
def test_fewer_snapshot_rows_read_the_same_with_last(sim: Path) -> None:
    """Dropping repeated zero rows changes nothing for a ``last()`` at any snapshot time."""
    registry, full = _setup(sim)
    clock = Clock()
    full.run(full.pipeline(registry, clock, snapshot_zeros_every_s=0), clock)
    registry, few = _setup(sim)
    clock = Clock()
    few.run(few.pipeline(registry, clock, snapshot_zeros_every_s=3600), clock)
    every, sparse = _active_rows(full.written), _active_rows(few.written)
    assert sum(map(len, sparse.values())) * 3 < sum(map(len, every.values()))
    assert any(c > 0 for rows in every.values() for c in rows.values())
    for series, rows in every.items():
        got = sparse.get(series, {})
        assert set(got) <= set(rows)  # no timestamp of its own
        for t, count in sorted(rows.items()):
            before = [ts for ts in got if ts <= t]
            assert (got[max(before)] if before else 0) == count, (series, t)
    # a non-zero row is never skipped: a live incident's series never goes silent
    for series, rows in every.items():
        for t, count in rows.items():
            if count:
                assert sparse[series][t] == count


def test_commit_point_finishes_in_the_background(sim: Path) -> None:
    """Processing goes on while InfluxDB hangs; checkpoint and acks wait for the write."""
    registry, h = _setup(sim)
    clock = Clock()
    pipe = h.pipeline(registry, clock)

    async def go() -> None:
        h.gate = asyncio.Event()
        first = [FakeEvent(0, o) for o in range(20)]
        for ev in first:
            key, value, _ = h.topic[0][ev.offset]
            pipe.handle(0, ev.offset, key, value, ev)
        future = pipe.start_commit()
        assert future is not None and pipe.start_commit() is None  # one in flight
        more = [FakeEvent(0, o) for o in range(20, 40)]
        for ev in more:
            key, value, _ = h.topic[0][ev.offset]
            pipe.handle(0, ev.offset, key, value, ev)
        await asyncio.sleep(0.01)
        assert not future.done() and not h.changelog[0]
        assert not any(e.acked for e in first + more)
        h.gate.set()
        await pipe.wait_commit()
        assert all(e.acked for e in first) and not any(e.acked for e in more)
        got = decode(0, h.changelog[0].get)
        assert got is not None and got[0].offset == 19
        clock.t += 5
        await pipe.commit_point()
        assert all(e.acked for e in more)
        got = decode(0, h.changelog[0].get)
        assert got is not None and got[0].offset == 39

    asyncio.run(go())
