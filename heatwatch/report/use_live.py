"""The live view of use (issue 24): ``household_use`` points for the county office's Grafana
panel (under-used households per village), from the daily rollups.

Use is judged against peers (the median of the same type and device in the village or county)
and over weeks, so it is not a per-reading result either runner's engine could emit: it is the
season judgement (``heatwatch/report/stability/use.py``) over the rollups to date, whichever
runner wrote them — the replay's run directory, the worker's results dataset or InfluxDB. Both
runners write the same rollups, so both give the same points, byte for byte (integration test
``tests/integration/test_use_cost_production.py``). ``heatwatch use publish`` writes them
(nightly, after the day closes); each point's time is its day's start and its tags the
household's, so publishing again overwrites rather than adds.

A heat-network home with a household heat meter is judged on the heat delivered into it and
gets points in ``kWh_heat``; one without a heat meter has no per-home heating figure and gets
no point (docs/use-and-cost.md §9).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from heatwatch.report.loading import Registry, RollupSource, village_name
from heatwatch.report.stability import StabilityPolicy
from heatwatch.report.stability.cost import Tariffs
from heatwatch.report.stability.evaluate import SeasonResult
from heatwatch.report.stability.use import UseState
from heatwatch.report.use_cost import USE_STATE_CODES, _default_policy, _to_date
from streams.core.clock import date_day_index, day_start_s
from streams.sinks.points import household_use_line


def use_to_date(
    source: RollupSource, registry: Registry | None, policy: StabilityPolicy | None = None
) -> SeasonResult | None:
    """The season's use judgement to the last day with rollups, with its per-day figures."""
    span = source.day_range()
    if span is None:
        return None
    return _to_date(source, registry, policy or _default_policy(), span[1], Tariffs(), True)


def use_lines(r: SeasonResult, first: date | None = None, last: date | None = None) -> list[bytes]:
    """``household_use`` lines for the judged season's days in ``[first, last]`` (default: all),
    household by household in registry order, then day order (deterministic)."""
    u = r.use
    if u is None or u.days is None:
        return []
    d = u.days
    tb = r.table
    n_d = d.amount.shape[1]
    j0 = 0 if first is None else max(0, (first - r.grid_start).days)
    j1 = n_d if last is None else min(n_d, (last - r.grid_start).days + 1)
    out: list[bytes] = []
    starts = [day_start_s(date_day_index(r.grid_start + timedelta(days=j))) for j in range(n_d)]
    for h in np.flatnonzero(u.measured).tolist():
        row = d.amount[h]
        days = [j for j in range(j0, j1) if not np.isnan(row[j])]
        if not days:
            continue
        tags = {
            "county": tb.counties[tb.county[h]] if tb.county[h] >= 0 else "",
            "retrofit_type": tb.retrofits[tb.retrofit[h]] if tb.retrofit[h] >= 0 else "",
            "household_id": tb.ids[h],
        }
        village = village_name(tb.villages[tb.village[h]]) if tb.village[h] >= 0 else ""
        priority = tb.priorities[tb.priority[h]] if tb.priority[h] >= 0 else ""
        state = USE_STATE_CODES[UseState(int(u.state[h]))]
        unit = "m3" if d.gas[h] else "kWh_heat" if d.heat[h] else "kWh"
        for j in days:
            ratio = float(d.ratio[h, j])
            hdd = float(d.hdd[h, j])
            out.append(
                household_use_line(
                    tags,
                    starts[j],
                    energy=round(float(row[j]), 3),
                    unit=unit,
                    hdd=round(hdd, 2) if hdd == hdd else 0.0,
                    ratio=None if ratio != ratio else round(ratio, 4),
                    judged=bool(d.judged[h, j]),
                    low=bool(d.low[h, j]),
                    state=state,
                    village=village,
                    priority_group=priority,
                )
            )
    return out


def publish_lines(
    source: RollupSource,
    registry: Registry | None,
    days: int | None = None,
    policy: StabilityPolicy | None = None,
) -> list[bytes]:
    """The points of the last ``days`` days with rollups (None: the whole season to date)."""
    r = use_to_date(source, registry, policy)
    if r is None or r.data_last is None:
        return []
    first = None if days is None else r.data_last - timedelta(days=days - 1)
    return use_lines(r, first, r.data_last)
