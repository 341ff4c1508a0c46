"""Household lists a county acts on: per-county verdict lists, the meters-to-fix work list,
the early-removal warning, the per-village public notices (公示) and the approval block.
Every list has a verdict column and an evidence column (what the verdict rests on)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from heatwatch.contract.glossary import USE_COST_TEXT
from heatwatch.report.i18n import PRIORITY, RETROFIT, t
from heatwatch.report.loading import village_name
from heatwatch.report.render import Block, Heading, PageBreak, Para, Table
from heatwatch.report.season_sections import IssueInfo
from heatwatch.report.stability import StabilityPolicy
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.stability.reasons import (
    VERDICT_ORDER,
    Verdict,
    evidence_texts,
    reason_texts,
    verdict_text,
)

Column = Callable[[np.ndarray], list[str]]


@dataclass(frozen=True)
class HouseholdLists:
    r: SeasonResult
    policy: StabilityPolicy
    lang: str
    order: np.ndarray  # ledger order

    def code(self, v: Verdict) -> int:
        return VERDICT_ORDER.index(v)

    # ---- columns: household codes → cell texts ----------------------------------------
    def columns(self) -> dict[str, Column]:
        tb, lang = self.r.table, self.lang
        rtr, pri = RETROFIT[lang], PRIORITY[lang]
        vtext = [verdict_text(v, lang) for v in VERDICT_ORDER]
        r = self.r

        def pct(a: np.ndarray) -> Column:
            return lambda i: ["—" if x != x else f"{x:.1%}" for x in a[i].tolist()]

        return {
            "county": lambda i: [tb.counties[c] for c in tb.county[i].tolist()],
            "household_id": lambda i: [tb.ids[k] for k in i.tolist()],
            "village": lambda i: [village_name(tb.villages[v]) for v in tb.village[i].tolist()],
            "retrofit_type": lambda i: [
                rtr.get(tb.retrofits[x], tb.retrofits[x]) for x in tb.retrofit[i].tolist()
            ],
            "priority": lambda i: [pri.get(tb.priorities[x], "") for x in tb.priority[i].tolist()],
            "verdict": lambda i: [vtext[v] for v in r.verdict[i].tolist()],
            "evidence": lambda i: evidence_texts(r.evidence[i].tolist(), r.evidence_parts, lang),
            "availability": pct(r.availability),
            "days_with_data": lambda i: [
                f"{d}/{s}"
                for d, s in zip(
                    r.days_with_data[i].tolist(), r.season_days[i].tolist(), strict=True
                )
            ],
            "days_missing": lambda i: [str(x) for x in (r.season_days[i] - r.days_with_data[i])],
            "reasons": lambda i: reason_texts(
                r.reasons[i].tolist(), r.values_columns(self.policy, i), lang
            ),
        }

    def table(self, keys: list[str], idx: np.ndarray, cap: int) -> Table:
        shown = idx[:cap]
        cols = self.columns()
        cells = [cols[k](shown) for k in keys]
        rows = [list(row) for row in zip(*cells, strict=True)] if len(shown) else []
        note = t(self.lang, "capped", total=len(idx), shown=len(shown)) if len(idx) > cap else ""
        weights = {"reasons": 5.0, "household_id": 1.3, "verdict": 1.3, "retrofit_type": 1.3,
                   "evidence": 1.5}  # fmt: skip
        return Table(
            [t(self.lang, k) for k in keys],
            rows,
            note=note,
            widths=[weights.get(k, 1.0) for k in keys],
            wrap={keys.index("reasons")} if "reasons" in keys else set(),
        )


# Every list says what each verdict rests on (evidence: meter, heat station, indoor sensor…).
ELIGIBLE_KEYS = ["household_id", "village", "retrofit_type", "priority", "verdict", "evidence",
                 "availability", "days_with_data"]  # fmt: skip
NOT_YET_KEYS = ["household_id", "village", "retrofit_type", "priority", "verdict", "evidence",
                "reasons"]  # fmt: skip
WORK_KEYS = ["household_id", "village", "retrofit_type", "verdict", "evidence", "days_with_data",
             "days_missing", "reasons"]  # fmt: skip


def county_list_blocks(h: HouseholdLists, cap: int) -> list[Block]:
    """Per county: the eligible list, the not-yet list, the meters-to-fix work list."""
    tb, lang = h.r.table, h.lang
    out: list[Block] = [PageBreak(), Heading(t(lang, "county_lists"), 2)]
    sections = [
        (Verdict.ELIGIBLE, "eligible_list", ELIGIBLE_KEYS, h.order),
        (Verdict.NOT_YET, "not_yet_list", NOT_YET_KEYS, h.order),
        (Verdict.VISIT_REQUIRED, "visit_list", NOT_YET_KEYS, h.order),
        # the work list: most days missing first
        (Verdict.INSUFFICIENT_DATA, "insufficient_list", WORK_KEYS,
         h.order[np.argsort(h.r.days_with_data[h.order], kind="stable")]),
    ]  # fmt: skip
    for c, name in enumerate(tb.counties):
        out += [*([PageBreak()] if c else []), Heading(name, 3)]
        for verdict, title, keys, order in sections:
            members = order[(tb.county[order] == c) & (h.r.verdict[order] == h.code(verdict))]
            out.append(Para(f"{t(lang, title)}（{len(members)}）" if lang == "zh"
                            else f"{t(lang, title)} ({len(members)})"))  # fmt: skip
            out.append(h.table(keys, members, cap) if len(members) else
                       Para(t(lang, "none_listed"), small=True))  # fmt: skip
    return out


def early_removal_blocks(h: HouseholdLists, cap: int) -> list[Block]:
    """Old heating already gone although the household is not (yet) eligible."""
    tb = h.r.table
    early = h.order[
        (tb.old_heating_present[h.order] == 0) & (h.r.verdict[h.order] != h.code(Verdict.ELIGIBLE))
    ]
    if not len(early):
        return []
    keys = ["county", "household_id", "village", "retrofit_type", "verdict", "evidence", "reasons"]
    return [Heading(t(h.lang, "removed_early"), 2), h.table(keys, early, cap)]


def approval_blocks(lang: str) -> list[Block]:
    keys = ("prepared_by", "reviewed_by", "approved_by", "seal", "sign_date")
    return [
        Heading(t(lang, "approval"), 2),
        Table([t(lang, k) for k in keys], [[""] * len(keys)], row_height_mm=22),
    ]


def notice_period(issue: IssueInfo, issued: date) -> tuple[date, date]:
    return issued, issued + timedelta(days=max(issue.notice_days, 1) - 1)


def notice_blocks(h: HouseholdLists, issue: IssueInfo, issued: date) -> list[Block]:
    """One page per village: households by id with their verdict, period, how to object."""
    tb, lang = h.r.table, h.lang
    id_rank = np.argsort(np.argsort(np.asarray(tb.ids, dtype=object)))
    by_village = np.lexsort((id_rank, tb.village))
    start, end = notice_period(issue, issued)
    issuer = issue.issuer or t(lang, "to_fill")
    contact = issue.contact or t(lang, "to_fill")
    keys = ["household_id", "retrofit_type", "verdict", "evidence", "reasons"]
    term = USE_COST_TEXT["notice_visit"]
    visit_text = term.zh if lang == "zh" else term.en
    out: list[Block] = []
    bounds = np.flatnonzero(np.diff(tb.village[by_village])) + 1
    for members in np.split(by_village, bounds):
        if not len(members) or tb.village[members[0]] < 0:
            continue
        label = tb.villages[tb.village[members[0]]]
        table = h.table(keys, members, len(members))
        # An eligible household needs no reasons on a public sheet (they are in the ledger).
        eligible = (h.r.verdict[members] == h.code(Verdict.ELIGIBLE)).tolist()
        # A household to visit is not named on a public sheet as suspected of burning coal
        # (强行没收煤炭 is forbidden): a neutral line here, the figures in the ledger (issue 24).
        visit = (h.r.verdict[members] == h.code(Verdict.VISIT_REQUIRED)).tolist()
        numbered = Table(
            [t(lang, "row_no"), *table.headers],
            [
                [str(k + 1), *row[:-1], "" if ok else visit_text if v else row[-1]]
                for k, (row, ok, v) in enumerate(zip(table.rows, eligible, visit, strict=True))
            ],
            widths=[0.5, *(table.widths or [])],
            wrap={k + 1 for k in table.wrap},
        )
        out += [
            *([PageBreak()] if out else []),
            Heading(
                t(lang, "notice_title", village=village_name(label), county=label.split("\x1f")[0]),
                1,
            ),
            Para(t(lang, "notice_intro", season=h.r.label)),
            numbered,
            Para(t(lang, "notice_period", start=start, end=end, days=(end - start).days + 1)),
            Para(t(lang, "notice_objection", issuer=issuer, contact=contact)),
            Para(f"{t(lang, 'seal')}: {issuer} · {t(lang, 'issue_date')}: {issued.isoformat()}"),
        ]
    return out
