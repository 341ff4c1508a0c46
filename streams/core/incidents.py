"""Incident lifecycle: open → update → resolve, with deterministic ids.

An id is a hash of (kind, entity, start): replaying the same readings — in any arrival order
within the lateness bound, with duplicates, after a crash — gives the same ids, which is what
makes the Kafka → InfluxDB path effectively-once without transactions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Protocol

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import Household
from streams.core.clock import to_datetime
from streams.core.snapshots import check_format


class Change(StrEnum):
    OPENED = "open"
    UPDATED = "update"
    RESOLVED = "resolved"


IncidentListener = Callable[[Change, Incident], None]


class Group(Protocol):
    """A place that groups households (a feeder, a gas station): where its incident is."""

    county: str
    village: str
    priority_members: int


def incident_id(kind: IncidentKind, entity_id: str, started_at_s: int) -> str:
    digest = hashlib.blake2b(
        f"{kind.value}|{entity_id}|{started_at_s}".encode(), digest_size=8
    ).hexdigest()
    return f"{kind.value}-{digest}"


class IncidentBook:
    """Holds open incidents and tells a listener about every change."""

    __slots__ = ("_listener", "open_incidents", "opened")

    def __init__(self, listener: IncidentListener) -> None:
        self._listener = listener
        self.open_incidents: dict[str, Incident] = {}
        self.opened = 0

    # the open incidents themselves are stored once with every incident a state refers to
    # (``streams/core/persist.py``): the book stores their ids
    SNAPSHOT_FORMAT = 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": self.SNAPSHOT_FORMAT,
            "opened": self.opened,
            "open": list(self.open_incidents),
        }

    def restore(self, data: dict[str, Any], incidents: dict[str, Incident]) -> None:
        check_format("incident book", data, self.SNAPSHOT_FORMAT)
        self.opened = data["opened"]
        self.open_incidents.update((i, incidents[i]) for i in data["open"])

    def open(
        self,
        kind: IncidentKind,
        entity_type: EntityType,
        entity_id: str,
        county: str,
        started_at_s: int,
        severity: Severity,
        *,
        village: str | None = None,
        households_affected: int = 1,
        priority_households: int = 0,
        parent_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Incident:
        incident = Incident(
            incident_id=incident_id(kind, entity_id, started_at_s),
            kind=kind,
            entity_type=entity_type,
            entity_id=entity_id,
            county=county,
            village=village,
            started_at=to_datetime(started_at_s),
            severity=severity,
            households_affected=households_affected,
            priority_households=priority_households,
            parent_id=parent_id,
            details=details or {},
        )
        self.open_incidents[incident.incident_id] = incident
        self.opened += 1
        self._listener(Change.OPENED, incident)
        return incident

    def open_household(
        self,
        kind: IncidentKind,
        household: Household,
        started_at_s: int,
        severity: Severity,
        *,
        parent_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Incident:
        """An incident on one household: place, priority count and entity come from its row."""
        return self.open(
            kind,
            EntityType.HOUSEHOLD,
            household.household_id,
            household.county,
            started_at_s,
            severity,
            village=household.village,
            priority_households=int(household.is_priority),
            parent_id=parent_id,
            details=details,
        )

    def open_group(
        self,
        kind: IncidentKind,
        entity: tuple[EntityType, str],
        group: Group,
        started_at_s: int,
        severity: Severity,
        *,
        affected: tuple[int, int],
        children: Iterable[Incident | None] = (),
        details: dict[str, Any] | None = None,
    ) -> Incident:
        """An incident on a group of households (``affected``: households, of which priority),
        placed where the group is, and the members' open incidents as its children: one page
        for the group, the members' incidents under it."""
        incident = self.open(
            kind,
            entity[0],
            entity[1],
            group.county,
            started_at_s,
            severity,
            village=group.village,
            households_affected=affected[0],
            priority_households=affected[1],
            details=details,
        )
        self.adopt(incident, children)
        return incident

    def adopt(self, parent: Incident, children: Iterable[Incident | None]) -> None:
        """Put members' open incidents under ``parent`` (told only where it changes)."""
        parent_id = parent.incident_id
        for child in children:
            if child is not None and child.parent_id != parent_id:
                self.update(child, parent_id=parent_id)

    def update(self, incident: Incident, **changes: Any) -> None:
        """Apply changes; tell the listener only if something really changed."""
        changed = False
        for name, value in changes.items():
            if getattr(incident, name) != value:
                setattr(incident, name, value)
                changed = True
        if changed:
            self._listener(Change.UPDATED, incident)

    def resolve(self, incident: Incident, ended_at_s: int, **details: Any) -> None:
        incident.ended_at = to_datetime(max(ended_at_s, int(incident.started_at.timestamp())))
        if details:
            incident.details.update(details)
        self.open_incidents.pop(incident.incident_id, None)
        self._listener(Change.RESOLVED, incident)
