"""Admission: the same instant in any UTC offset, a stream's start no single source can
drag, a batch that keeps its good readings — each through both runners."""

from __future__ import annotations

import contextlib
from datetime import timedelta, timezone
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.telemetry import WIRE_ADAPTER, AnyReading, ElectricReading
from streams.core.engine import Engine, Rejected
from streams.core.settings import DetectionSettings
from streams.ingest import Tally, ingest_record
from tests.unit.streams.runners import both
from tests.unit.streams.scenario import Collected, at, electric, household

HOMES = [f"H{i}" for i in range(8)]
REGISTRY = [household(h) for h in HOMES]


def _in_offset(r: ElectricReading, minutes: int) -> ElectricReading:
    """The same instant written with another UTC offset (``Z`` for UTC when minutes is 0)."""
    when = at(0).fromisoformat(r.ts).astimezone(timezone(timedelta(minutes=minutes)))
    text = when.isoformat().replace("+00:00", "Z") if minutes == 0 else when.isoformat()
    return r.model_copy(update={"ts": text})


def _day(steps: range = range(1, 97)) -> list[AnyReading]:
    return [electric(h, s, kwh=0.1 + 0.01 * i) for s in steps for i, h in enumerate(HOMES)]


offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: q * 15)


@settings(max_examples=40, deadline=None)
@given(offset=offsets, step=st.integers(1, 95), home=st.sampled_from(HOMES))
def test_a_re_send_in_another_offset_is_a_duplicate(offset: int, step: int, home: str) -> None:
    readings = _day()
    i = HOMES.index(home)
    original = readings[(step - 1) * len(HOMES) + i]
    assert isinstance(original, ElectricReading)
    readings.insert(step * len(HOMES) + 3, _in_offset(original, offset))
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    for r in readings:
        engine.push(r)
    engine.flush()
    assert engine.take_rejections() == []
    assert (engine.counters.duplicates, engine.counters.conflicts) == (1, 0)


@settings(max_examples=20, deadline=None)
@given(offset=offsets, step=st.integers(1, 95))
def test_a_conflicts_winner_does_not_depend_on_the_offset(offset: int, step: int) -> None:
    """Two different values for one instant: the same one is kept however either is written."""
    # differs from H0's own reading only after ``ts`` in the canonical text (voltage_v): a
    # ranking on the text as written would let the offset decide
    other = electric("H0", step, kwh=0.1, voltage=226.0)

    def kept(rewrite: bool) -> float:
        readings = _day()
        readings.insert(step * len(HOMES) + 3, _in_offset(other, offset) if rewrite else other)
        engine = Engine(REGISTRY, DetectionSettings(), Collected())
        for r in readings:
            engine.push(r)
        engine.flush()
        (rejection,) = engine.take_rejections()
        return orjson.loads(rejection[2].split("rejected ", 1)[1])["voltage_v"]

    assert kept(False) == kept(True)


def test_re_sends_in_utc_are_duplicates_on_both_runners(tmp_path: Path) -> None:
    """A head-end re-sends two hours of the day in UTC (``Z`` and ``+00:00``), each a step
    after the original (within the lateness bound)."""
    lines: list[bytes] = []
    resend: list[bytes] = []
    for step in range(1, 97):
        lines += resend
        resend = []
        for n, h in enumerate(HOMES):
            r = electric(h, step, kwh=0.1 + 0.01 * n)
            lines.append(orjson.dumps(r.model_dump(mode="json")))
            if 40 <= step < 48:
                again = _in_offset(r, 0)
                text = again.ts if n % 2 else again.ts.replace("Z", "+00:00")
                resend.append(orjson.dumps(r.model_dump(mode="json") | {"ts": text}))
    replayed, worked = both(REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead == []
    assert replayed.incidents == worked.incidents


MANY = [f"M{i:02d}" for i in range(80)]  # a partition of many households
MANY_REGISTRY = [household(h) for h in MANY]


def _behind_meter_lines(behind_s: int, sorted_by_time: bool, for_steps: int = 96) -> list[bytes]:
    """A day of 30 meters; M00's clock runs ``behind_s`` behind for its first ``for_steps``
    readings (each stamped that much earlier, arriving with the others' readings of the
    same real step), then is set right."""
    rows: list[tuple[int, bytes]] = []
    for step in range(1, 97):
        for n, h in enumerate(MANY):
            r = electric(h, step, kwh=0.1 + 0.01 * n)
            data = r.model_dump(mode="json")
            stamp = at(step)
            if h == "M00" and step <= for_steps:
                stamp = stamp - timedelta(seconds=behind_s)
                data["ts"] = stamp.isoformat()
            rows.append((int(stamp.timestamp()) if sorted_by_time else step, orjson.dumps(data)))
    rows.sort(key=lambda row: row[0])
    return [line for _, line in rows]


@settings(max_examples=6, deadline=None)
@given(behind_h=st.sampled_from([1, 2, 3, 6]), sorted_by_time=st.booleans())
def test_one_meter_behind_at_the_start_does_not_drag_the_streams_start(
    behind_h: int, sorted_by_time: bool
) -> None:
    lines = _behind_meter_lines(behind_h * 3600, sorted_by_time)
    out = Collected()
    engine = Engine(MANY_REGISTRY, DetectionSettings(), out)
    for line in lines:
        with contextlib.suppress(Rejected):  # M00's readings before the start: clock faults
            engine.push(WIRE_ADAPTER.validate_json(line))
    engine.flush()
    assert engine.start.at == int(at(0).timestamp())
    silent = {i.entity_id for i in out.incidents.values() if i.kind.value == "comm_loss"}
    assert silent <= {"M00"}


def test_a_meter_two_hours_behind_at_the_start_gives_one_result_on_both_runners(
    tmp_path: Path,
) -> None:
    """Behind for the file's first 2 h, then set right: on both runners only M00 has a gap
    (one comm_loss), nobody else is silent, nothing is refused. Where M00's own gap starts
    differs by design: the worker takes its late readings as they come (revisions), the
    replay in event order (docs/event-time.md, "Lateness vs the order of a file")."""
    lines = _behind_meter_lines(2 * 3600, sorted_by_time=False, for_steps=8)
    replayed, worked = both(MANY_REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead == []
    for seen in (replayed, worked):
        assert len(seen.incidents) == 1
        assert all(i.startswith("comm_loss") for i in seen.incidents)


def _batch_lines(n: int, truncated: set[int], step: int = 1) -> bytes:
    """A concentrator batch of ``n`` readings (households of ``MANY``, steps from ``step``)
    with the readings at ``truncated`` cut off inside (their closing brace and tail lost)."""
    items = []
    for i in range(n):
        r = electric(MANY[i % len(MANY)], step + i // len(MANY), kwh=0.1 + 0.001 * (i % 97))
        text = orjson.dumps(r.model_dump(mode="json"))
        items.append(text[: len(text) * 2 // 3] if i in truncated else text)
    return b'{"kind":"batch","source":"DC-F-1","readings":[' + b",".join(items) + b"]}"


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 120),
    cut=st.sets(st.integers(0, 119), max_size=6),
    spaced=st.booleans(),
)
def test_a_batch_with_truncated_readings_keeps_the_rest(
    n: int, cut: set[int], spaced: bool
) -> None:
    truncated = {i for i in cut if i < n}
    line = _batch_lines(n, truncated)
    if spaced:
        line = line.replace(b",{", b", \n {")  # whitespace between readings changes nothing
    engine = Engine(MANY_REGISTRY, DetectionSettings(), Collected())
    dead: list[tuple[int | None, str]] = []
    ingest_record(engine, line, 1, lambda o, i, raw, why: dead.append((i, why)), Tally())
    assert [i for i, _ in dead] == sorted(truncated)
    assert all(why.startswith(f"readings[{i}]: malformed JSON: ") for i, why in dead)
    assert engine.counters.accepted == n - len(truncated)


def test_a_broken_line_that_is_no_batch_is_one_dead_letter() -> None:
    engine = Engine(MANY_REGISTRY, DetectionSettings(), Collected())
    dead: list[str] = []
    for line in (b'{"kind":"electric","household_id":"M00","ts":"2021-12-01T00:15', b"{[}"):
        ingest_record(engine, line + b"\n", 1, lambda o, i, raw, why: dead.append(why), Tally())
    assert len(dead) == 2 and all(why.startswith("malformed JSON: ") for why in dead)
    assert "line 1 column" in dead[0]  # the record's own position, not the file's newline


def test_a_large_broken_batch_and_a_truncated_line_read_alike_on_both_runners(
    tmp_path: Path,
) -> None:
    """A 20,000-reading batch with truncated readings inside keeps every whole reading, and a
    truncated line gets the same reason (its own line and column) from both runners."""
    whole = [
        orjson.dumps(electric(h, s, kwh=0.2).model_dump(mode="json"))
        for s in range(1, 4)
        for h in MANY
    ]
    truncated_line = whole[5][:60]
    big = _batch_lines(20_000, {7, 8, 9_999, 19_999}, step=4)
    lines = [*whole[:40], truncated_line, *whole[40:], big]
    replayed, worked = both(MANY_REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead
    reasons = replayed.reasons()
    assert len(reasons) == 5
    assert sum(r.startswith("malformed JSON: ") and "line 1 column 60" in r for r in reasons) == 1
    assert sum(r.startswith("readings[") for r in reasons) == 4
    assert replayed.incidents == worked.incidents


def test_a_partition_of_network_homes_without_sensors_does_not_wait_for_devices_it_lacks() -> None:
    """100 network homes, two heat stations, nothing else reports: time starts from the two
    stations (never waiting for seven sources the partition does not have)."""
    from tests.unit.streams.test_heat import heat_station, net_household

    homes = [net_household(f"N{i:03d}", station="HS-1" if i % 2 else "HS-2") for i in range(100)]
    engine = Engine(homes, DetectionSettings(), Collected())
    for step in range(1, 13):
        engine.push(heat_station(step, sid="HS-1"))
        engine.push(heat_station(step, sid="HS-2"))
    assert engine.released_until == int(at(9).timestamp())  # 3 h in: released up to 2:15


FEW = [f"S{i:02d}" for i in range(12)]  # a village feeder: too few households to wait for 7
FEW_REGISTRY = [household(h) for h in FEW]


def _few_lines(behind_s: int, silent: str | None = None) -> list[bytes]:
    """A day of 12 meters in event-time order; S00's clock runs ``behind_s`` behind the
    whole day, so its readings head the file; ``silent`` never reports."""
    rows: list[tuple[int, bytes]] = []
    for h in FEW:
        if h == silent:
            continue
        for step in range(1, 97):
            data = electric(h, step, kwh=0.2).model_dump(mode="json")
            stamp = at(step) - timedelta(seconds=behind_s if h == "S00" else 0)
            data["ts"] = stamp.isoformat()
            rows.append((int(stamp.timestamp()), orjson.dumps(data)))
    rows.sort(key=lambda row: row[0])
    return [line for _, line in rows]


def _silent_meters(lines: list[bytes]) -> set[str]:
    out = Collected()
    engine = Engine(FEW_REGISTRY, DetectionSettings(), out)
    for line in lines:
        engine.push(WIRE_ADAPTER.validate_json(line))
    engine.flush()
    return {i.entity_id for i in out.incidents.values() if i.kind.value == "comm_loss"}


def test_in_a_small_partition_a_meter_behind_does_not_make_the_others_silent(
    tmp_path: Path,
) -> None:
    """The quorum of starts counts in small partitions too: S00 starts 2 h early and alone;
    until two more meters have started nobody who never reported is judged silent (before:
    a comm_loss from 22:00 on each of the 11 others and one on their feeder)."""
    lines = _few_lines(2 * 3600)
    assert _silent_meters(lines) <= {"S00"}  # its stamps end 2 h before the file does
    replayed, worked = both(FEW_REGISTRY, lines, tmp_path)
    assert replayed.incidents == worked.incidents
    assert len(replayed.incidents) <= 1


def test_in_a_small_partition_a_meter_that_never_reports_is_still_silent(
    tmp_path: Path,
) -> None:
    lines = _few_lines(0, silent="S05")
    assert _silent_meters(lines) == {"S05"}
    replayed, worked = both(FEW_REGISTRY, lines, tmp_path)
    assert replayed.incidents == worked.incidents and len(replayed.incidents) == 1
