"""The monthly report's arithmetic on hand-built incident sets (figures, not files)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatingDevice, PriorityGroup, RetrofitType
from contract.rollups import HouseholdDay
from heatwatch.report.arithmetic import Membership
from heatwatch.report.loading import InputError, JsonlRollups, write_rollups_jsonl
from heatwatch.report.monthly import compute_monthly, county_table, kind_table
from heatwatch.report.monthly_figures import (
    BEIJING,
    DataRange,
    MonthError,
    month_window,
    monthly_figures,
)

K = IncidentKind


def at(month: int, day: int, hour: int = 0, year: int = 2021) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BEIJING)


def inc(
    iid: str,
    kind: IncidentKind,
    entity: str,
    start: datetime,
    end: datetime | None,
    *,
    county: str = "原平市",
    etype: EntityType = EntityType.HOUSEHOLD,
    households: int = 1,
    priority: int = 0,
    parent: str | None = None,
) -> Incident:
    return Incident(
        incident_id=iid,
        kind=kind,
        entity_type=etype,
        entity_id=entity,
        county=county,
        started_at=start,
        ended_at=end,
        severity=Severity.WARNING,
        households_affected=households,
        priority_households=priority,
        parent_id=parent,
    )


DATA = DataRange(at(11, 15), at(3, 16, year=2022))
FEEDER = [f"H{k:02d}" for k in range(78)]
MEMBERS = Membership.from_columns(
    FEEDER, ["school" if k == 0 else "none" for k in range(78)], ["F1"] * 78, [""] * 78
)


def figures(incidents: list[Incident], month: str, data: DataRange = DATA):  # type: ignore[no-untyped-def]
    return monthly_figures(incidents, month_window(month, data), data, MEMBERS)


def test_repeated_overloads_count_the_feeders_households_once() -> None:
    overloads = [
        inc(f"o{k}", K.FEEDER_OVERLOAD, "F1", at(12, 1 + k, 18), at(12, 1 + k, 20),
            etype=EntityType.FEEDER, households=78, priority=1)
        for k in range(31)
    ]  # fmt: skip
    f = figures(overloads, "2021-12")
    cell = f.counties["原平市"].by_family["feeder_overload"]
    assert (cell.incidents, cell.households_affected, cell.priority_affected) == (31, 78, 1)
    assert f.counties["原平市"].total.households_affected == 78
    assert f.city.households_affected == 78
    assert cell.interruption_hours == 0  # an overload is not an interruption of heat


def test_feeder_outage_households_are_not_counted_again_as_household_outages() -> None:
    parent = inc("p", K.FEEDER_OUTAGE, "F1", at(12, 3, 8), at(12, 3, 12),
                 etype=EntityType.FEEDER, households=3)  # fmt: skip
    kids = [
        inc(f"c{k}", K.HOUSEHOLD_OUTAGE, f"H{k:02d}", at(12, 3, 8), at(12, 3, 10 + k), parent="p")
        for k in range(3)
    ]
    alone = inc("a", K.HOUSEHOLD_OUTAGE, "H50", at(12, 5, 0), at(12, 5, 1))
    f = figures([parent, *kids, alone], "2021-12")
    cm = f.counties["原平市"]
    power = cm.by_family["power_outage"]
    # one family: the feeder outage (children inside it) and the lone household outage
    assert (power.incidents, power.households_affected, power.priority_affected) == (2, 4, 1)
    assert power.by_kind == {K.FEEDER_OUTAGE: 1, K.HOUSEHOLD_OUTAGE: 1}
    assert power.interruption_hours == pytest.approx(2 + 3 + 4 + 1)
    assert (cm.total.incidents, cm.total.households_affected) == (2, 4)
    assert cm.total.interruption_hours == pytest.approx(10)


def test_an_incident_counts_in_every_month_it_overlaps_and_hours_are_clipped() -> None:
    long = inc("l", K.HOUSEHOLD_OUTAGE, "H01", at(11, 30, 12), at(12, 2, 0))
    nov, dec = figures([long], "2021-11"), figures([long], "2021-12")
    assert nov.city.incidents == dec.city.incidents == 1
    assert nov.city.interruption_hours == pytest.approx(12)
    assert dec.city.interruption_hours == pytest.approx(24)
    assert figures([long], "2022-01").city.incidents == 0


def test_an_open_incident_is_clipped_to_the_end_of_the_data() -> None:
    data = DataRange(at(11, 15), at(12, 20))
    still_open = inc("o", K.HOUSEHOLD_OUTAGE, "H01", at(12, 19, 0), None)
    dec = figures([still_open], "2021-12", data)
    assert dec.city.incidents == 1
    assert dec.city.interruption_hours == pytest.approx(24)
    with pytest.raises(MonthError, match="outside the data"):
        figures([still_open], "2022-01", data)


def test_partial_month_says_how_many_days_it_covers() -> None:
    w = month_window("2021-11", DATA)
    assert w.partial and w.days_covered == 16 and w.days_in_month == 30
    assert not month_window("2021-12", DATA).partial


def test_each_household_once_in_the_total_across_kinds() -> None:
    out = inc("a", K.HOUSEHOLD_OUTAGE, "H01", at(12, 1), at(12, 1, 2))
    peak = inc("b", K.PEAK_CHARGING, "H01", at(12, 2), at(12, 2, 2))
    peak2 = inc("c", K.PEAK_CHARGING, "H01", at(12, 3), at(12, 3, 2))
    other = inc("d", K.PEAK_CHARGING, "H07", at(12, 3), at(12, 3, 2), county="忻府区")
    f = figures([out, peak, peak2, other], "2021-12")
    cm = f.counties["原平市"]
    assert cm.by_family["peak_charging"].incidents == 2
    assert cm.by_family["peak_charging"].households_affected == 1
    assert cm.total.households_affected == 1 and cm.total.incidents == 3
    assert len(cm.peak_charging_households) == 1
    assert f.city.households_affected == 2 and f.city.incidents == 4


def test_without_registry_repeated_feeder_incidents_count_stand_ins_once() -> None:
    overloads = [
        inc(f"o{k}", K.FEEDER_OVERLOAD, "F9", at(12, 1 + k), at(12, 1 + k, 1),
            etype=EntityType.FEEDER, households=5, priority=2)
        for k in range(4)
    ]  # fmt: skip
    w = month_window("2021-12", DATA)
    f = monthly_figures(overloads, w, DATA, Membership())
    assert f.city.households_affected == 5 and f.city.priority_affected == 2


def _day(hid: str, d: date, county: str, outage: float, eps: int) -> HouseholdDay:
    return HouseholdDay(
        household_id=hid, day=d, county=county, village="南村",
        retrofit_type=RetrofitType.COAL_TO_ELECTRIC, heating_device=HeatingDevice.STORAGE_HEATER,
        priority_group=PriorityGroup.NONE, readings=96,
        heating_available_minutes=1440 - outage, outage_minutes=outage, shortfall_minutes=0,
        no_data_minutes=0, interruptions=eps, energy_kwh=1, valley_kwh=1, gas_m3=0,
    )  # fmt: skip


def test_compute_monthly_range_from_rollups_and_tables(tmp_path: Path) -> None:
    days = [
        _day("H01", date(2021, 11, 20) + timedelta(days=k), "原平市", 60.0 * (k % 2), k % 2)
        for k in range(20)
    ]  # 2021-11-20 … 2021-12-09
    path = tmp_path / "r.jsonl"
    write_rollups_jsonl(days, path)
    incidents = [inc("a", K.HOUSEHOLD_OUTAGE, "H01", at(12, 1), at(12, 1, 3))]
    f = compute_monthly("2021-12", incidents, JsonlRollups(path), None)
    assert f.window.partial and f.window.days_covered == 9
    cm = f.counties["原平市"]
    # Dec 1..9: odd k are Nov 21, 23, … → in December k = 11, 13, 15, 17, 19: 5 days
    assert cm.household_interruptions == 5 and cm.rollup_interruption_hours == 5
    rows = county_table(f, "zh")
    assert rows[0][:5] == ["原平市", "1", "1", "0", "3"]
    assert rows[-1][0] == "全市"
    kinds = kind_table(f, "en")
    assert kinds[0][:3] == ["原平市", "Power outage", "1"]
    assert kinds[0][-1] == "household outage 1"
    with pytest.raises(InputError, match=r"2023-12 is outside the data.*2021-11-20"):
        compute_monthly("2023-12", incidents, JsonlRollups(path), None)
