from __future__ import annotations

from contract.incidents import Severity
from contract.telemetry import ElectricReading
from tests.unit.streams.scenario import at, electric, feeder, household, run


def _storage_day(hid: str, valley: bool, days: int = 1) -> list:
    """A storage heater drawing 3 kWh per interval inside (or outside) the valley window."""
    readings = []
    for s in range(1, 96 * days + 1):
        local_hour = ((s - 1) % 96) / 4  # interval start hour
        in_valley = local_hour >= 22 or local_hour < 8
        charging = in_valley if valley else 8 <= local_hour < 18
        readings.append(electric(hid, s, kwh=3.0 if charging else 0.05))
    return readings


def test_storage_heater_charging_on_peak_power_is_flagged_healthy_one_is_not() -> None:
    registry = [
        household("BAD", heating_device="storage_heater"),
        household("OK", heating_device="storage_heater"),
    ]
    readings = sorted(
        _storage_day("BAD", valley=False, days=2) + _storage_day("OK", valley=True, days=2),
        key=lambda r: r.ts,
    )
    out, _ = run(registry, readings)
    (peak,) = out.of_kind("peak_charging")
    assert peak.entity_id == "BAD"
    assert peak.started_at == at(0)
    assert peak.ended_at is None
    assert peak.details["valley_share"] < 0.1
    ok_days = [d for d in out.days if d.household_id == "OK"]
    assert len(ok_days) == 2
    assert all(d.valley_share is not None and d.valley_share > 0.95 for d in ok_days)


def appliance_day(hid: str, day: int, kwh_day: float = 8.0) -> list[ElectricReading]:
    """A home that stopped heating: appliances only, more in the evening (valley share ≈ 0.48,
    the share a held-out home that stopped heating was paged at)."""
    out = []
    for s in range(1, 97):
        hour = ((s - 1) % 96) / 4
        weight = 2.0 if 17 <= hour < 23 else 0.6 if 0 <= hour < 6 else 1.0
        out.append((s + 96 * day, weight))
    total = sum(w for _, w in out)
    return [electric(hid, s, kwh=round(kwh_day * w / total, 4)) for s, w in out]


def test_barely_used_storage_heater_is_not_peak_charging() -> None:
    """The heater stopped after day 0: its appliances' day-time load lowers the valley share,
    but that is under-use (the season report's use judgement), not charging on peak power."""
    registry = [household("STOP", heating_device="storage_heater", rated_kw=8.0)]
    readings = _storage_day("STOP", valley=True) + [
        r for day in (1, 2, 3) for r in appliance_day("STOP", day)
    ]
    out, _ = run(registry, readings)
    days = sorted(out.days, key=lambda d: d.day)
    assert [d.valley_share is not None and d.valley_share < 0.6 for d in days[1:]] == [True] * 3
    assert out.of_kind("peak_charging") == []
    # the same home charging 20 kWh on peak power (over 2 h × 8 kW) is still flagged
    peak = [electric("STOP", s + 96 * 4, kwh=2.0 if 40 <= s < 50 else 0.05) for s in range(1, 97)]
    out, _ = run(registry, readings + peak)
    assert len(out.of_kind("peak_charging")) == 1


def test_heat_pump_is_never_judged_on_valley_share() -> None:
    out, _ = run([household("HP", heating_device="heat_pump")], _storage_day("HP", valley=False))
    assert out.of_kind("peak_charging") == []


def test_overload_needs_minimum_duration_and_clears_with_hysteresis() -> None:
    # rated 100 kVA × 0.9 = 90 kW usable
    loads = [50, 50, 95, 50, 95, 96, 97, 93, 80, 80, 50]
    readings = [feeder("F-1", s + 1, kw) for s, kw in enumerate(loads)] + [
        electric("H1", s) for s in range(1, 12)
    ]
    out, _ = run([household("H1")], sorted(readings, key=lambda r: r.ts))
    (inc,) = out.of_kind("feeder_overload")
    assert inc.started_at == at(5)
    assert inc.ended_at == at(9)  # the first of two readings below 95%
    assert inc.severity is Severity.WARNING
    assert inc.details["max_load_ratio"] == round(97 / 90, 3)


def test_rebound_peak_at_valley_start_is_flagged() -> None:
    # step 88 ends at 22:00 (pre-valley), 89 ends at 22:15 (first valley interval)
    loads = {s: 40.0 for s in range(80, 100)}
    loads.update({89: 120.0, 90: 118.0, 91: 110.0, 92: 45.0, 93: 45.0})
    readings = [feeder("F-1", s, kw) for s, kw in sorted(loads.items())] + [
        electric("H1", s) for s in range(80, 100)
    ]
    out, _ = run([household("H1")], sorted(readings, key=lambda r: r.ts))
    (inc,) = out.of_kind("feeder_overload")
    assert inc.details["rebound"] is True
    assert inc.severity is Severity.CRITICAL  # 120/90 > 1.2
    rebound_points = [
        m for m in out.metrics if m.measurement == "feeder_load" and m.fields["rebound"]
    ]
    assert [m.ts for m in rebound_points] == [
        int(at(89).timestamp()),
        int(at(90).timestamp()),
        int(at(91).timestamp()),
    ]
