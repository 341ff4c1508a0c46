"""The one ingest path of both runners: decode a record, salvage a batch's good readings,
push into the engine, and say why a record was refused in words an integrator can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from contract.glossary import DEAD_LETTER_REASONS
from contract.telemetry import WIRE_ADAPTER, Batch, Reading
from streams.core.engine import Engine
from streams.core.sources import SOURCE_KINDS

_READING_ADAPTER: TypeAdapter[Any] = TypeAdapter(Reading)

_TIME_TYPES = {"datetime_parsing", "datetime_type", "datetime_from_date_parsing", "timezone_aware"}
_TYPE_ERRORS = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "string_type",
    "bool_type",
    "list_type",
    "model_type",
    "dict_type",
    "literal_error",
    "model_attributes_type",
}


def describe_validation_error(exc: ValidationError) -> str:
    """``<category>: <field>: <message>`` for the first error (and how many more)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    etype = first["type"]
    loc = ".".join(str(p) for p in first["loc"] if not _is_union_tag(p)) or "-"
    field = str(first["loc"][-1]) if first["loc"] else ""
    if etype == "json_invalid":
        category = "malformed JSON"
    elif etype in ("union_tag_invalid", "union_tag_not_found"):
        category = "unknown kind" if etype == "union_tag_invalid" else "missing kind"
    elif etype in _TIME_TYPES or field == "ts":
        category = "unparseable time"
    elif etype in ("greater_than_equal", "greater_than") and field in ("kwh", "m3"):
        category = "negative energy" if field == "kwh" else "negative volume"
    elif etype == "missing":
        category = "missing field"
    elif etype in _TYPE_ERRORS:
        category = "wrong type"
    else:
        category = "invalid value"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    message = first["msg"]
    if category == "unparseable time" and etype == "string_pattern_mismatch":
        message = (
            "expected RFC 3339 with a UTC offset, e.g. 2021-12-01T08:15:00+08:00; "
            f"got {first['input']!r}"
        )
    return f"{category}: {loc}: {message}{more}"


# The tags pydantic puts in an error's location for the discriminated unions: every reading
# kind (``streams/core/sources.py``) and the batch. Left out, a field reads ``temp_c``
# whatever the kind, as it does for the kinds' own fields.
_UNION_TAGS = frozenset(SOURCE_KINDS) | {"batch"}


def _is_union_tag(part: Any) -> bool:
    return part in _UNION_TAGS


# --- dead-letter codes ----------------------------------------------------------------------
# Every reason starts with its category, written by ``describe_validation_error`` above, by
# ``_undecodable`` ("empty record") or by the engine (``core/refusals.py``, ``core/conflicts.py``:
# "late:", "conflict:", "clock fault:", "implausible:", "unknown <device> …"); a batch's
# reading is prefixed "readings[i]: ". Its code is stable (dashboards, alerts, the console
# summary count by it) and has its 中文 words in the glossary (``DEAD_LETTER_REASONS``).
_CODE_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("empty record", "empty"),
    ("malformed JSON", "malformed_json"),
    ("unknown kind", "unknown_kind"),
    ("missing kind", "unknown_kind"),
    ("unparseable time", "bad_time"),
    ("missing field", "schema"),
    ("wrong type", "schema"),
    ("invalid value", "schema"),
    ("negative energy", "schema"),
    ("negative volume", "schema"),
    ("unknown ", "unknown_source"),
    ("late:", "late"),
    ("conflict:", "conflict"),
    ("clock fault:", "clock_fault"),
    ("implausible:", "implausible"),
)
_READING_INDEX = re.compile(r"readings\[\d+\]: ")


def dead_letter_code(reason: str) -> str:
    """The stable code of a dead letter's reason (``other`` for none of the known ones)."""
    at = _READING_INDEX.match(reason)
    text = reason[at.end() :] if at else reason
    for prefix, code in _CODE_BY_PREFIX:
        if text.startswith(prefix):
            return code
    return "other"


def dead_letter_fields(reason: str) -> dict[str, str]:
    """What every dead letter carries besides its origin and raw record, on both runners:
    ``code``, the English ``reason`` (the detail) and ``reason_zh`` (the code's words)."""
    code = dead_letter_code(reason)
    return {"code": code, "reason": reason, "reason_zh": DEAD_LETTER_REASONS[code].zh}


def validate_batch_readings(line: bytes) -> list[tuple[int, Any, bytes, str]] | None:
    """Validate a batch's readings one by one: ``(index, reading or None, raw, reason)``.

    A batch whose JSON is broken (a reading truncated inside it, a concentrator's garbled
    upload) keeps its whole readings too (``split_broken_batch``): whatever its size, only
    what cannot be read is dead-lettered, reading by reading. Returns None when the line is
    not a batch at all (then the whole line is dead-lettered).
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        pieces = split_broken_batch(line)
        return None if pieces is None else [_validated(i, raw) for i, raw in enumerate(pieces)]
    if not isinstance(obj, dict) or obj.get("kind") != "batch":
        return None
    readings = obj.get("readings")
    if not isinstance(readings, list) or not isinstance(obj.get("source"), str):
        return None
    return [_validated(i, orjson.dumps(item)) for i, item in enumerate(readings)]


def _validated(index: int, raw: bytes) -> tuple[int, Any, bytes, str]:
    try:
        return (index, _READING_ADAPTER.validate_json(raw), raw, "")
    except ValidationError as exc:
        return (index, None, raw, describe_validation_error(exc))


_BATCH_KIND = re.compile(rb'"kind"\s*:\s*"batch"')
_BATCH_SOURCE = re.compile(rb'"source"\s*:\s*"[^"\\]+"')
_READINGS_OPEN = re.compile(rb'"readings"\s*:\s*\[')
_OBJECT_OPEN = re.compile(rb"\{")


def split_broken_batch(line: bytes) -> list[bytes] | None:
    """The readings of a batch whose JSON does not parse, as raw pieces, one per reading.

    A reading is a flat JSON object (no nested object in the contract), so each ``{`` inside
    the ``readings`` array starts one: a piece runs to the next ``{`` (its separator and
    whitespace trimmed). A truncated reading is one piece that will not parse — dead-lettered
    with the parser's reason — and does not take its neighbours with it. None when the line
    does not say it is a batch from a concentrator (then the whole line is dead-lettered).
    """
    opened = _READINGS_OPEN.search(line)
    if opened is None or _BATCH_KIND.search(line) is None or _BATCH_SOURCE.search(line) is None:
        return None
    close = line.rfind(b"]")
    body = line[opened.end() : close if close > opened.end() else len(line)]
    starts = [m.start() for m in _OBJECT_OPEN.finditer(body)]
    if not starts:
        return None
    ends = [*starts[1:], len(body)]
    return [body[a:b].strip().rstrip(b",").rstrip() for a, b in zip(starts, ends, strict=True)]


# --- the one ingest path (both runners) -----------------------------------------------------
# Decoding, batch salvage, dead-lettering and admission into the engine live here once, so the
# embedded runner and the Kafka worker cannot drift apart again. A runner passes each record
# (a JSONL line, a Kafka value) with an ``origin`` it chooses (plain data: a line number, a
# (partition, offset, key, line) tuple); every reading not used comes back through ``dead``
# with that origin, the reading's index in its batch (or None) and a reason. A reading of a
# batch is pushed with ``(origin, index)``, a single one with ``origin`` itself (no tuple per
# reading on the hot path): an origin must therefore not itself be a 2-tuple.

DeadLetterFn = Callable[[Any, int | None, bytes, str], None]
_BOM = b"\xef\xbb\xbf"
_validate_wire = WIRE_ADAPTER.validator.validate_json  # skips TypeAdapter's wrapper (~0.3 µs)


class Tally:
    """What one runner received. Single readings are not counted one by one (the hot path):
    they are the records fed minus those that were batches or could not be decoded."""

    __slots__ = ("batch_readings", "batches", "records", "undecodable")

    def __init__(self) -> None:
        self.records = 0  # set by the runner: records fed
        self.undecodable = 0
        self.batches = 0
        self.batch_readings = 0

    @property
    def readings(self) -> int:
        return self.records - self.undecodable - self.batches + self.batch_readings


class Decoded:
    """Records of one runner's batch (a Kafka batch, a chunk of a file), decoded: the
    readings to push with their origins, and what could not be decoded, in input order.

    Filled record by record (``add``), pushed into the engine in one call
    (``push_decoded``), then ``clear``-ed for the next batch. A batch's reading is pushed
    with ``(origin, index)``, a single one with ``origin`` itself (no tuple per reading on
    the hot path): an origin must therefore not itself be a 2-tuple."""

    __slots__ = ("_emitted", "failed", "origins", "raws", "readings", "tally")

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.readings: list[Any] = []
        self.origins: list[Any] = []
        # A single reading's record (its dead letter's raw) or a salvaged reading's bytes;
        # None: written from the reading itself, as a batch's reading always was.
        self.raws: list[bytes | None] = []
        # What could not be decoded: (readings before it, origin, index, raw, reason).
        self.failed: list[tuple[int, Any, int | None, bytes, str]] = []
        self._emitted = 0  # ``failed`` entries dead-lettered so far

    def clear(self) -> None:
        self.readings.clear()
        self.origins.clear()
        self.raws.clear()
        self.failed.clear()
        self._emitted = 0

    def add(self, raw: bytes, origin: Any) -> None:
        """Decode one record (the tally counts its batch and batch readings)."""
        try:
            msg = _validate_wire(raw)  # the JSON parser skips surrounding whitespace itself
        except ValidationError as exc:
            self._undecodable(raw, origin, exc)
            return
        if type(msg) is Batch:
            items = msg.readings
            tally = self.tally
            tally.batches += 1
            tally.batch_readings += len(items)
            self.readings.extend(items)
            self.origins.extend([(origin, i) for i in range(len(items))])
            self.raws.extend([None] * len(items))
        else:
            self.readings.append(msg)
            self.origins.append(origin)
            self.raws.append(raw)

    def add_piece(self, raw: bytes, origin: Any, index: int) -> None:
        """One reading of a concentrator batch that the on-disk ordering
        (``streams.eventorder``) split out of its line because the batch spans several
        times: counted and pushed exactly as the reading at ``index`` of the whole line, so a
        split changes nothing but the order."""
        tally = self.tally
        if index == 0:
            tally.batches += 1
        tally.batch_readings += 1
        self.readings.append(_READING_ADAPTER.validate_json(raw))  # validated when split
        self.origins.append((origin, index))
        self.raws.append(None)

    def _fail(self, origin: Any, index: int | None, raw: bytes, reason: str) -> None:
        self.failed.append((len(self.readings), origin, index, raw, reason))

    def _undecodable(self, raw: bytes, origin: Any, exc: ValidationError) -> None:
        tally = self.tally
        stripped = raw.strip()
        if not stripped:
            tally.undecodable += 1
            self._fail(origin, None, raw, "empty record")
            return
        if stripped.startswith(_BOM):  # a BOM on the first line of a file saved by Windows
            self.add(stripped[len(_BOM) :], origin)
            return
        salvaged = validate_batch_readings(stripped) if b'"batch"' in stripped else None
        if salvaged is None:
            tally.undecodable += 1
            if len(stripped) != len(raw):
                # The parser's position counts the line's end (a file's "\n": line 2 column
                # 0) where a Kafka value has none (line 1 column 132): the reason is the
                # record's own, without surrounding whitespace, identical on both runners.
                try:
                    _validate_wire(stripped)
                except ValidationError as again:
                    exc = again
            self._fail(origin, None, stripped, describe_validation_error(exc))
            return
        tally.batches += 1
        for index, reading, item, reason in salvaged:
            tally.batch_readings += 1
            if reading is None:
                self._fail(origin, index, item, f"readings[{index}]: {reason}")
            else:
                self.readings.append(reading)
                self.origins.append((origin, index))
                self.raws.append(item)


def push_decoded(
    engine: Engine,
    decoded: Decoded,
    dead: DeadLetterFn,
    start: int = 0,
    stop_at: int | None = None,
) -> int:
    """Push ``decoded``'s readings from ``start`` in one engine call (``Engine.push_many``)
    and dead-letter, in input order, what could not be decoded or was refused at admission,
    then what the engine refused after admitting it (held readings, a conflict's loser).
    ``stop_at``: as ``Engine.push_many``; returns the index of the next reading to push."""
    readings, origins, raws, failed = (
        decoded.readings,
        decoded.origins,
        decoded.raws,
        decoded.failed,
    )
    refused: list[tuple[int, str]] = []
    end = engine.push_many(readings, origins, refused, start, stop_at)
    done = decoded._emitted
    for i, reason in refused:
        while done < len(failed) and failed[done][0] <= i:
            dead(*failed[done][1:])
            done += 1
        at, raw = origins[i], raws[i]
        if type(at) is tuple and len(at) == 2:  # a batch's reading: (origin, index)
            origin, index = at
            item = raw if raw is not None else _reading_bytes(readings[i])
            dead(origin, index, item, f"readings[{index}]: {reason}")
        else:
            dead(at, None, (raw or b"").strip(), reason)
    whole = end >= len(readings)
    while done < len(failed) and (whole or failed[done][0] < end):
        dead(*failed[done][1:])
        done += 1
    decoded._emitted = done
    if engine.rejections:
        drain_rejections(engine, dead)
    return end


def record_feeder(engine: Engine, dead: DeadLetterFn, tally: Tally) -> Callable[[bytes, Any], None]:
    """``feed(raw, origin)``: one record through ``Decoded`` and ``push_decoded`` (a runner
    that gets records one at a time, e.g. the peer benchmark's Quix app)."""
    decoded = Decoded(tally)

    def feed(raw: bytes, origin: Any) -> None:
        decoded.add(raw, origin)
        push_decoded(engine, decoded, dead)
        decoded.clear()

    return feed


def ingest_record(
    engine: Engine, raw: bytes, origin: Any, dead: DeadLetterFn, tally: Tally
) -> None:
    """One record through ``record_feeder`` (counted in ``tally.records``)."""
    tally.records += 1
    record_feeder(engine, dead, tally)(raw, origin)


def drain_rejections(engine: Engine, dead: DeadLetterFn) -> None:
    """Dead-letter what the engine refused after admitting it (held readings whose time never
    came, the losing side of a conflict): the origin it was pushed with comes back."""
    for pushed_with, reading, reason in engine.take_rejections():
        pair = isinstance(pushed_with, tuple) and len(pushed_with) == 2
        origin, index = pushed_with if pair else (pushed_with, None)
        prefix = f"readings[{index}]: " if index is not None else ""
        dead(origin, index, _reading_bytes(reading), prefix + reason)


def _reading_bytes(reading: Any) -> bytes:
    return orjson.dumps(reading.model_dump(mode="json"))
