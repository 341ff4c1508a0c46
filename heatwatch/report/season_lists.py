"""Household lists a county acts on: per-county verdict lists, the meters-to-fix work list,
the early-removal warning, the per-village public notices (公示) and the approval block.
Every list has a verdict column and an evidence column (what the verdict rests on)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from contract.geography import COUNTIES
from contract.glossary import USE_COST_TEXT
from heatwatch.report.i18n import PRIORITY, RETROFIT, t
from heatwatch.report.loading import village_name
from heatwatch.report.render import Block, Heading, PageBreak, Para, Section, Table
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
    """Old heating already gone although the household is not (yet) eligible.

    On a partial season every household short of the criteria is 数据不足 (no verdict before
    the season ends), so listing those would fill the warning with households nobody can yet
    say anything about (31 of 35 pages on a 3-day run): they are counted in one line, and
    only "not yet" households are listed. On a full season 数据不足 is a verdict too — old
    heating removed without the evidence the rule asks for — and they are listed."""
    tb = h.r.table
    removed = h.order[
        (tb.old_heating_present[h.order] == 0) & (h.r.verdict[h.order] != h.code(Verdict.ELIGIBLE))
    ]
    insufficient = h.r.verdict[removed] == h.code(Verdict.INSUFFICIENT_DATA)
    partial = not h.r.fully_covered
    early = removed[~insufficient] if partial else removed
    held = int(insufficient.sum()) if partial else 0
    if not len(early) and not held:
        return []
    keys = ["county", "household_id", "village", "retrofit_type", "verdict", "evidence", "reasons"]
    out: list[Block] = [Heading(t(h.lang, "removed_early"), 2)]
    if len(early) or not held:
        out.append(h.table(keys, early, cap))
    if held:
        out.append(Para(t(h.lang, "early_insufficient_note", n=held), small=True))
    return out


def approval_blocks(lang: str) -> list[Block]:
    keys = ("prepared_by", "reviewed_by", "approved_by", "seal", "sign_date")
    return [
        Heading(t(lang, "approval"), 2),
        Table([t(lang, k) for k in keys], [[""] * len(keys)], row_height_mm=22),
    ]


def notice_period(issue: IssueInfo, issued: date) -> tuple[date, date]:
    return issued, issued + timedelta(days=max(issue.notice_days, 1) - 1)


COUNTY_CODES = {c.zh: c.code for c in COUNTIES}


def document_numbers(h: HouseholdLists) -> dict[int, str]:
    """Village code → its notice's document number: county code, season, the village's
    place among its county's villages in name order (``WZ-2021-2022-003``). Deterministic:
    the same registry gives the same numbers, whichever county a run is limited to."""
    tb = h.r.table
    out: dict[int, str] = {}
    by_county: dict[str, list[tuple[str, int]]] = {}
    for v, label in enumerate(tb.villages):
        county, _, name = label.partition("\x1f")
        by_county.setdefault(county, []).append((name, v))
    for county, villages in by_county.items():
        code = COUNTY_CODES.get(county, county)
        for seq, (_name, v) in enumerate(sorted(villages), start=1):
            out[v] = f"{code}-{h.r.label}-{seq:03d}"
    return out


def notice_blocks(
    h: HouseholdLists, issue: IssueInfo, issued: date, *, draft: bool = False
) -> list[Block]:
    """One notice per village (its own page numbers, its own document number): households
    by id with their verdict, period, how to object. A draft carries no document number."""
    tb, lang = h.r.table, h.lang
    id_rank = np.argsort(np.argsort(np.asarray(tb.ids, dtype=object)))
    by_village = np.lexsort((id_rank, tb.village))
    start, end = notice_period(issue, issued)
    issuer = issue.issuer or t(lang, "to_fill")
    contact = issue.contact or t(lang, "to_fill")
    numbers = document_numbers(h)
    keys = ["household_id", "retrofit_type", "verdict", "evidence", "reasons"]
    term = USE_COST_TEXT["notice_visit"]
    visit_text = term.zh if lang == "zh" else term.en
    out: list[Block] = []
    bounds = np.flatnonzero(np.diff(tb.village[by_village])) + 1
    for members in np.split(by_village, bounds):
        if not len(members) or tb.village[members[0]] < 0:
            continue
        v = int(tb.village[members[0]])
        label = tb.villages[v]
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
        title = t(lang, "notice_title", village=village_name(label), county=label.split("\x1f")[0])
        number = t(lang, "doc_no_draft") if draft else numbers[v]
        out += [
            *([PageBreak()] if out else []),
            Section(f"{title} · {t(lang, 'doc_no')}: {number}"),
            Heading(title, 1),
            Para(f"{t(lang, 'doc_no')}: {number}", small=True),
            Para(t(lang, "notice_intro", season=h.r.label)),
            numbered,
            Para(t(lang, "notice_period", start=start, end=end, days=(end - start).days + 1)),
            Para(t(lang, "notice_objection", issuer=issuer, contact=contact)),
            Para(f"{t(lang, 'seal')}: {issuer} · {t(lang, 'issue_date')}: {issued.isoformat()}"),
        ]
    return out
