"""``heatwatch simulate``: write a seeded synthetic fleet, its readings and the ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from contract.glossary import DATA_FAULTS, INCIDENT_KINDS, label
from heatwatch.cli.common import CliError, console, make_progress, state, t
from producers.simulate import SimulationConfig, SimulationResult
from producers.simulate import simulate as run_simulation

app = typer.Typer(help="模拟用户群，注入故障并写出标准答案。 Synthetic fleet simulator.")

FILE_NAMES = {
    "registry": ("登记册", "registry"),
    "readings": ("读数", "readings"),
    "ground_truth": ("标准答案", "ground truth"),
    "fleet": ("设施清单", "fleet"),
}


@app.command()
def simulate(
    households: Annotated[
        int, typer.Option(min=1, help="登记册中的用户数。 Households in the registry.")
    ] = 3000,
    days: Annotated[int, typer.Option(min=1, help="模拟天数。 Days to simulate.")] = 3,
    start: Annotated[
        str, typer.Option(help="开始时间（ISO 8601，带时区）。 Start (ISO 8601 with offset).")
    ] = "2021-12-01T00:00:00+08:00",
    seed: Annotated[
        int, typer.Option(help="随机种子（同种子同输出）。 Seed (same seed, same bytes).")
    ] = 7,
    interval: Annotated[
        int, typer.Option("--interval", help="电表采集间隔（秒）。 Meter interval, seconds.")
    ] = 900,
    batches: Annotated[
        bool,
        typer.Option("--batches/--no-batches", help="按集中器批量上报。 Concentrator batches."),
    ] = False,
    faults: Annotated[
        bool, typer.Option("--faults/--no-faults", help="注入故障。 Inject faults.")
    ] = True,
    out: Annotated[Path, typer.Option("--out", help="输出目录。 Output directory.")] = Path(
        "sim-out"
    ),
) -> None:
    """模拟用户群并写出 registry.csv、readings.jsonl、ground_truth.jsonl、fleet.json。
    Simulate the fleet and write registry.csv, readings.jsonl, ground_truth.jsonl, fleet.json."""
    try:
        config = SimulationConfig(
            households=households,
            days=days,
            start=start,
            seed=seed,
            interval_s=interval,
            batches=batches,
            faults=faults,
        )
    except ValueError as exc:
        raise CliError(f"模拟参数有误：{exc}", f"invalid simulation settings: {exc}") from exc
    with make_progress(
        TextColumn("[bold]" + t("模拟中", "simulating")),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + t("个采集周期", "intervals")),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("simulate", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_simulation(config, out, progress=tick)
    console.print(_result_table(result), soft_wrap=True)


def _result_table(r: SimulationResult) -> Table:
    table = Table(title=t(f"已写出 {r.out_dir}", f"wrote {r.out_dir}"))
    table.add_column(t("项目", "item"))
    table.add_column(t("数值", "value"), justify="right")
    for name, path in r.files.items():
        zh, en = FILE_NAMES.get(name, (name, name))
        table.add_row(t(zh, en), str(path))
    table.add_row(t("用户数", "households"), f"{r.households:,}")
    table.add_row(
        t("台区 / 燃气调压站", "feeders / gas stations"),
        f"{r.feeders:,} / {r.stations:,}",
    )
    table.add_row(t("行数 / 读数", "lines / readings"), f"{r.lines:,} / {r.readings:,}")
    table.add_row(t("写入 MB", "MB written"), f"{r.bytes_written / 1e6:,.1f}")
    table.add_row(t("应检出事件", "expected incidents"), f"{r.incidents:,}")
    for kind, n in sorted(r.ground_truth_counts.items()):
        vocabulary = INCIDENT_KINDS if kind in INCIDENT_KINDS else DATA_FAULTS
        table.add_row(
            "  " + t("标准答案：", "ground truth: ") + label(vocabulary, kind, state.lang), f"{n:,}"
        )
    table.add_row(t("用时（秒）", "seconds"), f"{r.seconds:.1f}")
    return table


if __name__ == "__main__":
    app()
