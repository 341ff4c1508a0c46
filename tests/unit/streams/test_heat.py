"""Heat networks: hand-built scenarios for each detector and the heat-delivered day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from contract.glossary import HEAT_DEVICES
from contract.registry import HeatStationKind, Household
from contract.telemetry import (
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.engine import AnyReading, Engine, Rejected
from streams.core.heatstation import curve_supply_c
from streams.core.persist import export_state, import_state
from streams.core.settings import DetectionSettings
from tests.unit.streams.scenario import Collected, at, healthy_day, household, run, weather

DAY = range(1, 97)


def net_household(hid: str, station: str = "HS-1", **kw: Any) -> Household:
    base: dict[str, Any] = {
        "retrofit_type": "boiler_ultra_low_emission",
        "heating_device": "district",
        "feeder_id": None,
        "heat_station_id": station,
        "heat_station_kind": "boiler_house",
        "rated_kw": 1.0,
    }
    base.update(kw)
    return household(hid, **base)


def heat_station(
    step: int, supply: float = 66.0, flow: float = 30.0, sid: str = "HS-1"
) -> HeatStationReading:
    return HeatStationReading(
        heat_station_id=sid,
        ts=at(step).isoformat(),
        secondary_supply_c=supply,
        secondary_return_c=supply - 15,
        supply_pressure_kpa=350.0,
        flow_m3h=flow,
        heat_kw=500.0,
    )


def indoor(hid: str, step: int, temp: float = 20.5) -> IndoorTempReading:
    return IndoorTempReading(household_id=hid, ts=at(step).isoformat(), temp_c=temp)


def stack(step: int, nox: float = 35.0, o2: float = 9.0, sid: str = "HS-1") -> StackEmissionReading:
    return StackEmissionReading(
        heat_station_id=sid,
        ts=at(step).isoformat(),
        interval_s=900,
        particulates_mg_m3=3.0,
        so2_mg_m3=20.0,
        nox_mg_m3=nox,
        o2_pct=o2,
        flue_flow_m3h=8000.0,
    )


def by_ts(readings: list[AnyReading]) -> list[AnyReading]:
    return sorted(readings, key=lambda r: r.ts)


def hourly_weather(temp: float = -10.0) -> list[AnyReading]:
    return [weather(s, temp) for s in range(4, 97, 4)]


HOMES = [f"N{i}" for i in range(5)]


def test_station_trip_is_one_station_page_with_every_household_as_child() -> None:
    readings: list[AnyReading] = [
        heat_station(s, supply=28.0 if 20 <= s < 28 else 66.0) for s in DAY
    ]
    out, _ = run([net_household(h, priority_group="elderly_home" if h == "N0" else "none")
                  for h in HOMES], readings)  # fmt: skip
    (page,) = [i for i in out.of_kind("heat_supply_interruption") if i.parent_id is None]
    assert (page.entity_type.value, page.entity_id) == ("heat_station", "HS-1")
    assert (page.started_at, page.ended_at) == (at(20), at(28))
    assert (page.households_affected, page.priority_households) == (5, 1)
    children = [i for i in out.of_kind("heat_supply_interruption") if i.parent_id]
    assert sorted(c.entity_id for c in children) == HOMES
    assert {c.parent_id for c in children} == {page.incident_id}
    assert all(c.ended_at == at(28) for c in children)
    assert {c.entity_id: c.severity.value for c in children}["N0"] == "critical"
    day = out.day_of("N1")
    assert (day.outage_minutes, day.heating_available_minutes) == (8 * 15, 1440 - 8 * 15)
    assert (day.evidence, day.interruptions, day.no_data_minutes) == ("heat_station", 1, 0)
    assert out.of_kind("comm_loss") == []  # no meter of their own: nothing to go silent


def test_flow_stop_alone_interrupts_and_one_bad_reading_does_not() -> None:
    readings: list[AnyReading] = [
        heat_station(s, flow=0.2 if s in (10, 40, 41, 42) else 30.0) for s in DAY
    ]
    out, _ = run([net_household(h) for h in HOMES[:2]], readings)
    (page,) = [i for i in out.of_kind("heat_supply_interruption") if i.parent_id is None]
    assert (page.started_at, page.ended_at) == (at(40), at(43))
    assert page.details["trigger"] == "flow_stopped"


def test_supply_below_the_heating_curve_for_an_hour_is_low_supply() -> None:
    settings = DetectionSettings()
    curve = curve_supply_c(settings, HeatStationKind.BOILER_HOUSE, -10.0)
    assert curve == pytest.approx(45 + 23 * 15 / 20)

    def supply(s: int) -> float:
        if 30 <= s < 38:
            return curve - 7  # a real shortfall, 2 h
        if 60 <= s < 63:
            return curve - 7  # 45 min: shorter than the minimum duration
        return curve + 4

    readings = by_ts([heat_station(s, supply=supply(s)) for s in DAY] + hourly_weather())
    out, _ = run([net_household(h) for h in HOMES], readings)
    (low,) = out.of_kind("heat_supply_low")
    assert (low.entity_id, low.started_at, low.ended_at) == ("HS-1", at(30), at(38))
    assert low.details["curve_supply_c"] == pytest.approx(curve)
    assert out.of_kind("heat_supply_interruption") == []
    day = out.day_of("N2")
    assert day.shortfall_minutes == (8 + 3) * 15  # every reading below the curve counts


def test_a_colder_curve_point_makes_the_same_supply_low() -> None:
    readings = by_ts([heat_station(s, supply=58.0) for s in DAY] + hourly_weather(-10.0))
    mild, _ = run([net_household("N0")], by_ts(readings))
    assert mild.of_kind("heat_supply_low") != []  # curve at −10 °C is 62.25 °C
    warm = by_ts([heat_station(s, supply=58.0) for s in DAY] + hourly_weather(2.0))
    out, _ = run([net_household("N0")], warm)
    assert out.of_kind("heat_supply_low") == []  # curve at +2 °C is 48.45 °C


def test_weather_order_within_a_step_does_not_change_the_judgement() -> None:
    station = [heat_station(s, supply=58.0 if s >= 40 else 66.0) for s in DAY]
    temps = [weather(s, -10.0 if s < 44 else 5.0) for s in range(4, 97, 4)]
    first, _ = run([net_household("N0")], by_ts(temps + station))
    second, _ = run([net_household("N0")], by_ts(station + temps))
    assert first.changes == second.changes


def test_interruption_is_not_also_low_supply() -> None:
    readings = by_ts(
        [heat_station(s, supply=30.0 if 20 <= s < 40 else 66.0) for s in DAY] + hourly_weather()
    )
    out, _ = run([net_household("N0")], readings)
    assert out.of_kind("heat_supply_low") == []
    assert len(out.of_kind("heat_supply_interruption")) == 2  # station + its one household


def test_cold_home_in_occupied_hours_only_and_the_day_it_rests_on() -> None:
    # 00:15-05:00 cold (night setback: no alarm); 10:00-13:00 cold (alarm after 2 h)
    cold_steps = set(range(1, 21)) | set(range(40, 52))
    readings = by_ts(
        [heat_station(s) for s in DAY]
        + [indoor("N0", s, 16.0 if s in cold_steps else 20.5) for s in DAY]
    )
    out, _ = run([net_household(h) for h in HOMES], readings)
    (cold,) = out.of_kind("indoor_temp_low")
    assert (cold.entity_id, cold.started_at, cold.ended_at) == ("N0", at(40), at(52))
    assert cold.parent_id is None  # one cold home is not a station problem
    day = out.day_of("N0")
    assert day.evidence == "heat_station+indoor"
    assert day.shortfall_minutes == 12 * 15  # the night is not counted against the service
    assert day.heating_available_minutes == 1440 - 12 * 15
    assert out.day_of("N1").evidence == "heat_station"


def test_several_cold_homes_roll_up_to_the_station_and_close_with_it() -> None:
    # 3 of 10 sampled homes cold: the default share (30 %) makes it the station's problem;
    # when one recovers (2 of 10) the roll-up ends and the homes' children end with it
    homes = [f"N{i}" for i in range(10)]
    cold_homes = homes[:3]
    readings: list[AnyReading] = [heat_station(s) for s in DAY]
    for h in homes:
        for s in DAY:
            start = 36 if h == "N0" else 40
            cold = h in cold_homes and start <= s < (60 if h != "N2" else 52)
            readings.append(indoor(h, s, 16.0 if cold else 20.5))
    out, _ = run([net_household(h) for h in homes], by_ts(readings))
    (station,) = [i for i in out.of_kind("indoor_temp_low") if i.entity_type.value != "household"]
    assert (station.entity_id, station.started_at, station.ended_at) == ("HS-1", at(36), at(52))
    assert station.details["sampled_homes"] == 10
    children = [i for i in out.of_kind("indoor_temp_low") if i.entity_type.value == "household"]
    assert sorted(i.entity_id for i in children) == cold_homes
    assert {i.parent_id for i in children} == {station.incident_id}
    assert all(c.ended_at is not None and c.ended_at <= station.ended_at for c in children)


def test_hourly_mean_above_the_ultra_low_limit_opens_from_the_hour_start() -> None:
    def nox(s: int) -> float:
        if 41 <= s <= 48:  # intervals starting 10:00-11:45
            return 80.0
        if s in (57, 58):  # two readings in the 14:00 hour: an incomplete hour is not judged
            return 200.0
        return 35.0

    readings: list[AnyReading] = [stack(s, nox=nox(s)) for s in DAY if s not in (59, 60)]
    out, _ = run([net_household("N0")], readings)
    (exc,) = out.of_kind("emission_exceedance")
    assert exc.entity_id == "HS-1"
    t10 = datetime.fromisoformat(at(40).isoformat())
    assert (exc.started_at, exc.ended_at) == (t10, t10 + timedelta(hours=2))
    assert exc.details["pollutants"] == ["nox"]
    assert exc.households_affected == 0


def test_concentrations_are_judged_at_the_reference_oxygen() -> None:
    # 30 mg/m³ measured at 15 % O₂ is 60 mg/m³ at 9 %: above the 50 mg/m³ NOx limit.
    readings: list[AnyReading] = [stack(s, nox=30.0, o2=15.0) for s in DAY]
    out, _ = run([net_household("N0")], readings)
    (exc,) = out.of_kind("emission_exceedance")
    assert exc.started_at == at(0)
    assert exc.details["hourly_means_mg_m3"]["nox"] == pytest.approx(60.0)
    lenient = DetectionSettings(emission_reference_o2_pct=15.0)
    out, _ = run([net_household("N0")], readings, lenient)
    assert out.of_kind("emission_exceedance") == []


def test_heat_meter_is_the_homes_own_evidence() -> None:
    meter = [
        HeatMeterReading(
            household_id="N0",
            ts=at(s).isoformat(),
            interval_s=900,
            supply_c=60.0,
            return_c=45.0,
            flow_m3h=0.05,
            energy_kwh=0.0 if 50 <= s < 54 else 0.2,
        )
        for s in DAY
    ]
    out, _ = run([net_household("N0")], by_ts([heat_station(s) for s in DAY] + meter))
    day = out.day_of("N0")
    assert day.evidence == "heat_station+heat_meter"
    assert day.shortfall_minutes == 4 * 15


def test_a_heat_meter_s_delivered_heat_is_the_homes_day_figure() -> None:
    """``heat_kwh`` (issue 24's use figure for a network home) is the sum of its meter's
    readings that day, heatless intervals included; a home without a meter has none."""
    readings = [heat_station(s) for s in DAY] + _no_heat_meter("N0", range(50, 58))
    readings += [indoor("N1", s, 20.5) for s in DAY]
    out, _ = run([net_household("N0"), net_household("N1")], by_ts(readings))
    assert out.day_of("N0").heat_kwh == pytest.approx(0.2 * (len(DAY) - 8) + 0.01 * 8)
    assert out.day_of("N1").heat_kwh is None


def heat_meter(
    hid: str, step: int, energy: float = 0.2, supply: float = 60.0, ret: float = 45.0
) -> HeatMeterReading:
    return HeatMeterReading(
        household_id=hid,
        ts=at(step).isoformat(),
        interval_s=900,
        supply_c=supply,
        return_c=ret,
        flow_m3h=0.05,
        energy_kwh=energy,
    )


def _no_heat_meter(hid: str, steps: range) -> list[AnyReading]:
    """Return within 0.5 K of supply and almost no energy in ``steps``: the radiators are
    bypassed (a closed valve, an air lock)."""
    return [
        heat_meter(hid, s, energy=0.01, ret=59.5) if s in steps else heat_meter(hid, s) for s in DAY
    ]


def test_a_heat_meter_without_heat_while_the_station_supplies_is_the_homes_interruption() -> None:
    readings = [heat_station(s) for s in DAY] + _no_heat_meter("N0", range(50, 58))
    readings += [heat_meter("N1", s) for s in DAY]
    out, _ = run(
        [net_household("N0", priority_group="elderly_home"), net_household("N1")], by_ts(readings)
    )
    (inc,) = out.of_kind("heat_supply_interruption")
    assert (inc.entity_type.value, inc.entity_id, inc.parent_id) == ("household", "N0", None)
    assert (inc.started_at, inc.ended_at, inc.severity.value) == (at(50), at(58), "critical")
    assert inc.details["trigger"] == "heat_meter"
    assert inc.details["heat_station_id"] == "HS-1"
    day = out.day_of("N0")
    assert (day.evidence, day.shortfall_minutes, day.interruptions) == (
        "heat_station+heat_meter",
        8 * 15,
        1,
    )
    # three readings without heat are a thermostatic valve, not a fault
    short, _ = run(
        [net_household("N0")],
        by_ts([heat_station(s) for s in DAY] + _no_heat_meter("N0", range(50, 53))),
    )
    assert short.of_kind("heat_supply_interruption") == []


@pytest.mark.parametrize("meter_first", [False, True])
def test_no_heat_during_a_station_trip_is_the_stations_page_only(meter_first: bool) -> None:
    """The station trips at step 20 (restored at 28); the home's meter shows no heat 20-29:
    the station's interruption explains it, whichever reading of a step comes first."""
    stations = [heat_station(s, supply=28.0 if 20 <= s < 28 else 66.0) for s in DAY]
    meter = _no_heat_meter("N0", range(20, 30))
    readings = meter + stations if meter_first else stations + meter
    out, _ = run([net_household("N0"), net_household("N1")], by_ts(readings))
    incidents = out.of_kind("heat_supply_interruption")
    assert {(i.entity_id, i.details.get("trigger")) for i in incidents} == {
        ("HS-1", "supply_temperature"),
        ("N0", None),
        ("N1", None),
    }
    assert all(i.started_at == at(20) for i in incidents)


@pytest.mark.parametrize("meter_first", [False, True])
def test_the_meter_judgement_does_not_depend_on_the_order_within_a_step(meter_first: bool) -> None:
    stations = [heat_station(s, supply=28.0 if 40 <= s < 44 else 66.0) for s in DAY]
    meter = _no_heat_meter("N0", range(38, 60))
    readings = meter + stations if meter_first else stations + meter
    out, _ = run([net_household("N0")], by_ts(readings))
    mine = [
        i
        for i in out.of_kind("heat_supply_interruption")
        if i.entity_id == "N0" and i.details.get("trigger") == "heat_meter"
    ]
    # counted again from step 45 (the first step after a supplied one): opens at 4 readings
    assert [(i.started_at, i.ended_at) for i in mine] == [(at(45), at(60))]


def test_silent_station_and_silent_home_sensors_are_comm_loss_until_they_report() -> None:
    """Station telemetry silent 2.5 h, N0's indoor sensor 2.5 h, N2's heat meter 2.5 h, N3's
    indoor sensor 45 min (a retry, not a loss); N1 has no sensor of its own."""
    readings: list[AnyReading] = [heat_station(s) for s in DAY if not 30 <= s < 40]
    readings += [indoor("N0", s) for s in DAY if not 50 <= s < 60]
    readings += [heat_meter("N2", s) for s in DAY if not 60 <= s < 70]
    readings += [indoor("N3", s) for s in DAY if not 20 <= s < 23]
    out, _ = run([net_household(h) for h in HOMES[:4]], by_ts(readings))
    losses = {i.entity_id: i for i in out.of_kind("comm_loss")}
    assert sorted(losses) == ["HS-1", "N0", "N2"]
    station = losses["HS-1"]
    assert (station.entity_type.value, station.severity.value) == ("heat_station", "warning")
    assert (station.started_at, station.ended_at) == (at(29), at(40))
    assert station.households_affected == 4
    assert station.details == {
        "device": "heat_station",
        "heat_station_kind": "boiler_house",
        "never_reported": False,
    }
    for hid, first, device in (("N0", 50, "indoor"), ("N2", 60, "heat_meter")):
        home = losses[hid]
        assert (home.entity_type.value, home.severity.value) == ("household", "info")
        assert (home.started_at, home.ended_at) == (at(first - 1), at(first + 10))
        assert home.details == {"device": device, "heat_station_id": "HS-1"}
    assert out.of_kind("heat_supply_interruption") == []  # silence is not a trip
    # every device a heat comm_loss names has its words (zh + en) in the glossary
    assert {i.details["device"] for i in losses.values()} <= set(HEAT_DEVICES)


def test_a_station_silent_at_the_end_stays_open_and_one_that_never_reported_says_so() -> None:
    registry = [net_household("N0"), net_household("M0", station="HS-2"), household("E1")]
    readings: list[AnyReading] = [heat_station(s) for s in range(1, 60)]
    readings += [indoor("N0", s) for s in DAY]
    readings += healthy_day(["E1"])  # the stream's start comes from meter readings
    out, _ = run(registry, by_ts(readings))
    losses = {i.entity_id: i for i in out.of_kind("comm_loss")}
    assert sorted(losses) == ["HS-1", "HS-2"]
    assert (losses["HS-1"].started_at, losses["HS-1"].ended_at) == (at(59), None)
    assert losses["HS-2"].details["never_reported"] is True
    assert losses["HS-2"].started_at == at(0)  # the stream's start (its first interval's)


def test_unknown_heat_entities_are_rejected_with_a_reason() -> None:
    engine = Engine([net_household("N0")], DetectionSettings(), Collected())
    with pytest.raises(Rejected, match="unknown heat station 'HS-X'"):
        engine.push(heat_station(1, sid="HS-X"))
    with pytest.raises(Rejected, match="unknown heat-network household 'E1'"):
        engine.push(indoor("E1", 1))


def test_a_station_that_never_reports_is_no_data_not_heating() -> None:
    out, _ = run([net_household("N0"), household("E1")], [indoor("N0", s) for s in DAY])
    day = out.day_of("N0")
    assert day.heating_available_minutes == 0
    assert day.no_data_minutes == 1440


def test_heating_curves_name_known_station_kinds_and_rise_with_cold() -> None:
    with pytest.raises(ValueError, match="unknown heat station kind"):
        DetectionSettings(heat_curves={"geothermal": (40.0, 60.0)})
    with pytest.raises(ValueError, match="below"):
        DetectionSettings(heat_curves={"biomass": (60.0, 40.0)})
    only_boilers = DetectionSettings(heat_curves={"boiler_house": (50.0, 70.0)})
    # a kind without its own curve is judged on the boiler-house curve
    assert curve_supply_c(only_boilers, HeatStationKind.BIOMASS, -15.0) == 70.0


def _heat_day() -> list[AnyReading]:
    readings: list[AnyReading] = hourly_weather()
    for s in DAY:
        readings.append(heat_station(s, supply=28.0 if 20 <= s < 28 else 58.0 if s > 70 else 66.0))
        readings.append(stack(s, nox=80.0 if 41 <= s <= 48 else 35.0))
        for h in HOMES[:4]:
            cold = h != "N3" and 40 <= s < 60
            if h != "N3" or not 50 <= s < 62:  # N3's sensor silent 3 h: comm_loss
                readings.append(indoor(h, s, 16.0 if cold else 20.5))
    readings += _no_heat_meter("N4", range(30, 40))  # N4's meter: no heat, station supplies
    return by_ts(readings)


@pytest.mark.parametrize("cut", [0.1, 0.3, 0.45, 0.5, 0.62, 0.9])
def test_heat_state_survives_a_checkpoint_anywhere(cut: float) -> None:
    registry = [net_household(h) for h in HOMES]
    readings = _heat_day()
    whole, _ = run(registry, readings)
    out = Collected()
    first = Engine(registry, DetectionSettings(), out)
    at_cut = int(cut * len(readings))
    for r in readings[:at_cut]:
        first.push(r)
    state = orjson.loads(orjson.dumps(export_state(first)))
    second = import_state(Engine(registry, DetectionSettings(), out), state)
    for r in readings[at_cut:]:
        second.push(r)
    second.flush()
    assert out.changes == whole.changes
    assert [d.model_dump() for d in out.days] == [d.model_dump() for d in whole.days]
    kinds = {c[1] for c in whole.changes}
    assert kinds >= {
        "heat_supply_interruption",
        "heat_supply_low",
        "indoor_temp_low",
        "emission_exceedance",
        "comm_loss",
    }
    meter_pages = [i for i in whole.incidents.values() if i.details.get("trigger") == "heat_meter"]
    assert [(i.entity_id, i.started_at) for i in meter_pages] == [("N4", at(30))]


def test_a_silent_heat_device_is_kept_apart_from_meter_comm_loss_in_the_snapshot() -> None:
    """The grid's digests read ``active_incidents`` by kind: a heat device's comm_loss carries
    ``domain=heat`` there (and has zero rows of its own), a meter's stays untagged."""
    registry = [net_household("N0"), household("E1"), household("E2")]
    readings: list[AnyReading] = [heat_station(s) for s in range(1, 60)]
    readings += [indoor("N0", s) for s in range(1, 50)]  # the home's sensor falls silent too
    readings += healthy_day(["E1"]) + healthy_day(["E2"], range(1, 40))
    _, engine = run(registry, by_ts(readings))
    county = registry[0].county
    counts = engine.active_counts()
    assert counts[(county, "comm_loss", "warning", "heat")][:2] == [1, 1]  # the station
    assert counts[(county, "comm_loss", "info", "heat")][:2] == [1, 1]  # N0's indoor sensor
    assert counts[(county, "comm_loss", "info", "")][:2] == [1, 1]  # E2's meter
    rows = {
        tuple(sorted(m.tags.items())): m.fields["count"]
        for m in engine.snapshot(int(at(96).timestamp()))
        if m.tags["kind"] == "comm_loss"
    }
    base = {"county": county, "kind": "comm_loss"}
    assert rows[tuple(sorted({**base, "severity": "warning", "domain": "heat"}.items()))] == 1
    assert rows[tuple(sorted({**base, "severity": "warning"}.items()))] == 0
    assert rows[tuple(sorted({**base, "severity": "info"}.items()))] == 1


def test_a_cold_roll_up_opened_before_the_stations_low_supply_is_closed_into_it() -> None:
    """Three of ten sampled homes cold from 09:00 (the homes feel it first): the cold roll-up
    pages the station. Its supply falls below its curve from 10:00: the low-supply page is
    the same event, so the roll-up ends as its child and the cold homes move under it — one
    open page for dispatch, deterministic ids — and the homes close with it."""
    homes = [f"N{i}" for i in range(10)]
    cold_homes = homes[:3]

    def readings() -> list[AnyReading]:
        out: list[AnyReading] = hourly_weather(-10.0)
        out += [heat_station(s, supply=50.0 if 40 < s <= 60 else 66.0) for s in DAY]
        for h in homes:
            out += [indoor(h, s, 16.0 if h in cold_homes and 36 <= s < 64 else 20.5) for s in DAY]
        return by_ts(out)

    out, _ = run([net_household(h) for h in homes], readings())
    (low,) = out.of_kind("heat_supply_low")
    rolls = [i for i in out.of_kind("indoor_temp_low") if i.entity_type.value != "household"]
    (roll,) = rolls
    assert roll.started_at == at(36) and roll.started_at < low.started_at
    assert roll.parent_id == low.incident_id  # closed into the station's own page
    assert roll.ended_at is not None and roll.ended_at < low.ended_at
    assert roll.details["merged_into"] == low.incident_id
    children = [i for i in out.of_kind("indoor_temp_low") if i.entity_type.value == "household"]
    assert sorted(i.entity_id for i in children) == cold_homes
    assert {i.parent_id for i in children} == {low.incident_id}
    assert all(c.ended_at is not None and c.ended_at <= low.ended_at for c in children)
    # never two open station pages at once: the roll-up ended when the low-supply page opened
    assert roll.ended_at <= low.started_at + timedelta(minutes=15 * 4)
    again, _ = run([net_household(h) for h in homes], readings())
    assert sorted(again.incidents) == sorted(out.incidents)  # the same ids, run again
