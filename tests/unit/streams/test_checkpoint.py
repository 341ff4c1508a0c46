"""Checkpoint blobs: versioned plain data; a checkpoint of the previous format is refused."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from streams.checkpoint import FORMAT, CheckpointFormatError, decode

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v1.json"


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


def test_no_manifest_means_no_checkpoint() -> None:
    assert decode(0, {}.get) is None
