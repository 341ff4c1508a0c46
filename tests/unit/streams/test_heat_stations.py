"""Issue 20: each heat station judged against itself (size, design, learned normal), the
heat source lost while the pumps run, one page per event, CEMS operating states and fuel,
cold homes by share. Hand-built scenarios; the both-runner proof is in
tests/unit/streams/pipeline/test_heat_rules_pipeline.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contract.telemetry import (
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.engine import AnyReading
from streams.core.heatnormal import station_design
from streams.core.settings import DetectionSettings
from tests.unit.streams.scenario import at, run, weather
from tests.unit.streams.test_heat import by_ts, heat_meter, indoor, net_household

TWO_DAYS = range(1, 2 * 96 + 1)


def station(
    step: int,
    supply: float,
    ret: float,
    flow: float,
    sid: str = "HS-1",
) -> HeatStationReading:
    return HeatStationReading(
        heat_station_id=sid,
        ts=at(step).isoformat(),
        secondary_supply_c=supply,
        secondary_return_c=ret,
        supply_pressure_kpa=300.0,
        flow_m3h=flow,
        heat_kw=round(max(0.0, flow * (supply - ret) * 1.163), 1),
    )


def homes(n: int, sid: str = "HS-1", **kw: Any) -> list[Any]:
    return [net_household(f"{sid}-H{i}", station=sid, **kw) for i in range(n)]


def weather_every_hour(steps: range, temp: float = -5.0) -> list[AnyReading]:
    return [weather(s, temp) for s in steps if s % 4 == 0]


def pages(out: Any, kind: str) -> list[Any]:
    return [i for i in out.of_kind(kind) if i.parent_id is None]


def test_a_three_home_station_at_its_normal_flow_is_not_interrupted_and_its_trip_is_found() -> None:
    # the case: 0.75 m³/h is this station's normal (the old absolute 1.0 m³/h paged
    # it all season); its pumps stop for 3 hours on the second day
    trip = range(96 + 40, 96 + 52)
    readings = weather_every_hour(TWO_DAYS) + [
        station(s, 58.0, 45.0, 0.04 if s in trip else 0.75) for s in TWO_DAYS
    ]
    out, _ = run(homes(3), by_ts(readings))
    (page,) = pages(out, "heat_supply_interruption")
    assert (page.started_at, page.ended_at) == (at(trip[0]), at(trip[-1] + 1))
    assert page.details["trigger"] == "flow_stopped"
    assert page.details["reference"] == "learned"
    assert pages(out, "heat_supply_low") == []


def test_a_city_station_whose_flow_collapses_to_a_sixth_is_interrupted() -> None:
    # 600 m³/h normal; 100 m³/h is far above any absolute threshold but a stopped main pump
    trip = range(60, 70)
    readings = weather_every_hour(TWO_DAYS) + [
        station(s, 60.0, 42.0, 100.0 if s in trip else 600.0) for s in TWO_DAYS
    ]
    out, _ = run(homes(3, heat_station_design_flow_m3h=550.0), by_ts(readings))
    (page,) = pages(out, "heat_supply_interruption")
    assert (page.started_at, page.ended_at) == (at(60), at(70))


def test_heat_source_loss_with_pumps_running_is_an_interruption_within_two_intervals() -> None:
    # the source trips at step 50: supply falls to the return (ΔT ~0.5 K) while the water is
    # still warm (45 °C, above any dead-supply line) and the pumps run
    lost = range(50, 62)

    def reading(s: int) -> HeatStationReading:
        if s in lost:
            warm = 50.0 - 0.4 * (s - lost[0])
            return station(s, warm, warm - 0.5, 30.0)
        return station(s, 60.0, 44.0, 30.0)

    readings = weather_every_hour(range(1, 97)) + [reading(s) for s in range(1, 97)]
    out, _ = run(homes(5), by_ts(readings))
    (page,) = pages(out, "heat_supply_interruption")
    assert page.details["trigger"] == "heat_source_lost"
    assert page.started_at == at(50)  # opened at the second reading, stamped at the first
    assert page.ended_at == at(62)
    assert len(out.of_kind("heat_supply_interruption")) == 1 + 5  # one page, five children
    assert pages(out, "heat_supply_low") == []
    day = out.day_of("HS-1-H0")
    assert day.outage_minutes == len(lost) * 15


def test_a_low_supply_that_becomes_an_interruption_escalates_the_same_incident() -> None:
    # below the curve from step 30 (paged low after an hour), the source is lost at step 40
    def reading(s: int) -> HeatStationReading:
        if 30 <= s < 40:
            return station(s, 48.0, 38.0, 30.0)
        if 40 <= s < 50:
            return station(s, 42.0, 41.5, 30.0)
        return station(s, 62.0, 46.0, 30.0)

    readings = weather_every_hour(range(1, 97), -10.0) + [reading(s) for s in range(1, 97)]
    out, _ = run(homes(4), by_ts(readings))
    station_pages = [i for i in out.incidents.values() if i.entity_type.value == "heat_station"]
    (page,) = station_pages  # one page for the event, whichever symptom came first
    assert page.kind.value == "heat_supply_interruption"
    assert page.severity.value == "critical"
    assert page.incident_id.startswith("heat_supply_low-")  # the low page's id, escalated
    assert page.details["escalated_from"] == "heat_supply_low"
    assert (page.started_at, page.ended_at) == (at(30), at(50))
    children = [i for i in out.incidents.values() if i.parent_id == page.incident_id]
    assert len(children) == 4 and all(c.started_at == at(40) for c in children)


def test_a_floor_heating_station_at_its_design_is_neither_interrupted_nor_low() -> None:
    # 45/35 °C design: 33 °C supply at mild weather is normal there (the old absolute 35 °C
    # dead line paged it); its curve is its kind's rescaled to its design supply
    registry = homes(3, heat_station_design_supply_c=45.0, heat_station_design_return_c=35.0)
    readings = weather_every_hour(range(1, 97), 5.0) + [
        station(s, 33.0, 28.0, 2.0) for s in range(1, 97)
    ]
    out, _ = run(registry, by_ts(readings))
    assert out.of_kind("heat_supply_interruption") == []
    assert out.of_kind("heat_supply_low") == []


@pytest.mark.parametrize(("design", "paged"), [((45.0, 35.0), False), ((75.0, 50.0), True)])
def test_a_homes_heat_meter_is_judged_against_its_networks_design(
    design: tuple[float, float], paged: bool
) -> None:
    # A home meter at 32/27 °C with heat flowing: normal on a 45/35 floor-heating network in
    # mild weather, no useful heat on a 75/50 radiator network (the old absolute 35 °C line
    # paged the floor-heated home)
    supply, ret = design
    registry = homes(2, heat_station_design_supply_c=supply, heat_station_design_return_c=ret)
    readings = weather_every_hour(range(1, 97), 5.0) + [
        station(s, supply - 10.0, ret - 8.0, 2.0) for s in range(1, 97)
    ]
    readings += [heat_meter("HS-1-H0", s, energy=0.1, supply=32.0, ret=27.0) for s in range(1, 97)]
    out, _ = run(registry, by_ts(readings))
    at_meter = [
        i
        for i in out.of_kind("heat_supply_interruption")
        if i.details.get("trigger") == "heat_meter"
    ]
    assert bool(at_meter) is paged


def test_a_registry_curve_override_is_the_stations_curve() -> None:
    registry = homes(2, heat_station_curve_mild_c=55.0, heat_station_curve_design_c=80.0)
    readings = weather_every_hour(range(1, 97), 5.0) + [
        station(s, 50.0, 38.0, 2.0)
        for s in range(1, 97)  # fine on the kind's 45 °C curve
    ]
    out, _ = run(registry, by_ts(readings))
    (low,) = pages(out, "heat_supply_low")
    assert low.details["curve_supply_c"] == 55.0


def test_design_defaults_scale_with_the_station() -> None:
    s = DetectionSettings()
    small = station_design(s, homes(3)[0].heat_station_kind, homes(3))
    big = station_design(s, homes(3)[0].heat_station_kind, homes(3000))
    assert big.flow_m3h == pytest.approx(small.flow_m3h * 1000)
    area = station_design(
        s, homes(1)[0].heat_station_kind, homes(3, heat_station_heated_area_m2=30_000.0)
    )
    assert area.flow_from_registry  # 30,000 m² is 300 homes' default area
    assert area.flow_m3h == pytest.approx(big.flow_m3h / 10)


def test_registry_design_fields_are_validated() -> None:
    with pytest.raises(ValidationError, match="below the design supply"):
        net_household("X", heat_station_design_supply_c=50.0, heat_station_design_return_c=55.0)
    with pytest.raises(ValidationError, match="go together"):
        net_household("X", heat_station_curve_mild_c=50.0)
    with pytest.raises(ValidationError, match="without a heat_station_id"):
        net_household("X", heat_station_id=None, heat_station_kind=None, heat_station_fuel="gas")


# --- CEMS ---------------------------------------------------------------------------------
def stack(
    step: int, *, nox: float = 30.0, o2: float = 9.0, flow: float = 8000.0, temp: float = 130.0
) -> StackEmissionReading:
    return StackEmissionReading(
        heat_station_id="HS-1",
        ts=at(step).isoformat(),
        interval_s=900,
        particulates_mg_m3=3.0 if o2 < 19 else 0.3,
        so2_mg_m3=15.0 if o2 < 19 else 1.0,
        nox_mg_m3=nox,
        o2_pct=o2,
        flue_flow_m3h=flow,
        flue_temp_c=temp,
    )


def test_a_stopped_boiler_at_ambient_oxygen_never_exceeds() -> None:
    # stopped 08:00-16:00: O₂ 20.5 %, fan idling; a ×24 conversion of 4 mg/m³ would read 100
    def reading(s: int) -> StackEmissionReading:
        if 33 <= s <= 64:
            return stack(s, nox=4.0, o2=20.5, flow=600.0, temp=35.0)
        return stack(s)

    out, _ = run(homes(2), [reading(s) for s in range(1, 97)])
    assert out.of_kind("emission_exceedance") == []
    states = {
        m.ts: m.fields["operating_state"]
        for m in out.metrics
        if m.measurement == "stack_emission_hourly"
    }
    by_hour = [states[k] for k in sorted(states)]
    assert by_hour[:8] == ["running"] * 8
    assert by_hour[8:16] == ["stopped"] * 8
    assert by_hour[16] == "startup" and by_hour[17] == "running"
    (daily,) = [m for m in out.metrics if m.measurement == "stack_emission_daily"]
    assert daily.fields["hours_stopped"] == 8
    assert daily.fields["hours_startup"] == 1
    assert daily.fields["hours_running"] == 15
    assert daily.fields["completeness"] == 1.0


def test_start_up_hours_are_flagged_not_judged() -> None:
    # lit at 06:00 with the abatement cold: NOx 90 for the start-up hour; no exceedance
    def reading(s: int) -> StackEmissionReading:
        if s <= 24:
            return stack(s, nox=2.0, o2=20.7, flow=400.0, temp=25.0)
        if s <= 28:
            return stack(s, nox=90.0, o2=12.0)
        return stack(s)

    out, _ = run(homes(2), [reading(s) for s in range(1, 97)])
    assert out.of_kind("emission_exceedance") == []


def test_the_reference_oxygen_follows_the_boiler_houses_fuel() -> None:
    # NOx 40 mg/m³ measured at 9 % O₂: 40 at coal's 9 % reference, 58 at gas's 3.5 %
    readings = [stack(s, nox=40.0) for s in range(1, 97)]
    coal, _ = run(homes(2, heat_station_fuel="coal"), readings)
    gas, _ = run(homes(2, heat_station_fuel="gas"), readings)
    assert coal.of_kind("emission_exceedance") == []
    (page,) = gas.of_kind("emission_exceedance")
    assert page.details["reference_o2_pct"] == 3.5 and page.details["fuel"] == "gas"


def test_an_incomplete_running_hour_is_not_judged_and_counts_against_completeness() -> None:
    readings = [stack(s, nox=80.0 if 41 <= s <= 44 else 30.0) for s in range(1, 97)]
    readings = [r for i, r in enumerate(readings, 1) if not 41 <= i <= 43]  # 1 of 4 left
    out, _ = run(homes(2), readings)
    assert out.of_kind("emission_exceedance") == []
    (daily,) = [m for m in out.metrics if m.measurement == "stack_emission_daily"]
    assert daily.fields["hours_running"] == 24
    assert daily.fields["hours_running_valid"] == 23


# --- cold homes ---------------------------------------------------------------------------
def test_a_missed_indoor_reading_does_not_restart_the_cold_count() -> None:
    # cold 10:00-13:00 with two readings missing at 10:45 and 11:30: still 2 h of cold
    readings: list[AnyReading] = [station(s, 62.0, 46.0, 30.0) for s in range(1, 97)]
    missing = {43, 46}
    readings += [
        indoor("HS-1-H0", s, 16.0 if 40 <= s < 52 else 20.5)
        for s in range(1, 97)
        if s not in missing
    ]
    out, _ = run(homes(3), by_ts(readings))
    (cold,) = out.of_kind("indoor_temp_low")
    assert cold.started_at == at(40)


def test_cold_homes_are_not_rolled_up_while_the_station_itself_is_low() -> None:
    # the station runs 10 K below its curve all morning: its low-supply page explains why 4
    # of 6 sampled homes are cold; no second station page
    def reading(s: int) -> HeatStationReading:
        return station(s, 50.0 if 20 <= s < 70 else 64.0, 40.0, 30.0)

    hids = [f"HS-1-H{i}" for i in range(6)]
    readings: list[AnyReading] = weather_every_hour(range(1, 97), -10.0)
    readings += [reading(s) for s in range(1, 97)]
    readings += [
        indoor(h, s, 16.0 if i < 4 and 40 <= s < 70 else 20.5)
        for s in range(1, 97)
        for i, h in enumerate(hids)
    ]
    out, _ = run(homes(6), by_ts(readings))
    (low,) = pages(out, "heat_supply_low")
    assert [i for i in out.of_kind("indoor_temp_low") if i.entity_type.value != "household"] == []
    # the cold homes are the low page's children (one page for the event) and close with it
    children = out.of_kind("indoor_temp_low")
    assert len(children) == 4 and {c.parent_id for c in children} == {low.incident_id}
    assert all(c.ended_at == low.ended_at for c in children)


def test_an_undersized_network_without_a_registry_design_is_learned_not_paged() -> None:
    # 3,000 homes and no design in the ledger: the guess from the homes (~620 m³/h) is 12×
    # its real 50 m³/h; it delivers heat on its curve, so it is running; its later pump stop
    # (2 m³/h) is found against what it learned
    registry = homes(3000)
    stop = range(96 + 20, 96 + 30)
    readings = weather_every_hour(TWO_DAYS, -10.0) + [
        station(s, 64.0, 47.0, 2.0 if s in stop else 50.0) for s in TWO_DAYS
    ]
    out, _ = run(registry, by_ts(readings))
    (page,) = pages(out, "heat_supply_interruption")
    assert (page.started_at, page.ended_at) == (at(stop[0]), at(stop[-1] + 1))


def test_a_heat_meter_reading_no_output_with_a_falling_difference_is_a_lost_source() -> None:
    # normal 17 K and ~590 kW; the source fails: 6 K (above a quarter of normal) but the
    # station's heat meter already reads ~0 output
    def reading(s: int) -> HeatStationReading:
        r = station(s, 64.0, 47.0, 30.0)
        if 60 <= s < 70:
            return r.model_copy(update={"secondary_return_c": 58.0, "heat_kw": 3.0})
        return r

    readings = weather_every_hour(range(1, 97), -10.0) + [reading(s) for s in range(1, 97)]
    out, _ = run(homes(4), by_ts(readings))
    (page,) = pages(out, "heat_supply_interruption")
    assert page.details["trigger"] == "heat_source_lost"
    assert (page.started_at, page.ended_at) == (at(60), at(70))


def test_a_five_minute_cems_needs_45_minutes_of_readings_in_an_hour() -> None:
    # 5-min cadence: an hour with 4 readings (20 min) above the limit is not judged, one
    # with 9 (45 min) is
    def five(minute: int, nox: float) -> StackEmissionReading:
        return StackEmissionReading(
            heat_station_id="HS-1",
            ts=(at(0) + timedelta(minutes=minute)).isoformat(),
            interval_s=300,
            particulates_mg_m3=3.0,
            so2_mg_m3=15.0,
            nox_mg_m3=nox,
            o2_pct=9.0,
            flue_flow_m3h=8000.0,
            flue_temp_c=130.0,
        )

    readings: list[AnyReading] = [five(m, 30.0) for m in range(5, 24 * 60 + 1, 5)]
    hour_10 = {(at(0) + timedelta(minutes=m)) for m in range(10 * 60 + 5, 11 * 60 + 1, 5)}
    readings = [r for r in readings if r.ts not in hour_10]  # 10:00-11:00: 4 high readings
    readings += [five(m, 90.0) for m in (10 * 60 + 5, 10 * 60 + 10, 10 * 60 + 15, 10 * 60 + 20)]
    readings.sort(key=lambda r: r.ts)
    out, _ = run(homes(2), readings)
    assert out.of_kind("emission_exceedance") == []
    readings += [five(m, 90.0) for m in range(10 * 60 + 25, 10 * 60 + 50, 5)]  # 9 readings
    readings.sort(key=lambda r: r.ts)
    out, _ = run(homes(2), readings)
    (page,) = out.of_kind("emission_exceedance")
    assert page.started_at == at(40)


def _hourly_home(cold_hours: range, missed: set[int]) -> list[AnyReading]:
    """A day of a station on curve and one home whose indoor sensor reports every hour
    (step 4, 8, …): cold (14 °C) in ``cold_hours``, readings of the hours in ``missed`` lost."""
    readings = weather_every_hour(range(1, 97), -5.0) + [
        station(s, 66.0, 45.0, 2.0) for s in range(1, 97)
    ]
    for hour in range(1, 25):
        if hour not in missed:
            temp = 14.0 if hour in cold_hours else 20.5
            readings.append(indoor("HS-1-H0", 4 * hour, temp=temp))
    return readings


def test_an_hourly_indoor_sensor_missing_one_reading_is_not_silent() -> None:
    # the sensor's own cadence is learned: one lost hourly reading is a 2-hour gap, not a
    # silence (a 15-minute sensor is silent after an hour, an hourly one after four)
    out, _ = run(homes(2), by_ts(_hourly_home(range(0), {6, 13, 20})))
    assert out.of_kind("comm_loss") == []
    silent, _ = run(homes(2), by_ts(_hourly_home(range(0), set(range(10, 16)))))
    assert [i.entity_id for i in silent.of_kind("comm_loss")] == ["HS-1-H0"]


def test_an_hourly_indoor_sensors_cold_hours_count_in_full() -> None:
    # five cold hourly readings (10:00-14:00) are five cold hours of the day, not five
    # quarter-hours: the day is a cold-home day (the policy's 2 h) in the season report
    out, _ = run(homes(2), by_ts(_hourly_home(range(10, 15), set())))
    (day,) = [d for d in out.days if d.household_id == "HS-1-H0"]
    assert day.shortfall_minutes == 300


def _banked_night(flow: float) -> list[StackEmissionReading]:
    """Running by day at 9 % O₂ (NOx 30); 22:00-06:00 at 18.7 % O₂ and NOx 25 with the
    flue flow at ``flow`` m³/h (the running flow is 8,000)."""
    night = set(range(1, 25)) | set(range(89, 97))
    return [
        stack(s, nox=25.0, o2=18.7, flow=flow, temp=90.0) if s in night else stack(s)
        for s in range(1, 97)
    ]


def test_a_banked_boiler_is_flagged_not_judged_but_diluting_air_is_judged() -> None:
    # banked (压火) at a sixth of its draught: 25 mg/m³ at 18.7 % O₂ would be 130 at 9 %
    banked, _ = run(homes(2), _banked_night(1300.0))
    assert banked.of_kind("emission_exceedance") == []
    # the same O₂ at full draught is air blown in, which the reference O₂ exists to undo
    diluted, _ = run(homes(2), _banked_night(8000.0))
    assert diluted.of_kind("emission_exceedance") != []


# --- the learned heating curve (stations without a registry curve or design supply) -----
def _floor_network(
    supply: float, cold: range = range(0), temps: tuple[float, float] = (-10.0, -10.0)
) -> list[AnyReading]:
    """A 50/40 floor-heating network (kind chp_waste_heat: its guessed curve is 60 °C at
    −10 °C) holding ``supply`` two days, its 4 sampled homes at 20.5 °C (16.5 in ``cold``);
    the outdoor temperature ``temps[0]`` on day 1, ``temps[1]`` on day 2."""
    out: list[AnyReading] = [
        weather(s, temps[0] if s <= 96 else temps[1]) for s in TWO_DAYS if s % 4 == 0
    ]
    out += [station(s, supply, supply - 8.0, 10.0) for s in TWO_DAYS]
    for i in range(4):
        out += [indoor(f"HS-1-H{i}", s, 16.5 if s in cold else 20.5) for s in TWO_DAYS]
    return by_ts(out)


FLOOR = {"heat_station_kind": "chp_waste_heat"}


def test_a_low_temperature_network_without_a_design_is_judged_against_its_learned_curve() -> None:
    # The case: 46 °C at −10 °C is this network's normal (its homes are warm), its
    # kind's guess is 60 °C: judged against the guess it was heat_supply_low all month.
    out, _ = run(homes(4, **FLOOR), _floor_network(46.0))
    assert out.of_kind("heat_supply_low") == []
    # a colder second day has no learned band of its own: the nearest learned band's level
    # with the kind's slope (curve 63.75 − 14 − 5 ≈ 44.75; 46 is fine)
    out, _ = run(homes(4, **FLOOR), _floor_network(46.0, temps=(-10.0, -13.0)))
    assert out.of_kind("heat_supply_low") == []


def test_a_learned_curve_still_pages_a_real_low_supply() -> None:
    readings = [
        r
        if not (isinstance(r, HeatStationReading) and 96 + 60 <= _step(r) < 96 + 76)
        else station(_step(r), 36.5, 30.0, 10.0)
        for r in _floor_network(46.0, cold=range(96 + 64, 96 + 80))
    ]
    out, _ = run(homes(4, **FLOOR), readings)
    (low,) = pages(out, "heat_supply_low")
    assert low.details["curve"] == "learned"
    assert low.started_at == at(96 + 60)  # its first reading below 46 − 5 − 3 °C
    assert low.details["curve_supply_c"] == pytest.approx(41.0)


def _step(r: Any) -> int:
    return int((datetime.fromisoformat(r.ts) - at(0)).total_seconds() // 900)


def test_an_unlearned_station_keeps_its_kinds_guess_without_sampled_homes() -> None:
    # no indoor sensor reports: the guess is the only reference (its first days included)
    readings = [r for r in _floor_network(46.0) if not isinstance(r, IndoorTempReading)]
    out, _ = run(homes(4, **FLOOR), readings)
    (low,) = pages(out, "heat_supply_low")
    assert low.details["curve"] == "kind" and low.started_at == at(5)  # after the first weather


def test_an_unlearned_station_is_judged_against_the_guess_while_its_homes_are_cold() -> None:
    # homes never warm (cold from the first occupied hour, 06:00; a night below 18 °C is
    # neither warm nor cold): nothing is learned, the cold corroborates the guess, and the
    # supply page explains the cold homes
    out, _ = run(homes(4, **FLOOR), _floor_network(46.0, cold=TWO_DAYS))
    (low,) = pages(out, "heat_supply_low")
    assert low.details["curve"] == "kind"
    assert low.started_at == at(6 * 4 + 2)  # its first reading after a home's cold reading
    assert {i.parent_id for i in out.of_kind("indoor_temp_low")} == {low.incident_id}


def test_a_registry_curve_wins_over_what_the_station_learns() -> None:
    registry = homes(4, heat_station_curve_mild_c=50.0, heat_station_curve_design_c=60.0, **FLOOR)
    out, _ = run(registry, _floor_network(46.0))
    (low,) = pages(out, "heat_supply_low")  # warm homes do not relax the ledger's curve
    assert low.details["curve"] == "registry"
    design = homes(4, heat_station_design_supply_c=50.0, heat_station_design_return_c=40.0, **FLOOR)
    out, _ = run(design, _floor_network(46.0))
    assert out.of_kind("heat_supply_low") == []  # its kind's curve rescaled to 50 °C: ~41.8
