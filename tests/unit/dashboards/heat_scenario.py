"""A heat-network day run through the real detection core, for the 集中供热 dashboard's tests.

The dashboard and alert queries must read what the sink writes, so the points come from the
engine's own metrics and incidents (``streams/core/heat.py``) rendered by the sink's own
``streams/sinks/points.py``, never hand-shaped. Three stations, one day at −10 °C:

* HS-1 (忻府区 东楼村, boiler house): trips at step 80 and stays down (open interruption, one
  page with its 4 households as children, one of them an elderly home); its stack's NOx is
  above the limit from step 40 (open emission exceedance);
* HS-2 (原平市 西村, CHP/waste heat): healthy, one warm sampled home;
* HS-3 (忻府区 南村, boiler house): on its curve, but three sampled homes cold from step 40
  (indoor_temp_low, rolled up to the station: a page of its own, the station is not below
  its curve — a roll-up opened before a station's own low page is closed into that page);
* HS-4 (忻府区 北村, boiler house): below its heating curve from step 60 (open
  heat_supply_low), then its telemetry falls silent after step 69 (open comm_loss, warning,
  on the station) and the elderly home D0's indoor sensor after step 49 (open comm_loss,
  info, on the household): both tagged ``domain=heat`` in the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contract.incidents import Incident
from contract.registry import Household
from contract.rollups import HouseholdDay
from contract.telemetry import (
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.context import Metric
from streams.core.engine import AnyReading
from streams.core.heat import HEAT_DOMAIN
from streams.core.incidents import Change
from streams.sinks.points import household_day_line, incident_line, metric_line
from tests.unit.streams.scenario import at, household, run, weather

FAULT, HEALTHY = "忻府区", "原平市"
STATIONS = {
    "HS-1": (FAULT, "东楼村", "boiler_house", 38.43, 112.72),
    "HS-2": (HEALTHY, "西村", "chp_waste_heat", 38.72, 112.69),
    "HS-3": (FAULT, "南村", "boiler_house", 38.45, 112.75),
    "HS-4": (FAULT, "北村", "boiler_house", 38.47, 112.74),
}
HOMES = {
    "HS-1": ["A0", "A1", "A2", "A3"],
    "HS-2": ["B0", "B1", "B2"],
    "HS-3": ["C0", "C1", "C2"],
    "HS-4": ["D0", "D1"],
}
PRIORITY = {"A0", "D0"}  # elderly homes
# indoor sensors, °C when cold (from step 40)
SAMPLED = {"B0": 21.0, "C0": 15.0, "C1": 15.0, "C2": 15.5, "D0": 20.5}
# The last step a device reports (silent after it): a station's telemetry, a home's sensor.
LAST_STEP = {"HS-4": 69, "D0": 49}
STEPS = range(1, 97)
# Map state per station at the end of the day (0 ok, 1 strained, 2 failing); a silent
# station's map state is that of its last reading.
EXPECTED_STATE = {"HS-1": 2, "HS-2": 0, "HS-3": 1, "HS-4": 1}


def registry() -> list[Household]:
    out = []
    for sid, (county, village, kind, lat, lon) in STATIONS.items():
        for i, hid in enumerate(HOMES[sid]):
            out.append(
                household(
                    hid,
                    county=county,
                    village=village,
                    retrofit_type="district_heating"
                    if sid == "HS-2"
                    else "boiler_ultra_low_emission",
                    heating_device="district",
                    feeder_id=None,
                    heat_station_id=sid,
                    heat_station_kind=kind,
                    rated_kw=1.0,
                    priority_group="elderly_home" if hid in PRIORITY else "none",
                    lat=lat + i * 0.001,
                    lon=lon,
                )
            )
    return out


def _supply(sid: str, step: int) -> tuple[float, float]:
    if sid == "HS-1" and step >= 80:
        return 28.0, 30.0  # tripped
    if sid == "HS-4" and step >= 60:
        return 55.0, 30.0  # below the −10 °C curve (≈ 62 °C)
    return 66.0, 30.0


def readings() -> list[AnyReading]:
    out: list[AnyReading] = []
    for step in STEPS:
        if step % 4 == 0:
            out += [weather(step, -10.0, county) for county in (FAULT, HEALTHY)]
        for sid in STATIONS:
            if step > LAST_STEP.get(sid, step):
                continue
            supply, flow = _supply(sid, step)
            out.append(
                HeatStationReading(
                    heat_station_id=sid,
                    ts=at(step).isoformat(),
                    secondary_supply_c=supply,
                    secondary_return_c=supply - 15,
                    supply_pressure_kpa=350.0,
                    flow_m3h=flow,
                    heat_kw=500.0,
                )
            )
        out.append(
            StackEmissionReading(
                heat_station_id="HS-1",
                ts=at(step).isoformat(),
                interval_s=900,
                particulates_mg_m3=3.0,
                so2_mg_m3=20.0,
                nox_mg_m3=80.0 if step >= 40 else 35.0,
                o2_pct=9.0,
                flue_flow_m3h=8000.0,
            )
        )
        for hid, cold in SAMPLED.items():
            if step > LAST_STEP.get(hid, step):
                continue
            temp = cold if step >= 40 else 20.5
            out.append(IndoorTempReading(household_id=hid, ts=at(step).isoformat(), temp_c=temp))
    return sorted(out, key=lambda r: r.ts)


@dataclass
class HeatRun:
    metrics: list[Metric]
    incidents: list[Incident]
    days: list[HouseholdDay]
    snapshot: list[Metric]  # active_incidents at the end: heat kinds, and domain=heat rows
    last_ts: int


def heat_run() -> HeatRun:
    out, engine = run(registry(), readings())
    last = int(at(STEPS[-1]).timestamp())
    heat_kinds = {"heat_supply_interruption", "heat_supply_low", "indoor_temp_low",
                  "emission_exceedance"}  # fmt: skip
    snapshot = [
        m
        for m in engine.snapshot(last)
        if m.tags["kind"] in heat_kinds or m.tags.get("domain") == HEAT_DOMAIN
    ]
    return HeatRun(out.metrics, list(out.incidents.values()), out.days, snapshot, last)


def _shift_metric(m: Metric, shift: int) -> Metric:
    return Metric(m.measurement, m.tags, m.fields, m.ts + shift)


def _shift_incident(inc: Incident, shift: int, **update: Any) -> Incident:
    delta = timedelta(seconds=shift)
    return inc.model_copy(
        update={
            "started_at": inc.started_at + delta,
            "ended_at": inc.ended_at + delta if inc.ended_at is not None else None,
            **update,
        }
    )


def line_protocol(result: HeatRun, end_s: int) -> list[bytes]:
    """Everything the sink would write for the run, moved in time so it ends at ``end_s``:
    metrics, the snapshot, each incident's open point and (once ended) its resolved point."""
    shift = end_s - result.last_ts
    lines = [metric_line(_shift_metric(m, shift)) for m in (*result.metrics, *result.snapshot)]
    for inc in result.incidents:
        opened = _shift_incident(inc, shift, ended_at=None)
        lines.append(incident_line(Change.OPENED, opened, end_s))
        if inc.ended_at is not None:
            lines.append(incident_line(Change.RESOLVED, _shift_incident(inc, shift), end_s))
    day_shift = timedelta(days=round(shift / 86400))
    for d in result.days:
        lines.append(household_day_line(d.model_copy(update={"day": d.day + day_shift})))
    return lines
