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
    assert "第 3 行，“gas_station_id”（G 列）：煤改气用户必须填燃气调压站编号" in text
    assert "第 4 行，“priority_group”（H 列）：填的是“vip”，不是可选的类别" in text
    assert "第 4 行，“rated_kw”（I 列）：填的是“-1”，应大于 0" in text
    assert "第 5 行，“household_id”（A 列）：“H1”与第 2 行重复" in text


def test_missing_required_column_is_reported(tmp_path: Path) -> None:
    reg = tmp_path / "r.csv"
    reg.write_text("household_id,county\nH1,忻府区\n", encoding="utf-8")
    data = tmp_path / "in.jsonl"
    data.write_text("")
    result = runner.invoke(
        app, ["replay", "--registry", str(reg), "--input", str(data), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "表头：表头缺少“村”这一列（也可写作 village）" in result.output


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
