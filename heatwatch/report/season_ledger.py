"""The season ledger (台账): one row per household, every figure, for CSV and XLSX."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contract.registry import GAS_RETROFITS
from heatwatch.report.i18n import PRIORITY, RETROFIT, t
from heatwatch.report.loading import village_name
from heatwatch.report.stability import StabilityPolicy
from heatwatch.report.stability.columns import NO_DATE, from_day_number
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.stability.reasons import (
    VERDICT_ORDER,
    Verdict,
    evidence_texts,
    reason_codes,
    reason_texts,
    verdict_text,
)
from heatwatch.report.use_cost import LEDGER_USE_COST_KEYS, ledger_use_cost_columns

LEDGER_KEYS = [
    "household_id",
    "county",
    "village",
    "retrofit_type",
    "priority",
    "verdict",
    "evidence",
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
    "interruption_h",
    "gas_shortfall_h",
    "cold_home_days",
    "old_heating_present",
    "retrofit_completed",
    "lat",
    "lon",
]
PERCENT_KEYS = ("coverage", "availability", "cold_availability")
PERCENT_COLUMNS = [LEDGER_KEYS.index(k) for k in PERCENT_KEYS]
# ISO dates in the CSV, date cells in the XLSX (a clerk sorts and filters them as dates)
DATE_COLUMNS = [LEDGER_KEYS.index("retrofit_completed")]
# + the use-and-cost columns (issue 24), appended after LEDGER_KEYS
XLSX_WIDTHS = [16, 10, 14, 16, 10, 12, 22, 60, 30] + [11] * (
    len(LEDGER_KEYS) - 9 + len(LEDGER_USE_COST_KEYS)
)

_VERDICT_RANK = np.array(
    [
        {
            Verdict.NOT_YET: 0,
            Verdict.VISIT_REQUIRED: 1,
            Verdict.INSUFFICIENT_DATA: 1,
            Verdict.ELIGIBLE: 2,
        }[v]
        for v in VERDICT_ORDER
    ]
)


def ledger_order(r: SeasonResult) -> np.ndarray:
    """County, then priority households first, then not_yet → insufficient → eligible, id."""
    tb = r.table
    id_rank = np.argsort(np.argsort(np.asarray(tb.ids, dtype=object)))
    return np.lexsort((id_rank, tb.village, _VERDICT_RANK[r.verdict], ~tb.is_priority, tb.county))


def ledger_headers(lang: str) -> list[str]:
    return [t(lang, k) if lang == "zh" else k for k in LEDGER_KEYS]


def _rounded(a: np.ndarray, o: np.ndarray, nd: int) -> list[object]:
    v = np.round(a[o].astype(np.float64), nd)
    return [None if x != x else x for x in v.tolist()]


def _codes_column(r: SeasonResult, o: np.ndarray) -> list[object]:
    cache: dict[int, str] = {}
    out: list[object] = []
    for m in r.reasons[o].tolist():
        if m not in cache:
            cache[m] = " ".join(reason_codes(m)) or ALL_MET
        out.append(cache[m])
    return out


ALL_MET = "all_criteria_met"  # the reason code of a household that failed no criterion


def _reason_words(r: SeasonResult, policy: StabilityPolicy, lang: str, o: np.ndarray) -> list[str]:
    """Every household's reasons in words; one that failed nothing says so (全部条件满足)."""
    texts = reason_texts(r.reasons[o].tolist(), r.values_columns(policy, o), lang)
    met = t(lang, ALL_MET)
    return [x or met for x in texts]


def _gas_only(r: SeasonResult, o: np.ndarray) -> list[object]:
    """Gas shortfall hours for gas households; empty for the others, whose shortfall minutes
    are heat below the curve or a cold home (in 中断时长 and 供热不足天数), not gas."""
    tb = r.table
    gas = np.array([code in GAS_CODES for code in tb.retrofits] + [False], np.bool_)
    vals = _rounded(r.gas_shortfall_h, o, 2)
    return [v if g else None for v, g in zip(vals, gas[tb.retrofit[o]].tolist(), strict=True)]


GAS_CODES = frozenset(x.value for x in GAS_RETROFITS)


def _completed_column(r: SeasonResult, o: np.ndarray) -> list[object]:
    days, inv = np.unique(r.table.retrofit_completed[o], return_inverse=True)
    labels = [from_day_number(d).isoformat() if d != NO_DATE else None for d in days.tolist()]
    return [labels[k] for k in inv.reshape(-1).tolist()]


def _attribute_columns(r: SeasonResult, lang: str, o: np.ndarray) -> list[Sequence[object]]:
    tb = r.table
    rtr, pri = RETROFIT[lang], PRIORITY[lang]
    vtext = [verdict_text(v, lang) for v in VERDICT_ORDER]
    return [
        [tb.ids[i] for i in o.tolist()],
        [tb.counties[c] if c >= 0 else "" for c in tb.county[o].tolist()],
        [village_name(tb.villages[v]) if v >= 0 else "" for v in tb.village[o].tolist()],
        [rtr.get(tb.retrofits[x], tb.retrofits[x]) for x in tb.retrofit[o].tolist()],
        [pri.get(tb.priorities[x], tb.priorities[x]) or None for x in tb.priority[o].tolist()],
        [vtext[v] for v in r.verdict[o].tolist()],
    ]


def ledger_columns(
    r: SeasonResult, policy: StabilityPolicy, lang: str, order: np.ndarray
) -> tuple[list[str], list[Sequence[object]]]:
    o = order
    tb = r.table
    yes, no = t(lang, "yes"), t(lang, "no")
    ohp: dict[int, object] = {1: yes, 0: no, -1: None}
    cols: list[Sequence[object]] = [
        *_attribute_columns(r, lang, o),
        evidence_texts(r.evidence[o].tolist(), r.evidence_parts, lang),
        _reason_words(r, policy, lang, o),
        _codes_column(r, o),
        r.season_days[o].tolist(),
        r.days_with_data[o].tolist(),
        _rounded(r.coverage, o, 4),
        _rounded(r.availability, o, 4),
        _rounded(r.cold_availability, o, 4),
        r.interruptions[o].tolist(),
        r.long_interruptions[o].tolist(),
        _rounded(r.longest_h, o, 2),
        # heat, power and gas alike: the outage + shortfall hours the verdict counts as lost
        _rounded(r.lost_h, o, 2),
        _gas_only(r, o),
        r.cold_home_days[o].tolist(),
        [ohp[x] for x in tb.old_heating_present[o].tolist()],
        _completed_column(r, o),
        _rounded(tb.lat, o, 5),
        _rounded(tb.lon, o, 5),
    ]
    use_headers, use_cols = ledger_use_cost_columns(r, lang, o)  # issue 24
    return ledger_headers(lang) + use_headers, cols + use_cols
