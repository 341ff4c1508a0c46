"""`report season`: load → evaluate (columnar core) → report PDF/HTML, ledger XLSX/CSV and
the per-village public notices (公示) PDF/HTML.

Layout lives in ``season_sections`` (summaries, charts) and ``season_lists`` (household
lists, notices, approval block); the ledger columns in ``season_ledger``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from heatwatch.report.i18n import t
from heatwatch.report.ledger import write_csv, write_xlsx
from heatwatch.report.loading import InputError, Registry, RollupSource, build_inputs
from heatwatch.report.monthly_figures import BEIJING
from heatwatch.report.render import Block, to_html, write_pdf
from heatwatch.report.season_ledger import (
    DATE_COLUMNS,
    PERCENT_COLUMNS,
    XLSX_WIDTHS,
    ledger_columns,
    ledger_order,
)
from heatwatch.report.season_lists import (
    HouseholdLists,
    approval_blocks,
    county_list_blocks,
    early_removal_blocks,
    notice_blocks,
)
from heatwatch.report.season_sections import (
    IssueInfo,
    chart_blocks,
    coverage_days,
    draft_mark,
    head_blocks,
    summary_blocks,
)
from heatwatch.report.stability import StabilityPolicy, evaluate_season
from heatwatch.report.stability.cost import Tariffs
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.stability.policy import parse_season_label
from heatwatch.report.use_cost import load_tariffs, use_cost_blocks

Step = Callable[[str], None]


@dataclass(frozen=True)
class SeasonOutputs:
    pdf: Path
    html: Path
    xlsx: Path
    csv: Path
    notice_pdf: Path | None
    notice_html: Path | None
    result: SeasonResult
    households: int
    rows: int
    # (days covered, season days) when notices were asked for but withheld (partial season)
    notices_withheld: tuple[int, int] | None = None

    @property
    def files(self) -> list[Path]:
        extra = [p for p in (self.notice_pdf, self.notice_html) if p is not None]
        return [self.pdf, self.html, self.xlsx, self.csv, *extra]


def season_range(policy: StabilityPolicy, label: str) -> tuple[date, date]:
    windows = [policy.season_for(label, c) for c in [*policy.season.counties, ""]]
    return min(w.start for w in windows), max(w.end for w in windows)


def _filter_registry(reg: Registry, county: str) -> Registry:
    return reg.subset([i for i, c in enumerate(reg.county) if c == county])


def load_season(
    source: RollupSource,
    registry: Registry | None,
    policy: StabilityPolicy,
    label: str,
    county: str | None,
) -> tuple[pa.Table, Registry | None]:
    parse_season_label(label)
    first, last = season_range(policy, label)
    rollups: pa.Table = source.read(first, last)
    if county:
        rollups = rollups.filter(pc.equal(rollups.column("county"), county))
        if registry is not None:
            known = sorted(set(registry.county))
            registry = _filter_registry(registry, county)
            if not registry.ids:
                raise InputError(
                    f"county {county!r} is not in the registry; known: {', '.join(known)}"
                )
    if rollups.num_rows == 0:
        where = f" for county {county}" if county else ""
        raise InputError(
            f"no daily rollups between {first} and {last}{where}: is --season {label} right, "
            "and did the runner write rollups for that season?"
        )
    return rollups, registry


def evaluate(
    source: RollupSource,
    registry: Registry | None,
    policy: StabilityPolicy,
    label: str,
    county: str | None = None,
    step: Step = lambda _s: None,
    tariffs: Tariffs | None = None,
) -> tuple[SeasonResult, int]:
    """Verdicts only (no files): the result and the number of rollup rows read."""
    rollups, registry = load_season(source, registry, policy, label, county)
    step("evaluate")
    rows, table = build_inputs(rollups, registry)
    n_rows = rollups.num_rows
    del rollups
    pa.default_memory_pool().release_unused()  # hand the Arrow buffers back before the grid
    return evaluate_season(rows, table, policy, label, tariffs or load_tariffs()), n_rows


def run_season(
    source: RollupSource,
    registry: Registry | None,
    policy: StabilityPolicy,
    label: str,
    out_dir: Path,
    lang: str = "zh",
    county: str | None = None,
    step: Step = lambda _s: None,
    issue: IssueInfo | None = None,
    now: datetime | None = None,
    notices: bool | None = None,
    notices_draft: bool = False,
    tariffs: Tariffs | None = None,
) -> SeasonOutputs:
    """``notices``: write the per-village public notices; by default only for one county
    (a county posts its villages' sheets; the whole city has ~1,700 villages). When the data
    cover less than the season no notice is written unless ``notices_draft`` asks for one:
    a notice is posted on a village wall, and a partial season gives no verdict to post.
    Every page of a partial-season report, ledger and draft notice carries the draft mark."""
    wanted = bool(county) if notices is None else notices
    step("load")
    result, n_rows = evaluate(source, registry, policy, label, county, step, tariffs)
    mark = draft_mark(result, lang)
    notices = notices_draft or (wanted and mark is None)
    withheld = coverage_days(result) if wanted and not notices else None
    issue = issue or IssueInfo()
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"stability-{label}" + (f"-{county}" if county else "")
    nstem = f"notice-{label}" + (f"-{county}" if county else "")
    paths = SeasonOutputs(
        pdf=out_dir / f"{stem}.pdf",
        html=out_dir / f"{stem}.html",
        xlsx=out_dir / f"{stem}.xlsx",
        csv=out_dir / f"{stem}.csv",
        notice_pdf=out_dir / f"{nstem}.pdf" if notices else None,
        notice_html=out_dir / f"{nstem}.html" if notices else None,
        result=result,
        households=len(result.table),
        rows=n_rows,
        notices_withheld=withheld,
    )
    order = ledger_order(result)
    write_ledgers(result, policy, lang, order, paths, step, mark)
    lists = HouseholdLists(result, policy, lang, order)
    step("charts")
    head = head_blocks(result, policy, lang, county, issue, now)
    body = [*summary_blocks(result, lang, f"{paths.xlsx.name}, {paths.csv.name}"),
            *chart_blocks(result, policy, lang)]  # fmt: skip

    def blocks(cap: int) -> list[Block]:
        return [*head, *body, *use_cost_blocks(result, lang, cap), *early_removal_blocks(lists, cap),
                *county_list_blocks(lists, cap), *approval_blocks(lang)]  # fmt: skip

    title = t(lang, "season_title", season=label)
    step("html")
    paths.html.write_text(to_html(title, blocks(policy.report.html_max_listed_per_county), lang,
                                  mark), encoding="utf-8")  # fmt: skip
    step("pdf")
    write_pdf(paths.pdf, title, blocks(policy.report.pdf_max_listed_per_county), lang, mark)
    if paths.notice_pdf is not None and paths.notice_html is not None:
        step("notices")
        issued = issue.issued_on or now.astimezone(BEIJING).date()
        notice = notice_blocks(lists, issue, issued, draft=mark is not None)
        ntitle = t(lang, "notice_doc_title", season=label)
        paths.notice_html.write_text(to_html(ntitle, notice, lang, mark), encoding="utf-8")
        write_pdf(paths.notice_pdf, ntitle, notice, lang, mark)
    return paths


def write_ledgers(
    result: SeasonResult,
    policy: StabilityPolicy,
    lang: str,
    order: object,
    paths: SeasonOutputs,
    step: Step,
    mark: str | None = None,
) -> None:
    step("ledger")
    headers, cols = ledger_columns(result, policy, lang, order)  # type: ignore[arg-type]
    write_csv(paths.csv, headers, cols)
    step("xlsx")
    sheet = "台账" if lang == "zh" else "ledger"
    write_xlsx(paths.xlsx, sheet, headers, cols, XLSX_WIDTHS, percent=PERCENT_COLUMNS,
               dates=DATE_COLUMNS, mark=mark)  # fmt: skip
