"""The season report's use-and-cost section (issue 24) on the hand-built fixtures."""

from __future__ import annotations

import numpy as np

from heatwatch.report.render import Table
from heatwatch.report.stability import StabilityPolicy, evaluate_season
from heatwatch.report.use_cost import load_tariffs, use_cost_blocks
from tests.unit.report.stability.use_fixtures import fixture_inputs


def test_section_counts_the_under_used_lists_them_by_village_and_prices_the_season() -> None:
    rows, table = fixture_inputs()
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022", load_tariffs())
    assert r.cost is not None
    blocks = use_cost_blocks(r, "zh", cap=100)
    tables = [b for b in blocks if isinstance(b, Table)]
    county, flagged, burden = tables
    # 29 judged (the network home is not), 5 under-used, 1 empty, 5/29 = 17.2 %
    assert county.rows[0][:5] == ["忻府区", "29", "5", "1", "17.2%"]
    assert county.rows[0][5] == f"{np.nanmedian(r.cost.net_cost):,.0f}"
    assert sorted(row[2] for row in flagged.rows) == [
        "BILL", "COAL", "EMPTY", "G-HALF", "PARTIAL", "S-COAL",
    ]  # fmt: skip
    assert burden.rows == []  # nobody above the 2,000 CNY example threshold
    en = use_cost_blocks(r, "en", cap=2)
    assert any(isinstance(b, Table) and b.note == "6 in all, 2 listed here" for b in en)


def test_no_energy_in_the_rollups_no_section() -> None:
    rows, table = fixture_inputs()
    bare = type(rows)(**{**rows.__dict__, "energy": np.empty(0, np.float32),
                         "county_mean_temp": np.empty(0, np.float32)})  # fmt: skip
    r = evaluate_season(bare, table, StabilityPolicy(), "2021-2022", load_tariffs())
    assert r.use is None and r.cost is None
    assert use_cost_blocks(r, "zh", cap=10) == []
