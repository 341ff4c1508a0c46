"""A run whose every line was rejected fails; one with many rejections warns.

(Wrong input files are caught before the run: heatwatch/cli/readings_input.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heatwatch.cli.common import EXIT_PROBLEMS, CliError, print_warning

# A share of rejected lines above this is worth a warning even when some lines were accepted.
WARN_REJECTED_SHARE = 0.2


def check_run_summary(data: dict[str, Any], dead_letters: Path) -> None:
    """Fail when every line was rejected; warn when many were."""
    lines = int(data.get("lines_read", 0))
    rejected = int(data.get("rejected", 0))
    accepted = int(data.get("accepted", 0))
    if lines and accepted == 0:
        raise CliError(
            f"全部 {rejected:,} 行都被拒收，没有任何有效读数。原因见 {dead_letters}；"
            "请检查是否选错了文件或格式。",
            f"all {rejected:,} lines were rejected, no valid reading. Reasons are in "
            f"{dead_letters}; check the file and its format.",
            EXIT_PROBLEMS,
        )
    if lines and rejected / lines > WARN_REJECTED_SHARE:
        print_warning(
            f"{rejected:,} / {lines:,} 行被拒收（{rejected / lines:.0%}），原因见 {dead_letters}。",
            f"{rejected:,} of {lines:,} lines were rejected ({rejected / lines:.0%}); "
            f"reasons in {dead_letters}.",
        )


def check_readings_file(path: Path) -> None:
    """One plain JSONL readings file (what ``produce`` publishes as it is), or a sentence
    naming what the file is (heatwatch/cli/readings_input.py sniffs it)."""
    from heatwatch.cli.readings_input import plan_input

    plan = plan_input(path)
    if plan.needs_merge:
        raise CliError(
            f"{path}：produce 只发布一个未压缩的 JSONL 读数文件；目录、CSV 和 .gz 请先用 "
            "heatwatch replay 检查，或解压/转换成 JSONL。",
            f"{path}: produce publishes one uncompressed JSONL readings file; decompress or "
            "convert folders, CSV and .gz to JSONL first.",
        )
