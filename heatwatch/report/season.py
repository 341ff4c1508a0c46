"""`report season`: load → evaluate (columnar core) → PDF, HTML, XLSX, CSV."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heatwatch.report import charts
from heatwatch.report.i18n import PRIORITY, RETROFIT, criteria_lines, t
from heatwatch.report.ledger import write_csv, write_xlsx
from heatwatch.report.loading import (
    InputError,
    Registry,
    RollupSource,
    build_inputs,
    village_name,
)
from heatwatch.report.render import (
    Block,
    Bullets,
    Heading,
    Image,
    PageBreak,
    Para,
    Table,
    to_html,
    write_pdf,
)
from heatwatch.report.stability import StabilityPolicy, evaluate_season
from heatwatch.report.stability.columns import NO_DATE, from_day_number
from heatwatch.report.stability.evaluate import SeasonResult, summarise
from heatwatch.report.stability.policy import parse_season_label
from heatwatch.report.stability.reasons import (
    VERDICT_ORDER,
    Verdict,
    reason_codes,
    reason_text,
    reason_texts,
    reasons_in,
    verdict_text,
)

Step = Callable[[str], None]


@dataclass(frozen=True)
class SeasonOutputs:
    pdf: Path
    html: Path
    xlsx: Path
    csv: Path
    result: SeasonResult
    households: int
    rows: int


def season_range(policy: StabilityPolicy, label: str) -> tuple[date, date]:
    windows = [policy.season_for(label, c) for c in [*policy.season.counties, ""]]
    return min(w.start for w in windows), max(w.end for w in windows)


def _filter_registry(reg: Registry, county: str) -> Registry:
    return reg.subset([i for i, c in enumerate(reg.county) if c == county])


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.1%}"


def run_season(
    source: RollupSource,
    registry: Registry | None,
    policy: StabilityPolicy,
    label: str,
    out_dir: Path,
    lang: str = "zh",
    county: str | None = None,
    step: Step = lambda _s: None,
) -> SeasonOutputs:
    parse_season_label(label)
    first, last = season_range(policy, label)
    step("load")
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
    rows, table = build_inputs(rollups, registry)
    n_rows = rollups.num_rows
    del rollups
    pa.default_memory_pool().release_unused()  # hand the Arrow buffers back before the grid
    step("evaluate")
    result = evaluate_season(rows, table, policy, label)
    del rows
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"stability-{label}" + (f"-{county}" if county else "")
    paths = SeasonOutputs(
        pdf=out_dir / f"{stem}.pdf",
        html=out_dir / f"{stem}.html",
        xlsx=out_dir / f"{stem}.xlsx",
        csv=out_dir / f"{stem}.csv",
        result=result,
        households=len(table),
        rows=n_rows,
    )
    step("ledger")
    order = ledger_order(result)
    headers, cols = ledger_columns(result, policy, lang, order)
    write_csv(paths.csv, headers, cols)
    step("xlsx")
    widths = [16, 10, 14, 16, 10, 12, 60, 30] + [11] * (len(headers) - 8)
    write_xlsx(paths.xlsx, "台账" if lang == "zh" else "ledger", headers, cols, widths)
    del cols
    step("charts")
    blocks = season_blocks(result, policy, lang, county, order, paths)
    step("html")
    title = t(lang, "season_title", season=label)
    paths.html.write_text(
        to_html(title, blocks(policy.report.html_max_listed_per_county), lang), encoding="utf-8"
    )
    step("pdf")
    write_pdf(paths.pdf, title, blocks(policy.report.pdf_max_listed_per_county), lang)
    return paths


_VERDICT_RANK = np.array(
    [
        {Verdict.NOT_YET: 0, Verdict.INSUFFICIENT_DATA: 1, Verdict.ELIGIBLE: 2}[v]
        for v in VERDICT_ORDER
    ]
)


def ledger_order(r: SeasonResult) -> np.ndarray:
    """County, then priority households first, then not_yet → insufficient → eligible, id."""
    tb = r.table
    id_rank = np.argsort(np.argsort(np.asarray(tb.ids, dtype=object)))
    return np.lexsort((id_rank, tb.village, _VERDICT_RANK[r.verdict], ~tb.is_priority, tb.county))


def _reasons_for(r: SeasonResult, i: int, policy: StabilityPolicy, lang: str) -> str:
    vals = r.values_for(i, policy)
    sep = "；" if lang == "zh" else "; "
    return sep.join(reason_text(x, vals, lang) for x in reasons_in(int(r.reasons[i])))


def ledger_columns(
    r: SeasonResult, policy: StabilityPolicy, lang: str, order: np.ndarray
) -> tuple[list[str], list[Sequence[object]]]:
    tb = r.table
    o = order
    keys = [
        "household_id",
        "county",
        "village",
        "retrofit_type",
        "priority",
        "verdict",
        "reasons",
        "reason_codes",
        "season_days",
        "days_with_data",
        "coverage",
        "availability",
        "cold_availability",
        "interruptions",
        "long_interruptions",
        "longest_h",
        "gas_shortfall_h",
        "old_heating_present",
        "retrofit_completed",
        "lat",
        "lon",
    ]
    headers = [t(lang, k) if lang == "zh" else k for k in keys]

    def rnd(a: np.ndarray, nd: int) -> list[object]:
        v = np.round(a[o].astype(np.float64), nd)
        return [None if x != x else x for x in v.tolist()]

    yes, no = t(lang, "yes"), t(lang, "no")
    ohp: dict[int, object] = {1: yes, 0: no, -1: None}
    rtr = RETROFIT[lang]
    pri = PRIORITY[lang]
    vtext = [verdict_text(v, lang) for v in VERDICT_ORDER]
    counties = [tb.counties[c] if c >= 0 else "" for c in tb.county[o].tolist()]
    villages = [village_name(tb.villages[v]) if v >= 0 else "" for v in tb.village[o].tolist()]
    oi = o.tolist()
    mask_cache: dict[int, str] = {}
    codes: list[object] = []
    for m in r.reasons[o].tolist():
        if m not in mask_cache:
            mask_cache[m] = " ".join(reason_codes(m))
        codes.append(mask_cache[m])
    comp_days, comp_inv = np.unique(tb.retrofit_completed[o], return_inverse=True)
    comp_labels = [
        from_day_number(d).isoformat() if d != NO_DATE else None for d in comp_days.tolist()
    ]
    comp: list[object] = [comp_labels[k] for k in comp_inv.reshape(-1).tolist()]
    cols: list[Sequence[object]] = [
        [tb.ids[i] for i in oi],
        list(counties),
        list(villages),
        [rtr.get(tb.retrofits[x], tb.retrofits[x]) for x in tb.retrofit[o].tolist()],
        [pri.get(tb.priorities[x], tb.priorities[x]) or None for x in tb.priority[o].tolist()],
        [vtext[v] for v in r.verdict[o].tolist()],
        reason_texts(r.reasons[o].tolist(), r.values_columns(policy, o), lang),
        codes,
        r.season_days[o].tolist(),
        r.days_with_data[o].tolist(),
        rnd(r.coverage, 4),
        rnd(r.availability, 4),
        rnd(r.cold_availability, 4),
        r.interruptions[o].tolist(),
        r.long_interruptions[o].tolist(),
        rnd(r.longest_h, 2),
        rnd(r.gas_shortfall_h, 2),
        [ohp[x] for x in tb.old_heating_present[o].tolist()],
        comp,
        rnd(tb.lat, 5),
        rnd(tb.lon, 5),
    ]
    return headers, cols


def season_blocks(
    r: SeasonResult,
    policy: StabilityPolicy,
    lang: str,
    county: str | None,
    order: np.ndarray,
    paths: SeasonOutputs,
) -> Callable[[int], list[Block]]:
    """Builds the charts once; returns a function giving the blocks for a list cap."""
    tb = r.table
    crit = policy.criteria
    n_c = len(tb.counties)
    rtr = RETROFIT[lang]
    pri = PRIORITY[lang]
    ec = tb.county

    head: list[Block] = [
        Heading(t(lang, "season_title", season=r.label)),
        Para(t(lang, "season_sub")),
        Para(
            f"{t(lang, 'scope')}: {county or t(lang, 'whole_city')} · "
            f"{t(lang, 'generated')}: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M')}",
            small=True,
        ),
        Heading(t(lang, "criteria"), 2),
        Bullets(criteria_lines(lang, crit)),
    ]
    # City summary
    city = summarise(r, np.zeros(len(tb), np.int32), 1)
    n = int(city.households[0]) or 1
    head += [
        Heading(t(lang, "summary_city"), 2),
        Table(
            [
                t(lang, "households"),
                t(lang, "eligible"),
                t(lang, "not_yet"),
                t(lang, "insufficient_data"),
                t(lang, "eligible_share"),
                t(lang, "mean_availability"),
                t(lang, "priority"),
                t(lang, "priority_not_yet"),
            ],
            [
                [
                    str(city.households[0]),
                    str(city.eligible[0]),
                    str(city.not_yet[0]),
                    str(city.insufficient[0]),
                    f"{city.eligible[0] / n:.1%}",
                    _pct(city.mean_availability[0]),
                    str(city.priority[0]),
                    str(city.priority_not_yet[0]),
                ]
            ],
        ),
        Para(t(lang, "ledger_note", files=f"{paths.xlsx.name}, {paths.csv.name}"), small=True),
    ]
    # By county
    cs = summarise(r, ec, n_c)
    st = r.counties
    county_rows = []
    for c in range(n_c):
        hh = int(cs.households[c]) or 1
        county_rows.append(
            [
                tb.counties[c],
                f"{st.season_start[c]:%m-%d} → {st.season_end[c]:%m-%d}",
                str(cs.households[c]),
                str(cs.eligible[c]),
                str(cs.not_yet[c]),
                str(cs.insufficient[c]),
                f"{cs.eligible[c] / hh:.1%}",
                _pct(cs.mean_availability[c]),
                f"{st.saidi_h[c]:.2f}",
                f"{st.saifi[c]:.2f}",
                f"{st.caidi_h[c]:.2f}",
                str(cs.priority_not_yet[c]),
            ]
        )
    head += [
        Heading(t(lang, "by_county"), 2),
        Table(
            [
                t(lang, k)
                for k in (
                    "county",
                    "season",
                    "households",
                    "eligible",
                    "not_yet",
                    "insufficient_data",
                    "eligible_share",
                    "mean_availability",
                    "saidi",
                    "saifi",
                    "caidi",
                    "priority_not_yet",
                )
            ],
            county_rows,
            widths=[1.2, 1.3, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0],
        ),
    ]
    cold_rows = [
        [tb.counties[c], ", ".join(f"{d:%m-%d}" for d in st.cold_days[c]) or "—"]
        for c in range(n_c)
    ]
    head += [Table([t(lang, "county"), t(lang, "cold_days")], cold_rows, widths=[1, 6])]
    # By retrofit type
    rs = summarise(r, tb.retrofit, len(tb.retrofits))
    head += [
        Heading(t(lang, "by_retrofit"), 2),
        Table(
            [
                t(lang, k)
                for k in (
                    "retrofit_type",
                    "households",
                    "eligible",
                    "not_yet",
                    "insufficient_data",
                    "eligible_share",
                    "mean_availability",
                    "interruptions",
                )
            ],
            [
                [
                    rtr.get(name, name),
                    str(rs.households[k]),
                    str(rs.eligible[k]),
                    str(rs.not_yet[k]),
                    str(rs.insufficient[k]),
                    f"{rs.eligible[k] / max(int(rs.households[k]), 1):.1%}",
                    _pct(rs.mean_availability[k]),
                    str(rs.interruptions[k]),
                ]
                for k, name in enumerate(tb.retrofits)
            ],
        ),
    ]
    # Villages
    vs = summarise(r, tb.village, len(tb.villages))
    worst = np.lexsort((-vs.households, -vs.not_yet))
    worst = worst[vs.not_yet[worst] > 0][:40]
    vrows = [
        [
            tb.villages[v].split("\x1f")[0],
            village_name(tb.villages[v]),
            str(vs.households[v]),
            str(vs.eligible[v]),
            str(vs.not_yet[v]),
            str(vs.insufficient[v]),
            _pct(vs.mean_availability[v]),
        ]
        for v in worst.tolist()
    ]
    n_bad_v = int((vs.not_yet > 0).sum())
    head += [
        Heading(t(lang, "by_village"), 2),
        Table(
            [
                t(lang, k)
                for k in (
                    "county",
                    "village",
                    "households",
                    "eligible",
                    "not_yet",
                    "insufficient_data",
                    "mean_availability",
                )
            ],
            vrows,
            note=t(lang, "capped", total=n_bad_v, shown=len(vrows)) if n_bad_v > len(vrows) else "",
        ),
    ]
    # Charts
    png_hist = charts.availability_histogram(
        r.availability, crit.min_availability, t(lang, "chart_hist"), t(lang, "households")
    )
    png_month = charts.interruptions_by_month(
        r.month_starts,
        tb.counties,
        r.interruptions_by_month,
        t(lang, "chart_month"),
        t(lang, "interruptions"),
    )
    nv = len(tb.villages)
    vi = tb.village
    has = ~np.isnan(tb.lat) & ~np.isnan(tb.lon)
    vn = np.bincount(vi[has], minlength=nv)
    vlat = np.bincount(vi[has], weights=tb.lat[has], minlength=nv) / np.maximum(vn, 1)
    vlon = np.bincount(vi[has], weights=tb.lon[has], minlength=nv) / np.maximum(vn, 1)
    vlat[vn == 0] = np.nan
    vlon[vn == 0] = np.nan
    share = vs.not_yet / np.maximum(vs.households, 1)
    blocks_charts: list[Block] = [
        PageBreak(),
        Heading(t(lang, "charts"), 2),
        Image(png_hist, t(lang, "chart_hist")),
        Image(png_month, t(lang, "chart_month")),
    ]
    if int(has.sum()):
        png_map = charts.village_map(
            vlon,
            vlat,
            vs.households.astype(np.float64),
            share,
            t(lang, "chart_map"),
            t(lang, "share_not_yet"),
        )
        blocks_charts.append(Image(png_map, t(lang, "chart_map"), width_frac=0.8))

    # Lists
    not_yet_code = VERDICT_ORDER.index(Verdict.NOT_YET)
    ordered_not_yet = order[r.verdict[order] == not_yet_code]
    early = order[(tb.old_heating_present[order] == 0) & (r.verdict[order] != 0)]

    def hh_row(i: int) -> list[str]:
        return [
            tb.ids[i],
            village_name(tb.villages[tb.village[i]]),
            rtr.get(tb.retrofits[tb.retrofit[i]], ""),
            pri.get(tb.priorities[tb.priority[i]], ""),
            _reasons_for(r, i, policy, lang),
        ]

    list_headers = [
        t(lang, k) for k in ("household_id", "village", "retrofit_type", "priority", "reasons")
    ]
    widths = [1.3, 1.2, 1.3, 0.8, 6.0]

    def build(cap: int) -> list[Block]:
        out: list[Block] = [*head, *blocks_charts, PageBreak()]
        if len(early):
            shown = early[:cap]
            out += [
                Heading(t(lang, "removed_early"), 2),
                Table(
                    [t(lang, "county"), *list_headers],
                    [[tb.counties[tb.county[i]], *hh_row(i)] for i in shown.tolist()],
                    widths=[1.0, *widths],
                    note=t(lang, "capped", total=len(early), shown=len(shown))
                    if len(early) > len(shown)
                    else "",
                ),
            ]
        out.append(Heading(t(lang, "not_yet_list"), 2))
        for c in range(n_c):
            members = ordered_not_yet[ec[ordered_not_yet] == c]
            out.append(
                Heading(
                    f"{tb.counties[c]}（{len(members)}）"
                    if lang == "zh"
                    else f"{tb.counties[c]} ({len(members)})",
                    3,
                )
            )
            if not len(members):
                out.append(Para(t(lang, "none_listed"), small=True))
                continue
            shown = members[:cap]
            out.append(
                Table(
                    list_headers,
                    [hh_row(i) for i in shown.tolist()],
                    widths=widths,
                    wrap={4},
                    note=t(lang, "capped", total=len(members), shown=len(shown))
                    if len(members) > len(shown)
                    else "",
                )
            )
        return out

    return build
