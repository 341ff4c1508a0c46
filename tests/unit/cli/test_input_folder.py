"""``--input`` as utilities deliver readings: a folder of daily exports (JSONL, CSV, gzip),
read in time order across files; wrong files named for what they are."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from contract.telemetry import WIRE_ADAPTER
from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = runner.invoke(
        app, ["simulate", "--households", "60", "--days", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _replay(registry: Path, readings: Path, out: Path) -> Any:
    return runner.invoke(
        app, ["replay", "--registry", str(registry), "--input", str(readings), "--out", str(out)]
    )


def _csv(lines: list[bytes], path: Path) -> None:
    rows = [orjson.loads(line) for line in lines]
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "null" if v is None else v for k, v in row.items()})


def _valid(line: bytes) -> bool:
    try:
        WIRE_ADAPTER.validate_json(line)
    except ValidationError:
        return False
    return True


def _daily_drop(sim: Path, drop: Path) -> None:
    """The simulation's readings as a utility delivers them: one file per day, the first
    gzipped, the second a CSV export, plus a file still being transferred and a note."""
    by_day: dict[str, list[bytes]] = defaultdict(list)
    for line in (sim / "readings.jsonl").read_bytes().splitlines(keepends=True):
        try:
            item = orjson.loads(line)
            day = (item[0] if isinstance(item, list) else item)["ts"][:10]
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
            day = "unreadable"
        by_day[day].append(line)
    drop.mkdir()
    for i, (day, lines) in enumerate(sorted(by_day.items())):
        if i == 0:
            (drop / f"{day}.jsonl.gz").write_bytes(gzip.compress(b"".join(lines)))
        elif i == 1:
            # Valid single readings as a CSV export; what the contract refuses stays JSON (a
            # CSV cell has no type: "0.5" and 0.5 look the same there).
            valid = [x for x in lines if x.startswith(b"{") and _valid(x)]
            _csv(valid, drop / f"{day}.csv")
            rest = [x for x in lines if x not in valid]
            (drop / f"{day}-rest.jsonl").write_bytes(b"".join(rest))
        else:
            (drop / f"{day}.jsonl").write_bytes(b"".join(lines))
    (drop / "2021-12-09.jsonl.part").write_text('{"kind":')  # still arriving: not read
    (drop / "说明.txt").write_text("每日导出")


def test_a_folder_of_daily_exports_gives_the_single_files_results(
    sim: Path, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    _daily_drop(sim, drop)
    assert {p.suffix for p in drop.iterdir()} >= {".gz", ".csv", ".jsonl"}
    whole = _replay(sim / "registry.csv", sim / "readings.jsonl", tmp_path / "whole")
    folder = _replay(sim / "registry.csv", drop, tmp_path / "folder")
    assert whole.exit_code == folder.exit_code == 0, folder.output
    a, b = tmp_path / "whole", tmp_path / "folder"
    assert (a / "incidents.jsonl").read_bytes() == (b / "incidents.jsonl").read_bytes()
    assert pq.read_table(a / "rollups/household_days.parquet").equals(
        pq.read_table(b / "rollups/household_days.parquet")
    )
    # Every dead letter names its file and its line in that file.
    letters = [orjson.loads(x) for x in (b / "dead_letters.jsonl").read_bytes().splitlines()]
    assert letters and all(x["file"] in {p.name for p in drop.iterdir()} for x in letters)
    for letter in letters[:5]:
        path = drop / letter["file"]
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        if path.suffix != ".csv":
            assert text.splitlines()[letter["line_no"] - 1].decode() == letter["raw"].rstrip("\n")
    summary = orjson.loads((b / "summary.json").read_bytes())
    assert summary["input"] == str(drop) and "2021-12-09.jsonl.part" not in summary["input_files"]
    assert not list(b.glob(".input-merged*"))


def test_a_folder_without_readings_and_wrong_files_are_named(sim: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    result = _replay(sim / "registry.csv", empty, tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"错误：目录 {empty} 里没有读数文件（.jsonl、.csv，可为 .gz 压缩）；里面有：readme.txt"
    )
    run = tmp_path / "run"
    assert _replay(sim / "registry.csv", sim / "readings.jsonl", run).exit_code == 0
    result = _replay(sim / "registry.csv", run, tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"错误：{run} 是 heatwatch 的运行结果目录，不是读数")
    result = _replay(sim / "registry.csv", sim / "registry.csv", tmp_path / "o")
    assert result.exit_code == 2
    assert "不是读数文件：它看起来是登记册（台账）CSV" in result.output
    assert "登记册请用 --registry" in result.output
    assert not (tmp_path / "o").exists()


def test_readings_passed_as_the_registry_are_named_as_readings(sim: Path, tmp_path: Path) -> None:
    lines = [
        x for x in (sim / "readings.jsonl").read_bytes().splitlines()[:50] if x.startswith(b"{")
    ]
    exported = tmp_path / "readings.csv"
    _csv(lines, exported)
    for wrong, looks in (
        (exported, "遥测读数（CSV 导出）"),
        (sim / "readings.jsonl", "遥测读数（JSONL）"),
    ):
        result = _replay(wrong, sim / "readings.jsonl", tmp_path / "o")
        assert result.exit_code == 2
        assert result.output.strip() == (
            f"错误：{wrong} 不是登记册（台账）：它看起来是{looks}。--registry 要的是台账 CSV，"
            "第一行是表头（用户编号、县（市、区）、村、改造类型……）；读数请用 --input。"
        )


def test_an_export_cut_short_is_named_and_nothing_is_written(sim: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    whole = gzip.compress((sim / "readings.jsonl").read_bytes())
    (drop / "2021-12-01.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # transfer cut short
    result = _replay(sim / "registry.csv", drop, tmp_path / "o")
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith(f"错误：{drop / '2021-12-01.jsonl.gz'} 在第 ")
    assert "gzip 文件不完整或已损坏" in line and "可能还在传输" in line
    assert not (tmp_path / "o").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_csv_export_s_dead_letter_names_its_line(sim: Path, tmp_path: Path) -> None:
    lines = [x for x in (sim / "readings.jsonl").read_bytes().splitlines()[:40] if _valid(x)][:5]
    unknown = orjson.loads(lines[1])
    unknown["household_id"] = "H-NOT-REGISTERED"
    lines[1] = orjson.dumps(unknown)
    export = tmp_path / "export.csv"
    _csv(lines, export)
    out = tmp_path / "o"
    result = _replay(sim / "registry.csv", export, out)
    assert result.exit_code == 0, result.output
    letters = [orjson.loads(x) for x in (out / "dead_letters.jsonl").read_bytes().splitlines()]
    bad = [x for x in letters if "H-NOT-REGISTERED" in x["raw"]]
    assert len(bad) == 1 and bad[0]["file"] == "export.csv"
    row = export.read_text(encoding="utf-8").splitlines()[bad[0]["line_no"] - 1]
    assert "H-NOT-REGISTERED" in row  # the header is line 1, as in Excel or an editor
