"""Telemetry: one JSON object per line or per Kafka record, discriminated by ``kind``.

A reading's ``ts`` is the *end* of its interval and must carry a UTC offset (the programme
runs on China Standard Time, +08:00). Models are strict: a number sent as a string is a
wrong type and goes to the dead-letter output rather than being guessed at.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

_READING_CONFIG = ConfigDict(frozen=True, strict=True, extra="ignore")

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
IntervalSeconds = Annotated[int, Field(gt=0, le=86_400)]


class ElectricReading(BaseModel):
    """A household electricity meter's interval reading (AMI smart meter)."""

    model_config = _READING_CONFIG

    kind: Literal["electric"] = "electric"
    household_id: str = Field(min_length=1)
    ts: AwareDatetime
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
    ts: AwareDatetime
    interval_s: IntervalSeconds
    m3: NonNegative = Field(description="Volume in the interval, m³.")
    flow_m3h: NonNegative
    pressure_kpa: NonNegative = Field(description="Supply pressure at the meter, kPa (~2 kPa).")


class FeederReading(BaseModel):
    """Load at a distribution transformer (feeder)."""

    model_config = _READING_CONFIG

    kind: Literal["feeder"] = "feeder"
    feeder_id: str = Field(min_length=1)
    ts: AwareDatetime
    kw: NonNegative
    rated_kva: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class GasStationReading(BaseModel):
    """Outlet of a village gas regulator station."""

    model_config = _READING_CONFIG

    kind: Literal["gas_station"] = "gas_station"
    station_id: str = Field(min_length=1)
    ts: AwareDatetime
    outlet_pressure_kpa: NonNegative
    flow_m3h: NonNegative


class WeatherReading(BaseModel):
    """Outdoor temperature for a county."""

    model_config = _READING_CONFIG

    kind: Literal["weather"] = "weather"
    county: str = Field(min_length=1)
    ts: AwareDatetime
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
