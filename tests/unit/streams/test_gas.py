from __future__ import annotations

from tests.unit.streams.scenario import at, gas, gas_household, run, station, weather


def test_household_low_pressure_needs_two_readings_and_clears_with_hysteresis() -> None:
    pressures = {10: 1.2, 11: 1.1, 12: 1.6, 13: 1.65, 14: 1.9}
    readings = [gas("G1", s, pressure=pressures.get(s, 2.0)) for s in range(1, 97)]
    readings += [gas("G2", s) for s in range(1, 97)] + [gas("G3", s) for s in range(1, 97)]
    out, _ = run(
        [gas_household(h) for h in ("G1", "G2", "G3")], sorted(readings, key=lambda r: r.ts)
    )
    (low,) = out.of_kind("gas_low_pressure")
    assert (low.entity_id, low.started_at, low.ended_at) == ("G1", at(10), at(14))
    assert low.parent_id is None
    assert out.of_kind("gas_supply_shortfall") == []
    assert out.day_of("G1").shortfall_minutes == 2 * 15  # only readings below 1.5 kPa


def test_station_pressure_drop_is_one_shortfall_with_household_children() -> None:
    hids = [f"G{i}" for i in range(5)]
    readings = []
    for s in range(1, 97):
        drop = 20 <= s < 28
        readings.append(station("GS-1", s, outlet=1.2 if drop else 2.4))
        readings += [gas(h, s, pressure=1.0 if drop else 2.0) for h in hids]
    out, _ = run([gas_household(h) for h in hids], readings)
    (short,) = out.of_kind("gas_supply_shortfall")
    assert short.entity_id == "GS-1"
    assert (short.started_at, short.ended_at) == (at(20), at(28))
    assert short.households_affected == 5
    children = out.of_kind("gas_low_pressure")
    assert len(children) == 5
    assert {c.parent_id for c in children} == {short.incident_id}


def test_quota_risk_when_burn_rate_exhausts_quota_before_season_end() -> None:
    # 0.5 m³ per interval = 48 m³/day; Dec 1 → Mar 15 is ~104 days → ~5,000 m³ needed.
    registry = [
        gas_household("SMALL", gas_quota_m3=1500.0),
        gas_household("BIG", gas_quota_m3=9000.0),
    ]
    readings = sorted(
        [gas(h, s, m3=0.5) for s in range(1, 97 * 2) for h in ("SMALL", "BIG")]
        + [weather(s) for s in range(4, 97 * 2, 4)],
        key=lambda r: r.ts,
    )
    out, _ = run(registry, readings[: len(readings)])
    (risk,) = out.of_kind("gas_quota_risk")
    assert risk.entity_id == "SMALL"
    assert risk.started_at == at(96)
    assert risk.details["projected_exhaustion"] is not None
    daily = [m for m in out.metrics if m.measurement == "gas_supply_daily"]
    assert daily and daily[0].fields["connection_rate"] == 1.0
    assert daily[0].fields["expected_m3"] > 0
