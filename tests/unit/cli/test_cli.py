"""The command line: actionable errors and exit codes (typer's runner, tmp files only)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()

HEADER = "household_id,county,village,retrofit_type,heating_device,feeder_id,gas_station_id,priority_group,rated_kw\n"


def test_bad_registry_rows_are_named_by_line_and_column(tmp_path: Path) -> None:
    reg = tmp_path / "r.csv"
    reg.write_text(
        HEADER
        + "H1,忻府区,东营村,coal_to_electric,storage_heater,F1,,none,6\n"
        + "H2,忻府区,东营村,coal_to_gas,gas_boiler,,,none,20\n"
        + "H3,忻府区,东营村,coal_to_electric,storage_heater,F1,,vip,-1\n"
        + "H1,忻府区,东营村,coal_to_electric,storage_heater,F1,,none,6\n",
        encoding="utf-8",
    )
    data = tmp_path / "in.jsonl"
    data.write_text("\n")
    result = runner.invoke(
        app, ["replay", "--registry", str(reg), "--input", str(data), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "line 3" in text and "gas_station_id is required" in text
    assert "line 4, column 'priority_group'" in text
    assert "line 4, column 'rated_kw'" in text
    assert "line 5, column 'household_id': duplicate of line 2" in text


def test_missing_required_column_is_reported(tmp_path: Path) -> None:
    reg = tmp_path / "r.csv"
    reg.write_text("household_id,county\nH1,忻府区\n", encoding="utf-8")
    data = tmp_path / "in.jsonl"
    data.write_text("")
    result = runner.invoke(
        app, ["replay", "--registry", str(reg), "--input", str(data), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "required column is missing" in result.output


def test_schema_command_writes_schemas_matching_the_committed_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    committed = Path(__file__).resolve().parents[3] / "docs" / "schemas"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in committed.iterdir())
    for name in names:
        assert (tmp_path / name).read_text() == (committed / name).read_text(), (
            f"regenerate docs/schemas ({name})"
        )
