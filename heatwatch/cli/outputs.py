"""Outputs are transactions: written whole beside the target, then moved into place.

A run (``replay --out``, ``demo --out``) or a report set (``report season|monthly --out``) is
written into a hidden staging directory next to its target (same file system, so the final
move is a rename), completed by a ``manifest.json`` written last (what was written, with
counts), and only then moved to the target. Ctrl-C or a failure removes the staging
directory and leaves the previous output exactly as it was, and says so.

* A run replaces the previous run in the same directory (re-running is what runs are for),
  but never a directory that is not a run (``--out ~/文档`` is refused, not emptied).
* A report set is never overwritten: printed notices may already be posted. A second report
  into the same directory is refused, unless ``--new-version`` asks for the next numbered
  version beside it (``out/v2``, ``out/v3`` …), the old one kept.
* A report reads a run only if the run is complete: its manifest lists every file with its
  size; a run directory a killed replay of an older version left behind (dead letters but no
  summary) is refused with a sentence.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import typer

from heatwatch.cli.common import (
    EXIT_EXISTS,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    CliError,
    explain,
    print_warning,
)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
STAGING_MARK = ".partial-"


@dataclass
class Staged:
    """The directory to write into, and where it will end up."""

    staging: Path
    target: Path
    kind: str
    version: int
    replaced: bool  # a previous output of the same kind was replaced (runs only)
    counts: dict[str, Any]

    def final(self, path: Path) -> Path:
        """Where a file written under ``staging`` will be once the output is in place."""
        try:
            return self.target / path.relative_to(self.staging)
        except ValueError:
            return path


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return {"complete": False}
    return data if isinstance(data, dict) else {"complete": False}


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _is_run(path: Path) -> bool:
    manifest = read_manifest(path)
    if manifest is not None:
        return manifest.get("kind") in ("run", "demo")
    # Runs written before manifests: replay's files.
    return (path / "summary.json").exists() or (path / "dead_letters.jsonl").exists()


def _versions(target: Path) -> int:
    """The highest report version in ``target`` (1 = the set directly in it)."""
    highest = 1
    for child in target.iterdir() if target.is_dir() else ():
        if child.is_dir() and child.name[:1] == "v" and child.name[1:].isdigit():
            highest = max(highest, int(child.name[1:]))
    return highest


_REPORT_FILES = ("stability-", "monthly-", "notice-")


def _report_exists(target: Path) -> bool:
    """A report set: its manifest says so, or (written before manifests) its files do."""
    manifest = read_manifest(target)
    if manifest is not None:
        return manifest.get("kind") == "report"
    return target.is_dir() and any(p.name.startswith(_REPORT_FILES) for p in target.iterdir())


def _reports_inside(target: Path) -> list[Path]:
    """Report sets written inside a run directory (``--out run/report``), two levels deep."""
    found: list[Path] = []
    if not target.is_dir():
        return found
    for child in sorted(target.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if _report_exists(child):
            found.append(child)
        else:  # demo-out/run/report
            found += [g for g in sorted(child.iterdir()) if g.is_dir() and _report_exists(g)]
    return found


def _refuse_file(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise CliError(
            f"{target} 是一个已有的文件，不能用作输出目录：请换一个 --out。",
            f"{target} is an existing file, not a directory: choose another --out.",
            EXIT_EXISTS,
        )


def plan(target: Path, kind: str, *, new_version: bool = False) -> tuple[Path, int]:
    """(final directory, version) for an output of ``kind`` ("run", "demo", "report"), or a
    sentence saying why it would overwrite something it must not."""
    _refuse_file(target)
    if kind in ("run", "demo"):
        if target.is_dir() and not _is_empty_dir(target) and not _is_run(target):
            raise CliError(
                f"{target} 已有其他文件，不是 heatwatch 的运行目录：为免删掉它们，请换一个 --out"
                "（新目录或以前的运行目录）。",
                f"{target} holds other files and is not a heatwatch run directory: to keep "
                "them, choose another --out (a new directory or an earlier run's).",
                EXIT_EXISTS,
            )
        reports = _reports_inside(target)
        if reports:
            shown = "、".join(str(r) for r in reports[:3])
            raise CliError(
                f"{target} 里有已出具的报告（{shown}）：重写运行结果会连同报告一起替换。请换一个 "
                "--out，或先把报告移出去。",
                f"{target} holds issued reports ({', '.join(str(r) for r in reports[:3])}): "
                "replacing the run would replace them too. Choose another --out or move the "
                "reports out first.",
                EXIT_EXISTS,
            )
        return target, 1
    if not target.exists() or _is_empty_dir(target):
        return target, 1
    if not _report_exists(target):
        raise CliError(
            f"{target} 里已有别的文件（不是一套报告）：报告请写到新的或空的目录，例如 "
            f"{target / 'report'}。",
            f"{target} holds other files (not a report set): write the report to a new or "
            f"empty directory, e.g. {target / 'report'}.",
            EXIT_EXISTS,
        )
    latest = _versions(target)
    if not new_version:
        where = target if latest == 1 else target / f"v{latest}"
        raise CliError(
            f"{where} 已有一套报告，已出具的文件不覆盖。要保留旧版、写出新版，请加 --new-version"
            f"（写到 {target / f'v{latest + 1}'}）；或换一个 --out。",
            f"{where} already holds a report set; issued documents are not overwritten. Add "
            f"--new-version to keep it and write {target / f'v{latest + 1}'}, or choose "
            "another --out.",
            EXIT_EXISTS,
        )
    return target / f"v{latest + 1}", latest + 1


def write_manifest(
    directory: Path, kind: str, *, version: int = 1, counts: dict[str, Any] | None = None
) -> None:
    """``directory/manifest.json``: every file below it with its size, and the counts.
    Written last, and atomically: its presence means every listed file is complete."""
    files = {
        str(p.relative_to(directory)): p.stat().st_size
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "complete": True,
        "version": version,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": ["heatwatch", *sys.argv[1:]],
        "counts": counts or {},
        "files": files,
    }
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    tmp.replace(directory / MANIFEST)


def run_counts(data: dict[str, Any]) -> dict[str, Any]:
    """What a run's manifest records of its summary (a report can say what it read)."""
    keys = ("lines_read", "readings_received", "accepted", "rejected", "incidents")
    return {k: data.get(k) for k in (*keys, "rollup_rows")}


def _write_manifest(staged: Staged) -> None:
    write_manifest(staged.staging, staged.kind, version=staged.version, counts=staged.counts)


def _move_into_place(staged: Staged) -> None:
    target = staged.target.absolute()
    if _is_empty_dir(target):
        # The directory stays (it may be the shell's or a file browser's current directory):
        # its new contents are moved in, the manifest last, so it is complete once it has one.
        children = sorted(staged.staging.iterdir(), key=lambda p: p.name == MANIFEST)
        for child in children:
            child.rename(target / child.name)
        staged.staging.rmdir()
    elif target.exists():
        # A previous run: moved aside first, so at no moment is a mixed directory visible.
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        staged.staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        staged.replaced = True
    else:
        staged.staging.rename(target)


def _kept(target: Path) -> tuple[str, str]:
    if target.exists():
        return f"原有的 {target} 保持不变", f"the previous {target} is unchanged"
    return f"没有写出 {target}", f"{target} was not written"


@contextmanager
def transaction(target: Path, kind: str, *, new_version: bool = False) -> Iterator[Staged]:
    """Stage an output of ``kind`` for ``target`` (see the module docstring)."""
    final, version = plan(target, kind, new_version=new_version)
    real = final.absolute()  # "--out ." has no name to stage beside
    real.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(real)
    staging = real.with_name(f".{real.name}{STAGING_MARK}{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staged = Staged(staging, final, kind, version, False, {})
    try:
        with _terminate_as_interrupt():
            # made inside: an interrupt the moment it exists is one like any other
            staging.mkdir()
            yield staged
            _write_manifest(staged)
            _move_into_place(staged)
    except KeyboardInterrupt:
        shutil.rmtree(staging, ignore_errors=True)
        zh, en = _kept(final)
        raise CliError(f"已中断：{zh}。", f"interrupted: {en}.", EXIT_INTERRUPTED) from None
    except (CliError, typer.Exit):
        shutil.rmtree(staging, ignore_errors=True)  # a problem already said as it is
        raise
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        zh, en = _kept(final)
        known = explain(exc) if isinstance(exc, Exception) else None
        if known is not None:
            raise CliError(
                f"{known.zh.rstrip('。')}。{zh}。", f"{known.en.rstrip('.')}. {en}.", known.code
            ) from exc
        if isinstance(exc, Exception):
            print_warning(f"输出未完成：{zh}。", f"output not finished: {en}.")
        raise


def _remove_stale(real: Path) -> None:
    """Staging directories a killed process (kill -9, power cut) left beside the target."""
    for leftover in real.parent.glob(f".{real.name}{STAGING_MARK}*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, ``kill``) ends the output like Ctrl-C: cleaned up, said."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_run_complete(run: Path) -> None:
    """Refuse a run directory a replay did not finish (see the module docstring)."""
    if STAGING_MARK in run.name or (run.name.startswith(".") and ".old-" in run.name):
        raise CliError(
            f"{run} 是写到一半的临时目录，不是运行结果：请用它旁边的 {_base_name(run)}。",
            f"{run} is a half-written staging directory, not a run: use {_base_name(run)}.",
            EXIT_INPUT,
        )
    manifest = read_manifest(run)
    if manifest is None:
        if (run / "dead_letters.jsonl").exists() and not (run / "summary.json").exists():
            raise CliError(
                f"运行目录 {run} 不完整（有拒收记录，却没有 summary.json）：上次重放可能被中断。"
                f"请重新运行 heatwatch replay --out {run}。",
                f"run directory {run} is incomplete (dead letters but no summary.json): the "
                f"replay was probably interrupted. Run heatwatch replay --out {run} again.",
                EXIT_INPUT,
            )
        return  # rollups made by hand or by an older heatwatch: nothing says they are partial
    missing = [
        name
        for name, size in (manifest.get("files") or {}).items()
        if not (run / name).is_file() or (run / name).stat().st_size != size
    ]
    if not manifest.get("complete") or missing:
        shown = "、".join(missing[:3]) or MANIFEST
        raise CliError(
            f"运行目录 {run} 不完整或已被改动（{shown}）：请重新运行 heatwatch replay --out {run}。",
            f"run directory {run} is incomplete or was changed ({', '.join(missing[:3]) or MANIFEST}): "
            f"run heatwatch replay --out {run} again.",
            EXIT_INPUT,
        )


def _base_name(run: Path) -> Path:
    name = run.name.lstrip(".")
    for mark in (STAGING_MARK, ".old-"):
        name = name.split(mark)[0]
    return run.with_name(name)
