"""The heating season the detection core projects gas quotas to, from the stability policy.

Season dates live in one place, ``deploy/policy/stability.yaml`` (read by the report layer).
The core may not read it, so the entry points (``replay``, ``demo``, ``worker``) resolve the
season their data falls in and pass its last day down as ``DetectionSettings.season_end``.
An explicit ``HEATWATCH_DETECT_SEASON_END`` still wins (an operator's override).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson
import typer

from heatwatch.cli.common import console
from heatwatch.cli.report import load_policy
from heatwatch.report.loading import InputError
from heatwatch.report.stability import PolicyError
from heatwatch.report.stability.policy import SeasonWindow
from streams.core.settings import DetectionSettings
from streams.settings import DetectionEnvSettings

SEASON_END_ENV = "HEATWATCH_DETECT_SEASON_END"
CST = timezone(timedelta(hours=8))
_PEEK_LINES = 1000


def season_end_for(window: SeasonWindow, day: date) -> date:
    """The last day of the first season ending on or after ``day``.

    Readings from before a season's start (early heating) belong to the coming season.
    """
    for first_year in (day.year - 1, day.year, day.year + 1):
        _, end = window.resolve(first_year)
        if end >= day:
            return end
    raise AssertionError("unreachable: a season ends within a year of any day")


def detection_settings(day: date, policy: Path | None = None) -> DetectionSettings:
    """``HEATWATCH_DETECT_*`` settings with the season end of the policy's season for ``day``.

    Exits with code 2 (bad input) when the policy file is missing or invalid.
    """
    settings = DetectionEnvSettings().core()
    if SEASON_END_ENV in os.environ:
        return settings
    try:
        window = load_policy(policy).season.default
    except (InputError, PolicyError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    data = settings.model_dump()
    data["season_end"] = season_end_for(window, day)
    return DetectionSettings.model_validate(data)


def first_reading_day(path: Path, today: date) -> date:
    """Local (UTC+8) date of the first reading with a readable ``ts`` near the file's start.

    Falls back to ``today`` when none of the first lines has one (the replay then reports
    the bad lines as dead letters; the season only matters for quota projection).
    """
    with path.open("rb") as fh:
        for _, line in zip(range(_PEEK_LINES), fh, strict=False):
            day = _line_day(line)
            if day is not None:
                return day
    return today


def _line_day(line: bytes) -> date | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    if record.get("kind") == "batch" and record.get("readings"):
        record = record["readings"][0]
        if not isinstance(record, dict):
            return None
    ts = record.get("ts")
    try:
        at = datetime.fromisoformat(ts) if isinstance(ts, str) else None
    except ValueError:
        return None
    if at is None or at.tzinfo is None:
        return None
    return at.astimezone(CST).date()


def today_in_xinzhou() -> date:
    return datetime.now(CST).date()
