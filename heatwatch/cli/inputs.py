"""Catch the wrong file before a run 'succeeds' with everything dead-lettered.

A readings file is JSON Lines: one reading or concentrator batch (a JSON object or array) per
line. Empty files, compressed files, spreadsheets and CSV ledgers passed by mistake are
rejected with a sentence naming the file and what to do; a run whose every line was rejected
fails too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heatwatch.cli.common import EXIT_PROBLEMS, CliError, print_warning

_MAGIC = {
    b"\x1f\x8b": ("gzip", "gunzip -k {path}"),
    b"BZh": ("bzip2", "bunzip2 -k {path}"),
    b"\xfd7zXZ\x00": ("xz", "unxz -k {path}"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd {path}"),
    b"PK\x03\x04": ("zip / xlsx", "unzip {path}"),
}

# A share of rejected lines above this is worth a warning even when some lines were accepted.
WARN_REJECTED_SHARE = 0.2


def check_readings_file(path: Path) -> None:
    """Raise :class:`CliError` unless ``path`` looks like a JSONL readings file."""
    if not path.is_file():
        raise CliError(f"找不到读数文件：{path}", f"readings file not found: {path}")
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise CliError(
            f"读数文件 {path} 是空的，没有任何读数。请检查导出是否完成、是否选错了文件。",
            f"the readings file {path} is empty. Check the export finished and the file is right.",
        )
    for magic, (kind, command) in _MAGIC.items():
        if head.startswith(magic):
            cmd = command.format(path=path)
            raise CliError(
                f"{path} 是 {kind} 压缩文件，请先解压（例如 {cmd}），再用解压后的 .jsonl 文件。",
                f"{path} is a {kind} file: decompress it first (e.g. {cmd}) and pass the .jsonl.",
            )
    first = _first_line(head)
    if not first.startswith(("{", "[")):
        shown = first[:60]
        looks = _looks_like(first)
        raise CliError(
            f"{path} 不像读数文件（JSONL）：第一行是 “{shown}”{looks[0]}。"
            "--input 要的是读数 readings.jsonl；登记册请用 --registry。",
            f"{path} does not look like a readings file (JSONL): the first line is "
            f"'{shown}'{looks[1]}. --input takes readings.jsonl; the registry goes to --registry.",
        )


def _first_line(head: bytes) -> str:
    for raw in head.splitlines():
        if raw.strip():
            return raw.decode("utf-8-sig", errors="replace").strip()
    return ""


def _looks_like(first: str) -> tuple[str, str]:
    if "household_id" in first and "," in first:
        return "，这是登记册（台账）CSV", ", which is a registry (ledger) CSV"
    if "," in first or "\t" in first:
        return "，像是 CSV 表格", ", which looks like a CSV table"
    return "", ""


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
