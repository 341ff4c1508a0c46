"""Hand-built household-day rollups for the use judgement (issue 24), each household with its
truth: what a visit would find. Deterministic (no random numbers): every figure can be
recomputed by hand.

One county (忻府区), season 2021-11-15 .. 2022-03-15. The county's mean temperature falls from
+4 °C in mid-November to -10 °C in mid-January and rises to +4 °C by mid-March, with a ±2 °C
weekly wobble. An occupied electric home draws ``base`` kWh a day for its appliances plus
``size × 1.2 kWh`` per heating degree-day (base 18 °C) when it heats; a gas home
``0.3 m³`` for cooking plus ``size × 0.12 m³`` per degree-day.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa

from contract.rollups import HouseholdDay
from formats.rollup_parquet import ROLLUP_SCHEMA
from heatwatch.report.loading import build_inputs
from heatwatch.report.stability.columns import HouseholdTable, RollupColumns

START = date(2021, 11, 15)
DAYS = 121
COUNTY = "忻府区"


def mean_temp(k: int) -> float:
    """County mean temperature on season day ``k`` (coldest around day 60, mid-January)."""
    return round(4.0 - 14.0 * math.sin(math.pi * k / (DAYS - 1)) + 2.0 * math.sin(k / 1.1), 1)


def hdd(k: int) -> float:
    return max(18.0 - mean_temp(k), 0.0)


# How much of its normal heating a household uses on season day k (1 = like its neighbours).
Pattern = Callable[[int], float]


def always(f: float) -> Pattern:
    return lambda k: f


def until(day: int, before: float, after: float) -> Pattern:
    return lambda k: before if k < day else after


EMPTY = -1.0  # pattern value: nobody home (fridge only, or nothing at all)


def away(first: int, last: int) -> Pattern:
    return lambda k: EMPTY if first <= k <= last else 1.0


# (household id, village, retrofit, device, size factor, pattern, truth)
HOUSEHOLDS: list[tuple[str, str, str, str, float, Pattern, str]] = [
    # --- 东营村: 12 heat-pump homes of very different sizes --------------------------------
    ("N-01", "东营村", "coal_to_electric", "heat_pump", 1.0, always(1.0), "used"),
    ("N-02", "东营村", "coal_to_electric", "heat_pump", 0.8, always(1.0), "used"),
    ("N-03", "东营村", "coal_to_electric", "heat_pump", 1.2, always(1.0), "used"),
    ("N-04", "东营村", "coal_to_electric", "heat_pump", 0.9, always(1.0), "used"),
    ("N-05", "东营村", "coal_to_electric", "heat_pump", 1.1, always(1.0), "used"),
    ("N-06", "东营村", "coal_to_electric", "heat_pump", 1.0, always(1.0), "used"),
    ("SMALL", "东营村", "coal_to_electric", "heat_pump", 0.45, always(1.0), "used"),
    ("LARGE", "东营村", "coal_to_electric", "heat_pump", 2.2, always(1.0), "used"),
    # a large home that cuts back to its neighbours' level in January: economy, not disuse
    ("LARGE-CUT", "东营村", "coal_to_electric", "heat_pump", 2.2, until(50, 1.0, 0.45), "used"),
    # Spring Festival: away 19 days (fridge only), heating normally before and after
    ("AWAY", "东营村", "coal_to_electric", "heat_pump", 1.0, away(75, 93), "used"),
    ("PARTIAL", "东营村", "coal_to_electric", "heat_pump", 1.0, always(0.2), "under_used"),
    # stopped after the December bill: a trickle of heating from day 40
    ("BILL", "东营村", "coal_to_electric", "heat_pump", 1.0, until(40, 1.0, 0.1), "under_used"),
    # back to coal in mid-January: appliances only from day 60
    ("COAL", "东营村", "coal_to_electric", "heat_pump", 1.1, until(60, 1.0, 0.0), "under_used"),
    # the family left for the city after two weeks: empty the rest of the winter
    ("EMPTY", "东营村", "coal_to_electric", "heat_pump", 1.0, until(16, 1.0, EMPTY), "empty"),
    # empty from the season's start until late February, then heated its last 25 days: enough
    # judged days, but no season on the new system
    ("LATE", "东营村", "coal_to_electric", "heat_pump", 1.0, until(96, EMPTY, 1.0), "empty"),
    # back to coal from day 40 and the meter then shows no more than an empty home's fridge:
    # 26 judged days of normal use before, empty-looking for two thirds of the season
    ("GONE", "东营村", "coal_to_electric", "heat_pump", 1.0, until(40, 1.0, EMPTY), "empty"),
    # --- 上营村: the whole village stopped after the December bill (from day 45 a trickle) -----
    *[
        (
            f"U-{k:02d}",
            "上营村",
            "coal_to_electric",
            "heat_pump",
            size,
            until(45, 1.0, 0.15),
            "under_used",
        )
        for k, size in enumerate((0.8, 0.9, 1.0, 1.0, 1.1, 1.3), 1)
    ],
    # --- 西营村 (4 storage-heater homes: too few → compared with the county's) ---------------
    ("S-01", "西营村", "coal_to_electric", "storage_heater", 1.0, always(1.0), "used"),
    ("S-02", "西营村", "coal_to_electric", "storage_heater", 1.3, always(1.0), "used"),
    ("S-03", "西营村", "coal_to_electric", "storage_heater", 0.9, always(1.0), "used"),
    (
        "S-COAL",
        "西营村",
        "coal_to_electric",
        "storage_heater",
        1.0,
        until(30, 1.0, 0.0),
        "under_used",
    ),
    # --- 南营村 storage heaters (with 西营村: the county group of 8) -------------------------
    ("S-11", "南营村", "coal_to_electric", "storage_heater", 1.0, always(1.0), "used"),
    ("S-12", "南营村", "coal_to_electric", "storage_heater", 0.7, always(1.0), "used"),
    ("S-13", "南营村", "coal_to_electric", "storage_heater", 1.5, always(1.0), "used"),
    ("S-14", "南营村", "coal_to_electric", "storage_heater", 1.1, always(1.0), "used"),
    # --- gas: 7 boilers in one village ----------------------------------------------------
    ("G-01", "北营村", "coal_to_gas", "gas_boiler", 1.0, always(1.0), "used"),
    ("G-02", "北营村", "coal_to_gas", "gas_boiler", 0.8, always(1.0), "used"),
    ("G-03", "北营村", "coal_to_gas", "gas_boiler", 1.3, always(1.0), "used"),
    ("G-04", "北营村", "coal_to_gas", "gas_boiler", 1.0, always(1.0), "used"),
    ("G-05", "北营村", "coal_to_gas", "gas_boiler", 0.9, always(1.0), "used"),
    ("G-06", "北营村", "coal_to_gas", "gas_boiler", 1.2, always(1.0), "used"),
    ("G-HALF", "北营村", "coal_to_gas", "gas_boiler", 1.0, always(0.25), "under_used"),
    # --- a network home: no meter of its own shows heating → never judged on use -----------
    ("D-01", "北营村", "district_heating", "district", 1.0, always(0.0), "not_judged"),
    # --- network homes with a household heat meter: judged on the heat delivered ----------
    ("M-01", "东关村", "district_heating", "district", 1.0, always(1.0), "used"),
    ("M-02", "东关村", "district_heating", "district", 0.8, always(1.0), "used"),
    ("M-03", "东关村", "district_heating", "district", 1.3, always(1.0), "used"),
    ("M-04", "东关村", "district_heating", "district", 0.9, always(1.0), "used"),
    ("M-05", "东关村", "district_heating", "district", 1.1, always(1.0), "used"),
    ("M-06", "东关村", "district_heating", "district", 1.0, always(1.0), "used"),
    ("M-PART", "东关村", "district_heating", "district", 1.0, always(0.2), "under_used"),
    # valves turned down to frost protection after the bill (the coal stove heats): a trickle
    # of heat, not a closed valve (which is the heat meter's no-heat interruption)
    ("M-VALVE", "东关村", "district_heating", "district", 1.0, until(50, 1.0, 0.1), "under_used"),
]

TRUTH = {h[0]: h[6] for h in HOUSEHOLDS}


def days_of(hid: str, village: str, retrofit: str, device: str, size: float,
            pattern: Pattern, shop_kwh: float = 0.0) -> list[HouseholdDay]:  # fmt: skip
    """A household's season; ``shop_kwh``: a shop on the same meter, drawing that much a day
    between 09:00 and 19:00 (outside the valley)."""
    out = []
    storage = device == "storage_heater"
    gas = retrofit == "coal_to_gas"
    metered = hid.startswith("M-")  # a network home with a household heat meter
    for k in range(DAYS):
        f = pattern(k)
        heat = 0.0 if f == EMPTY else f * size * hdd(k)
        if gas:
            energy, gas_m3 = 0.0, (0.0 if f == EMPTY else 0.3 + 0.12 * heat)
            valley = 0.0
        elif retrofit == "district_heating":  # appliances only on the electricity meter
            energy, valley, gas_m3 = 4.0, round(4.0 * 10 / 24, 3), 0.0
        else:
            base = 0.8 if f == EMPTY else 4.0 + 0.5 * math.sin(k)  # appliances
            heat_kwh = 1.2 * heat
            energy = base + heat_kwh + shop_kwh
            # storage heaters charge in the valley; heat pumps run round the clock
            share = 0.9 if device == "storage_heater" else 10 / 24
            valley = round(base * 10 / 24 + heat_kwh * share, 3)
            gas_m3 = 0.0
        out.append(
            HouseholdDay(
                household_id=hid,
                day=START + timedelta(days=k),
                county=COUNTY,
                village=village,
                retrofit_type=retrofit,
                heating_device=device,
                priority_group="none",
                readings=96,
                heating_available_minutes=1440,
                outage_minutes=0,
                shortfall_minutes=0,
                no_data_minutes=0,
                interruptions=0,
                energy_kwh=round(energy, 3),
                valley_kwh=valley,
                valley_share=round(valley / energy, 4) if energy > 0 else None,
                gas_m3=round(gas_m3, 3),
                county_min_temp_c=round(mean_temp(k) - 6.0, 1),
                county_mean_temp_c=mean_temp(k),
                evidence=(
                    ("heat_station+heat_meter" if metered else "heat_station")
                    if retrofit == "district_heating"
                    else ("gas_meter" if gas else "electric_meter")
                ),
                # a heat meter: 2 kWh of heat per degree-day for a home of size 1
                heat_kwh=round(2.0 * heat, 3) if metered else None,
                # a storage heater's part of the meter, as the core splits it off the home's
                # own base load (the appliances, a shop): its heating
                heater_kwh=round(1.2 * heat, 3) if storage else None,
            )
        )
    return out


def fixture_days() -> list[HouseholdDay]:
    return [d for h in HOUSEHOLDS for d in days_of(*h[:6])]


def fixture_inputs(days: list[HouseholdDay] | None = None) -> tuple[RollupColumns, HouseholdTable]:
    rows = [d.model_dump(mode="python") for d in (days or fixture_days())]
    return build_inputs(pa.Table.from_pylist(rows, schema=ROLLUP_SCHEMA), None)
