"""What a file looks like, from its first bytes: so a wrong file is named for what it is.

A clerk passing the readings export as the registry, the registry as the readings, a run's
incidents or an Excel workbook is told what the file appears to be and which option takes
it, not a list of missing columns or "everything was rejected".
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import orjson

from formats.registry_csv import (
    REGISTRY_COLUMNS,
    REQUIRED_COLUMNS,
    decode_registry_bytes,
)
from formats.registry_headers import read_header

# Compressed or packed files this tool does not open itself (gzip it does).
PACKED = {
    b"BZh": ("bzip2", "bunzip2 -k {path}"),
    b"\xfd7zXZ\x00": ("xz", "unxz -k {path}"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd {path}"),
}
GZIP = b"\x1f\x8b"
ZIP = b"PK\x03\x04"
HEAD_BYTES = 64 * 1024

# Column names a readings CSV export has (the JSON reading's keys as a header row).
_READING_TIME = {"ts", "time", "timestamp"}
_READING_SOURCE = {"household_id", "feeder_id", "station_id", "heat_station_id", "stack_id"}


@dataclass(frozen=True)
class Sniffed:
    kind: str  # readings_jsonl, readings_csv, registry_csv, incidents, dead_letters,
    # rollups, xlsx, packed, empty, json, csv, text
    zh: str  # what it looks like, for a sentence: "遥测读数（JSONL）"
    en: str
    gzip: bool = False


def head_bytes(path: Path) -> tuple[bytes, bool]:
    """The first bytes of the file's content (decompressed if gzip) and whether it was gzip."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if raw.startswith(GZIP):
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(HEAD_BYTES), True
        except (OSError, EOFError):
            return b"", True
    return raw, False


def _first_line(head: bytes) -> str:
    for raw in head.splitlines():
        if raw.strip():
            return raw.decode("utf-8-sig", errors="replace").strip()
    return ""


def sniff(path: Path) -> Sniffed:
    head, gz = head_bytes(path)
    if gz and not head.strip():
        return Sniffed("empty", "空的 gzip 文件", "an empty gzip file", True)
    if not head.strip(b" \t\r\n,;"):
        return Sniffed("empty", "空文件", "an empty file", gz)
    if head.startswith(ZIP):
        return Sniffed("xlsx", "Excel 工作簿或 zip 压缩包", "an Excel workbook or a zip archive")
    for magic, (name, _cmd) in PACKED.items():
        if head.startswith(magic):
            return Sniffed("packed", f"{name} 压缩文件", f"a {name} file")
    first = _first_line(head)
    if first.startswith(("{", "[")):
        return _sniff_json(first, gz)
    return _sniff_table(head, gz)


def _sniff_json(first: str, gz: bool) -> Sniffed:
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        # A truncated first line is still most likely readings: let the run dead-letter it.
        return Sniffed("readings_jsonl", "遥测读数（JSONL）", "telemetry readings (JSONL)", gz)
    item = value[0] if isinstance(value, list) and value else value
    if not isinstance(item, dict):
        return Sniffed("json", "JSON 数据", "JSON data", gz)
    keys = set(item)
    if {"incident_id", "kind"} <= keys:
        return Sniffed(
            "incidents", "事件记录（incidents.jsonl）", "incidents (incidents.jsonl)", gz
        )
    if {"reason", "raw"} <= keys:
        return Sniffed("dead_letters", "拒收记录（dead_letters.jsonl）", "dead letters", gz)
    if {"household_id", "day"} <= keys:
        return Sniffed("rollups", "日汇总（household_days）", "daily rollups", gz)
    # Anything else is read as readings: a malformed first line must not refuse the file (the
    # run dead-letters what is not a reading, with its reason).
    return Sniffed("readings_jsonl", "遥测读数（JSONL）", "telemetry readings (JSONL)", gz)


def _sniff_table(head: bytes, gz: bool) -> Sniffed:
    line = head.split(b"\n", 1)[0]
    try:
        text, _encoding = decode_registry_bytes(line)  # GBK from Excel as well as UTF-8
    except ValueError:
        text = line.decode("utf-8", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        header = []
    if len(header) < 2:
        return Sniffed("text", "文本文件（不是表格）", "a text file (not a table)", gz)
    names = {h.strip().casefold() for h in header}
    if "kind" in names and names & _READING_TIME and names & _READING_SOURCE:
        return Sniffed(
            "readings_csv", "遥测读数（CSV 导出）", "telemetry readings (CSV export)", gz
        )
    codes = {c.code for c in read_header(header, REGISTRY_COLUMNS) if c.code}
    if "household_id" in codes and len(codes & set(REQUIRED_COLUMNS)) >= 2:
        return Sniffed("registry_csv", "登记册（台账）CSV", "a registry (ledger) CSV", gz)
    shown = "、".join(h.strip() for h in header[:5])
    return Sniffed(
        "csv", f"表格（列：{shown}…）", f"a table (columns: {', '.join(header[:5])}…)", gz
    )
