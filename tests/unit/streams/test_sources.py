"""The source-kind registry: every reading kind declared with every part, and a source is a
device — (reading kind, device id) — never a household and a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contract.glossary import READING_KINDS
from contract.keys import concentrator_key, household_key
from contract.telemetry import WIRE_ADAPTER, AnyReading
from producers.kafka_producer import Router
from streams.core.engine import Engine, Rejected
from streams.core.persist import export_state, import_state
from streams.core.settings import DetectionSettings
from streams.core.sources import (
    KIND_BY_MODEL,
    SOURCE_KINDS,
    Keying,
    Plausibility,
    Revision,
    Unknown,
)
from streams.ingest import describe_validation_error
from tests.unit.streams.runners import both
from tests.unit.streams.scenario import Collected, at, electric, gas, gas_household, household
from tests.unit.streams.test_heat import heat_meter, heat_station, indoor, net_household

# One valid reading of every kind (the registry test fails for a kind without one).
SAMPLES: dict[str, dict[str, Any]] = {
    "electric": {"household_id": "H1", "interval_s": 900, "kwh": 0.5, "kw": 2.0, "voltage_v": 225},
    "gas": {
        "household_id": "G1",
        "interval_s": 900,
        "m3": 0.3,
        "flow_m3h": 1.2,
        "pressure_kpa": 2.0,
    },
    "feeder": {"feeder_id": "F-1", "kw": 40.0, "rated_kva": 100.0},
    "gas_station": {"station_id": "GS-1", "outlet_pressure_kpa": 2.4, "flow_m3h": 5.0},
    "weather": {"county": "忻府区", "temp_c": -8.0},
    "heat_station": {
        "heat_station_id": "HS-1",
        "secondary_supply_c": 60.0,
        "secondary_return_c": 45.0,
        "supply_pressure_kpa": 350.0,
        "flow_m3h": 30.0,
        "heat_kw": 500.0,
    },
    "indoor_temp": {"household_id": "N0", "temp_c": 20.5},
    "heat_meter": {
        "household_id": "N0",
        "interval_s": 900,
        "supply_c": 60.0,
        "return_c": 45.0,
        "flow_m3h": 0.05,
        "energy_kwh": 0.2,
    },
    "stack_emission": {
        "heat_station_id": "HS-1",
        "interval_s": 900,
        "particulates_mg_m3": 3.0,
        "so2_mg_m3": 20.0,
        "nox_mg_m3": 35.0,
        "o2_pct": 9.0,
        "flue_flow_m3h": 8000.0,
    },
}
REGISTRY = [
    household("H1"),
    gas_household("G1"),
    net_household("N0"),
    net_household("N1"),
]


def sample(kind: str, **over: Any) -> dict[str, Any]:
    return {"kind": kind, "ts": at(1).isoformat(), **SAMPLES[kind], **over}


def test_every_contract_kind_is_declared_once_with_every_part() -> None:
    models = set(get_args(AnyReading))
    assert set(KIND_BY_MODEL) == models, "a reading kind of the contract has no SourceKind"
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    for tag, kind in SOURCE_KINDS.items():
        assert kind.kind == tag == kind.model.model_fields["kind"].default
        assert kind.device_field in kind.model.model_fields, tag
        assert kind.label in READING_KINDS, f"{tag}: no glossary label"
        assert isinstance(kind.targets(engine), dict), tag
        assert callable(kind.handler), tag
        assert (kind.check is None) == (kind.plausibility is Plausibility.NONE), tag
        assert kind.revision is Revision.NONE or kind.revision in engine.backfill.rules, tag
        assert kind.on_unknown is Unknown.CREATE or "X-9" in kind.unknown("X-9"), tag
        assert (kind.on_unknown is Unknown.CREATE) == (kind.create is not None), tag
        assert tag in SAMPLES, f"{tag}: add a sample reading to this test"
        reading = WIRE_ADAPTER.validate_python(sample(tag))
        assert type(reading) is kind.model
        if kind.starts_stream:
            assert "interval_s" in kind.model.model_fields, tag
    # every revision rule the registry can name has its implementation in the engine
    assert set(Revision) - {Revision.NONE} == set(engine.backfill.rules)


@pytest.mark.parametrize("tag", sorted(SOURCE_KINDS))
def test_the_producer_keys_each_kind_as_declared(tag: str) -> None:
    kind = SOURCE_KINDS[tag]
    key, broadcast = Router(REGISTRY).route(orjson.dumps(sample(tag)))
    device = SAMPLES[tag][kind.device_field]
    if kind.keying is Keying.BROADCAST:
        assert broadcast
    elif kind.keying is Keying.DEVICE:
        assert (key, broadcast) == (concentrator_key(device), False)
    else:
        (hh,) = [h for h in REGISTRY if h.household_id == device]
        assert (key, broadcast) == (household_key(hh), False)


@pytest.mark.parametrize("tag", sorted(SOURCE_KINDS))
def test_a_dead_letter_names_the_field_without_the_kind_tag(tag: str) -> None:
    """``temp_c: …`` for an indoor sensor as ``m3: …`` for a gas meter: no kind prefix."""
    field = SOURCE_KINDS[tag].device_field
    with pytest.raises(ValidationError) as exc:
        WIRE_ADAPTER.validate_python(sample(tag, **{field: 17}))
    assert describe_validation_error(exc.value).startswith(f"wrong type: {field}: ")


def _home_day(steps: range) -> list[AnyReading]:
    out: list[AnyReading] = []
    for s in steps:
        out += [heat_station(s), indoor("N0", s), heat_meter("N0", s)]
    return out


def test_an_indoor_sensor_and_a_heat_meter_of_one_home_are_two_sources(tmp_path: Path) -> None:
    readings = _home_day(range(1, 97))
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    for r in readings:
        engine.push(r)
    engine.flush()
    assert engine.counters.conflicts == engine.counters.duplicates == 0
    assert engine.counters.processed == len(readings)
    assert set(engine.sources["indoor_temp"]) == set(engine.sources["heat_meter"]) == {"N0"}
    assert not engine.clock_faults.counts
    lines = [orjson.dumps(r.model_dump(mode="json")) for r in readings]
    replayed, worked = both(REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead == []
    assert replayed.incidents == worked.incidents


def _two_devices_disagree(meter_first: bool) -> list[AnyReading]:
    """A day of N0 whose indoor sensor is cold 08:00-12:00 while its heat meter shows heat
    (a radiator valve closed in the sampled room), each step's two readings in either order."""
    out: list[AnyReading] = []
    for s in range(1, 97):
        room = indoor("N0", s, temp=14.0 if 32 < s <= 48 else 20.5)
        pair = [heat_meter("N0", s), room] if meter_first else [room, heat_meter("N0", s)]
        out += [heat_station(s), *pair]
    return out


def test_a_home_with_both_devices_gets_one_day_whatever_order_they_arrive_in(
    tmp_path: Path,
) -> None:
    """The indoor sensor is the home's evidence for a step both devices report: the same
    household day (cold minutes, evidence) and incidents in either arrival order, and on
    both runners (before, the device judged first at a step won: 240 cold minutes or 0)."""
    seen = []
    for meter_first in (False, True):
        out = Collected()
        engine = Engine(REGISTRY, DetectionSettings(), out)
        for r in _two_devices_disagree(meter_first):
            engine.push(r)
        engine.flush()
        (day,) = [d for d in out.days if d.household_id == "N0"]
        seen.append((day, sorted(out.incidents)))
    assert seen[0] == seen[1]
    day = seen[0][0]
    assert day.evidence == "heat_station+indoor" and day.shortfall_minutes >= 240
    lines = [orjson.dumps(r.model_dump(mode="json")) for r in _two_devices_disagree(True)]
    replayed, worked = both(REGISTRY, lines, tmp_path)
    assert replayed.incidents == worked.incidents == set(seen[0][1])


def test_an_electric_and_a_gas_meter_of_one_household_are_two_sources() -> None:
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    readings: list[AnyReading] = [
        r for s in range(1, 97) for r in (electric("G1", s), gas("G1", s))
    ]
    for r in readings:
        engine.push(r)
    engine.flush()
    assert engine.counters.conflicts == 0
    assert engine.counters.processed == len(readings)


def test_two_values_of_one_device_for_one_time_are_a_conflict_naming_it(tmp_path: Path) -> None:
    readings = _home_day(range(1, 97))
    readings.insert(30, heat_meter("N0", 10, energy=0.9))  # a second value for step 10
    lines = [orjson.dumps(r.model_dump(mode="json")) for r in readings]
    replayed, worked = both(REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead
    (reason,) = replayed.reasons()
    assert reason.startswith("conflict: heat_meter of household N0 sent two different readings")
    assert replayed.incidents == worked.incidents


@settings(max_examples=30, deadline=None)
@given(
    resent=st.lists(st.tuples(st.integers(1, 95), st.booleans()), max_size=12),
)
def test_re_sends_of_either_device_are_duplicates_never_conflicts(
    resent: list[tuple[int, bool]],
) -> None:
    readings: list[AnyReading] = []
    for s in range(1, 97):  # a re-send right after the step's originals (within the lateness)
        readings += _home_day(range(s, s + 1))
        readings += [
            heat_meter("N0", s) if meter else indoor("N0", s) for t, meter in resent if t == s
        ]
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    for r in readings:
        engine.push(r)
    engine.flush()
    assert engine.counters.conflicts == 0
    assert engine.counters.duplicates == len(resent)
    assert engine.counters.processed == len(readings) - len(resent)


def test_a_devices_identity_survives_a_checkpoint() -> None:
    readings = _home_day(range(1, 40))
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    for r in readings:
        engine.push(r)
    state = orjson.loads(orjson.dumps(export_state(engine)))
    restored = import_state(Engine(REGISTRY, DetectionSettings(), Collected()), state)
    clocks = {
        (k, d): (s.last_push, s.last_ts) for k, by in engine.sources.items() for d, s in by.items()
    }
    assert clocks == {
        (k, d): (s.last_push, s.last_ts)
        for k, by in restored.sources.items()
        for d, s in by.items()
    }
    restored.push(heat_meter("N0", 39))  # its re-send is a duplicate after the restore too
    assert restored.counters.conflicts == 0


def test_a_late_upload_of_one_device_is_its_own_and_not_lost() -> None:
    """The heat meter is silent for steps 30-60 (no heat at the meter) while the indoor
    sensor reports; its backlog arrives at step 61. Coverage is per device (issue 20): the
    sensor's live readings never covered the meter's silence, so the backlog is the meter's
    own next readings — nothing dead-lettered as late, and the home's day is the day of the
    same readings sent in time."""

    def day(backlog: bool) -> tuple[Any, list[str]]:
        readings: list[AnyReading] = []
        for s in range(1, 97):
            readings += [heat_station(s), indoor("N0", s, temp=15.0 if s < 45 else 20.5)]
            if s == 61 and backlog:
                readings += [heat_meter("N0", t, energy=0.0) for t in range(30, 61)]
            if not 30 <= s <= 60:
                readings.append(heat_meter("N0", s))
            elif not backlog:
                readings.append(heat_meter("N0", s, energy=0.0))
        out = Collected()
        engine = Engine(REGISTRY, DetectionSettings(), out)
        for r in readings:
            try:
                engine.push(r)
            except Rejected as exc:
                engine.rejections.append((None, r, str(exc)))
        engine.flush()
        return out.day_of("N0"), [why for _, _, why in engine.take_rejections()]

    with_backlog, reasons = day(backlog=True)
    in_time, _ = day(backlog=False)
    assert reasons == []
    assert with_backlog.model_dump() == in_time.model_dump()
    assert with_backlog.shortfall_minutes > 0  # the meter's heatless steps count


def test_a_silent_indoor_sensor_is_a_silence_though_its_homes_heat_meter_reports() -> None:
    """Each device's silence is its own (issue 20): N0's indoor sensor is silent 10:00-14:00
    while its heat meter reports every interval — a comm_loss naming the indoor sensor, from
    its last reading to its next."""
    readings: list[AnyReading] = []
    for s in range(1, 97):
        readings += [heat_station(s), heat_meter("N0", s)]
        if not 41 <= s <= 56:
            readings.append(indoor("N0", s))
    out = Collected()
    engine = Engine(REGISTRY, DetectionSettings(), out)
    for r in readings:
        engine.push(r)
    engine.flush()
    (silence,) = [i for i in out.of_kind("comm_loss") if i.entity_id == "N0"]
    assert silence.details["device"] == "indoor"
    assert (silence.started_at, silence.ended_at) == (at(40), at(57))
