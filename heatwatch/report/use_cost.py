"""The season report's use-and-cost section (issue 24): per county, how many households use
their new heating, how many are under-used or empty, what the season cost, and who is above
the burden threshold (priority groups first); per village, the under-used households (the
county office's casework list).

Figures come from :class:`SeasonResult` (``use`` and ``cost``); words from the glossary.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from contract.glossary import USE_COST_COLUMNS, USE_COST_TEXT, USE_STATES, label
from contract.registry import NETWORK_RETROFITS
from heatwatch.report.i18n import PRIORITY, RETROFIT
from heatwatch.report.loading import Registry, RollupSource, build_inputs, village_name
from heatwatch.report.render import Block, Heading, Para, Table
from heatwatch.report.stability import StabilityPolicy, evaluate_season, parse_policy
from heatwatch.report.stability.cost import Tariffs, by_group, parse_tariffs
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.stability.use import UseState, network_homes

DEFAULT_TARIFFS = Path(__file__).resolve().parents[2] / "deploy" / "policy" / "tariffs.yaml"


def load_tariffs(path: Path | None = None) -> Tariffs:
    """The tariffs file (default: deploy/policy/tariffs.yaml; built-in examples without it)."""
    p = path or DEFAULT_TARIFFS
    if not p.exists():
        return Tariffs()
    return parse_tariffs(p.read_text(encoding="utf-8"), str(p))


def _w(lang: str, key: str) -> str:
    return label(USE_COST_TEXT, key, "zh" if lang == "zh" else "en")


def _col(lang: str, key: str) -> str:
    return label(USE_COST_COLUMNS, key, "zh" if lang == "zh" else "en")


def _state(lang: str, s: UseState) -> str:
    code = {UseState.USED: "used", UseState.UNDER_USED: "under_used", UseState.EMPTY: "empty",
            UseState.NOT_JUDGED: "not_judged"}[s]  # fmt: skip
    return label(USE_STATES, code, "zh" if lang == "zh" else "en")


def _money(x: float) -> str:
    return "—" if x != x else f"{x:,.0f}"


def use_cost_blocks(r: SeasonResult, lang: str, cap: int) -> list[Block]:
    """The section; empty when the rollups carried no energy (nothing to judge or price)."""
    if r.use is None and r.cost is None:
        return []
    tb = r.table
    out: list[Block] = [Heading(_w(lang, "section"), 2), Para(_w(lang, "intro"), small=True)]
    n_c = len(tb.counties)
    county = np.where(tb.county >= 0, tb.county, -1)
    headers = [label(USE_COST_TEXT, "county", "zh" if lang == "zh" else "en")]
    rows: list[list[str]] = []
    u, c = r.use, r.cost
    groups = by_group(c, county, n_c) if c is not None else None
    for k, name in enumerate(tb.counties):
        m = county == k
        row = [name]
        if u is not None:
            judged = m & np.isin(u.state, [int(UseState.USED), int(UseState.UNDER_USED),
                                           int(UseState.EMPTY)])  # fmt: skip
            under = int((m & (u.state == int(UseState.UNDER_USED))).sum())
            empty = int((m & (u.state == int(UseState.EMPTY))).sum())
            share = f"{under / int(judged.sum()):.1%}" if judged.any() else "—"
            row += [str(int(judged.sum())), str(under), str(empty), share]
        if groups is not None:
            row += [_money(float(groups.median_net[k])), _money(float(groups.mean_per_m2[k])),
                    str(int(groups.above_burden[k]))]  # fmt: skip
        rows.append(row)
    if u is not None:
        headers += [_col(lang, "judged_households"), _state(lang, UseState.UNDER_USED),
                    _state(lang, UseState.EMPTY), _col(lang, "under_used_share")]  # fmt: skip
    if groups is not None:
        headers += [_col(lang, "median_net"), _col(lang, "cost_per_m2"),
                    _col(lang, "above_burden")]  # fmt: skip
    out.append(Table(headers, rows))
    note = network_note(r, lang)
    if note:
        out.append(Para(note, small=True))
    if c is not None:
        out += _type_blocks(r, lang)
    if u is not None:
        out += _village_blocks(r, lang, cap)
    if c is not None:
        out += _burden_blocks(r, lang, cap)
    return out


def network_counts(r: SeasonResult) -> tuple[int, int, int, int]:
    """Heat-network homes in the report: (all, with a heat meter, indoor sensor only, station
    only), from the evidence their season's rollups rest on."""
    tb = r.table
    codes = {x.value for x in NETWORK_RETROFITS}
    net = np.array([code in codes for code in tb.retrofits] + [False], np.bool_)
    is_net = net[np.where(tb.retrofit >= 0, tb.retrofit, len(tb.retrofits))]
    parts = r.evidence_parts
    ev = r.evidence if len(r.evidence) == len(tb) else np.zeros(len(tb), np.int32)

    def bit(name: str) -> np.ndarray:
        if name not in parts:
            return np.zeros(len(tb), np.bool_)
        out: np.ndarray = (ev & (1 << parts.index(name))) != 0
        return out

    # judged on a heat meter: its delivered heat is in the rollups (older rollups: not)
    meter = is_net & (r.use.heat_metered if r.use is not None else bit("heat_meter"))
    indoor = is_net & bit("indoor") & ~meter
    total = int(is_net.sum())
    return total, int(meter.sum()), int(indoor.sum()), total - int(meter.sum() + indoor.sum())


def network_note(r: SeasonResult, lang: str) -> str:
    """What use says about heat-network homes — the metered ones judged on delivered heat, the
    others not, and why — not a silent gap."""
    total, meter, indoor, station = network_counts(r)
    if not total:
        return ""
    return _w(lang, "network_note").format(
        total=total, meter=meter, unjudged=indoor + station, indoor=indoor, station=station
    )


def _type_blocks(r: SeasonResult, lang: str) -> list[Block]:
    """Cost by retrofit type, whole report (a heat pump and a gas boiler cost differently)."""
    tb, c = r.table, r.cost
    assert c is not None
    lg = "zh" if lang == "zh" else "en"
    g = by_group(c, np.where(tb.retrofit >= 0, tb.retrofit, -1), len(tb.retrofits))
    rows = [
        [RETROFIT[lg].get(code, code), str(int(g.households[k])),
         _money(float(g.median_net[k])), _money(float(g.mean_per_m2[k])),
         str(int(g.above_burden[k]))]
        for k, code in enumerate(tb.retrofits)
        if g.households[k]
    ]  # fmt: skip
    headers = [_w(lang, "retrofit_type"), _col(lang, "households"), _col(lang, "median_net"),
               _col(lang, "cost_per_m2"), _col(lang, "above_burden")]  # fmt: skip
    return [Para(_w(lang, "by_type")), Table(headers, rows)]


def _village_blocks(r: SeasonResult, lang: str, cap: int) -> list[Block]:
    """Villages with under-used or empty households, and who they are."""
    tb, u = r.table, r.use
    assert u is not None
    flagged = np.flatnonzero(
        (u.state == int(UseState.UNDER_USED)) | (u.state == int(UseState.EMPTY))
    )
    order = flagged[np.lexsort((np.asarray(tb.ids, dtype=object)[flagged].astype(str),
                                tb.village[flagged], ~tb.is_priority[flagged],
                                tb.county[flagged]))]  # fmt: skip
    lg = "zh" if lang == "zh" else "en"
    rows = [
        [tb.counties[tb.county[i]] if tb.county[i] >= 0 else "?",
         village_name(tb.villages[tb.village[i]]) if tb.village[i] >= 0 else "?",
         tb.ids[i],
         RETROFIT[lg].get(tb.retrofits[tb.retrofit[i]], "") if tb.retrofit[i] >= 0 else "",
         PRIORITY[lg].get(tb.priorities[tb.priority[i]], "") if tb.priority[i] >= 0 else "",
         _state(lang, UseState(int(u.state[i]))),
         "—" if np.isnan(u.median_ratio[i]) else f"{u.median_ratio[i]:.0%}",
         f"{int(u.low_days[i])}/{int(u.judged_days[i])}"]
        for i in order[:cap].tolist()
    ]  # fmt: skip
    headers = [_w(lang, "county"), _w(lang, "village"), _w(lang, "household_id"),
               _w(lang, "retrofit_type"), _w(lang, "priority"), _col(lang, "use_state"),
               _col(lang, "use_ratio"), _col(lang, "low_days")]  # fmt: skip
    note = _w(lang, "capped").format(total=len(order), shown=cap) if len(order) > cap else ""
    return [Para(f"{_w(lang, 'under_used_list')}（{len(order)}）" if lang == "zh"
                 else f"{_w(lang, 'under_used_list')} ({len(order)})"),
            Table(headers, rows, note=note)]  # fmt: skip


def _burden_blocks(r: SeasonResult, lang: str, cap: int) -> list[Block]:
    tb, c = r.table, r.cost
    assert c is not None
    order = c.burden_order(tb)
    lg = "zh" if lang == "zh" else "en"
    rows = [
        [tb.counties[tb.county[i]] if tb.county[i] >= 0 else "?",
         village_name(tb.villages[tb.village[i]]) if tb.village[i] >= 0 else "?",
         tb.ids[i],
         RETROFIT[lg].get(tb.retrofits[tb.retrofit[i]], "") if tb.retrofit[i] >= 0 else "",
         PRIORITY[lg].get(tb.priorities[tb.priority[i]], "") if tb.priority[i] >= 0 else "",
         _money(float(c.energy_cost[i])), _money(float(c.subsidy[i])),
         _money(float(c.net_cost[i])),
         "—" if np.isnan(c.per_m2[i]) else f"{c.per_m2[i]:.1f}",
         _money(float(c.peak_extra[i]))]
        for i in order[:cap].tolist()
    ]  # fmt: skip
    headers = [_w(lang, "county"), _w(lang, "village"), _w(lang, "household_id"),
               _w(lang, "retrofit_type"), _w(lang, "priority"), _col(lang, "energy_cost"),
               _col(lang, "subsidy"), _col(lang, "net_cost"), _col(lang, "cost_per_m2"),
               _col(lang, "peak_extra")]  # fmt: skip
    note = _w(lang, "capped").format(total=len(order), shown=cap) if len(order) > cap else ""
    return [Para(f"{_w(lang, 'burden_list')}（{len(order)}）" if lang == "zh"
                 else f"{_w(lang, 'burden_list')} ({len(order)})"),
            Table(headers, rows, note=note)]  # fmt: skip


# --- the monthly report's view ---------------------------------------------------------
DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "deploy" / "policy" / "stability.yaml"


def _default_policy() -> StabilityPolicy:
    if not DEFAULT_POLICY.exists():
        return StabilityPolicy()
    return parse_policy(DEFAULT_POLICY.read_text(encoding="utf-8"), str(DEFAULT_POLICY))


def season_label_of(day: date) -> str:
    """The heating season a day belongs to: Jul–Dec → that winter's first year."""
    y = day.year if day.month >= 7 else day.year - 1
    return f"{y}-{y + 1}"


def _to_date(
    source: RollupSource, registry: Registry | None, policy: StabilityPolicy, last: date,
    tariffs: Tariffs, use_days: bool = False,
) -> SeasonResult | None:  # fmt: skip
    label = season_label_of(last)
    first = min(policy.season_for(label, c).start for c in [*policy.season.counties, ""])
    if last < first:
        return None
    tbl = source.read(first, last)
    if not tbl.num_rows:
        return None
    rows, table = build_inputs(tbl, registry)
    return evaluate_season(rows, table, policy, label, tariffs, use_days=use_days)


USE_STATE_CODES = {UseState.USED: "used", UseState.UNDER_USED: "under_used",
                   UseState.EMPTY: "empty", UseState.NOT_JUDGED: "not_judged"}  # fmt: skip


def use_states(
    source: RollupSource, registry: Registry | None, policy: StabilityPolicy | None = None
) -> dict[str, str]:
    """Each household's use state (the glossary's USE_STATES code) over the season to the last
    day with rollups — what the season report would say today (the demo scores it)."""
    span = source.day_range()
    if span is None:
        return {}
    r = _to_date(source, registry, policy or _default_policy(), span[1], Tariffs())
    if r is None or r.use is None:
        return {}
    return {
        hid: USE_STATE_CODES[UseState(int(s))]
        for hid, s in zip(r.table.ids, r.use.state.tolist(), strict=True)
    }


def monthly_use_cost_blocks(
    source: RollupSource | None,
    registry: Registry | None,
    month_last_day: date,
    lang: str,
    policy: StabilityPolicy | None = None,
    tariffs: Tariffs | None = None,
) -> list[Block]:
    """Per county, the season so far (to the month's last day with data): share under-used,
    median household cost to date vs at the end of last month, households above the burden
    threshold. Nothing when there are no rollups or they carry no energy."""
    if source is None:
        return []
    policy = policy or _default_policy()
    tariffs = tariffs or load_tariffs()
    now = _to_date(source, registry, policy, month_last_day, tariffs)
    if now is None or (now.use is None and now.cost is None):
        return []
    month_start = month_last_day.replace(day=1)
    before = _to_date(source, registry, policy, month_start - timedelta(days=1), tariffs)
    prev_median: dict[str, float] = {}
    if before is not None and before.cost is not None:
        tb = before.table
        g = by_group(before.cost, np.where(tb.county >= 0, tb.county, -1), len(tb.counties))
        prev_median = {c: float(g.median_net[k]) for k, c in enumerate(tb.counties)}
    tb = now.table
    county = np.where(tb.county >= 0, tb.county, -1)
    g_now = by_group(now.cost, county, len(tb.counties)) if now.cost is not None else None
    rows: list[list[str]] = []
    for k, name in enumerate(tb.counties):
        m = county == k
        row = [name]
        if now.use is not None:
            st = now.use.state
            judged = int((m & (st != int(UseState.NOT_JUDGED))).sum())
            under = int((m & (st == int(UseState.UNDER_USED))).sum())
            row += [str(judged), str(under), f"{under / judged:.1%}" if judged else "—"]
        else:
            row += ["—", "—", "—"]
        if g_now is not None:
            row += [_money(float(g_now.median_net[k])), _money(prev_median.get(name, np.nan)),
                    str(int(g_now.above_burden[k]))]  # fmt: skip
        else:
            row += ["—", "—", "—"]
        rows.append(row)
    headers = [_w(lang, "county"), _col(lang, "judged_households"),
               _state(lang, UseState.UNDER_USED), _col(lang, "under_used_share"),
               _w(lang, "median_to_date"), _w(lang, "median_last_month"),
               _col(lang, "above_burden")]  # fmt: skip
    return [Heading(_w(lang, "monthly_section"), 2),
            Para(_w(lang, "monthly_intro").format(season=now.label,
                                                 to=month_last_day.isoformat()), small=True),
            Table(headers, rows)]  # fmt: skip


# --- the ledger's use-and-cost columns ---------------------------------------------------
LEDGER_USE_COST_KEYS = ["use_state", "use_ratio", "judged_days", "low_days", "energy_kwh",
                        "valley_kwh", "gas_m3", "energy_cost", "subsidy", "net_cost",
                        "cost_per_m2", "peak_extra"]  # fmt: skip


def _round(a: np.ndarray, o: np.ndarray, nd: int) -> list[object]:
    v = np.round(a[o].astype(np.float64), nd)
    return [None if x != x else x for x in v.tolist()]


def ledger_use_cost_columns(
    r: SeasonResult, lang: str, o: np.ndarray
) -> tuple[list[str], list[list[object]]]:
    """Headers and columns (households in ledger order ``o``); blank without use/cost."""
    headers = [_col(lang, k) if lang == "zh" else k for k in LEDGER_USE_COST_KEYS]
    n = len(o)
    blank: list[object] = [None] * n
    u, c = r.use, r.cost
    cols: list[list[object]] = []
    if u is not None:
        names = {int(s): _state(lang, s) for s in UseState}
        states: list[object] = [names[s] for s in u.state[o].tolist()]
        # a network home without a heat meter says why it is not judged (issue 24)
        unmetered = (network_homes(r.table) & ~u.heat_metered)[o]
        why = _w(lang, "not_judged_network")
        states = [why if m else x for x, m in zip(states, unmetered.tolist(), strict=True)]
        cols += [states, _round(u.median_ratio, o, 4),
                 u.judged_days[o].tolist(), u.low_days[o].tolist()]  # fmt: skip
    else:
        cols += [blank] * 4
    if c is not None:
        cols += [_round(x, o, 2) for x in (c.energy_kwh, c.valley_kwh, c.gas_m3, c.energy_cost,
                                           c.subsidy, c.net_cost, c.per_m2, c.peak_extra)]  # fmt: skip
    else:
        cols += [blank] * 8
    return headers, cols
