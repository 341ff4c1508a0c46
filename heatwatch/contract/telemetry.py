"""Telemetry: one JSON object per line or per Kafka record, discriminated by ``kind``.

A reading's ``ts`` is the *end* of its interval and must carry a UTC offset (the programme
runs on China Standard Time, +08:00). Models are strict: a number sent as a string is a
wrong type and goes to the dead-letter output rather than being guessed at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

_READING_CONFIG = ConfigDict(frozen=True, strict=True, extra="ignore")

# Meters of one feeder report the same few timestamps (96 a day), so parsed timestamps and
# their epoch seconds are shared: a reading's epoch is a dict hit instead of a utcoffset()
# computation, which was ~15% of the per-reading cost. Bounded: cleared when it grows large.
_TS_BY_TEXT: dict[str, datetime] = {}
EPOCH_BY_ID: dict[int, int] = {}
_TS_CACHE_LIMIT = 50_000


def _shared_timestamp(value: Any) -> Any:
    if type(value) is not str:
        return value
    parsed = _TS_BY_TEXT.get(value)
    if parsed is None:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed  # AwareDatetime rejects it with a clear message
        if len(_TS_BY_TEXT) >= _TS_CACHE_LIMIT:
            _TS_BY_TEXT.clear()
            EPOCH_BY_ID.clear()
        _TS_BY_TEXT[value] = parsed
        EPOCH_BY_ID[id(parsed)] = int(parsed.timestamp())
    return parsed


def event_epoch(ts: datetime) -> int:
    """Epoch seconds of a reading's timestamp (fast for timestamps parsed from JSON)."""
    epoch = EPOCH_BY_ID.get(id(ts))
    return epoch if epoch is not None else int(ts.timestamp())


EventTime = Annotated[
    AwareDatetime,
    BeforeValidator(_shared_timestamp, json_schema_input_type=str),
    Field(description="End of the interval, ISO 8601 with a UTC offset (+08:00)."),
]

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
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


Reading = Annotated[
    ElectricReading | GasReading | FeederReading | GasStationReading | WeatherReading,
    Field(discriminator="kind"),
]


class Batch(BaseModel):
    """A concentrator's upload: all meters of one transformer area (or gas station) at once."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    kind: Literal["batch"] = "batch"
    source: str = Field(min_length=1, description="Concentrator id.")
    readings: list[Reading]


WireMessage = Annotated[
    ElectricReading | GasReading | FeederReading | GasStationReading | WeatherReading | Batch,
    Field(discriminator="kind"),
]

WIRE_ADAPTER: TypeAdapter[
    ElectricReading | GasReading | FeederReading | GasStationReading | WeatherReading | Batch
] = TypeAdapter(WireMessage)
