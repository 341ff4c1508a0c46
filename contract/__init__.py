"""The public data contract (v1): registry rows, telemetry, incidents and daily rollups.

These pydantic models are the single definition of every wire message; producers, the
embedded runner and the Faust agents share them, and ``heatwatch schema`` writes JSON
Schemas from them. Field names and kinds follow ``contract.md`` and are fixed.
"""

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import (
    GAS_RETROFITS,
    NETWORK_RETROFITS,
    HeatFuel,
    HeatingDevice,
    HeatStationKind,
    Household,
    PriorityGroup,
    RetrofitType,
)
from contract.rollups import HouseholdDay
from contract.telemetry import (
    Batch,
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    Reading,
    StackEmissionReading,
    WeatherReading,
    WireMessage,
)

__all__ = [
    "GAS_RETROFITS",
    "NETWORK_RETROFITS",
    "Batch",
    "ElectricReading",
    "EntityType",
    "FeederReading",
    "GasReading",
    "GasStationReading",
    "HeatFuel",
    "HeatMeterReading",
    "HeatStationKind",
    "HeatStationReading",
    "HeatingDevice",
    "Household",
    "HouseholdDay",
    "Incident",
    "IncidentKind",
    "IndoorTempReading",
    "PriorityGroup",
    "Reading",
    "RetrofitType",
    "Severity",
    "StackEmissionReading",
    "WeatherReading",
    "WireMessage",
]
