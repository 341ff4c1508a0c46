"""The ``heatwatch`` command line (Chinese first, English available with ``--lang en``)."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
import typer.main
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from heatwatch.cli.common import (
    EXIT_PROBLEMS,
    HeatwatchCommand,
    HeatwatchGroup,
    byte_progress,
    console,
    load_registry_or_exit,
    print_error,
    state,
    t,
)

if TYPE_CHECKING:
    from contract.registry import Household
    from heatwatch.cli.readings_input import InputPlan
    from streams.core.settings import DetectionSettings
    from streams.embedded import ReplaySummary

# The subcommands in other modules, loaded only when one is run (or asked for its own help):
# importing them all (pyarrow, numpy, the dashboards) took longer than everything else
# `heatwatch --help` does. name → (module, attribute: a command function or a Typer group,
# the line the root's help lists — a command function's first docstring paragraph, a group's
# help here). tests/unit/cli/test_lazy_commands.py holds these lines to the commands' own.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "simulate": (
        "heatwatch.cli.simulate",
        "simulate",
        "模拟用户群并写出 registry.csv、readings.jsonl、ground_truth.jsonl、fleet.json。\n"
        "Simulate the fleet and write registry.csv, readings.jsonl, ground_truth.jsonl, "
        "fleet.json.",
    ),
    "worker": (
        "heatwatch.cli.worker",
        "worker",
        "运行处理程序：从 Kafka 读遥测，把事件与指标写入 InfluxDB。 Run a Faust worker:\n"
        "telemetry from Kafka, incidents and metrics to InfluxDB.",
    ),
    "produce": (
        "heatwatch.cli.produce",
        "produce_cmd",
        "把遥测发布到 Kafka（按台区/调压站分区的集中器批次）。 Publish telemetry to Kafka\n"
        "(concentrator batches keyed by feeder/station).",
    ),
    "ingest": (
        "heatwatch.cli.ingest",
        "ingest",
        "长期运行的接入桥：投递目录与 HTTP 推送 → Kafka，记录已确认的内容，重启后续传。\n"
        "Long-running bridge: drop folder and HTTP pushes → Kafka, with a journal of what Kafka"
        "\nacknowledged; resumes after a restart.",
    ),
    "demo": (
        "heatwatch.cli.demo",
        "demo",
        "演示：模拟带故障的用户群，检测、评分并汇总。 Simulate a fleet with injected faults,\n"
        "run the detection core, score it, summarise.",
    ),
    "report": (
        "heatwatch.cli.report",
        "app",
        "采暖季稳定性报告与月报。 Season stability and monthly reports.",
    ),
    "grafana": (
        "heatwatch.cli.grafana",
        "app",
        "看板与告警配置即代码。 Dashboards and alerting as code.",
    ),
    "dataset": (
        "heatwatch.cli.dataset",
        "app",
        "工作进程结果数据集的维护。 The worker's results dataset.",
    ),
    "use": (
        "heatwatch.cli.use",
        "app",
        "新设施使用情况（实时视图）。 Use of the new heating (live view).",
    ),
}


def load_command(name: str) -> click.Command:
    """The click command of a lazy subcommand, built as mounting it on ``app`` would."""
    module, attribute, help_line = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, help=help_line)
        built = typer.main.get_command(holder)
        assert isinstance(built, TyperGroup)
        return built.commands[name]
    holder.command(name, cls=HeatwatchCommand)(target)
    command: click.Command = typer.main.get_command(holder)  # a Typer of one: that command
    return command


class _Listed(TyperCommand):
    """A lazy subcommand as the root's help lists it (its name and line), not loaded."""

    def invoke(self, ctx: click.Context) -> Any:  # never: resolve_command loads the real one
        raise RuntimeError(f"command {self.name!r} was not loaded")


class LazyGroup(HeatwatchGroup):
    """The root: the commands of this module, then ``LAZY_COMMANDS`` loaded when resolved."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + [name for name in LAZY_COMMANDS if name not in own]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            return _Listed(cmd_name, help=LAZY_COMMANDS[cmd_name][2])
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else None
        if name in LAZY_COMMANDS and name not in self.commands:
            self.add_command(load_command(name), name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="heatwatch",
    cls=LazyGroup,
    help=(
        "清洁取暖运行监测：停电、谷电蓄热、燃气保供、采暖季稳定运行。 "
        "Clean-heating programme monitor: outages, off-peak storage use, gas supply, "
        "season stability."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _lang_option(value: str) -> str:
    if value not in ("zh", "en"):
        raise typer.BadParameter("zh 或 en / zh or en")
    return value


@app.callback()
def root(
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            envvar="HEATWATCH_LANG",
            callback=_lang_option,
            help="输出语言：zh（默认）或 en。 Output language: zh (default) or en.",
        ),
    ] = "zh",
    debug: Annotated[
        bool,
        typer.Option("--debug", help="出错时显示完整的调用栈。 Show full tracebacks on errors."),
    ] = False,
) -> None:
    """清洁取暖运行监测。 Clean-heating programme monitor."""
    state.lang = "en" if lang == "en" else "zh"
    state.debug = debug


def _mount_subcommands() -> None:
    """Every subcommand on ``app`` now (tests that run ``app`` in-process); ``main`` leaves
    them to ``LazyGroup``."""
    if getattr(app, "_heatwatch_mounted", False):
        return
    app._heatwatch_mounted = True  # type: ignore[attr-defined]
    for name, (module, attribute, help_line) in LAZY_COMMANDS.items():
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name, help=help_line)
        else:
            app.command(name, cls=HeatwatchCommand)(target)


@app.command(cls=HeatwatchCommand)
def schema(
    out: Annotated[
        Path,
        typer.Option(help="输出目录（JSON Schema 文件）。 Directory for the JSON Schema files."),
    ] = Path("docs/schemas"),
) -> None:
    """生成数据契约的 JSON Schema。 Write JSON Schemas of the data contract."""
    from formats.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(path)


@app.command(cls=HeatwatchCommand)
def replay(
    registry: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="用户登记册（台账）：CSV 或 Excel 工作簿（.xlsx）。 Household registry: CSV "
            "or an Excel workbook (.xlsx).",
        ),
    ],
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            exists=True,
            help="遥测读数 JSONL 或 CSV 导出（可为 .gz），或放这些文件的目录。 Telemetry "
            "readings: JSONL or a CSV export (optionally .gz), or a folder of them (merged in "
            "time order).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="输出目录（写完整后才替换原有的运行结果）。 Output directory (replaced only "
            "once the new run is complete)."
        ),
    ],
    metrics: Annotated[
        bool,
        typer.Option(help="同时写 metrics.jsonl（InfluxDB 点）。 Also write metrics.jsonl."),
    ] = False,
) -> None:
    """重放遥测文件：检测事件，写出拒收记录、汇总和日汇总。 Run the detection core over a
    telemetry file: incidents, dead letters, summary, rollups."""
    from heatwatch.cli.inputs import check_run_summary
    from heatwatch.cli.outputs import run_counts, transaction
    from heatwatch.cli.presentation import print_summary
    from heatwatch.cli.readings_input import plan_input
    from heatwatch.cli.season import detection_settings

    settings = detection_settings()
    households = load_registry_or_exit(registry)
    readings = plan_input(input)
    with transaction(out, "run") as staged:
        summary = run_into(households, readings, staged.staging, settings, metrics=metrics)
        # The report reads the registry beside the rollups: keep the run self-contained.
        shutil.copyfile(registry, staged.staging / "registry.csv")
        staged.counts = run_counts(summary.data)
    print_summary(console, summary.data, out)
    if staged.replaced:
        console.print(
            t(f"已替换 {out} 中原有的运行结果。", f"replaced the previous run in {out}."),
            highlight=False,
            soft_wrap=True,
        )
    check_run_summary(summary.data, out / "dead_letters.jsonl")


def run_into(
    households: list[Household],
    readings: InputPlan,
    out: Path,
    settings: DetectionSettings,
    *,
    metrics: bool = False,
) -> ReplaySummary:
    """Replay ``readings`` (one JSONL, or files merged in time order) into ``out``."""
    from heatwatch.cli.readings_input import merge_input, name_dead_letter_files
    from streams.embedded import replay as run_replay

    merged = None
    source = readings.files[0]
    if readings.needs_merge:
        with byte_progress() as progress:
            task = progress.add_task(
                t(f"合并 {len(readings.files)} 个输入文件", f"merge {len(readings.files)} files"),
                total=readings.total_bytes,
            )
            merged = merge_input(
                readings,
                out / ".input-merged.jsonl",
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        source = merged.path
    with byte_progress() as progress:
        task = progress.add_task(t("重放", "replay"), total=source.stat().st_size)
        summary = run_replay(
            households,
            source,
            out,
            settings,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            write_metrics=metrics,
        )
    if merged is not None:
        name_dead_letter_files(out / "dead_letters.jsonl", merged)
        merged.path.unlink()
        summary.data["input"] = str(readings.path)
        summary.data["input_files"] = [p.name for p in readings.files]
        (out / "summary.json").write_bytes(
            orjson.dumps(summary.data, option=orjson.OPT_INDENT_2) + b"\n"
        )
    return summary


def main() -> None:
    try:
        app(prog_name="heatwatch")
    except Exception as exc:  # failures outside a command (e.g. while starting up)
        if state.debug or os.environ.get("HEATWATCH_DEBUG"):
            raise
        print_error(
            t(
                f"内部错误：{type(exc).__name__}: {exc}。加 --debug 重新运行可查看详细信息。",
                f"internal error: {type(exc).__name__}: {exc}. Run again with --debug.",
            )
        )
        raise SystemExit(EXIT_PROBLEMS) from None


if __name__ == "__main__":
    main()
