"""`heatwatch report …` — a typer sub-app (mounted by the lead as `heatwatch report`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from contract.glossary import VERDICTS, label
from heatwatch.cli.common import (
    EXIT_INPUT,
    CliError,
    HeatwatchCommand,
    HeatwatchGroup,
    console,
    load_registry_or_exit,
    make_progress,
    require_influx_token,
    state,
    t,
)
from heatwatch.cli.outputs import Staged, check_run_complete, transaction
from heatwatch.cli.report_words import (
    check_month,
    check_run_dir,
    check_season,
    input_error_zh,
    policy_error_zh,
    tariff_error_zh,
)
from heatwatch.report.fonts import FontMissingError
from heatwatch.report.loading import (
    InputError,
    Registry,
    RollupSource,
    dataset_inputs,
    influx_inputs,
    load_registry,
    rollup_source,
    run_dir_inputs,
)
from heatwatch.report.season_sections import IssueInfo
from heatwatch.report.stability import PolicyError, StabilityPolicy, parse_policy
from heatwatch.report.stability.cost import TariffError, Tariffs
from heatwatch.report.use_cost import load_tariffs
from streams.settings import InfluxSettings

if TYPE_CHECKING:
    from heatwatch.report.season import SeasonOutputs

app = typer.Typer(
    cls=HeatwatchGroup,
    help="采暖季稳定性报告（先立后破）与县月报。 Season stability report and the monthly report.",
)

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "deploy" / "policy" / "stability.yaml"

STEPS = {
    "load": ("读取日汇总与登记册", "loading rollups and registry"),
    "evaluate": ("逐户评估", "evaluating households"),
    "ledger": ("写 CSV 台账", "writing CSV ledger"),
    "xlsx": ("写 XLSX 台账", "writing XLSX ledger"),
    "charts": ("绘制图表", "drawing charts"),
    "html": ("写 HTML", "writing HTML"),
    "pdf": ("写 PDF", "writing PDF"),
    "notices": ("写村级公示", "writing public notices"),
    "incidents": ("读取事件", "reading incidents"),
}


def load_tariffs_option(path: Path | None) -> Tariffs:
    """--tariffs (default deploy/policy/tariffs.yaml): a named file must exist and parse."""
    if path is not None and not path.is_file():
        raise CliError(f"找不到电价与补贴文件：{path}", f"tariffs file not found: {path}")
    try:
        return load_tariffs(path)
    except TariffError as exc:
        raise CliError(tariff_error_zh(str(exc)), f"tariffs: {exc}", EXIT_INPUT) from None


TARIFFS_OPTION = typer.Option(
    "--tariffs",
    help="电价、气价、热价与补贴 YAML（默认 deploy/policy/tariffs.yaml；其中数字为示例，须经县里确认）。 "
    "Tariffs and subsidies YAML (default deploy/policy/tariffs.yaml; its figures are examples "
    "a county must confirm).",
)


def load_policy(path: Path | None) -> StabilityPolicy:
    p = path or DEFAULT_POLICY
    if path is None and not p.exists():
        return StabilityPolicy()
    if not p.exists():
        raise CliError(f"找不到稳定性规则文件：{p}", f"policy file not found: {p}")
    return parse_policy(p.read_text(encoding="utf-8"), str(p))


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except InputError as exc:
        # The report modules word these in English; the clerk reads them in Chinese.
        raise CliError(input_error_zh(str(exc)), f"input: {exc}", EXIT_INPUT) from None
    except PolicyError as exc:
        raise CliError(policy_error_zh(str(exc)), f"policy: {exc}", EXIT_INPUT) from None
    except FontMissingError as exc:
        raise CliError(f"缺少中文字体：{exc}", f"font: {exc}", EXIT_INPUT) from None


@contextmanager
def _progress() -> Iterator[object]:
    """A spinner on a terminal; nothing when piped (the result lines say what was written)."""
    with make_progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
    ) as prog:
        task = prog.add_task(t("开始", "starting"), total=None)

        def step(name: str) -> None:
            zh, en = STEPS.get(name, (name, name))
            prog.update(task, description=t(zh, en))

        yield step
        prog.update(task, description=t("完成", "done"))


def _lang(lang: str | None) -> str:
    """The report's language: --lang of the report, else the command line's."""
    if lang is None:
        return state.lang
    if lang not in ("zh", "en"):
        raise typer.BadParameter("zh 或 en / zh or en", param_hint="--lang")
    state.lang = lang  # type: ignore[assignment]  # the report's language is the output's too
    return lang


SOURCE_OPTION = typer.Option(
    help="数据来源：run 为重放目录（--run/--rollups）；dataset 为生产路径的结果数据集（--dataset，"
    "工作进程写出）；influx 为 InfluxDB（HEATWATCH_INFLUX_* 设置，较慢）。生产路径均需 --registry。 "
    "run: a replay directory; dataset: the worker's results dataset (--dataset DIR); influx: "
    "InfluxDB (slow at city scale)."
)
DATASET_OPTION = typer.Option(
    "--dataset",
    help="结果数据集目录（工作进程的 HEATWATCH_WORKER_DATASET_DIR；可重复）。 The worker's "
    "results dataset directory (repeatable: several workers' own directories).",
)
NEW_VERSION_OPTION = typer.Option(
    "--new-version",
    help="输出目录已有报告时，写出新的一版（out/v2、out/v3……），旧版保留；不加则拒绝覆盖。 "
    "When --out already holds a report set, write the next version (out/v2, …) and keep the "
    "old one; without it, refuse to overwrite.",
)
LANG_HELP = "报告语言：zh 或 en（默认跟随 heatwatch --lang）。 Report language (default: --lang)."


@app.command(cls=HeatwatchCommand)
def season(
    season: Annotated[str, typer.Option(help="采暖季，例如 2021-2022。 Heating season.")],
    out: Annotated[Path, typer.Option(help="输出目录。 Output directory.")],
    run: Annotated[
        Path | None,
        typer.Option(
            help="运行目录（rollups/household_days.parquet、registry.csv）。 Run directory."
        ),
    ] = None,
    rollups: Annotated[
        Path | None,
        typer.Option(help="日汇总文件（.parquet/.jsonl），代替 --run。 Rollups file instead."),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="用户登记册（台账）CSV。 Registry CSV.")
    ] = None,
    county: Annotated[
        str | None, typer.Option(help="只出该县（登记册中的名称）。 Only this county.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="稳定性规则 YAML（默认 deploy/policy）。 Stability policy YAML."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help=LANG_HELP)] = None,
    tariffs: Annotated[Path | None, TARIFFS_OPTION] = None,
    issuer: Annotated[
        str, typer.Option(help="印在报告和公示上的出具单位。 Issuing unit printed on the report.")
    ] = "",
    contact: Annotated[
        str, typer.Option(help="公示异议受理方式。 Where objections to a notice go.")
    ] = "",
    issue_date: Annotated[
        str | None,
        typer.Option(help="出具日期 YYYY-MM-DD（默认今天，北京时间）。 Date of issue."),
    ] = None,
    notice_days: Annotated[
        int, typer.Option(help="公示期（天）。 Public notice period, days.")
    ] = 7,
    notices: Annotated[
        bool | None,
        typer.Option(
            "--notices/--no-notices",
            help="写出各村公示（默认仅在 --county 时）。 Per-village public notices.",
        ),
    ] = None,
    notices_draft: Annotated[
        bool,
        typer.Option(
            "--notices-draft",
            help="数据未覆盖整个采暖季时也写出公示草稿（每页标“草稿”，无文号，不得张贴）。 "
            "Write draft notices even when the data cover less than the season (marked "
            "DRAFT on every page, no document number).",
        ),
    ] = False,
    source: Annotated[str, SOURCE_OPTION] = "run",
    dataset: Annotated[list[Path] | None, DATASET_OPTION] = None,
    new_version: Annotated[bool, NEW_VERSION_OPTION] = False,
) -> None:
    """逐户稳定运行结论（可否拆除原取暖设施）：报告 PDF/HTML、XLSX/CSV 台账、村级公示。
    Household-by-household stability verdicts: report, ledger and public notices."""
    from heatwatch.report.season import run_season

    lang = _lang(lang)
    check_season(season)
    if run is not None and rollups is None and source == "run":
        check_run_dir(run)
        check_run_complete(run)
    _check_registry(registry or (run / "registry.csv" if run is not None else None))
    with _errors():
        pol = load_policy(policy)
        tar = load_tariffs_option(tariffs)
        issue = _issue_info(issuer, contact, issue_date, notice_days)
    t0 = time.perf_counter()
    with transaction(out, "report", new_version=new_version) as staged, _errors():
        with _progress() as step:
            step("load")  # type: ignore[operator]
            src, reg = _season_inputs(_source(source), run, rollups, registry, county, dataset)
            res = run_season(
                src,
                reg,
                pol,
                season,
                staged.staging,
                lang,
                county,
                step=step,  # type: ignore[arg-type]
                issue=issue,
                notices=notices,
                notices_draft=notices_draft,
                tariffs=tar,
            )
        staged.counts = {"report": "season", "season": season, "households": res.households}
    _print_season(res, time.perf_counter() - t0, staged)


def _source(source: str) -> str:
    if source not in ("run", "dataset", "influx"):
        raise typer.BadParameter(
            "run、dataset 或 influx / run, dataset or influx", param_hint="--source"
        )
    return source


def _dataset_dirs(dataset: list[Path] | None) -> list[Path]:
    if not dataset:
        raise CliError(
            "--source dataset 需要 --dataset 目录（工作进程的 HEATWATCH_WORKER_DATASET_DIR）。",
            "--source dataset needs --dataset DIR (the worker's HEATWATCH_WORKER_DATASET_DIR).",
        )
    return dataset


def _influx_settings() -> InfluxSettings:
    """``HEATWATCH_INFLUX_*``; the report's own (read-only) token must be set."""
    settings = InfluxSettings()
    require_influx_token(settings)
    return settings


def _season_inputs(
    source: str,
    run: Path | None,
    rollups: Path | None,
    registry: Path | None,
    county: str | None,
    dataset: list[Path] | None = None,
) -> tuple[RollupSource, Registry | None]:
    if source == "dataset":
        inputs = dataset_inputs(_dataset_dirs(dataset), registry, incidents=False)
        assert inputs.rollups is not None
        return inputs.rollups, inputs.registry
    if source == "influx":
        inputs = influx_inputs(_influx_settings(), registry, incidents=False, county=county)
        assert inputs.rollups is not None
        return inputs.rollups, inputs.registry
    if rollups is None and run is None:
        raise CliError(
            "请给出 --run 运行目录，或 --rollups 日汇总文件（及 --registry 登记册）。",
            "give --run DIR, or --rollups FILE (and --registry FILE).",
        )
    rpath = rollups or _run_rollups(run)  # type: ignore[arg-type]
    reg_path = registry or (run / "registry.csv" if run else None)
    reg = load_registry(reg_path) if reg_path and (registry or reg_path.exists()) else None
    return rollup_source(rpath), reg


def _issue_info(issuer: str, contact: str, issue_date: str | None, days: int) -> IssueInfo:
    try:
        issued = date.fromisoformat(issue_date) if issue_date else None
    except ValueError:
        raise CliError(
            f"--issue-date 应形如 2022-03-20，收到 {issue_date!r}",
            f"--issue-date must look like 2022-03-20, got {issue_date!r}",
        ) from None
    if days < 1:
        raise CliError(
            f"--notice-days 至少为 1，收到 {days}", f"--notice-days must be at least 1, got {days}"
        )
    return IssueInfo(issuer=issuer, contact=contact, issued_on=issued, notice_days=days)


def _print_version(staged: Staged) -> None:
    if staged.version > 1:
        console.print(
            t(
                f"第 {staged.version} 版，写到 {staged.target}（此前各版保留不变）：",
                f"version {staged.version}, written to {staged.target} (earlier versions kept):",
            ),
            highlight=False,
            soft_wrap=True,
        )


def _print_season(res: SeasonOutputs, seconds: float, staged: Staged) -> None:
    r = res.result
    counts = [
        (code, int((r.verdict == i).sum()))
        for i, code in enumerate(("eligible", "not_yet", "insufficient_data", "visit_required"))
    ]
    console.print(
        t(
            f"{res.households:,} 户、{res.rows:,} 行日汇总，用时 {seconds:.1f} 秒：",
            f"{res.households:,} households, {res.rows:,} rollup rows in {seconds:.1f} s: ",
        )
        + t("，", ", ").join(
            f"{label(VERDICTS, code, state.lang)} {n:,}" + t(" 户", "") for code, n in counts
        ),
        highlight=False,
        soft_wrap=True,
    )
    if not r.fully_covered:
        console.print(
            t(
                f"[yellow]注意：[/]数据只覆盖 {r.data_span}，不是整个采暖季：不给出“暂不拆除”结论（见报告）",
                f"[yellow]warning:[/] the data cover only {r.data_span}, not the whole season: "
                "no not_yet verdicts (see the report)",
            ),
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    if res.notices_withheld is not None:
        from heatwatch.report.i18n import t as report_t

        days, total = res.notices_withheld
        console.print(
            "[yellow]" + report_t(state.lang, "notices_withheld", days=days, total=total) + "[/]",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    _print_version(staged)
    _print_written(*(staged.final(p) for p in res.files))


def _print_written(*paths: Path) -> None:
    for p in paths:
        console.print(t(f"  已写出 {p}", f"  wrote {p}"), highlight=False, soft_wrap=True)


def _check_registry(path: Path | None) -> None:
    """A registry the report will read is checked by the command line's loader first, so its
    problems are said as for replay (line, column, what was found and is accepted)."""
    if path is not None and path.is_file():
        load_registry_or_exit(path)


def _run_rollups(run: Path) -> Path:
    check_run_dir(run)
    for cand in ("rollups/household_days.parquet", "rollups/household_days.jsonl"):
        if (run / cand).exists():
            return run / cand
    raise CliError(
        f"{run} 中没有日汇总：应有 {run}/rollups/household_days.parquet（由 heatwatch replay "
        "写出），或用 --rollups 指定文件。",
        f"no rollups in {run}: expected {run}/rollups/household_days.parquet "
        "(written by heatwatch replay) or pass --rollups FILE.",
    )


@app.command(cls=HeatwatchCommand)
def monthly(
    month: Annotated[str, typer.Option(help="月份，例如 2021-12。 Month.")],
    out: Annotated[Path, typer.Option(help="输出目录。 Output directory.")],
    run: Annotated[
        Path | None,
        typer.Option(help="运行目录（incidents.jsonl、日汇总）。 Run directory."),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="用户登记册（台账）CSV。 Registry CSV.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help=LANG_HELP)] = None,
    county: Annotated[
        str | None, typer.Option(help="只出该县（登记册中的名称）。 Only this county.")
    ] = None,
    issuer: Annotated[
        str, typer.Option(help="编报单位，印在月报上。 Unit that compiles the report.")
    ] = "",
    sender: Annotated[
        str,
        typer.Option(help="报送人及联系方式，印在月报上。 Who sends it, and how to reach them."),
    ] = "",
    tariffs: Annotated[Path | None, TARIFFS_OPTION] = None,
    source: Annotated[str, SOURCE_OPTION] = "run",
    dataset: Annotated[list[Path] | None, DATASET_OPTION] = None,
    new_version: Annotated[bool, NEW_VERSION_OPTION] = False,
) -> None:
    """给领导小组办公室的县月报：HTML、PDF、CSV。 Monthly report to the Leading Group
    Office: HTML, PDF and CSV."""
    from heatwatch.report.monthly import run_monthly

    lang = _lang(lang)
    check_month(month)
    if source == "run" and run is not None:
        check_run_dir(run)
        check_run_complete(run)
    _check_registry(registry or (run / "registry.csv" if run is not None else None))
    tar = load_tariffs_option(tariffs)
    with (
        transaction(out, "report", new_version=new_version) as staged,
        _errors(),
        _progress() as step,
    ):
        src = _source(source)
        if src == "dataset":
            inputs = dataset_inputs(_dataset_dirs(dataset), registry)
        elif src == "influx":
            inputs = influx_inputs(_influx_settings(), registry)
        elif run is None:
            raise CliError(
                "请给出 --run 运行目录（或 --source influx）。",
                "give --run DIR (or --source influx).",
            )
        else:
            inputs = run_dir_inputs(run, registry)
        res = run_monthly(
            month,
            inputs.incidents,
            inputs.rollups,
            inputs.registry,
            staged.staging,
            lang,
            step=step,  # type: ignore[arg-type]
            county=county,
            issuer=issuer,
            sender=sender,
            tariffs=tar,
        )
        staged.counts = {"report": "monthly", "month": month}
    _print_version(staged)
    _print_written(*(staged.final(p) for p in res))
