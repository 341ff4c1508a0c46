"""Event time one source cannot drag, gaps that cost O(1), and order-independent replay."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contract.telemetry import event_epoch
from streams.core.engine import Rejected
from streams.core.eventtime import describe_offset
from streams.embedded import replay
from streams.eventorder import event_key, sort_by_event_time
from tests.unit.streams.scenario import at, electric, household, run
from tests.unit.streams.test_engine_properties import REGISTRY, faulty_stream

FOUR = [household(h) for h in ("H1", "H2", "H3", "H4")]


def test_a_reading_ahead_of_the_skew_bound_is_held_then_admitted_when_time_reaches_it() -> None:
    out, engine = run(FOUR, [])
    for s in range(1, 9):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    before = engine.clock.now
    engine.push(electric("H1", 8 + 12))  # 3 h ahead of the others; the bound is 2 h
    assert engine.clock.now == before  # one source does not move time
    assert engine.counters.held_ahead == 1
    for s in range(9, 30):
        for h in ("H1", "H2", "H3", "H4"):
            if not (h == "H1" and s == 20):
                engine.push(electric(h, s))
    engine.flush()
    assert engine.take_rejections() == []
    assert engine.counters.processed == 4 * 29
    assert out.incidents == {}


def test_a_fast_clock_at_the_head_of_the_stream_does_not_set_time() -> None:
    out, engine = run(FOUR, [])
    engine.push(electric("H2", 4 * 96 * 2), origin="line 1")  # two days ahead, first line
    for s in range(1, 30):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    assert engine.clock.now == event_epoch(at(29).isoformat())
    engine.flush()
    ((origin, reading, reason),) = engine.take_rejections()
    assert origin == "line 1" and reading.household_id == "H2"
    assert reason.startswith("clock fault: household H2 stamped")
    assert "+7 d" in reason or "+6 d" in reason
    assert not [i for i in out.incidents.values() if i.kind.value == "comm_loss"]


@pytest.mark.parametrize(
    "stamp",
    ["2000-01-01T00:15:00+08:00", "2015-12-06T14:15:00+08:00", "2016-12-31T23:45:00+08:00"],
)
def test_a_reset_clock_or_a_wrong_year_before_the_programme_is_refused(stamp: str) -> None:
    """A real-time clock reset to its default (2000-01-01) or a year typed wrong is no
    reading of the programme (its first plan began 2017), even at the head of a file."""
    out, engine = run(FOUR, [])
    with pytest.raises(Rejected, match="outside the programme's window"):
        engine.push(electric("H3", 1).model_copy(update={"ts": stamp}))
    for s in range(1, 9):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    engine.flush()
    assert [i.started_at.year for i in out.incidents.values()] in ([], [2021])


def test_a_meter_whose_clock_keeps_failing_gets_one_data_quality_incident() -> None:
    out, engine = run(FOUR, [])
    for s in range(1, 97):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
        if s in (10, 20, 30):
            bad = electric("H3", s).model_copy(update={"ts": "1970-01-01T00:30:00+00:00"})
            try:
                engine.push(bad)
            except Exception as exc:  # Rejected
                assert "outside the programme's window" in str(exc)
    engine.flush()
    clock = [i for i in out.incidents.values() if i.kind.value == "meter_clock_fault"]
    assert [(i.entity_id, i.details["rejected_readings"]) for i in clock] == [("H3", 3)]
    assert len([i for i in out.incidents.values() if i.kind.value != "meter_clock_fault"]) == 0


def test_a_window_only_clock_fault_starts_at_the_stream_start() -> None:
    out, engine = run(FOUR, [])
    for s in range(1, 97):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
        if s in (40, 50):
            with pytest.raises(Rejected):
                engine.push(electric("H3", s).model_copy(update={"ts": "9999-12-31T23:45:00Z"}))
    engine.flush()
    (fault,) = [i for i in out.incidents.values() if i.kind.value == "meter_clock_fault"]
    assert fault.started_at == at(0)  # the stream's start: a corrupt stamp says nothing
    assert fault.details == {"rejected_readings": 2}


def _clock_fault_run(fast_first: bool) -> dict[str, dict[str, object]]:
    """Two days of four meters, plus two readings of H2 stamped 2.5 days ahead of the
    first step (after the last): live they come early and expire after ``clock_hold_s``; in a replay ordered by
    event time they come last and expire at the end of the input."""
    out, engine = run(FOUR, [])
    fast = [electric("H2", 240 + k) for k in (1, 2)]
    fast = [r.model_copy(update={"kwh": 0.5}) for r in fast]  # not a copy of its own reading
    stream = [electric(h, s) for s in range(1, 2 * 96 + 1) for h in ("H1", "H2", "H3", "H4")]
    ordered = stream[:20] + fast + stream[20:] if fast_first else stream + fast
    for r in ordered:
        engine.push(r)
    engine.flush()
    assert len(engine.take_rejections()) == 2
    return {i: inc.model_dump(mode="json") for i, inc in out.incidents.items()}


def test_a_clock_fault_has_one_id_whether_judged_after_the_hold_or_at_the_end() -> None:
    live, replayed = _clock_fault_run(True), _clock_fault_run(False)
    assert live == replayed
    (fault,) = [i for i in live.values() if i["kind"] == "meter_clock_fault"]
    assert fault["started_at"] == at(241).isoformat()
    assert fault["details"] == {
        "rejected_readings": 2,
        "first_rejected_ts": at(241).isoformat(),
        "last_rejected_ts": at(242).isoformat(),
    }


def test_a_gap_of_years_costs_o1_not_a_day_per_day() -> None:
    out, engine = run(FOUR, [])
    for s in range(1, 97):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    far = 4 * 96 * 365 * 10  # ten years later, every meter agrees
    started = time.perf_counter()
    for s in range(far, far + 97):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    engine.flush()
    assert engine.counters.days_skipped > 3600
    assert engine.counters.days_closed <= 2 + DEFAULT_GAP_DAYS
    assert time.perf_counter() - started < 30  # generous; the old loop took minutes
    assert len(out.days) == 4 * engine.counters.days_closed


DEFAULT_GAP_DAYS = 3


def test_describe_offset_reads_like_a_clock_setting() -> None:
    assert describe_offset(2 * 86_400 + 12 * 3600) == "+2 d 12 h 00 min"
    assert describe_offset(-1800) == "-0 h 30 min"


def test_event_key_takes_a_batchs_earliest_reading_and_puts_garbage_first() -> None:
    a = electric("H1", 5).model_dump_json().encode()
    b = electric("H1", 3).model_dump_json().encode()
    batch = b'{"kind":"batch","source":"DC-F-1","readings":[' + a + b"," + b + b"]}"
    assert event_key(batch) == event_key(b) < event_key(a)
    assert event_key(b"not json") < event_key(b)


def _lines(readings: list) -> list[bytes]:  # type: ignore[type-arg]
    return [r.model_dump_json().encode() + b"\n" for r in readings]


def _result(lines: list[bytes], tmp: Path, name: str) -> tuple:  # type: ignore[type-arg]
    path = tmp / f"{name}.jsonl"
    path.write_bytes(b"".join(lines))
    replay(REGISTRY, path, tmp / name)
    incidents = sorted((tmp / name / "incidents.jsonl").read_bytes().splitlines())
    rollups = pq.read_table(tmp / name / "rollups" / "household_days.parquet").to_pylist()
    dead = sorted(
        (d["raw"], d["reason"])
        for d in map(orjson.loads, (tmp / name / "dead_letters.jsonl").read_bytes().splitlines())
    )
    summary = orjson.loads((tmp / name / "summary.json").read_bytes())
    counts = {k: summary[k] for k in ("accepted", "duplicates", "conflicts", "rejected")}
    return incidents, sorted(rollups, key=lambda d: (d["household_id"], d["day"])), dead, counts


SORTED_LINES = _lines(faulty_stream(days=1))


@pytest.mark.slow  # 12 Hypothesis examples, two replays of the file each
@settings(max_examples=12, deadline=None)
# found by Hypothesis: a re-send that came before its step was released was counted twice
# (accepted when it came, a duplicate when settled); in order it is only a duplicate
@example(seed=630, resend_share=0.001953125)
@given(seed=st.integers(0, 2**32 - 1), resend_share=st.floats(0.0, 0.1))
def test_any_permutation_gives_the_same_results_as_the_sorted_file(
    seed: int, resend_share: float
) -> None:
    rng = random.Random(seed)
    resent = [line for line in SORTED_LINES if rng.random() < resend_share]
    with tempfile.TemporaryDirectory() as tmp:
        base = _result(SORTED_LINES + resent, Path(tmp), "sorted")
        shuffled = rng.sample(SORTED_LINES + resent, len(SORTED_LINES) + len(resent))
        assert _result(shuffled, Path(tmp), "shuffled") == base


def test_external_sort_is_the_same_for_any_permutation_and_small_chunks(tmp_path: Path) -> None:
    lines = [*SORTED_LINES[:300], b"garbage\n", b"\n"]
    outputs = set()
    for seed in range(3):
        shuffled = random.Random(seed).sample(lines, len(lines))
        src = tmp_path / f"in{seed}.jsonl"
        src.write_bytes(b"".join(shuffled))
        ordered = sort_by_event_time(src, tmp_path / f"work{seed}", chunk_lines=37)
        body = [line.split(b"\t", 1)[1] for line in ordered.read_bytes().splitlines(True)]
        assert sorted(body) == sorted(lines)
        outputs.add(b"".join(body))
        assert not list((tmp_path / f"work{seed}").glob("run-*"))
    assert len(outputs) == 1


def _backlog_batch(lines: list[bytes], household_id: str, first: int, last: int) -> list[bytes]:
    """``lines`` with one household's readings of steps ``first``..``last`` taken out and sent
    as one head-end batch at the end of the file (an upload hours late)."""
    mine = [line for line in lines if orjson.loads(line).get("household_id") == household_id][
        first:last
    ]
    batch = {"kind": "batch", "source": "HEADEND-late", "readings": [orjson.loads(m) for m in mine]}
    return [line for line in lines if line not in mine] + [orjson.dumps(batch) + b"\n"]


def test_a_late_batch_spanning_hours_gives_the_results_of_its_readings_in_time_order(
    tmp_path: Path,
) -> None:
    """Kept whole at its earliest time, a 6-hour backlog would walk event time ahead and
    refuse every other meter's readings in between as late: the ordering splits it."""
    late = _backlog_batch(SORTED_LINES, "H4", 20, 44)
    base = _result(SORTED_LINES, tmp_path, "sorted")
    got = _result(late, tmp_path, "late")
    summary = orjson.loads((tmp_path / "late" / "summary.json").read_bytes())
    assert summary["input_order"] == "ordered by event time on disk (input was not)"
    assert summary["batches"] == 1 and summary["lines_read"] == len(late)
    assert got == base


def test_the_ordering_splits_only_a_valid_batch_that_spans_several_times(tmp_path: Path) -> None:
    late = _backlog_batch(SORTED_LINES[:200], "H4", 2, 6)
    one_instant = {"kind": "batch", "readings": [orjson.loads(SORTED_LINES[0])]}
    broken = late[-1][:-40] + b"\n"  # a truncated backlog: salvaged as one line later
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join([*late, orjson.dumps(one_instant) + b"\n", broken]))
    ordered = sort_by_event_time(src, tmp_path / "work")
    numbers = [line.split(b"\t", 1)[0] for line in ordered.read_bytes().splitlines()]
    n = len(late)
    assert sorted(x for x in numbers if b":" in x) == [b"%d:%d" % (n, i) for i in range(4)]
    assert b"%d" % (n + 1) in numbers and b"%d" % (n + 2) in numbers


def test_live_a_reading_ahead_of_the_wall_clock_never_moves_time() -> None:
    """Even three meters agreeing (a quorum) cannot move time past the worker's clock."""
    _, engine = run(FOUR, [])
    wall = [event_epoch(at(8).isoformat())]
    engine.wall_clock = lambda: wall[0]
    for s in range(1, 9):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    before = engine.clock.now
    for h in ("H1", "H2", "H3"):  # 3 h ahead of the wall clock; the bound is 2 h
        with pytest.raises(Rejected) as refused:
            engine.push(electric(h, 8 + 12), origin=f"offset {h}")
        assert str(refused.value).startswith(f"clock fault: household {h} stamped")
        assert "+3 h 00 min ahead of the worker's clock 2021-12-01T02:00:00+08:00" in str(
            refused.value
        )
    assert engine.clock.now == before
    engine.push(electric("H4", 8 + 4))  # 1 h ahead of the wall clock: ordinary data
    assert engine.clock.now == event_epoch(at(12).isoformat())
    wall[0] += 3 * 3600  # the real clock moved on: the same stamps are fine now
    engine.push(electric("H1", 8 + 12))
    assert engine.counters.clock_rejected == 3


def test_a_replay_has_no_wall_clock_and_follows_the_quorum() -> None:
    _, engine = run(FOUR, [])
    assert engine.wall_clock is None
    for s in range(1, 9):
        for h in ("H1", "H2", "H3", "H4"):
            engine.push(electric(h, s))
    for h in ("H1", "H2", "H3"):
        engine.push(electric(h, 8 + 12))
    assert engine.clock.now == event_epoch(at(20).isoformat())


def test_find_fast_copies_knows_a_meter_repeating_its_own_earlier_values(tmp_path: Path) -> None:
    from streams.core.eventclock import canonical as _canonical
    from streams.eventorder import find_fast_copies

    own = [electric("H1", s, kwh=0.1 * s) for s in range(1, 40)]
    copy = own[2].model_copy(update={"ts": at(3 + 24).isoformat()})  # its step 3, +6 h
    near = own[29].model_copy(update={"ts": at(31).isoformat()})  # its step 30, +15 min
    other = electric("H1", 35, kwh=9.9, voltage=224.0)  # a plain conflict
    lines = [r.model_dump_json().encode() for r in [*own, copy, near, other]]
    ordered = tmp_path / "ordered.tsv"
    ordered.write_bytes(b"".join(b"%d\t%s\n" % (n, line) for n, line in enumerate(lines, 1)))
    conflicts = [
        ["electric|H1", event_epoch(at(27).isoformat()), [_canonical(own[26]), _canonical(copy)]],
        ["electric|H1", event_epoch(at(31).isoformat()), [_canonical(own[30]), _canonical(near)]],
        ["electric|H1", event_epoch(at(35).isoformat()), [_canonical(own[34]), _canonical(other)]],
    ]
    fast = find_fast_copies(conflicts, ordered, skew_s=7200)
    assert fast == {event_epoch(at(27).isoformat()): {_canonical(copy): 6 * 3600}}


def test_a_stamp_before_the_window_makes_no_fast_copy(tmp_path: Path) -> None:
    """A reset clock (1970) repeating a reading's values is refused on its own; it must not
    turn the meter's on-time reading of a conflict into a "fast copy" of it."""
    from streams.core.eventclock import canonical as _canonical
    from streams.eventorder import find_fast_copies

    own = [electric("H1", s, kwh=0.1 * s) for s in range(1, 40)]
    reset = own[20].model_copy(update={"ts": "1970-01-01T00:30:00Z"})
    other = electric("H1", 21, kwh=9.9)
    lines = [r.model_dump_json().encode() for r in [reset, *own, other]]
    ordered = tmp_path / "ordered.tsv"
    ordered.write_bytes(b"".join(b"%d\t%s\n" % (n, line) for n, line in enumerate(lines, 1)))
    ts = event_epoch(at(21).isoformat())
    conflicts = [["electric|H1", ts, [_canonical(other), _canonical(own[20])]]]
    assert find_fast_copies(conflicts, ordered, skew_s=7200)  # without the window: a "copy"
    earliest = event_epoch("2000-01-01T00:00:00+08:00")
    assert find_fast_copies(conflicts, ordered, skew_s=7200, earliest_s=earliest) == {}
