"""The engine's parts own their state: each part's snapshot survives JSON and a restore into a
fresh part unchanged, another format version is refused naming both, and the event clock's
decisions (hold, move by quorum, expire) are its own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from contract.registry import Household
from contract.telemetry import WIRE_ADAPTER, Batch, event_epoch
from formats.registry_csv import load_registry_csv
from producers.simulate import SimulationConfig, simulate
from streams.core.conflicts import Conflicts, FastCopy, Refused
from streams.core.context import Metric
from streams.core.engine import Engine, Rejected
from streams.core.eventclock import Ahead, EventClock, StreamStart, canonical
from streams.core.eventtime import ClockFaultJudge
from streams.core.incidents import Change
from streams.core.persist import STATE_FORMAT, export_state, import_state
from streams.core.reorder import ReorderBuffer
from streams.core.revisions import Revisable
from streams.core.settings import DetectionSettings
from streams.core.snapshots import StateFormatError
from streams.core.sources import SOURCE_KINDS, Source

from .scenario import T0, electric


class Quiet:
    def incident(self, change: Change, incident: Any) -> None: ...

    def rollups(self, days: list[Any]) -> None: ...

    def metric(self, metric: Metric) -> None: ...


@pytest.fixture(scope="module")
def half_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Household], Engine]:
    """An engine stopped half-way through a simulated fleet with faults: every part holds
    something (held steps, contested readings, kept rollups, clock faults)."""
    out = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(households=120, days=3, batches=False, faults=True), out)
    registry, _ = load_registry_csv(out / "registry.csv")
    engine = Engine(registry, DetectionSettings(), Quiet())
    engine.conflict_log = []  # a replay's record of conflicts: the conflicts part holds some
    readings: list[Any] = []
    for line in (out / "readings.jsonl").read_bytes().splitlines():
        try:
            msg = WIRE_ADAPTER.validate_json(line)
        except ValueError:
            continue  # malformed lines: the adapters' dead letters
        readings.extend(msg.readings if type(msg) is Batch else [msg])
    for r in readings[: len(readings) * 2 // 3]:
        with contextlib.suppress(Rejected):
            engine.push(r)
    # a meter clock reset: a reading stamped outside the programme's window (a clock fault)
    first = next(r for r in readings if r.kind == "electric")
    for _ in range(DetectionSettings().clock_fault_readings):
        with pytest.raises(Rejected, match="clock fault"):
            engine.push(first.model_copy(update={"ts": "1999-12-01T00:15:00+08:00"}))
    # a gas meter's impossible volume: refused at once, counted per device (the refusals)
    gas = next(r for r in readings if r.kind == "gas")
    with pytest.raises(Rejected, match="implausible"):
        engine.push(gas.model_copy(update={"m3": 1e6}))
    engine.take_rejections()
    return registry, engine


def _json(data: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(data))
    assert loaded == data  # plain data: nothing orjson would change
    return loaded


PARTS = sorted(Engine([], DetectionSettings(), Quiet()).parts)


def test_every_moving_part_is_checkpointed(half_run: tuple[list[Household], Engine]) -> None:
    """A part the engine wires is in ``parts`` (and so in a checkpoint) or is the buffer."""
    _, engine = half_run
    wired = {n for n, v in vars(engine).items() if hasattr(v, "snapshot") and hasattr(v, "restore")}
    assert wired == set(engine.parts) | {"buffer"}


@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_part_snapshot_survives_json_and_restore(
    half_run: tuple[list[Household], Engine], name: str
) -> None:
    registry, engine = half_run
    fresh = Engine(registry, DetectionSettings(), Quiet())
    part, other = engine.parts[name], fresh.parts[name]
    stored = _json(part.snapshot())
    assert stored != other.snapshot() or name == "start"  # the run changed it (start: maybe)
    other.restore(stored)
    assert other.snapshot() == part.snapshot()


@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_part_refuses_another_format(half_run: tuple[list[Household], Engine], name: str) -> None:
    _, engine = half_run
    stored = _json(engine.parts[name].snapshot())
    stored["format"] = 99
    with pytest.raises(StateFormatError, match=r"format 99 .*reads format 1"):
        Engine([], DetectionSettings(), Quiet()).parts[name].restore(stored)


def test_the_buffer_snapshot_puts_back_every_waiting_reading(
    half_run: tuple[list[Household], Engine],
) -> None:
    registry, engine = half_run
    fresh = Engine(registry, DetectionSettings(), Quiet())
    stored = _json(engine.buffer.snapshot(lambda origin: origin))
    assert stored["buffered"]
    fresh.buffer.restore(stored, lambda origin: origin, fresh.devices.entry_of)
    assert fresh.buffer.buffered() == engine.buffer.buffered()
    assert fresh.buffer.contested_readings() == engine.buffer.contested_readings()
    assert fresh.buffered_steps == engine.buffered_steps


def test_the_engine_own_snapshot_round_trips(half_run: tuple[list[Household], Engine]) -> None:
    registry, engine = half_run
    fresh = Engine(registry, DetectionSettings(), Quiet())
    fresh.restore_own(_json(engine.own_snapshot()))
    assert fresh.own_snapshot() == engine.own_snapshot()
    assert fresh.released_until == engine.released_until > 0


def test_a_checkpoint_of_the_previous_format_is_refused(
    half_run: tuple[list[Household], Engine],
) -> None:
    registry, engine = half_run
    state = export_state(engine)
    state["format"] = 5  # the entities were a reflection over their slots, the devices, conflicts
    # and refusals the engine's, until format 6
    with pytest.raises(StateFormatError, match=rf"format 5 .*reads format {STATE_FORMAT}"):
        import_state(Engine(registry, DetectionSettings(), Quiet()), state)


def test_empty_parts_snapshot_to_their_initial_state() -> None:
    settings = DetectionSettings()
    fresh: list[Callable[[], Any]] = [
        lambda: EventClock(settings),
        lambda: StreamStart(settings, 3),
        Revisable,
        ClockFaultJudge,
        lambda: Conflicts(settings),
    ]
    for make in fresh:
        part, again = make(), make()
        again.restore(_json(part.snapshot()))
        assert again.snapshot() == part.snapshot()
    buffer = ReorderBuffer()
    assert buffer.snapshot(lambda o: o) == {"format": 1, "buffered": [], "contested": []}


# --- the event clock decides alone ---------------------------------------------------------
NOW = event_epoch(T0.isoformat())


def _far_ahead(settings: DetectionSettings) -> tuple[int, int]:
    """A step more than the skew bound ahead of NOW: (its index, its epoch)."""
    step = settings.clock_skew_s // 900 + 2
    return step, NOW + step * 900


def _entry(source: object, step: int) -> tuple[Any, ...]:
    return (None, None, electric("H1", step), None, source)


def test_a_step_far_ahead_is_held_until_a_quorum_of_sources_agrees() -> None:
    settings = DetectionSettings()
    clock = EventClock(settings)
    clock.now = NOW
    step, ahead = _far_ahead(settings)
    one = [_entry(object(), step)]
    assert clock.ahead(ahead, one, one[0][2], quorum=3) is Ahead.HELD
    assert clock.held == {ahead: NOW} and clock.now == NOW
    assert clock.came_ahead[ahead]
    many = [*one, _entry(object(), step), _entry(object(), step)]
    assert clock.ahead(ahead, many, many[-1][2], quorum=3) is Ahead.MOVED
    assert clock.now == ahead and not clock.held and not clock.came_ahead


def test_the_same_source_three_times_is_no_quorum() -> None:
    settings = DetectionSettings()
    clock = EventClock(settings)
    clock.now = NOW
    step, ahead = _far_ahead(settings)
    source = object()
    same = [_entry(source, step) for _ in range(3)]
    assert clock.ahead(ahead, same, same[0][2], quorum=3) is Ahead.HELD


def test_the_held_ahead_limit_is_the_clocks_answer() -> None:
    settings = DetectionSettings(clock_held_max=1)
    clock = EventClock(settings)
    clock.now = NOW
    step, ahead = _far_ahead(settings)
    first = [_entry(object(), step)]
    assert clock.ahead(ahead, first, first[0][2], quorum=3) is Ahead.HELD
    second = [_entry(object(), step + 1)]
    assert clock.ahead(ahead + 900, second, second[0][2], quorum=3) is Ahead.OVER_LIMIT
    assert list(clock.held) == [ahead]


def test_held_steps_expire_after_the_hold_or_at_the_end() -> None:
    settings = DetectionSettings()
    clock = EventClock(settings)
    clock.now = NOW
    far = NOW + 2 * settings.clock_hold_s + settings.clock_skew_s
    clock.held = {far: NOW, NOW - 900: NOW - 1800}
    assert clock.expired(all_ahead=False) == []  # the one time reached is admitted
    assert list(clock.held) == [far]
    clock.now += settings.clock_hold_s
    assert clock.expired(all_ahead=False) == [far]
    clock.held = {far * 2: clock.now}
    assert clock.expired(all_ahead=True) == [far * 2]


def test_the_stream_starts_at_the_quorum_th_earliest_meter() -> None:
    settings = DetectionSettings()
    start = StreamStart(settings, meters=10)
    start.note("electric|behind", NOW - 6 * 3600, released=False)  # a clock hours behind
    assert not start.known
    for i in range(settings.time_quorum):
        start.note(f"electric|H{i}", NOW + i * 900, released=False)
    start.at_first_release()
    assert start.known
    assert start.at == NOW + (settings.time_quorum - 2) * 900  # not the clock behind
    assert start.silence_since(NOW + 86_400) == start.at


def test_until_enough_meters_started_nothing_is_silent_yet() -> None:
    settings = DetectionSettings()
    start = StreamStart(settings, meters=10)
    start.note("electric|H1", NOW, released=False)
    start.at_first_release()
    assert not start.known and start.at == NOW  # provisional: for a clock fault's start
    assert start.silence_since(NOW + 900) == NOW + 900
    # after twice the skew bound the start is fixed with the meters that did start
    assert start.silence_since(NOW + 2 * settings.clock_skew_s) == NOW
    assert start.known


def test_a_detector_part_stored_with_other_fields_is_refused(
    half_run: tuple[list[Household], Engine],
) -> None:
    registry, engine = half_run
    state = export_state(engine)
    row = next(iter(state["feeders"]["rows"].values()))
    row[5] = [*row[5], 0]  # its overload Streak, as a later Streak might store it
    with pytest.raises(StateFormatError, match=r"feeders '.*': stored row does not fit"):
        import_state(Engine(registry, DetectionSettings(), Quiet()), state)


def test_an_entity_class_of_another_format_is_refused(
    half_run: tuple[list[Household], Engine],
) -> None:
    registry, engine = half_run
    state = export_state(engine)
    state["heat_homes"]["format"] = 0
    with pytest.raises(StateFormatError, match=r"HeatHomeState state format 0 .*reads format 2"):
        import_state(Engine(registry, DetectionSettings(), Quiet()), state)


def test_detector_parts_survive_a_checkpoint(half_run: tuple[list[Household], Engine]) -> None:
    registry, engine = half_run
    restored = import_state(
        Engine(registry, DetectionSettings(), Quiet()), _json(export_state(engine))
    )
    households = engine.households.values()
    assert any(st.gas.used and st.gas.recent for st in households)  # days of gas closed
    for hid, st in engine.households.items():
        again = restored.households[hid]
        assert again.gas == st.gas and again.storage == st.storage, hid


# --- the conflicts part settles a contested step alone -----------------------------------
def test_conflicts_settle_a_step_by_content_and_log_what_they_kept() -> None:
    settings = DetectionSettings()
    conflicts = Conflicts(settings)
    conflicts.log = []
    kind = SOURCE_KINDS["electric"]
    meter = SimpleNamespace(energy_cap=1.0)  # kWh/s: any reading here is physical
    h1, h2 = Source(kind, "H1", meter), Source(kind, "H2", meter)
    first, resend = electric("H1", 4, kwh=0.5), electric("H1", 4, kwh=0.5)
    other = electric("H1", 4, kwh=0.1)
    bucket = [(None, meter, first, "a", h1), (None, meter, electric("H2", 4), "b", h2)]
    extras = [(None, meter, resend, "c", h1), (None, meter, other, "d", h1)]
    settled = conflicts.settle(bucket, extras, None)
    assert settled.duplicates == 1
    (refused,) = settled.refused
    assert type(refused) is Refused and refused.origin == "d"  # the larger JSON won: 0.5 kWh
    assert bucket[0][2] is first and "conflict: electric of household H1" in refused.reason
    assert [row[0] for row in conflicts.log] == ["electric|H1"]
    # a fast clock's copy meeting the meter's own reading: a clock fault, not a conflict
    copy = electric("H1", 8, kwh=0.7)
    fast = {canonical(copy): 6 * 3600}
    bucket = [(None, meter, electric("H1", 8), "e", h1)]
    settled = conflicts.settle(bucket, [(None, meter, copy, "f", h1)], fast)
    (refused,) = settled.refused
    assert type(refused) is FastCopy and refused.entry[3] == "f" and refused.offset == 6 * 3600
    assert bucket[0][3] == "e" and len(conflicts.log) == 1
