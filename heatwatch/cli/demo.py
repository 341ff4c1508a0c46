"""``heatwatch demo``: simulate a small fleet with injected faults, detect, score, show."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from contract.registry import Household
from heatwatch.cli.common import (
    console,
    load_registry_or_exit,
    make_progress,
    on_terminal,
    t,
)
from heatwatch.cli.presentation import (
    incidents_table,
    print_summary,
    score_table,
    use_score_note,
    write_html_summary,
)
from producers.scoring import (
    Score,
    read_dead_letter_lines,
    read_incidents,
    read_use_truth,
    score,
    score_use,
)


def demo(
    households: Annotated[
        int, typer.Option(min=50, help="模拟用户数。 Households to simulate.")
    ] = 3000,
    days: Annotated[int, typer.Option(min=1, max=60, help="模拟天数。 Days to simulate.")] = 3,
    seed: Annotated[
        int, typer.Option(help="随机种子（同种子同结果）。 Random seed (same seed, same run).")
    ] = 7,
    out: Annotated[Path, typer.Option(help="所有输出的目录。 Where to write everything.")] = Path(
        "demo-out"
    ),
) -> None:
    """演示：模拟带故障的用户群，检测、评分并汇总。 Simulate a fleet with injected faults,
    run the detection core, score it, summarise."""
    from heatwatch.cli.outputs import run_counts, transaction, write_manifest
    from heatwatch.cli.season import detection_settings

    settings = detection_settings()
    with transaction(out, "demo") as staged:
        result, summary = _demo(staged.staging, households, days, seed, settings)
        # The run inside is complete on its own too: a report may read it directly.
        write_manifest(staged.staging / "run", "run", counts=run_counts(summary.data))
        staged.counts = {"households": households, "days": days, "seed": seed}
    sim_dir, run_dir = out / "simulation", out / "run"
    # On a terminal the live view already showed the incident table.
    print_summary(console, summary.data, run_dir, with_table=not on_terminal())
    console.print(score_table(result))
    note = use_score_note(result)
    if note:
        console.print(note, soft_wrap=True, highlight=False)
    html_path = out / "summary.html"
    _print_verdict(result)
    console.print(
        t(
            f"\n模拟数据：{sim_dir}\n检测结果：{run_dir}"
            "（incidents.jsonl、dead_letters.jsonl、summary.json、rollups/household_days.parquet）\n"
            f"稳定性报告：heatwatch report season --season 2021-2022 --run {run_dir} --out {out / 'report'}\n"
            f"摘要页面：{html_path}",
            f"\nsimulation: {sim_dir}\nresults: {run_dir} "
            "(incidents.jsonl, dead_letters.jsonl, summary.json, rollups/household_days.parquet)\n"
            f"season report: heatwatch report season --season 2021-2022 --run {run_dir} --out {out / 'report'}\n"
            f"HTML summary: {html_path}",
        ),
        highlight=False,
        soft_wrap=True,
    )
    if not result.perfect:
        raise typer.Exit(1)


def _demo(out: Path, households: int, days: int, seed: int, settings: Any) -> Any:
    """Simulate, detect and score into ``out`` (the staging directory)."""
    from producers.simulate import SimulationConfig, simulate

    sim_dir = out / "simulation"
    run_dir = out / "run"
    progress = _bar()
    config = SimulationConfig(households=households, days=days, seed=seed)
    with progress:
        task = progress.add_task(
            t(
                f"模拟 {households:,} 户 × {days} 天",
                f"simulate {households:,} households × {days} days",
            ),
            total=1,
        )
        simulate(
            config,
            sim_dir,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    registry = load_registry_or_exit(sim_dir / "registry.csv")
    summary = _detect(registry, sim_dir, run_dir, settings)
    shutil.copyfile(sim_dir / "registry.csv", run_dir / "registry.csv")
    incidents = read_incidents(run_dir / "incidents.jsonl")
    result = score(
        incidents,
        sim_dir / "ground_truth.jsonl",
        read_dead_letter_lines(run_dir / "dead_letters.jsonl"),
        interval_s=settings.interval_s,
    )
    result.use = _score_use(sim_dir, run_dir, registry)
    write_html_summary(out / "summary.html", summary.data, incidents, result)
    return result, summary


def _score_use(sim_dir: Path, run_dir: Path, registry: list[Household]) -> Any:
    """The season's use judgement over the run's rollups, against the simulator's use truth."""
    from heatwatch.report.loading import ParquetRollups, registry_from_households
    from heatwatch.report.use_cost import use_states

    truth = sim_dir / "use_truth.jsonl"
    rollups = run_dir / "rollups" / "household_days.parquet"
    if not truth.exists() or not rollups.exists():
        return None
    states = use_states(ParquetRollups(rollups), registry_from_households(registry))
    return score_use(read_use_truth(truth), states)


def _bar() -> Progress:
    return make_progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )


def _detect(registry: list[Household], sim_dir: Path, run_dir: Path, settings: Any) -> Any:
    """Replay the simulated readings; on a terminal with a live table of incidents by kind."""
    from streams.embedded import replay

    readings = sim_dir / "readings.jsonl"
    if not on_terminal():
        return replay(registry, readings, run_dir, settings)
    # Its own bar: the simulation's finished bar is already on screen and must not repeat.
    progress = _bar()
    live_counts: dict[str, int] = {}

    def live_view() -> Group:
        return Group(
            progress, incidents_table({"incidents_by_kind": dict(sorted(live_counts.items()))})
        )

    task = progress.add_task(t("检测", "detect"), total=readings.stat().st_size)
    with Live(live_view(), console=console, refresh_per_second=4) as live:

        def on_progress(done: int, total: int, counts: dict[str, int]) -> None:
            live_counts.clear()
            live_counts.update(counts)
            progress.update(task, completed=done, total=total)
            live.update(live_view())

        return replay(registry, readings, run_dir, settings, observer=on_progress)


def _print_verdict(result: Score) -> None:
    u = result.use
    if result.perfect:
        console.print(
            "[green]"
            + t(
                "全部注入故障均已检出，健康用户无误报",
                "every injected fault found, no false alarms",
            )
            + "[/green]"
        )
        return
    console.print(
        "[red]"
        + t(
            f"遗漏 {len(result.missed)} · 父事件不符 {len(result.wrong_parent)} · "
            f"误报 {len(result.unexpected)} · 漏拒畸形行 {len(result.malformed_missed)}"
            + (f" · 用能遗漏 {len(u.missed)} · 用能误判 {len(u.false)}" if u else ""),
            f"missed {len(result.missed)} · wrong parent {len(result.wrong_parent)} · "
            f"unexpected {len(result.unexpected)} · malformed not dead-lettered "
            f"{len(result.malformed_missed)}"
            + (f" · use missed {len(u.missed)} · use false {len(u.false)}" if u else ""),
        )
        + "[/red]"
    )
