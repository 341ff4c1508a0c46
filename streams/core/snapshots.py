"""What every part's ``snapshot()`` / ``restore()`` shares: a format version per part, and
plain data only (JSON: str keys, lists, no tuples), so a checkpoint holds no code and a part
can change its layout without touching another's.

A part's snapshot is ``{"format": N, ...}``; ``restore`` refuses any other N with a message
naming both versions (``streams/core/persist.py`` composes the parts' snapshots).
"""

from __future__ import annotations

from typing import Any, Protocol


class Part(Protocol):
    """An engine part: its moving state as versioned plain data, and back."""

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...


class StateFormatError(ValueError):
    """A stored state this code cannot read (another format version, or damaged)."""


def check_format(part: str, data: Any, version: int) -> None:
    """Refuse a part's snapshot of another format, naming both versions."""
    stored = data.get("format") if isinstance(data, dict) else None
    if stored != version:
        raise StateFormatError(
            f"{part} state format {stored!r} cannot be read by this version "
            f"(it reads format {version})"
        )


def int_keyed(by_ts: dict[int, Any]) -> list[list[Any]]:
    """A map keyed by timestamps as ``[[ts, value], ...]`` (JSON keys are strings)."""
    return [[k, v] for k, v in by_ts.items()]


def from_int_keyed(rows: list[list[Any]]) -> dict[int, Any]:
    return {int(k): v for k, v in rows}
