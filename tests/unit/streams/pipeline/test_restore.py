"""Restore on assignment, commits that reach the end, idle release only when caught up and
quiet (a broker stall is not quiet)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from streams.checkpoint import FORMAT
from streams.pipeline import CheckpointBehindCommit
from tests.unit.streams.pipeline.test_pipeline import PARTITIONS, Clock, FakeEvent, _setup, sim

__all__ = ["sim"]  # the module-scoped simulation fixture


def test_assignment_names_the_checkpoint_or_refuses_to_start_empty(sim: Path) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    h.run(h.pipeline(registry, clock), clock, stop_after=900)
    fresh = h.pipeline(registry, clock)
    p = max(h.committed, key=lambda q: h.committed[q])
    line = fresh.check_restorable(p, h.committed[p])
    assert f"partition {p}: restoring checkpoint at offset {h.committed[p] - 1}" in line
    assert f"format {FORMAT}" in line
    h.changelog[p].clear()  # the checkpoint topic lost it (or a wrong topic is configured)
    assert "no checkpoint, starting empty" in fresh.check_restorable(p, None)
    assert "no checkpoint, starting empty" in fresh.check_restorable(p, 0)
    with pytest.raises(CheckpointBehindCommit, match=rf"committed offset {h.committed[p]} is"):
        fresh.check_restorable(p, h.committed[p])


@pytest.mark.slow  # a full run of the simulated fleet
def test_commits_reach_the_log_end(sim: Path) -> None:
    registry, h = _setup(sim)
    clock = Clock()
    commits: list[dict[int, int]] = []

    async def commit(offsets: dict[int, int]) -> bool:
        commits.append(dict(offsets))
        return True

    pipe = h.pipeline(registry, clock, ports={"commit_offsets": commit})
    h.run(pipe, clock)
    last: dict[int, int] = {}
    for c in commits:
        for p, o in c.items():
            assert o >= last.get(p, 0)  # never backwards
            last[p] = o
    assert last == {p: len(h.topic[p]) for p in range(PARTITIONS)}
    # the heartbeat carries the committed offset and what is behind it (alerting: stuck)
    pipe.heartbeat(1_700_000_000)
    beats = [x for x in pipe.sink._buffer if x.startswith(b"worker,")]  # not yet written
    assert len(beats) == PARTITIONS and all(
        b"committed=" in x and b"committed_lag=0i" in x for x in beats
    )


def _caught_up(
    sim: Path,
    stall: bool,
    lag: int,
    answers_after: int = 0,
    wait: int = 30,
    gap: int = 0,
    then: int = 0,
    tail: int = 0,
    connected: bool | None = None,
    starved: bool = False,
) -> tuple[int, bool]:
    """Feed partition 0 up to its highwater minus ``lag``, then wait ``wait`` s of wall time
    with the broker answering (from ``answers_after`` s on) or not: (buffered steps left,
    idle released). ``gap`` s without answers follow, then ``then`` s with; the last ``tail``
    records (in the log before the gap, not fetched yet) come 1 s after the answers resume.
    ``connected``: what the consumer's connection view says during the gap (None: no view);
    ``starved``: during the gap the timer runs only every 10 s (the process not scheduled)."""
    registry, h = _setup(sim)
    clock = Clock()
    end = len(h.topic[0]) - lag
    fetched: dict[str, float | None] = {"at": None}
    link: dict[str, bool | None] = {"up": None}
    ports: dict[str, Any] = {"fetched_at": lambda p: fetched["at"]}
    if connected is not None:
        ports["broker_connected"] = lambda: link["up"]
    pipe = h.pipeline(registry, clock, ports=ports)

    def feed(offsets: range) -> None:
        for offset in offsets:
            key, value, _ = h.topic[0][offset]
            pipe.handle(0, offset, key, value, FakeEvent(0, offset))

    async def go() -> None:
        feed(range(end - tail))
        for second in range(wait + gap + then):
            clock.t += 1
            answering = answers_after <= second < wait or second >= wait + gap
            in_gap = wait <= second < wait + gap
            link["up"] = True if connected is None else (connected or not in_gap)
            if not stall and answering:
                fetched["at"] = clock.t
            if tail and second == wait + gap + 1:
                feed(range(end - tail, end))
            if starved and in_gap and (second - wait) % 10 != 9:
                continue  # the process is scheduled once in 10 s: the timer comes late
            await pipe.tick()

    asyncio.run(go())
    st = pipe.partitions[0]
    return st.engine.buffered_steps, st.idle_released


def test_caught_up_and_quiet_releases_the_reorder_buffer(sim: Path) -> None:
    assert _caught_up(sim, stall=False, lag=0) == (0, True)


def test_a_broker_stall_never_releases(sim: Path) -> None:
    left, released = _caught_up(sim, stall=True, lag=0)
    assert left > 0 and not released


def test_lag_above_zero_never_releases(sim: Path) -> None:
    left, released = _caught_up(sim, stall=False, lag=5)
    assert left > 0 and not released


def test_the_first_answers_after_a_stall_are_not_quiet_yet(sim: Path) -> None:
    """Broker back after 20 s: the producers' backlog may still be on its way, so the idle
    release waits for ``idle_release_s`` (5 s) of answers, not for 5 s since the last record."""
    left, released = _caught_up(sim, stall=False, lag=0, answers_after=20, wait=24)
    assert left > 0 and not released
    assert _caught_up(sim, stall=False, lag=0, answers_after=20, wait=27) == (0, True)


def test_after_a_stall_the_hold_lasts_one_and_a_half_times_the_stall(sim: Path) -> None:
    """Answers for 2 s, a 20 s stall (21 s between answers), answers again: the producers had
    a 20 s backlog and reconnect with exponential backoff, up to ~1.5x the stall later, so
    5 s of quiet is not enough; 1.5 x 21 = 31.5 s is."""
    left, released = _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=31)
    assert left > 0 and not released
    assert _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=33) == (0, True)


def test_the_unconsumed_tail_after_a_stall_does_not_end_the_hold(sim: Path) -> None:
    """The broker restarted with records the worker had not fetched yet (written before the
    stall): they arrive first, the partition is caught up with the log end and quiet again
    within a second, but the producers' backlog is still to come (the broker-restart fault
    test: released 3 s later, the backlog arrived 7 s after that and was dead-lettered late)."""
    left, released = _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=20, tail=40)
    assert left > 0 and not released
    assert _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=33, tail=40) == (0, True)


def test_the_stall_hold_is_capped(sim: Path) -> None:
    """Producers' reconnect backoff is capped (kafka-python 30 s): after a 60 s stall the hold
    is ``stall_hold_max_s`` (40 s), not 90 s."""
    left, released = _caught_up(sim, stall=False, lag=0, wait=2, gap=60, then=39)
    assert left > 0 and not released
    assert _caught_up(sim, stall=False, lag=0, wait=2, gap=60, then=42) == (0, True)


def test_answers_stopping_while_the_broker_is_connected_is_no_outage(
    sim: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """CPU starvation or paused fetching: no fetch answer for 20 s while the consumer's
    connection is up. Not an outage: no "outage started", and no stall hold afterwards —
    released after the ordinary idle time (5 s of answers), not 1.5 x 21 s."""
    with caplog.at_level("INFO"):
        left, released = _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=7, connected=True)
    assert (left, released) == (0, True)
    assert "outage started" not in caplog.text
    assert "but the broker is connected: not an outage" in caplog.text


def test_answers_stopping_with_the_connection_closed_is_an_outage(
    sim: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same gap with the connection gone (a stopped broker): outage, and the hold."""
    with caplog.at_level("INFO"):
        left, released = _caught_up(
            sim, stall=False, lag=0, wait=2, gap=20, then=7, connected=False
        )
    assert left > 0 and not released
    assert "outage started" in caplog.text
    assert _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=33, connected=False) == (
        0,
        True,
    )


def test_without_a_connection_view_a_starved_process_is_no_outage(
    sim: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No connection view: the timer's own lateness tells. The process was scheduled once in
    10 s during the 20 s: the answers' gap is its own, not the broker's."""
    with caplog.at_level("INFO"):
        got = _caught_up(sim, stall=False, lag=0, wait=2, gap=20, then=7, starved=True)
    assert got == (0, True)
    assert "outage started" not in caplog.text
