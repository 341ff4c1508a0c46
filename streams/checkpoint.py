"""One partition's checkpoint: the engine's state as versioned plain data, serialised.

A checkpoint is ``streams.core.persist.export_state`` (plain data, no classes, no output
wiring) as orjson, zlib-compressed, plus the offset of the last record folded into it. It is
taken only when every result produced so far has been written to InfluxDB, and Kafka offsets
are committed only up to it, so "restore the checkpoint, skip records at or below its offset,
replay the rest" reproduces an uninterrupted run (results are deterministic and overwrite).

Blobs larger than ``CHUNK_BYTES`` are split over several keys (Kafka's default record limit
is 1 MB); chunks alternate between two slots so a crash half-way through writing a new
checkpoint leaves the previous one whole. The manifest carries the format version: a
checkpoint of another version is refused with both versions named (format 1, a pickled
``Engine``, cannot be read safely and is not migrated: replaying the topic rebuilds it).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from contract.registry import Household
from streams.core.context import EngineOutput
from streams.core.engine import Engine
from streams.core.persist import STATE_FORMAT, export_state, import_state
from streams.core.settings import DetectionSettings

CHUNK_BYTES = 512 * 1024
FORMAT = STATE_FORMAT  # the manifest's format is the engine state's format


class CheckpointFormatError(ValueError):
    """A stored checkpoint of a format this version does not read."""


@dataclass(frozen=True)
class Checkpoint:
    partition: int
    offset: int  # last source offset folded into the state (-1: none)
    engine_blob: bytes


def export_engine(engine: Engine) -> bytes:
    """The engine's state, serialised (orjson) and compressed (zlib, fast level)."""
    return zlib.compress(orjson.dumps(export_state(engine)), 1)


def import_engine(
    blob: bytes,
    registry: list[Household],
    settings: DetectionSettings,
    output: EngineOutput,
) -> Engine:
    """A fresh engine for ``registry`` with ``output`` wired once, filled from ``blob``."""
    state: Any = orjson.loads(zlib.decompress(blob))
    return import_state(Engine(registry, settings, output), state)


def manifest_key(partition: int) -> bytes:
    return f"p{partition}".encode()


def chunk_key(partition: int, slot: int, index: int) -> bytes:
    return f"p{partition}/s{slot}/{index}".encode()


def encode(checkpoint: Checkpoint, previous_slot: int | None) -> list[tuple[bytes, bytes]]:
    """Table entries to write, in order: chunks first, the manifest last."""
    blob = checkpoint.engine_blob
    slot = 0 if previous_slot in (None, 1) else 1
    chunks = [blob[i : i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)] or [b""]
    entries = [(chunk_key(checkpoint.partition, slot, i), c) for i, c in enumerate(chunks)]
    manifest = {
        "format": FORMAT,
        "partition": checkpoint.partition,
        "offset": checkpoint.offset,
        "slot": slot,
        "chunks": len(chunks),
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    entries.append((manifest_key(checkpoint.partition), orjson.dumps(manifest)))
    return entries


def manifest_of(raw: bytes | None) -> dict[str, object] | None:
    """The manifest, or None if there is none; raises ``CheckpointFormatError`` for a
    manifest of another format version."""
    if not raw:
        return None
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise CheckpointFormatError(f"checkpoint manifest is not an object: {raw[:80]!r}")
    if value.get("format") != FORMAT:
        raise CheckpointFormatError(
            f"checkpoint of partition {value.get('partition')} at offset {value.get('offset')} "
            f"has format {value.get('format')!r}; this version reads format {FORMAT} only. "
            "Replay the partition from the start of the topic (reset the group's offsets) "
            "to rebuild it."
        )
    return value


def decode(partition: int, get: Callable[[bytes], bytes | None]) -> tuple[Checkpoint, int] | None:
    """Read the latest whole checkpoint of a partition: ``(checkpoint, slot)`` or None."""
    manifest = manifest_of(get(manifest_key(partition)))
    if manifest is None:
        return None
    slot = int(manifest["slot"])  # type: ignore[call-overload]
    n = int(manifest["chunks"])  # type: ignore[call-overload]
    parts = []
    for i in range(n):
        part = get(chunk_key(partition, slot, i))
        if part is None:
            return None
        parts.append(part)
    blob = b"".join(parts)
    if hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        return None
    return Checkpoint(partition, int(manifest["offset"]), blob), slot  # type: ignore[call-overload]


def decode_from_mapping(
    partition: int, data: Mapping[bytes, bytes]
) -> tuple[Checkpoint, int] | None:
    return decode(partition, data.get)
