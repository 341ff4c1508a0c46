"""Is the new heating used? Heating energy per degree-day against peers and the home's own past.

先立后破 asks whether the new system *carried the home through the winter*, not only whether
supply was there: a heat pump with power all season that barely ran (the bill was too high, the
family went back to coal — 返煤) is no evidence the stove can go. Everything here is numpy over
the same household × season-day grid as the stability verdict, from the daily rollups alone
(``energy_kwh`` for electric homes, ``heater_kwh`` for storage heaters, ``gas_m3`` for gas
homes), so both runners — whose rollups
are identical — give the same figures.

A household-day is **judged** when all of these hold (else it says nothing either way):

* the household's own meter measures its heating: electric / gas retrofits, and heat-network
  homes with a household heat meter (``heat_kwh``, the heat delivered into the home). A network
  home without one has no per-home heating figure and is not judged (its station's supply is;
  the report says so in words);
* supply was there (``min_supply_share`` of the day available) — a cold home during an outage
  is the stability verdict's business, not use;
* it is cold (heating degree-days ≥ ``min_hdd``): on mild days families rightly heat little;
* it is past the season's first ``warmup_days`` (people switch on at different dates);
* the home is not **empty** (meter near zero: nobody lives there that day).

Heating energy: a storage heater's part of its meter (``heater_kwh``: a shop on the same meter
is not heating), an electric home's meter above an appliance allowance, gas m³, delivered heat.
Intensity = heating energy / HDD (base 18 °C). Peers = households of the same retrofit type and
heating device in the same village (a heat-meter home: the metered homes on its own network,
and in the county those of any network type — see ``_peer_keys``), or in the county when the
village has fewer than
``min_peers`` such households or when the village's median is under ``village_floor`` of the
county's (a whole village that stopped); the peer reference is their median intensity that day
(a median: a few empty or under-using neighbours do not move it). A judged day is **low** when the ratio to
peers is below ``far_ratio``, or below ``own_drop_max_ratio`` and under ``own_drop`` of the
home's own early-season ratio (it stopped, e.g. after a bill). A household is **under-used**
(疑似未使用/复烧) when in some window of ``window_days`` days with at least
``min_judged_in_window`` judged days, ``persist_share`` of them are low. A household empty for
``empty_min_days`` days in a row with fewer than ``min_judged_days`` judged days, or empty on
``empty_season_share`` of its measured days, is **empty** (疑似空置) — not under-use, and not
evidence to dismantle either.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from contract.registry import ELECTRIC_RETROFITS, GAS_RETROFITS, NETWORK_RETROFITS
from heatwatch.report.stability.columns import F32, F64, I32, B, HouseholdTable, RollupColumns

# Heating degree-days base: 18 °C is the indoor design temperature of northern China's heating
# codes (GB 50736-2012 §3.0.2, 严寒/寒冷地区 18–24 °C; JGJ 26 computes HDD18) and the service
# standard the heat networks are held to (室温不低于 18 °C): heating need starts below it.
HDD_BASE_C = 18.0


class UseSettings(BaseModel):
    """When a household counts as using its new heating (policy ``use:``; reasons inline)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Judge use at all (off: the verdict is supply only).")
    min_hdd: float = Field(
        14.0,
        ge=0,
        description="Only days this cold are judged (mean ≤ 4 °C at base 18): on mild days a "
        "family heating one room or none is normal, and low use there proves nothing.",
    )
    warmup_days: int = Field(
        14,
        ge=0,
        description="The season's first two weeks are not judged: families switch on at "
        "different dates and storage heaters take days to settle.",
    )
    min_supply_share: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A day is judged only with supply at least this share of its 1440 minutes: "
        "no heating during an outage is not under-use.",
    )
    empty_max_kwh: float = Field(
        1.5,
        ge=0,
        description="An electric home drawing less than this in a day is empty (a fridge alone "
        "draws ~1 kWh/day; an occupied home that stopped heating still draws 3–8 kWh).",
    )
    empty_max_m3: float = Field(
        0.05,
        ge=0,
        description="A gas home using less than this in a day is empty (cooking alone uses "
        "0.2–0.5 m³/day).",
    )
    empty_min_days: int = Field(
        14,
        ge=1,
        description="Empty this many days in a row (two weeks away: longer than a Spring "
        "Festival visit's usual days) makes the household 疑似空置 when it also has too few "
        "judged days.",
    )
    empty_season_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Empty on at least this share of the days it was measured with supply "
        "(and empty_min_days in a row) makes the household 疑似空置 even with enough judged "
        "days: 先立后破 asks for a whole season run on the new system, and a home that stood "
        "empty most of the winter — away, or living on coal while the meter shows only a "
        "fridge — has shown a few weeks at most. A month away (a quarter of the season) "
        "stays judged on its other days.",
    )
    min_peers: int = Field(
        6,
        ge=2,
        description="A village group (same type and device, self included) needs this many "
        "households with a judged day, else the county group is used: the median of fewer "
        "is one or two neighbours' habits.",
    )
    village_floor: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A village whose median is under half its county's (same type and device) "
        "that day is not its own reference: a whole village that stopped heating is measured "
        "against the county. Village medians of similar homes in one county's climate differ "
        "far less than 2×.",
    )
    far_ratio: float = Field(
        0.35,
        gt=0,
        le=1,
        description="'Far below peers': under 35% of the peer median per degree-day. Homes of "
        "one village differ in size about 2× (60–150 m²), so a third of the median is beyond "
        "what a small home explains.",
    )
    own_drop: float = Field(
        0.4,
        gt=0,
        le=1,
        description="A day under 40% of the home's own early-season ratio to peers is a drop "
        "(stopped after a bill, back to coal) even for a large home still near its peers.",
    )
    own_drop_max_ratio: float = Field(
        0.6,
        gt=0,
        le=1,
        description="…but only below 60% of peers: a big home cutting back to its neighbours' "
        "level is economy, not disuse.",
    )
    by_area: bool = Field(
        True,
        description="A home with a heated area in the registry is measured per m², scaled to "
        "its county's median area of the same retrofit type: a 35 m² home heated fully uses a "
        "third of a 100 m² neighbour's energy and is not 'barely used'. A home without an "
        "area is taken as of that median size (as before).",
    )
    heating_share: bool = Field(
        True,
        description="An electric home is judged on the heating part of its whole-home meter: "
        "the day's kWh above an appliance allowance (appliance_kwh). Appliances dilute the "
        "ratio to peers: a solar home heating at a fifth of its peers read 0.38-0.41 on its "
        "whole meter (the simulator's seed 7), above far_ratio. Gas (cooking ~0.3 m³ of a "
        "day's 5-15) and heat meters (heat only) are judged as they are.",
    )
    heater_part: bool = Field(
        True,
        description="A storage-heater home is judged on its heater's part of the meter "
        "(HouseholdDay.heater_kwh: the draw above its own learned base load in the intervals "
        "the heater charged, as the peak-charging detector separates it), not on the whole "
        "meter less appliance_kwh: a village shop or workshop on the same meter (30 kWh a day "
        "and more) is not heating, and on the whole meter a home heating at an eighth of its "
        "peers read as used (0.57 of them). Its peers are storage homes, measured alike. A "
        "home's day without the figure (its first day, which only teaches its base) is not "
        "judged; a home with none (rollups from before the field) is measured as before. "
        "Empty days are still found on the whole meter (a fridge draws, a heater need not).",
    )
    appliance_kwh: float = Field(
        3.0,
        ge=0,
        description="The allowance: the low end of an occupied home's appliance draw (3-8 "
        "kWh a day, see empty_max_kwh). Taking off less than a home's appliances never makes "
        "a normal home look low (its heating part is over-stated by the rest, as its peers' "
        "are); it takes off most of the dilution. A household's own level is not estimated: "
        "see _heating_part.",
    )
    baseline_days: int = Field(
        10,
        ge=3,
        description="The home's own reference: the median ratio of its first judged days.",
    )
    window_days: int = Field(
        21, ge=7, description="'Persistently' is judged over three-week windows (calendar days)."
    )
    min_judged_in_window: int = Field(
        7,
        ge=3,
        description="A window needs this many judged (cold, supplied) days: one cold week.",
    )
    persist_share: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Share of a window's judged days that must be low: a week's trip or a "
        "few warm days at home do not make a household under-used.",
    )
    min_judged_days: int = Field(
        10,
        ge=1,
        description="Fewer judged days in the season: use is not judged (or, with a long empty "
        "run, the household is 疑似空置).",
    )


class UseState(IntEnum):
    NOT_JUDGED = 0  # not measurable (heat network), too few judged days, no peers
    USED = 1
    UNDER_USED = 2  # 疑似未使用/复烧
    EMPTY = 3  # 疑似空置


class PeerScope(IntEnum):
    NONE = 0
    VILLAGE = 1
    COUNTY = 2


@dataclass(frozen=True)
class UseDays:
    """Per household × season day (offsets from the grid's first day): the figures each day's
    judgement rests on, kept only when asked for (the live view's ``household_use`` points)."""

    amount: np.ndarray  # float32 kWh or m³ (NaN: no rollup)
    hdd: np.ndarray  # float32 heating degree-days (NaN: no temperature)
    ratio: np.ndarray  # float32 intensity / peer median (NaN: not judged)
    judged: B
    low: B
    gas: B  # per household: measured in m³ (else kWh)
    heat: B  # per household: kWh of heat delivered at a heat meter (else of its own meter)


@dataclass(frozen=True)
class UseResult:
    """Per household (index = household code); ratios are heating energy per degree-day over the
    peer median per degree-day (NaN: never judged)."""

    state: np.ndarray  # int8 UseState
    judged_days: I32
    low_days: I32
    worst_share: F64  # highest low share of a qualifying window (NaN: no window qualified)
    median_ratio: F64
    baseline_ratio: F64
    empty_days: I32
    longest_empty: I32
    scope: np.ndarray  # int8 PeerScope
    intensity: F64  # median own energy per HDD on judged days (kWh or m³)
    peer_intensity: F64  # median peer reference on those days
    measured: B
    heat_metered: B  # network homes judged on their heat meter's delivered heat
    # storage-heater homes judged on their heater's part of the meter (heater_kwh) on some
    # judgeable day (empty when nothing was)
    heater_part: B = field(default_factory=lambda: np.zeros(0, np.bool_))
    days: UseDays | None = None

    def mask(self, s: UseState) -> B:
        out: B = self.state == int(s)
        return out


def measured_retrofits(table: HouseholdTable) -> tuple[B, B]:
    """(electric-measured, gas-measured) per household: its own meter shows its heating."""
    el = np.array([r in {x.value for x in ELECTRIC_RETROFITS} for r in table.retrofits], np.bool_)
    gas = np.array([r in {x.value for x in GAS_RETROFITS} for r in table.retrofits], np.bool_)
    code = np.where(table.retrofit >= 0, table.retrofit, len(el)).astype(np.int64)
    el_h: B = np.append(el, False)[code]
    gas_h: B = np.append(gas, False)[code]
    return el_h, gas_h


def network_homes(table: HouseholdTable) -> B:
    """Per household: a heat-network retrofit (central heating, boiler house, biomass)."""
    net = np.array([r in {x.value for x in NETWORK_RETROFITS} for r in table.retrofits], np.bool_)
    code = np.where(table.retrofit >= 0, table.retrofit, len(net)).astype(np.int64)
    out: B = np.append(net, False)[code]
    return out


def heat_metered(rows: RollupColumns, table: HouseholdTable) -> B:
    """Network homes whose heat meter reported delivered heat on some day of the rollups: the
    heat they took is their use figure, as a meter's kWh is an electric home's."""
    n_h = len(table)
    out = np.zeros(n_h, np.bool_)
    if len(rows.heat):
        ok = (rows.household >= 0) & (rows.household < n_h) & ~np.isnan(rows.heat)
        out[rows.household[ok]] = True
    out &= network_homes(table)
    return out


def household_device(rows: RollupColumns, n_h: int) -> I32:
    """Each household's heating-device code (its last row's; -1 unknown)."""
    out = np.full(n_h, -1, np.int32)
    if len(rows.device):
        ok = (rows.household >= 0) & (rows.household < n_h)
        out[rows.household[ok]] = rows.device[ok]
    return out


def measure_use(
    rows: RollupColumns,
    table: HouseholdTable,
    settings: UseSettings,
    *,
    d0: int,
    n_d: int,
    s_h: I32,
    e_h: I32,
    keep_days: bool = False,
) -> UseResult:
    """Use per household over its season ``[s_h, e_h]`` (offsets from day number ``d0``);
    ``keep_days``: also the per-day figures (``UseResult.days``)."""
    n_h = len(table)
    el, gas = measured_retrofits(table)
    heat = heat_metered(rows, table)
    measured: B = (el | gas | heat) & (s_h <= e_h)
    off = rows.day - np.int32(d0)
    ok = (rows.household >= 0) & (rows.household < n_h) & (off >= 0) & (off < n_d)
    idx = np.flatnonzero(ok)
    hh, o = rows.household[idx], off[idx]
    inside = (o >= s_h[hh]) & (o <= e_h[hh])
    idx, hh, o = idx[inside], hh[inside], o[inside]
    flat = hh.astype(np.int64) * n_d + o

    def scatter(values: np.ndarray, fill: float = np.nan) -> F32:
        out = np.full(n_h * n_d, fill, np.float32)
        out[flat] = values
        return out.reshape(n_h, n_d)

    # The grids are household × season-day float32 (≈ 93 MB each for the whole city): each is
    # dropped as soon as the next step no longer needs it.
    if len(rows.energy):
        own = np.where(gas[hh], rows.gas[idx], rows.energy[idx])
        if heat.any():  # a heat-meter day without a reading stays NaN: not judged, not empty
            own = np.where(heat[hh], rows.heat[idx], own)
        amount = scatter(own)  # NaN: no row
    else:
        amount = np.full((n_h, n_d), np.nan, np.float32)
    # Supply was there (and so was the meter: a day with no data has no available minutes).
    supplied = scatter(rows.available[idx], 0.0) >= np.float32(settings.min_supply_share * 1440)
    empty_max = np.where(gas, settings.empty_max_m3, settings.empty_max_kwh).astype(np.float32)
    # A heat meter sees heat, not occupancy: an empty home and one whose family shut the valves
    # to burn coal read alike, and a meter without heat while the station supplies is already
    # the home's interruption (its minutes are shortfall, so the day is not judged). A heat-
    # meter home is never 疑似空置; low delivered heat is judged as low use (a visit either way).
    empty_max[heat] = -np.inf
    # Empty: near-zero energy on a day the meter reported and supply was there (a meter that
    # never reported writes 0 kWh days with no data: that is a work order, not an empty home).
    empty = measured[:, None] & supplied & (amount < empty_max[:, None])  # NaN compares False
    observed_days = (measured[:, None] & supplied & ~np.isnan(amount)).sum(axis=1, dtype=np.int32)
    if len(rows.county_mean_temp):
        hdd = np.maximum(np.float32(HDD_BASE_C) - scatter(rows.county_mean_temp[idx]), 0.0)
    else:
        hdd = np.full((n_h, n_d), np.nan, np.float32)
    day = np.arange(n_d, dtype=np.int32)[None, :]
    judged: B = (
        measured[:, None]
        & ~np.isnan(amount)
        & ~empty
        & (hdd >= settings.min_hdd)
        & (day >= (s_h + settings.warmup_days)[:, None])
    )
    judged &= supplied
    heating = _heating_part(amount, el, settings) if settings.heating_share else amount
    device = household_device(rows, n_h)
    on_heater: B = np.zeros(n_h, np.bool_)
    if settings.heater_part and len(rows.heater):
        # A storage heater's own part: a household whose rollups carry it is measured on it
        # alone — a day without it (its first day, which only teaches its base, or a day
        # rolled up before the field) is not judged rather than judged on another measure.
        # Households without it (other homes; rollups from before) as before.
        heater = scatter(rows.heater[idx])
        has: B = ~np.isnan(heater)
        # …when its group's heaters are seen charging at all: a back-up element that never
        # draws near its rating (a solar-thermal home's, a low setting) leaves the heater part
        # at 0 for the whole group, which measures nothing — that group keeps the meter.
        county_key, _ = _peer_keys(table, device, heat)
        group = _group_median(np.where(has, heater, np.nan), county_key, 1)
        seen = (group > 0).sum(axis=1) >= np.float32(0.5) * has.sum(axis=1)
        carried: B = np.asarray(has.any(axis=1) & seen, np.bool_)
        del group
        judged &= has | ~carried[:, None]
        on_heater = carried & judged.any(axis=1)
        heating = np.where(carried[:, None], heater, heating)
        del heater, has
    del supplied
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(judged, heating / np.where(hdd > 0, hdd, 1), np.nan).astype(np.float32)
    del heating
    if settings.by_area:
        intensity *= area_scale(table)[:, None]
    kept = (amount, hdd) if keep_days else None
    del amount, hdd
    candidate = judged.copy()
    flagged = np.zeros(n_h, np.bool_)
    # Two passes: the second measures everyone against peers without the households the first
    # found under-used — a peer median resists a minority of under-users, not a third or half
    # of a group (a village that stopped after the December bill drags its county's median).
    for _ in range(2):
        peers = np.where(flagged[:, None], np.float32(np.nan), intensity) if flagged.any() \
            else intensity  # fmt: skip
        ref, scope = _peer_reference(peers, candidate, table, device, heat, settings)
        del peers
        judged = candidate & ~np.isnan(ref)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(judged, intensity / ref, np.nan).astype(np.float32)
        baseline = _baseline(ratio, judged, settings.baseline_days)
        low = judged & (
            (ratio < settings.far_ratio)
            | ((ratio < settings.own_drop_max_ratio)
               & (ratio < settings.own_drop * baseline[:, None]))
        )  # fmt: skip
        worst = _worst_window(judged, low, settings)
        under = ~np.isnan(worst) & (worst >= settings.persist_share)
        if not under.any() or (under == flagged).all():
            break
        flagged = under
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med_int = np.nanmedian(np.where(judged, intensity, np.nan), axis=1) if n_d else None
        med_ref = np.nanmedian(np.where(judged, ref, np.nan), axis=1) if n_d else None
    del intensity, ref, candidate
    judged_days = judged.sum(axis=1, dtype=np.int32)
    empty_days = empty.sum(axis=1, dtype=np.int32)
    longest_empty = _longest_run(empty)
    state = np.full(n_h, int(UseState.NOT_JUDGED), np.int8)
    enough = judged_days >= settings.min_judged_days
    state[enough] = int(UseState.USED)
    state[under] = int(UseState.UNDER_USED)
    long_empty = longest_empty >= settings.empty_min_days
    mostly_empty = empty_days >= settings.empty_season_share * observed_days
    state[~under & long_empty & (~enough | mostly_empty)] = int(UseState.EMPTY)
    if not settings.enabled:
        state[:] = int(UseState.NOT_JUDGED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med_ratio = np.nanmedian(ratio, axis=1) if n_d else None
    nan = np.full(n_h, np.nan)
    return UseResult(
        state=state,
        judged_days=judged_days,
        low_days=low.sum(axis=1, dtype=np.int32),
        worst_share=worst,
        median_ratio=(nan if med_ratio is None else med_ratio).astype(np.float64),
        baseline_ratio=baseline.astype(np.float64),
        empty_days=empty_days,
        longest_empty=longest_empty,
        scope=scope,
        intensity=(nan if med_int is None else med_int).astype(np.float64),
        peer_intensity=(nan if med_ref is None else med_ref).astype(np.float64),
        measured=measured,
        heat_metered=heat,
        heater_part=on_heater,
        days=None if kept is None else UseDays(kept[0], kept[1], ratio, judged, low, gas, heat),
    )


def _heating_part(amount: np.ndarray, el: B, s: UseSettings) -> np.ndarray:
    """The heating part of each electric home's daily kWh: above ``appliance_kwh`` (never
    below nothing: a day under the allowance is a day without heating); other homes' amount
    as it is.

    Why a fixed allowance and not the household's own appliance level: the own level is the
    intercept of a line of its daily kWh on degree-days, and (tried) it cannot be trusted —
    in a cold spell the degree-days hardly vary (December's county means: 1.9 K·d standard
    deviation), so the intercept at no heating need is extrapolated across ~15 of them; over a
    whole season a home that changed (a big home cutting back to its neighbours' level after
    the bill, the fixtures' LARGE-CUT) mixes two lines whose intercept overstates its
    appliances, and it read as under-used. A mild-day level fails likewise: a heat pump still
    heats at +6 °C, and a season may start cold. An allowance at the low end of what homes
    draw removes most of the dilution and errs, for every home alike, on the side of
    over-stating heating."""
    if not el.any():
        return amount
    allowance = np.where(el, np.float32(s.appliance_kwh), np.float32(0.0))
    out: np.ndarray = np.maximum(amount - allowance[:, None], 0.0).astype(np.float32)  # NaN stays
    return out


def area_scale(table: HouseholdTable) -> F32:
    """Per household: its county's median heated area of its retrofit type over its own, so
    energy per degree-day compares homes as if of one size (1 where an area is unknown)."""
    n_h = len(table)
    scale = np.ones(n_h, np.float32)
    area = table.area_m2
    if len(area) != n_h:
        return scale
    known = np.isfinite(area) & (area > 0)
    if not known.any():
        return scale
    for county, retrofit in set(zip(table.county[known], table.retrofit[known], strict=True)):
        group = known & (table.county == county) & (table.retrofit == retrofit)
        scale[group] = np.float32(np.median(area[group])) / area[group].astype(np.float32)
    return scale


def _peer_keys(table: HouseholdTable, device: I32, heat: B) -> tuple[np.ndarray, np.ndarray]:
    """(county key, village key) per household: the groups whose median is its reference.

    Metered homes: retrofit type and heating device (a heat pump needs a third of a storage
    heater's kWh), in the village, else the county. Heat-meter homes: the heat delivered into
    a home is heat whatever made it (CHP, boiler house, biomass), so their one group is the
    county's heat-meter homes of every network type; the near group is its own network (the
    station: one supply temperature, one operator's curve, a village's or an estate's houses)
    rather than the village, which a CHP network spans and a biomass one shares."""
    pooled = np.int32(-2)  # no retrofit type or device code is negative below -1
    retro = np.where(heat, pooled, table.retrofit).astype(np.int32)
    dev = np.where(heat, pooled, device).astype(np.int32)
    near = np.where(heat, table.station, table.village).astype(np.int32)
    # a heat-meter home whose station the registry does not name has no near group
    alone = heat & (table.station < 0)
    near[alone] = -3 - np.flatnonzero(alone).astype(np.int32)
    county_key = np.stack([table.county, retro, dev], axis=1)
    village_key = np.stack([heat.astype(np.int32), near, retro, dev], axis=1)
    return county_key, village_key


def _peer_reference(
    intensity: np.ndarray,
    own: B,
    table: HouseholdTable,
    device: I32,
    heat: B,
    settings: UseSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Per household-day: the peer median intensity (village group, else county group), and
    per household the scope used on most of its own judged days (``own``)."""
    n_h, n_d = intensity.shape
    scope = np.zeros(n_h, np.int8)
    if not n_h or not n_d:
        return np.full((n_h, n_d), np.nan, np.float32), scope
    county_key, village_key = _peer_keys(table, device, heat)
    c_ref = _group_median(intensity, county_key, settings.min_peers)
    v_ref = _group_median(intensity, village_key, settings.min_peers)
    # A village far below its county (a whole village that stopped: the bill is too high for
    # everyone) is no reference for itself: its households are measured against the county.
    with np.errstate(invalid="ignore"):
        use_v = ~np.isnan(v_ref) & ~(v_ref < np.float32(settings.village_floor) * c_ref)
    ref = np.where(use_v, v_ref, c_ref)
    # No heating among the peers that day (a median of 0): nothing to be far below — the day
    # is not judged, rather than judged on a ratio that cannot be formed.
    ref = np.where(ref > 0, ref, np.float32(np.nan))
    v_days = (use_v & own).sum(axis=1)
    c_days = (~use_v & ~np.isnan(c_ref) & own).sum(axis=1)
    scope[(v_days + c_days) > 0] = int(PeerScope.COUNTY)
    scope[(v_days >= c_days) & (v_days > 0)] = int(PeerScope.VILLAGE)
    return ref, scope


def _group_median(values: np.ndarray, key: np.ndarray, min_n: int) -> np.ndarray:
    """Median of ``values`` over each key group per day (NaN where fewer than ``min_n``)."""
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.reshape(-1)
    out = np.full(values.shape, np.nan, np.float32)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < min_n:
            continue
        block = values[members]
        counts = (~np.isnan(block)).sum(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(block, axis=0)
        med = np.where(counts >= min_n, med, np.nan)
        out[members] = med[None, :]
    return out


def _baseline(ratio: np.ndarray, judged: B, k: int) -> np.ndarray:
    """Median ratio of each household's first ``k`` judged days (NaN: fewer than ``k``)."""
    rank = np.cumsum(judged, axis=1, dtype=np.int16)  # a season has < 32,767 days
    first = judged & (rank <= k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(first, ratio, np.nan), axis=1) if ratio.shape[1] else None
    out = np.full(ratio.shape[0], np.nan) if med is None else med
    out[judged.sum(axis=1) < k] = np.nan
    return out


def _worst_window(judged: B, low: B, s: UseSettings) -> F64:
    """Highest share of low days over windows of ``window_days`` with enough judged days."""
    n_h, n_d = judged.shape
    w = min(s.window_days, n_d)
    if not n_d:
        return np.full(n_h, np.nan)
    # int16 counts and float32 shares: these are household × day grids (a season < 32,767 days)
    cj = np.zeros((n_h, n_d + 1), np.int16)
    np.cumsum(judged, axis=1, dtype=np.int16, out=cj[:, 1:])
    cl = np.zeros((n_h, n_d + 1), np.int16)
    np.cumsum(low, axis=1, dtype=np.int16, out=cl[:, 1:])
    nj = cj[:, w:] - cj[:, :-w]
    nl = cl[:, w:] - cl[:, :-w]
    del cj, cl
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            nj >= s.min_judged_in_window,
            nl.astype(np.float32) / np.maximum(nj, 1).astype(np.float32),
            np.float32(-1.0),
        )
    del nj, nl
    best = share.max(axis=1)
    out: F64 = np.where(best >= 0, best, np.nan).astype(np.float64)
    return out


def _longest_run(mask: B) -> I32:
    """Longest run of True per row."""
    n_h, n_d = mask.shape
    if not n_d:
        return np.zeros(n_h, np.int32)
    m = mask.astype(np.int32)
    run = np.zeros(n_h, np.int32)
    best = np.zeros(n_h, np.int32)
    for j in range(n_d):  # n_d ≈ 121 column steps, each vectorised over households
        run = (run + 1) * m[:, j]
        np.maximum(best, run, out=best)
    return best
