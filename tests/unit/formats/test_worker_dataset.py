"""The results dataset's rules: idempotent segment rewrites, the newest revision wins,
duplicate and overlapping segments after a crash read once, compaction reads the same."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import worker_dataset as wd

D1, D2 = date(2021, 12, 1), date(2021, 12, 2)


def _rows(items: list[tuple[str, date, int, float]], partition: int = 0) -> pa.Table:
    """(household, day, offset, available minutes) → rollup rows of the dataset schema."""
    n = len(items)
    cols = {f.name: pa.nulls(n, f.type) for f in wd.ROLLUP_ROWS_SCHEMA}
    cols["household_id"] = pa.array([h for h, _, _, _ in items], pa.string())
    cols["day"] = pa.array([d for _, d, _, _ in items], pa.date32())
    cols["county"] = pa.array(["忻府区"] * n, pa.string())
    cols["heating_available_minutes"] = pa.array([v for *_, v in items], pa.float32())
    cols["partition"] = pa.array([partition] * n, pa.int32())
    cols["offset"] = pa.array([o for _, _, o, _ in items], pa.int64())
    return pa.table(cols, schema=wd.ROLLUP_ROWS_SCHEMA)


def _read(root: Path) -> dict[tuple[str, date], float]:
    days = wd.days([root], wd.ROLLUPS)
    if not days:
        return {}
    tbl = wd.read_range([root], wd.ROLLUPS, days[0], days[-1])
    out = {}
    for r in tbl.to_pylist():
        key = (r["household_id"], r["day"])
        assert key not in out, "a key read twice"
        out[key] = r["heating_available_minutes"]
    return out


def test_rewriting_a_segment_replaces_it(tmp_path: Path) -> None:
    rows = _rows([("H1", D1, 5, 1.0), ("H2", D1, 6, 2.0), ("H1", D2, 7, 3.0)])
    first = wd.write_segment(tmp_path, wd.ROLLUPS, 0, 0, 9, rows)
    again = wd.write_segment(tmp_path, wd.ROLLUPS, 0, 0, 9, rows)
    assert first == again and len(first) == 2  # one file per day, the same names
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["household_day", "day=2021-12-01", "day=2021-12-02", *[p.name for p in first]]
    )  # no tmp file left behind
    assert _read(tmp_path) == {("H1", D1): 1.0, ("H2", D1): 2.0, ("H1", D2): 3.0}


def test_the_newest_revision_wins_in_a_segment_and_across_segments(tmp_path: Path) -> None:
    # a late reading at offset 40 revises H1's closed day; H2's is revised twice in one segment
    wd.write_segment(
        tmp_path, wd.ROLLUPS, 0, 0, 30, _rows([("H1", D1, 20, 1.0), ("H2", D1, 20, 1.0)])
    )
    wd.write_segment(
        tmp_path, wd.ROLLUPS, 0, 31, 50, _rows([("H1", D1, 40, 9.0), ("H2", D1, 41, 5.0), ("H2", D1, 45, 6.0)])
    )  # fmt: skip
    assert _read(tmp_path) == {("H1", D1): 9.0, ("H2", D1): 6.0}


def test_overlapping_segments_of_a_replay_read_once(tmp_path: Path) -> None:
    """Crash after writing 31..50 and before its checkpoint: the replay cuts 31..44, 45..60."""
    wd.write_segment(
        tmp_path, wd.ROLLUPS, 0, 31, 50, _rows([("H1", D1, 40, 9.0), ("H2", D1, 48, 2.0)])
    )
    wd.write_segment(tmp_path, wd.ROLLUPS, 0, 31, 44, _rows([("H1", D1, 40, 9.0)]))
    wd.write_segment(
        tmp_path, wd.ROLLUPS, 0, 45, 60, _rows([("H2", D1, 48, 2.0), ("H2", D1, 55, 3.0)])
    )
    assert _read(tmp_path) == {("H1", D1): 9.0, ("H2", D1): 3.0}


def test_compaction_reads_the_same_and_leaves_one_file_a_day(tmp_path: Path) -> None:
    wd.write_segment(
        tmp_path, wd.ROLLUPS, 0, 0, 30, _rows([("H1", D1, 20, 1.0), ("H1", D2, 25, 1.5)])
    )
    wd.write_segment(tmp_path, wd.ROLLUPS, 1, 0, 10, _rows([("H9", D1, 3, 4.0)], partition=1))
    wd.write_segment(tmp_path, wd.ROLLUPS, 0, 31, 50, _rows([("H1", D1, 40, 9.0)]))
    before = _read(tmp_path)
    done = wd.compact(tmp_path, before=D2)  # D2 is within the horizon: left alone
    assert [(c.day, c.files_read, c.rows_read, c.rows_kept) for c in done] == [(D1, 3, 3, 2)]
    assert [p.name[:10] for p in wd.day_dir(tmp_path, wd.ROLLUPS, D1).iterdir()] == ["compacted-"]
    assert _read(tmp_path) == before == {("H1", D1): 9.0, ("H9", D1): 4.0, ("H1", D2): 1.5}
    assert wd.compact(tmp_path, before=D2) == []  # nothing left to do
    # a revision later than the compaction still wins (offsets are kept in the compacted file)
    wd.write_segment(tmp_path, wd.ROLLUPS, 0, 51, 60, _rows([("H1", D1, 55, 7.0)]))
    assert _read(tmp_path)[("H1", D1)] == 7.0
    # a crash between writing the compacted file and deleting the segments reads the same
    d = wd.day_dir(tmp_path, wd.ROLLUPS, D1)
    keep = {p.name: p.read_bytes() for p in d.iterdir()}
    wd.compact(tmp_path)
    for name, data in keep.items():
        (d / name).write_bytes(data)
    assert _read(tmp_path)[("H1", D1)] == 7.0 and len(list(d.iterdir())) == 3


def test_incidents_keep_their_newest_change(tmp_path: Path) -> None:
    def rows(items: list[tuple[str, int, str]]) -> pa.Table:
        return pa.table(
            {
                "incident_id": [i for i, _, _ in items],
                "started_day": [D1] * len(items),
                "change": ["opened"] * len(items),
                "incident": [f'{{"id": "{i}", "v": "{v}"}}' for i, _, v in items],
                "partition": [2] * len(items),
                "offset": [o for _, o, _ in items],
            },
            schema=wd.INCIDENT_ROWS_SCHEMA,
        )

    wd.write_segment(tmp_path, wd.INCIDENTS, 2, 0, 9, rows([("a", 3, "open"), ("b", 4, "open")]))
    wd.write_segment(tmp_path, wd.INCIDENTS, 2, 10, 19, rows([("a", 12, "resolved")]))
    assert wd.read_incidents([tmp_path]) == [
        '{"id": "a", "v": "resolved"}',
        '{"id": "b", "v": "open"}',
    ]
    wd.compact(tmp_path)
    assert len(wd.read_incidents([tmp_path])) == 2


def test_a_second_compaction_is_refused_while_one_runs(tmp_path: Path) -> None:
    with (
        wd.CompactionLock(tmp_path),
        pytest.raises(wd.DatasetError, match="holds the lock"),
        wd.CompactionLock(tmp_path),
    ):
        pass
    with wd.CompactionLock(tmp_path):  # released
        pass


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    d = wd.day_dir(tmp_path, wd.ROLLUPS, D1)
    d.mkdir(parents=True)
    (d / "seg-p0000-000000000000-000000000001.parquet").write_bytes(b"not parquet")
    with pytest.raises(wd.DatasetError, match="seg-p0000"):
        _read(tmp_path)


# Any sequence of emissions, cut into commit-point segments and replayed after crashes at
# any points: the reader sees the last emission of every key, before and after compaction.
emission = st.tuples(
    st.sampled_from(["H1", "H2", "H3"]), st.sampled_from([D1, D2]), st.floats(0, 1440, width=32)
)


@pytest.mark.slow  # 60 Hypothesis examples, each writing and compacting Parquet
@settings(max_examples=60, deadline=None)
@given(
    emissions=st.lists(emission, min_size=1, max_size=25),
    cuts=st.lists(st.integers(0, 25), max_size=6),
    crash_cuts=st.lists(st.integers(0, 25), max_size=6),
    compact_first=st.booleans(),
)
def test_any_crash_and_replay_reads_the_last_emission(
    emissions: list[tuple[str, date, float]],
    cuts: list[int],
    crash_cuts: list[int],
    compact_first: bool,
) -> None:
    items = [(h, d, offset, v) for offset, (h, d, v) in enumerate(emissions)]  # one per record
    expected = {(h, d): v for h, d, _, v in items}
    root = Path(tempfile.mkdtemp())
    try:
        for bounds in (sorted({0, *cuts, len(items)}), sorted({0, *crash_cuts, len(items)})):
            for a, b in itertools.pairwise(bounds):
                if a < b:
                    wd.write_segment(root, wd.ROLLUPS, 0, a, b - 1, _rows(items[a:b]))
            if compact_first:
                wd.compact(root)
        assert _read(root) == expected
        wd.compact(root)
        assert _read(root) == expected
    finally:
        shutil.rmtree(root)


def test_a_day_compacted_while_read_is_listed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wd.write_segment(tmp_path, wd.ROLLUPS, 0, 0, 30, _rows([("H1", D1, 20, 1.0)]))
    real, calls = wd._read, []

    def vanishing(path: Path, *args: object) -> pa.Table:
        calls.append(path)
        if len(calls) == 1:  # the compaction deleted it between listing and reading
            raise FileNotFoundError(path)
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(wd, "_read", vanishing)
    assert _read(tmp_path) == {("H1", D1): 1.0} and len(calls) == 2
    monkeypatch.setattr(wd, "_read", lambda path, *a: (_ for _ in ()).throw(FileNotFoundError()))
    with pytest.raises(wd.DatasetError, match="kept changing while being read"):
        _read(tmp_path)
