"""The decoder's edge cases that a faster one got wrong (bench/bench_decode.py, issue 23).

msgspec, measured as a replacement for pydantic's ``validate_json``, accepted a ``ts`` ending
in a newline (Python's ``$`` matches before a final newline; the contract's Rust regex does
not). These lines pin what the one ingest path does with each such record, single or inside a
concentrator batch, so that any change of decoder has to keep the same dead letters and codes.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.core.engine import Engine
from streams.core.settings import DetectionSettings
from streams.ingest import Tally, dead_letter_code, drain_rejections, ingest_record
from tests.unit.streams.scenario import electric, household


class _Discard:
    def incident(self, change: object, incident: object) -> None: ...
    def rollups(self, days: object) -> None: ...
    def metric(self, metric: object) -> None: ...


GOOD = orjson.loads(orjson.dumps(electric("H1", 1).model_dump(mode="json")))
TS = GOOD["ts"]

# (what is wrong, the record's JSON text, the expected code, words the reason must contain)
CASES: list[tuple[str, bytes, str, str]] = [
    ("ts ends in a newline", orjson.dumps(GOOD | {"ts": TS + "\n"}), "bad_time", "RFC 3339"),
    ("ts without offset", orjson.dumps(GOOD | {"ts": TS[:19]}), "bad_time", "RFC 3339"),
    ("ts with a lowercase t", orjson.dumps(GOOD | {"ts": TS.replace("T", "t")}), "bad_time", ""),
    (
        "ts in full-width digits (the pattern's \\d is Unicode; the engine refuses it)",
        orjson.dumps(GOOD | {"ts": "２０２１" + TS[4:]}),
        "bad_time",
        "Invalid isoformat",
    ),
    ("30 February", orjson.dumps(GOOD | {"ts": "2021-02-30" + TS[10:]}), "bad_time", ""),
    ("NaN", orjson.dumps(GOOD).replace(b'"kwh":0.5', b'"kwh":NaN'), "schema", "finite"),
    ("1e400", orjson.dumps(GOOD).replace(b'"kwh":0.5', b'"kwh":1e400'), "schema", "finite"),
    ("interval as a float", orjson.dumps(GOOD | {"interval_s": 900.0}), "schema", "integer"),
    ("a number as a string", orjson.dumps(GOOD | {"kwh": "0.5"}), "schema", "number"),
    ("true as a number", orjson.dumps(GOOD | {"kw": True}), "schema", "number"),
    ("negative energy", orjson.dumps(GOOD | {"kwh": -0.1}), "schema", "negative energy"),
    ("empty household id", orjson.dumps(GOOD | {"household_id": ""}), "schema", ""),
    ("unknown kind", orjson.dumps(GOOD | {"kind": "water"}), "unknown_kind", ""),
    ("trailing text", orjson.dumps(GOOD) + b" x", "malformed_json", ""),
]


def _dead_letters(records: list[bytes]) -> list[tuple[Any, int | None, str]]:
    engine = Engine([household("H1")], DetectionSettings(), _Discard())  # type: ignore[arg-type]
    out: list[tuple[Any, int | None, str]] = []

    def dead(origin: Any, index: int | None, raw: bytes, reason: str) -> None:
        out.append((origin, index, reason))

    tally = Tally()
    for n, raw in enumerate(records):
        ingest_record(engine, raw, n, dead, tally)
    engine.flush()
    drain_rejections(engine, dead)
    return out


def test_the_reference_reading_is_accepted() -> None:
    assert GOOD["kwh"] == 0.5  # the byte replacements below rely on it
    assert _dead_letters([orjson.dumps(GOOD)]) == []


@pytest.mark.parametrize(("what", "raw", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_single_record(what: str, raw: bytes, code: str, words: str) -> None:
    [(origin, index, reason)] = _dead_letters([raw])
    assert (origin, index, dead_letter_code(reason)) == (0, None, code), reason
    assert words in reason


@pytest.mark.parametrize(
    ("what", "raw", "code", "words"), CASES[:-2], ids=[c[0] for c in CASES[:-2]]
)
def test_the_same_reading_inside_a_batch_loses_only_itself(
    what: str, raw: bytes, code: str, words: str
) -> None:
    """Beside a good reading of the next interval: that one is kept, this one dead-lettered
    at its index with the same code (a batch item's reason is prefixed ``readings[i]: ``)."""
    good = orjson.dumps(orjson.loads(orjson.dumps(electric("H1", 2).model_dump(mode="json"))))
    batch = b'{"kind":"batch","source":"C1","readings":[' + good + b"," + raw + b"]}"
    [(origin, index, reason)] = _dead_letters([batch])
    assert (origin, index, dead_letter_code(reason)) == (0, 1, code), reason
    assert reason.startswith("readings[1]: ")
    assert words in reason
