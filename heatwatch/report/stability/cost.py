"""What a heating season cost each household (群众可承受): tariffs × its own daily rollups.

Pure numpy over the rollups the verdict reads (``energy_kwh``, ``valley_kwh`` — the energy drawn
inside the valley-tariff window, summed from the household's own 15-minute intervals by the
engine — and ``gas_m3``), plus the tariffs policy (``deploy/policy/tariffs.yaml``):

* electricity: valley kWh × valley price + the rest × the other price (time-of-use);
* gas: the season's volume through the tiers (cumulative, like a tiered bill);
* heat networks: a charge per m² of heated area (no area in the registry → not computed);
* subsidies per retrofit type: a rate per kWh / m³ / m², or a fixed sum, up to a cap;
* peak charging's price: what a storage-heater home paid for drawing heat outside the valley
  (its non-valley kWh above its appliances' share × the price difference).

Costs cover the whole metered energy in the season (appliances included for electric homes: the
bill the family pays). Every default in the tariffs file carries its source or 示例 (example).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contract.registry import (
    ELECTRIC_RETROFITS,
    GAS_RETROFITS,
    NETWORK_RETROFITS,
    RetrofitType,
)
from heatwatch.report.stability.columns import F64, B, HouseholdTable, RollupColumns


class TariffError(ValueError):
    """A tariffs file that cannot be used; the message names the field."""


class Electricity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    valley_start: time = time(22, 0)
    valley_end: time = time(8, 0)
    valley_price: float = Field(0.2, ge=0, description="CNY/kWh inside the valley window.")
    other_price: float = Field(0.477, ge=0, description="CNY/kWh outside it.")
    appliance_kwh_per_day: float = Field(
        4.0,
        ge=0,
        description="A home's non-heating use; its daytime share is not counted as peak charging.",
    )
    source: str = ""


class GasTier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to_m3: float | None = Field(None, gt=0, description="Upper bound of the tier (None: open).")
    price: float = Field(ge=0, description="CNY/m³.")


class Gas(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tiers: tuple[GasTier, ...] = (GasTier(up_to_m3=None, price=2.6),)
    source: str = ""

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, v: tuple[GasTier, ...]) -> tuple[GasTier, ...]:
        if not v:
            raise ValueError("at least one tier")
        bounds = [t.up_to_m3 for t in v[:-1]]
        if any(b is None for b in bounds) or v[-1].up_to_m3 is not None:
            raise ValueError("every tier but the last needs up_to_m3; the last must be open")
        if bounds != sorted(bounds):  # type: ignore[type-var]
            raise ValueError("tiers must be in increasing up_to_m3")
        return v


class Heat(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    price_per_m2_season: float = Field(22.0, ge=0, description="CNY per m² of heated area.")
    source: str = ""


class Subsidy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    per: str = Field("kwh", description="kwh, m3, m2 or fixed.")
    rate: float = Field(0.0, ge=0, description="CNY per unit (or the fixed sum).")
    cap: float | None = Field(None, ge=0, description="Most CNY per household and season.")
    source: str = ""

    @field_validator("per")
    @classmethod
    def _unit(cls, v: str) -> str:
        if v not in ("kwh", "m3", "m2", "fixed"):
            raise ValueError(f"per must be kwh, m3, m2 or fixed, got {v!r}")
        return v


class Burden(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold_cny: float = Field(
        2000.0, ge=0, description="Net season cost above which a household is listed."
    )
    source: str = ""


class Tariffs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(1, ge=1, le=1)
    electricity: Electricity = Electricity()
    gas: Gas = Gas()
    heat: Heat = Heat()
    subsidies: dict[str, Subsidy] = Field(default_factory=dict)
    burden: Burden = Burden()

    @model_validator(mode="after")
    def _known_types(self) -> Tariffs:
        known = {rt.value for rt in RetrofitType}
        unknown = sorted(set(self.subsidies) - known)
        if unknown:
            raise ValueError(f"unknown retrofit type in subsidies: {', '.join(unknown)}")
        return self


def parse_tariffs(text: str, source: str = "(string)") -> Tariffs:
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TariffError(f"tariffs {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TariffError(f"invalid tariffs {source}: top level must be a mapping")
    try:
        return Tariffs.model_validate(data)
    except ValidationError as exc:
        lines = [f"invalid tariffs {source}:"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  - field '{loc}': {err['msg']}")
        raise TariffError("\n".join(lines)) from None


@dataclass(frozen=True)
class SeasonCost:
    """Per household (index = household code); NaN = not computable (e.g. no area for a
    network home)."""

    energy_kwh: F64
    valley_kwh: F64
    gas_m3: F64
    energy_cost: F64
    peak_extra: F64  # storage heaters: paid for charging outside the valley
    subsidy: F64
    net_cost: F64
    per_m2: F64
    above_burden: B

    def burden_order(self, table: HouseholdTable) -> np.ndarray:
        """Households above the burden threshold: priority groups first, then highest cost."""
        idx = np.flatnonzero(self.above_burden)
        keys = (-self.net_cost[idx], ~table.is_priority[idx])
        return idx[np.lexsort(keys)]


def _membership(table: HouseholdTable, family: frozenset[RetrofitType]) -> B:
    codes = {x.value for x in family}
    per_type = np.array([r in codes for r in table.retrofits] + [False], np.bool_)
    out: B = per_type[np.where(table.retrofit >= 0, table.retrofit, len(table.retrofits))]
    return out


def _valley_hours(e: Electricity) -> float:
    s = e.valley_start.hour + e.valley_start.minute / 60
    t = e.valley_end.hour + e.valley_end.minute / 60
    return (t - s) % 24 or 24.0


def gas_bill(volume: F64, tiers: tuple[GasTier, ...]) -> F64:
    """Cost of each season volume through the tiers (each tier's price on its slice)."""
    out = np.zeros_like(volume, dtype=np.float64)
    lower = 0.0
    for tier in tiers:
        upper = np.inf if tier.up_to_m3 is None else tier.up_to_m3
        out += np.clip(volume - lower, 0.0, upper - lower) * tier.price
        lower = upper
    return out


def season_cost(
    rows: RollupColumns,
    table: HouseholdTable,
    tariffs: Tariffs,
    area_m2: F64,
    *,
    first_day: int | np.ndarray,
    last_day: int | np.ndarray,
    storage: B | None = None,
) -> SeasonCost:
    """Each household's season (days ``first_day..last_day``, day numbers — one pair, or one
    per household when counties' seasons differ) from its rollups.

    ``storage``: households heating with storage heaters (peak charging is priced for them);
    None: the rollups' heating-device column decides.
    """
    n_h = len(table)
    first = np.broadcast_to(np.asarray(first_day, np.int64), (n_h,))
    last = np.broadcast_to(np.asarray(last_day, np.int64), (n_h,))
    ok = (rows.household >= 0) & (rows.household < n_h)
    h_ok = np.where(ok, rows.household, 0)
    ok &= (rows.day >= first[h_ok]) & (rows.day <= last[h_ok])
    hh = rows.household[ok]
    days = np.bincount(hh, minlength=n_h).astype(np.float64)

    def total(col: np.ndarray) -> F64:
        if not len(col):
            return np.zeros(n_h)
        weights = np.nan_to_num(col[ok]).astype(np.float64)
        return np.bincount(hh, weights=weights, minlength=n_h).astype(np.float64)

    kwh, valley, m3 = total(rows.energy), total(rows.valley), total(rows.gas)
    valley = np.minimum(valley, kwh)
    el = _membership(table, ELECTRIC_RETROFITS)
    gas = _membership(table, GAS_RETROFITS)
    net_h = _membership(table, NETWORK_RETROFITS)
    e = tariffs.electricity
    elec_cost = valley * e.valley_price + (kwh - valley) * e.other_price
    heat_cost = area_m2 * tariffs.heat.price_per_m2_season  # NaN without an area
    cost = np.where(gas, gas_bill(m3, tariffs.gas.tiers), np.where(net_h, heat_cost, 0.0))
    # Every home pays its electricity; a network home's bill adds the per-m² heat charge.
    energy_cost = np.where(el, elec_cost, cost + np.where(net_h | gas, elec_cost, 0.0))
    if storage is None:
        storage = _storage_households(rows, n_h)
    outside_appliances = days * e.appliance_kwh_per_day * (1 - _valley_hours(e) / 24)
    peak_kwh = np.maximum(kwh - valley - outside_appliances, 0.0)
    peak_extra = np.where(storage, peak_kwh * max(e.other_price - e.valley_price, 0.0), 0.0)
    subsidy = _subsidies(table, tariffs, kwh, m3, area_m2)
    net = energy_cost - subsidy
    with np.errstate(invalid="ignore", divide="ignore"):
        per_m2 = np.where(area_m2 > 0, net / area_m2, np.nan)
    above: B = ~np.isnan(net) & (net > tariffs.burden.threshold_cny) & (days > 0)
    return SeasonCost(
        energy_kwh=kwh,
        valley_kwh=valley,
        gas_m3=m3,
        energy_cost=energy_cost,
        peak_extra=peak_extra,
        subsidy=subsidy,
        net_cost=net,
        per_m2=per_m2,
        above_burden=above,
    )


def _storage_households(rows: RollupColumns, n_h: int) -> B:
    out = np.zeros(n_h, np.bool_)
    if "storage_heater" in rows.devices and len(rows.device):
        code = rows.devices.index("storage_heater")
        ok = (rows.household >= 0) & (rows.household < n_h)
        out[rows.household[ok & (rows.device == code)]] = True
    return out


def _subsidies(table: HouseholdTable, tariffs: Tariffs, kwh: F64, m3: F64, area_m2: F64) -> F64:
    n_h = len(table)
    out = np.zeros(n_h)
    for code, sub in tariffs.subsidies.items():
        if code not in table.retrofits:
            continue
        members = table.retrofit == table.retrofits.index(code)
        qty = {"kwh": kwh, "m3": m3, "m2": np.nan_to_num(area_m2), "fixed": np.ones(n_h)}[sub.per]
        amount = qty * sub.rate
        if sub.cap is not None:
            amount = np.minimum(amount, sub.cap)
        out[members] = amount[members]
    return out


@dataclass(frozen=True)
class GroupCost:
    """Per group (village or retrofit type): households, median net cost, mean per m²,
    households above the burden threshold."""

    households: np.ndarray
    median_net: F64
    mean_per_m2: F64
    above_burden: np.ndarray


def by_group(cost: SeasonCost, codes: np.ndarray, n_groups: int) -> GroupCost:
    hh = np.zeros(n_groups, np.int64)
    med = np.full(n_groups, np.nan)
    per = np.full(n_groups, np.nan)
    above = np.zeros(n_groups, np.int64)
    for g in range(n_groups):
        m = codes == g
        hh[g] = int(m.sum())
        vals = cost.net_cost[m]
        vals = vals[~np.isnan(vals)]
        if len(vals):
            med[g] = float(np.median(vals))
        p = cost.per_m2[m]
        p = p[~np.isnan(p)]
        if len(p):
            per[g] = float(p.mean())
        above[g] = int(cost.above_burden[m].sum())
    return GroupCost(hh, med, per, above)
