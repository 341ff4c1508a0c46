"""Incidents: what the detectors open, update and resolve."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class IncidentKind(StrEnum):
    HOUSEHOLD_OUTAGE = "household_outage"
    COMM_LOSS = "comm_loss"
    FEEDER_OUTAGE = "feeder_outage"
    PEAK_CHARGING = "peak_charging"
    FEEDER_OVERLOAD = "feeder_overload"
    GAS_LOW_PRESSURE = "gas_low_pressure"
    GAS_SUPPLY_SHORTFALL = "gas_supply_shortfall"
    GAS_QUOTA_RISK = "gas_quota_risk"
    # data quality: a meter whose clock is wrong (readings stamped far ahead, behind, or
    # outside the programme's window); raised so the field team can set it
    METER_CLOCK_FAULT = "meter_clock_fault"
    HEAT_SUPPLY_INTERRUPTION = "heat_supply_interruption"
    HEAT_SUPPLY_LOW = "heat_supply_low"
    INDOOR_TEMP_LOW = "indoor_temp_low"
    EMISSION_EXCEEDANCE = "emission_exceedance"


class EntityType(StrEnum):
    HOUSEHOLD = "household"
    FEEDER = "feeder"
    GAS_STATION = "gas_station"
    HEAT_STATION = "heat_station"
    COUNTY = "county"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Incident(BaseModel):
    """An incident's state. ``incident_id`` is deterministic: the same input gives the same id."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str
    kind: IncidentKind
    entity_type: EntityType
    entity_id: str
    county: str
    village: str | None = Field(default=None, description="Optional: village of the entity.")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    severity: Severity
    households_affected: int = Field(ge=0)
    priority_households: int = Field(ge=0)
    parent_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
