"""Issue 20's heat rules through both runners: a hand-built two-day scenario (a 3-home
station at its normal 0.75 m³/h with a pump trip, a 600 m³/h station whose flow collapses to
a sixth, a heat-source loss with the pumps running, a low supply escalated into an
interruption, a cycling gas boiler house with stopped and start-up hours and an exceedance at
gas's reference O₂, cold homes across missed readings, a 50/40 floor-heating network with no
design in the ledger judged against its learned curve, a cold-homes roll-up closed into its
station's later low-supply page, a home with an indoor sensor and a heat meter whose late
uploads are both revised) replayed by the embedded runner and by the Kafka worker's logic over
partitions: the same incidents, in the same final states, and the ones the rules say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from contract.registry import Household
from contract.telemetry import HeatStationReading, StackEmissionReading
from formats import worker_dataset as wd
from producers.kafka_producer import Router
from streams.embedded import replay
from streams.sinks.dataset import DatasetSink
from tests.unit.streams.pipeline.test_pipeline import Clock, Harness
from tests.unit.streams.scenario import at, electric, household, weather
from tests.unit.streams.test_heat import heat_meter, indoor, net_household
from tests.unit.streams.test_heat_stations import station

STEPS = range(1, 2 * 96 + 1)


def _registry() -> list[Household]:
    rows: list[Household] = []

    def add(sid: str, n: int, **kw: Any) -> None:
        rows.extend(net_household(f"{sid}-H{i}", station=sid, **kw) for i in range(n))

    add("HS-S", 3, heat_station_kind="biomass", retrofit_type="biomass_district")
    add("HS-L", 4, heat_station_kind="chp_waste_heat", heat_station_design_flow_m3h=550.0)
    add("HS-X", 4)
    add("HS-E", 4)
    add("HS-B", 3, heat_station_fuel="gas")
    add("HS-C", 10)
    add("HS-F", 4, heat_station_kind="chp_waste_heat")  # 50/40 floor heating, no design
    add("HS-R", 10)
    add("HS-D", 2)
    # electric homes of the county: every partition has sources of its own, as in the field
    # (a partition holding the weather alone would start its clock on hourly readings)
    rows.extend(household(f"E{i}", feeder_id=f"F-{i}") for i in range(9))
    return rows


def _stack(step: int, *, nox: float, o2: float, flow: float, temp: float) -> StackEmissionReading:
    return StackEmissionReading(
        heat_station_id="HS-B",
        ts=at(step).isoformat(),
        interval_s=900,
        particulates_mg_m3=2.0 if o2 < 19 else 0.2,
        so2_mg_m3=3.0 if o2 < 19 else 0.4,
        nox_mg_m3=nox,
        o2_pct=o2,
        flue_flow_m3h=flow,
        flue_temp_c=temp,
    )


def _stack_at(s: int) -> StackEmissionReading:
    hour = ((s - 1) // 4) % 24  # the interval's start hour (local)
    if 1 <= hour < 5:  # banked: air through the stack
        return _stack(s, nox=3.0, o2=20.6, flow=500.0, temp=35.0)
    if hour == 5:  # start-up: dirty, not judged
        return _stack(s, nox=85.0, o2=13.0, flow=7000.0, temp=110.0)
    day2_fault = 96 + 41 <= s <= 96 + 48  # 10:00-12:00 on day 2: 40 mg/m³ at 9 % O₂
    return _stack(s, nox=40.0 if day2_fault else 20.0, o2=9.0, flow=8000.0, temp=85.0)


def _station_at(sid: str, s: int) -> HeatStationReading:
    if sid == "HS-S":
        return station(s, 58.0, 45.0, 0.03 if 96 + 40 <= s < 96 + 52 else 0.75, sid)
    if sid == "HS-L":
        return station(s, 62.0, 44.0, 100.0 if 96 + 60 <= s < 96 + 70 else 600.0, sid)
    if sid == "HS-X" and 96 + 30 <= s < 96 + 42:
        warm = 50.0 - 0.3 * (s - 96 - 30)
        return station(s, warm, warm - 0.4, 30.0, sid)
    if sid == "HS-E":
        if 96 + 30 <= s < 96 + 40:
            return station(s, 46.0, 36.0, 20.0, sid)  # below the curve
        if 96 + 40 <= s < 96 + 50:
            return station(s, 42.0, 41.6, 20.0, sid)  # and then the source is lost
    if sid == "HS-F":  # 46 °C is its normal at −10 °C (its kind's guess: 60 °C)
        low = 96 + 60 <= s < 96 + 76  # day 2 13:45-17:45: below its own curve
        return station(s, 36.5 if low else 46.0, 30.0 if low else 38.0, 10.0, sid)
    if sid == "HS-R" and 96 + 44 <= s < 96 + 60:  # below its curve after its homes felt it
        return station(s, 56.0, 44.0, 30.0, sid)
    return station(s, 64.0, 47.0, 30.0, sid)


# HS-D-H0's indoor sensor and heat meter are both silent 10:00-13:00 on day 2 and upload
# their readings at 17:30 (late: a source's gap filled device by device, nothing refused)
D_SILENT = range(96 + 41, 96 + 53)
D_UPLOAD = 96 + 70


def _device_home_at(s: int) -> list[Any]:
    return [indoor("HS-D-H0", s, 20.5), heat_meter("HS-D-H0", s)]


def _lines() -> list[bytes]:
    readings: list[Any] = [weather(s, -10.0) for s in STEPS if s % 4 == 0]
    for s in STEPS:
        readings += [_station_at(sid, s) for sid in ("HS-S", "HS-L", "HS-X", "HS-E", "HS-B")]
        readings.append(station(s, 64.0, 47.0, 30.0, "HS-C"))
        readings += [_station_at(sid, s) for sid in ("HS-F", "HS-R", "HS-D")]
        for i in range(4):  # HS-F's homes: warm, cold while its supply is low
            cold = 96 + 64 <= s < 96 + 80
            readings.append(indoor(f"HS-F-H{i}", s, 16.5 if cold else 20.5))
        for i in range(10):  # HS-R: 4 of 10 cold from 09:30, its supply low from 11:00
            cold = i < 4 and 96 + 30 <= s < 96 + 64
            readings.append(indoor(f"HS-R-H{i}", s, 16.0 if cold else 20.5))
        if s not in D_SILENT:
            readings += _device_home_at(s)
        readings.append(_stack_at(s))
        readings += [electric(f"E{i}", s) for i in range(9)]
        for i in range(10):  # 4 of 10 sampled homes cold 10:00-14:00 on day 2, with gaps
            if i < 4 and s in (96 + 43, 96 + 47):
                continue
            cold = i < 4 and 96 + 40 <= s < 96 + 56
            readings.append(indoor(f"HS-C-H{i}", s, 16.0 if cold else 20.5))
    readings.sort(key=lambda r: r.ts)
    lines = [r.model_dump_json().encode() for r in readings]
    # the late uploads after everything of their upload step (sorting would put them back)
    upload = at(D_UPLOAD).isoformat()
    cut = max(i for i, ln in enumerate(lines) if orjson.loads(ln)["ts"] == upload)
    lines[cut + 1 : cut + 1] = [
        r.model_dump_json().encode() for t in D_SILENT for r in _device_home_at(t)
    ]
    return lines


def _final(incidents: dict[str, dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (i["incident_id"], i["kind"], i["entity_id"], i["severity"], i["started_at"], i["ended_at"])
        for i in incidents.values()
    }


def test_heat_rules_give_the_same_incidents_through_both_runners(tmp_path: Path) -> None:
    registry = _registry()
    lines = _lines()
    path = tmp_path / "readings.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    replay(registry, path, tmp_path / "replay")
    embedded: dict[str, dict[str, Any]] = {}
    for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        embedded[row["incident_id"]] = row  # the newest state of each incident
    h = Harness(lines, Router(registry))
    clock = Clock()
    h.run(h.pipeline(registry, clock, ports={"dataset": DatasetSink(tmp_path / "ds")}), clock)
    assert h.dead == []  # HS-D-H0's late indoor and heat-meter readings: both revised
    # the live run saw HS-D-H0's devices go silent (the replay re-runs a late file in order):
    # its comm_loss, resolved as a communication gap by the late upload
    (silence,) = [i for i in h.incidents.values() if i["entity_id"] == "HS-D-H0"]
    assert silence["kind"] == "comm_loss"
    assert silence["details"]["resolution"].startswith("communication gap")
    live = {k: v for k, v in h.incidents.items() if k != silence["incident_id"]}
    assert _final(live) == _final(embedded)

    pages = {
        (i["entity_id"], i["kind"], i["details"].get("trigger"))
        for i in embedded.values()
        if i["entity_type"] == "heat_station"
    }
    assert pages == {
        ("HS-S", "heat_supply_interruption", "flow_stopped"),
        ("HS-L", "heat_supply_interruption", "flow_stopped"),
        ("HS-X", "heat_supply_interruption", "heat_source_lost"),
        ("HS-E", "heat_supply_interruption", "heat_source_lost"),  # escalated low page
        ("HS-B", "emission_exceedance", None),
        ("HS-C", "indoor_temp_low", "sampled_homes"),
        ("HS-F", "heat_supply_low", None),  # its own curve, not all season on the guess
        ("HS-R", "heat_supply_low", None),
        ("HS-R", "indoor_temp_low", "sampled_homes"),  # closed into the low page
    }
    (escalated,) = [i for i in embedded.values() if i["entity_id"] == "HS-E"]
    assert escalated["incident_id"].startswith("heat_supply_low-")
    (emission,) = [i for i in embedded.values() if i["kind"] == "emission_exceedance"]
    assert emission["started_at"].startswith("2021-12-02T10:00")
    assert emission["details"]["reference_o2_pct"] == 3.5
    cold = [
        i
        for i in embedded.values()
        if i["kind"] == "indoor_temp_low" and i["parent_id"] and i["entity_id"].startswith("HS-C")
    ]
    assert len(cold) == 4 and all(i["started_at"].startswith("2021-12-02T10:00") for i in cold)

    (floor,) = [i for i in embedded.values() if i["entity_id"] == "HS-F" and not i["parent_id"]]
    assert floor["details"]["curve"] == "learned"
    assert floor["started_at"].startswith("2021-12-02T15:00")  # its first low reading
    (low,) = [i for i in embedded.values() if i["entity_id"] == "HS-R" and not i["parent_id"]]
    (roll,) = [
        i for i in embedded.values() if i["entity_id"] == "HS-R" and i["kind"] == "indoor_temp_low"
    ]
    assert roll["parent_id"] == low["incident_id"] and roll["ended_at"] is not None
    assert roll["started_at"] < low["started_at"]
    homes = [i for i in embedded.values() if str(i["entity_id"]).startswith("HS-R-H")]
    assert len(homes) == 4 and {i["parent_id"] for i in homes} == {low["incident_id"]}
    assert not [i for i in embedded.values() if i["entity_id"] == "HS-D-H0"]
    floor_homes = [i for i in embedded.values() if str(i["entity_id"]).startswith("HS-F-H")]
    assert len(floor_homes) == 4 and {i["parent_id"] for i in floor_homes} == {floor["incident_id"]}

    # HS-D-H0's heat meter: its delivered heat per day (issue 24's use figure for a network
    # home), its late upload included, the same from the replay's rollups, the worker's
    # results dataset and the worker's household_day points; no other home has the figure
    replayed = pq.read_table(tmp_path / "replay" / "rollups" / "household_days.parquet")
    days = wd.days([tmp_path / "ds"], wd.ROLLUPS)
    stored = wd.read_range(
        [tmp_path / "ds"], wd.ROLLUPS, days[0], days[-1], ["household_id", "day", "heat_kwh"]
    )
    points: dict[int, float] = {}
    for ln in h.written:
        if ln.startswith(b"household_day,") and b"household_id=HS-D-H0" in ln:
            fields = dict(f.split(b"=") for f in ln.split(b" ")[1].split(b","))
            points[int(ln.split(b" ")[2])] = float(fields[b"heat_kwh"])
    for tbl in (replayed, stored):
        heat = {
            (r["household_id"], r["day"]): r["heat_kwh"]
            for r in tbl.select(["household_id", "day", "heat_kwh"]).to_pylist()
            if r["heat_kwh"] is not None
        }
        assert set(heat) == {("HS-D-H0", d) for d in days}
        assert all(abs(v - 96 * 0.2) < 1e-3 for v in heat.values()), heat  # float32 columns
    assert len(points) == len(days)
    assert all(abs(v - 96 * 0.2) < 1e-9 for v in points.values()), points
