"""Late data revises the record of truth: a concentrator's readings uploaded hours (or a day)
late fill its meters' gaps; rollups end equal to those of perfectly ordered input."""

from __future__ import annotations

import pytest

from streams.core.engine import Rejected
from tests.unit.streams.scenario import Collected, electric, household, run

AREA = [household(f"A{i}", feeder_id="F-A") for i in range(4)]
OTHER = [household(f"B{i}", feeder_id="F-B") for i in range(4)]
REGISTRY = AREA + OTHER


def _step(s: int, who: list) -> list:  # type: ignore[type-arg]
    kwh = 1.2 if (s - 1) % 96 < 32 else 0.3  # night charging, so valley sums matter
    return [electric(h.household_id, s, kwh=kwh) for h in who]


def _final_days(out: Collected) -> dict[tuple[str, str], str]:
    """The last rollup emitted per (household, day): what InfluxDB holds after overwrites."""
    return {(d.household_id, str(d.day)): d.model_dump_json() for d in out.days}


def _upload_late(gap: range, upload_after: int) -> list:  # type: ignore[type-arg]
    readings = []
    for s in range(1, 96 * 2 + 1):
        readings += _step(s, OTHER)
        if s not in gap:
            readings += _step(s, AREA)
        if s == upload_after:  # the concentrator's upload after its GPRS outage
            for late in gap:
                readings += _step(late, AREA)
    return readings


@pytest.mark.parametrize(
    ("gap", "upload_after"),
    [(range(40, 52), 64), (range(80, 92), 96 + 40)],  # same day; the next day (day closed)
    ids=["hours-late", "next-day"],
)
def test_a_late_concentrator_upload_revises_rollups_to_the_ordered_result(
    gap: range, upload_after: int
) -> None:
    clean, _ = run(REGISTRY, [r for s in range(1, 193) for r in _step(s, REGISTRY)])
    late, engine = run(REGISTRY, _upload_late(gap, upload_after))
    assert engine.counters.backfilled == len(gap) * len(AREA)
    assert engine.counters.rejected == 0
    assert _final_days(late) == _final_days(clean)
    comm = late.of_kind("comm_loss")
    assert comm, "the silence was seen in real time"
    households = [i for i in comm if i.entity_type.value == "household"]
    assert all(i.details["resolution"].startswith("communication gap") for i in households)
    assert all(i.details["backfilled_intervals"] == len(gap) for i in households)


def test_a_late_reading_that_fills_no_gap_is_still_late() -> None:
    _, engine = run(REGISTRY, [])
    for s in range(1, 20):
        for r in _step(s, REGISTRY):
            engine.push(r)
    with pytest.raises(Rejected, match="late"):
        engine.push(electric("A0", 3, kwh=0.9))
