"""`heatwatch dataset …`: upkeep of the worker's results dataset (docs/production-path.md)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from formats.worker_dataset import CompactionLock, DatasetError, compact
from heatwatch.cli.common import CliError, HeatwatchCommand, HeatwatchGroup, console, t

BEIJING = timezone(timedelta(hours=8))

app = typer.Typer(
    cls=HeatwatchGroup,
    help="工作进程结果数据集的维护。 Upkeep of the worker's results dataset.",
)


def default_before(today: date, revision_horizon_s: int) -> date:
    """Days a late reading can no longer revise: older than the horizon plus the open day."""
    return today - timedelta(days=revision_horizon_s // 86_400 + 1)


@app.command("compact", cls=HeatwatchCommand)
def compact_cmd(
    dataset: Annotated[
        Path, typer.Option("--dataset", help="结果数据集目录。 The results dataset directory.")
    ],
    before: Annotated[
        str | None,
        typer.Option(
            help="只合并此日期（YYYY-MM-DD，不含）之前的日分区；默认为超出修订期限的日子。 "
            "Compact days before this date (default: days beyond the revision horizon)."
        ),
    ] = None,
    all_days: Annotated[
        bool, typer.Option("--all", help="合并所有日分区。 Compact every day.")
    ] = False,
) -> None:
    """把每天的分段文件合并为一个文件（保留每户每天的最新修订）。 Rewrite each day's segment
    files as one file (the newest revision of each key), then delete the segments."""
    from heatwatch.cli.season import detection_settings

    if not dataset.is_dir():
        raise CliError(f"找不到结果数据集：{dataset}", f"results dataset not found: {dataset}")
    if all_days:
        cutoff = None
    elif before is not None:
        try:
            cutoff = date.fromisoformat(before)
        except ValueError:
            raise CliError(
                f"--before 应形如 2022-03-20，收到 {before!r}",
                f"--before must look like 2022-03-20, got {before!r}",
            ) from None
    else:
        today = datetime.now(BEIJING).date()
        cutoff = default_before(today, detection_settings().revision_horizon_s)
    t0 = time.perf_counter()
    try:
        with CompactionLock(dataset):
            done = compact(dataset, cutoff)
    except DatasetError as exc:
        raise CliError(f"结果数据集有误：{exc}", f"results dataset: {exc}") from None
    files = sum(c.files_read for c in done)
    dropped = sum(c.rows_read - c.rows_kept for c in done)
    console.print(
        t(
            f"合并了 {len(done)} 个日分区（{files} 个文件，去掉 {dropped} 条旧修订/重复），"
            f"用时 {time.perf_counter() - t0:.1f} 秒",
            f"compacted {len(done)} day partitions ({files} files, {dropped} older revisions or "
            f"duplicates dropped) in {time.perf_counter() - t0:.1f} s",
        ),
        highlight=False,
        soft_wrap=True,
    )
