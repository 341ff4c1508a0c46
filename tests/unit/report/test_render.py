"""Render smoke tests: a tiny run directory through the `report` CLI."""

from __future__ import annotations

import csv
import subprocess
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatingDevice, PriorityGroup, RetrofitType
from contract.rollups import HouseholdDay
from heatwatch.cli.report import app
from heatwatch.report.loading import write_rollups_jsonl

CST = timezone(timedelta(hours=8))
START = date(2021, 11, 15)
REG_HEADER = (
    "household_id,county,village,retrofit_type,heating_device,feeder_id,gas_station_id,"
    "priority_group,rated_kw,lat,lon,retrofit_completed,old_heating_present\n"
)


def _day(hid: str, d: date, county: str, village: str, prio: PriorityGroup,
         avail: float, outage: float, eps: int) -> HouseholdDay:  # fmt: skip
    return HouseholdDay(
        household_id=hid,
        day=d,
        county=county,
        village=village,
        retrofit_type=RetrofitType.COAL_TO_ELECTRIC,
        heating_device=HeatingDevice.STORAGE_HEATER,
        priority_group=prio,
        readings=96,
        heating_available_minutes=avail,
        outage_minutes=outage,
        shortfall_minutes=0,
        no_data_minutes=1440 - avail - outage,
        interruptions=eps,
        evidence="electric_meter",
        energy_kwh=30,
        valley_kwh=25,
        valley_share=0.83,
        gas_m3=0,
        county_min_temp_c=-20.0 if d.day == 5 else -5.0,
    )


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "rollups").mkdir(parents=True)
    specs = [  # id, county, village, priority, outage minutes per day (0 = stable)
        ("HH-OK-1", "忻府区", "东楼村", PriorityGroup.NONE, 0.0),
        ("HH-OK-2", "忻府区", "东楼村", PriorityGroup.NONE, 0.0),
        ("HH-BAD-1", "忻府区", "西楼村", PriorityGroup.ELDERLY_ALONE, 60.0),
        ("HH-BAD-2", "原平市", "南村", PriorityGroup.NONE, 60.0),
    ]
    days = []
    for hid, county, village, prio, out in specs:
        for k in range(121):
            d = START + timedelta(days=k)
            days.append(_day(hid, d, county, village, prio, 1440 - out, out, int(out > 0)))
    write_rollups_jsonl(days, run / "rollups" / "household_days.jsonl")
    lines = [REG_HEADER]
    for hid, county, village, prio, _ in specs:
        lines.append(
            f"{hid},{county},{village},coal_to_electric,storage_heater,F1,,{prio.value},8,"
            f"38.4,112.7,2021-10-01,{'false' if hid == 'HH-BAD-2' else 'true'}\n"
        )
    lines.append("HH-NODATA,原平市,南村,coal_to_electric,storage_heater,F2,,none,8,,,,\n")
    (run / "registry.csv").write_text("".join(lines), encoding="utf-8")
    incs = [
        Incident(
            incident_id=f"i{n}",
            kind=kind,
            entity_type=EntityType.HOUSEHOLD,
            entity_id=eid,
            county=county,
            started_at=datetime(2021, 12, 3, 8, tzinfo=CST),
            ended_at=datetime(2021, 12, 3, 10, tzinfo=CST),
            severity=Severity.WARNING,
            households_affected=1,
            priority_households=int(eid == "HH-BAD-1"),
        )
        for n, (kind, eid, county) in enumerate(
            [
                (IncidentKind.HOUSEHOLD_OUTAGE, "HH-BAD-1", "忻府区"),
                (IncidentKind.HOUSEHOLD_OUTAGE, "HH-BAD-2", "原平市"),
                (IncidentKind.PEAK_CHARGING, "HH-OK-1", "忻府区"),
            ]
        )
    ]
    (run / "incidents.jsonl").write_bytes(
        b"".join(orjson.dumps(i.model_dump(mode="json")) + b"\n" for i in incs)
    )
    return run


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_season_zh_outputs(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["season", "--season", "2021-2022", "--run", str(run_dir),
                                   "--out", str(out), "--notices"])  # fmt: skip
    assert res.exit_code == 0, res.output
    stem = out / "stability-2021-2022"
    for ext in ("pdf", "html", "xlsx", "csv"):
        assert (stem.with_suffix(f".{ext}")).stat().st_size > 0
    assert stem.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    rows = _read_csv(stem.with_suffix(".csv"))
    assert len(rows) == 5
    by_id = {r["户号"]: r for r in rows}
    assert by_id["HH-OK-1"]["结论"] == "可拆除旧取暖设施"
    assert by_id["HH-BAD-1"]["结论"] == "暂不拆除"
    assert "availability_low" in by_id["HH-BAD-1"]["原因代码"]
    assert by_id["HH-NODATA"]["原因代码"] == "no_data"
    assert by_id["HH-OK-1"]["依据"] == "电表" and by_id["HH-NODATA"]["依据"] == "未记录"
    # every carrier's lost hours in one column; gas shortfall only for gas households
    assert (
        by_id["HH-BAD-1"]["中断时长(小时)"] == "121.0"
        and by_id["HH-OK-1"]["中断时长(小时)"] == "0.0"
    )
    assert by_id["HH-BAD-1"]["燃气不足(小时)"] == ""
    # Within 忻府区 the priority household (elderly living alone, an at-home group) comes first.
    assert next(r["户号"] for r in rows if r["县（市、区）"] == "忻府区") == "HH-BAD-1"
    assert by_id["HH-BAD-1"]["重点群体"] == "独居老人户"
    html = stem.with_suffix(".html").read_text(encoding="utf-8")
    assert "HH-BAD-1" in html and "HH-BAD-2" in html and "先立后破" in html
    # The county lists: eligible, not yet and the meters-to-fix work list, each with a verdict
    # column (the old report listed only not_yet households; the issue asks for all three).
    assert "可拆除旧取暖设施户名单（2）" in html and "暂不拆除户名单（重点群体优先）（1）" in html
    assert (
        "<td>HH-OK-1</td><td>东楼村</td><td>煤改电</td><td></td><td>可拆除旧取暖设施</td>"
        "<td>电表</td>" in html
    )
    work = html.split("数据不足户：需修复计量或通信的表计工作清单（1）")[1]
    # evidence: no day of HH-NODATA recorded any (it has no rollups at all)
    assert (
        "<td>HH-NODATA</td><td>南村</td><td>煤改电</td><td>数据不足</td><td>未记录</td><td>0/121</td>"
        in work
    )
    assert "<td>121</td>" in work.split("</table>")[0]  # days missing
    assert "数据覆盖整个采暖季（2021-11-15 – 2022-03-15）" in html
    assert "生成时间（北京时间）" in html and "批准人（签字）" in html and "发文单位" in html
    notice = (out / "notice-2021-2022.html").read_text(encoding="utf-8")
    assert notice.count("拆除公示") == 4  # one sheet per village: 东楼村, 西楼村, 南村 + title
    assert "东楼村（忻府区）清洁取暖旧取暖设施拆除公示" in notice
    assert (
        "<td>1</td><td>HH-OK-1</td><td>煤改电</td><td>可拆除旧取暖设施</td><td>电表</td><td></td>"
        in notice
    )
    assert (
        "<td>HH-BAD-1</td><td>煤改电</td><td>暂不拆除</td><td>电表</td><td>采暖季供热可用率"
        in notice
    )
    assert "公示期" in notice and "异议" in notice

    import openpyxl

    wb = openpyxl.load_workbook(stem.with_suffix(".xlsx"), read_only=True)
    ws = wb.worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "户号"
    assert values[0][12] == "供热可用率"
    assert values[0][6] == "依据" and {v[6] for v in values[1:]} == {"电表", "未记录"}
    assert len(values) == 6
    wb.close()
    styles = zipfile.ZipFile(stem.with_suffix(".xlsx")).read("xl/styles.xml")
    assert b'formatCode="0.0%"' in styles
    assert {v[0] for v in values[1:]} == set(by_id)


def test_season_en_and_county(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "season", "--season", "2021-2022", "--rollups",
        str(run_dir / "rollups" / "household_days.jsonl"), "--registry",
        str(run_dir / "registry.csv"), "--county", "原平市", "--out", str(out), "--lang", "en",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = _read_csv(out / "stability-2021-2022-原平市.csv")
    assert {r["household_id"]: r["verdict"] for r in rows} == {
        "HH-BAD-2": "not yet",
        "HH-NODATA": "insufficient data",
    }
    html = (out / "stability-2021-2022-原平市.html").read_text(encoding="utf-8")
    assert "already removed" in html  # HH-BAD-2 lost its old heating before being stable
    # One county: its villages' public notices by default (the whole city: on request).
    notice = (out / "notice-2021-2022-原平市.html").read_text(encoding="utf-8")
    assert "Public notice: removal of old heating, 南村 (原平市)" in notice
    assert not (out / "notice-2021-2022.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "/nonexistent"], "找不到运行目录"),
        (
            ["--rollups", "/nonexistent.parquet"],
            "找不到日汇总文件（Parquet）：/nonexistent.parquet",
        ),
        ([], "--run"),
    ],
)
def test_season_errors(tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["season", "--season", "2021-2022", "--out", str(tmp_path),
                                   *args])  # fmt: skip
    assert res.exit_code == 2
    assert message in res.output


def test_empty_season_and_bad_policy(run_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["season", "--season", "2019-2020", "--run", str(run_dir),
                                   "--out", str(tmp_path / "out")])  # fmt: skip
    assert res.exit_code == 2 and "之间没有日汇总" in res.output
    bad = tmp_path / "p.yaml"
    bad.write_text("criteria:\n  min_availability: 2\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["season", "--season", "2021-2022", "--run", str(run_dir),
                                   "--out", str(tmp_path / "out"), "--policy", str(bad)])  # fmt: skip
    assert res.exit_code == 2 and "criteria.min_availability" in res.output


def test_monthly(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(app, ["monthly", "--month", "2021-12", "--run", str(run_dir),
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    for ext in ("pdf", "html", "csv"):
        assert (out / f"monthly-2021-12.{ext}").stat().st_size > 0
    rows = _read_csv(out / "monthly-2021-12.csv")
    kinds = {(r["县（市、区）"], r["类别"]): r for r in rows}
    assert kinds[("忻府区", "停电")]["事件数"] == "1"
    assert kinds[("忻府区", "停电")]["其中（按事件类型）"] == "用户停电 1"
    assert kinds[("忻府区", "停电")]["中断时长(户·小时)"] == "2"
    assert kinds[("忻府区", "停电")]["影响重点群体户数"] == "1"
    html = (out / "monthly-2021-12.html").read_text(encoding="utf-8")
    assert "高峰时段蓄热" in html
    res = CliRunner().invoke(app, ["monthly", "--month", "2021-13", "--run", str(run_dir),
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 2 and "2021-12" in res.output
    res = CliRunner().invoke(app, ["monthly", "--month", "2023-12", "--run", str(run_dir),
                                   "--out", str(tmp_path / "m2")])  # fmt: skip
    assert res.exit_code == 2 and "不在数据的时间范围内" in res.output
    assert "指标说明" in html and "事件数" in html


@pytest.mark.slow  # reads the rendered PDF with poppler's pdftotext (a subprocess)
def test_short_run_warns_and_gives_no_not_yet(run_dir: Path, tmp_path: Path) -> None:
    """Three days of data: a coverage warning, and failing households are insufficient_data."""
    src = run_dir / "rollups" / "household_days.jsonl"
    short = tmp_path / "short.jsonl"
    lines = src.read_bytes().splitlines(keepends=True)
    short.write_bytes(b"".join(x for x in lines if b'"2021-11-1' in x and b'"2021-11-18' not in x
                               and b'"2021-11-19' not in x))  # fmt: skip
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "season", "--season", "2021-2022", "--rollups", str(short), "--registry",
        str(run_dir / "registry.csv"), "--out", str(out), "--lang", "en",
        "--issuer", "Xinfu District Office", "--contact", "tel 0350-1", "--issue-date",
        "2021-11-20", "--notice-days", "10", "--notices",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "not the whole season" in res.output
    rows = _read_csv(out / "stability-2021-2022.csv")
    assert {r["verdict"] for r in rows} == {"insufficient data"}
    bad = next(r for r in rows if r["household_id"] == "HH-BAD-1")
    assert "availability_low" in bad["reason_codes"] and "season_not_covered" in bad["reason_codes"]
    html = (out / "stability-2021-2022.html").read_text(encoding="utf-8")
    assert "the data do not cover the whole heating season" in html
    assert "2021-11-15 – 2021-11-17" in html
    assert "Xinfu District Office" in html and "Date of issue: 2021-11-20" in html
    # a partial season: --notices alone writes no notice, and says why and how
    assert not list(out.glob("notice-*"))
    assert "no village notices written" in res.output and "--notices-draft" in res.output
    # every page of the report says DRAFT with the coverage; so does the XLSX's print header
    pages = pdf_pages(out / "stability-2021-2022.pdf")
    assert len(pages) > 1
    assert all("DRAFT" in p and "data cover 3/121 days" in p for p in pages)
    assert "DRAFT" in html.split("<h1>")[0]
    import openpyxl

    ws = openpyxl.load_workbook(out / "stability-2021-2022.xlsx").worksheets[0]
    assert "DRAFT" in ws.oddHeader.center.text and "3/121" in ws.oddHeader.center.text
    # the early-removal warning is not filled with households nobody can judge yet
    warning = html.split("already removed")[1].split("<h2>")[0]
    assert "HH-BAD-2" not in warning and "A further 1 households" in warning


@pytest.mark.slow  # reads the rendered PDF with poppler's pdftotext (a subprocess)
def test_short_run_draft_notices_only_on_request(run_dir: Path, tmp_path: Path) -> None:
    src = run_dir / "rollups" / "household_days.jsonl"
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join(x for x in src.read_bytes().splitlines(keepends=True)
                               if b'"2021-11-15' in x))  # fmt: skip
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "season", "--season", "2021-2022", "--rollups", str(short), "--registry",
        str(run_dir / "registry.csv"), "--out", str(out), "--issue-date", "2021-11-20",
        "--notices-draft", "--county", "忻府区",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    pages = pdf_pages(out / "notice-2021-2022-忻府区.pdf")
    # two villages, one page each: each notice's pages are numbered from 1
    assert len(pages) == 2
    assert all("草稿 DRAFT · 数据覆盖 1/121 天" in p for p in pages)
    assert all("草稿，无文号" in p and "第 1 页，共 1 页" in p for p in pages)
    assert "XF-2021-2022" not in "".join(pages)  # a draft has no document number


@pytest.mark.slow  # reads the rendered PDF with poppler's pdftotext (a subprocess)
def test_full_season_notices_have_numbers_and_their_own_page_numbers(
    run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["season", "--season", "2021-2022", "--run", str(run_dir),
                                   "--out", str(out), "--notices"])  # fmt: skip
    assert res.exit_code == 0, res.output
    pages = pdf_pages(out / "notice-2021-2022.pdf")
    assert len(pages) == 3 and not any("DRAFT" in p or "草稿" in p for p in pages)
    # villages in name order within their county: 原平市 南村; 忻府区 东楼村, 西楼村
    numbers = [p.split("文号: ")[1].split()[0] for p in pages]
    assert numbers == ["YP-2021-2022-001", "XF-2021-2022-001", "XF-2021-2022-002"]
    assert all("第 1 页，共 1 页" in p for p in pages)
    report = pdf_pages(out / "stability-2021-2022.pdf")
    assert not any("草稿" in p for p in report)
    # XLSX: dates are dates, an eligible household's reason is in words, its code beside it
    import openpyxl

    ws = openpyxl.load_workbook(out / "stability-2021-2022.xlsx").worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    head = rows[0]
    ok = next(r for r in rows if r[0] == "HH-OK-1")
    done = ok[head.index("改造完工日期")]
    assert isinstance(done, datetime) and done.date() == date(2021, 10, 1)
    assert ws.cell(row=2, column=head.index("改造完工日期") + 1).number_format == "yyyy-mm-dd"
    assert ok[head.index("原因")].startswith("各项指标均达标")
    assert ok[head.index("原因代码")] == "all_criteria_met"  # the code only beside the words
    assert not ws.oddHeader.center.text
    csv_ok = next(r for r in _read_csv(out / "stability-2021-2022.csv") if r["户号"] == "HH-OK-1")
    assert csv_ok["改造完工日期"] == "2021-10-01" and csv_ok["原因代码"] == "all_criteria_met"


@pytest.mark.slow  # reads the rendered PDF with poppler's pdftotext (a subprocess)
def test_monthly_for_one_county_with_issuer_and_sender(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(app, [
        "monthly", "--month", "2021-12", "--run", str(run_dir), "--out", str(out),
        "--county", "原平市", "--issuer", "原平市清洁取暖办", "--sender", "李四 0350-2",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = _read_csv(out / "monthly-2021-12-原平市.csv")
    assert {r["县（市、区）"] for r in rows} == {"原平市"}  # no 全市 row in a county's report
    (page,) = pdf_pages(out / "monthly-2021-12-原平市.pdf")
    assert "范围: 原平市" in page and "编报单位: 原平市清洁取暖办" in page
    assert "报送人: 李四 0350-2" in page and "忻府区" not in page
    res = CliRunner().invoke(app, ["monthly", "--month", "2021-12", "--run", str(run_dir),
                                   "--out", str(tmp_path / "m2"), "--county", "五台县"])  # fmt: skip
    assert res.exit_code == 2 and "五台县" in res.output


def pdf_pages(path: Path) -> list[str]:
    """Each page's text as a reader sees it (poppler's pdftotext; deploy/system-deps.sh)."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    return [" ".join(p.split()) for p in text.split("\f") if p.strip()]


def test_bad_issue_date(run_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["season", "--season", "2021-2022", "--run", str(run_dir),
                                   "--out", str(tmp_path), "--issue-date", "20.3.2022"])  # fmt: skip
    assert res.exit_code == 2 and "--issue-date" in res.output
