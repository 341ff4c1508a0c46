"""The entry points take the season end for the quota projection from the stability policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from heatwatch.cli.season import SEASON_END_ENV, detection_settings

REPO_POLICY = Path(__file__).resolve().parents[3] / "deploy" / "policy" / "stability.yaml"


def _policy(tmp_path: Path, end: str) -> Path:
    path = tmp_path / "stability.yaml"
    path.write_text(f'season:\n  default: {{start: "11-01", end: "{end}"}}\n', encoding="utf-8")
    return path


def test_the_policy_season_end_reaches_the_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    assert detection_settings(_policy(tmp_path, "03-31")).season_end == "03-31"


def test_the_shipped_policy_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    assert REPO_POLICY.exists()
    assert detection_settings().season_end == "03-15"


def test_an_explicit_environment_override_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEASON_END_ENV, "02-28")
    assert detection_settings(_policy(tmp_path, "03-31")).season_end == "02-28"


def test_a_broken_policy_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    with pytest.raises(typer.Exit) as exc:
        detection_settings(_policy(tmp_path, "13-45"))
    assert exc.value.exit_code == 2


def test_a_missing_policy_file_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SEASON_END_ENV, raising=False)
    with pytest.raises(typer.Exit) as exc:
        detection_settings(tmp_path / "nope.yaml")
    assert exc.value.exit_code == 2
