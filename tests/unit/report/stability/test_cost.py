"""What a season cost (issue 24): tariffs × the household's own rollups, worked by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from heatwatch.report.stability.columns import HouseholdTable, RollupColumns, day_number
from heatwatch.report.stability.cost import (
    TariffError,
    by_group,
    gas_bill,
    parse_tariffs,
    season_cost,
)
from tests.unit.report.stability.use_fixtures import START, days_of, fixture_inputs

TARIFFS_FILE = Path(__file__).resolve().parents[4] / "deploy" / "policy" / "tariffs.yaml"

# Three hand-checkable days: a storage heater home (S) and a gas home (G).
_S = [(30.0, 24.0), (40.0, 20.0), (20.0, 18.0)]  # (energy_kwh, valley_kwh) per day
_G = [5.0, 8.0, 7.0]  # m³ per day


def _rows() -> tuple[RollupColumns, HouseholdTable]:
    days = days_of("S", "西营村", "coal_to_electric", "storage_heater", 1.0, lambda k: 1.0)[:3]
    days = [d.model_copy(update={"energy_kwh": e, "valley_kwh": v}) for d, (e, v) in
            zip(days, _S, strict=True)]  # fmt: skip
    gas = days_of("G", "北营村", "coal_to_gas", "gas_boiler", 1.0, lambda k: 1.0)[:3]
    gas = [d.model_copy(update={"gas_m3": m}) for d, m in zip(gas, _G, strict=True)]
    return fixture_inputs(days + gas)


def test_worked_example_by_hand() -> None:
    rows, table = _rows()
    tariffs = parse_tariffs(TARIFFS_FILE.read_text("utf-8"), str(TARIFFS_FILE))
    first = day_number(START)
    c = season_cost(rows, table, tariffs, np.array([80.0, np.nan]), first_day=first,
                    last_day=first + 2)  # fmt: skip
    s, g = table.ids.index("S"), table.ids.index("G")
    # S: 90 kWh, 62 in the valley: 62 × 0.20 + 28 × 0.477 = 12.40 + 13.356 = 25.756
    assert c.energy_kwh[s] == 90 and c.valley_kwh[s] == 62
    assert c.energy_cost[s] == pytest.approx(25.756)
    # subsidy 90 kWh × 0.2 = 18 (under the 2400 cap); pays 7.756, per m² 7.756 / 80
    assert c.subsidy[s] == pytest.approx(18.0)
    assert c.net_cost[s] == pytest.approx(7.756)
    assert c.per_m2[s] == pytest.approx(7.756 / 80)
    # peak charging: 28 kWh outside the valley, of which appliances 3 days × 4 kWh × 14/24 = 7
    # → 21 kWh × (0.477 − 0.20) = 5.817
    assert c.peak_extra[s] == pytest.approx(21 * 0.277)
    # G: 20 m³ in the first tier: 20 × 2.26 = 45.2; subsidy 20 × 1.0; no area → no per m²
    assert c.energy_cost[g] == pytest.approx(45.2)
    assert c.net_cost[g] == pytest.approx(25.2)
    assert np.isnan(c.per_m2[g])
    assert not c.above_burden.any()


def test_gas_tiers_and_caps_and_the_burden_list() -> None:
    t = parse_tariffs("gas: {tiers: [{up_to_m3: 100, price: 2}, {price: 3}]}")
    assert gas_bill(np.array([50.0, 150.0]), t.gas.tiers).tolist() == [100.0, 350.0]
    rows, table = _rows()
    first = day_number(START)
    t = parse_tariffs(
        "subsidies: {coal_to_electric: {per: kwh, rate: 1, cap: 10}}\nburden: {threshold_cny: 20}"
    )
    c = season_cost(rows, table, t, np.full(2, np.nan), first_day=first, last_day=first + 2)
    s, g = table.ids.index("S"), table.ids.index("G")
    assert c.subsidy[s] == 10.0  # 90 kWh × 1 capped at 10
    # S pays 25.756 − 10 = 15.756 (under 20); G 20 m³ × 2.6 (the built-in single tier) = 52
    # with no gas subsidy configured (over)
    assert c.net_cost[s] == pytest.approx(15.756) and c.net_cost[g] == pytest.approx(52.0)
    assert list(c.burden_order(table)) == [g]
    grp = by_group(c, np.array([0, 0]), 1)
    assert grp.households.tolist() == [2]
    assert grp.median_net[0] == pytest.approx(float(np.median(c.net_cost)))


def test_network_home_is_charged_per_m2_and_days_outside_the_season_do_not_count() -> None:
    d = days_of("D", "北营村", "district_heating", "district", 1.0, lambda k: 1.0)[:5]
    rows, table = fixture_inputs(d)
    first = day_number(START + timedelta(days=1))
    t = parse_tariffs("heat: {price_per_m2_season: 20}\nelectricity: {other_price: 0.5, "
                      "valley_price: 0.5}")  # fmt: skip
    c = season_cost(rows, table, t, np.array([100.0]), first_day=first, last_day=first + 2)
    kwh = sum(x.energy_kwh for x in d[1:4])
    assert c.energy_kwh[0] == pytest.approx(kwh, rel=1e-6)
    assert c.energy_cost[0] == pytest.approx(2000 + 0.5 * kwh, rel=1e-6)


def test_bad_tariffs_name_the_field() -> None:
    with pytest.raises(TariffError, match="subsidies"):
        parse_tariffs("subsidies: {coal_to_coal: {per: kwh}}")
    with pytest.raises(TariffError, match=r"gas\.tiers"):
        parse_tariffs("gas: {tiers: [{price: 2}, {up_to_m3: 5, price: 3}]}")
    with pytest.raises(TariffError, match="per"):
        parse_tariffs("subsidies: {solar: {per: litre}}")
