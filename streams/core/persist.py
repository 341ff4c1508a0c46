"""An engine's state as plain, versioned data, and back into a fresh engine.

What is exported is what the input changed: detector state per entity, open incidents, and
the engine's moving parts. What the registry and the settings determine (households, feeders,
stations, their members and locations) and the output wiring are never stored:
``import_state`` fills a fresh ``Engine(registry, settings, output)``, so renaming a class or
moving a module cannot break a stored checkpoint, and a checkpoint holds no code.

Everything here is composed of snapshots that their owners declare, each under its own
format version: the engine's parts (the coordinator's own counters and times, the devices'
identity clocks, the event clock, the stream's start, the reorder buffer, the revisable days,
the open day, the conflicts, the refusals, the sweeps' timer and the clock faults:
``Engine.parts``), the incident book, and each entity's detector state —
a state class's ``snapshot(refs)`` is a row of plain values, what it leaves out (identity,
links, caches) is rebuilt by the fresh engine (``streams/core/state.py``). Incidents are
stored once, by value, and referenced by id (``IncidentRefs``); the buffered readings'
origins (a line number, a Kafka offset and key: the adapters' own data) are made plain
here. tests/unit/streams/test_persist.py checks that an export/import mid-run gives the
uninterrupted run's results and every state field's value.

The result is made of dicts, lists, str, int, float, bool and None only (no I/O here: the
adapter ``streams/checkpoint.py`` serialises it with orjson and compresses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import TypeAdapter

from contract.incidents import Incident
from streams.core.clock import CST
from streams.core.engine import Engine
from streams.core.snapshots import StateFormatError, check_format
from streams.core.state import (
    CountyWeather,
    FeederState,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    IncidentRefs,
    StackState,
    StationState,
)

# 1 was a pickled Engine (streams/checkpoint.py before this module); 2 kept a source's
# identity clock (``last_push``, ``last_ts``) on its household/feeder/station state, one per
# entity whatever the device; 3 keeps it per (reading kind, device) in ``sources``; 4 stores
# the engine as its parts' snapshots (event clock, stream start, reorder buffer, revisable
# days, day close, clock faults) instead of a reflection over the engine's attributes; 5
# stores each entity as the row its state class writes (``snapshot``), under that class's
# format, instead of a reflection over its slots with the slot names in a header; 6 adds
# the devices' identity clocks, the conflicts, the refusals and the sweeps' timer as parts of
# their own (the conflict log, the implausible counts and the comm-scan time left the
# engine's own snapshot; the identity clocks left the ``sources`` block).
STATE_FORMAT = 6

__all__ = ["STATE_FORMAT", "StateFormatError", "export_state", "import_state"]


class EntityState(Protocol):
    """A detector state class: its own row of plain values, under its own format."""

    SNAPSHOT_FORMAT: int

    def snapshot(self, refs: IncidentRefs) -> list[Any]: ...

    def restore(self, row: list[Any], refs: IncidentRefs) -> None: ...


# where each kind of entity is stored: (key in the state, its class)
ENTITY_CLASSES: tuple[tuple[str, type], ...] = (
    ("households", HouseholdState),
    ("feeders", FeederState),
    ("stations", StationState),
    ("weather", CountyWeather),
    ("heat_stations", HeatStationState),
    ("stacks", StackState),
    ("heat_homes", HeatHomeState),
)

_INCIDENT = TypeAdapter(Incident)


def _entities_of(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every entity of the engine by kind, in registry order."""
    heat = engine.heat
    return {
        "households": engine.households,
        "feeders": engine.feeders,
        "stations": engine.stations,
        "weather": engine.weather,
        "heat_stations": heat.stations,
        "stacks": heat.stacks,
        "heat_homes": heat.homes,
    }


# --- a buffered reading's origin: the adapter's data, made plain ------------------------
def _plain_origin(v: Any) -> Any:
    if isinstance(v, bytes):  # a Kafka key
        return {"$bytes": v.hex()}
    if isinstance(v, tuple):  # (origin, index in its batch), (offset, key)
        return {"$tuple": [_plain_origin(x) for x in v]}
    if isinstance(v, list):
        return [_plain_origin(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"a buffered reading's origin holds a {type(v).__name__}: not plain data")


def _origin_back(v: Any) -> Any:
    if isinstance(v, list):
        return [_origin_back(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "$bytes" in v:
        return bytes.fromhex(v["$bytes"])
    if "$tuple" in v:
        return tuple(_origin_back(x) for x in v["$tuple"])
    raise StateFormatError(f"unknown origin tag {sorted(v)}")


# --- export ------------------------------------------------------------------------------
def export_state(engine: Engine) -> dict[str, Any]:
    """The engine's state as plain data (see the module docstring)."""
    ctx = engine.ctx
    if ctx.dirty_feeders or ctx.dirty_stations or engine.heat.dirty:
        raise RuntimeError("export between event-time steps only (roll-ups pending)")
    if engine.rejections:
        raise RuntimeError("export after the adapter drained the engine's rejections only")
    refs = IncidentRefs(dict(ctx.book.open_incidents))
    entities = _entities_of(engine)
    return {
        "format": STATE_FORMAT,
        "book": ctx.book.snapshot(),
        **{
            key: {
                "format": cls.SNAPSHOT_FORMAT,  # type: ignore[attr-defined]
                "rows": {k: obj.snapshot(refs) for k, obj in entities[key].items()},
            }
            for key, cls in ENTITY_CLASSES
        },
        **_parts(engine),
        # last: every incident referenced above has been collected by now
        "incidents": [inc.model_dump(mode="json") for inc in refs.by_id.values()],
    }


def _parts(engine: Engine) -> dict[str, Any]:
    """The engine's parts, each its own versioned snapshot (a buffered reading's origin —
    a line number, a Kafka offset and key — made plain here)."""
    return {
        "engine": engine.own_snapshot(),
        **{name: part.snapshot() for name, part in engine.parts.items()},
        "buffer": engine.buffer.snapshot(_plain_origin),
    }


def _restore_parts(engine: Engine, state: dict[str, Any]) -> None:
    """Each part from its own snapshot; the buffer last, entry by entry, as it was: nothing
    is re-admitted or released."""
    engine.restore_own(state["engine"])
    for name, part in engine.parts.items():
        part.restore(state[name])
    engine.buffer.restore(state["buffer"], _origin_back, engine.devices.entry_of)


# --- import ------------------------------------------------------------------------------
def import_state(engine: Engine, state: dict[str, Any]) -> Engine:
    """Fill a fresh engine (built from the registry, settings and output) with ``state``."""
    version = state.get("format") if isinstance(state, dict) else None
    if version != STATE_FORMAT:
        raise StateFormatError(
            f"engine state format {version!r} cannot be read by this version "
            f"(it reads format {STATE_FORMAT})"
        )
    if engine.released_until or engine.counters.accepted:
        raise RuntimeError("import_state fills a fresh engine only")
    incidents = {}
    for raw in state["incidents"]:
        inc = _INCIDENT.validate_python(raw)
        inc.started_at = inc.started_at.astimezone(CST)
        if inc.ended_at is not None:
            inc.ended_at = inc.ended_at.astimezone(CST)
        incidents[inc.incident_id] = inc
    refs = IncidentRefs(incidents)
    engine.ctx.book.restore(state["book"], incidents)
    entities = _entities_of(engine)
    for key, cls in ENTITY_CLASSES:
        # a county's weather comes with its readings: one not yet seen is made here
        make = CountyWeather if cls is CountyWeather else None
        _restore_entities(key, cls, entities[key], state[key], refs, make)
    _restore_parts(engine, state)
    return engine


def _restore_entities(
    key: str,
    cls: type,
    by_id: dict[str, Any],
    data: dict[str, Any],
    refs: IncidentRefs,
    make: Callable[[], Any] | None,
) -> None:
    check_format(cls.__name__, data, cls.SNAPSHOT_FORMAT)  # type: ignore[attr-defined]
    for k, row in data["rows"].items():
        obj: EntityState | None = by_id.get(k)
        if obj is None:
            if make is None:
                raise StateFormatError(f"{key} {k!r} is in the state but not in the registry")
            obj = by_id[k] = make()
        try:
            obj.restore(row, refs)
        except (TypeError, ValueError) as exc:  # a row of another length or shape
            raise StateFormatError(f"{key} {k!r}: stored row does not fit: {exc}") from exc
