"""The forked export (``streams.export``) gives the engines' states as they were at the
capture, byte for byte the inline export's, whatever the parent does meanwhile; a child that
fails or hangs (killed after its timeout) leaves its commit point without checkpoint or
commit, never a checkpoint short of a partition, and the next commit point makes up for it."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from streams.checkpoint import decode, export_engine
from streams.export import Export, ExportFailed
from tests.unit.streams.pipeline.test_pipeline import Clock, FakeEvent, _setup, sim

__all__ = ["sim"]


def test_the_forked_export_is_the_state_at_the_capture(sim: Path) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    pipe = h.pipeline(registry, clock)
    h.run(pipe, clock, stop_after=300)
    engines = [(p, st.engine) for p, st in pipe.partitions.items()]
    before = {p: export_engine(e) for p, e in engines}
    export = Export.start(engines, fork=True)
    # the parent goes on: more records change partition 0's engine after the capture
    offset = pipe.partitions[0].last_offset + 1
    for key, value, _ in h.topic[0][offset : offset + 200]:
        pipe.handle(0, offset, key, value, FakeEvent(0, offset))
        offset += 1
    assert export_engine(pipe.partitions[0].engine) != before[0]
    assert asyncio.run(export.result()) == before


def test_a_failing_child_fails_the_export(sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    pipe = h.pipeline(registry, clock)
    h.run(pipe, clock, stop_after=50)

    def broken(engine: object) -> bytes:
        raise RuntimeError("export broke")

    monkeypatch.setattr("streams.export.export_engine", broken)
    export = Export.start([(p, st.engine) for p, st in pipe.partitions.items()], fork=True)
    with pytest.raises(ExportFailed, match="exited with 1"):
        asyncio.run(export.result())


def _hang(engine: object) -> bytes:
    import time

    time.sleep(3600)  # a lock copied at the fork, held by no one in the child
    return b""


def test_a_hung_child_is_killed(sim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    pipe = h.pipeline(registry, clock)
    h.run(pipe, clock, stop_after=50)
    monkeypatch.setattr("streams.export.export_engine", _hang)
    export = Export.start(
        [(p, st.engine) for p, st in pipe.partitions.items()], fork=True, timeout_s=0.5
    )
    pid = export._pid
    assert pid is not None
    with pytest.raises(ExportFailed, match=r"did not finish within 0.5 s .* was killed"):
        asyncio.run(export.result())
    with pytest.raises(ChildProcessError):  # killed and reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def test_a_hung_export_commits_nothing_and_the_next_commit_point_does(
    sim: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No checkpoint, no offset, no ack for the commit point whose child hung (logged with
    what happened); the next commit point checkpoints and commits what both covered, and
    after two forked failures in a row the export is taken inline."""
    registry, h = _setup(sim)
    clock = Clock()
    committed: list[dict[int, int]] = []

    async def commit_offsets(offsets: dict[int, int]) -> bool:
        committed.append(dict(offsets))
        return True

    pipe = h.pipeline(
        registry,
        clock,
        ports={"commit_offsets": commit_offsets},
        checkpoint_fork=True,
        checkpoint_export_timeout_s=0.5,
    )
    events = [FakeEvent(0, offset) for offset in range(80)]

    def feed(offsets: range) -> None:
        for offset in offsets:
            key, value, _ = h.topic[0][offset]
            pipe.handle(0, offset, key, value, events[offset])

    async def go() -> None:
        feed(range(40))
        monkeypatch.setattr("streams.export.export_engine", _hang)
        await pipe.commit_point()
        assert decode(0, lambda k: h.changelog[0].get(k)) is None and committed == []
        assert not any(e.acked for e in events) and pipe.commits.fork
        feed(range(40, 60))
        await pipe.commit_point()  # the second failure in a row: inline from now on
        assert committed == [] and not pipe.commits.fork
        feed(range(60, 80))
        monkeypatch.undo()
        await pipe.commit_point()

    with caplog.at_level(logging.ERROR, logger="streams.commit"):
        asyncio.run(go())
    assert pipe.counts["checkpoint_export_failures"] == 2
    assert "was killed" in caplog.text and "no offset committed" in caplog.text
    assert "inline" in caplog.text
    stored = decode(0, lambda k: h.changelog[0].get(k))
    assert stored is not None and stored[0].offset == 79
    assert committed == [{0: 80}] and all(e.acked for e in events)
    assert stored[0].engine_blob == export_engine(pipe.partitions[0].engine)
