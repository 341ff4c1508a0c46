"""The season report's summary pages: heading, coverage, criteria, tables and charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from heatwatch.report import charts
from heatwatch.report.i18n import RETROFIT, criteria_lines, retrofit_criteria_rows, t
from heatwatch.report.loading import village_name
from heatwatch.report.monthly_figures import BEIJING
from heatwatch.report.render import Block, Bullets, Heading, Image, PageBreak, Para, Table
from heatwatch.report.stability import StabilityPolicy
from heatwatch.report.stability.evaluate import GroupSummary, SeasonResult, summarise


@dataclass(frozen=True)
class IssueInfo:
    """Who issues the report and notices, when, and where objections go."""

    issuer: str = ""  # blank: a line to fill in by hand
    contact: str = ""
    issued_on: date | None = None  # None: the day it is generated (Beijing time)
    notice_days: int = 7


def coverage_days(r: SeasonResult) -> tuple[int, int]:
    """(days of the season the data span, days in the season): "数据覆盖 3/121 天"."""
    st = r.counties
    if not st.season_start:
        return 0, 0
    start, end = min(st.season_start), max(st.season_end)
    total = (end - start).days + 1
    if r.data_first is None or r.data_last is None:
        return 0, total
    lo, hi = max(start, r.data_first), min(end, r.data_last)
    return max((hi - lo).days + 1, 0), total


def draft_mark(r: SeasonResult, lang: str) -> str | None:
    """The mark every page of a partial-season report or notice carries; None when the data
    cover the whole season."""
    if r.fully_covered:
        return None
    days, total = coverage_days(r)
    return t(lang, "draft_mark", days=days, total=total)


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.1%}"


def _share(part: int, whole: int) -> str:
    return f"{part / max(whole, 1):.1%}"


def season_span(r: SeasonResult) -> str:
    st = r.counties
    if not st.season_start:
        return "—"
    return f"{min(st.season_start).isoformat()} – {max(st.season_end).isoformat()}"


def head_blocks(
    r: SeasonResult,
    policy: StabilityPolicy,
    lang: str,
    county: str | None,
    issue: IssueInfo,
    now: datetime,
) -> list[Block]:
    issued = issue.issued_on or now.astimezone(BEIJING).date()
    blocks: list[Block] = [
        Heading(t(lang, "season_title", season=r.label)),
        Para(t(lang, "season_sub")),
        Para(
            f"{t(lang, 'scope')}: {county or t(lang, 'whole_city')} · "
            f"{t(lang, 'issuer')}: {issue.issuer or t(lang, 'to_fill')} · "
            f"{t(lang, 'issue_date')}: {issued.isoformat()} · "
            f"{t(lang, 'generated_bj')}: {now.astimezone(BEIJING):%Y-%m-%d %H:%M}",
            small=True,
        ),
        coverage_para(r, lang),
        Heading(t(lang, "criteria"), 2),
        Bullets(criteria_lines(lang, policy.criteria)),
        Para(t(lang, "criteria_by_type")),
        Table(
            [t(lang, "retrofit_type"), t(lang, "evidence"), t(lang, "judged_on")],
            retrofit_criteria_rows(lang, policy, r.table.retrofits),
            widths=[1.2, 1.8, 4.0],
            wrap={1, 2},
        ),
    ]
    return blocks


def coverage_para(r: SeasonResult, lang: str) -> Para:
    if r.fully_covered:
        return Para(t(lang, "coverage_ok", span=r.data_span), small=True)
    return Para(
        t(lang, "coverage_warning", span=r.data_span, season=r.label, season_span=season_span(r)),
        warn=True,
    )


def _verdict_cells(g: GroupSummary, k: int) -> list[str]:
    n = int(g.households[k])
    return [str(n), str(g.eligible[k]), str(g.not_yet[k]), str(g.insufficient[k]),
            str(g.visit_required[k]), _share(int(g.eligible[k]), n), _pct(float(g.mean_availability[k]))]  # fmt: skip


def _verdict_headers(lang: str) -> list[str]:
    keys = ("households", "eligible", "not_yet", "insufficient_data", "visit_required",
            "eligible_share",
            "mean_availability")  # fmt: skip
    return [t(lang, k) for k in keys]


def summary_blocks(r: SeasonResult, lang: str, ledger_files: str) -> list[Block]:
    tb = r.table
    city = summarise(r, np.zeros(len(tb), np.int32), 1)
    cs = summarise(r, tb.county, len(tb.counties))
    st = r.counties
    county_rows = [
        [tb.counties[c], f"{st.season_start[c]:%m-%d} → {st.season_end[c]:%m-%d}",
         *_verdict_cells(cs, c), f"{st.saidi_h[c]:.2f}", f"{st.saifi[c]:.2f}",
         f"{st.caidi_h[c]:.2f}", str(cs.priority_not_yet[c])]
        for c in range(len(tb.counties))
    ]  # fmt: skip
    county_headers = [t(lang, "county"), t(lang, "season"), *_verdict_headers(lang),
                      *(t(lang, k) for k in ("saidi", "saifi", "caidi", "priority_not_yet"))]  # fmt: skip
    return [
        Heading(t(lang, "summary_city"), 2),
        Table(
            [*_verdict_headers(lang), t(lang, "priority"), t(lang, "priority_not_yet")],
            [[*_verdict_cells(city, 0), str(city.priority[0]), str(city.priority_not_yet[0])]],
        ),
        Para(t(lang, "ledger_note", files=ledger_files), small=True),
        Heading(t(lang, "by_county"), 2),
        Table(
            county_headers,
            county_rows,
            widths=[1.2, 1.1, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0],
        ),
        Table(
            [t(lang, "county"), t(lang, "cold_days")],
            [
                [tb.counties[c], ", ".join(f"{d:%m-%d}" for d in st.cold_days[c]) or "—"]
                for c in range(len(tb.counties))
            ],
            widths=[1, 6],
        ),
        *retrofit_blocks(r, lang),
        *village_blocks(r, lang),
    ]


def retrofit_blocks(r: SeasonResult, lang: str) -> list[Block]:
    tb = r.table
    rs = summarise(r, tb.retrofit, len(tb.retrofits))
    rtr = RETROFIT[lang]
    rows = [
        [rtr.get(name, name), *_verdict_cells(rs, k), str(rs.interruptions[k])]
        for k, name in enumerate(tb.retrofits)
    ]
    headers = [t(lang, "retrofit_type"), *_verdict_headers(lang), t(lang, "interruptions")]
    return [Heading(t(lang, "by_retrofit"), 2), Table(headers, rows)]


def village_blocks(r: SeasonResult, lang: str, limit: int = 40) -> list[Block]:
    tb = r.table
    vs = summarise(r, tb.village, len(tb.villages))
    worst = np.lexsort((-vs.households, -vs.not_yet, -vs.insufficient))
    worst = worst[(vs.not_yet[worst] + vs.insufficient[worst]) > 0]
    shown = worst[:limit]
    rows = [
        [tb.villages[v].split("\x1f")[0], village_name(tb.villages[v]), *_verdict_cells(vs, v)]
        for v in shown.tolist()
    ]
    note = t(lang, "capped", total=len(worst), shown=len(shown)) if len(worst) > limit else ""
    return [
        Heading(t(lang, "by_village"), 2),
        Table([t(lang, "county"), t(lang, "village"), *_verdict_headers(lang)], rows, note=note),
    ]


def chart_blocks(r: SeasonResult, policy: StabilityPolicy, lang: str) -> list[Block]:
    """Where is heat unreliable (county × retrofit type), and when (interruptions by month)."""
    tb = r.table
    n_c, n_r = len(tb.counties), len(tb.retrofits)
    rtr = RETROFIT[lang]
    blocks: list[Block] = [PageBreak(), Heading(t(lang, "charts"), 2)]
    if n_c and n_r:
        codes = np.where((tb.county >= 0) & (tb.retrofit >= 0), tb.county * n_r + tb.retrofit, -1)
        g = summarise(r, codes.astype(np.int32), n_c * n_r)
        png = charts.availability_matrix(
            g.mean_availability.reshape(n_c, n_r),
            g.households.reshape(n_c, n_r),
            tb.counties,
            [rtr.get(x, x) for x in tb.retrofits],
            policy.criteria.min_availability,
            t(lang, "chart_avail_matrix"),
        )
        blocks.append(Image(png, t(lang, "chart_avail_matrix")))
    png_month = charts.interruptions_by_month(
        r.month_starts,
        tb.counties,
        r.interruptions_by_month,
        t(lang, "chart_month"),
        t(lang, "chart_month_y"),
        t(lang, "month"),
        has_data=months_with_data(r.month_starts, r.data_first, r.data_last),
        no_data_label=t(lang, "chart_month_no_data"),
    )
    blocks.append(Image(png_month, t(lang, "chart_month")))
    return blocks


def months_with_data(months: list[date], first: date | None, last: date | None) -> list[bool]:
    """Which chart months overlap the days that have any rollup (``first``..``last``)."""
    if first is None or last is None:
        return [False] * len(months)
    out = []
    for m in months:
        end = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        out.append(m <= last and end > first)
    return out
