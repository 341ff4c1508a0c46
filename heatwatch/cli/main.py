"""The ``heatwatch`` command line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from heatwatch.cli.common import byte_progress, console, load_registry_or_exit

app = typer.Typer(
    name="heatwatch",
    help="Clean-heating programme monitor: outages, off-peak storage use, gas supply, season stability.",
    no_args_is_help=True,
    add_completion=False,
)


def _mount_subcommands() -> None:
    from heatwatch.cli.simulate import simulate

    app.command("simulate")(simulate)
    from heatwatch.cli.grafana import app as grafana_app
    from heatwatch.cli.report import app as report_app

    app.add_typer(report_app, name="report", help="Season stability and monthly reports.")
    from heatwatch.cli.produce import produce_cmd
    from heatwatch.cli.worker import worker

    app.command("worker")(worker)
    app.command("produce")(produce_cmd)
    app.add_typer(grafana_app, name="grafana", help="Dashboards and alerting as code.")


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path(
        "docs/schemas"
    ),
) -> None:
    """Write JSON Schemas of the data contract (registry row, telemetry, incident, rollup)."""
    from heatwatch.formats.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(path)


@app.command()
def replay(
    registry: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Household registry CSV.")
    ],
    input: Annotated[
        Path, typer.Option("--input", exists=True, dir_okay=False, help="Telemetry JSONL.")
    ],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    metrics: Annotated[
        bool, typer.Option(help="Also write metrics.jsonl (InfluxDB points).")
    ] = False,
) -> None:
    """Run the detection core over a telemetry file: incidents, dead letters, summary, rollups."""
    from heatwatch.cli.season import detection_settings
    from streams.embedded import replay as run_replay

    settings = detection_settings()
    households = load_registry_or_exit(registry)
    with byte_progress() as progress:
        task = progress.add_task("replay", total=input.stat().st_size)
        summary = run_replay(
            households,
            input,
            out,
            settings,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            write_metrics=metrics,
        )
    # The report reads the registry beside the rollups: keep the run self-contained.
    shutil.copyfile(registry, out / "registry.csv")
    from heatwatch.cli.presentation import print_summary

    print_summary(console, summary.data, out)


def main() -> None:
    _mount_subcommands()
    from heatwatch.cli.demo import register as register_demo

    register_demo(app)
    app(prog_name="heatwatch")


if __name__ == "__main__":
    main()
