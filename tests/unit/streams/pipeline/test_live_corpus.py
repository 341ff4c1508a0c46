"""The live-stream defects through the Kafka path's logic (``Pipeline``, the same ingest
module): a fast clock, re-sends, conflicts and absurd values give the same incidents and the
same refusals as the embedded runner."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from formats.registry_csv import load_registry_csv
from producers.kafka_producer import Router
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay
from tests.unit.streams.pipeline.test_pipeline import Clock, Harness

# The slow tier (make slow, make test): each test replays simulated fleets through both runners.
pytestmark = pytest.mark.slow


def _readings(line: bytes) -> list[dict[str, Any]]:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(obj, dict) or obj.get("kind") != "batch":
        return []
    readings = obj.get("readings")
    return [r for r in readings if isinstance(r, dict)] if isinstance(readings, list) else []


def _single(reading: dict[str, Any], **changes: Any) -> bytes:
    return orjson.dumps({**reading, **changes})


def _live_corpus(
    lines: list[bytes], storage: set[str], ahead_by: timedelta = timedelta(days=2.5)
) -> list[bytes]:
    rng = random.Random(4)
    out = list(lines)
    batches = [i for i, line in enumerate(lines) if _readings(line)]
    # a fast clock: two readings of one meter stamped 2.5 days ahead, early in the stream (or
    # fast by less than the stream is long: then they meet the meter's own readings)
    first = next(
        r for r in _readings(lines[batches[0]]) if r.get("kind") == "electric" and "kwh" in r
    )
    ahead = datetime.fromisoformat(first["ts"]) + ahead_by
    fast = [_single(first, ts=(ahead + timedelta(minutes=15 * k)).isoformat()) for k in range(2)]
    # conflicts right after their batch (same step, not yet released); re-sends of batches
    inserts: list[tuple[int, bytes]] = []
    electric = [i for i in batches if any(x.get("kind") == "electric" for x in _readings(lines[i]))]
    for i in rng.sample(electric[10:-10], 12):
        r = next(x for x in _readings(lines[i]) if x.get("kind") == "electric")
        inserts.append((i + 1, _single(r, voltage_v=round(r["voltage_v"] - 1.0, 1))))
    for i in rng.sample(batches[10:-10], 20):
        inserts.append((i + 1, lines[i]))
    # absurd values: a storage heater's 1e308 kWh, a feeder's 1e308 kW
    for i in batches[40:]:
        heater = [x for x in _readings(lines[i]) if x.get("household_id") in storage]
        feeder = [x for x in _readings(lines[i]) if x.get("kind") == "feeder"]
        if heater and feeder:
            ts = (datetime.fromisoformat(heater[0]["ts"]) + timedelta(minutes=1)).isoformat()
            inserts.append((i + 1, _single(heater[0], kwh=1e308, ts=ts)))
            inserts.append((i + 1, _single(feeder[0], kw=1e308, ts=ts)))
            break
    for at, line in sorted(inserts, reverse=True):
        out.insert(at, line)
    out[5:5] = fast
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any], list[bytes]]:
    out = tmp_path_factory.mktemp("live")
    simulate(SimulationConfig(households=600, days=2, batches=True, faults=True, seed=21), out)
    registry, _ = load_registry_csv(out / "registry.csv")
    lines = [ln for ln in (out / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    storage = {h.household_id for h in registry if h.heating_device == "storage_heater"}
    return out, registry, _live_corpus(lines, storage)


def _kind(reason: str) -> str:
    reason = reason.split(": ", 1)[1] if reason.startswith("readings[") else reason
    return reason.split(":", 1)[0]


def test_the_kafka_path_agrees_with_the_embedded_runner_on_live_defects(
    corpus: tuple[Path, list[Any], list[bytes]], tmp_path: Path
) -> None:
    _, registry, lines = corpus
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = replay(registry, path, tmp_path / "replay")
    embedded = [
        orjson.loads(line)
        for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    ]
    embedded_ids = {i["incident_id"] for i in embedded}
    embedded_dead = Counter(
        _kind(orjson.loads(x)["reason"])
        for x in (tmp_path / "replay" / "dead_letters.jsonl").read_bytes().splitlines()
    )
    h = Harness(lines, Router(registry))
    clock = Clock()
    h.run(h.pipeline(registry, clock), clock)
    # Every incident, the meter_clock_fault included, with the same id and the same final
    # fields: the fault starts at its refused readings' stamps, not when a runner judged it.
    live = {i: {k: v for k, v in inc.items() if k != "change"} for i, inc in h.incidents.items()}
    assert live == {i["incident_id"]: i for i in embedded}
    assert h.incident_ids() == embedded_ids
    faults = [i for i in embedded if i["kind"] == "meter_clock_fault"]
    fast = orjson.loads(lines[5])
    assert [(i["entity_id"], i["started_at"]) for i in faults] == [
        (fast["household_id"], fast["ts"])
    ]
    assert faults[0]["details"] == {
        "rejected_readings": 2,
        "first_rejected_ts": fast["ts"],
        "last_rejected_ts": orjson.loads(lines[6])["ts"],
    }
    assert Counter(_kind(d["reason"]) for d in h.dead) == embedded_dead
    assert embedded_dead["clock fault"] == 2
    assert embedded_dead["conflict"] == 12
    assert embedded_dead["implausible"] == 2
    assert summary.data["incidents_by_kind"].get("meter_clock_fault") == 1
    assert not any(i.startswith("peak_charging") for i in embedded_ids - _clean_ids(corpus))


def _clean_ids(corpus: tuple[Path, list[Any], list[bytes]]) -> set[str]:
    sim, registry, _ = corpus
    out = sim / "clean-run"
    replay(registry, sim / "readings.jsonl", out)
    return {
        orjson.loads(line)["incident_id"]
        for line in (out / "incidents.jsonl").read_bytes().splitlines()
    }


def test_the_kafka_path_refuses_readings_ahead_of_its_wall_clock_at_once(
    corpus: tuple[Path, list[Any], list[bytes]], tmp_path: Path
) -> None:
    """The worker's clock one hour past the data's end: the fast clock's readings (12 h past
    it) are refused when they come, naming the meter and the Kafka offset; the incidents are
    still the embedded runner's (the fault starts at the refused stamps either way)."""
    _, registry, lines = corpus
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    replay(registry, path, tmp_path / "replay")
    embedded = {
        orjson.loads(line)["incident_id"]: orjson.loads(line)
        for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    }
    last = max(
        datetime.fromisoformat(r["ts"]) for line in lines for r in _readings(line) if "ts" in r
    )
    wall = (last + timedelta(hours=1)).timestamp()
    h = Harness(lines, Router(registry))
    clock = Clock()
    h.run(h.pipeline(registry, clock, wall_clock=lambda: wall), clock)
    live = {i: {k: v for k, v in inc.items() if k != "change"} for i, inc in h.incidents.items()}
    assert live == embedded
    meter = orjson.loads(lines[5])["household_id"]
    future = [d for d in h.dead if "ahead of the worker's clock" in d["reason"]]
    assert len(future) == 2
    for d in future:
        assert d["reason"].startswith(f"clock fault: household {meter} stamped ")
        assert d["offset"] is not None and d["partition"] is not None
        assert d["line_no"] in (6, 7)


def _last_points(written: list[bytes], measurement: bytes) -> dict[bytes, bytes]:
    """What InfluxDB holds: the last line per (series, time), by its fields."""
    out = {}
    for line in written:
        if line.startswith(measurement + b","):
            series, fields, time = line.rsplit(b" ", 2)
            out[series + b" " + time] = fields
    return out


@pytest.mark.parametrize("upload_after_h", [3, 20], ids=["same-day", "next-morning"])
def test_the_kafka_path_revises_late_gas_station_and_feeder_uploads_to_the_ordered_rollups(
    tmp_path: Path, upload_after_h: int
) -> None:
    """A gas station's households, the station and one feeder go silent 10:00-13:00 and upload
    later: the household-day rollups and the station's and feeder's points the worker leaves
    in InfluxDB equal those of the same readings in order; nothing is dead-lettered as late."""
    simulate(SimulationConfig(households=600, days=2, seed=5), tmp_path)
    registry, _ = load_registry_csv(tmp_path / "registry.csv")
    lines = [ln for ln in (tmp_path / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    gas_station = next(h.gas_station_id for h in registry if h.gas_station_id)
    feeder_id = next(h.feeder_id for h in registry if h.feeder_id)
    members = {h.household_id for h in registry if h.gas_station_id == gas_station}
    t0 = datetime.fromisoformat("2021-12-01T10:00:00+08:00")
    window = (t0, t0 + timedelta(hours=3))
    kept, held = [], []
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = {}  # the simulator's malformed lines stay where they are
        obj = obj if isinstance(obj, dict) else {}
        mine = (
            obj.get("household_id") in members
            or obj.get("station_id") == gas_station
            or obj.get("feeder_id") == feeder_id
        )
        when = _when(obj)
        if mine and when is not None and window[0] < when <= window[1]:
            held.append(line)
            continue
        kept.append(line)
        if held and when is not None and when >= window[1] + timedelta(hours=upload_after_h):
            kept.extend(held)  # the upload after the GPRS outage
            held = []
    assert not held and len(kept) == len(lines)
    runs = {}
    for name, stream in (("ordered", lines), ("late", kept)):
        h = Harness(stream, Router(registry))
        clock = Clock()
        h.run(h.pipeline(registry, clock), clock)
        runs[name] = h
    ordered, late = runs["ordered"], runs["late"]
    assert [d for d in late.dead if d["reason"].startswith("late")] == []
    assert len(late.dead) == len(ordered.dead)
    for measurement in (b"household_day", b"station_pressure"):
        assert _last_points(late.written, measurement) == _last_points(ordered.written, measurement)
    feeder_points = {
        k: v.split(b",overloaded=")[0]  # the overload flag is today's state, not re-detected
        for k, v in _last_points(late.written, b"feeder_load").items()
    }
    assert feeder_points == {
        k: v.split(b",overloaded=")[0]
        for k, v in _last_points(ordered.written, b"feeder_load").items()
    }


def _point_fields(points: dict[bytes, bytes], moment: set[bytes]) -> dict[bytes, set[bytes]]:
    """Points' fields without the state flags a late point takes from the moment it came."""
    return {
        k: {f for f in v.split(b",") if f.split(b"=")[0] not in moment} for k, v in points.items()
    }


def late_heat_upload(
    registry: list[Any], lines: list[bytes], upload_after_h: int
) -> tuple[str, list[bytes]]:
    """The first heat station's SCADA, its homes' sensors and its stack silent 10:00-13:00 on
    the first day, uploaded ``upload_after_h`` hours later: (station id, the lines)."""
    heat_station = next(h.heat_station_id for h in registry if h.heat_station_id)
    homes = {h.household_id for h in registry if h.heat_station_id == heat_station}
    t0 = datetime.fromisoformat("2021-12-01T10:00:00+08:00")
    window = (t0, t0 + timedelta(hours=3))
    kept, held, kinds = [], [], Counter[str]()
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = {}
        obj = obj if isinstance(obj, dict) else {}
        mine = obj.get("heat_station_id") == heat_station or obj.get("household_id") in homes
        when = _when(obj)
        if mine and when is not None and window[0] < when <= window[1]:
            held.append(line)
            kinds[obj["kind"]] += 1
            continue
        kept.append(line)
        if held and when is not None and when >= window[1] + timedelta(hours=upload_after_h):
            kept.extend(held)
            held = []
    assert not held and len(kept) == len(lines)
    assert kinds["heat_station"] == 12 and kinds["indoor_temp"] + kinds["heat_meter"] > 0
    return heat_station, kept


@pytest.mark.parametrize("upload_after_h", [3, 20], ids=["same-day", "next-morning"])
def test_the_kafka_path_revises_a_late_heat_station_upload_to_the_ordered_rollups(
    tmp_path: Path, upload_after_h: int
) -> None:
    """A heat station's SCADA, its homes' indoor sensors and heat meters and its stack go
    silent 10:00-13:00 and upload later: the homes' rollups and the station's, daily and
    hourly stack points the worker leaves in InfluxDB equal those of the ordered readings."""
    simulate(SimulationConfig(households=600, days=2, seed=5), tmp_path)
    registry, _ = load_registry_csv(tmp_path / "registry.csv")
    lines = [ln for ln in (tmp_path / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    heat_station, kept = late_heat_upload(registry, lines, upload_after_h)
    runs = {}
    for name, stream in (("ordered", lines), ("late", kept)):
        h = Harness(stream, Router(registry))
        clock = Clock()
        h.run(h.pipeline(registry, clock), clock)
        runs[name] = h
    ordered, late = runs["ordered"], runs["late"]
    assert [d for d in late.dead if d["reason"].startswith("late")] == []
    assert len(late.dead) == len(ordered.dead)
    moment = {b"cold_homes", b"interrupted", b"supply_low"}
    for measurement in (b"household_day", b"heat_station", b"heat_station_daily"):
        got = _point_fields(_last_points(late.written, measurement), moment)
        assert got == _point_fields(_last_points(ordered.written, measurement), moment)
    stack = _last_points(late.written, b"stack_emission_hourly")
    assert stack == _last_points(ordered.written, b"stack_emission_hourly")
    assert any(heat_station.encode() in k for k in stack)
    silence = [
        i
        for i in late.incidents.values()
        if i["kind"] == "comm_loss" and i["entity_id"] == heat_station
    ]
    assert silence and silence[-1]["details"]["resolution"].startswith("communication gap")


def _when(obj: dict[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(obj["ts"])
    except (KeyError, TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def test_a_clock_fast_by_hours_is_a_clock_fault_on_both_paths(
    corpus: tuple[Path, list[Any], list[bytes]], tmp_path: Path
) -> None:
    """Fast by 6 h, inside the stream: live the copies came ahead of time, the replay finds
    the meter's own earlier values in them; both call them clock faults, not conflicts, and
    give the same incidents."""
    sim, registry, _ = corpus
    lines = [ln for ln in (sim / "readings.jsonl").read_bytes().splitlines() if ln.strip()]
    storage = {h.household_id for h in registry if h.heating_device == "storage_heater"}
    lines = _live_corpus(lines, storage, ahead_by=timedelta(hours=6))
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = replay(registry, path, tmp_path / "replay")
    embedded = {
        orjson.loads(line)["incident_id"]: orjson.loads(line)
        for line in (tmp_path / "replay" / "incidents.jsonl").read_bytes().splitlines()
    }
    embedded_dead = Counter(
        _kind(orjson.loads(x)["reason"])
        for x in (tmp_path / "replay" / "dead_letters.jsonl").read_bytes().splitlines()
    )
    h = Harness(lines, Router(registry))
    clock = Clock()
    h.run(h.pipeline(registry, clock), clock)
    live = {i: {k: v for k, v in inc.items() if k != "change"} for i, inc in h.incidents.items()}
    assert live == embedded
    assert Counter(_kind(d["reason"]) for d in h.dead) == embedded_dead
    assert embedded_dead["clock fault"] == 2 and embedded_dead["conflict"] == 12
    assert summary.data["conflicts"] == 12
    fast = orjson.loads(lines[5])
    faults = [i for i in embedded.values() if i["kind"] == "meter_clock_fault"]
    assert [(i["entity_id"], i["started_at"]) for i in faults] == [
        (fast["household_id"], fast["ts"])
    ]
    collided = [d for d in h.dead if "collides with the meter's own reading" in d["reason"]]
    assert len(collided) == 2
