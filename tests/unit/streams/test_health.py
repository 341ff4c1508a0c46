"""Readiness from consumer lag (streams/health.py): the pure part."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.health import is_ready, partition_lag


def test_lag_counts_a_never_committed_partition_whole() -> None:
    assert partition_lag({0: 10, 1: 5}, {0: 7, 1: None}) == {0: 3, 1: 5}


def test_ready_only_when_every_partition_is_within_the_limit() -> None:
    assert is_ready({0: 3, 1: 5}, 5)
    assert not is_ready({0: 3, 1: 6}, 5)
    assert not is_ready({}, 5)  # no partitions known: not ready


@given(
    st.dictionaries(st.integers(0, 50), st.integers(0, 10**6), min_size=1), st.integers(0, 10**6)
)
def test_lag_is_never_negative_and_readiness_is_monotone(end: dict[int, int], max_lag: int) -> None:
    committed = {p: e // 2 for p, e in end.items()}
    lag = partition_lag(end, committed)
    assert all(v >= 0 for v in lag.values())
    if is_ready(lag, max_lag):
        assert is_ready(lag, max_lag + 1)
