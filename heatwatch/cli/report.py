"""`heatwatch report …` — a typer sub-app (mounted by the lead as `heatwatch report`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from heatwatch.report.fonts import FontMissingError
from heatwatch.report.loading import (
    InputError,
    Registry,
    RollupSource,
    influx_inputs,
    load_registry,
    rollup_source,
    run_dir_inputs,
)
from heatwatch.report.season_sections import IssueInfo
from heatwatch.report.stability import PolicyError, StabilityPolicy, parse_policy
from streams.settings import InfluxSettings

if TYPE_CHECKING:
    from heatwatch.report.season import SeasonOutputs

app = typer.Typer(help="Season stability report (先立后破) and the monthly county report (月报).")
console = Console(stderr=True)

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "deploy" / "policy" / "stability.yaml"

STEPS = {
    "load": "loading rollups and registry",
    "evaluate": "evaluating households",
    "ledger": "writing CSV ledger",
    "xlsx": "writing XLSX ledger",
    "charts": "drawing charts",
    "html": "writing HTML",
    "pdf": "writing PDF",
    "notices": "writing public notices",
    "incidents": "reading incidents",
}


def load_policy(path: Path | None) -> StabilityPolicy:
    p = path or DEFAULT_POLICY
    if path is None and not p.exists():
        return StabilityPolicy()
    if not p.exists():
        raise InputError(f"policy file not found: {p}")
    return parse_policy(p.read_text(encoding="utf-8"), str(p))


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (InputError, PolicyError, FontMissingError) as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def _progress() -> Iterator[object]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as prog:
        task = prog.add_task("starting", total=None)

        def step(name: str) -> None:
            prog.update(task, description=STEPS.get(name, name))

        yield step
        prog.update(task, description="done")


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise typer.BadParameter("use zh or en", param_hint="--lang")
    return lang


@app.command()
def season(
    season: Annotated[str, typer.Option(help="Heating season, e.g. 2021-2022.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    run: Annotated[
        Path | None,
        typer.Option(help="Run directory (rollups/household_days.parquet, registry.csv)."),
    ] = None,
    rollups: Annotated[
        Path | None, typer.Option(help="Rollups file (.parquet or .jsonl) instead of --run.")
    ] = None,
    registry: Annotated[Path | None, typer.Option(help="Registry CSV.")] = None,
    county: Annotated[str | None, typer.Option(help="Only this county (registry name).")] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Stability policy YAML (default deploy/policy).")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh (default) or en.")] = "zh",
    issuer: Annotated[
        str, typer.Option(help="Issuing unit printed on the report and notices.")
    ] = "",
    contact: Annotated[str, typer.Option(help="Where objections to a notice go.")] = "",
    issue_date: Annotated[
        str | None, typer.Option(help="Date of issue, YYYY-MM-DD (default: today, Beijing).")
    ] = None,
    notice_days: Annotated[int, typer.Option(help="Public notice period, days.")] = 7,
    notices: Annotated[
        bool | None,
        typer.Option(
            "--notices/--no-notices",
            help="Write the per-village public notices (公示); default: with --county only.",
        ),
    ] = None,
    source: Annotated[str, SOURCE_OPTION] = "run",
) -> None:
    """Household-by-household stability verdicts: report PDF/HTML, XLSX/CSV ledger, notices."""
    from heatwatch.report.season import run_season

    lang = _lang(lang)
    with _errors():
        pol = load_policy(policy)
        issue = _issue_info(issuer, contact, issue_date, notice_days)
        t0 = time.perf_counter()
        with _progress() as step:
            step("load")  # type: ignore[operator]
            src, reg = _season_inputs(_source(source), run, rollups, registry, county)
            res = run_season(
                src,
                reg,
                pol,
                season,
                out,
                lang,
                county,
                step=step,  # type: ignore[arg-type]
                issue=issue,
                notices=notices,
            )
        _print_season(res, time.perf_counter() - t0)


SOURCE_OPTION = typer.Option(
    help="run: a replay directory (--run/--rollups); influx: the production store "
    "(HEATWATCH_INFLUX_* settings, --registry for registry attributes)."
)


def _source(source: str) -> str:
    if source not in ("run", "influx"):
        raise typer.BadParameter("use run or influx", param_hint="--source")
    return source


def _season_inputs(
    source: str,
    run: Path | None,
    rollups: Path | None,
    registry: Path | None,
    county: str | None,
) -> tuple[RollupSource, Registry | None]:
    if source == "influx":
        inputs = influx_inputs(InfluxSettings(), registry, incidents=False, county=county)
        assert inputs.rollups is not None
        return inputs.rollups, inputs.registry
    if rollups is None and run is None:
        raise InputError("give --run DIR, or --rollups FILE (and --registry FILE)")
    rpath = rollups or _run_rollups(run)  # type: ignore[arg-type]
    reg_path = registry or (run / "registry.csv" if run else None)
    reg = load_registry(reg_path) if reg_path and (registry or reg_path.exists()) else None
    return rollup_source(rpath), reg


def _issue_info(issuer: str, contact: str, issue_date: str | None, days: int) -> IssueInfo:
    try:
        issued = date.fromisoformat(issue_date) if issue_date else None
    except ValueError:
        raise InputError(f"--issue-date must look like 2022-03-20, got {issue_date!r}") from None
    if days < 1:
        raise InputError(f"--notice-days must be at least 1, got {days}")
    return IssueInfo(issuer=issuer, contact=contact, issued_on=issued, notice_days=days)


def _print_season(res: SeasonOutputs, seconds: float) -> None:
    r = res.result
    counts = {
        v: int((r.verdict == i).sum())
        for i, v in enumerate(("eligible", "not_yet", "insufficient_data"))
    }
    console.print(
        f"{res.households} households, {res.rows} rollup rows in {seconds:.1f}s: {counts}"
    )
    if not r.fully_covered:
        console.print(
            f"[yellow]warning:[/] the data cover only {r.data_span}, not the whole season: "
            "no not_yet verdicts (see the report)",
            markup=True,
            highlight=False,
        )
    for p in res.files:
        console.print(f"  wrote {p}")


def _run_rollups(run: Path) -> Path:
    if not run.is_dir():
        raise InputError(f"run directory not found: {run}")
    for cand in ("rollups/household_days.parquet", "rollups/household_days.jsonl"):
        if (run / cand).exists():
            return run / cand
    raise InputError(
        f"no rollups in {run}: expected {run}/rollups/household_days.parquet "
        "(written by the embedded runner) or pass --rollups FILE"
    )


@app.command()
def monthly(
    month: Annotated[str, typer.Option(help="Month, e.g. 2021-12.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    run: Annotated[
        Path | None, typer.Option(help="Run directory (incidents.jsonl, rollups).")
    ] = None,
    registry: Annotated[Path | None, typer.Option(help="Registry CSV.")] = None,
    lang: Annotated[str, typer.Option(help="zh (default) or en.")] = "zh",
    source: Annotated[str, SOURCE_OPTION] = "run",
) -> None:
    """Monthly report to the Leading Group Office: HTML, PDF and CSV."""
    from heatwatch.report.monthly import run_monthly

    lang = _lang(lang)
    with _errors(), _progress() as step:
        if _source(source) == "influx":
            inputs = influx_inputs(InfluxSettings(), registry)
        elif run is None:
            raise InputError("give --run DIR (or --source influx)")
        else:
            inputs = run_dir_inputs(run, registry)
        res = run_monthly(
            month,
            inputs.incidents,
            inputs.rollups,
            inputs.registry,
            out,
            lang,
            step=step,  # type: ignore[arg-type]
        )
    for p in res:
        console.print(f"  wrote {p}")
