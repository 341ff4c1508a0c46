"""The forked export (``streams.export``) gives the engines' states as they were at the
capture, byte for byte the inline export's, whatever the parent does meanwhile; a child that
fails makes the commit point fail, never a checkpoint short of a partition."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.checkpoint import export_engine
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
