"""The public data contract (v1): registry rows, telemetry, incidents and daily rollups.

These pydantic models are the single definition of every wire message; producers, the
embedded runner and the Faust agents share them, and ``heatwatch schema`` writes JSON
Schemas from them. Field names and kinds follow ``contract.md`` and are fixed.
"""

from heatwatch.contract.incidents import EntityType, Incident, IncidentKind, Severity
from heatwatch.contract.registry import (
    GAS_RETROFITS,
    HeatingDevice,
    Household,
    PriorityGroup,
    RetrofitType,
)
from heatwatch.contract.rollups import HouseholdDay
from heatwatch.contract.telemetry import (
    Batch,
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
    Reading,
    WeatherReading,
    WireMessage,
)

__all__ = [
    "GAS_RETROFITS",
    "Batch",
    "ElectricReading",
    "EntityType",
    "FeederReading",
    "GasReading",
    "GasStationReading",
    "HeatingDevice",
    "Household",
    "HouseholdDay",
    "Incident",
    "IncidentKind",
    "PriorityGroup",
    "Reading",
    "RetrofitType",
    "Severity",
    "WeatherReading",
    "WireMessage",
]
