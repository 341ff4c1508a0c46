"""Plausibility checks (VEE: validation, estimation, editing), before a reading is used.

A value that cannot be physical — an interval's kWh far above what the household's service
can draw, a feeder load several times its transformer's rating, an interval that does not
divide a day, a voltage outside a wide band — is rejected with a reason and counted per meter.
It never reaches a detector, so it can never raise a load or charging incident. Limits come
from ``DetectionSettings`` (each with its reason there).
"""

from __future__ import annotations

from contract.registry import Household
from contract.telemetry import (
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
)
from streams.core.clock import DAY_S
from streams.core.settings import DetectionSettings

_HOUR_S = 3600.0


def energy_cap_per_s(household: Household, settings: DetectionSettings) -> float:
    """Most kWh (electric) or m³ (gas) the household can use per second of interval."""
    if household.is_gas:
        m3h = household.rated_kw / settings.gas_kwh_per_m3 * settings.gas_m3_margin + 1.0
        return m3h / _HOUR_S
    kw = household.rated_kw * settings.household_kwh_margin + settings.household_base_load_kw
    return kw / _HOUR_S


def check_interval(interval_s: int) -> str | None:
    if DAY_S % interval_s:
        return f"interval_s {interval_s} does not divide a day into whole intervals"
    return None


def check_electric(r: ElectricReading, cap_per_s: float, s: DetectionSettings) -> str | None:
    bad = check_interval(r.interval_s)
    if bad:
        return bad
    cap = cap_per_s * r.interval_s
    if r.kwh > cap:
        return f"kwh {r.kwh!r} above the household's physical limit {cap:.3f} for {r.interval_s} s"
    if r.voltage_v > s.voltage_max_v:
        return f"voltage_v {r.voltage_v!r} outside 0-{s.voltage_max_v:g} V"
    return None


def check_gas(r: GasReading, cap_per_s: float, s: DetectionSettings) -> str | None:
    bad = check_interval(r.interval_s)
    if bad:
        return bad
    cap = cap_per_s * r.interval_s
    if r.m3 > cap:
        return f"m3 {r.m3!r} above the household's physical limit {cap:.3f} for {r.interval_s} s"
    if r.flow_m3h > cap_per_s * _HOUR_S:
        return f"flow_m3h {r.flow_m3h!r} above the household's limit {cap_per_s * _HOUR_S:.2f}"
    if r.pressure_kpa > s.pressure_max_kpa:
        return f"pressure_kpa {r.pressure_kpa!r} above {s.pressure_max_kpa:g} kPa"
    return None


def check_feeder(r: FeederReading, s: DetectionSettings) -> str | None:
    limit = r.rated_kva * s.feeder_kw_max_ratio
    if r.kw > limit:
        return (
            f"kw {r.kw!r} above {s.feeder_kw_max_ratio:g} x rated {r.rated_kva:g} kVA "
            "(a metering error, not a load)"
        )
    return None


def check_station(r: GasStationReading, s: DetectionSettings) -> str | None:
    if r.outlet_pressure_kpa > s.pressure_max_kpa:
        return f"outlet_pressure_kpa {r.outlet_pressure_kpa!r} above {s.pressure_max_kpa:g} kPa"
    return None
