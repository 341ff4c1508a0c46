"""The quota projection runs to the end of the reading's own heating season."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from streams.core.settings import DetectionSettings
from tests.unit.streams.scenario import at, gas, gas_household, run, weather

YEAR = 365 * 96  # steps of 15 minutes from 2021-12-01 to 2022-12-01


@pytest.mark.parametrize(
    ("season_end", "day", "end"),
    [
        ("03-15", date(2021, 12, 1), date(2022, 3, 15)),
        ("03-15", date(2022, 3, 15), date(2022, 3, 15)),
        ("03-15", date(2022, 3, 16), date(2023, 3, 15)),
        ("03-15", date(2022, 12, 1), date(2023, 3, 15)),
        ("03-31", date(2022, 1, 5), date(2022, 3, 31)),
        ("02-29", date(2022, 12, 1), date(2023, 2, 28)),  # no leap day: the day before
        ("02-29", date(2023, 12, 1), date(2024, 2, 29)),
    ],
)
def test_season_end_on_or_after(season_end: str, day: date, end: date) -> None:
    settings = DetectionSettings(season_end=season_end)
    assert settings.season_end_on_or_after(day) == end


@pytest.mark.parametrize("bad", ["2022-03-15", "3-15", "13-01", "02-30", ""])
def test_season_end_must_be_a_calendar_month_day(bad: str) -> None:
    with pytest.raises(ValidationError, match="MM-DD"):
        DetectionSettings(season_end=bad)


def _quota_run(offset: int, settings: DetectionSettings | None = None) -> list[str]:
    """Two gas households burning 48 m³/day for two days from ``offset`` steps after T0."""
    registry = [
        gas_household("SMALL", gas_quota_m3=1500.0),
        gas_household("BIG", gas_quota_m3=9000.0),
    ]
    steps = range(offset + 1, offset + 97 * 2)
    readings = sorted(
        [gas(h, s, m3=0.5) for s in steps for h in ("SMALL", "BIG")]
        + [weather(s) for s in steps if s % 4 == 0],
        key=lambda r: r.ts,
    )
    out, _ = run(registry, readings, settings)
    risks = out.of_kind("gas_quota_risk")
    assert all(r.started_at == at(offset + 96) for r in risks)
    return [r.entity_id for r in risks]


def test_next_season_projects_to_its_own_end() -> None:
    # A fixed 2022-03-15 left no days to project from December 2022: no risk at all.
    assert _quota_run(0) == ["SMALL"]
    assert _quota_run(YEAR) == ["SMALL"]


def test_a_longer_season_exhausts_the_bigger_quota_too() -> None:
    # 48 m³/day from Dec 2 to Jun 30 is ~10,000 m³ > 9,000 m³.
    assert sorted(_quota_run(0, DetectionSettings(season_end="06-30"))) == ["BIG", "SMALL"]
