"""`report monthly`: the monthly operations report (月报) to the Leading Group Office.

The arithmetic is in :mod:`heatwatch.report.monthly_figures`; this module loads, lays out
and writes PDF, HTML and CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc

from heatwatch.contract.incidents import Incident
from heatwatch.report.i18n import INCIDENT_KIND, t
from heatwatch.report.ledger import write_csv
from heatwatch.report.loading import InputError, Registry, RollupSource
from heatwatch.report.monthly_figures import (
    BEIJING,
    Cell,
    CountyMonth,
    Membership,
    MonthError,
    MonthlyFigures,
    MonthWindow,
    add_rollup_sums,
    data_range,
    month_bounds,
    month_window,
    monthly_figures,
)
from heatwatch.report.render import Block, Bullets, Heading, Para, Table, to_html, write_pdf
from heatwatch.report.use_cost import monthly_use_cost_blocks

Step = Callable[[str], None]

KIND_COLUMNS = ["incidents", "households_affected", "priority_affected", "interruption_hours"]
COUNTY_COLUMNS = [
    "incidents",
    "households_affected",
    "priority_affected",
    "interruption_hours",
    "household_interruptions",
    "rollup_interruption_hours",
    "shortfall_incidents",
    "gas_households_affected",
    "peak_charging_households",
]


def compute_monthly(
    month: str,
    incidents: list[Incident],
    rollups: RollupSource | None,
    registry: Registry | None,
) -> MonthlyFigures:
    """The month's figures; raises ``InputError`` for a month outside the data."""
    try:
        month_bounds(month)
        days = rollups.day_range() if rollups is not None else None
        data = data_range(incidents, days)
        window = month_window(month, data)
    except MonthError as exc:
        raise InputError(str(exc)) from None
    members = (
        Membership.from_columns(
            registry.ids, registry.priority, registry.feeder, registry.gas_station
        )
        if registry is not None
        else Membership()
    )
    figures = monthly_figures(incidents, window, data, members)
    if days is None or rollups is None:
        return figures
    return add_rollup_sums(figures, _rollup_sums(rollups, window))


def _rollup_sums(rollups: RollupSource, w: MonthWindow) -> dict[str, tuple[int, float]]:
    first = w.covered_start.astimezone(BEIJING).date()
    last = (w.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)).date()
    tbl = rollups.read(first, last)
    if not tbl.num_rows:
        return {}
    lost = pc.add(tbl.column("outage_minutes"), tbl.column("shortfall_minutes"))
    tbl = tbl.append_column("lost", lost)
    agg = tbl.group_by("county").aggregate([("interruptions", "sum"), ("lost", "sum")])
    return {
        str(c): (int(n or 0), float(m or 0) / 60.0)
        for c, n, m in zip(
            agg.column("county").to_pylist(),
            agg.column("interruptions_sum").to_pylist(),
            agg.column("lost_sum").to_pylist(),
            strict=True,
        )
    }


def run_monthly(
    month: str,
    incidents: list[Incident],
    rollups: RollupSource | None,
    registry: Registry | None,
    out: Path,
    lang: str = "zh",
    step: Step = lambda _s: None,
    now: datetime | None = None,
) -> list[Path]:
    step("incidents")
    figures = compute_monthly(month, incidents, rollups, registry)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"monthly-{month}"
    kind_rows = kind_table(figures, lang)
    csv_path = out / f"{stem}.csv"
    write_csv(
        csv_path,
        [t(lang, "county"), t(lang, "kind"), *(t(lang, k) for k in KIND_COLUMNS)],
        [list(col) for col in zip(*kind_rows, strict=True)] if kind_rows else [[]] * 6,
    )
    title = t(lang, "monthly_title", month=month)
    blocks = monthly_blocks(figures, lang, now or datetime.now(UTC))
    last_day = (figures.window.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)).date()
    blocks += monthly_use_cost_blocks(rollups, registry, last_day, lang)  # issue 24
    html_path = out / f"{stem}.html"
    html_path.write_text(to_html(title, blocks, lang), encoding="utf-8")
    pdf_path = out / f"{stem}.pdf"
    write_pdf(pdf_path, title, blocks, lang)
    return [pdf_path, html_path, csv_path]


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _cell_values(c: Cell) -> list[str]:
    return [
        str(c.incidents),
        str(c.households_affected),
        str(c.priority_affected),
        _fmt(round(c.interruption_hours, 1)),
    ]


def kind_table(f: MonthlyFigures, lang: str) -> list[list[str]]:
    """Rows county, kind, figures; a total row per county and one for the city."""
    kinds = INCIDENT_KIND[lang]
    rows: list[list[str]] = []
    for county in sorted(f.counties):
        cm = f.counties[county]
        for kind in sorted(cm.by_kind):
            rows.append(
                [county, kinds.get(kind.value, kind.value), *_cell_values(cm.by_kind[kind])]
            )
        if cm.by_kind:
            rows.append([county, t(lang, "total"), *_cell_values(cm.total)])
    if rows:
        rows.append([t(lang, "whole_city"), t(lang, "total"), *_cell_values(f.city)])
    return rows


def _county_values(cm: CountyMonth, has_rollups: bool) -> list[str]:
    dash = "—"
    return [
        *_cell_values(cm.total),
        str(cm.household_interruptions) if has_rollups else dash,
        _fmt(round(cm.rollup_interruption_hours, 1)) if has_rollups else dash,
        str(cm.shortfall_incidents),
        str(len(cm.gas_households)),
        str(len(cm.peak_charging_households)),
    ]


def county_table(f: MonthlyFigures, lang: str) -> list[list[str]]:
    rows = [[c, *_county_values(f.counties[c], f.has_rollups)] for c in sorted(f.counties)]
    if rows:
        city = CountyMonth(total=f.city)
        for cm in f.counties.values():
            city.gas_households |= cm.gas_households
            city.peak_charging_households |= cm.peak_charging_households
            city.shortfall_incidents += cm.shortfall_incidents
            city.household_interruptions += cm.household_interruptions
            city.rollup_interruption_hours += cm.rollup_interruption_hours
        rows.append([t(lang, "whole_city"), *_county_values(city, f.has_rollups)])
    return rows


def coverage_line(w: MonthWindow, lang: str) -> str:
    last = w.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)
    span = f"{w.covered_start.astimezone(BEIJING):%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"
    if w.partial:
        return t(
            lang, "month_partial", days=f"{w.days_covered:.1f}", total=w.days_in_month, span=span
        )
    return t(lang, "month_full", total=w.days_in_month, span=span)


def monthly_blocks(f: MonthlyFigures, lang: str, now: datetime) -> list[Block]:
    w = f.window
    county_rows = county_table(f, lang)
    kind_rows = kind_table(f, lang)
    none = Para(t(lang, "no_incidents"))
    return [
        Heading(t(lang, "monthly_title", month=w.month)),
        Para(t(lang, "monthly_sub")),
        Para(
            f"{t(lang, 'generated_bj')}: {now.astimezone(BEIJING):%Y-%m-%d %H:%M}",
            small=True,
        ),
        Para(coverage_line(w, lang), small=not w.partial, warn=w.partial),
        Heading(t(lang, "monthly_summary"), 2),
        Table([t(lang, "county"), *(t(lang, k) for k in COUNTY_COLUMNS)], county_rows)
        if county_rows
        else none,
        Heading(t(lang, "incidents_by_county_kind"), 2),
        Table([t(lang, "county"), t(lang, "kind"), *(t(lang, k) for k in KIND_COLUMNS)], kind_rows)
        if kind_rows
        else none,
        Heading(t(lang, "definitions"), 2),
        Bullets([f"{t(lang, k)}: {t(lang, 'def_' + k)}" for k in COUNTY_COLUMNS]),
    ]


__all__ = ["compute_monthly", "county_table", "kind_table", "run_monthly"]
