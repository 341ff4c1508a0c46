"""One engine call per batch (``Engine.push_many``, ``streams.ingest.push_decoded``): the same
results and dead letters as pushing reading by reading, record by record."""

from __future__ import annotations

from typing import Any

import orjson

from contract.telemetry import AnyReading
from streams.core.engine import Engine, Rejected
from streams.core.settings import DetectionSettings
from streams.ingest import Decoded, Tally, ingest_record, push_decoded
from tests.unit.streams.scenario import Collected, electric, household

HOMES = [f"H{i}" for i in range(4)]
REGISTRY = [household(h) for h in HOMES]


def _stream() -> list[AnyReading]:
    """A day with a dark home (an outage), an unknown home, a late reading and a re-send
    that conflicts: refusals at admission and after it."""
    out: list[AnyReading] = []
    for s in range(1, 97):
        for h in HOMES:
            if h == "H1" and 20 <= s < 40:
                continue
            out.append(electric(h, s, kwh=0.2))
        if s == 10:
            out.append(electric("NOBODY", s))
        if s == 50:
            out.append(electric("H2", 2))  # far behind: refused as late
            out.append(electric("H3", 50, kwh=0.9))  # a second, different value
    return out


def test_push_many_is_push_one_by_one() -> None:
    readings = _stream()
    one, many = Collected(), Collected()
    e1 = Engine(REGISTRY, DetectionSettings(), one)
    refused_one: list[tuple[int, str]] = []
    for i, r in enumerate(readings):
        try:
            e1.push(r, i)
        except Rejected as exc:
            refused_one.append((i, str(exc)))
    e2 = Engine(REGISTRY, DetectionSettings(), many)
    refused_many: list[tuple[int, str]] = []
    assert e2.push_many(readings, list(range(len(readings))), refused_many) == len(readings)
    assert refused_many == refused_one and refused_one
    e1.flush()
    e2.flush()
    assert one.changes == many.changes and one.changes
    assert one.days == many.days
    assert e1.take_rejections() == e2.take_rejections()


def test_push_many_stops_where_event_time_reaches_stop_at() -> None:
    readings = _stream()
    engine = Engine(REGISTRY, DetectionSettings(), Collected())
    origins = list(range(len(readings)))
    refused: list[tuple[int, str]] = []
    reference = Engine(REGISTRY, DetectionSettings(), Collected())
    first = next(
        i
        for i, r in enumerate(readings)
        if (reference.push_many([r], [i], [], 0), reference.released_until)[1] > 0
    )
    stop = engine.push_many(readings, origins, refused, 0, stop_at=1)
    assert stop == first + 1 and engine.released_until >= 1
    assert engine.push_many(readings, origins, refused, stop) == len(readings)


def test_a_batch_of_records_gives_the_dead_letters_of_record_by_record() -> None:
    """Undecodable records, refused readings and a batch with a bad reading, fed as one
    decoded batch: the same dead letters (origin, index, raw, reason) in input order."""
    records = [orjson.dumps(r.model_dump(mode="json")) for r in _stream()]
    records.insert(5, b"{not json")
    records.insert(9, b"   ")
    bad = orjson.loads(records[20])
    bad["kwh"] = -1.0
    batch = {"kind": "batch", "source": "C1", "readings": [orjson.loads(records[30]), bad]}
    records.insert(40, orjson.dumps(batch))

    def run(one_by_one: bool) -> tuple[list[tuple[Any, ...]], int]:
        engine = Engine(REGISTRY, DetectionSettings(), Collected())
        dead: list[tuple[Any, ...]] = []

        def letter(origin: Any, index: int | None, raw: bytes, reason: str) -> None:
            dead.append((origin, index, raw, reason))

        tally = Tally()
        if one_by_one:
            for n, raw in enumerate(records):
                ingest_record(engine, raw, n, letter, tally)
        else:
            decoded = Decoded(tally)
            for n, raw in enumerate(records):
                decoded.add(raw, n)
            push_decoded(engine, decoded, letter)
        engine.flush()
        push_decoded(engine, Decoded(tally), letter)  # drains what the flush refused
        return dead, engine.counters.accepted

    by_record, batched = run(True), run(False)
    assert batched == by_record
    reasons = [d[3] for d in by_record[0]]
    assert any(r.startswith("malformed JSON") for r in reasons)
    assert any(r.startswith("empty record") for r in reasons)
    assert any(r.startswith("readings[1]: ") for r in reasons)
    assert any(r.startswith("unknown ") for r in reasons)
    assert any(r.startswith("late:") for r in reasons)
