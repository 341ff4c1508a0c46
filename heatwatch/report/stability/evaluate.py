"""Columnar season evaluation: rollup rows → one verdict per household.

Everything is numpy over a dense household × season-day grid (191,634 × 121 cells for the
whole city ≈ 93 MB per float32 metric), so there is no Python loop over households or days.

Interruptions are reconstructed from the daily minutes: a day's ``interruptions`` episodes
share its outage + shortfall minutes equally; the *last* episode of a day carries on into
the following days while those days have lost minutes but no new episode (a run across
midnight). A missing day ends a run. This is exact for the common cases (one episode a day,
multi-day outages) and an estimate otherwise — documented in docs/stability-report.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from heatwatch.report.stability.columns import (
    F64,
    I32,
    NO_DATE,
    B,
    HouseholdTable,
    RollupColumns,
    day_number,
    from_day_number,
)
from heatwatch.report.stability.policy import StabilityPolicy, parse_season_label
from heatwatch.report.stability.reasons import (
    DATA_REASONS,
    FAILURE_REASONS,
    VERDICT_ORDER,
    Reason,
    Verdict,
)

I8 = np.ndarray[tuple[int], np.dtype[np.int8]]


@dataclass(frozen=True)
class CountyStats:
    """Per-county season facts and reliability indices (arrays indexed by county code)."""

    season_start: list[date]
    season_end: list[date]
    cold_days: list[list[date]]
    households: I32
    saidi_h: F64  # customer interruption hours / households served
    saifi: F64  # interruptions / households served
    caidi_h: F64  # SAIDI / SAIFI (mean interruption length, h)
    asai: F64  # availability: available minutes / known minutes


@dataclass(frozen=True)
class SeasonResult:
    """Per-household results (index = household code in ``table``)."""

    label: str
    table: HouseholdTable
    grid_start: date
    verdict: I8  # index into VERDICT_ORDER
    reasons: I32  # Reason bit mask
    season_days: I32
    days_with_data: I32
    coverage: F64
    availability: F64  # NaN: no known minutes
    interruptions: I32
    long_interruptions: I32
    longest_h: F64
    lost_h: F64  # outage + shortfall hours
    gas_shortfall_h: F64
    cold_days_with_data: I32
    cold_availability: F64  # NaN: not evaluable
    counties: CountyStats
    month_starts: list[date]  # months touched by any county's season
    interruptions_by_month: np.ndarray  # (n_counties, n_months) episodes started
    data_first: date | None = None  # first and last day with any rollup in the season
    data_last: date | None = None
    season_covered: B = field(default_factory=lambda: np.zeros(0, np.bool_))  # per county

    @property
    def data_span(self) -> str:
        if self.data_first is None or self.data_last is None:
            return "—"
        return f"{self.data_first.isoformat()} – {self.data_last.isoformat()}"

    @property
    def fully_covered(self) -> bool:
        """The data span every county's whole season (no coverage warning needed)."""
        return bool(self.season_covered.all()) if len(self.season_covered) else False

    def verdict_of(self, i: int) -> Verdict:
        return VERDICT_ORDER[int(self.verdict[i])]

    def verdict_mask(self, v: Verdict) -> B:
        out: B = self.verdict == VERDICT_ORDER.index(v)
        return out

    def index_of(self, household_id: str) -> int:
        return self.table.ids.index(household_id)

    def values_for(self, i: int, policy: StabilityPolicy) -> dict[str, object]:
        """The numbers the reason texts quote, for household ``i``."""
        c = policy.criteria
        county = int(self.table.county[i])
        comp = int(self.table.retrofit_completed[i])
        return {
            "days_with_data": int(self.days_with_data[i]),
            "season_days": int(self.season_days[i]),
            "min_coverage": c.min_coverage,
            "availability": _nan0(self.availability[i]),
            "min_availability": c.min_availability,
            "cold_availability": _nan0(self.cold_availability[i]),
            "min_cold_availability": c.min_cold_availability,
            "coldest_days": c.coldest_days,
            "cold_days_with_data": int(self.cold_days_with_data[i]),
            "min_cold_days_with_data": c.min_cold_days_with_data,
            "longest_h": float(self.longest_h[i]),
            "max_h": c.max_interruption_hours,
            "long_h": c.long_interruption_hours,
            "long_count": int(self.long_interruptions[i]),
            "max_long": c.max_long_interruptions,
            "gas_h": float(self.gas_shortfall_h[i]),
            "max_gas_h": c.max_gas_shortfall_hours,
            "completed": from_day_number(comp).isoformat() if comp != NO_DATE else "?",
            "season_start": (
                self.counties.season_start[county].isoformat() if county >= 0 else "?"
            ),
            "season_end": (self.counties.season_end[county].isoformat() if county >= 0 else "?"),
            "data_span": self.data_span,
        }

    def values_columns(self, policy: StabilityPolicy, idx: I32) -> dict[str, list[object]]:
        """:meth:`values_for` for the households ``idx`` at once: one list per key (same
        values; the policy constants are repeated)."""
        c = policy.criteria
        n = len(idx)
        county = self.table.county[idx]
        starts = [d.isoformat() for d in self.counties.season_start] + ["?"]
        ends = [d.isoformat() for d in self.counties.season_end] + ["?"]
        slot = np.where(county >= 0, county, len(starts) - 1).tolist()
        start_text = [starts[k] for k in slot]
        end_text = [ends[k] for k in slot]
        comp = self.table.retrofit_completed[idx]
        uniq, inv = np.unique(comp, return_inverse=True)
        labels = [from_day_number(d).isoformat() if d != NO_DATE else "?" for d in uniq.tolist()]
        comp_text = [labels[k] for k in inv.reshape(-1).tolist()]

        def const(x: object) -> list[object]:
            return [x] * n

        return {
            "days_with_data": self.days_with_data[idx].tolist(),
            "season_days": self.season_days[idx].tolist(),
            "min_coverage": const(c.min_coverage),
            "availability": _nan0_array(self.availability[idx]).tolist(),
            "min_availability": const(c.min_availability),
            "cold_availability": _nan0_array(self.cold_availability[idx]).tolist(),
            "min_cold_availability": const(c.min_cold_availability),
            "coldest_days": const(c.coldest_days),
            "cold_days_with_data": self.cold_days_with_data[idx].tolist(),
            "min_cold_days_with_data": const(c.min_cold_days_with_data),
            "longest_h": self.longest_h[idx].astype(np.float64).tolist(),
            "max_h": const(c.max_interruption_hours),
            "long_h": const(c.long_interruption_hours),
            "long_count": self.long_interruptions[idx].tolist(),
            "max_long": const(c.max_long_interruptions),
            "gas_h": self.gas_shortfall_h[idx].astype(np.float64).tolist(),
            "max_gas_h": const(c.max_gas_shortfall_hours),
            "completed": comp_text,
            "season_start": start_text,
            "season_end": end_text,
            "data_span": const(self.data_span),
        }


def _nan0_array(x: F64) -> F64:
    """:func:`_nan0` element-wise (bit-identical results)."""
    with np.errstate(invalid="ignore"):
        out: F64 = np.where(np.isnan(x), 0.0, np.floor(x * 1000) / 1000).astype(np.float64)
    return out


def _nan0(x: float) -> float:
    """NaN → 0; shares are truncated to 0.1 % so 97.96 % never reads as "98.0 % < 98 %"."""
    return 0.0 if np.isnan(x) else float(np.floor(x * 1000) / 1000)


def _month_starts(first: date, last: date) -> list[date]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def evaluate_season(
    rows: RollupColumns,
    table: HouseholdTable,
    policy: StabilityPolicy,
    label: str,
) -> SeasonResult:
    crit = policy.criteria
    parse_season_label(label)
    n_h = len(table)
    n_c = len(table.counties)
    seasons = [policy.season_for(label, c) for c in table.counties]
    if not seasons:  # no county at all: use the default window for the grid
        seasons = [policy.season_for(label, "")]
    d0 = min(day_number(s.start) for s in seasons)
    d1 = max(day_number(s.end) for s in seasons)
    n_d = d1 - d0 + 1
    # Season bounds per county as grid offsets; an extra slot for county -1 (unknown): empty.
    s_off = np.array([day_number(s.start) - d0 for s in seasons[:n_c]] + [n_d], np.int32)
    e_off = np.array([day_number(s.end) - d0 for s in seasons[:n_c]] + [-1], np.int32)
    hh_county = np.where(table.county >= 0, table.county, n_c).astype(np.int32)
    s_h, e_h = s_off[hh_county], e_off[hh_county]
    season_days = np.maximum(e_h - s_h + 1, 0).astype(np.int32)

    # ---- scatter rows into the dense grid (in-season rows only) -------------------------
    hh = rows.household
    off = rows.day - np.int32(d0)
    ok = (hh >= 0) & (hh < n_h) & (off >= 0) & (off < n_d)
    ok_idx = np.flatnonzero(ok)
    hh_ok = hh[ok_idx]
    off_ok = off[ok_idx]
    in_season = (off_ok >= s_h[hh_ok]) & (off_ok <= e_h[hh_ok])
    sel = ok_idx[in_season]
    del ok, ok_idx, hh_ok, off_ok, in_season
    flat = rows.household[sel].astype(np.int64) * n_d + (rows.day[sel] - d0)
    size = n_h * n_d
    present = np.zeros(size, np.bool_)
    present[flat] = True
    avail = np.zeros(size, np.float32)
    avail[flat] = rows.available[sel]
    lost = np.zeros(size, np.float32)
    lost[flat] = rows.outage[sel] + rows.shortfall[sel]
    short = np.zeros(size, np.float32)
    short[flat] = rows.shortfall[sel]
    eps = np.zeros(size, np.int32)
    eps[flat] = rows.interruptions[sel]

    # County temperature per grid day (all households of a county share it).
    ctemp = np.full((n_c + 1, n_d), np.nan, np.float32)
    t = rows.county_min_temp[sel]
    t_ok = ~np.isnan(t)
    ctemp[hh_county[rows.household[sel][t_ok]], rows.day[sel][t_ok] - d0] = t[t_ok]
    del flat, sel, t, t_ok

    avail2 = avail.reshape(n_h, n_d)
    lost2 = lost.reshape(n_h, n_d)
    present2 = present.reshape(n_h, n_d)
    known2 = avail2 + lost2
    covered2 = present2 & (known2 >= np.float32(crit.min_known_minutes_per_day))

    days_with_data = covered2.sum(axis=1, dtype=np.int32)
    known_total = known2.sum(axis=1, dtype=np.float64)
    avail_total = avail2.sum(axis=1, dtype=np.float64)
    lost_total = lost2.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        availability = np.where(known_total > 0, avail_total / known_total, np.nan)
        coverage = np.where(season_days > 0, days_with_data / np.maximum(season_days, 1), 0.0)
    gas_h = short.reshape(n_h, n_d).sum(axis=1, dtype=np.float64) / 60.0
    del short

    # ---- interruption runs -------------------------------------------------------------
    lost_prev = np.zeros_like(lost2)
    lost_prev[:, 1:] = lost2[:, :-1]
    eps2 = eps.reshape(n_h, n_d)
    has_lost = lost2 > 0
    cont = has_lost & (eps2 == 0) & (lost_prev > 0)
    del lost_prev
    start = has_lost & ~cont
    per_ep = lost2 / np.maximum(eps2, 1).astype(np.float32)  # minutes per episode that day
    start_f = start.ravel()
    cont_f = cont.ravel()
    chain_id = np.cumsum(start_f, dtype=np.int64) - 1
    n_chains = int(chain_id[-1] + 1) if size else 0
    contrib_idx = np.flatnonzero(start_f | cont_f)
    contrib = np.where(start_f[contrib_idx], per_ep.ravel()[contrib_idx], lost[contrib_idx])
    chain_len = np.bincount(
        chain_id[contrib_idx], weights=contrib.astype(np.float64), minlength=n_chains
    )
    start_idx = np.flatnonzero(start_f)
    chain_hh = (start_idx // n_d).astype(np.int64)
    long_min = crit.long_interruption_hours * 60.0
    start_eps = eps.ravel()[start_idx]
    start_per_ep = per_ep.ravel()[start_idx].astype(np.float64)
    extra = np.maximum(start_eps - 1, 0)
    long_count = np.bincount(
        chain_hh, weights=(chain_len > long_min).astype(np.float64), minlength=n_h
    ) + np.bincount(chain_hh, weights=extra * (start_per_ep > long_min), minlength=n_h)
    interruptions = np.bincount(
        chain_hh, weights=np.maximum(start_eps, 1).astype(np.float64), minlength=n_h
    )
    longest = np.zeros(n_h, np.float64)
    np.maximum.at(longest, chain_hh, chain_len)
    # Episodes per grid day (for the month chart): max(E, 1) at run starts, E elsewhere.
    ep_day = np.where(start, np.maximum(eps2, 1), np.where(cont, 0, eps2))
    del per_ep, cont, start, start_f, cont_f, chain_id, contrib, contrib_idx, has_lost

    # ---- coldest days per county -------------------------------------------------------
    grid_start = from_day_number(d0)
    cold = np.zeros((n_c + 1, n_d), np.bool_)
    cold_dates: list[list[date]] = []
    temp_unknown_county = np.zeros(n_c + 1, np.bool_)
    temp_unknown_county[n_c] = True
    for c in range(n_c):
        days = np.arange(s_off[c], e_off[c] + 1)
        temps = ctemp[c, days]
        known_days = days[~np.isnan(temps)]
        if known_days.size == 0:
            temp_unknown_county[c] = True
            cold_dates.append([])
            continue
        order = np.argsort(ctemp[c, known_days], kind="stable")[: crit.coldest_days]
        chosen = np.sort(known_days[order])
        cold[c, chosen] = True
        cold_dates.append([from_day_number(d0 + int(d)) for d in chosen])
    cold2 = cold[hh_county]
    cold_present = present2 & cold2
    cold_days_with_data = (covered2 & cold2).sum(axis=1, dtype=np.int32)
    cold_known = np.where(cold_present, known2, 0).sum(axis=1, dtype=np.float64)
    cold_avail = np.where(cold_present, avail2, 0).sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cold_availability = np.where(cold_known > 0, cold_avail / cold_known, np.nan)
    del cold2, cold_present, covered2, known2

    # ---- verdicts ----------------------------------------------------------------------
    reasons = np.zeros(n_h, np.int32)

    def flag(cond: B, r: Reason) -> None:
        reasons[cond] |= np.int32(int(r))

    no_data = known_total <= 0
    flag(no_data, Reason.NO_DATA)
    flag(~no_data & (coverage < crit.min_coverage), Reason.COVERAGE_LOW)
    t_unknown = temp_unknown_county[hh_county]
    flag(~no_data & t_unknown, Reason.COLD_TEMPERATURE_UNKNOWN)
    flag(
        ~no_data & ~t_unknown & (cold_days_with_data < crit.min_cold_days_with_data),
        Reason.COLD_DAYS_NO_DATA,
    )
    flag(~no_data & (availability < crit.min_availability), Reason.AVAILABILITY_LOW)
    cold_ok_data = ~t_unknown & (cold_days_with_data >= crit.min_cold_days_with_data)
    flag(
        cold_ok_data & (cold_availability < crit.min_cold_availability),
        Reason.COLD_AVAILABILITY_LOW,
    )
    flag(long_count > crit.max_long_interruptions, Reason.TOO_MANY_LONG_INTERRUPTIONS)
    flag(longest > crit.max_interruption_hours * 60.0, Reason.INTERRUPTION_TOO_LONG)
    flag(gas_h > crit.max_gas_shortfall_hours, Reason.GAS_SHORTFALL)
    comp = table.retrofit_completed
    season_start_day = np.where(hh_county < n_c, s_h + d0, np.iinfo(np.int32).max)
    flag(
        (comp != NO_DATE) & (comp > season_start_day + crit.retrofit_grace_days),
        Reason.PARTIAL_SEASON,
    )
    failed = (reasons & np.int32(int(FAILURE_REASONS))) != 0
    lacking = (reasons & np.int32(int(DATA_REASONS))) != 0
    verdict = np.where(
        failed,
        VERDICT_ORDER.index(Verdict.NOT_YET),
        np.where(
            lacking,
            VERDICT_ORDER.index(Verdict.INSUFFICIENT_DATA),
            VERDICT_ORDER.index(Verdict.ELIGIBLE),
        ),
    ).astype(np.int8)
    # A season not yet observed in full cannot show that a system is not stable enough:
    # households that failed so far are insufficient_data (with their reasons), not not_yet.
    data_first, data_last, covered = _season_covered(rows, s_off, e_off, d0, n_c)
    not_covered_h = ~covered[hh_county]
    flag(not_covered_h & (verdict != VERDICT_ORDER.index(Verdict.ELIGIBLE)),
         Reason.SEASON_NOT_COVERED)  # fmt: skip
    verdict[not_covered_h & (verdict == VERDICT_ORDER.index(Verdict.NOT_YET))] = (
        VERDICT_ORDER.index(Verdict.INSUFFICIENT_DATA)
    )
    flag(verdict == VERDICT_ORDER.index(Verdict.ELIGIBLE), Reason.ALL_CRITERIA_MET)

    # ---- county reliability indices ----------------------------------------------------
    hh_per_c = np.bincount(hh_county, minlength=n_c + 1)[:n_c].astype(np.int32)
    served = np.maximum(hh_per_c, 1).astype(np.float64)
    lost_by_c = np.bincount(hh_county, weights=lost_total, minlength=n_c + 1)[:n_c]
    int_by_c = np.bincount(hh_county, weights=interruptions, minlength=n_c + 1)[:n_c]
    known_by_c = np.bincount(hh_county, weights=known_total, minlength=n_c + 1)[:n_c]
    avail_by_c = np.bincount(hh_county, weights=avail_total, minlength=n_c + 1)[:n_c]
    saidi = lost_by_c / 60.0 / served
    saifi = int_by_c / served
    with np.errstate(invalid="ignore", divide="ignore"):
        caidi = np.where(saifi > 0, saidi / np.where(saifi > 0, saifi, 1), 0.0)
        asai = np.where(
            known_by_c > 0, avail_by_c / np.where(known_by_c > 0, known_by_c, 1), np.nan
        )

    # ---- interruptions by month per county ---------------------------------------------
    grid_end = from_day_number(d1)
    months = _month_starts(grid_start, grid_end)
    by_month = np.zeros((n_c, len(months)), np.int64)
    ep_by_day = (
        np.stack(
            [np.bincount(hh_county, weights=ep_day[:, j], minlength=n_c + 1) for j in range(n_d)],
            axis=1,
        )[:n_c]
        if n_h
        else np.zeros((n_c, n_d))
    )
    for mi, m in enumerate(months):
        nxt = (
            months[mi + 1]
            if mi + 1 < len(months)
            else date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        )
        a = max(day_number(m) - d0, 0)
        b = min(day_number(nxt) - d0, n_d)
        if b > a:
            by_month[:, mi] = np.rint(ep_by_day[:, a:b].sum(axis=1)).astype(np.int64)

    stats = CountyStats(
        season_start=[s.start for s in seasons[:n_c]],
        season_end=[s.end for s in seasons[:n_c]],
        cold_days=cold_dates,
        households=hh_per_c,
        saidi_h=saidi,
        saifi=saifi,
        caidi_h=caidi,
        asai=asai,
    )
    return SeasonResult(
        label=label,
        table=table,
        grid_start=grid_start,
        verdict=verdict,
        reasons=reasons,
        season_days=season_days,
        days_with_data=days_with_data,
        coverage=coverage.astype(np.float64),
        availability=availability,
        interruptions=np.rint(interruptions).astype(np.int32),
        long_interruptions=np.rint(long_count).astype(np.int32),
        longest_h=longest / 60.0,
        lost_h=lost_total / 60.0,
        gas_shortfall_h=gas_h,
        cold_days_with_data=cold_days_with_data,
        cold_availability=cold_availability,
        counties=stats,
        month_starts=months,
        interruptions_by_month=by_month,
        data_first=data_first,
        data_last=data_last,
        season_covered=covered[:n_c],
    )


def _season_covered(
    rows: RollupColumns, s_off: I32, e_off: I32, d0: int, n_c: int
) -> tuple[date | None, date | None, B]:
    """First and last rollup day in the grid and, per county (+ the unknown slot), whether
    those span the county's whole season."""
    off = rows.day - np.int32(d0)
    inside = rows.day[(off >= int(s_off[:n_c].min(initial=0))) & (off <= int(e_off.max()))]
    if not len(inside):
        return None, None, np.zeros(n_c + 1, np.bool_)
    first, last = int(inside.min()), int(inside.max())
    covered: B = (first - d0 <= s_off) & (last - d0 >= e_off)
    return from_day_number(first), from_day_number(last), covered


@dataclass(frozen=True)
class GroupSummary:
    """Counts per verdict and means per group (index = group code)."""

    households: I32
    eligible: I32
    not_yet: I32
    insufficient: I32
    priority: I32
    priority_not_yet: I32
    mean_availability: F64
    interruptions: I32


def summarise(result: SeasonResult, codes: I32, n_groups: int) -> GroupSummary:
    """Group households by ``codes`` (``-1`` = skipped) — counts per verdict, means."""
    ok = codes >= 0
    c = codes[ok]

    def count(mask: B) -> I32:
        return np.bincount(c, weights=mask[ok].astype(np.float64), minlength=n_groups).astype(
            np.int32
        )

    v = result.verdict
    prio = result.table.is_priority
    not_yet = v == VERDICT_ORDER.index(Verdict.NOT_YET)
    av = result.availability[ok]
    av_ok = ~np.isnan(av)
    n_av = np.bincount(c[av_ok], minlength=n_groups)
    s_av = np.bincount(c[av_ok], weights=av[av_ok], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_av = np.where(n_av > 0, s_av / np.maximum(n_av, 1), np.nan)
    return GroupSummary(
        households=np.bincount(c, minlength=n_groups).astype(np.int32),
        eligible=count(v == VERDICT_ORDER.index(Verdict.ELIGIBLE)),
        not_yet=count(not_yet),
        insufficient=count(v == VERDICT_ORDER.index(Verdict.INSUFFICIENT_DATA)),
        priority=count(prio),
        priority_not_yet=count(prio & not_yet),
        mean_availability=mean_av,
        interruptions=np.bincount(
            c, weights=result.interruptions[ok].astype(np.float64), minlength=n_groups
        ).astype(np.int32),
    )
