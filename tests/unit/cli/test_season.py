"""Season end for the quota projection comes from the stability policy, resolved per day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import typer

from heatwatch.cli.season import (
    SEASON_END_ENV,
    detection_settings,
    first_reading_day,
    season_end_for,
)
from heatwatch.report.stability.policy import SeasonWindow

STATUTORY = SeasonWindow(start="11-15", end="03-15")


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2021, 12, 1), date(2022, 3, 15)),
        (date(2021, 11, 1), date(2022, 3, 15)),  # early heating belongs to the coming season
        (date(2022, 3, 15), date(2022, 3, 15)),
        (date(2022, 3, 16), date(2023, 3, 15)),
        (date(2022, 1, 10), date(2022, 3, 15)),
    ],
)
def test_season_end_is_the_first_end_on_or_after_the_day(day: date, end: date) -> None:
    assert season_end_for(STATUTORY, day) == end


def test_a_window_within_one_year() -> None:
    assert season_end_for(SeasonWindow(start="01-10", end="02-20"), date(2022, 3, 1)) == date(
        2023, 2, 20
    )


def _policy(tmp_path: Path, end: str) -> Path:
    path = tmp_path / "stability.yaml"
    path.write_text(f'season:\n  default: {{start: "11-01", end: "{end}"}}\n', encoding="utf-8")
    return path


def test_detection_settings_take_the_policy_season(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    settings = detection_settings(date(2021, 12, 1), _policy(tmp_path, "03-31"))
    assert settings.season_end == date(2022, 3, 31)


def test_an_explicit_environment_override_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEASON_END_ENV, "2022-02-28")
    settings = detection_settings(date(2021, 12, 1), _policy(tmp_path, "03-31"))
    assert settings.season_end == date(2022, 2, 28)


def test_a_broken_policy_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    with pytest.raises(typer.Exit) as exc:
        detection_settings(date(2021, 12, 1), _policy(tmp_path, "13-45"))
    assert exc.value.exit_code == 2


def test_first_reading_day_skips_bad_lines_and_reads_batches(tmp_path: Path) -> None:
    path = tmp_path / "readings.jsonl"
    path.write_bytes(
        b'{"kind":"electric","ts":\n'
        b'{"kind":"electric","ts":"2021-12-01 00:15:00"}\n'
        b'{"kind":"batch","source":"DC-1","readings":[{"kind":"feeder",'
        b'"ts":"2021-11-30T16:15:00+00:00"}]}\n'
    )
    assert first_reading_day(path, today=date(2030, 1, 1)) == date(2021, 12, 1)


def test_first_reading_day_falls_back_to_today(tmp_path: Path) -> None:
    path = tmp_path / "readings.jsonl"
    path.write_bytes(b"not json\n")
    assert first_reading_day(path, today=date(2030, 1, 1)) == date(2030, 1, 1)
