"""Late data revises the record of truth: a concentrator's readings uploaded hours (or a day)
late fill its meters' gaps; rollups end equal to those of perfectly ordered input."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contract.telemetry import event_epoch
from streams.core.engine import AnyReading, Engine, Rejected
from streams.core.persist import export_state, import_state
from streams.core.settings import DetectionSettings
from tests.unit.streams.scenario import (
    Collected,
    at,
    electric,
    feeder,
    gas,
    gas_household,
    household,
    run,
    station,
    weather,
)
from tests.unit.streams.test_heat import heat_meter, heat_station, indoor, net_household, stack

AREA = [household(f"A{i}", feeder_id="F-A") for i in range(4)]
OTHER = [household(f"B{i}", feeder_id="F-B") for i in range(4)]
REGISTRY = AREA + OTHER


def _step(s: int, who: list) -> list:  # type: ignore[type-arg]
    kwh = 1.2 if (s - 1) % 96 < 32 else 0.3  # night charging, so valley sums matter
    return [electric(h.household_id, s, kwh=kwh) for h in who]


def _final_days(out: Collected) -> dict[tuple[str, str], str]:
    """The last rollup emitted per (household, day): what InfluxDB holds after overwrites."""
    return {(d.household_id, str(d.day)): d.model_dump_json() for d in out.days}


def _upload_late(gap: range, upload_after: int) -> list:  # type: ignore[type-arg]
    readings = []
    for s in range(1, 96 * 2 + 1):
        readings += _step(s, OTHER)
        if s not in gap:
            readings += _step(s, AREA)
        if s == upload_after:  # the concentrator's upload after its GPRS outage
            for late in gap:
                readings += _step(late, AREA)
    return readings


@pytest.mark.parametrize(
    ("gap", "upload_after"),
    [(range(40, 52), 64), (range(80, 92), 96 + 40)],  # same day; the next day (day closed)
    ids=["hours-late", "next-day"],
)
def test_a_late_concentrator_upload_revises_rollups_to_the_ordered_result(
    gap: range, upload_after: int
) -> None:
    clean, _ = run(REGISTRY, [r for s in range(1, 193) for r in _step(s, REGISTRY)])
    late, engine = run(REGISTRY, _upload_late(gap, upload_after))
    assert engine.counters.backfilled == len(gap) * len(AREA)
    assert engine.counters.rejected == 0
    assert _final_days(late) == _final_days(clean)
    comm = late.of_kind("comm_loss")
    assert comm, "the silence was seen in real time"
    households = [i for i in comm if i.entity_type.value == "household"]
    assert all(i.details["resolution"].startswith("communication gap") for i in households)
    assert all(i.details["backfilled_intervals"] == len(gap) for i in households)


def test_a_late_reading_that_fills_no_gap_is_still_late() -> None:
    _, engine = run(REGISTRY, [])
    for s in range(1, 20):
        for r in _step(s, REGISTRY):
            engine.push(r)
    with pytest.raises(Rejected, match="late"):
        engine.push(electric("A0", 3, kwh=0.9))


def test_a_resend_of_a_backfilled_reading_is_a_duplicate_not_late() -> None:
    readings = _upload_late(range(40, 52), 64)
    again = _step(45, AREA)  # the head-end sends part of its upload twice
    at = readings.index(_step(51, AREA)[-1]) + 1
    _, engine = run(REGISTRY, readings[:at] + again + readings[at:])
    assert engine.counters.backfilled == 12 * len(AREA)
    assert engine.counters.rejected == 0
    assert engine.counters.duplicates == len(AREA)


def test_a_different_value_for_a_backfilled_step_is_still_late() -> None:
    readings = _upload_late(range(40, 52), 64)
    other = electric("A0", 45, kwh=0.9)
    _, engine = run(REGISTRY, [])
    for r in readings:
        engine.push(r)
    with pytest.raises(Rejected, match="late"):
        engine.push(other)


# --- gas households, gas stations and feeders (one concentrator uploads them all late) ----
GAS = [gas_household(f"G{i}", gas_station_id="GS-1") for i in range(3)]
MIXED = GAS + OTHER


def _mixed_step(s: int, late_sources: bool) -> list:  # type: ignore[type-arg]
    out: list = [*_step(s, OTHER), feeder("F-B", s, kw=40.0 + s % 7)]  # type: ignore[type-arg]
    if late_sources:
        pressure = 0.4 if s % 11 == 0 else 2.0  # a few low-pressure intervals too
        out += [gas(h.household_id, s, m3=0.2 + (s % 5) / 10, pressure=pressure) for h in GAS]
        out.append(station("GS-1", s, outlet=2.3 + (s % 3) / 10))
    return out


def _mixed(gap: range, upload_after: int | None) -> list:  # type: ignore[type-arg]
    readings = []
    for s in range(1, 96 * 2 + 1):
        readings += [r for r in _mixed_step(s, True) if upload_after is None or s not in gap]
        if upload_after is not None and s in gap:
            readings += _mixed_step(s, False)
        if s == upload_after:
            for late in gap:
                readings += [
                    r for r in _mixed_step(late, True) if r not in _mixed_step(late, False)
                ]
    return readings


def _points(out: Collected, measurement: str) -> dict[tuple[str, int], dict[str, object]]:
    """The last point per (series, time) — what InfluxDB holds — with the reading's values."""
    values = ("outlet_pressure_kpa", "flow_m3h", "kw", "rated_kva", "load_ratio")
    return {
        (str(sorted(m.tags.items())), m.ts): {k: m.fields[k] for k in values if k in m.fields}
        for m in out.metrics
        if m.measurement == measurement
    }


@pytest.mark.parametrize(
    ("gap", "upload_after"),
    [(range(40, 52), 64), (range(80, 92), 96 + 40)],
    ids=["hours-late", "next-day"],
)
def test_late_gas_station_and_feeder_readings_revise_to_the_ordered_result(
    gap: range, upload_after: int
) -> None:
    clean, _ = run(MIXED, _mixed(gap, None))
    late, engine = run(MIXED, _mixed(gap, upload_after))
    assert engine.counters.rejected == 0
    assert engine.counters.backfilled == len(gap) * (len(GAS) + 1)  # gas meters and station
    assert _final_days(late) == _final_days(clean)
    assert {h.household_id for h in GAS} <= {d.household_id for d in late.days}
    assert _points(late, "station_pressure") == _points(clean, "station_pressure")


def test_a_late_feeder_upload_writes_the_points_its_steps_lacked() -> None:
    gap, upload_after = range(40, 52), 64
    ordered = [r for s in range(1, 193) for r in [*_step(s, OTHER), feeder("F-B", s, kw=40.0 + s)]]
    late_feeder = [r for r in ordered if not (r.kind == "feeder" and at_step(r) in gap)]
    upload = [r for r in ordered if r.kind == "feeder" and at_step(r) in gap]
    cut = max(i for i, r in enumerate(late_feeder) if at_step(r) == upload_after) + 1
    clean, _ = run(OTHER, ordered)
    late, engine = run(OTHER, late_feeder[:cut] + upload + late_feeder[cut:])
    assert engine.counters.rejected == 0
    assert engine.counters.backfilled == len(gap)
    assert _points(late, "feeder_load") == _points(clean, "feeder_load")
    assert _final_days(late) == _final_days(clean)


def at_step(r: AnyReading) -> int:
    return (event_epoch(r.ts) - event_epoch(at(0).isoformat())) // 900


# --- property: any silent window, uploaded within the horizon, revises to the ordered result
SILENT = ("area", "gas", "station", "feeder")
EVERYONE = AREA + OTHER + GAS


def _all_step(s: int) -> dict[str, list]:  # type: ignore[type-arg]
    pressure = 0.4 if s % 11 == 0 else 2.0
    return {
        "other": _step(s, OTHER),
        "area": _step(s, AREA),
        "feeder": [feeder("F-B", s, kw=40.0 + s % 7)],
        "gas": [gas(h.household_id, s, m3=0.2 + (s % 5) / 10, pressure=pressure) for h in GAS],
        "station": [station("GS-1", s, outlet=2.3 + (s % 3) / 10)],
    }


@pytest.mark.slow  # 60 Hypothesis examples, two replays each
@settings(max_examples=60, deadline=None)
# found by Hypothesis: low pressure before and after a gap is not one run in time
@example(start=166, length=10, delay=4, silent={"area", "gas"}, resend=False)
@given(
    start=st.integers(min_value=2, max_value=170),
    length=st.integers(min_value=1, max_value=30),
    delay=st.integers(min_value=3, max_value=150),
    silent=st.sets(st.sampled_from(SILENT), min_size=1),
    resend=st.booleans(),
)
def test_any_late_upload_within_the_horizon_revises_to_the_ordered_rollups(
    start: int, length: int, delay: int, silent: set[str], resend: bool
) -> None:
    last = 96 * 2
    window = range(start, min(start + length, last - 1))
    upload_at = min(window[-1] + delay, last) if window else last
    ordered, late, upload = [], [], []
    for s in range(1, last + 1):
        for name, readings in _all_step(s).items():
            ordered += readings
            if name in silent and s in window:
                upload += readings
            else:
                late += readings
        if s == upload_at:
            late += upload + (upload if resend else [])
    clean, _ = run(EVERYONE, ordered)
    got, engine = run(EVERYONE, late)
    assert engine.counters.rejected == 0
    assert _final_days(got) == _final_days(clean)
    assert _points(got, "station_pressure") == _points(clean, "station_pressure")
    assert _points(got, "feeder_load") == _points(clean, "feeder_load")


# --- heat networks: a station's SCADA, its homes' sensors and its stack uploaded late -----
# The station's design is in the registry: its curve is the registry's from the first reading.
# (A station without one learns its curve from what has arrived: a late reading of its
# learning days is judged against what was learned when it came, not what the ordered
# readings would have taught by then — tests/unit/streams/test_heat_stations.py.)
DESIGN = {"heat_station_design_supply_c": 75.0, "heat_station_design_return_c": 50.0}
NET = [net_household(f"N{i}", **DESIGN) for i in range(4)]
NET_REGISTRY = NET + OTHER
HEAT_SOURCES = ("station", "indoor", "meter", "stack")


def _supply(s: int) -> float:
    # mostly on the curve; single low (below it) and down (no useful heat) readings, never
    # enough in a row to open an incident (detection is not re-run by a revision)
    return 28.0 if s % 29 == 0 else 50.0 if s % 13 == 0 else 66.0


def _heat_step(s: int) -> dict[str, list]:  # type: ignore[type-arg]
    readings = {
        "other": [*_step(s, OTHER), *([weather(s, -12.0 + s % 9)] if s % 4 == 0 else [])],
        "station": [heat_station(s, supply=_supply(s))],
        "indoor": [indoor("N0", s, temp=16.5 if s % 7 == 0 else 20.5)],
        "meter": [heat_meter("N1", s, energy=0.0 if s % 11 == 0 else 0.2 + s % 3 / 10)],
        "stack": [stack(s, nox=30.0 + s % 4)],
    }
    return readings


def _heat_points(out: Collected) -> dict[str, dict[tuple[str, int], dict[str, object]]]:
    """The last point per (measurement, series, time) — what InfluxDB holds — without the
    state flags a late station point takes from the moment it came."""
    moment = {"cold_homes", "interrupted", "supply_low"}
    points: dict[str, dict[tuple[str, int], dict[str, object]]] = {}
    for m in out.metrics:
        if m.measurement in ("heat_station", "heat_station_daily", "stack_emission_hourly"):
            fields = {k: v for k, v in m.fields.items() if k not in moment}
            points.setdefault(m.measurement, {})[(str(sorted(m.tags.items())), m.ts)] = fields
    return points


def _heat_run(
    silent: set[str], window: range, upload_at: int, resend: bool = False
) -> tuple[Collected, Collected, Engine]:
    ordered, late, upload = [], [], []
    for s in range(1, 96 * 2 + 1):
        for name, readings in _heat_step(s).items():
            ordered += readings
            if name in silent and s in window:
                upload += readings
            else:
                late += readings
        if s == upload_at:
            late += upload + (upload if resend else [])
    clean, _ = run(NET_REGISTRY, ordered)
    got, engine = run(NET_REGISTRY, late)
    return clean, got, engine


@pytest.mark.parametrize(
    ("gap", "upload_after"),
    [(range(40, 52), 64), (range(80, 92), 96 + 40), (range(88, 101), 96 + 30)],
    ids=["hours-late", "next-morning", "across-midnight"],
)
def test_a_late_heat_station_upload_revises_its_homes_to_the_ordered_result(
    gap: range, upload_after: int
) -> None:
    clean, late, engine = _heat_run({"station"}, gap, upload_after)
    assert engine.counters.rejected == 0
    assert engine.counters.backfilled == len(gap)
    assert _final_days(late) == _final_days(clean)
    assert _heat_points(late) == _heat_points(clean)
    silence = [i for i in late.of_kind("comm_loss") if i.entity_type.value == "heat_station"]
    assert silence, "the silence was seen in real time"
    assert silence[0].details["resolution"].startswith("communication gap")
    days = {d.household_id: d for d in late.days if str(d.day) == str(at(gap[0]).date())}
    assert days["N3"].no_data_minutes == 0  # the gap's hours are heat delivered again


def test_late_home_sensors_and_stack_revise_to_the_ordered_result() -> None:
    clean, late, engine = _heat_run({"indoor", "meter", "stack"}, range(70, 90), 96 + 20)
    assert engine.counters.rejected == 0
    assert engine.counters.backfilled == 20 * 3
    assert _final_days(late) == _final_days(clean)
    assert _heat_points(late) == _heat_points(clean)


def test_a_resent_heat_upload_is_a_duplicate_and_a_different_value_is_late() -> None:
    clean, late, engine = _heat_run(set(HEAT_SOURCES), range(40, 52), 64, resend=True)
    assert engine.counters.rejected == 0
    assert engine.counters.duplicates >= 12 * 4
    assert _final_days(late) == _final_days(clean)
    with pytest.raises(Rejected, match="late"):
        engine.push(heat_station(45, supply=70.0))


def test_a_late_heat_reading_that_fills_no_gap_is_still_late() -> None:
    _, engine = run(
        NET_REGISTRY, [r for s in range(1, 40) for v in _heat_step(s).values() for r in v]
    )
    for r in (heat_station(20, supply=61.0), indoor("N0", 20, 19.0), stack(20, nox=90.0)):
        with pytest.raises(Rejected, match="late"):
            engine.push(r)


@pytest.mark.slow  # 40 Hypothesis examples, two replays each
@settings(max_examples=40, deadline=None)
# found by Hypothesis: a station down before and after a gap is not one run in time
@example(start=88, length=28, delay=4, silent={"station"}, resend=False)
# found by Hypothesis: a sensor's first gap is a missed reading, not its cadence
@example(start=2, length=1, delay=4, silent={"indoor"}, resend=False)
@given(
    start=st.integers(min_value=2, max_value=170),
    length=st.integers(min_value=1, max_value=30),
    delay=st.integers(min_value=3, max_value=150),
    silent=st.sets(st.sampled_from(HEAT_SOURCES), min_size=1),
    resend=st.booleans(),
)
def test_any_late_heat_upload_within_the_horizon_revises_to_the_ordered_result(
    start: int, length: int, delay: int, silent: set[str], resend: bool
) -> None:
    last = 96 * 2
    window = range(start, min(start + length, last - 1))
    upload_at = min(window[-1] + delay, last) if window else last
    clean, got, engine = _heat_run(silent, window, upload_at, resend)
    assert engine.counters.rejected == 0
    assert _final_days(got) == _final_days(clean)
    assert _heat_points(got) == _heat_points(clean)


def test_heat_revision_state_survives_a_checkpoint_between_the_gap_and_the_upload() -> None:
    """The worker restores from its changelog between the station's silence (yesterday) and
    its upload (this morning): the kept sums, gaps and outdoor temperatures come back."""
    gap, upload_at = range(80, 92), 96 + 40
    ordered, late, upload = [], [], []
    for s in range(1, 96 * 2 + 1):
        for name, readings in _heat_step(s).items():
            ordered += readings
            (upload if name in ("station", "indoor", "stack") and s in gap else late).extend(
                readings
            )
        if s == upload_at:
            late += upload
    cut = late.index(upload[0])  # just before the upload
    clean, _ = run(NET_REGISTRY, ordered)
    out = Collected()
    first = Engine(NET_REGISTRY, DetectionSettings(), out)
    for r in late[:cut]:
        first.push(r)
    state = orjson.loads(orjson.dumps(export_state(first)))
    second = import_state(Engine(NET_REGISTRY, DetectionSettings(), out), state)
    for r in late[cut:]:
        second.push(r)
    second.flush()
    assert second.counters.backfilled == len(gap) * 3
    assert _final_days(out) == _final_days(clean)
    assert _heat_points(out) == _heat_points(clean)
