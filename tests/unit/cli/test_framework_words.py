"""The command-line framework's own messages, as a person meets them: Chinese first (English
with --lang en), what was wrong and how to get help, an exit code that means something; and
no "内部错误" for what can be foreseen (a closed pipe)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, list(args))
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (
            ["replay", "--registry", "nope.csv", "--input", "x.jsonl", "--out", "o"],
            "错误：找不到--registry 指定的文件“nope.csv”。请检查路径和拼写（相对路径从当前目录算起）。",
        ),
        (
            ["replay", "--registry", "nope.csv", "--bogus"],
            "错误：没有 --bogus 这个选项（是不是想用 --out？）。",
        ),
        (["replay", "--out", "o"], "错误：缺少必填选项 --registry（用户登记册（台账）CSV）。"),
        (["replya"], "错误：没有“replya”这个命令（是不是想用 'replay'？）。"),
        (["simulate", "--households", "many"], "错误：--households 的值不对：应为整数。"),
        (["simulate", "--out"], "错误：选项 --out 后面要跟一个值。"),
        (["--lang", "fr", "demo"], "错误：--lang 的值不对：zh 或 en。"),
    ],
    ids=[
        "missing-file",
        "bad-option",
        "missing-option",
        "typo",
        "not-a-number",
        "no-value",
        "lang",
    ],
)
def test_usage_errors_are_said_in_chinese_with_usage_and_help(
    args: list[str], first_line: str
) -> None:
    code, lines = _run(*args)
    assert code == 2
    assert lines[0] == first_line
    assert len(lines) == 2 and lines[1].startswith("用法 Usage: heatwatch")
    assert "查看帮助：heatwatch" in lines[1] and lines[1].endswith("--help")
    text = "\n".join(lines)
    for leak in ("Invalid value", "Usage: heatwatch replay [OPTIONS]", "Try '", "╭─ Error"):
        assert leak not in text


def test_english_when_asked(tmp_path: Path) -> None:
    code, lines = _run("--lang", "en", "replay", "--registry", "nope.csv", "--out", "o")
    assert code == 2
    assert lines[0] == "error: Invalid value for '--registry': file 'nope.csv' does not exist."
    assert lines[1].startswith("usage: heatwatch replay")


def test_help_panels_are_bilingual() -> None:
    code, lines = _run("report", "season", "--help")
    assert code == 0
    text = "\n".join(lines)
    assert "用法 Usage: heatwatch report season [选项 OPTIONS]" in text
    assert "选项 Options" in text and "[必填 required]" in text


def test_report_options_are_checked_as_what_they_are(tmp_path: Path) -> None:
    code, lines = _run("report", "season", "--season", "2021", "--run", str(tmp_path), "--out", "o")
    assert code == 2 and lines == [
        "错误：--season 应写作相邻两年，如 2021-2022（2021 年 11 月至 2022 年 3 月的采暖季），收到“2021”"
    ]
    code, lines = _run(
        "report", "monthly", "--month", "2021-13", "--run", str(tmp_path), "--out", "o"
    )
    assert code == 2 and lines == ["错误：--month 应写作年-月，如 2021-12，收到“2021-13”"]
    missing = tmp_path / "nope"
    code, lines = _run(
        "report", "monthly", "--month", "2021-12", "--run", str(missing), "--out", "o"
    )
    assert code == 2 and lines == [
        f"错误：找不到运行目录 {missing}：请先用 heatwatch replay --out {missing} 重放读数，或检查路径。"
    ]


def _subprocess(shell: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HEATWATCH_LANG", None)
    cmd = f"{sys.executable} -m heatwatch.cli.main {shell}"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, timeout=120
    )


def test_help_into_a_closed_pipe_is_not_an_error() -> None:
    done = _subprocess("report season --help | head -2")
    assert done.stderr == ""
    assert done.returncode == 141  # the reader went away (documented), no "内部错误"
    assert "用法 Usage" in done.stdout
