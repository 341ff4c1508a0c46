"""`report monthly`: the monthly operations report (月报) to the Leading Group Office."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.compute as pc

from heatwatch.contract.incidents import Incident, IncidentKind
from heatwatch.report.i18n import INCIDENT_KIND, t
from heatwatch.report.ledger import write_csv
from heatwatch.report.loading import InputError, load_incidents, rollup_source
from heatwatch.report.render import Block, Heading, Para, Table, to_html, write_pdf

CST = timezone(timedelta(hours=8))
INTERRUPTION_KINDS = {IncidentKind.HOUSEHOLD_OUTAGE, IncidentKind.GAS_LOW_PRESSURE}


def month_bounds(month: str) -> tuple[datetime, datetime]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(f"--month must look like 2021-12, got {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    start = datetime(y, mo, 1, tzinfo=CST)
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=CST)
    return start, end


def _overlap_h(inc: Incident, start: datetime, end: datetime) -> float:
    s = max(inc.started_at, start)
    e = min(inc.ended_at or end, end)
    return max((e - s).total_seconds(), 0.0) / 3600.0


def run_monthly(
    month: str,
    run: Path,
    out: Path,
    lang: str = "zh",
    step: Callable[[str], None] = lambda _s: None,
) -> list[Path]:
    start, end = month_bounds(month)
    if not run.is_dir():
        raise InputError(f"run directory not found: {run}")
    step("incidents")
    incidents = [
        i
        for i in load_incidents(run / "incidents.jsonl")
        if i.started_at < end and (i.ended_at is None or i.ended_at > start)
    ]
    by_ck: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    county: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    peak: dict[str, set[str]] = defaultdict(set)
    for inc in incidents:
        row = by_ck[(inc.county, inc.kind.value)]
        row["incidents"] += 1
        row["households_affected"] += inc.households_affected
        row["priority_affected"] += inc.priority_households
        c = county[inc.county]
        c["incidents"] += 1
        if inc.parent_id is None:  # children are inside their parent's count
            c["households_affected"] += inc.households_affected
            c["priority_affected"] += inc.priority_households
        if inc.kind in INTERRUPTION_KINDS:
            h = _overlap_h(inc, start, end)
            row["interruption_hours"] += h
            c["interruptions"] += 1
            c["interruption_hours"] += h
        if inc.kind is IncidentKind.GAS_SUPPLY_SHORTFALL:
            c["shortfall_incidents"] += 1
            c["gas_households_affected"] += inc.households_affected
        if inc.kind is IncidentKind.PEAK_CHARGING:
            peak[inc.county].add(inc.entity_id)
    for cn, ids in peak.items():
        county[cn]["peak_charging_households"] = len(ids)

    # Household interruptions from the daily rollups, when the run has them.
    roll = None
    for cand in ("rollups/household_days.parquet", "rollups/household_days.jsonl"):
        if (run / cand).exists():
            roll = run / cand
            break
    if roll is not None:
        step("load")
        last = (end - timedelta(days=1)).date()
        tbl = rollup_source(roll).read(start.date(), last)
        if tbl.num_rows:
            lost = pc.add(tbl.column("outage_minutes"), tbl.column("shortfall_minutes"))
            tbl = tbl.append_column("lost", lost)
            agg = tbl.group_by("county").aggregate([("interruptions", "sum"), ("lost", "sum")])
            for cn, n, lm in zip(
                agg.column("county").to_pylist(),
                agg.column("interruptions_sum").to_pylist(),
                agg.column("lost_sum").to_pylist(),
                strict=True,
            ):
                county[cn]["household_interruptions"] = float(n or 0)
                county[cn]["rollup_interruption_hours"] = float(lm or 0) / 60.0

    out.mkdir(parents=True, exist_ok=True)
    stem = f"monthly-{month}"
    kinds = INCIDENT_KIND[lang]
    ck_keys = ["incidents", "households_affected", "priority_affected", "interruption_hours"]
    ck_rows = [
        [cn, kinds.get(k, k), *(_fmt(by_ck[(cn, k)][m]) for m in ck_keys)]
        for cn, k in sorted(by_ck)
    ]
    c_keys = [
        "incidents", "households_affected", "priority_affected", "interruptions",
        "interruption_hours", "household_interruptions", "shortfall_incidents",
        "gas_households_affected", "peak_charging_households",
    ]  # fmt: skip
    c_headers = [t(lang, k) for k in c_keys]
    c_rows = [[cn, *(_fmt(county[cn].get(k, 0.0)) for k in c_keys)] for cn in sorted(county)]
    if c_rows:
        c_rows.append(
            [
                t(lang, "total"),
                *(_fmt(sum(county[cn].get(k, 0.0) for cn in county)) for k in c_keys),
            ]
        )

    csv_path = out / f"{stem}.csv"
    write_csv(
        csv_path,
        [t(lang, "county"), t(lang, "kind")] + [t(lang, k) for k in ck_keys],
        [list(col) for col in zip(*ck_rows, strict=True)] if ck_rows else [[] for _ in range(6)],
    )
    title = t(lang, "monthly_title", month=month)
    blocks: list[Block] = [
        Heading(title),
        Para(t(lang, "monthly_sub")),
        Para(
            f"{t(lang, 'generated')}: {datetime.now(UTC).astimezone(CST):%Y-%m-%d %H:%M} · "
            f"{start:%Y-%m-%d} – {(end - timedelta(days=1)):%Y-%m-%d}",
            small=True,
        ),
        Heading(t(lang, "monthly_summary"), 2),
        Table([t(lang, "county"), *c_headers], c_rows) if c_rows else Para(t(lang, "no_incidents")),
        Heading(t(lang, "incidents_by_county_kind"), 2),
        Table([t(lang, "county"), t(lang, "kind")] + [t(lang, k) for k in ck_keys], ck_rows)
        if ck_rows
        else Para(t(lang, "no_incidents")),
    ]
    html_path = out / f"{stem}.html"
    html_path.write_text(to_html(title, blocks, lang), encoding="utf-8")
    pdf_path = out / f"{stem}.pdf"
    write_pdf(pdf_path, title, blocks, lang)
    return [pdf_path, html_path, csv_path]


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


__all__ = ["month_bounds", "run_monthly"]
