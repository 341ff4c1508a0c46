"""``Streak``: a run of consecutive readings in one condition, broken by a reading out of it
or by a gap — the idiom "N bad readings in a row open an incident"."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core.state import Streak

# a reading: (in the condition?, came after a gap?)
READINGS = st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60)


def _feed(readings: list[tuple[bool, bool]]) -> Streak:
    streak = Streak()
    for ts, (bad, after_gap) in enumerate(readings, start=1):
        if bad:
            streak.add(ts * 900, after_gap=after_gap)
        else:
            streak.clear()
    return streak


@given(READINGS)
def test_the_run_is_the_trailing_bad_readings_since_the_last_good_one_or_gap(
    readings: list[tuple[bool, bool]],
) -> None:
    streak = _feed(readings)
    run = 0
    first = 0
    for ts, (bad, after_gap) in enumerate(readings, start=1):
        if not bad:
            run = 0
        elif run == 0 or after_gap:
            run, first = 1, ts * 900
        else:
            run += 1
    assert streak.n == run
    if run:
        assert streak.first == first  # the incident starts at the run's first reading


def test_n_in_a_row_then_a_good_one_starts_over() -> None:
    streak = Streak()
    assert [streak.add(t) for t in (900, 1800, 2700)] == [1, 2, 3]
    assert streak.first == 900
    streak.clear()
    assert streak.add(3600) == 1 and streak.first == 3600


def test_a_gap_starts_a_new_run_at_the_reading_after_it() -> None:
    streak = Streak()
    streak.add(900)
    streak.add(1800)
    assert streak.add(7200, after_gap=True) == 1
    assert streak.first == 7200
