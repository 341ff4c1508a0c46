"""Export/import of one partition's engine state, for the checkpoint table's changelog.

A checkpoint is the whole ``Engine`` (detector state, open incidents, the event-time reorder
buffer) pickled and zlib-compressed, plus the offset of the last record folded into it. It is
taken only when every result produced so far has been written to InfluxDB, and Kafka offsets
are committed only up to it, so "restore the checkpoint, skip records at or below its offset,
replay the rest" reproduces an uninterrupted run (results are deterministic and overwrite).

Blobs larger than ``CHUNK_BYTES`` are split over several table keys (Kafka's default record
limit is 1 MB); chunks alternate between two slots so a crash half-way through writing a new
checkpoint leaves the previous one whole.
"""

from __future__ import annotations

import hashlib
import pickle
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from streams.core.context import EngineOutput
from streams.core.engine import Engine

CHUNK_BYTES = 512 * 1024
FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    partition: int
    offset: int  # last source offset folded into the state (-1: none)
    engine_blob: bytes


def export_engine(engine: Engine) -> bytes:
    """Pickle an engine without its output (which holds sockets and buffers)."""
    output = engine.output
    listener = engine.ctx.book._listener
    engine.output = None  # type: ignore[assignment]
    engine.ctx.output = None  # type: ignore[assignment]
    engine.ctx.book._listener = None  # type: ignore[assignment]
    try:
        return zlib.compress(pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL), 1)
    finally:
        engine.output = output
        engine.ctx.output = output
        engine.ctx.book._listener = listener


def import_engine(blob: bytes, output: EngineOutput) -> Engine:
    engine = pickle.loads(zlib.decompress(blob))
    if not isinstance(engine, Engine):
        raise TypeError(f"checkpoint holds {type(engine).__name__}, not an Engine")
    engine.output = output
    engine.ctx.output = output
    engine.ctx.book._listener = output.incident
    return engine


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
    if not raw:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) and value.get("format") == FORMAT else None


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
