"""The registry as county clerks have it, as they meet it on the command line: Chinese or
English headers in any everyday spelling, GBK or UTF-8 with BOM, Excel's trailing empty rows,
an empty file, and cell errors that say where, what was found and what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from formats.registry_csv import RegistryError, load_registry
from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()

ROWS = (
    "H0,河曲县,郭营村,河崞镇,集中供热,集中供热,,,,6,,\n"
    "H1,河曲县,郭营村,河崞镇,煤改气,燃气壁挂炉,,GS-1,养老机构,21.5,2021/9/5,是\n"
    "H2,河曲县,郭营村,河崞镇,煤改电,蓄热式电暖器,F1,,,8,2021年10月1日,否\n"
)
TEMPLATE = "用户编号,县（市、区）,村,乡镇,改造类型,取暖设备,台区编号,燃气调压站编号,重点群体,额定功率（千瓦）,改造完成日期,原取暖设施是否保留\n"
VARIANTS = "户号,县,行政村,乡（镇）, 改造方式 ,采暖设备,台区,调压站,重点人群,额定功率(kW),完成日期,是否保留原取暖设施\n"
ENGLISH = " Household_ID,COUNTY,village,township,retrofit type,heating-device,feeder_id,gas_station_id,priority_group,rated_kw,retrofit_completed,old_heating_present\n"
FULL_WIDTH = "用户编号,县(市、区),村,乡镇,改造类型,取暖设备,台区编号,燃气调压站编号,重点群体,额定功率（ｋＷ）,改造完成日期,原取暖设施是否保留\n"


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "台账.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize("header", [TEMPLATE, VARIANTS, ENGLISH, FULL_WIDTH])
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_every_everyday_header_and_encoding_reads_the_same_households(
    tmp_path: Path, header: str, encoding: str
) -> None:
    # Excel leaves empty rows (",,,,") after the data: they are not households.
    loaded = load_registry(_write(tmp_path, header + ROWS + ",,,,,,,,,,,\n,,,,,,,,,,,\n", encoding))
    assert [
        (h.household_id, h.retrofit_type.value, h.priority_group.value) for h in loaded.households
    ] == [
        ("H0", "district_heating", "none"),  # 集中供热: one half of 集中供热、工业余热
        ("H1", "coal_to_gas", "elderly_home"),
        ("H2", "coal_to_electric", "none"),
    ]
    assert loaded.households[2].retrofit_completed is not None
    assert loaded.households[2].retrofit_completed.isoformat() == "2021-10-01"
    assert loaded.households[1].old_heating_present is True


def test_a_column_named_twice_is_refused_naming_both(tmp_path: Path) -> None:
    header = TEMPLATE.replace("乡镇", "户号")
    with pytest.raises(RegistryError) as err:
        load_registry(_write(tmp_path, header + ROWS))
    assert "“用户编号”（A 列）和“户号”（D 列）都表示用户编号" in err.value.errors[0].zh


def _replay(tmp_path: Path, registry: Path, *lang: str) -> tuple[int, str]:
    data = tmp_path / "in.jsonl"
    data.write_text('{"x": 1}\n')
    result = runner.invoke(
        app, [*lang, "replay", "--registry", str(registry), "--input", str(data), "--out", str(tmp_path / "o")]
    )  # fmt: skip
    return result.exit_code, result.output.replace(f"{tmp_path}/", "")


@pytest.mark.parametrize("text", ["", ",,,,\n,,,,\n", "\r\n\r\n"])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, text: str) -> None:
    code, out = _replay(tmp_path, _write(tmp_path, text))
    assert code == 2
    assert out.strip().startswith("错误：登记册（台账）")
    assert "文件是空的" in out and "缺少" not in out
    assert len(out.strip().splitlines()) == 1


BAD = (
    "H1,河曲县,郭营村,河崞镇,煤改电,蓄热式电暖器,F1,,,8,2021/13/5,不确定\n"
    "H2,河曲县,郭营村,河崞镇,煤改柴,蓄热式电暖器,F1,,军属,0,2021/9/5,是\n"
)


def test_each_bad_cell_says_where_what_was_found_and_what_is_accepted(tmp_path: Path) -> None:
    code, out = _replay(tmp_path, _write(tmp_path, TEMPLATE + BAD, "gbk"))
    assert code == 2
    lines = out.strip().splitlines()
    assert lines[0] == "登记册（台账）台账.csv 有 5 处问题，请按行号、列名改正后重试："
    assert lines[1:] == [
        "  第 2 行，“改造完成日期”（K 列）：填的是“2021/13/5”，没有 13 月；"
        "日期可写作 2021-09-05、2021/9/5 或 2021年9月5日",
        "  第 2 行，“原取暖设施是否保留”（L 列）：填的是“不确定”，无法判断是否保留；"
        "可填：是/否、有/无、√/×、1/0、true/false",
        "  第 3 行，“改造类型”（E 列）：填的是“煤改柴”，不是可选的类别；可填：“集中供热、工业余热”、"
        "“锅炉超低排放改造”、“煤改电”、“煤改气”、“生物质热电联产”、“生物质集中供热”、“风电清洁取暖”、"
        "“太阳能清洁取暖”（或代码 district_heating、boiler_ultra_low_emission、coal_to_electric、"
        "coal_to_gas、biomass_chp、biomass_district、wind_electric、solar）",
        "  第 3 行，“重点群体”（I 列）：填的是“军属”，不是可选的类别；可填：“幼儿园”、“中小学校”、"
        "“养老机构”、“困难户”、“独居老人户”、“残疾人家庭”、“低收入家庭”，或留空（非重点群体）（或代码 "
        "kindergarten、school、elderly_home、hardship、elderly_alone、disabled、low_income）",
        "  第 3 行，“额定功率（千瓦）”（J 列）：填的是“0”，应大于 0；应填大于 0、不超过 1000 的千瓦数，如 8.5",
    ]
    # Forms the loader reads are never called refused.
    assert "不接受" not in out


def test_english_names_the_same_cells(tmp_path: Path) -> None:
    code, out = _replay(tmp_path, _write(tmp_path, TEMPLATE + BAD), "--lang", "en")
    assert code == 2
    assert "the registry 台账.csv has 5 problem(s)" in out
    assert "line 2, column '改造完成日期' (K): found '2021/13/5': there is no month 13" in out
    assert "found '不确定', which says neither yes nor no" in out


def test_missing_and_unknown_headers_are_named_in_the_clerks_terms(tmp_path: Path) -> None:
    header = TEMPLATE.replace("额定功率（千瓦）", "功率千瓦数").replace("乡镇", "姓名")
    code, out = _replay(tmp_path, _write(tmp_path, header + ROWS))
    assert code == 2
    assert "表头：不认识的列名：“姓名”（D 列）、“功率千瓦数”（J 列）；" in out
    assert "登记册不收姓名、电话、身份证号、住址等个人信息" in out
    assert "表头：表头缺少“额定功率（千瓦）”这一列（也可写作 rated_kw）" in out


def test_an_excel_workbook_is_read_as_its_first_sheet_with_excels_row_numbers(
    tmp_path: Path,
) -> None:
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append(TEMPLATE.strip().split(","))
    # What Excel stores: numbers as numbers (an id typed as digits), a date cell as a date.
    sheet.append([1410001, "河曲县", "郭营村", "河崞镇", "煤改气", "燃气壁挂炉", None, "GS-1",
                  "养老机构", 21.5, date(2021, 9, 5), "是"])  # fmt: skip
    sheet.append(["H2", "河曲县", "郭营村", "河崞镇", "煤改电", "蓄热式电暖器", "F1", None, None,
                  8, "2021/13/5", "否"])  # fmt: skip
    sheet.append([None] * 12)
    path = tmp_path / "台账.xlsx"
    book.save(path)
    code, out = _replay(tmp_path, path)
    assert code == 2
    assert out.strip().splitlines() == [
        "登记册（台账）台账.xlsx 有 1 处问题，请按行号、列名改正后重试：",
        "  第 3 行，“改造完成日期”（K 列）：填的是“2021/13/5”，没有 13 月；"
        "日期可写作 2021-09-05、2021/9/5 或 2021年9月5日",
    ]
    sheet.delete_rows(3)
    book.save(path)
    loaded = load_registry(path)
    assert loaded.encoding == "Excel (sheet '台账')"
    (hh,) = loaded.households
    assert hh.household_id == "1410001" and hh.retrofit_completed is not None
    assert hh.retrofit_completed.isoformat() == "2021-09-05" and hh.old_heating_present is True


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "台账.txt"
    path.write_bytes((TEMPLATE + ROWS).replace(",", "\t").replace("\n", "\r\n").encode("utf-16"))
    loaded = load_registry(path)
    assert loaded.encoding == "UTF-16"
    assert [h.household_id for h in loaded.households] == ["H0", "H1", "H2"]
