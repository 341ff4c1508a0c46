"""Registry problems in Chinese: row, column, and the forms that are accepted."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from formats.registry_csv import load_registry_csv
from heatwatch.cli.main import _mount_subcommands, app
from heatwatch.cli.registry_errors import in_chinese

_mount_subcommands()
runner = CliRunner()

HEADER = (
    "household_id,county,village,township,retrofit_type,heating_device,feeder_id,"
    "gas_station_id,priority_group,rated_kw,lat,lon,retrofit_completed,old_heating_present,"
    "gas_quota_m3"
)
# What an Excel user types: Chinese terms, 是/否, 2021/9/5.
EXCEL_ROW = (
    "H1,河曲县,郭营村,河崞镇,煤改气,燃气壁挂炉,,GS-1,养老机构,21.5,38.8,111.7,2021/9/5,是,6320"
)


def _replay(tmp_path: Path, registry_text: str, *lang: str) -> str:
    reg = tmp_path / "r.csv"
    reg.write_text(registry_text, encoding="utf-8")
    data = tmp_path / "in.jsonl"
    data.write_text('{"x": 1}\n')
    result = runner.invoke(
        app, [*lang, "replay", "--registry", str(reg), "--input", str(data), "--out", str(tmp_path / "o")]
    )  # fmt: skip
    assert result.exit_code == 2
    return " ".join(result.output.split())


# Not a term of the glossary, not 是/否, not a date: still an error, named in Chinese.
BAD_ROW = "H1,河曲县,郭营村,河崞镇,煤改柴,燃气炉,,GS-1,军属,21.5,38.8,111.7,9/5/2021,也许,6320"


def test_values_excel_cannot_mean_anything_are_named_with_the_accepted_forms(
    tmp_path: Path,
) -> None:
    text = _replay(tmp_path, f"{HEADER}\n{BAD_ROW}\n")
    assert "有 5 处问题" in text
    assert "第 2 行，“retrofit_type”（E 列）：填的是“煤改柴”，不是可选的类别；可填：" in text
    assert "煤改气" in text and "燃气壁挂炉" in text and "养老机构" in text
    assert "填的是“9/5/2021”，不是日期；日期可写作 2021-09-05、2021/9/5 或 2021年9月5日" in text
    assert "“old_heating_present”（N 列）：填的是“也许”，无法判断是否保留；可填：是/否" in text
    assert "Input should be" not in text  # the validator's English is not the clerk's message


def test_excel_forms_and_a_header_with_stray_spaces_are_read(tmp_path: Path) -> None:
    reg = tmp_path / "r.csv"
    header = HEADER.replace("rated_kw", "rated_kw ").replace("county", " county")
    reg.write_text(f"{header}\n{EXCEL_ROW}\n", encoding="utf-8")
    (hh,), errors = load_registry_csv(reg)
    assert errors == []
    assert hh.retrofit_type.value == "coal_to_gas" and hh.heating_device.value == "gas_boiler"
    assert hh.priority_group.value == "elderly_home" and hh.old_heating_present is True
    assert hh.retrofit_completed is not None and hh.retrofit_completed.isoformat() == "2021-09-05"


def test_english_output_keeps_the_loader_text(tmp_path: Path) -> None:
    text = _replay(tmp_path, f"{HEADER}\n{BAD_ROW}\n", "--lang", "en")
    assert "has 5 problem(s)" in text and "第" not in text
    assert "line 2, column 'old_heating_present' (N): found '也许'" in text


def test_duplicates_name_the_first_line(tmp_path: Path) -> None:
    reg = tmp_path / "r.csv"
    reg.write_text(f"{HEADER}\n{EXCEL_ROW}\n{EXCEL_ROW}\n", encoding="utf-8")
    _, errors = load_registry_csv(reg, skip_bad_rows=True)
    assert in_chinese(errors[0]) == (
        "第 3 行，“household_id”（A 列）：“H1”与第 2 行重复（每户只能登记一次）"
    )
