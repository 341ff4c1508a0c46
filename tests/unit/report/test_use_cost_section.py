"""The season report's use-and-cost section (issue 24) on the hand-built fixtures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from heatwatch.report.loading import JsonlRollups, write_rollups_jsonl
from heatwatch.report.render import Table
from heatwatch.report.season import run_season
from heatwatch.report.stability import StabilityPolicy, evaluate_season
from heatwatch.report.use_cost import load_tariffs, monthly_use_cost_blocks, use_cost_blocks
from tests.unit.report.stability.use_fixtures import fixture_days, fixture_inputs


def test_section_counts_the_under_used_lists_them_by_village_and_prices_the_season() -> None:
    rows, table = fixture_inputs()
    r = evaluate_season(rows, table, StabilityPolicy(), "2021-2022", load_tariffs())
    assert r.cost is not None
    blocks = use_cost_blocks(r, "zh", cap=100)
    tables = [b for b in blocks if isinstance(b, Table)]
    county, by_type, flagged, burden = tables
    # 45 judged (the network home without a heat meter is not; the 8 with one are), 13
    # under-used, 3 empty (one left early, one came late, one looks empty from day 40),
    # 13/45 = 28.9 %
    assert county.rows[0][:5] == ["忻府区", "45", "13", "3", "28.9%"]
    assert county.rows[0][5] == f"{np.nanmedian(r.cost.net_cost):,.0f}"
    assert sorted(row[2] for row in flagged.rows) == [
        "BILL", "COAL", "EMPTY", "G-HALF", "GONE", "LATE", "M-PART", "M-VALVE", "PARTIAL",
        "S-COAL", "U-01", "U-02", "U-03", "U-04", "U-05", "U-06",
    ]  # fmt: skip
    assert burden.rows == []  # nobody above the 2,000 CNY example threshold
    # by retrofit type: 煤改电 30 households, 煤改气 7, 集中供热 9 (no area → no cost)
    assert [(row[0], row[1]) for row in by_type.rows] == [
        ("煤改电", "30"), ("煤改气", "7"), ("集中供热、工业余热", "9"),
    ]  # fmt: skip
    assert by_type.rows[2][2] == "—"
    en = use_cost_blocks(r, "en", cap=2)
    assert any(isinstance(b, Table) and b.note == "16 in all, 2 listed here" for b in en)


def test_no_energy_in_the_rollups_no_section() -> None:
    rows, table = fixture_inputs()
    bare = type(rows)(**{**rows.__dict__, "energy": np.empty(0, np.float32),
                         "county_mean_temp": np.empty(0, np.float32)})  # fmt: skip
    r = evaluate_season(bare, table, StabilityPolicy(), "2021-2022", load_tariffs())
    assert r.use is None and r.cost is None
    assert use_cost_blocks(r, "zh", cap=10) == []


def test_monthly_view_is_the_season_to_date_against_last_month(tmp_path: Path) -> None:
    path = tmp_path / "rollups.jsonl"
    write_rollups_jsonl(fixture_days(), path)
    source = JsonlRollups(path)
    blocks = monthly_use_cost_blocks(source, None, date(2022, 1, 31), "zh")
    (tbl,) = [b for b in blocks if isinstance(b, Table)]
    row = tbl.rows[0]
    # by the end of January the households that stopped (BILL from day 40, COAL from day 60)
    # and the partial users are found (M-VALVE, turned down from day 50, too); the empty home
    # is not under-use
    assert row[:4] == ["忻府区", "45", "13", "28.9%"]
    # the median cost grows month on month (to date vs end of December)
    assert float(row[4].replace(",", "")) > float(row[5].replace(",", "")) > 0
    # in November nothing is judged yet (two-week warm-up, then too few judged days)
    (nov,) = [b for b in monthly_use_cost_blocks(source, None, date(2021, 11, 30), "zh")
              if isinstance(b, Table)]  # fmt: skip
    assert nov.rows[0][2] == "0"
    assert monthly_use_cost_blocks(None, None, date(2022, 1, 31), "zh") == []


def test_public_notice_does_not_name_a_household_as_suspected_of_burning_coal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rollups.jsonl"
    write_rollups_jsonl(fixture_days(), path)
    out = run_season(JsonlRollups(path), None, StabilityPolicy(), "2021-2022", tmp_path / "r",
                     county="忻府区")  # fmt: skip
    assert out.notice_html is not None
    notice = out.notice_html.read_text("utf-8")
    assert "需入户核实" in notice and "县里将入户了解新设施使用情况" in notice
    assert "复烧" not in notice and "疑似空置" not in notice
    # the county's own lists and ledger keep the figures
    assert "疑似未使用/复烧：有供热的寒冷日" in out.csv.read_text("utf-8")
