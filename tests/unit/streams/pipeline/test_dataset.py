"""The worker's results dataset through the agent's logic (no Kafka): the same rollups and
incidents as the embedded runner, after a clean run and after crashes that cut the segments
differently (a segment written whose checkpoint was lost replays as overlapping segments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from formats import worker_dataset as wd
from heatwatch.report.loading import dataset_inputs, load_incidents
from producers.kafka_producer import Router
from streams.embedded import replay
from streams.sinks.dataset import DatasetSink
from tests.unit.streams.pipeline.test_pipeline import Clock, Harness, _setup, sim

__all__ = ["sim"]


def _with_dataset(h: Harness, registry: list[Any], clock: Clock, root: Path) -> Any:
    return h.pipeline(registry, clock, ports={"dataset": DatasetSink(root)})


def _rollups(root: Path) -> pa.Table:
    days = wd.days([root], wd.ROLLUPS)
    tbl = wd.read_range([root], wd.ROLLUPS, days[0], days[-1], list(wd.ROLLUP_SCHEMA.names))
    return tbl.sort_by([("household_id", "ascending"), ("day", "ascending")])


def _replay_rollups(run: Path) -> pa.Table:
    tbl = pq.read_table(run / "rollups" / "household_days.parquet")
    return tbl.sort_by([("household_id", "ascending"), ("day", "ascending")])


def _incidents(root: Path) -> list[str]:
    return [i.model_dump_json() for i in dataset_inputs([root], None).incidents]


def test_the_dataset_holds_what_the_embedded_runner_writes(
    fleet_through_both_runners: tuple[Path, Path],
) -> None:
    ds, run = fleet_through_both_runners  # conftest.py: the two runs, shared
    expected = _replay_rollups(run)
    assert expected.num_rows > 0
    assert _rollups(ds).equals(expected)
    want = [i.model_dump_json() for i in load_incidents(run / "incidents.jsonl")]
    assert want and _incidents(ds) == want


@pytest.mark.slow  # a clean run and crashed runs of the simulated fleet
def test_crashes_between_segment_and_checkpoint_read_the_same(sim: Path, tmp_path: Path) -> None:
    registry, clean = _setup(sim)
    clock = Clock()
    clean.run(_with_dataset(clean, registry, clock, tmp_path / "clean"), clock)

    registry, h = _setup(sim)
    clock = Clock()
    root = tmp_path / "crashed"
    first = _with_dataset(h, registry, clock, root)
    h.run(first, clock, stop_after=1500)
    # the last commit points' segments were written but their checkpoints were lost: the
    # next worker restores an older checkpoint and replays (overlapping segments)
    kept = {p: dict(cl) for p, cl in h.changelog.items()}
    h.run(_with_dataset(h, registry, clock, root), clock, stop_after=1200)
    h.changelog = kept
    h.committed = {p: 0 for p in h.committed}  # replay every partition from its checkpoint
    h.run(_with_dataset(h, registry, clock, root), clock)
    segments = sum(1 for _ in (root / wd.ROLLUPS).rglob("seg-*.parquet"))
    assert segments > len(wd.days([root], wd.ROLLUPS))  # overlapping segments were written
    assert _rollups(root).equals(_rollups(tmp_path / "clean"))
    assert _incidents(root) == _incidents(tmp_path / "clean")
    wd.compact(root)
    for d in (root / wd.ROLLUPS).iterdir():
        assert [p.name[:10] for p in d.iterdir()] == ["compacted-"]
    assert _rollups(root).equals(_rollups(tmp_path / "clean"))
    assert _incidents(root) == _incidents(tmp_path / "clean")


def withhold_upload(
    lines: list[bytes], source: str, first: str, last: str, after: str
) -> list[bytes]:
    """A concentrator's GPRS outage: ``source``'s batches stamped ``first``..``last`` (ISO
    prefixes compared as text) arrive only after its batch stamped ``after`` — the next
    morning, once their day is closed, so its rollups are revised by late data."""
    held: list[bytes] = []
    out: list[bytes] = []
    for line in lines:
        if f'"source":"{source}"'.encode() in line:
            ts = orjson.loads(line)["readings"][0]["ts"][:16]
            if first <= ts <= last:
                held.append(line)
                continue
            out.append(line)
            if ts == after:
                out += held
            continue
        out.append(line)
    assert held and len(out) == len(lines), "nothing withheld, or never re-inserted"
    return out


@pytest.mark.slow  # a replay and a Kafka-path run of the simulated fleet
def test_a_late_upload_revises_a_closed_day_and_the_revision_wins(
    sim: Path, tmp_path: Path
) -> None:
    lines = (sim / "readings.jsonl").read_bytes().splitlines()
    source = orjson.loads(lines[0])["source"]
    late = withhold_upload(
        lines, source, "2021-12-01T21:00", "2021-12-01T23:45", "2021-12-02T06:00"
    )
    (tmp_path / "late.jsonl").write_bytes(b"\n".join(late) + b"\n")
    registry, _ = _setup(sim)
    summary = replay(registry, tmp_path / "late.jsonl", tmp_path / "replay")
    h = Harness(late, Router(registry))
    clock = Clock()
    root = tmp_path / "ds"
    h.run(_with_dataset(h, registry, clock, root), clock)
    raw = pa.concat_tables(
        pq.read_table(p) for p in sorted((root / wd.ROLLUPS).rglob("seg-*.parquet"))
    )
    distinct = raw.group_by(["household_id", "day"]).aggregate([]).num_rows
    assert raw.num_rows > distinct  # closed days were emitted again, once per backfill
    # the replay reads its input in event-time order (no late data): the revisions must end
    # in the ordered result, and the reader must pick them over the first emissions
    assert summary.data["rollup_rows"] == distinct
    assert _rollups(root).equals(_replay_rollups(tmp_path / "replay"))
    final = {(r["household_id"], r["day"]): r for r in _rollups(root).to_pylist()}
    firsts: dict[tuple[str, object], dict[str, object]] = {}
    for r in raw.take(pc.sort_indices(raw.column("offset"))).to_pylist():
        firsts.setdefault((r["household_id"], r["day"]), r)
    changed = [k for k, r in firsts.items() if r["no_data_minutes"] != final[k]["no_data_minutes"]]
    assert changed  # the first emissions had the gap; the newest revisions do not
