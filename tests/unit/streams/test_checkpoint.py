"""Checkpoint blobs: versioned plain data; checkpoints of earlier formats are refused."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from streams.checkpoint import FORMAT, CheckpointFormatError, decode, import_engine
from streams.core.persist import StateFormatError
from streams.core.settings import DetectionSettings

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v1.json"
# written by main 9bae4b6 (format 4: entities as a reflection over their slots, with the slot
# names in a header) from 60 simulated households, 3,000 lines in
FIXTURE_V4 = Path(__file__).parent / "fixtures" / "checkpoint_v4.json"


def test_a_format_1_checkpoint_is_refused_naming_both_versions() -> None:
    """Written by the previous version (a pickled Engine): refused, never unpickled."""
    doc = orjson.loads(FIXTURE.read_bytes())
    store = {k.encode(): base64.b64decode(v) for k, v in doc["entries"]}
    assert any(v.startswith(b"x") for v in store.values())  # zlib of the pickle is there
    with pytest.raises(CheckpointFormatError) as err:
        decode(doc["partition"], store.get)
    message = str(err.value)
    assert "format 1" in message and f"reads format {FORMAT} only" in message
    assert "offset 39" in message and FORMAT != 1


def test_a_format_4_checkpoint_is_refused_by_its_manifest_and_by_its_state() -> None:
    """The previous version's checkpoint: its manifest is refused naming both versions, and
    its engine state, were it read past the manifest, is refused too (never half-filled)."""
    doc = orjson.loads(FIXTURE_V4.read_bytes())
    store = {k.encode(): base64.b64decode(v) for k, v in doc["entries"]}
    with pytest.raises(CheckpointFormatError) as err:
        decode(doc["partition"], store.get)
    message = str(err.value)
    assert "format 4" in message and f"reads format {FORMAT} only" in message
    assert "offset 2999" in message and FORMAT != 4
    blob = store[b"p0/s0/0"]
    with pytest.raises(StateFormatError, match=rf"format 4 .*reads format {FORMAT}"):
        import_engine(blob, [], DetectionSettings(), _Quiet())


class _Quiet:
    def incident(self, change: object, incident: object) -> None: ...

    def rollups(self, days: object) -> None: ...

    def metric(self, metric: object) -> None: ...


def test_no_manifest_means_no_checkpoint() -> None:
    assert decode(0, {}.get) is None
