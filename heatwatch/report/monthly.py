"""`report monthly`: the monthly operations report (月报) to the Leading Group Office.

The arithmetic is in :mod:`heatwatch.report.monthly_figures`; this module loads, lays out
and writes PDF, HTML and CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract.incidents import Incident
from heatwatch.report.arithmetic import Cell, Membership, episodes_started, family_rank
from heatwatch.report.i18n import INCIDENT_KIND, KIND_FAMILY_TERMS, t
from heatwatch.report.ledger import write_csv
from heatwatch.report.loading import InputError, Registry, RollupSource
from heatwatch.report.monthly_figures import (
    BEIJING,
    CountyMonth,
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
from heatwatch.report.stability.cost import Tariffs
from heatwatch.report.use_cost import monthly_use_cost_blocks

Step = Callable[[str], None]

KIND_COLUMNS = [
    "incidents",
    "households_affected",
    "priority_affected",
    "interruption_hours",
    "incidents_by_kind",
]
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
            registry.ids,
            registry.priority,
            registry.feeder,
            registry.gas_station,
            registry.heat_station,
            registry.county,
        )
        if registry is not None
        else Membership()
    )
    figures = monthly_figures(incidents, window, data, members)
    if days is None or rollups is None:
        return figures
    return add_rollup_sums(figures, _rollup_sums(rollups, window))


def _rollup_sums(rollups: RollupSource, w: MonthWindow) -> dict[str, tuple[int, float]]:
    """County → (episodes started, lost hours) in the month's covered days. The day before
    the month is read too: an episode running on from it did not start in this month (the
    season chart counts it in the month it started, ``arithmetic.episodes_started``)."""
    first = w.covered_start.astimezone(BEIJING).date()
    last = (w.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)).date()
    tbl = rollups.read(first - timedelta(days=1), last)
    if not tbl.num_rows:
        return {}
    lost = (
        pc.add(tbl.column("outage_minutes"), tbl.column("shortfall_minutes"))
        .to_numpy(zero_copy_only=False)
        .astype(np.float64)
    )
    eps = tbl.column("interruptions").to_numpy(zero_copy_only=False).astype(np.int64)
    hh = pc.dictionary_encode(tbl.column("household_id").cast("string")).combine_chunks()
    hcode = hh.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    day = tbl.column("day").cast("date32").cast("int32").to_numpy(zero_copy_only=False)
    order = np.lexsort((day, hcode))
    lost_prev = np.zeros(len(lost))
    same = (hcode[order][1:] == hcode[order][:-1]) & (day[order][1:] == day[order][:-1] + 1)
    lost_prev[order[1:][same]] = lost[order[:-1][same]]
    started = episodes_started(lost, eps, lost_prev)
    inside = day >= (first - date(1970, 1, 1)).days
    # per county by dictionary codes (a city month is ~6 M rows: no Python loop over them)
    cty = pc.dictionary_encode(tbl.column("county").cast(pa.string())).combine_chunks()
    code = cty.indices.to_numpy(zero_copy_only=False).astype(np.int64)[inside]
    names = cty.dictionary.to_pylist()
    n_eps = np.bincount(code, weights=started[inside], minlength=len(names))
    n_lost = np.bincount(code, weights=lost[inside], minlength=len(names))
    seen = np.bincount(code, minlength=len(names))
    out: dict[str, tuple[int, float]] = {}
    for k, name in enumerate(names):
        if seen[k]:
            out[str(name)] = (int(np.rint(n_eps[k])), float(n_lost[k]) / 60.0)
    return out


def run_monthly(
    month: str,
    incidents: list[Incident],
    rollups: RollupSource | None,
    registry: Registry | None,
    out: Path,
    lang: str = "zh",
    step: Step = lambda _s: None,
    now: datetime | None = None,
    county: str | None = None,
    issuer: str = "",
    sender: str = "",
    tariffs: Tariffs | None = None,
) -> list[Path]:
    """``county``: only that county's incidents, rollups and households (a county office's
    own report); ``issuer`` (编报单位) and ``sender`` (报送人) are printed under the title."""
    step("incidents")
    if county:
        incidents, rollups, registry = _one_county(county, incidents, rollups, registry)
    figures = compute_monthly(month, incidents, rollups, registry)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"monthly-{month}" + (f"-{county}" if county else "")
    kind_rows = kind_table(figures, lang, city=not county)
    csv_path = out / f"{stem}.csv"
    write_csv(
        csv_path,
        [t(lang, "county"), t(lang, "kind"), *(t(lang, k) for k in KIND_COLUMNS)],
        [list(col) for col in zip(*kind_rows, strict=True)] if kind_rows else [[]] * 7,
    )
    title = t(lang, "monthly_title", month=month)
    blocks = monthly_blocks(figures, lang, now or datetime.now(UTC), county, issuer, sender)
    last_day = (figures.window.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)).date()
    blocks += monthly_use_cost_blocks(
        rollups, registry, last_day, lang, tariffs=tariffs
    )  # issue 24
    html_path = out / f"{stem}.html"
    html_path.write_text(to_html(title, blocks, lang), encoding="utf-8")
    pdf_path = out / f"{stem}.pdf"
    write_pdf(pdf_path, title, blocks, lang)
    return [pdf_path, html_path, csv_path]


class _CountyRollups:
    """One county's rows of a rollup source (the data range stays the source's)."""

    def __init__(self, inner: RollupSource, county: str) -> None:
        self.inner, self.county = inner, county

    def read(self, first: date, last: date) -> pa.Table:
        tbl = self.inner.read(first, last)
        return tbl.filter(pc.equal(tbl.column("county").cast(pa.string()), self.county))

    def day_range(self) -> tuple[date, date] | None:
        return self.inner.day_range()


def _one_county(
    county: str,
    incidents: list[Incident],
    rollups: RollupSource | None,
    registry: Registry | None,
) -> tuple[list[Incident], RollupSource | None, Registry | None]:
    if registry is not None:
        keep = [i for i, c in enumerate(registry.county) if c == county]
        if not keep:
            known = "、".join(sorted(set(registry.county)))
            raise InputError(f"county {county!r} is not in the registry; known: {known}")
        registry = registry.subset(keep)
    mine = [i for i in incidents if i.county == county]
    return mine, (_CountyRollups(rollups, county) if rollups is not None else None), registry


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _hours(c: Cell) -> str:
    return _fmt(round(c.interruption_hours, 1)) if c.interruption else "—"


def _cell_values(c: Cell) -> list[str]:
    return [str(c.incidents), str(c.households_affected), str(c.priority_affected), _hours(c)]


def _kinds_text(c: Cell, lang: str) -> str:
    kinds = INCIDENT_KIND[lang]
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{kinds.get(k.value, k.value)} {n}" for k, n in sorted(c.by_kind.items()))


def kind_table(f: MonthlyFigures, lang: str, city: bool = True) -> list[list[str]]:
    """Rows county, kind family, figures, incidents per kind; a total row per county and
    one for the city. Households are counted once per (county, family) and once per total."""
    families = {
        code: term if lang == "zh" else term[:1].upper() + term[1:]
        for code, term in KIND_FAMILY_TERMS[lang].items()
    }
    rows: list[list[str]] = []
    for county in sorted(f.counties):
        cm = f.counties[county]
        for fam in sorted(cm.by_family, key=lambda x: (family_rank(x), x)):
            cell = cm.by_family[fam]
            rows.append([county, families.get(fam, fam), *_cell_values(cell),
                         _kinds_text(cell, lang)])  # fmt: skip
        if cm.by_family:
            rows.append([county, t(lang, "total"), *_cell_values(cm.total), ""])
    if rows and city:
        rows.append([t(lang, "whole_city"), t(lang, "total"), *_cell_values(f.city), ""])
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


def county_table(f: MonthlyFigures, lang: str, city: bool = True) -> list[list[str]]:
    rows = [[c, *_county_values(f.counties[c], f.has_rollups)] for c in sorted(f.counties)]
    if rows and city:
        whole = CountyMonth(total=f.city)
        for cm in f.counties.values():
            whole.gas_households |= cm.gas_households
            whole.peak_charging_households |= cm.peak_charging_households
            whole.shortfall_incidents += cm.shortfall_incidents
            whole.household_interruptions += cm.household_interruptions
            whole.rollup_interruption_hours += cm.rollup_interruption_hours
        rows.append([t(lang, "whole_city"), *_county_values(whole, f.has_rollups)])
    return rows


def coverage_line(w: MonthWindow, lang: str) -> str:
    last = w.covered_end.astimezone(BEIJING) - timedelta(microseconds=1)
    span = f"{w.covered_start.astimezone(BEIJING):%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"
    if w.partial:
        return t(
            lang, "month_partial", days=f"{w.days_covered:.1f}", total=w.days_in_month, span=span
        )
    return t(lang, "month_full", total=w.days_in_month, span=span)


def monthly_blocks(
    f: MonthlyFigures,
    lang: str,
    now: datetime,
    county: str | None = None,
    issuer: str = "",
    sender: str = "",
) -> list[Block]:
    w = f.window
    county_rows = county_table(f, lang, city=not county)
    kind_rows = kind_table(f, lang, city=not county)
    none = Para(t(lang, "no_incidents"))
    return [
        Heading(t(lang, "monthly_title", month=w.month)),
        Para(t(lang, "monthly_sub")),
        Para(
            f"{t(lang, 'scope')}: {county or t(lang, 'whole_city')} · "
            f"{t(lang, 'compiled_by')}: {issuer or t(lang, 'to_fill')} · "
            f"{t(lang, 'sent_by')}: {sender or t(lang, 'to_fill')} · "
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
