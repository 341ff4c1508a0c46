"""Daily household rollups: the evidence the season stability report is built from."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contract.registry import HeatingDevice, PriorityGroup, RetrofitType


class HouseholdDay(BaseModel):
    """One household's local (China Standard Time) calendar day.

    Minutes are accounted from readings and incidents: ``heating_available_minutes`` had
    working supply (voltage present / gas pressure above the low threshold);
    ``outage_minutes`` had no power (including the silent gap after a last gasp);
    ``shortfall_minutes`` had gas pressure below the low threshold; ``no_data_minutes`` are
    neither (communication loss or no meter yet). The four add up to 1440 for a full day.

    Heat-network households (``evidence`` starting ``heat_station``) are accounted from heat
    delivered, not from a meter of their own: ``heating_available_minutes`` had their station
    supplying (neither interrupted nor below its heating curve) and, when the household has an
    indoor sensor, the home not below the service temperature; ``outage_minutes`` had the
    station interrupted; ``shortfall_minutes`` had supply below the curve or a cold home.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    household_id: str
    day: date
    county: str
    village: str
    retrofit_type: RetrofitType
    heating_device: HeatingDevice
    priority_group: PriorityGroup
    readings: int = Field(ge=0, description="Distinct readings accepted for the day.")
    heating_available_minutes: float = Field(ge=0)
    outage_minutes: float = Field(ge=0)
    shortfall_minutes: float = Field(ge=0)
    no_data_minutes: float = Field(ge=0)
    interruptions: int = Field(ge=0, description="Outage/shortfall episodes that began this day.")
    energy_kwh: float = Field(ge=0)
    valley_kwh: float = Field(ge=0, description="Energy drawn inside the valley-tariff window.")
    valley_share: float | None = Field(default=None, ge=0, le=1)
    gas_m3: float = Field(ge=0)
    county_min_temp_c: float | None = Field(
        default=None, description="Coldest outdoor temperature in the county that day."
    )
    county_mean_temp_c: float | None = None
    evidence: str | None = Field(
        default=None,
        description="What the minutes rest on: electric_meter, gas_meter, heat_station, "
        "heat_station+indoor or heat_station+heat_meter (optional, v1 addition).",
    )
    heat_kwh: float | None = Field(
        default=None,
        ge=0,
        description="Heat delivered at the household's own heat meter (户用热量表) that day, "
        "kWh: the sum of its readings' energy; absent for a home without one, or whose meter "
        "sent nothing that day (optional, issue 24 addition).",
    )
    heater_kwh: float | None = Field(
        default=None,
        ge=0,
        description="A storage-heater home's heater energy that day, kWh: the meter's draw above "
        "the household's own learned base load in the intervals the heater was charging (at "
        "least peak_charging_heater_share of its rated kW above that base), as the peak-"
        "charging detector separates it; a shop's or appliances' load is not in it. Absent for "
        "every other home (optional, issue 24 addition).",
    )
