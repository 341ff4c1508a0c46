"""Outputs are transactions, as the person at the command line meets them: a run or report
appears whole or not at all; Ctrl-C or a failure leaves the previous output and says so; an
issued report set is never overwritten (a numbered new version on request); a report refuses
a run a replay did not finish."""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = runner.invoke(
        app, ["simulate", "--households", "60", "--days", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _replay(sim: Path, out: Path, readings: Path | None = None) -> Any:
    return runner.invoke(
        app,
        ["replay", "--registry", str(sim / "registry.csv"), "--input",
         str(readings or sim / "readings.jsonl"), "--out", str(out)],
    )  # fmt: skip


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _no_staging(parent: Path) -> None:
    assert not [p for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_a_run_is_complete_with_its_manifest_and_a_rerun_replaces_it(
    sim: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    assert _replay(sim, out).exit_code == 0
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["kind"] == "run" and manifest["complete"] is True
    assert set(manifest["files"]) >= {
        "incidents.jsonl", "dead_letters.jsonl", "summary.json", "registry.csv",
        "rollups/household_days.parquet",
    }  # fmt: skip
    assert manifest["counts"]["accepted"] > 0
    again = _replay(sim, out)
    assert again.exit_code == 0
    assert f"已替换 {out} 中原有的运行结果。" in again.output
    _no_staging(tmp_path)


def test_a_directory_that_is_not_a_run_is_never_emptied(sim: Path, tmp_path: Path) -> None:
    mine = tmp_path / "文档"
    mine.mkdir()
    (mine / "通知.docx").write_bytes(b"keep me")
    result = _replay(sim, mine)
    assert result.exit_code == 4
    assert "已有其他文件，不是 heatwatch 的运行目录" in result.output
    assert (mine / "通知.docx").read_bytes() == b"keep me"
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _replay(sim, afile)
    assert result.exit_code == 4 and "内部错误" not in result.output
    assert (
        result.output.strip()
        == f"错误：{afile} 是一个已有的文件，不能用作输出目录：请换一个 --out。"
    )


def test_ctrl_c_or_a_failure_leaves_the_previous_run_and_says_so(
    sim: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    assert _replay(sim, out).exit_code == 0
    before = _digest(out)
    import streams.embedded

    def interrupted(_registry: Any, _input: Path, out_dir: Path, *_a: Any, **_k: Any) -> Any:
        (out_dir / "dead_letters.jsonl").write_text("{}\n")  # half-way: a new file written
        raise KeyboardInterrupt

    monkeypatch.setattr(streams.embedded, "replay", interrupted)
    result = _replay(sim, out)
    assert result.exit_code == 130
    assert result.output.strip() == f"已中断：原有的 {out} 保持不变。"
    assert _digest(out) == before
    _no_staging(tmp_path)

    def no_permission(_registry: Any, _input: Path, out_dir: Path, *_a: Any, **_k: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(out_dir / "incidents.jsonl"))

    monkeypatch.setattr(streams.embedded, "replay", no_permission)
    result = _replay(sim, out)
    assert result.exit_code == 2
    assert "没有权限" in result.output and f"原有的 {out} 保持不变。" in result.output
    assert _digest(out) == before
    result = _replay(sim, tmp_path / "new")
    assert result.exit_code == 2 and f"没有写出 {tmp_path / 'new'}。" in result.output
    assert not (tmp_path / "new").exists()
    _no_staging(tmp_path)


@pytest.mark.slow  # a real process interrupted by a signal
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_in_a_real_process(sim: Path, tmp_path: Path, signum: int) -> None:
    """SIGINT (or SIGTERM) to a running replay: exit 130, the sentence, the previous run
    byte-identical."""
    out = tmp_path / "run"
    assert _replay(sim, out).exit_code == 0
    before = _digest(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HEATWATCH_LANG", None)
    # A slow input: every line of the simulation four times (duplicates are cheap to make).
    slow = tmp_path / "slow.jsonl"
    slow.write_bytes((sim / "readings.jsonl").read_bytes() * 4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "heatwatch.cli.main", "replay", "--registry",
         str(sim / "registry.csv"), "--input", str(slow), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not glob.glob(str(tmp_path / ".run.partial-*")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the replay finished before the signal arrived")
    assert proc.returncode == 130, err
    assert err.strip() == f"已中断：原有的 {out} 保持不变。"
    assert _digest(out) == before
    _no_staging(tmp_path)


def _season(run: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(
        app, ["report", "season", "--season", "2021-2022", "--run", str(run), "--out", str(out), *extra]
    )  # fmt: skip


def test_an_issued_report_set_is_never_overwritten(sim: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _replay(sim, run).exit_code == 0
    out = tmp_path / "report"
    assert _season(run, out).exit_code == 0
    issued = _digest(out)
    second = _season(run, out)
    assert second.exit_code == 4
    assert second.output.strip() == (
        f"错误：{out} 已有一套报告，已出具的文件不覆盖。要保留旧版、写出新版，请加 --new-version"
        f"（写到 {out / 'v2'}）；或换一个 --out。"
    )
    assert _digest(out) == issued
    third = _season(run, out, "--new-version")
    assert third.exit_code == 0, third.output
    assert f"第 2 版，写到 {out / 'v2'}（此前各版保留不变）：" in third.output
    assert f"已写出 {out / 'v2' / 'stability-2021-2022.pdf'}" in third.output
    assert {k: v for k, v in _digest(out).items() if not k.startswith("v2/")} == issued
    assert orjson.loads((out / "v2" / "manifest.json").read_bytes())["version"] == 2
    monthly = runner.invoke(
        app, ["report", "monthly", "--month", "2021-12", "--run", str(run), "--out", str(out),
              "--new-version"],
    )  # fmt: skip
    assert monthly.exit_code == 0 and f"第 3 版，写到 {out / 'v3'}" in monthly.output
    _no_staging(out)


def test_a_report_refuses_a_run_left_incomplete(sim: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _replay(sim, run).exit_code == 0
    (run / "incidents.jsonl").write_bytes(b"")  # changed after the run (or cut short)
    result = _season(run, tmp_path / "r1")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"错误：运行目录 {run} 不完整或已被改动（incidents.jsonl）：请重新运行 heatwatch replay "
        f"--out {run}。"
    )
    # What a replay of an older version left when killed: dead letters, no summary.
    old = tmp_path / "old"
    (old / "rollups").mkdir(parents=True)
    (old / "dead_letters.jsonl").write_text("{}\n")
    result = _season(old, tmp_path / "r2")
    assert result.exit_code == 2 and "不完整（有拒收记录，却没有 summary.json）" in result.output
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_staging_left_by_a_killed_process_is_cleared(sim: Path, tmp_path: Path) -> None:
    stale = tmp_path / ".run.partial-999999999"  # no such process
    (stale / "rollups").mkdir(parents=True)
    assert _replay(sim, tmp_path / "run").exit_code == 0
    assert not stale.exists()
    _no_staging(tmp_path)


def test_a_run_holding_an_issued_report_is_not_replaced(sim: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _replay(sim, run).exit_code == 0
    assert _season(run, run / "report").exit_code == 0
    before = _digest(run)
    result = _replay(sim, run)
    assert result.exit_code == 4
    assert result.output.strip() == (
        f"错误：{run} 里有已出具的报告（{run / 'report'}）：重写运行结果会连同报告一起替换。"
        "请换一个 --out，或先把报告移出去。"
    )
    assert _digest(run) == before
