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

from heatwatch.report.arithmetic import episodes_started
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
from heatwatch.report.stability.cost import SeasonCost, Tariffs, season_cost
from heatwatch.report.stability.policy import (
    OVERRIDABLE,
    Criteria,
    Measure,
    Season,
    StabilityPolicy,
    parse_season_label,
)
from heatwatch.report.stability.reasons import (
    DATA_REASONS,
    FAILURE_REASONS,
    VERDICT_ORDER,
    Reason,
    Verdict,
)
from heatwatch.report.stability.use import PeerScope, UseResult, UseState, measure_use

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
    # Heat networks: days with more shortfall (below the curve / cold home) than allowed.
    cold_home_days: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    # What each verdict rests on: a bit mask over ``evidence_parts`` (HouseholdDay.evidence
    # of the household's in-season days, split at "+"); 0 = not recorded.
    evidence: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    evidence_parts: tuple[str, ...] = ()
    # Per household: the thresholds of its retrofit type (OVERRIDABLE names → arrays).
    thresholds: dict[str, F64] = field(default_factory=dict)
    # Is the new heating used (issue 24); None when the rollups carry no energy/temperature.
    use: UseResult | None = None
    # What the season cost each household (issue 24); None when no tariffs were given or the
    # rollups carry no energy.
    cost: SeasonCost | None = None

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

    def threshold(self, name: str, i: int, policy: StabilityPolicy) -> float:
        """Household ``i``'s threshold ``name`` (its retrofit type's, else the city-wide one)."""
        if name in self.thresholds:
            return float(self.thresholds[name][i])
        return float(getattr(policy.criteria, name))

    def values_for(self, i: int, policy: StabilityPolicy) -> dict[str, object]:
        """The numbers the reason texts quote, for household ``i``."""
        c = policy.criteria
        county = int(self.table.county[i])
        comp = int(self.table.retrofit_completed[i])

        def th(name: str) -> float:
            return self.threshold(name, i, policy)

        return {
            "days_with_data": int(self.days_with_data[i]),
            "season_days": int(self.season_days[i]),
            "min_coverage": c.min_coverage,
            "availability": _nan0(self.availability[i]),
            "min_availability": th("min_availability"),
            "cold_availability": _nan0(self.cold_availability[i]),
            "min_cold_availability": th("min_cold_availability"),
            "coldest_days": c.coldest_days,
            "cold_days_with_data": int(self.cold_days_with_data[i]),
            "min_cold_days_with_data": c.min_cold_days_with_data,
            "longest_h": float(self.longest_h[i]),
            "max_h": th("max_interruption_hours"),
            "long_h": c.long_interruption_hours,
            "long_count": int(self.long_interruptions[i]),
            "max_long": int(th("max_long_interruptions")),
            "gas_h": float(self.gas_shortfall_h[i]),
            "max_gas_h": th("max_gas_shortfall_hours"),
            "cold_home_days": int(self.cold_home_days[i]) if len(self.cold_home_days) else 0,
            "max_cold_home_days": int(th("max_cold_home_days")),
            "cold_home_day_hours": th("cold_home_day_hours"),
            "completed": from_day_number(comp).isoformat() if comp != NO_DATE else "?",
            "season_start": (
                self.counties.season_start[county].isoformat() if county >= 0 else "?"
            ),
            "season_end": (self.counties.season_end[county].isoformat() if county >= 0 else "?"),
            "data_span": self.data_span,
            **{k: v[0] for k, v in self._use_values(policy, np.array([i], np.int32)).items()},
        }

    def _use_values(self, policy: StabilityPolicy, idx: I32) -> dict[str, list[object]]:
        """The figures the use reasons quote (issue 24), for the households ``idx``."""
        n = len(idx)
        s = policy.use
        u = self.use
        scope_zh = {PeerScope.VILLAGE: "本村", PeerScope.COUNTY: "本县", PeerScope.NONE: ""}
        scope_en = {PeerScope.VILLAGE: "village", PeerScope.COUNTY: "county", PeerScope.NONE: ""}
        if u is None:
            zeros: list[object] = [0] * n
            return {"use_judged_days": zeros, "use_low_days": zeros, "use_ratio": [0.0] * n,
                    "use_worst_share": [0.0] * n, "use_longest_empty": zeros,
                    "use_scope": [""] * n, "use_scope_en": [""] * n,
                    "use_window_days": [s.window_days] * n,
                    "use_far_ratio": [s.far_ratio] * n}  # fmt: skip
        scopes = [PeerScope(int(x)) for x in u.scope[idx].tolist()]
        # a heat-meter home's near peers are the metered homes on its own network, not its
        # village (use._peer_keys)
        net = u.heat_metered[idx].tolist()
        near_zh, near_en = "同一热网", "same-network"
        return {
            "use_judged_days": u.judged_days[idx].tolist(),
            "use_low_days": u.low_days[idx].tolist(),
            "use_ratio": _nan0_array(u.median_ratio[idx]).tolist(),
            "use_worst_share": _nan0_array(u.worst_share[idx]).tolist(),
            "use_longest_empty": u.longest_empty[idx].tolist(),
            "use_scope": [
                near_zh if m and x is PeerScope.VILLAGE else scope_zh[x]
                for x, m in zip(scopes, net, strict=True)
            ],
            "use_scope_en": [
                near_en if m and x is PeerScope.VILLAGE else scope_en[x]
                for x, m in zip(scopes, net, strict=True)
            ],
            "use_window_days": [s.window_days] * n,
            "use_far_ratio": [s.far_ratio] * n,
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

        def th(name: str, kind: type = float) -> list[object]:
            if name not in self.thresholds:
                return const(kind(getattr(c, name)))
            return [kind(x) for x in self.thresholds[name][idx].tolist()]

        cold_home = self.cold_home_days[idx].tolist() if len(self.cold_home_days) else const(0)
        return {
            "days_with_data": self.days_with_data[idx].tolist(),
            "season_days": self.season_days[idx].tolist(),
            "min_coverage": const(c.min_coverage),
            "availability": _nan0_array(self.availability[idx]).tolist(),
            "min_availability": th("min_availability"),
            "cold_availability": _nan0_array(self.cold_availability[idx]).tolist(),
            "min_cold_availability": th("min_cold_availability"),
            "coldest_days": const(c.coldest_days),
            "cold_days_with_data": self.cold_days_with_data[idx].tolist(),
            "min_cold_days_with_data": const(c.min_cold_days_with_data),
            "longest_h": self.longest_h[idx].astype(np.float64).tolist(),
            "max_h": th("max_interruption_hours"),
            "long_h": const(c.long_interruption_hours),
            "long_count": self.long_interruptions[idx].tolist(),
            "max_long": th("max_long_interruptions", int),
            "gas_h": self.gas_shortfall_h[idx].astype(np.float64).tolist(),
            "max_gas_h": th("max_gas_shortfall_hours"),
            "cold_home_days": cold_home,
            "max_cold_home_days": th("max_cold_home_days", int),
            "cold_home_day_hours": th("cold_home_day_hours"),
            "completed": comp_text,
            "season_start": start_text,
            "season_end": end_text,
            "data_span": const(self.data_span),
            **self._use_values(policy, idx),
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


@dataclass(frozen=True)
class _TypeCriteria:
    """Each household's measures and thresholds, from its retrofit type (policy)."""

    judged: dict[Measure, B]
    thresholds: dict[str, F64]


def _type_criteria(policy: StabilityPolicy, table: HouseholdTable) -> _TypeCriteria:
    per_type = [policy.for_retrofit(code) for code in table.retrofits]
    code = np.where(table.retrofit >= 0, table.retrofit, len(per_type)).astype(np.int64)
    per_type.append(policy.for_retrofit(""))  # unknown retrofit type: the unlisted criteria
    judged = {m: np.array([m in rc.judged_on for rc in per_type], np.bool_)[code] for m in Measure}
    thresholds = {
        name: np.array([rc.threshold(name, policy.criteria) for rc in per_type], np.float64)[code]
        for name in OVERRIDABLE
    }
    return _TypeCriteria(judged, thresholds)


@dataclass
class _Evidence:
    mask: I32
    parts: tuple[str, ...]


# The order evidence parts are listed in (the household's own meter first, then the network).
_EVIDENCE_ORDER = ("electric_meter", "gas_meter", "heat_station", "indoor", "heat_meter")


def _evidence(rows: RollupColumns, sel: np.ndarray, n_h: int) -> _Evidence:
    """Per household: every source its in-season days rest on (a bit per part)."""
    labels = [str(x) for x in rows.evidences]
    found = {p for lab in labels for p in lab.split("+") if p}
    parts = tuple(sorted(found, key=lambda p: (p not in _EVIDENCE_ORDER,
                                               _EVIDENCE_ORDER.index(p)
                                               if p in _EVIDENCE_ORDER else 0, p)))  # fmt: skip
    mask = np.zeros(n_h, np.int32)
    if not parts or not len(rows.evidence):
        return _Evidence(mask, parts)
    # One pass per distinct evidence value (a handful), on int8 codes: no per-row bit masks.
    code = rows.evidence[sel]
    hh = rows.household[sel]
    for k, lab in enumerate(labels):
        bits = sum(1 << parts.index(p) for p in lab.split("+") if p)
        has = np.zeros(n_h, np.bool_)
        has[hh[code == k]] = True
        mask[has] |= np.int32(bits)
    return _Evidence(mask, parts)


@dataclass
class _Grid:
    """The rollups scattered into a dense household × grid-day layout (in-season cells)."""

    n_h: int
    n_c: int
    n_d: int
    d0: int
    seasons: list[Season]
    s_off: I32  # per county (+ an empty slot for unknown county): season bounds as offsets
    e_off: I32
    hh_county: I32  # county code, unknown → n_c
    s_h: I32
    season_days: I32
    present: B  # (n_h, n_d)
    avail: np.ndarray  # float32 (n_h, n_d)
    lost: np.ndarray
    eps: np.ndarray  # int32 (n_h, n_d)
    gas_h: F64
    cold_home_days: I32
    ctemp: np.ndarray  # (n_c + 1, n_d) county temperature
    evidence: _Evidence


def _grid(
    rows: RollupColumns,
    table: HouseholdTable,
    policy: StabilityPolicy,
    label: str,
    cold_home_minutes: F64,
) -> _Grid:
    n_h, n_c = len(table), len(table.counties)
    seasons = [policy.season_for(label, c) for c in table.counties]
    if not seasons:  # no county at all: use the default window for the grid
        seasons = [policy.season_for(label, "")]
    d0 = min(day_number(s.start) for s in seasons)
    n_d = max(day_number(s.end) for s in seasons) - d0 + 1
    s_off = np.array([day_number(s.start) - d0 for s in seasons[:n_c]] + [n_d], np.int32)
    e_off = np.array([day_number(s.end) - d0 for s in seasons[:n_c]] + [-1], np.int32)
    hh_county = np.where(table.county >= 0, table.county, n_c).astype(np.int32)
    s_h, e_h = s_off[hh_county], e_off[hh_county]
    # in-season rows only
    off = rows.day - np.int32(d0)
    ok_idx = np.flatnonzero((rows.household >= 0) & (rows.household < n_h) & (off >= 0)
                            & (off < n_d))  # fmt: skip
    hh_ok, off_ok = rows.household[ok_idx], off[ok_idx]
    sel = ok_idx[(off_ok >= s_h[hh_ok]) & (off_ok <= e_h[hh_ok])]
    flat = rows.household[sel].astype(np.int64) * n_d + (rows.day[sel] - d0)
    size = n_h * n_d

    def scatter(values: np.ndarray, dtype: type) -> np.ndarray:
        out: np.ndarray = np.zeros(size, dtype)
        out[flat] = values
        return out.reshape(n_h, n_d)

    short = scatter(rows.shortfall[sel], np.float32)
    gas_h = short.sum(axis=1, dtype=np.float64) / 60.0
    cold_home_days = (short > cold_home_minutes[:, None].astype(np.float32)).sum(
        axis=1, dtype=np.int32
    )
    del short
    ctemp = np.full((n_c + 1, n_d), np.nan, np.float32)
    t = rows.county_min_temp[sel]
    t_ok = ~np.isnan(t)
    ctemp[hh_county[rows.household[sel][t_ok]], rows.day[sel][t_ok] - d0] = t[t_ok]
    return _Grid(
        n_h=n_h, n_c=n_c, n_d=n_d, d0=d0, seasons=seasons, s_off=s_off, e_off=e_off,
        hh_county=hh_county, s_h=s_h, season_days=np.maximum(e_h - s_h + 1, 0).astype(np.int32),
        present=scatter(np.ones(len(sel), np.bool_), np.bool_),
        avail=scatter(rows.available[sel], np.float32),
        lost=scatter(rows.outage[sel] + rows.shortfall[sel], np.float32),
        eps=scatter(rows.interruptions[sel], np.int32),
        gas_h=gas_h, cold_home_days=cold_home_days,
        ctemp=ctemp, evidence=_evidence(rows, sel, n_h),
    )  # fmt: skip


@dataclass
class _Runs:
    interruptions: np.ndarray  # float64 per household
    long_count: np.ndarray
    longest: np.ndarray  # minutes
    ep_day: np.ndarray  # episodes started per grid cell (for the month chart)


def _interruption_runs(g: _Grid, long_interruption_hours: float) -> _Runs:
    """Episodes from the daily minutes (module doc): a day's episodes share its lost minutes;
    its last one runs on through following days with lost minutes and no new episode."""
    n_h, n_d = g.n_h, g.n_d
    lost2, eps2 = g.lost, g.eps
    lost_prev = np.zeros_like(lost2)
    lost_prev[:, 1:] = lost2[:, :-1]
    has_lost = lost2 > 0
    cont = has_lost & (eps2 == 0) & (lost_prev > 0)
    start = has_lost & ~cont
    per_ep = lost2 / np.maximum(eps2, 1).astype(np.float32)  # minutes per episode that day
    start_f, cont_f = start.ravel(), cont.ravel()
    chain_id = np.cumsum(start_f, dtype=np.int64) - 1
    n_chains = int(chain_id[-1] + 1) if n_h * n_d else 0
    contrib_idx = np.flatnonzero(start_f | cont_f)
    contrib = np.where(start_f[contrib_idx], per_ep.ravel()[contrib_idx],
                       lost2.ravel()[contrib_idx])  # fmt: skip
    chain_len = np.bincount(
        chain_id[contrib_idx], weights=contrib.astype(np.float64), minlength=n_chains
    )
    start_idx = np.flatnonzero(start_f)
    chain_hh = (start_idx // n_d).astype(np.int64)
    long_min = long_interruption_hours * 60.0
    start_eps = eps2.ravel()[start_idx]
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
    # the one rule for episodes started per day (the monthly report counts with it too)
    ep_day = episodes_started(lost2, eps2, lost_prev)
    return _Runs(interruptions, long_count, longest, ep_day)


@dataclass
class _Cold:
    dates: list[list[date]]
    temp_unknown_county: B
    days_with_data: I32
    availability: F64


def _coldest_days(g: _Grid, coldest: int, covered2: B, known2: np.ndarray) -> _Cold:
    cold = np.zeros((g.n_c + 1, g.n_d), np.bool_)
    dates: list[list[date]] = []
    unknown = np.zeros(g.n_c + 1, np.bool_)
    unknown[g.n_c] = True
    for c in range(g.n_c):
        days = np.arange(g.s_off[c], g.e_off[c] + 1)
        known_days = days[~np.isnan(g.ctemp[c, days])]
        if known_days.size == 0:
            unknown[c] = True
            dates.append([])
            continue
        order = np.argsort(g.ctemp[c, known_days], kind="stable")[:coldest]
        chosen = np.sort(known_days[order])
        cold[c, chosen] = True
        dates.append([from_day_number(g.d0 + int(d)) for d in chosen])
    cold2 = cold[g.hh_county]
    cold_present = g.present & cold2
    cold_known = np.where(cold_present, known2, 0).sum(axis=1, dtype=np.float64)
    cold_avail = np.where(cold_present, g.avail, 0).sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        availability = np.where(cold_known > 0, cold_avail / cold_known, np.nan)
    return _Cold(dates, unknown, (covered2 & cold2).sum(axis=1, dtype=np.int32), availability)


def _reasons(
    crit: Criteria,
    g: _Grid,
    table: HouseholdTable,
    m: dict[str, np.ndarray],
    runs: _Runs,
    cold: _Cold,
    tc: _TypeCriteria,
) -> I32:
    """Data reasons for everyone; failure reasons only for the measures a household's retrofit
    type is judged on, against that type's thresholds."""
    reasons = np.zeros(g.n_h, np.int32)
    judged, th = tc.judged, tc.thresholds

    def flag(cond: B, r: Reason) -> None:
        reasons[cond] |= np.int32(int(r))

    no_data = m["known_total"] <= 0
    flag(no_data, Reason.NO_DATA)
    flag(~no_data & (m["coverage"] < crit.min_coverage), Reason.COVERAGE_LOW)
    t_unknown = cold.temp_unknown_county[g.hh_county]
    flag(~no_data & t_unknown, Reason.COLD_TEMPERATURE_UNKNOWN)
    few_cold = cold.days_with_data < crit.min_cold_days_with_data
    flag(~no_data & ~t_unknown & few_cold, Reason.COLD_DAYS_NO_DATA)
    flag(judged[Measure.AVAILABILITY] & ~no_data
         & (m["availability"] < th["min_availability"]), Reason.AVAILABILITY_LOW)  # fmt: skip
    flag(judged[Measure.COLD_AVAILABILITY] & ~t_unknown & ~few_cold
         & (cold.availability < th["min_cold_availability"]),
         Reason.COLD_AVAILABILITY_LOW)  # fmt: skip
    intr = judged[Measure.INTERRUPTIONS]
    flag(intr & (runs.long_count > th["max_long_interruptions"]),
         Reason.TOO_MANY_LONG_INTERRUPTIONS)  # fmt: skip
    flag(intr & (runs.longest > th["max_interruption_hours"] * 60.0),
         Reason.INTERRUPTION_TOO_LONG)  # fmt: skip
    flag(judged[Measure.GAS_SHORTFALL] & (g.gas_h > th["max_gas_shortfall_hours"]),
         Reason.GAS_SHORTFALL)  # fmt: skip
    flag(judged[Measure.COLD_HOME_DAYS] & (g.cold_home_days > th["max_cold_home_days"]),
         Reason.COLD_HOME_DAYS)  # fmt: skip
    comp = table.retrofit_completed
    season_start_day = np.where(g.hh_county < g.n_c, g.s_h + g.d0, np.iinfo(np.int32).max)
    flag((comp != NO_DATE) & (comp > season_start_day + crit.retrofit_grace_days),
         Reason.PARTIAL_SEASON)  # fmt: skip
    return reasons


def _verdicts(reasons: I32, not_covered: B) -> I8:
    failed = (reasons & np.int32(int(FAILURE_REASONS))) != 0
    lacking = (reasons & np.int32(int(DATA_REASONS))) != 0
    eligible, not_yet, insufficient = (VERDICT_ORDER.index(v) for v in
                                       (Verdict.ELIGIBLE, Verdict.NOT_YET,
                                        Verdict.INSUFFICIENT_DATA))  # fmt: skip
    verdict: I8 = np.where(failed, not_yet, np.where(lacking, insufficient, eligible)).astype(
        np.int8
    )
    # A season not yet observed in full cannot show that a system is not stable enough:
    # households that failed so far are insufficient_data (with their reasons), not not_yet.
    reasons[not_covered & (verdict != eligible)] |= np.int32(int(Reason.SEASON_NOT_COVERED))
    verdict[not_covered & (verdict == not_yet)] = insufficient
    reasons[verdict == eligible] |= np.int32(int(Reason.ALL_CRITERIA_MET))
    return verdict


def _county_stats(g: _Grid, m: dict[str, np.ndarray], runs: _Runs, cold: _Cold) -> CountyStats:
    n_c = g.n_c

    def by_county(w: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.bincount(g.hh_county, weights=w, minlength=n_c + 1)[:n_c]
        return out

    hh_per_c = np.bincount(g.hh_county, minlength=n_c + 1)[:n_c].astype(np.int32)
    served = np.maximum(hh_per_c, 1).astype(np.float64)
    known_by_c = by_county(m["known_total"])
    saidi = by_county(m["lost_total"]) / 60.0 / served
    saifi = by_county(runs.interruptions) / served
    with np.errstate(invalid="ignore", divide="ignore"):
        caidi = np.where(saifi > 0, saidi / np.where(saifi > 0, saifi, 1), 0.0)
        asai = np.where(known_by_c > 0,
                        by_county(m["avail_total"]) / np.where(known_by_c > 0, known_by_c, 1),
                        np.nan)  # fmt: skip
    return CountyStats(
        season_start=[s.start for s in g.seasons[:n_c]],
        season_end=[s.end for s in g.seasons[:n_c]],
        cold_days=cold.dates,
        households=hh_per_c,
        saidi_h=saidi,
        saifi=saifi,
        caidi_h=caidi,
        asai=asai,
    )


def _by_month(g: _Grid, ep_day: np.ndarray) -> tuple[list[date], np.ndarray]:
    """Episodes started per month and county (the month chart)."""
    months = _month_starts(from_day_number(g.d0), from_day_number(g.d0 + g.n_d - 1))
    by_month = np.zeros((g.n_c, len(months)), np.int64)
    ep_by_day = (
        np.stack([np.bincount(g.hh_county, weights=ep_day[:, j], minlength=g.n_c + 1)
                  for j in range(g.n_d)], axis=1)[: g.n_c]
        if g.n_h
        else np.zeros((g.n_c, g.n_d))
    )  # fmt: skip
    for mi, m in enumerate(months):
        nxt = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        a = max(day_number(m) - g.d0, 0)
        b = min(day_number(nxt) - g.d0, g.n_d)
        if b > a:
            by_month[:, mi] = np.rint(ep_by_day[:, a:b].sum(axis=1)).astype(np.int64)
    return months, by_month


def evaluate_season(
    rows: RollupColumns,
    table: HouseholdTable,
    policy: StabilityPolicy,
    label: str,
    tariffs: Tariffs | None = None,
    use_days: bool = False,
) -> SeasonResult:
    """``use_days``: keep the use judgement's per-day figures (``SeasonResult.use.days``)."""
    crit = policy.criteria
    parse_season_label(label)
    tc = _type_criteria(policy, table)
    g = _grid(rows, table, policy, label, tc.thresholds["cold_home_day_hours"] * 60.0)
    known2 = g.avail + g.lost
    covered2 = g.present & (known2 >= np.float32(crit.min_known_minutes_per_day))
    days_with_data = covered2.sum(axis=1, dtype=np.int32)
    m = {
        "known_total": known2.sum(axis=1, dtype=np.float64),
        "avail_total": g.avail.sum(axis=1, dtype=np.float64),
        "lost_total": g.lost.sum(axis=1, dtype=np.float64),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        m["availability"] = np.where(m["known_total"] > 0,
                                     m["avail_total"] / m["known_total"], np.nan)  # fmt: skip
        m["coverage"] = np.where(
            g.season_days > 0, days_with_data / np.maximum(g.season_days, 1), 0.0
        )
    runs = _interruption_runs(g, crit.long_interruption_hours)
    cold = _coldest_days(g, crit.coldest_days, covered2, known2)
    del covered2, known2
    reasons = _reasons(crit, g, table, m, runs, cold, tc)
    data_first, data_last, covered = _season_covered(rows, g.s_off, g.e_off, g.d0, g.n_c)
    verdict = _verdicts(reasons, ~covered[g.hh_county])
    use = None
    if policy.use.enabled and len(rows.energy) and len(rows.county_mean_temp):
        use = measure_use(rows, table, policy.use, d0=g.d0, n_d=g.n_d, s_h=g.s_h,
                          e_h=g.e_off[g.hh_county], keep_days=use_days)  # fmt: skip
        _apply_use(verdict, reasons, use)
    cost = None
    if tariffs is not None and len(rows.energy):
        cost = season_cost(rows, table, tariffs, table.area_m2, first_day=g.s_h + g.d0,
                           last_day=g.e_off[g.hh_county] + g.d0)  # fmt: skip
    months, by_month = _by_month(g, runs.ep_day)
    return SeasonResult(
        label=label,
        table=table,
        grid_start=from_day_number(g.d0),
        verdict=verdict,
        reasons=reasons,
        season_days=g.season_days,
        days_with_data=days_with_data,
        coverage=m["coverage"].astype(np.float64),
        availability=m["availability"],
        interruptions=np.rint(runs.interruptions).astype(np.int32),
        long_interruptions=np.rint(runs.long_count).astype(np.int32),
        longest_h=runs.longest / 60.0,
        lost_h=m["lost_total"] / 60.0,
        gas_shortfall_h=g.gas_h,
        cold_days_with_data=cold.days_with_data,
        cold_availability=cold.availability,
        counties=_county_stats(g, m, runs, cold),
        month_starts=months,
        interruptions_by_month=by_month,
        data_first=data_first,
        data_last=data_last,
        season_covered=covered[: g.n_c],
        cold_home_days=g.cold_home_days,
        evidence=g.evidence.mask,
        evidence_parts=g.evidence.parts,
        thresholds=tc.thresholds,
        use=use,
        cost=cost,
    )


def _apply_use(verdict: I8, reasons: I32, use: UseResult) -> None:
    """先立后破 asks that the new heating *carried* the home: stable supply that was barely
    used (or a home that stood empty) is visit_required, not eligible. The use reasons are
    also recorded on not_yet / insufficient households (the county's casework list)."""
    under = use.mask(UseState.UNDER_USED)
    empty = use.mask(UseState.EMPTY)
    reasons[under] |= np.int32(int(Reason.UNDER_USED))
    reasons[empty] |= np.int32(int(Reason.HOME_EMPTY))
    visit = (verdict == VERDICT_ORDER.index(Verdict.ELIGIBLE)) & (under | empty)
    verdict[visit] = VERDICT_ORDER.index(Verdict.VISIT_REQUIRED)
    reasons[visit] &= ~np.int32(int(Reason.ALL_CRITERIA_MET))


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
    visit_required: I32 = field(default_factory=lambda: np.zeros(0, np.int32))


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
        visit_required=count(v == VERDICT_ORDER.index(Verdict.VISIT_REQUIRED)),
    )
