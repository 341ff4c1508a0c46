"""What every part's ``snapshot()`` / ``restore()`` shares: a format version per part, and
plain data only (JSON: str keys, lists, no tuples), so a checkpoint holds no code and a part
can change its layout without touching another's.

A part's snapshot is ``{"format": N, ...}``; ``restore`` refuses any other N with a message
naming both versions (``streams/core/persist.py`` composes the parts' snapshots).
"""

from __future__ import annotations

from typing import Any

from contract.incidents import Incident


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


class IncidentRefs:
    """Incidents in a state's snapshot, by id: each stored once (the checkpoint's list of
    incidents), and after ``restore`` the very object the book holds, so a household's
    ``outage`` and the open incident are one again.

    A state class's ``snapshot(refs)`` writes ``refs.ref(incident)`` where it holds an
    incident, its ``restore(row, refs)`` reads it back with ``refs.get``."""

    __slots__ = ("by_id",)

    def __init__(self, by_id: dict[str, Incident] | None = None) -> None:
        self.by_id: dict[str, Incident] = {} if by_id is None else by_id

    def ref(self, incident: Incident | None) -> str | None:
        if incident is None:
            return None
        self.by_id.setdefault(incident.incident_id, incident)
        return incident.incident_id

    def get(self, ref: str | None) -> Incident | None:
        if ref is None:
            return None
        try:
            return self.by_id[ref]
        except KeyError:
            raise StateFormatError(f"incident {ref!r} is referenced but not stored") from None

    def gaps(self, gaps: list[list[Any]] | None) -> list[list[Any]] | None:
        """A source's unreported steps ``[start, end, the comm incident then open]``."""
        if gaps is None:
            return None
        return [[start, end, self.ref(incident)] for start, end, incident in gaps]

    def gaps_back(self, rows: list[list[Any]] | None) -> list[list[Any]] | None:
        if rows is None:
            return None
        return [[start, end, self.get(ref)] for start, end, ref in rows]


def by_number(rows: dict[int, list[float]]) -> list[list[Any]]:
    """A map keyed by numbers (a learned normal's outdoor bands) as ``[[key, [values]], ...]``;
    the values copied (the snapshot must not share lists the engine goes on changing)."""
    return [[k, list(v)] for k, v in rows.items()]


def from_by_number(rows: list[list[Any]]) -> dict[int, list[float]]:
    return {int(k): v for k, v in rows}
