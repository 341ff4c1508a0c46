"""Each heat station judged against itself (issue 20): its design from the registry or from
defaults by kind and size, and the normal it has shown at a similar outdoor temperature.

A village biomass network of 3 homes circulates well under 1 m³/h, a city exchange station
hundreds; a floor-heating network runs at 35-50 °C, a radiator network at 45-75 °C. Every
threshold of the station detectors is therefore a share of a per-station reference:

* ``StationDesign``: design flow (registry, else heated area × heat load, else homes ×
  default area), design supply/return (registry, else by kind) and heating curve (registry
  override, else the kind's, rescaled to a registry design supply).
* The learned normal (slots of ``HeatStationState``): an exponential mean of flow over the
  station's healthy readings, and of the supply–return difference per outdoor band. Used once
  a band has ``heat_normal_min_readings``; before that (the first hours of a season, a new
  cold spell) the design with the more tolerant ``*_unlearned`` shares.

Pure functions of plain values: the learned normal is checkpointed with the station.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from contract.registry import HeatFuel, HeatStationKind, Household
from streams.core.settings import DetectionSettings
from streams.core.state import HeatStationState, StationNormal

WATER_KWH_PER_M3K = 1.163  # heat carried by 1 m³ of water per kelvin, kWh (c_p × ρ)
ROOM_C = 18.0  # indoor design temperature: no heating load at or above it
DESIGN_OUTDOOR_C = -15.0  # Xinzhou's design outdoor temperature (the curves' cold point)


@dataclass(frozen=True, slots=True)
class StationDesign:
    """What a station was built for: the reference its readings are judged against."""

    flow_m3h: float
    flow_from_registry: bool  # a registry design flow (or area) rather than a guess from homes
    supply_c: float
    return_c: float
    curve: tuple[float, float]  # minimum supply at +5 °C and at −15 °C outdoors
    # the curve comes from the registry (an override, or the kind's rescaled to a registry
    # design supply): it wins over a learned curve; else it is the kind's guess
    curve_from_registry: bool
    fuel: HeatFuel | None
    rated_mw: float | None

    @property
    def delta_k(self) -> float:
        return self.supply_c - self.return_c


def first_given(rows: list[Household], name: str) -> object:
    """The first household row of a station giving ``name`` (station-wide registry fields)."""
    for hh in rows:
        value = getattr(hh, name)
        if value is not None:
            return value
    return None


def station_design(
    s: DetectionSettings, kind: HeatStationKind, rows: list[Household]
) -> StationDesign:
    """A station's design from its households' registry rows, defaults by kind and size."""
    homes = max(1, len(rows))
    sup_default, ret_default = s.heat_design_temps.get(kind.value) or (75.0, 50.0)
    supply = _float(first_given(rows, "heat_station_design_supply_c"), sup_default)
    ret = _float(first_given(rows, "heat_station_design_return_c"), ret_default)
    if ret >= supply:  # one row's supply with another's return: keep the kind's difference
        ret = supply - (sup_default - ret_default)
    flow = first_given(rows, "heat_station_design_flow_m3h")
    area = first_given(rows, "heat_station_heated_area_m2")
    from_registry = flow is not None or area is not None
    if flow is None:
        heated = (
            float(area)  # type: ignore[arg-type]
            if area is not None
            else homes * s.heat_design_area_per_home_m2
        )
        flow = heated * s.heat_design_load_w_m2 / 1000 / (WATER_KWH_PER_M3K * (supply - ret))
    mild = first_given(rows, "heat_station_curve_mild_c")
    cold = first_given(rows, "heat_station_curve_design_c")
    registry_curve = (mild is not None and cold is not None) or (
        first_given(rows, "heat_station_design_supply_c") is not None
    )
    if mild is not None and cold is not None:
        curve = (float(mild), float(cold))  # type: ignore[arg-type]
    else:
        k_mild, k_cold = (
            s.heat_curves.get(kind.value)
            or s.heat_curves.get("boiler_house")
            or (
                45.0,
                68.0,
            )
        )
        # A registry design supply other than the kind's rescales the curve above room
        # temperature: a 50/40 floor-heating network's minimum is ~34 °C mild, ~46 °C cold.
        scale = (supply - 20.0) / (sup_default - 20.0)
        curve = (20.0 + (k_mild - 20.0) * scale, 20.0 + (k_cold - 20.0) * scale)
    fuel = first_given(rows, "heat_station_fuel")
    rated = first_given(rows, "heat_station_rated_mw")
    return StationDesign(
        flow_m3h=float(flow),  # type: ignore[arg-type]
        flow_from_registry=from_registry,
        supply_c=supply,
        return_c=ret,
        curve=curve,
        curve_from_registry=registry_curve,
        fuel=fuel if isinstance(fuel, HeatFuel) else None,
        rated_mw=float(rated) if rated is not None else None,  # type: ignore[arg-type]
    )


def _float(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def curve_at(curve: tuple[float, float], outdoor_c: float) -> float:
    """The minimum secondary supply at ``outdoor_c`` on a curve given at +5 °C and −15 °C."""
    mild, design = curve
    frac = min(1.0, max(0.0, (5.0 - outdoor_c) / 20.0))  # +5 °C → 0, −15 °C → 1
    return mild + (design - mild) * frac


def load_share(outdoor_c: float | None) -> float:
    """The heating load at ``outdoor_c`` as a share of the design load (degree-difference
    rule), floored at 15 %: at the season's mild edges the load is small but not nil."""
    if outdoor_c is None:
        return 0.6  # unknown weather: a middle-of-the-season load
    return min(1.0, max(0.15, (ROOM_C - outdoor_c) / (ROOM_C - DESIGN_OUTDOOR_C)))


def band_of(s: DetectionSettings, outdoor_c: float | None) -> int:
    """The outdoor band a normal is learned in (one band when the weather is unknown)."""
    if outdoor_c is None:
        return 999
    return math.floor(outdoor_c / s.heat_normal_band_c)


@dataclass(frozen=True, slots=True)
class Reference:
    """The thresholds one reading is judged against, and where they came from."""

    flow_stopped_m3h: float
    delta_lost_k: float
    dead_supply_c: float
    learned: bool  # the station's own normal (else its design)
    flow_learned: bool = False
    delta_normal_k: float | None = None  # learned at this outdoor band (or a neighbour)
    heat_normal_kw: float | None = None  # learned heat output at this band


def reference(
    s: DetectionSettings, design: StationDesign, normal: StationNormal, outdoor_c: float | None
) -> Reference:
    """The station's thresholds at ``outdoor_c`` from its learned normal, else its design."""
    n_flow, flow = normal.flow
    learned_flow = n_flow >= s.heat_normal_min_readings
    if learned_flow:
        stopped = flow * s.heat_flow_stopped_share
    else:
        stopped = design.flow_m3h * s.heat_flow_stopped_share_unlearned
    band = band_of(s, outdoor_c)
    entry = None
    for b in (band, band - 1, band + 1):  # the band, else a neighbour (a new cold spell)
        e = normal.delta.get(b)
        if e is not None and e[0] >= s.heat_normal_min_readings:
            entry = e
            break
    heat = None
    h = normal.heat.get(band)
    if h is not None and h[0] >= s.heat_normal_min_readings:
        heat = h[1]
    if entry is not None:
        lost = entry[1] * s.heat_source_loss_delta_share
    else:
        lost = design.delta_k * load_share(outdoor_c) * s.heat_source_loss_delta_share_unlearned
    return Reference(
        flow_stopped_m3h=max(stopped, s.heat_flow_floor_m3h),
        delta_lost_k=max(lost, s.heat_source_loss_delta_min_k),
        dead_supply_c=design.return_c - s.heat_dead_below_return_k,
        learned=learned_flow and entry is not None,
        flow_learned=learned_flow,
        delta_normal_k=entry[1] if entry is not None else None,
        heat_normal_kw=heat,
    )


def learn(
    s: DetectionSettings,
    normal: StationNormal,
    outdoor_c: float | None,
    flow: float,
    delta_k: float,
    heat_kw: float,
) -> None:
    """Fold one healthy reading into the station's normal (exponential means; the first
    readings of a band are a plain mean so the early normal is not the first reading's)."""
    _fold(s, normal.flow, flow)
    band = band_of(s, outdoor_c)
    for table, value in ((normal.delta, delta_k), (normal.heat, heat_kw)):
        entry = table.get(band)
        if entry is None:
            entry = table[band] = [0, 0.0]
        _fold(s, entry, value)


def _fold(s: DetectionSettings, entry: list[float], value: float) -> None:
    n = entry[0] + 1
    weight = max(s.heat_normal_weight, 1.0 / n)
    entry[0] = n
    entry[1] += (value - entry[1]) * weight


# --- the learned heating curve (stations without a registry design) ----------------------
def learned_offset(
    s: DetectionSettings, norm_supply: dict[int, list[float]], outdoor_c: float | None
) -> tuple[float, bool] | None:
    """(the station's supply above its kind's curve while its homes were warm, learned) at
    the band of ``outdoor_c``, else at the nearest learned band (a new cold spell: the curve's
    slope is the kind's, its level the station's), else the nearest band still learning
    (learned False); None before its first warm reading."""
    band = band_of(s, outdoor_c)
    best: tuple[bool, int, int] | None = None
    for b, (n, _) in norm_supply.items():
        if n < 1:
            continue
        # a learned band first; then the nearest; of two as near, the colder (lower) band
        key = (n < s.heat_curve_learn_readings, abs(b - band), b)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return norm_supply[best[2]][1], not best[0]


def learned_curve_at(
    s: DetectionSettings,
    design: StationDesign,
    norm_supply: dict[int, list[float]],
    outdoor_c: float,
) -> tuple[float, str] | None:
    """A station's own minimum supply at ``outdoor_c`` and whence (or None: not known yet).

    Its kind's curve (``kind``) as soon as the supply it keeps with its homes warm is on that
    curve (within ``heat_low_margin_c``: the guess fits; a radiator network running a little
    above its minimum is not made more tolerant, or stricter, by its own habit). Where the
    guess would page that warm-home normal (a low-temperature network), once learned, the
    normal less ``heat_curve_learned_below_k`` (``learned``); before, None."""
    found = learned_offset(s, norm_supply, outdoor_c)
    if found is None:
        return None
    offset, learned = found
    kind = curve_at(design.curve, outdoor_c)
    if offset >= -s.heat_low_margin_c:
        return kind, "kind"
    if not learned:
        return None
    return kind + offset - s.heat_curve_learned_below_k, "learned"


def learn_supply(
    s: DetectionSettings,
    design: StationDesign,
    norm_supply: dict[int, list[float]],
    outdoor_c: float,
    supply_c: float,
) -> None:
    """Fold one reading taken while the station's homes were warm into its curve: a plain
    mean over the band's first ``heat_curve_learn_readings``, then fixed (a fault that the
    homes do not feel yet never moves it, and a late upload that revises a day judges its
    readings against the same curve as the ordered run did)."""
    band = band_of(s, outdoor_c)
    entry = norm_supply.get(band)
    if entry is None:
        entry = norm_supply[band] = [0, 0.0]
    if entry[0] >= s.heat_curve_learn_readings:
        return
    n = entry[0] + 1
    entry[0] = n
    entry[1] += (supply_c - curve_at(design.curve, outdoor_c) - entry[1]) / n


def design_of(s: DetectionSettings, ss: HeatStationState) -> StationDesign:
    """The station's design (registry, defaults by kind and size), kept on it once made."""
    if ss.design is None:  # a station state built outside a heat network (tests, tools)
        ss.design = station_design(s, ss.kind, [h.household.household for h in ss.homes])
    design: StationDesign = ss.design
    return design
