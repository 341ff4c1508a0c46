"""Kafka records of one partition into its engine, through the one ingest path.

``RecordFeed`` is built once per partition (not a closure per record): it decodes each
record with ``streams.ingest`` exactly as the embedded runner does, and sends what cannot be
used to the dead-letter topic with its origin (partition, offset, key, the producer's input
line number) and the reason's code and words. The origin travels as plain data: it may sit in
the engine's buffer and in checkpoints, and comes back with a reading the engine refuses later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from streams.core.engine import Engine
from streams.ingest import Decoded, Tally, dead_letter_fields, drain_rejections, push_decoded

SendFn = Callable[[bytes | None, bytes], None]
# The header of a record grouped by the producer: ``<line>:<bytes>,…``, one per reading.
LINES_HEADER = "lines"
_READINGS_OPEN = b',"readings":['


@dataclass(frozen=True)
class Origin:
    partition: int
    offset: int
    key: bytes | None
    line_no: int | None


def line_no(headers: Any) -> int | None:
    """The producer's ``line`` header (input line number), for dead-letter reports."""
    return _line_numbers(headers)[0]


def _line_numbers(headers: Any) -> tuple[int | None, bytes | None]:
    """The ``line`` header as a number and the raw ``lines`` header of a grouped record."""
    if not headers:
        return None, None
    items = headers.items() if isinstance(headers, dict) else headers
    line: int | None = None
    lines: bytes | None = None
    for name, value in items:
        if name == "line":
            try:
                line = int(value)
            except (TypeError, ValueError):
                line = None
        elif name == LINES_HEADER:
            lines = bytes(value) if value is not None else None
    return line, lines


def split_grouped(value: bytes, lines: bytes) -> list[tuple[int, bytes]] | None:
    """The input lines of a record the producer grouped (``producers.kafka_producer.Grouper``):
    ``(line number, line)`` per reading, or None when the record does not match its header
    (then it is read as the batch it is)."""
    start = value.find(_READINGS_OPEN)
    if start < 0:
        return None
    at = start + len(_READINGS_OPEN)
    out: list[tuple[int, bytes]] = []
    try:
        for spec in lines.split(b","):
            n, size = spec.split(b":")
            end = at + int(size)
            out.append((int(n), value[at:end]))
            at = end + 1  # the comma, or the closing bracket
    except ValueError:
        return None
    if not out or value[at - 1 :] != b"]}":
        return None
    return out


class RecordFeed:
    """One partition's records → its engine; dead letters → ``send_dead_letter``."""

    def __init__(
        self, partition: int, engine: Engine, send_dead_letter: SendFn, counts: Counter[str]
    ) -> None:
        self.partition = partition
        self.engine = engine
        self.send_dead_letter = send_dead_letter
        self.counts = counts
        self.tally = Tally()
        self.dead_letters = 0
        self._decoded = Decoded(self.tally)

    @property
    def readings(self) -> int:
        return self.tally.readings

    @property
    def added(self) -> int:
        """Readings decoded by ``add`` and not yet cleared."""
        return len(self._decoded.readings)

    def push(self, offset: int, key: bytes | None, value: Any, headers: Any = None) -> None:
        """One record: ``add``, ``push_added``, ``clear``."""
        self.add(offset, key, value, headers)
        self.push_added()
        self.clear()

    def add(self, offset: int, key: bytes | None, value: Any, headers: Any = None) -> None:
        """Decode one record into this partition's batch (``streams.ingest.Decoded``).

        A record the producer grouped (a ``lines`` header) is decoded line by line, each with
        its own input line number: exactly as if each line had come as a record of its own
        (the same dead letters, words and line numbers as the embedded runner reading the
        file); the per-record cost of Kafka and Faust was paid once for all of them."""
        raw = value if isinstance(value, bytes) else bytes(value or b"")
        line, lines = _line_numbers(headers)
        add = self._decoded.add
        if lines is not None:
            grouped = split_grouped(raw, lines)
            if grouped is not None:
                self.tally.records += len(grouped)
                partition = self.partition
                for n, item in grouped:
                    add(item, (partition, offset, key, n))
                return
        self.tally.records += 1
        add(raw, (self.partition, offset, key, line))

    def push_added(self, start: int = 0, stop_at: int | None = None) -> int:
        """The added records' readings from ``start`` into the engine in one call, their dead
        letters out (``streams.ingest.push_decoded``; ``stop_at`` as ``Engine.push_many``).
        Returns the index of the next reading to push."""
        return push_decoded(self.engine, self._decoded, self._dead_at, start, stop_at)

    def clear(self) -> None:
        self._decoded.clear()

    def _dead_at(self, at: Any, index: int | None, item: bytes, reason: str) -> None:
        self.dead(Origin(*at), item, reason, index)

    def drain(self, last_offset: int) -> None:
        """Dead-letter what the engine refused at its end of input (held readings)."""

        def dead(at: Any, index: int | None, item: bytes, reason: str) -> None:
            origin = Origin(*at) if at else Origin(self.partition, last_offset, None, None)
            self.dead(origin, item, reason, index)

        drain_rejections(self.engine, dead)

    def dead(self, origin: Origin, raw: bytes, reason: str, index: int | None = None) -> None:
        self.dead_letters += 1
        self.counts["dead_letters"] += 1
        payload = {
            "line_no": origin.line_no,
            "raw": raw.decode("utf-8", "replace"),
            **dead_letter_fields(reason),  # code, reason, reason_zh: as dead_letters.jsonl
            "partition": origin.partition,
            "offset": origin.offset,
            "index": index,
        }
        self.send_dead_letter(origin.key, orjson.dumps(payload))
