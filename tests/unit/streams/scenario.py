"""A tiny, explicit scenario builder for detector unit tests (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contract.incidents import Incident
from contract.registry import Household
from contract.rollups import HouseholdDay
from contract.telemetry import (
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
    WeatherReading,
)
from streams.core.clock import CST
from streams.core.context import Metric
from streams.core.engine import AnyReading, Engine
from streams.core.incidents import Change
from streams.core.settings import DetectionSettings

T0 = datetime(2021, 12, 1, 0, 0, tzinfo=CST)
STEP = timedelta(minutes=15)


def at(step: int) -> datetime:
    """The end of the ``step``-th 15-minute interval after T0 (step 1 ends at 00:15)."""
    return T0 + step * STEP


def household(hid: str, **kw: Any) -> Household:
    base: dict[str, Any] = {
        "household_id": hid,
        "county": "忻府区",
        "village": "东营村",
        "retrofit_type": "coal_to_electric",
        "heating_device": "heat_pump",
        "feeder_id": "F-1",
        "priority_group": "none",
        "rated_kw": 5.0,
    }
    base.update(kw)
    return Household.model_validate(base)


def gas_household(hid: str, **kw: Any) -> Household:
    base: dict[str, Any] = {
        "retrofit_type": "coal_to_gas",
        "heating_device": "gas_boiler",
        "feeder_id": None,
        "gas_station_id": "GS-1",
        "rated_kw": 20.0,
    }
    base.update(kw)
    return household(hid, **base)


def electric(
    hid: str, step: int, *, kwh: float = 0.5, voltage: float = 225.0, event: str | None = None
) -> ElectricReading:
    return ElectricReading(
        household_id=hid,
        ts=at(step).isoformat(),
        interval_s=900,
        kwh=kwh,
        kw=kwh * 4,
        voltage_v=voltage,
        event=event,  # type: ignore[arg-type]
    )


def gas(hid: str, step: int, *, m3: float = 0.3, pressure: float = 2.0) -> GasReading:
    return GasReading(
        household_id=hid,
        ts=at(step).isoformat(),
        interval_s=900,
        m3=m3,
        flow_m3h=m3 * 4,
        pressure_kpa=pressure,
    )


def feeder(fid: str, step: int, kw: float, rated_kva: float = 100.0) -> FeederReading:
    return FeederReading(feeder_id=fid, ts=at(step).isoformat(), kw=kw, rated_kva=rated_kva)


def station(sid: str, step: int, outlet: float = 2.4, flow: float = 5.0) -> GasStationReading:
    return GasStationReading(
        station_id=sid, ts=at(step).isoformat(), outlet_pressure_kpa=outlet, flow_m3h=flow
    )


def weather(step: int, temp: float = -8.0, county: str = "忻府区") -> WeatherReading:
    return WeatherReading(county=county, ts=at(step).isoformat(), temp_c=temp)


@dataclass
class Collected:
    changes: list[tuple[Change, str, str]] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)
    days: list[HouseholdDay] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def incident(self, change: Change, incident: Incident) -> None:
        self.changes.append((change, incident.kind.value, incident.entity_id))
        self.incidents[incident.incident_id] = incident.model_copy(deep=True)

    def rollups(self, days: list[HouseholdDay]) -> None:
        self.days.extend(days)

    def metric(self, metric: Metric) -> None:
        self.metrics.append(metric)

    def of_kind(self, kind: str) -> list[Incident]:
        return sorted(
            (i for i in self.incidents.values() if i.kind.value == kind),
            key=lambda i: (i.started_at, i.entity_id),
        )

    def day_of(self, hid: str) -> HouseholdDay:
        (d,) = [d for d in self.days if d.household_id == hid]
        return d


def run(
    registry: list[Household], readings: list[AnyReading], settings: DetectionSettings | None = None
) -> tuple[Collected, Engine]:
    out = Collected()
    engine = Engine(registry, settings or DetectionSettings(), out)
    for r in readings:
        engine.push(r)
    engine.flush()
    return out, engine


def healthy_day(hids: list[str], steps: range = range(1, 97)) -> list[AnyReading]:
    return [electric(h, s) for s in steps for h in hids]
