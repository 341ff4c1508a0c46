"""Engine part: the devices seen — each reading kind's route and each device's identity clock.

A reading kind's declaration (``sources.py`` ``SOURCE_KINDS``) is bound here to the fleet's
states once (``Route``: the kind's handler, its admission check, its targets by device id),
so neither admission nor release switches on types. A device's first reading makes its
``Source``: the newest timestamp pushed and the newest processed, per (reading kind, device
id), which tells a re-send or a conflict from new data. Those two clocks are what this part
owns and snapshots; the targets come from the registry (``fleet.py``) and are never stored.
"""

from __future__ import annotations

from typing import Any

from contract.telemetry import AnyReading
from streams.core.fleet import Fleet
from streams.core.reorder import Entry
from streams.core.snapshots import StateFormatError, check_format
from streams.core.sources import SOURCE_KINDS, Plausibility, Source, SourceKind

DEVICES_FORMAT = 1


class Route:
    """A reading kind's declaration bound to one fleet: the states its devices update and
    their identity clocks, by device id."""

    __slots__ = ("check", "device_of", "handler", "kind", "sources", "targets")

    def __init__(self, kind: SourceKind, fleet: Fleet) -> None:
        self.kind = kind
        self.device_of = kind.device_of
        self.targets: dict[str, Any] = kind.targets(fleet)
        self.sources: dict[str, Source] = {}
        self.handler = kind.handler
        self.check = kind.check if kind.plausibility is Plausibility.ON_ADMISSION else None


class Devices:
    """Every kind's route (by reading model, for the hot path) and the sources seen."""

    __slots__ = ("routes",)

    def __init__(self, fleet: Fleet) -> None:
        self.routes: dict[type, Route] = {k.model: Route(k, fleet) for k in SOURCE_KINDS.values()}

    def new(self, route: Route, device: str) -> Source | str:
        """A device's first reading: its source, bound to the state its readings update —
        or, for a device the registry does not know, the reason it is refused (a kind that
        creates its state for any device, weather, creates it)."""
        kind = route.kind
        target = route.targets.get(device)
        if target is None:
            if kind.create is None:
                return kind.unknown(device)
            target = route.targets[device] = kind.create(device)
        src = route.sources[device] = Source(kind, device, target)
        return src

    def source_for(self, kind: str, device: str) -> Source:
        """The source of ``kind`` and ``device`` (checkpoints: buffered readings, stored
        clocks); a device the registry no longer knows is a ``ValueError``."""
        route = self.routes[SOURCE_KINDS[kind].model]
        src = route.sources.get(device)
        if src is not None:
            return src
        made = self.new(route, device)
        if isinstance(made, str):
            raise ValueError(made)
        return made

    def entry_of(self, r: AnyReading, origin: Any) -> Entry:
        """The buffer entry of a reading already admitted once (off the hot path)."""
        kind = SOURCE_KINDS[r.kind]
        src = self.source_for(r.kind, getattr(r, kind.device_field))
        return (kind.handler, src.target, r, origin, src)

    def by_kind(self) -> dict[str, dict[str, Source]]:
        """The devices seen, by reading kind and device id."""
        return {route.kind.kind: route.sources for route in self.routes.values()}

    def reported(self) -> int:
        """Sources that have pushed a reading (off the hot path)."""
        return sum(1 for r in self.routes.values() for src in r.sources.values() if src.last_push)

    def snapshot(self) -> dict[str, Any]:
        """Each device's identity clock: kind -> device id -> [last pushed, last processed]."""
        return {
            "format": DEVICES_FORMAT,
            "sources": {
                kind: {device: [src.last_push, src.last_ts] for device, src in by_device.items()}
                for kind, by_device in self.by_kind().items()
                if by_device
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        check_format("devices", data, DEVICES_FORMAT)
        for kind, by_device in data["sources"].items():
            if kind not in SOURCE_KINDS:
                raise StateFormatError(f"sources of reading kind {kind!r}, which no longer exists")
            for device, (last_push, last_ts) in by_device.items():
                try:
                    src = self.source_for(kind, device)
                except ValueError as exc:
                    raise StateFormatError(f"{kind} source {device!r}: {exc}") from exc
                src.last_push, src.last_ts = last_push, last_ts
