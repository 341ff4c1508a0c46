"""Every reading kind, declared once: what its device is, where it goes, how it is judged.

A *source* is one device: a reading kind and the id the reading names its device by
(``household_id`` of an electricity meter, of a gas meter, of an indoor sensor, of a heat
meter; ``feeder_id``; ``heat_station_id`` of a station's telemetry unit or of its stack's
CEMS; ``county`` of a weather feed). Identity, re-sends, conflicts, a fast clock's copies and
revisions are per source (contract.md "Time and order"), never per household and time: a home
with an indoor sensor and a heat meter has two sources whose readings at one time are both
used.

``SOURCE_KINDS`` holds one ``SourceKind`` per reading kind of the contract
(``contract.telemetry.AnyReading``); the engine, ingest, persistence and revisions
iterate it instead of switching on types. Adding a kind is a recipe in docs/architecture.md;
``tests/unit/streams/test_sources.py`` fails while a kind lacks a part.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from contract.incidents import EntityType
from contract.telemetry import (
    AnyReading,
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
    WeatherReading,
)
from streams.core.clock import interval_day_index
from streams.core.gas import on_gas, on_station
from streams.core.heat import on_heat_meter, on_heat_station, on_indoor, on_stack
from streams.core.outages import on_electric
from streams.core.plausibility import check_electric, check_feeder, check_gas, check_station
from streams.core.settings import DetectionSettings
from streams.core.state import CountyWeather
from streams.core.storage import on_feeder

# A detector's entry point: (context, target state, reading, epoch s) -> None, or why the
# reading cannot be physical (checked on release: ``Plausibility.ON_RELEASE``).
Handler = Callable[[Any, Any, Any, int], str | None]
# (target state, reading, settings) -> why the reading cannot be physical, or None.
Check = Callable[[Any, Any, DetectionSettings], str | None]


class Plausibility(enum.Enum):
    """When a kind's physical limits (``streams/core/plausibility.py``) are checked."""

    NONE = "none"  # the contract's field bounds are all there is
    ON_ADMISSION = "on_admission"  # in ``Engine.push``: refused at once
    ON_RELEASE = "on_release"  # by the handler, which reads the values anyway (hot path)


class Revision(enum.Enum):
    """How a late reading that fills its source's gap revises the record of truth
    (``streams/core/revisions.py``, ``streams/core/heatrevisions.py``)."""

    NONE = "none"  # not revised: weather (a county's day has its own readings)
    HOUSEHOLD_DAY = "household_day"  # the household's open day or closed day's rollup
    POINT = "point"  # the step's missing point (feeder load, station pressure)
    HEAT = "heat"  # the station's day sums and its homes' rollups
    STACK = "stack"  # the stack's hour mean


class Keying(enum.Enum):
    """The Kafka key a single reading of the kind travels under (``contract.keys``):
    a concentrator key of its own device, its household's key, or every partition."""

    DEVICE = "device"  # ``DC-<device id>``: feeders, gas and heat stations, stacks
    HOUSEHOLD = "household"  # ``household_key`` of the reading's household
    BROADCAST = "broadcast"  # weather: every partition needs its county's temperature


class Unknown(enum.Enum):
    """What a reading whose device the registry does not know becomes."""

    REJECT = "reject"  # dead-lettered with ``SourceKind.unknown``
    CREATE = "create"  # weather of any county is harmless: its state is created


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One reading kind's declaration. Every field is a part the test checks for."""

    kind: str  # the contract's ``kind`` tag (also the tag pydantic puts in an error's loc)
    model: type[Any]
    device_field: str  # the reading's field naming its device
    entity: EntityType  # what a clock fault, an implausible count and a reason name
    label: str  # key in ``contract.glossary.READING_KINDS``
    keying: Keying
    # the engine -> its states of this kind by device id (the engine is not imported here:
    # it imports this module)
    targets: Callable[[Any], dict[str, Any]]
    unknown: Callable[[str], str]  # the dead-letter reason for an unregistered device
    on_unknown: Unknown
    handler: Handler
    plausibility: Plausibility
    check: Check | None  # the physical limits (None only with ``Plausibility.NONE``)
    revision: Revision
    # A meter interval (``interval_s``) whose start may begin the stream (comm-loss scans
    # count silence from the stream's start).
    starts_stream: bool
    # ``Unknown.CREATE``: the state a device's first reading creates (its id -> the state)
    create: Callable[[str], Any] | None = None
    # Its readings of a step are handled after the step's other readings: a heat meter after
    # its home's indoor sensor, which judges the home for the step when it has one.
    last_in_step: bool = False

    @property
    def device_of(self) -> Callable[[Any], str]:
        return attrgetter(self.device_field)


class Source:
    """One device's identity clock: the newest timestamp pushed and the newest processed.

    Kept by the engine per (kind, device id), apart from the detectors' state: two devices
    of one household never share it."""

    __slots__ = ("device", "kind", "last_push", "last_ts", "target")

    def __init__(self, kind: SourceKind, device: str, target: Any) -> None:
        self.kind = kind
        self.device = device
        self.target = target  # the detector state its readings update (shared by devices)
        self.last_push = 0  # newest timestamp pushed (a re-push at or before it is contested)
        self.last_ts = 0  # newest timestamp processed (released, or taken as a late revision)

    @property
    def entity(self) -> str:
        return self.kind.entity.value

    def names(self) -> str:
        """``heat_meter of household H1``: how a reason names the source."""
        return f"{self.kind.kind} of {self.kind.entity.value} {self.device}"


def _household_unknown(device: str) -> str:
    return f"unknown household {device!r} (not in the registry)"


def _heat_station_unknown(device: str) -> str:
    return f"unknown heat station {device!r} (no registered network household on it)"


def _home_unknown(device: str) -> str:
    return (
        f"unknown heat-network household {device!r} (not in the registry with a "
        "heat_station_id and a network retrofit)"
    )


def _never(device: str) -> str:  # Unknown.CREATE: a reason is never needed
    return f"unknown county {device!r}"


def _check_electric(target: Any, r: Any, s: DetectionSettings) -> str | None:
    return check_electric(r, target.energy_cap, s)


def _check_gas(target: Any, r: Any, s: DetectionSettings) -> str | None:
    return check_gas(r, target.energy_cap, s)


def _check_feeder(target: Any, r: Any, s: DetectionSettings) -> str | None:
    return check_feeder(r, s)


def _check_station(target: Any, r: Any, s: DetectionSettings) -> str | None:
    return check_station(r, s)


def _on_weather(ctx: Any, weather: CountyWeather, r: WeatherReading, ts: int) -> None:
    weather.last_ts = ts
    weather.add(interval_day_index(ts), r.temp_c)
    if ctx.settings.revision_horizon_s:  # what a late heat-station reading is judged at
        weather.history.append([ts, r.temp_c])


SOURCE_KINDS: dict[str, SourceKind] = {
    k.kind: k
    for k in (
        SourceKind(
            kind="electric",
            model=ElectricReading,
            device_field="household_id",
            entity=EntityType.HOUSEHOLD,
            label="electric",
            keying=Keying.HOUSEHOLD,
            targets=lambda e: e.households,
            unknown=_household_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_electric,
            plausibility=Plausibility.ON_RELEASE,
            check=_check_electric,
            revision=Revision.HOUSEHOLD_DAY,
            starts_stream=True,
        ),
        SourceKind(
            kind="gas",
            model=GasReading,
            device_field="household_id",
            entity=EntityType.HOUSEHOLD,
            label="gas",
            keying=Keying.HOUSEHOLD,
            targets=lambda e: e.households,
            unknown=_household_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_gas,
            plausibility=Plausibility.ON_ADMISSION,
            check=_check_gas,
            revision=Revision.HOUSEHOLD_DAY,
            starts_stream=True,
        ),
        SourceKind(
            kind="feeder",
            model=FeederReading,
            device_field="feeder_id",
            entity=EntityType.FEEDER,
            label="feeder",
            keying=Keying.DEVICE,
            targets=lambda e: e.feeders,
            unknown=lambda d: f"unknown feeder {d!r} (no registered household on it)",
            on_unknown=Unknown.REJECT,
            handler=on_feeder,
            plausibility=Plausibility.ON_ADMISSION,
            check=_check_feeder,
            revision=Revision.POINT,
            starts_stream=False,
        ),
        SourceKind(
            kind="gas_station",
            model=GasStationReading,
            device_field="station_id",
            entity=EntityType.GAS_STATION,
            label="gas_station",
            keying=Keying.DEVICE,
            targets=lambda e: e.stations,
            unknown=lambda d: f"unknown gas station {d!r} (no registered household on it)",
            on_unknown=Unknown.REJECT,
            handler=on_station,
            plausibility=Plausibility.ON_ADMISSION,
            check=_check_station,
            revision=Revision.POINT,
            starts_stream=False,
        ),
        SourceKind(
            kind="weather",
            model=WeatherReading,
            device_field="county",
            entity=EntityType.COUNTY,
            label="weather",
            keying=Keying.BROADCAST,
            targets=lambda e: e.weather,
            unknown=_never,
            on_unknown=Unknown.CREATE,
            handler=_on_weather,
            plausibility=Plausibility.NONE,
            check=None,
            revision=Revision.NONE,
            starts_stream=False,
            create=CountyWeather,
        ),
        SourceKind(
            kind="heat_station",
            model=HeatStationReading,
            device_field="heat_station_id",
            entity=EntityType.HEAT_STATION,
            label="heat_station",
            keying=Keying.DEVICE,
            targets=lambda e: e.heat.stations,
            unknown=_heat_station_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_heat_station,
            plausibility=Plausibility.NONE,
            check=None,
            revision=Revision.HEAT,
            starts_stream=False,
        ),
        SourceKind(
            kind="indoor_temp",
            model=IndoorTempReading,
            device_field="household_id",
            entity=EntityType.HOUSEHOLD,
            label="indoor_temp",
            keying=Keying.HOUSEHOLD,
            targets=lambda e: e.heat.homes,
            unknown=_home_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_indoor,
            plausibility=Plausibility.NONE,
            check=None,
            revision=Revision.HEAT,
            starts_stream=False,
        ),
        SourceKind(
            kind="heat_meter",
            model=HeatMeterReading,
            device_field="household_id",
            entity=EntityType.HOUSEHOLD,
            label="heat_meter",
            keying=Keying.HOUSEHOLD,
            targets=lambda e: e.heat.homes,
            unknown=_home_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_heat_meter,
            plausibility=Plausibility.NONE,
            check=None,
            revision=Revision.HEAT,
            starts_stream=False,
            last_in_step=True,
        ),
        SourceKind(
            kind="stack_emission",
            model=StackEmissionReading,
            device_field="heat_station_id",
            entity=EntityType.HEAT_STATION,
            label="stack_emission",
            keying=Keying.DEVICE,
            targets=lambda e: e.heat.stacks,
            unknown=_heat_station_unknown,
            on_unknown=Unknown.REJECT,
            handler=on_stack,
            plausibility=Plausibility.NONE,
            check=None,
            revision=Revision.STACK,
            starts_stream=False,
        ),
    )
}
KIND_BY_MODEL: dict[type[Any], SourceKind] = {k.model: k for k in SOURCE_KINDS.values()}


def source_kind(r: AnyReading) -> SourceKind:
    return KIND_BY_MODEL[type(r)]


def source_key(r: AnyReading) -> str:
    """``kind|device``: a reading's source as plain data (logs, a replay's conflict record)."""
    k = KIND_BY_MODEL[type(r)]
    return f"{k.kind}|{getattr(r, k.device_field)}"
