"""What every domain detector shares: settings, the incident book, outputs and counters."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from contract.incidents import Incident
from contract.rollups import HouseholdDay
from streams.core.clock import ValleyWindow
from streams.core.incidents import Change, IncidentBook
from streams.core.settings import DetectionSettings
from streams.core.state import FeederState, StationState


class Metric(NamedTuple):
    """A measurement point in the InfluxDB schema (docs/influx-schema.md), event time in s."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | str]
    ts: int


def location_fields(location: tuple[float, float] | None) -> dict[str, float]:
    """``lat``/``lon`` fields for map panels, when the registry gave coordinates."""
    return {"lat": location[0], "lon": location[1]} if location is not None else {}


class EngineOutput(Protocol):
    """Where the core's results go: files (embedded runner) or Kafka/InfluxDB (Faust)."""

    def incident(self, change: Change, incident: Incident) -> None: ...

    def rollups(self, days: list[HouseholdDay]) -> None: ...

    def metric(self, metric: Metric) -> None: ...


class DetectorContext:
    __slots__ = (
        "_valley_end",
        "_valley_flag",
        "_valley_start",
        "book",
        "comm_after_s",
        "dirty_feeders",
        "dirty_stations",
        "output",
        "settings",
        "usable_kw_factor",
        "valley",
        "voltage_max",
        "voltage_min",
    )

    def __init__(self, settings: DetectionSettings, output: EngineOutput) -> None:
        self.settings = settings
        self.output = output
        self.book = IncidentBook(output.incident)
        self.valley = ValleyWindow(settings.valley_start, settings.valley_end)
        self.voltage_min = settings.outage_voltage_v
        self.voltage_max = settings.voltage_max_v
        self.comm_after_s = settings.comm_loss_intervals * settings.interval_s
        self.usable_kw_factor = settings.power_factor
        # Roll-ups are re-evaluated once per event-time step, only where something changed.
        self.dirty_feeders: set[FeederState] = set()
        self.dirty_stations: set[StationState] = set()
        self._valley_start = self._valley_end = 0
        self._valley_flag = False

    def in_valley(self, start: int, end: int) -> bool:
        """Whether an interval's midpoint is in the valley window; every meter of a time step
        asks about the same interval, so the answer is kept for the next caller."""
        if start != self._valley_start or end != self._valley_end:
            self._valley_start, self._valley_end = start, end
            self._valley_flag = self.valley.contains((start + end) / 2)
        return self._valley_flag
