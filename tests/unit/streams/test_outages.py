from __future__ import annotations

from datetime import datetime

from tests.unit.streams.scenario import at, electric, healthy_day, household, run


def test_last_gasp_opens_and_power_up_resolves_a_household_outage() -> None:
    hids = ["H1", "H2", "H3"]
    readings = [
        r for r in healthy_day(hids) if not (r.household_id == "H1" and 40 <= r_step(r) < 48)
    ]
    readings.append(electric("H1", 40, kwh=0.1, voltage=0, event="power_down"))
    readings.append(electric("H1", 48, event="power_up"))
    out, _ = run([household(h) for h in hids], sorted(readings, key=lambda r: r.ts))

    (outage,) = out.of_kind("household_outage")
    assert outage.entity_id == "H1"
    assert outage.started_at == at(40)
    assert outage.ended_at == at(48)
    assert outage.parent_id is None
    assert out.of_kind("feeder_outage") == []
    assert out.of_kind("comm_loss") == []
    day = out.day_of("H1")
    # The last-gasp interval and the 7 silent ones are outage; the power_up interval has power.
    assert day.outage_minutes == 8 * 15
    assert day.heating_available_minutes == 1440 - 8 * 15
    assert day.interruptions == 1
    assert out.day_of("H2").outage_minutes == 0


def r_step(r: object) -> int:
    return int((datetime.fromisoformat(r.ts) - at(0)).total_seconds() // 900)  # type: ignore[attr-defined]


def test_zero_voltage_without_event_is_an_outage() -> None:
    readings = [electric("H1", s, voltage=0 if 10 <= s < 14 else 225) for s in range(1, 97)]
    out, _ = run([household("H1")], readings)
    (outage,) = out.of_kind("household_outage")
    assert outage.details["cause"] == "zero_voltage"
    assert (outage.started_at, outage.ended_at) == (at(10), at(14))


def test_feeder_roll_up_gives_one_feeder_incident_with_household_children() -> None:
    hids = [f"H{i}" for i in range(10)]
    down, up = 30, 38
    readings = []
    for s in range(1, 97):
        for i, h in enumerate(hids):
            out_now = i < 8 and down <= s < up
            if out_now and s == down:
                readings.append(electric(h, s, kwh=0.1, voltage=0, event="power_down"))
            elif out_now:
                continue
            elif i < 8 and s == up:
                readings.append(electric(h, s, event="power_up"))
            else:
                readings.append(electric(h, s))
    registry = [household(h, priority_group="school" if h == "H0" else "none") for h in hids]
    out, _ = run(registry, readings)

    (feeder_inc,) = out.of_kind("feeder_outage")
    assert feeder_inc.entity_id == "F-1"
    assert feeder_inc.started_at == at(down)
    assert feeder_inc.ended_at == at(up)
    assert feeder_inc.households_affected == 8
    assert feeder_inc.priority_households == 1
    children = out.of_kind("household_outage")
    assert len(children) == 8
    assert {c.parent_id for c in children} == {feeder_inc.incident_id}
    assert out.of_kind("comm_loss") == []


def test_below_roll_up_share_households_page_separately() -> None:
    hids = [f"H{i}" for i in range(10)]
    readings = [
        electric(h, s, voltage=0, event="power_down") if (i < 3 and s == 30) else electric(h, s)
        for s in range(1, 31)
        for i, h in enumerate(hids)
        if not (i < 3 and s > 30)
    ]
    out, _ = run([household(h) for h in hids], readings)
    assert len(out.of_kind("household_outage")) == 3
    assert out.of_kind("feeder_outage") == []


def test_silent_meter_is_comm_loss_from_its_last_reading_and_ends_when_data_returns() -> None:
    hids = ["H1", "H2"]
    readings = [
        r for r in healthy_day(hids) if not (r.household_id == "H1" and 21 <= r_step(r) <= 32)
    ]
    out, _ = run([household(h) for h in hids], readings)
    (comm,) = out.of_kind("comm_loss")
    assert comm.entity_id == "H1"
    assert comm.started_at == at(20)
    assert comm.ended_at == at(33)
    assert out.of_kind("household_outage") == []
    day = out.day_of("H1")
    assert day.no_data_minutes == 12 * 15
    assert day.outage_minutes == 0


def test_a_short_gap_is_not_comm_loss() -> None:
    readings = [
        r
        for r in healthy_day(["H1", "H2"])
        if not (r.household_id == "H1" and r_step(r) in (21, 22, 23))
    ]
    out, _ = run([household("H1"), household("H2")], readings)
    assert out.of_kind("comm_loss") == []


def test_registered_meter_that_never_reports_is_comm_loss_from_stream_start() -> None:
    out, _ = run([household("H1"), household("H2")], healthy_day(["H1"]))
    (comm,) = out.of_kind("comm_loss")
    assert comm.entity_id == "H2"
    assert comm.started_at == at(0)
    assert comm.details["never_reported"] is True
    assert out.day_of("H2").no_data_minutes == 1440


def test_outage_spanning_midnight_splits_minutes_between_days() -> None:
    readings = [electric("H1", s) for s in range(1, 93)]
    readings.append(electric("H1", 93, voltage=0, event="power_down"))
    readings += [electric("H1", 104, event="power_up")] + [
        electric("H1", s) for s in range(105, 193)
    ]
    readings += [electric("H2", s) for s in range(1, 193)]
    out, _ = run([household("H1"), household("H2")], sorted(readings, key=lambda r: r.ts))
    days = sorted((d for d in out.days if d.household_id == "H1"), key=lambda d: d.day)
    assert [d.outage_minutes for d in days] == [4 * 15, 7 * 15]
    assert all(d.heating_available_minutes + d.outage_minutes == 1440 for d in days)
