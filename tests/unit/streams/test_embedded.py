"""The embedded runner: every bad line dead-lettered with a reason, nothing valid lost."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from formats.registry_csv import load_registry_csv
from streams.embedded import replay
from tests.unit.streams.scenario import electric, household

GOOD = electric("H1", 1).model_dump_json().encode()
BAD_LINES = {
    b'{"kind": "electric", "household_id": "H1", ': "malformed JSON",
    b'{"kind": "steam", "household_id": "H1"}': "unknown kind",
    GOOD.replace(b'"kwh":0.5', b'"kwh":"0.5"'): "wrong type",
    GOOD.replace(b'"kwh":0.5', b'"kwh":-0.5'): "negative energy",
    GOOD.replace(b"2021-12-01T00:15:00+08:00", b"yesterday"): "unparseable time",
    GOOD.replace(b"2021-12-01T00:15:00+08:00", b"2021-12-01T00:15:00"): "unparseable time",
    GOOD.replace(b"2021-12-01T00:15:00+08:00", b"2021-02-30T00:15:00+08:00"): "unparseable time",
    GOOD.replace(b'"H1"', b'"H999"'): "unknown household",
    b"[1, 2]": "wrong type",
    b'{"household_id": "H1"}': "missing kind",
}


def write_registry(path: Path) -> Path:
    rows = [household(h).model_dump(mode="json") for h in ("H1", "H2")]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_bad_line_is_dead_lettered_with_its_reason(tmp_path: Path) -> None:
    registry, _ = load_registry_csv(write_registry(tmp_path / "registry.csv"))
    lines = [GOOD, b"", b"   ", *list(BAD_LINES), electric("H2", 1).model_dump_json().encode()]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    summary = replay(registry, tmp_path / "in.jsonl", tmp_path / "out")

    dead = [
        orjson.loads(x) for x in (tmp_path / "out" / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    assert [d["line_no"] for d in dead] == list(range(4, 4 + len(BAD_LINES)))
    for d, expected in zip(dead, BAD_LINES.values(), strict=True):
        assert d["reason"].startswith(expected), (d["raw"], d["reason"])
    assert summary.data["blank_lines"] == 2
    assert summary.data["rejected"] == len(BAD_LINES)
    assert summary.data["accepted"] == 2
    assert summary.data["lines_read"] == len(lines)


def test_a_batch_with_one_bad_reading_keeps_the_others(tmp_path: Path) -> None:
    registry, _ = load_registry_csv(write_registry(tmp_path / "registry.csv"))
    good = [orjson.loads(electric(h, s).model_dump_json()) for s in (1, 2) for h in ("H1", "H2")]
    bad = dict(good[0], kwh="lots")
    batch = {
        "kind": "batch",
        "source": "C-1",
        "readings": [*good, bad, dict(good[1], household_id="H404")],
    }
    (tmp_path / "in.jsonl").write_bytes(orjson.dumps(batch) + b"\n")
    summary = replay(registry, tmp_path / "in.jsonl", tmp_path / "out")
    dead = [
        orjson.loads(x) for x in (tmp_path / "out" / "dead_letters.jsonl").read_bytes().splitlines()
    ]
    assert [d["reason"].split(":")[0] for d in dead] == ["readings[4]", "readings[5]"]
    assert "wrong type" in dead[0]["reason"] and "unknown household" in dead[1]["reason"]
    assert summary.data["accepted"] == 4
    assert summary.data["batches"] == 1


def test_outputs_follow_the_contract(tmp_path: Path) -> None:
    registry, _ = load_registry_csv(write_registry(tmp_path / "registry.csv"))
    readings = [electric(h, s) for s in range(1, 97) for h in ("H1",)]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(r.model_dump_json().encode() for r in readings))
    summary = replay(registry, tmp_path / "in.jsonl", tmp_path / "out")
    out = tmp_path / "out"
    incidents = [orjson.loads(x) for x in (out / "incidents.jsonl").read_bytes().splitlines()]
    assert [(i["kind"], i["entity_id"], i["details"]["never_reported"]) for i in incidents] == [
        ("comm_loss", "H2", True)
    ]
    table = pq.read_table(out / "rollups" / "household_days.parquet")
    assert table.num_rows == 2
    assert sorted(table.column("household_id").to_pylist()) == ["H1", "H2"]
    assert orjson.loads((out / "summary.json").read_bytes())["incidents_by_kind"] == {
        "comm_loss": 1
    }
    assert summary.data["last_day_partial"] is False
