"""``--input`` as utilities deliver it: one JSONL file, a CSV export, gzip, or a folder of them.

A folder of daily (or hourly) export files is read in event-time order across files: each
file is read as a stream and the files are merged k-way on each line's earliest ``ts`` (one
line per file in memory, never the whole input), into one JSONL the replay reads. A file
whose lines are not in time order still gives the right result: the replay orders its input
on disk whenever order could matter. Dead letters name the file and its line, not the
position in the merged stream.

A CSV export (a header row of the reading's field names) is turned into JSON objects; cells
are numbers where they look like numbers, except identifiers and times, which stay text
(the contract is strict: ``"0.62"`` is not a number).
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import re
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from heatwatch.cli.common import CliError
from heatwatch.cli.sniff import PACKED, Sniffed, sniff
from streams.eventorder import event_key

ProgressFn = Callable[[int, int], None]

READING_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
# Files still being written by a transfer (rsync, browsers, sftp clients) are not read.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart")
_TEXT_FIELDS = re.compile(r"(^|_)(id|kind|ts|time|event|device|unit|source)$")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass
class InputPlan:
    """What ``--input`` named: the files, in name order, and what each looks like."""

    path: Path
    files: list[Path]
    sniffed: list[Sniffed]
    skipped: list[Path] = field(default_factory=list)

    @property
    def needs_merge(self) -> bool:
        """True unless it is one plain JSONL file the replay can read as it is."""
        return (
            len(self.files) != 1
            or self.sniffed[0].kind != "readings_jsonl"
            or (self.sniffed[0].gzip)
        )

    @property
    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _is_reading_file(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith(".") or name.endswith(PARTIAL_SUFFIXES):
        return False
    name = name.removesuffix(".gz")
    return name.endswith(READING_SUFFIXES)


def plan_input(path: Path) -> InputPlan:
    """The files of ``--input``; a sentence naming what is wrong if they are not readings."""
    if not path.exists():
        raise CliError(
            f"找不到读数文件或目录：{path}", f"readings file or folder not found: {path}"
        )
    if path.is_dir():
        if (path / "manifest.json").is_file() or (path / "summary.json").is_file():
            raise CliError(
                f"{path} 是 heatwatch 的运行结果目录，不是读数：--input 要的是遥测读数文件或放读数"
                "文件的目录；报告请用 heatwatch report … --run。",
                f"{path} is a heatwatch run directory, not readings: --input takes readings "
                "files or a folder of them; reports read runs with heatwatch report … --run.",
            )
        every = sorted(p for p in path.iterdir() if p.is_file())
        files = [p for p in every if _is_reading_file(p)]
        skipped = [p for p in every if p not in files]
        if not files:
            seen = "、".join(p.name for p in every[:5]) or "（空目录）"
            raise CliError(
                f"目录 {path} 里没有读数文件（.jsonl、.csv，可为 .gz 压缩）；里面有：{seen}",
                f"no readings files (.jsonl, .csv, optionally .gz) in {path}; it holds: "
                f"{', '.join(p.name for p in every[:5]) or '(nothing)'}",
            )
    else:
        files, skipped = [path], []
    sniffed = [sniff(f) for f in files]
    for f, s in zip(files, sniffed, strict=True):
        _check_readings(f, s, in_folder=path.is_dir())
    if all(s.kind == "empty" for s in sniffed):
        where = f"目录 {path} 里的文件都" if path.is_dir() else f"读数文件 {path} "
        raise CliError(
            f"{where}是空的，没有任何读数。请检查导出是否完成、是否选错了文件。",
            f"the readings {'files in ' if path.is_dir() else 'file '}{path} "
            f"{'are' if path.is_dir() else 'is'} empty. Check the export finished and the "
            "file is right.",
        )
    return InputPlan(path, files, sniffed, skipped)


def _check_readings(path: Path, s: Sniffed, *, in_folder: bool) -> None:
    if s.kind in ("readings_jsonl", "readings_csv") or (s.kind == "empty" and in_folder):
        return
    if s.kind == "empty":
        return  # said once for the whole input by plan_input
    if s.kind == "packed":
        magic = next(m for m, (name, _c) in PACKED.items() if name in s.en)
        cmd = PACKED[magic][1].format(path=path)
        raise CliError(
            f"{path} 是 {s.zh}，请先解压（例如 {cmd}）；gzip（.gz）可直接读取。",
            f"{path} is {s.en}: decompress it first (e.g. {cmd}); gzip (.gz) is read directly.",
        )
    other = {
        "registry_csv": ("登记册请用 --registry", "the registry goes to --registry"),
        "xlsx": (
            "请从 Excel 另存为 CSV，或用采集系统导出的 JSONL",
            "save it from Excel as CSV, or use the head-end's JSONL export",
        ),
        "incidents": ("这是 heatwatch replay 的结果，不是输入", "that is a replay's output"),
        "dead_letters": ("这是 heatwatch replay 的结果，不是输入", "that is a replay's output"),
        "rollups": ("这是 heatwatch replay 的结果，不是输入", "that is a replay's output"),
    }.get(s.kind, ("", ""))
    raise CliError(
        f"{path} 不是读数文件：它看起来是{s.zh}。--input 要的是遥测读数（JSONL 或 CSV 导出，"
        f"可为 .gz，或放这些文件的目录）" + (f"；{other[0]}" if other[0] else "") + "。",
        f"{path} is not a readings file: it looks like {s.en}. --input takes telemetry readings "
        "(JSONL or a CSV export, optionally .gz, or a folder of them)"
        + (f"; {other[1]}" if other[1] else "")
        + ".",
    )


class _Counted(io.RawIOBase):
    """A binary file whose position (compressed bytes read) the progress display reads."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.fh.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


def _lines(
    path: Path, s: Sniffed, stack: ExitStack, counter: _Counted
) -> Iterator[tuple[int, bytes]]:
    """(line number in the file, reading as a JSON line): CSV rows converted (numbered as
    the file's lines, the header being line 1), gzip decompressed."""
    raw: IO[bytes] = io.BufferedReader(counter)
    if s.gzip:
        raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))  # type: ignore[arg-type]
    if s.kind != "readings_csv":
        for n, line in enumerate(raw, start=1):
            yield n, line if line.endswith(b"\n") else line + b"\n"
        return
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    for row in reader:
        yield reader.line_num, orjson.dumps(_csv_reading(row)) + b"\n"


def _csv_reading(row: dict[str | None, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None:
            continue
        name = key.strip()
        cell = value.strip() if isinstance(value, str) else value
        if cell == "" or cell is None:
            continue
        if cell in ("null", "NULL"):
            out[name] = None
        elif cell in ("true", "false"):
            out[name] = cell == "true"
        elif not _TEXT_FIELDS.search(name) and _NUMBER.fullmatch(cell):
            out[name] = float(cell) if any(c in cell for c in ".eE") else int(cell)
        else:
            out[name] = cell
    return out


@dataclass
class MergedInput:
    path: Path  # the JSONL the replay reads
    files: list[Path]
    # For line n (1-based) of the merged file: which file (index) and which line in it.
    file_of_line: array[int]
    line_in_file: array[int]

    def origin(self, line_no: int) -> tuple[Path, int]:
        i = line_no - 1
        return self.files[self.file_of_line[i]], self.line_in_file[i]


def _keyed(
    index: int, path: Path, lines: Iterator[tuple[int, bytes]]
) -> Iterator[tuple[int, int, int, bytes]]:
    """(earliest ts, file index, line number, line): the merge order, ties by file then line.
    A damaged file is named (a transfer cut short is the usual cause), not an internal error."""
    n = 0
    try:
        for n, line in lines:
            yield event_key(line), index, n, line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise CliError(
            f"{path} 在第 {n} 行之后读不下去：gzip 文件不完整或已损坏。可能还在传输，"
            "请等传完或重新导出。",
            f"{path} cannot be read past line {n}: the gzip file is incomplete or damaged "
            f"({exc}). It may still be arriving: wait for it or export it again.",
        ) from None
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{path} 在第 {n + 1} 行附近不是 UTF-8 文本：CSV 导出请存为 UTF-8。",
            f"{path} is not UTF-8 text near line {n + 1}: save CSV exports as UTF-8 "
            f"({exc.reason}).",
        ) from None


def merge_input(plan: InputPlan, out: Path, progress: ProgressFn | None = None) -> MergedInput:
    """Write the plan's readings into ``out`` in event-time order across files (k-way merge
    on each line's earliest ``ts``; ties by file order, then line order)."""
    total = plan.total_bytes
    counters: list[_Counted] = []
    file_of = array("H")
    line_of = array("L")
    with ExitStack() as stack, out.open("wb") as dst:
        streams = []
        for index, (path, s) in enumerate(zip(plan.files, plan.sniffed, strict=True)):
            counter = _Counted(stack.enter_context(path.open("rb")))
            counters.append(counter)
            streams.append(_keyed(index, path, _lines(path, s, stack, counter)))
        for written, (_key, index, n, line) in enumerate(heapq.merge(*streams), start=1):
            dst.write(line)
            file_of.append(index)
            line_of.append(n)
            if progress is not None and not written & 0xFFFF:
                progress(sum(c.done for c in counters), total)
    if progress is not None:
        progress(total, total)
    return MergedInput(out, plan.files, file_of, line_of)


def name_dead_letter_files(dead_letters: Path, merged: MergedInput) -> None:
    """Rewrite the run's dead letters so each names its file and line in that file."""
    if not dead_letters.exists():
        return
    tmp = dead_letters.with_suffix(".named")
    with dead_letters.open("rb") as src, tmp.open("wb") as dst:
        for line in src:
            record = orjson.loads(line)
            number = record.get("line_no")
            if isinstance(number, int) and 0 < number <= len(merged.file_of_line):
                path, in_file = merged.origin(number)
                record["file"] = path.name
                record["line_no"] = in_file
            dst.write(orjson.dumps(record) + b"\n")
    tmp.replace(dead_letters)
