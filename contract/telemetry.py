"""Telemetry: one JSON object per line or per Kafka record, discriminated by ``kind``.

A reading's ``ts`` is the *end* of its interval and must carry a UTC offset (the programme
runs on China Standard Time, +08:00). Models are strict: a number sent as a string is a
wrong type and goes to the dead-letter output rather than being guessed at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

_READING_CONFIG = ConfigDict(frozen=True, strict=True, extra="ignore")

# RFC 3339 date-time: a calendar date, a time, and a mandatory offset (Z or ±hh:mm).
RFC3339 = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)

# A reading's timestamp stays the validated RFC 3339 text it arrived as. Turning it into a
# datetime is the expensive part of parsing a reading (~1-2 µs of ~6), yet the meters of a
# city report only 96 distinct timestamps a day: ``event_epoch`` parses each distinct text
# once. The pattern rules out naive times at the door; an impossible date that the pattern
# cannot see (30 February) fails in ``event_epoch`` and is dead-lettered by the engine.
EventTime = Annotated[
    str,
    StringConstraints(pattern=RFC3339),
    Field(
        description="End of the interval: RFC 3339 / ISO 8601 with a UTC offset, e.g. "
        "2021-12-01T08:15:00+08:00.",
        json_schema_extra={"format": "date-time"},
    ),
]

EPOCH_BY_TEXT: dict[str, int] = {}
_EPOCH_CACHE_LIMIT = 100_000


def event_epoch(ts: str) -> int:
    """Epoch seconds of a reading's ``ts``; raises ``ValueError`` for an impossible date."""
    epoch = EPOCH_BY_TEXT.get(ts)
    if epoch is None:
        epoch = int(parse_event_time(ts).timestamp())
        if len(EPOCH_BY_TEXT) >= _EPOCH_CACHE_LIMIT:
            EPOCH_BY_TEXT.clear()
        EPOCH_BY_TEXT[ts] = epoch
    return epoch


def parse_event_time(ts: str) -> datetime:
    """The aware datetime of a reading's ``ts``."""
    parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # the pattern already refuses this; kept for direct callers
        raise ValueError(f"timestamp without UTC offset: {ts!r}")
    return parsed


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
IntervalSeconds = Annotated[int, Field(gt=0, le=86_400)]


class ElectricReading(BaseModel):
    """A household electricity meter's interval reading (AMI smart meter)."""

    model_config = _READING_CONFIG

    kind: Literal["electric"] = "electric"
    household_id: str = Field(min_length=1)
    ts: EventTime
    interval_s: IntervalSeconds
    kwh: NonNegative = Field(description="Energy in the interval, kWh.")
    kw: NonNegative = Field(description="Demand at the end of the interval, kW.")
    voltage_v: NonNegative
    event: Literal["power_down", "power_up"] | None = Field(
        default=None, description="`power_down` is the meter's last gasp; `power_up` restoration."
    )


class GasReading(BaseModel):
    """A household gas meter's interval reading."""

    model_config = _READING_CONFIG

    kind: Literal["gas"] = "gas"
    household_id: str = Field(min_length=1)
    ts: EventTime
    interval_s: IntervalSeconds
    m3: NonNegative = Field(description="Volume in the interval, m³.")
    flow_m3h: NonNegative
    pressure_kpa: NonNegative = Field(description="Supply pressure at the meter, kPa (~2 kPa).")


class FeederReading(BaseModel):
    """Load at a distribution transformer (feeder)."""

    model_config = _READING_CONFIG

    kind: Literal["feeder"] = "feeder"
    feeder_id: str = Field(min_length=1)
    ts: EventTime
    kw: NonNegative
    rated_kva: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class GasStationReading(BaseModel):
    """Outlet of a village gas regulator station."""

    model_config = _READING_CONFIG

    kind: Literal["gas_station"] = "gas_station"
    station_id: str = Field(min_length=1)
    ts: EventTime
    outlet_pressure_kpa: NonNegative
    flow_m3h: NonNegative


class WeatherReading(BaseModel):
    """Outdoor temperature for a county."""

    model_config = _READING_CONFIG

    kind: Literal["weather"] = "weather"
    county: str = Field(min_length=1)
    ts: EventTime
    temp_c: Annotated[float, Field(ge=-60, le=60, allow_inf_nan=False)]


Celsius = Annotated[float, Field(ge=-60, le=200, allow_inf_nan=False)]
Concentration = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]


class HeatStationReading(BaseModel):
    """A heat exchange station (换热站) or boiler house: both circuits, pressure, flow, output.

    The primary circuit is the network or boiler side, the secondary circuit feeds the
    village's radiators. Households of the station are in the registry (``heat_station_id``).
    """

    model_config = _READING_CONFIG

    kind: Literal["heat_station"] = "heat_station"
    heat_station_id: str = Field(min_length=1)
    ts: EventTime
    primary_supply_c: Celsius | None = Field(
        default=None, description="Primary (network/boiler side) supply temperature, °C."
    )
    primary_return_c: Celsius | None = None
    secondary_supply_c: Celsius = Field(
        description="Secondary supply temperature (to the households), °C: the one judged "
        "against the heating curve."
    )
    secondary_return_c: Celsius
    supply_pressure_kpa: NonNegative = Field(description="Secondary supply pressure, kPa.")
    flow_m3h: NonNegative = Field(description="Secondary circulation flow, m³/h.")
    heat_kw: NonNegative = Field(description="Heat output at the end of the interval, kW.")


class IndoorTempReading(BaseModel):
    """An indoor temperature sensor (室温采集器) in a sampled household."""

    model_config = _READING_CONFIG

    kind: Literal["indoor_temp"] = "indoor_temp"
    household_id: str = Field(min_length=1)
    ts: EventTime
    temp_c: Annotated[float, Field(ge=-40, le=60, allow_inf_nan=False)]


class HeatMeterReading(BaseModel):
    """A household heat meter (户用热量表): supply/return temperature, flow, energy."""

    model_config = _READING_CONFIG

    kind: Literal["heat_meter"] = "heat_meter"
    household_id: str = Field(min_length=1)
    ts: EventTime
    interval_s: IntervalSeconds
    supply_c: Celsius
    return_c: Celsius
    flow_m3h: NonNegative
    energy_kwh: NonNegative = Field(description="Heat delivered in the interval, kWh.")


class StackEmissionReading(BaseModel):
    """A boiler house's continuous emission monitoring (CEMS) at the stack.

    Concentrations are as measured (dry flue gas, mg/m³); the detector converts them to the
    reference O₂ of the applicable limit with the measured ``o2_pct``.
    """

    model_config = _READING_CONFIG

    kind: Literal["stack_emission"] = "stack_emission"
    heat_station_id: str = Field(min_length=1)
    ts: EventTime
    interval_s: IntervalSeconds
    particulates_mg_m3: Concentration = Field(description="颗粒物, mg/m³ as measured.")
    so2_mg_m3: Concentration = Field(description="SO₂, mg/m³ as measured.")
    nox_mg_m3: Concentration = Field(description="NOx (as NO₂), mg/m³ as measured.")
    o2_pct: Annotated[float, Field(ge=0, lt=21, allow_inf_nan=False)] = Field(
        description="Measured O₂ in the flue gas, % (dry)."
    )
    flue_flow_m3h: NonNegative = Field(description="Flue gas flow, m³/h (standard, dry).")
    flue_temp_c: Celsius | None = Field(
        default=None,
        description="Flue-gas temperature at the stack, °C (optional, issue 20): with O₂ and "
        "flow it tells a firing boiler from a stopped one.",
    )


# Every reading kind, once: the engine's type, the batch's items and the wire format.
AnyReading = (
    ElectricReading
    | GasReading
    | FeederReading
    | GasStationReading
    | WeatherReading
    | HeatStationReading
    | IndoorTempReading
    | HeatMeterReading
    | StackEmissionReading
)
Reading = Annotated[AnyReading, Field(discriminator="kind")]


class Batch(BaseModel):
    """A concentrator's upload: all meters of one transformer area (or gas station) at once."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    kind: Literal["batch"] = "batch"
    source: str = Field(min_length=1, description="Concentrator id.")
    readings: list[Reading]


WireMessage = Annotated[AnyReading | Batch, Field(discriminator="kind")]

WIRE_ADAPTER: TypeAdapter[AnyReading | Batch] = TypeAdapter(WireMessage)
