"""The interruptions-by-month chart: a count axis from 0 with integer ticks, and months
without data marked as such instead of drawn as zero."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from heatwatch.report import charts
from heatwatch.report.season_sections import months_with_data

MONTHS = [date(2021, 11, 1), date(2021, 12, 1), date(2022, 1, 1), date(2022, 2, 1)]


@pytest.fixture
def figure(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The figure a chart function made, instead of its PNG."""
    seen: dict[str, Any] = {}

    def keep(fig: Any) -> bytes:
        seen["fig"] = fig
        return b""

    monkeypatch.setattr(charts, "_png", keep)
    return seen


def _draw(by_month: np.ndarray, has_data: list[bool], figure: dict[str, Any]) -> Any:
    charts.interruptions_by_month(MONTHS, ["五寨县", "忻府区"], by_month, "t", "y",
                                  has_data=has_data, no_data_label="无数据")  # fmt: skip
    return figure["fig"].axes[0]


def test_a_quiet_season_has_a_count_axis_from_zero(figure: dict[str, Any]) -> None:
    ax = _draw(np.zeros((2, 4), np.int64), [True] * 4, figure)
    low, high = ax.get_ylim()
    assert low == 0 and high >= 1  # not −0.04 … 0.04
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_months_without_data_are_marked_not_drawn_as_zero(figure: dict[str, Any]) -> None:
    by_month = np.array([[0, 3, 5, 0], [0, 1, 7, 0]])
    ax = _draw(by_month, [False, True, True, False], figure)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("无数据") == 2
    assert sorted(x for x in texts if x != "无数据") == ["12", "4"]  # no "0" for empty months
    ticks = [t for t in ax.get_yticks() if 0 <= t <= ax.get_ylim()[1]]
    assert all(float(t).is_integer() for t in ticks)


def test_months_with_data_follow_the_data_span() -> None:
    assert months_with_data(MONTHS, date(2021, 12, 1), date(2021, 12, 3)) == [
        False, True, False, False
    ]  # fmt: skip
    assert months_with_data(MONTHS, date(2021, 11, 30), date(2022, 1, 1)) == [
        True, True, True, False
    ]  # fmt: skip
    assert months_with_data(MONTHS, None, None) == [False] * 4
