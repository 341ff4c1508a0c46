"""An engine's state as plain, versioned data, and back into a fresh engine.

What is exported is what the input changed: detector state per entity, open incidents, and
the engine's moving parts. What the registry and the settings determine (households, feeders,
stations, their members and locations) and the output wiring are never stored:
``import_state`` fills a fresh ``Engine(registry, settings, output)``, so renaming a class or
moving a module cannot break a stored checkpoint, and a checkpoint holds no code.

The engine's parts — the coordinator's own counters and times, the devices' identity clocks,
the event clock, the stream's start, the reorder buffer, the revisable days, the open day,
the conflicts, the refusals, the sweeps' timer and the clock faults — each give
their own versioned ``snapshot()`` and take it back with ``restore()``; this module composes
them (a part's layout is its own business, ``streams/core/snapshots.py``).

Detector state per entity is exported generically: every ``__slots__`` entry of a state class
is exported unless it is declared derived below, so a field added later is carried without an
edit here. A value must be plain data (None, bool, int, float, str, lists, tuples, dicts,
sets, the detector parts of ``DETECTOR_PARTS``) or an ``Incident``; an incident is stored once, by value, and
referenced by its id. Anything else fails the export with a message saying which field to
declare derived or make plain (tests/unit/streams/test_persist.py exercises every slot).

The result is made of dicts, lists, str, int, float and None only (no I/O here: the adapter
``streams/checkpoint.py`` serialises it with orjson and compresses it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from contract.incidents import Incident
from streams.core.clock import CST
from streams.core.context import DetectorContext
from streams.core.engine import Engine
from streams.core.incidents import IncidentBook
from streams.core.snapshots import StateFormatError
from streams.core.state import (
    CountyWeather,
    FeederState,
    GasSupply,
    HeatDevice,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    PeakCharging,
    StackState,
    StationState,
    Streak,
)

# 1 was a pickled Engine (streams/checkpoint.py before this module); 2 kept a source's
# identity clock (``last_push``, ``last_ts``) on its household/feeder/station state, one per
# entity whatever the device; 3 keeps it per (reading kind, device) in ``sources``; 4 stores
# the engine as its parts' snapshots (event clock, stream start, reorder buffer, revisable
# days, day close, clock faults) instead of a reflection over the engine's attributes; 5 adds
# the devices' identity clocks, the conflicts, the refusals and the sweeps' timer as parts of
# their own (the conflict log, the implausible counts and the comm-scan time left the
# engine's own snapshot).
STATE_FORMAT = 5

__all__ = ["STATE_FORMAT", "StateFormatError", "export_state", "import_state"]

# Slots rebuilt from the registry and the settings (or output wiring), never stored.
DERIVED_SLOTS: dict[type, frozenset[str]] = {
    HouseholdState: frozenset({"household", "feeder", "station", "is_storage", "energy_cap"}),
    FeederState: frozenset(
        {"feeder_id", "county", "village", "location", "members", "priority_members"}
    ),
    StationState: frozenset(
        {"station_id", "county", "village", "location", "members", "priority_members"}
    ),
    CountyWeather: frozenset(),
    # Heat networks: identity, links and membership come from the registry; ``dirty`` is the
    # network's per-step set (empty between steps, checked at export).
    HeatStationState: frozenset(
        {
            "station_id",
            "kind",
            "county",
            "village",
            "weather",
            "dirty",
            "location",
            "homes",
            "priority_members",
            "design",
        }
    ),
    StackState: frozenset({"station"}),
    HeatHomeState: frozenset({"household", "station"}),
    # dirty_* are emptied at the end of every event-time step (checked at export); the
    # valley memo is a cache of a pure function of its key.
    DetectorContext: frozenset(
        {
            "settings",
            "output",
            "book",
            "valley",
            "voltage_min",
            "comm_after_s",
            "usable_kw_factor",
            "dirty_feeders",
            "dirty_stations",
            "_valley_start",
            "_valley_end",
            "_valley_flag",
        }
    ),
    IncidentBook: frozenset({"_listener", "open_incidents"}),
}
# Memo slots among the derived ones: a fresh value is as good as the old (recomputed on a miss).
MEMO_SLOTS = frozenset({"_valley_start", "_valley_end", "_valley_flag"})
# The dataclasses detector state holds (a household's parts per detector, their streaks, a
# heat home's devices):
# stored as values in field order, their field names in the state's header.
DETECTOR_PARTS: tuple[type, ...] = (GasSupply, HeatDevice, PeakCharging, Streak)
# their field names, in declaration order (how their values are stored)
PART_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in DETECTOR_PARTS
}

_INCIDENT = TypeAdapter(Incident)


def exported_slots(cls: type) -> tuple[str, ...]:
    """The slots of a state class that go into the export, in declaration order."""
    slots: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    return tuple(s for s in slots if s not in DERIVED_SLOTS[cls])


# --- values ------------------------------------------------------------------------------
class _Encoder:
    """Plain values as JSON-able data; incidents collected by id (stored once)."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self._named: dict[type, list[tuple[str, str]]] = {}  # class -> (slot, its name)

    def value(self, v: Any, where: str) -> Any:
        if v is None or isinstance(v, bool | int | str):
            return v
        if type(v) is Streak:  # several per household: its two ints as they are
            return {"$fields": [v.n, v.first]}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"$float": repr(v)}
        if isinstance(v, bytes):  # a Kafka key inside a buffered reading's origin
            return {"$bytes": v.hex()}
        if isinstance(v, Incident):
            self.incidents.setdefault(v.incident_id, v)
            return {"$incident": v.incident_id}
        if isinstance(v, list):
            return [self.value(x, where) for x in v]
        if isinstance(v, tuple):
            return {"$tuple": [self.value(x, where) for x in v]}
        if isinstance(v, set | frozenset):
            return {"$set": [self.value(x, where) for x in sorted(v)]}
        if isinstance(v, dict):
            return {"$map": [[self.value(k, where), self.value(x, where)] for k, x in v.items()]}
        names = PART_FIELDS.get(type(v))
        if names is not None:
            # values in field order, the names once in the state's header (``DETECTOR_PARTS``):
            # a household holds several (its detectors' parts, their streaks)
            return {"$fields": [self.value(getattr(v, n), where) for n in names]}
        raise TypeError(
            f"{where} holds a {type(v).__name__}, which is not plain data: declare it derived "
            "in streams/core/persist.py (rebuilt from the registry) or store plain values"
        )

    def slots(self, obj: object) -> list[Any]:
        cls = type(obj)
        named = self._named.get(cls)
        if named is None:  # once per class and export: there are as many entities as homes
            named = self._named[cls] = [(s, f"{cls.__name__}.{s}") for s in exported_slots(cls)]
        value = self.value
        return [value(getattr(obj, s), where) for s, where in named]


class _Decoder:
    def __init__(self, incidents: dict[str, Incident]) -> None:
        self.incidents = incidents
        self._known: dict[type, set[str]] = {}

    def value(self, v: Any, current: Any = None) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "$incident" in v:
            return self.incidents[v["$incident"]]
        if "$float" in v:
            return float(v["$float"])
        if "$bytes" in v:
            return bytes.fromhex(v["$bytes"])
        if "$tuple" in v:
            return tuple(self.value(x) for x in v["$tuple"])
        if "$set" in v:
            return {self.value(x) for x in v["$set"]}
        if "$map" in v:
            return {self._key(k): self.value(x) for k, x in v["$map"]}
        if "$fields" in v:
            return self._fill_dataclass(v["$fields"], current)
        raise StateFormatError(f"unknown value tag {sorted(v)}")

    def _fill_dataclass(self, stored: list[Any], current: Any) -> Any:
        """A fresh engine's dataclass (a detector's part, a ``Streak``) filled in place; a
        part may hold its own, filled the same way."""
        if type(current) is Streak and len(stored) == 2:  # several per household
            current.n, current.first = stored
            return current
        names = PART_FIELDS.get(type(current))
        if names is None:
            raise StateFormatError(f"{type(current).__name__} is not a detector part")
        if len(stored) != len(names):
            raise StateFormatError(
                f"{type(current).__name__} was stored with {len(stored)} fields, has {len(names)}"
            )
        for name, raw in zip(names, stored, strict=True):
            setattr(current, name, self.value(raw, getattr(current, name)))
        return current

    def _key(self, k: Any) -> Any:
        value = self.value(k)
        return tuple(value) if isinstance(value, list) else value

    def fill(self, obj: object, names: list[str], values: list[Any]) -> None:
        cls = type(obj)
        known = self._known.get(cls)
        if known is None:  # once per class and import
            known = self._known[cls] = set(exported_slots(cls))
        for name, raw in zip(names, values, strict=True):
            if name not in known:
                raise StateFormatError(f"{cls.__name__}.{name} is stored but no longer exists")
            setattr(obj, name, self.value(raw, getattr(obj, name, None)))


# --- export ------------------------------------------------------------------------------
def export_state(engine: Engine) -> dict[str, Any]:
    """The engine's state as plain data (see the module docstring)."""
    ctx = engine.ctx
    if ctx.dirty_feeders or ctx.dirty_stations or engine.heat.dirty:
        raise RuntimeError("export between event-time steps only (roll-ups pending)")
    if engine.rejections:
        raise RuntimeError("export after the adapter drained the engine's rejections only")
    enc = _Encoder()
    for inc in ctx.book.open_incidents.values():
        enc.incidents[inc.incident_id] = inc
    entities = {
        "households": _entities(enc, engine.households),
        "feeders": _entities(enc, engine.feeders),
        "stations": _entities(enc, engine.stations),
        "weather": _entities(enc, engine.weather),
        "heat_stations": _entities(enc, engine.heat.stations),
        "stacks": _entities(enc, engine.heat.stacks),
        "heat_homes": _entities(enc, engine.heat.homes),
    }
    return {
        "format": STATE_FORMAT,
        "fields": {
            cls.__name__: list(exported_slots(cls))
            for cls in (
                HouseholdState,
                FeederState,
                StationState,
                CountyWeather,
                HeatStationState,
                StackState,
                HeatHomeState,
            )
        }
        | {"IncidentBook": list(exported_slots(IncidentBook))}
        | {cls.__name__: list(names) for cls, names in PART_FIELDS.items()},
        "book": enc.slots(ctx.book),
        "open": list(ctx.book.open_incidents),
        **entities,
        **_parts(engine, enc),
        # last: every incident referenced above has been collected by now
        "incidents": [inc.model_dump(mode="json") for inc in enc.incidents.values()],
    }


def _parts(engine: Engine, enc: _Encoder) -> dict[str, Any]:
    """The engine's parts, each its own versioned snapshot (a buffered reading's origin —
    a line number, a Kafka offset and key — made plain by the encoder)."""
    return {
        "engine": engine.own_snapshot(),
        **{name: part.snapshot() for name, part in engine.parts.items()},
        "buffer": engine.buffer.snapshot(lambda origin: enc.value(origin, "buffered origin")),
    }


def _restore_parts(engine: Engine, state: dict[str, Any], dec: _Decoder) -> None:
    """Each part from its own snapshot; the buffer last, entry by entry, as it was: nothing
    is re-admitted or released."""
    engine.restore_own(state["engine"])
    for name, part in engine.parts.items():
        part.restore(state[name])
    engine.buffer.restore(state["buffer"], dec.value, engine.devices.entry_of)


def _entities(enc: _Encoder, by_id: dict[str, Any]) -> dict[str, list[Any]]:
    """Every entity, in registry order: ``{id: [exported slot values]}``."""
    return {key: enc.slots(obj) for key, obj in by_id.items()}


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
    dec = _Decoder(incidents)
    fields: dict[str, list[str]] = state["fields"]
    for cls, names in PART_FIELDS.items():
        if fields.get(cls.__name__) != list(names):
            raise StateFormatError(
                f"{cls.__name__} was stored with fields {fields.get(cls.__name__)}, "
                f"has {list(names)}"
            )
    book = engine.ctx.book
    dec.fill(book, fields["IncidentBook"], state["book"])
    book.open_incidents.update((i, incidents[i]) for i in state["open"])
    _fill_entities(dec, engine.households, fields["HouseholdState"], state["households"], None)
    _fill_entities(dec, engine.feeders, fields["FeederState"], state["feeders"], None)
    _fill_entities(dec, engine.stations, fields["StationState"], state["stations"], None)
    _fill_entities(dec, engine.weather, fields["CountyWeather"], state["weather"], CountyWeather)
    # Heat entities came with issue 12 inside format 2: a state written before has none.
    heat = engine.heat
    for entities, cls_name, key in (
        (heat.stations, "HeatStationState", "heat_stations"),
        (heat.stacks, "StackState", "stacks"),
        (heat.homes, "HeatHomeState", "heat_homes"),
    ):
        _fill_entities(dec, entities, fields.get(cls_name, []), state.get(key, {}), None)
    _restore_parts(engine, state, dec)
    return engine


def _fill_entities(
    dec: _Decoder,
    by_id: dict[str, Any],
    names: list[str],
    stored: dict[str, list[Any]],
    make: Callable[[], Any] | None,
) -> None:
    for key, values in stored.items():
        obj = by_id.get(key)
        if obj is None:
            if make is None:
                raise StateFormatError(f"{key!r} is in the state but not in the registry")
            obj = by_id[key] = make()
        dec.fill(obj, names, values)
