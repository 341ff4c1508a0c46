"""`heatwatch use publish`: the use judgement's ``household_use`` points to InfluxDB for the
county office's Grafana panel (issue 24; heatwatch/report/use_live.py says why it is published
from the rollups rather than emitted by a runner's engine)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer

from heatwatch.cli.common import (
    EXIT_UNREACHABLE,
    CliError,
    HeatwatchCommand,
    HeatwatchGroup,
    console,
    t,
)

app = typer.Typer(
    cls=HeatwatchGroup,
    help="新设施使用情况（实时视图）。 Use of the new heating (live view).",
)

BATCH = 5000  # lines per write request


@app.command("publish", cls=HeatwatchCommand)
def publish(
    run: Annotated[
        Path | None, typer.Option(help="运行目录（heatwatch replay 的 --out）。 Run directory.")
    ] = None,
    dataset: Annotated[
        list[Path] | None,
        typer.Option("--dataset", help="工作进程的结果数据集（可重复）。 Results dataset."),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="用户登记册（台账）CSV。 Registry CSV.")
    ] = None,
    days: Annotated[
        int,
        typer.Option(
            min=1,
            help="写出最近几天的点（每户状态按采暖季至今判定）。 Days of points to write "
            "(the state is judged over the season to date).",
        ),
    ] = 7,
    out: Annotated[
        Path | None,
        typer.Option(
            help="写到此文件（行协议）而不写 InfluxDB。 Write line protocol to this file "
            "instead of InfluxDB."
        ),
    ] = None,
) -> None:
    """按同类户与度日判定各户用能，写出 household_use 点（供县里看板列出疑似未使用户）。
    Judge use against peers and degree-days and write household_use points (the county
    office's panel of under-used households)."""
    from heatwatch.cli.report import _errors, _season_inputs
    from heatwatch.report.use_live import publish_lines

    if (run is None) == (not dataset):
        raise CliError(
            "请给出 --run 运行目录或 --dataset 结果数据集（二选一）。",
            "give --run DIR or --dataset DIR (one of them).",
        )
    t0 = time.perf_counter()
    with _errors():
        src, reg = _season_inputs(
            "dataset" if dataset else "run", run, None, registry, None, dataset
        )
        lines = publish_lines(src, reg, days)
    if out is not None:
        out.write_bytes(b"".join(x + b"\n" for x in lines))
        where = str(out)
    else:
        where = _write_influx(lines)
    under = sum(1 for x in lines if b"under_used=true" in x)
    console.print(
        t(
            f"写出 {len(lines):,} 个 household_use 点（其中疑似未使用户的户日 {under:,}）到 {where}，"
            f"用时 {time.perf_counter() - t0:.1f} 秒",
            f"wrote {len(lines):,} household_use points ({under:,} household-days under-used) "
            f"to {where} in {time.perf_counter() - t0:.1f} s",
        ),
        highlight=False,
        soft_wrap=True,
    )


def _write_influx(lines: list[bytes]) -> str:
    from streams.settings import InfluxSettings
    from streams.sinks.influx import InfluxWriter, PermanentWriteError, TransientWriteError

    settings = InfluxSettings()
    if settings.token is None:
        raise CliError(
            "未设置 HEATWATCH_INFLUX_TOKEN（需可写入的令牌）。",
            "HEATWATCH_INFLUX_TOKEN is not set (a token that may write).",
        )

    async def write() -> None:
        writer = InfluxWriter(settings)
        try:
            for i in range(0, len(lines), BATCH):
                await writer(b"\n".join(lines[i : i + BATCH]))
        finally:
            await writer.close()

    try:
        asyncio.run(write())
    except TransientWriteError as exc:
        raise CliError(
            f"InfluxDB 无法连接：{exc}", f"InfluxDB unreachable: {exc}", EXIT_UNREACHABLE
        ) from None
    except PermanentWriteError as exc:
        raise CliError(f"InfluxDB 拒绝写入：{exc}", f"InfluxDB refused the write: {exc}") from None
    return f"{settings.url} bucket {settings.bucket}"
