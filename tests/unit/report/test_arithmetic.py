"""The reports' one arithmetic on hand-built incident sets that mix sources: a home reported
by its own sensor and by its station, by a parent and a child, by two kinds of one family;
heat, power and gas interruption hours; the season chart and the monthly table agreeing."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatingDevice, PriorityGroup, RetrofitType
from contract.rollups import HouseholdDay
from heatwatch.report.arithmetic import (
    INTERRUPTION_KINDS,
    KIND_FAMILY,
    Membership,
    episodes_started,
    merged_hours,
)
from heatwatch.report.loading import JsonlRollups, Registry, write_rollups_jsonl
from heatwatch.report.monthly import compute_monthly, kind_table
from heatwatch.report.monthly_figures import BEIJING, DataRange, month_window, monthly_figures
from heatwatch.report.season import evaluate
from heatwatch.report.stability import StabilityPolicy

K = IncidentKind
E = EntityType


def at(month: int, day: int, hour: float = 0, year: int = 2021) -> datetime:
    return datetime(year, month, day, tzinfo=BEIJING) + timedelta(hours=hour)


def inc(
    iid: str,
    kind: IncidentKind,
    entity: str,
    start: datetime,
    end: datetime | None,
    *,
    county: str = "代县",
    etype: EntityType = E.HOUSEHOLD,
    households: int = 1,
    priority: int = 0,
    parent: str | None = None,
) -> Incident:
    return Incident(
        incident_id=iid, kind=kind, entity_type=etype, entity_id=entity, county=county,
        started_at=start, ended_at=end, severity=Severity.WARNING,
        households_affected=households, priority_households=priority, parent_id=parent,
    )  # fmt: skip


# 代县: heat station S1 with 4 homes (N0 a priority home), feeder F1 with 3 electric homes,
# gas station G1 with 2 gas homes. 9 households in all.
HEAT = ["N0", "N1", "N2", "N3"]
ELEC = ["E0", "E1", "E2"]
GAS = ["G0", "G1"]
IDS = HEAT + ELEC + GAS
MEMBERS = Membership.from_columns(
    IDS,
    ["elderly_home" if h == "N0" else "none" for h in IDS],
    ["F1" if h in ELEC else "" for h in IDS],
    ["G1" if h in GAS else "" for h in IDS],
    ["S1" if h in HEAT else "" for h in IDS],
    ["代县"] * len(IDS),
)
DATA = DataRange(at(11, 15), at(3, 16, year=2022))


def dec(incidents: list[Incident], members: Membership = MEMBERS):  # type: ignore[no-untyped-def]
    return monthly_figures(incidents, month_window("2021-12", DATA), DATA, members)


def test_a_home_silent_itself_and_inside_its_silent_station_counts_once() -> None:
    """The issue's 128-of-127: a home's own indoor-sensor comm loss and its station's."""
    own = inc("own", K.COMM_LOSS, "N1", at(12, 3), at(12, 3, 6))
    station = inc("st", K.COMM_LOSS, "S1", at(12, 10), at(12, 10, 2), etype=E.HEAT_STATION,
                  households=4, priority=1)  # fmt: skip
    f = dec([own, station])
    comm = f.counties["代县"].by_family["comm_loss"]
    assert (comm.incidents, comm.households_affected, comm.priority_affected) == (2, 4, 1)
    assert f.counties["代县"].total.households_affected == 4
    assert f.city.households_affected == 4
    assert not comm.interruption and comm.interruption_hours == 0  # unknown supply, not lost


def test_a_station_interruption_and_a_homes_own_heat_meter_merge_per_household() -> None:
    parent = inc("p", K.HEAT_SUPPLY_INTERRUPTION, "S1", at(12, 5, 8), at(12, 5, 11),
                 etype=E.HEAT_STATION, households=4, priority=1)  # fmt: skip
    kids = [inc(f"c{h}", K.HEAT_SUPPLY_INTERRUPTION, h, at(12, 5, 8), at(12, 5, 11), parent="p")
            for h in HEAT]  # fmt: skip
    # N2's own heat meter saw no heat from 10:00 to 13:00: one hour overlaps the station's
    meter = inc("m", K.HEAT_SUPPLY_INTERRUPTION, "N2", at(12, 5, 10), at(12, 5, 13))
    # a cold home (other kind, same family) on another day
    cold = inc("cold", K.INDOOR_TEMP_LOW, "N3", at(12, 20), at(12, 20, 5))
    f = dec([parent, *kids, meter, cold])
    heat = f.counties["代县"].by_family["heat_shortfall"]
    assert heat.incidents == 3
    assert heat.by_kind == {K.HEAT_SUPPLY_INTERRUPTION: 2, K.INDOOR_TEMP_LOW: 1}
    assert (heat.households_affected, heat.priority_affected) == (4, 1)
    # 4 homes × 3 h + N2's two hours after the station came back + N3's 5 cold hours
    assert heat.interruption_hours == pytest.approx(12 + 2 + 5)
    assert f.counties["代县"].total.interruption_hours == pytest.approx(19)


def test_a_station_below_curve_without_children_books_every_home_on_it() -> None:
    low = inc("low", K.HEAT_SUPPLY_LOW, "S1", at(12, 7, 0), at(12, 7, 6), etype=E.HEAT_STATION,
              households=4, priority=1)  # fmt: skip
    # at the same time one sampled home is below the service temperature, rolled up under
    # the station's cold-home incident: the same household's hours are not counted twice
    roll = inc("roll", K.INDOOR_TEMP_LOW, "S1", at(12, 7, 2), at(12, 7, 8), etype=E.HEAT_STATION)
    child = inc("ch", K.INDOOR_TEMP_LOW, "N1", at(12, 7, 2), at(12, 7, 8), parent="roll")
    f = dec([low, roll, child])
    heat = f.counties["代县"].by_family["heat_shortfall"]
    assert heat.households_affected == 4
    assert heat.interruption_hours == pytest.approx(4 * 6 + 2)  # N1: 00–08 merged


def test_heat_power_and_gas_hours_all_count_and_families_stay_apart() -> None:
    heat = inc("h", K.HEAT_SUPPLY_INTERRUPTION, "N0", at(12, 1), at(12, 1, 2))
    feeder = inc(
        "f", K.FEEDER_OUTAGE, "F1", at(12, 2), at(12, 2, 3), etype=E.FEEDER, households=3
    )  # fmt: skip  (no children reached the file: registry fills)
    gas_st = inc("g", K.GAS_SUPPLY_SHORTFALL, "G1", at(12, 3), at(12, 3, 4),
                 etype=E.GAS_STATION, households=2)  # fmt: skip
    low_p = inc("gl", K.GAS_LOW_PRESSURE, "G0", at(12, 3), at(12, 3, 5), parent="g")
    overload = inc("o", K.FEEDER_OVERLOAD, "F1", at(12, 4), at(12, 4, 2), etype=E.FEEDER,
                   households=3)  # fmt: skip
    f = dec([heat, feeder, gas_st, low_p, overload])
    cm = f.counties["代县"]
    hours = {k: round(c.interruption_hours, 3) for k, c in cm.by_family.items()}
    assert hours == {"heat_shortfall": 2, "power_outage": 9, "gas_shortfall": 5 + 4,
                     "feeder_overload": 0}  # fmt: skip
    assert cm.total.interruption_hours == pytest.approx(2 + 9 + 9)
    assert cm.total.households_affected == 6  # E0–E2 once although two families name them
    assert cm.shortfall_incidents == 1 and len(cm.gas_households) == 2
    rows = {r[1]: r for r in kind_table(f, "zh")}
    assert rows["台区过载"][5] == "—"  # not an interruption: no hours shown
    assert rows["供热中断或不足"][5] == "2"


def test_a_child_outliving_its_parent_still_counts_in_the_next_month() -> None:
    parent = inc("p", K.HEAT_SUPPLY_INTERRUPTION, "S1", at(11, 30, 20), at(11, 30, 23),
                 etype=E.HEAT_STATION, households=4)  # fmt: skip
    kid = inc("k", K.HEAT_SUPPLY_INTERRUPTION, "N1", at(11, 30, 20), at(12, 1, 2), parent="p")
    heat = dec([parent, kid]).counties["代县"].by_family["heat_shortfall"]
    assert (heat.incidents, heat.interruption_hours) == (1, pytest.approx(2))
    assert heat.households_affected == 1  # the other three were affected in November only


def test_every_kind_has_a_family_and_the_interruption_kinds_are_the_lost_minutes() -> None:
    assert set(KIND_FAMILY) == set(IncidentKind)
    assert {k.value for k in INTERRUPTION_KINDS} == {
        "household_outage", "feeder_outage", "gas_low_pressure", "gas_supply_shortfall",
        "heat_supply_interruption", "heat_supply_low", "indoor_temp_low",
    }  # fmt: skip


def test_merged_hours_clip_to_the_window_and_the_data() -> None:
    spans = [(at(12, 1, 22), at(12, 2, 2)), (at(12, 2, 1), at(12, 2, 3)), (at(12, 2, 5), None)]
    assert merged_hours(spans, at(12, 2), at(12, 3), at(12, 2, 6)) == pytest.approx(3 + 1)


@pytest.mark.parametrize("seed", range(25))
def test_random_mixed_incident_sets_never_count_more_households_than_the_county_has(
    seed: int,
) -> None:
    """Whatever mix of devices, parents, kinds and overlaps: per (county, family), per county
    and for the city, never more households than registered, never more interruption hours
    than households × hours in the window."""
    rnd = random.Random(seed)
    entities = [(E.HEAT_STATION, "S1", HEAT), (E.FEEDER, "F1", ELEC), (E.GAS_STATION, "G1", GAS)]
    incidents: list[Incident] = []
    for n in range(rnd.randint(1, 30)):
        kind = rnd.choice(list(IncidentKind))
        start = at(12, rnd.randint(1, 31), rnd.randint(0, 23))
        end = None if rnd.random() < 0.1 else start + timedelta(hours=rnd.uniform(0.2, 40))
        if rnd.random() < 0.5:
            hh = rnd.choice(IDS)
            incidents.append(inc(f"h{n}", kind, hh, start, end))
        else:
            etype, eid, homes = rnd.choice(entities)
            incidents.append(inc(f"p{n}", kind, eid, start, end, etype=etype,
                                 households=rnd.randint(0, len(homes)), priority=1))  # fmt: skip
            for h in rnd.sample(homes, rnd.randint(0, len(homes))):
                s2 = start + timedelta(minutes=rnd.randint(0, 90))
                incidents.append(inc(f"c{n}{h}", rnd.choice([kind, K.COMM_LOSS]), h, s2,
                                     end and max(end, s2), parent=f"p{n}"))  # fmt: skip
    f = dec(incidents)
    month_h = 31 * 24
    for cm in f.counties.values():
        assert cm.total.households_affected <= len(IDS)
        assert cm.total.interruption_hours <= len(IDS) * month_h + 1e-6
        for cell in cm.by_family.values():
            assert cell.households_affected <= cm.total.households_affected
            assert cell.interruption_hours <= cell.households_affected * month_h + 1e-6
            assert set(cell.households) <= set(IDS)
    assert f.city.households_affected <= len(IDS)


def _day(hid: str, d: date, county: str, lost: float, eps: int, *, short: bool) -> HouseholdDay:
    return HouseholdDay(
        household_id=hid, day=d, county=county, village="南村",
        retrofit_type=RetrofitType.DISTRICT_HEATING if short else RetrofitType.COAL_TO_ELECTRIC,
        heating_device=HeatingDevice.DISTRICT if short else HeatingDevice.STORAGE_HEATER,
        priority_group=PriorityGroup.NONE, readings=96,
        heating_available_minutes=1440 - lost, outage_minutes=0 if short else lost,
        shortfall_minutes=lost if short else 0, no_data_minutes=0, interruptions=eps,
        energy_kwh=1, valley_kwh=1, gas_m3=0,
    )  # fmt: skip


def test_the_season_chart_and_the_monthly_table_give_the_same_month(tmp_path: Path) -> None:
    """Low supply booked as shortfall minutes with no episode (the 51 events counted in one
    report only), a run from November into December, a run across midnight, a gap."""
    days: list[HouseholdDay] = []
    d0 = date(2021, 11, 15)
    for k in range(40):  # 11-15 … 12-24
        d = d0 + timedelta(days=k)
        # N1: below the curve on 12-05 and 12-06 (one run, no episode reported)
        days.append(_day("N1", d, "代县", 300.0 if d in (date(2021, 12, 5), date(2021, 12, 6))
                         else 0.0, 0, short=True))  # fmt: skip
        # E1: an outage from 11-30 running into 12-01 and 12-02; two on 12-10
        lost = {date(2021, 11, 30): 60.0, date(2021, 12, 1): 1440.0, date(2021, 12, 2): 30.0,
                date(2021, 12, 10): 120.0}.get(d, 0.0)  # fmt: skip
        eps = {date(2021, 11, 30): 1, date(2021, 12, 10): 2}.get(d, 0)
        days.append(_day("E1", d, "保德县", lost, eps, short=False))
        # E2: lost minutes on 12-20, a missing day 12-21, lost minutes again 12-22
        if d != date(2021, 12, 21):
            lost2 = 90.0 if d in (date(2021, 12, 20), date(2021, 12, 22)) else 0.0
            days.append(_day("E2", d, "保德县", lost2, 0, short=False))
    path = tmp_path / "rollups.jsonl"
    write_rollups_jsonl(days, path)
    src = JsonlRollups(path)
    monthly = compute_monthly("2021-12", [], src, None)
    result, _ = evaluate(src, None, StabilityPolicy(), "2021-2022")
    col = [m.strftime("%Y-%m") for m in result.month_starts].index("2021-12")
    chart = {c: int(result.interruptions_by_month[i, col])
             for i, c in enumerate(result.table.counties)}  # fmt: skip
    table = {c: cm.household_interruptions for c, cm in monthly.counties.items()}
    assert chart == table == {"代县": 1, "保德县": 2 + 2}


def test_episodes_started_rule() -> None:
    import numpy as np

    lost = np.array([10.0, 10.0, 0.0, 10.0, 10.0])
    eps = np.array([0, 0, 0, 2, 0])
    prev = np.array([0.0, 10.0, 10.0, 0.0, 10.0])
    assert episodes_started(lost, eps, prev).tolist() == [1, 0, 0, 2, 0]


def test_registry_heat_stations_reach_the_monthly_membership(tmp_path: Path) -> None:
    import numpy as np

    reg = Registry(
        ids=["N0", "N1"], county=["代县"] * 2, village=["南村"] * 2,
        retrofit=["district_heating"] * 2, priority=["none", "disabled"],
        lat=np.full(2, np.nan), lon=np.full(2, np.nan),
        old_heating_present=np.full(2, -1, np.int8), retrofit_completed=np.zeros(2, np.int32),
        feeder=["", ""], gas_station=["", ""], heat_station=["S1", "S1"],
    )  # fmt: skip
    write_rollups_jsonl([_day("N0", date(2021, 12, 1), "代县", 0.0, 0, short=True)],
                        tmp_path / "r.jsonl")  # fmt: skip
    own = inc("own", K.COMM_LOSS, "N1", at(12, 1, 1), at(12, 1, 2))
    station = inc("st", K.COMM_LOSS, "S1", at(12, 1, 3), at(12, 1, 4), etype=E.HEAT_STATION,
                  households=2)  # fmt: skip
    f = compute_monthly("2021-12", [own, station], JsonlRollups(tmp_path / "r.jsonl"), reg)
    comm = f.counties["代县"].by_family["comm_loss"]
    assert (comm.households_affected, comm.priority_affected) == (2, 1)
