"""The household registry (ledger, 台账): one row per retrofitted household."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RetrofitType(StrEnum):
    DISTRICT_HEATING = "district_heating"
    BOILER_ULTRA_LOW_EMISSION = "boiler_ultra_low_emission"
    COAL_TO_ELECTRIC = "coal_to_electric"
    COAL_TO_GAS = "coal_to_gas"
    BIOMASS_CHP = "biomass_chp"
    BIOMASS_DISTRICT = "biomass_district"
    WIND_ELECTRIC = "wind_electric"
    SOLAR = "solar"


class HeatingDevice(StrEnum):
    STORAGE_HEATER = "storage_heater"
    HEAT_PUMP = "heat_pump"
    DIRECT_ELECTRIC = "direct_electric"
    GAS_BOILER = "gas_boiler"
    DISTRICT = "district"
    SOLAR_THERMAL = "solar_thermal"


class HeatStationKind(StrEnum):
    """What heats a heat network: the station's heat source decides its heating curve."""

    CHP_WASTE_HEAT = "chp_waste_heat"  # 热电联产 / 工业余热 via a heat exchange station (换热站)
    BOILER_HOUSE = "boiler_house"  # village boiler house (ultra-low-emission coal or gas)
    BIOMASS = "biomass"  # biomass CHP or biomass district boiler


class HeatFuel(StrEnum):
    """What a boiler house burns: it decides the reference O₂ its stack limits apply at."""

    COAL = "coal"  # ultra-low-emission coal boilers (超低排放燃煤锅炉)
    GAS = "gas"  # natural-gas boilers
    BIOMASS = "biomass"  # biomass pellets / briquettes (生物质成型燃料)


class PriorityGroup(StrEnum):
    NONE = "none"
    KINDERGARTEN = "kindergarten"
    SCHOOL = "school"
    ELDERLY_HOME = "elderly_home"
    HARDSHIP = "hardship"
    # At-home households the programme serves first (issue 21): the old-age, disability and
    # minimum-living-allowance registers the county's civil-affairs office keeps.
    ELDERLY_ALONE = "elderly_alone"
    DISABLED = "disabled"
    LOW_INCOME = "low_income"


# Retrofits whose heat depends on a gas supply (telemetry kind `gas`); all others are metered
# on a feeder (telemetry kind `electric`).
GAS_RETROFITS = frozenset({RetrofitType.COAL_TO_GAS})
# Retrofits heated by a network (heat exchange station or boiler house): their heating
# evidence is heat delivered (telemetry kinds `heat_station`, `indoor_temp`, `heat_meter`).
NETWORK_RETROFITS = frozenset(
    {
        RetrofitType.DISTRICT_HEATING,
        RetrofitType.BOILER_ULTRA_LOW_EMISSION,
        RetrofitType.BIOMASS_CHP,
        RetrofitType.BIOMASS_DISTRICT,
    }
)
# Retrofits that heat with electricity and therefore must hang on a feeder.
ELECTRIC_RETROFITS = frozenset(
    {RetrofitType.COAL_TO_ELECTRIC, RetrofitType.WIND_ELECTRIC, RetrofitType.SOLAR}
)


def supply_link_problems(
    retrofit_type: RetrofitType, feeder_id: str | None, gas_station_id: str | None
) -> list[tuple[str, str]]:
    """(column, message) for each breach of the contract's supply-link rules: a feeder for
    electric households, a gas station for gas households, and "empty otherwise". A gas
    household with a feeder would be counted into that feeder's outages (and a real feeder
    outage then missed for lack of a majority); the rule is enforced, not guessed at."""
    problems: list[tuple[str, str]] = []
    if retrofit_type in GAS_RETROFITS:
        if not gas_station_id:
            problems.append(
                ("gas_station_id", "gas_station_id is required for coal_to_gas households")
            )
        if feeder_id:
            problems.append(
                (
                    "feeder_id",
                    "feeder_id must be empty for coal_to_gas households (contract: empty otherwise)",
                )
            )
        return problems
    if retrofit_type in ELECTRIC_RETROFITS and not feeder_id:
        problems.append(
            ("feeder_id", f"feeder_id is required for {retrofit_type.value} households")
        )
    if gas_station_id:
        problems.append(
            (
                "gas_station_id",
                f"gas_station_id must be empty for {retrofit_type.value} households "
                "(contract: empty otherwise)",
            )
        )
    return problems


# The station-wide design fields (issue 20): they need a heat_station_id to belong to.
_STATION_DESIGN_FIELDS = (
    "heat_station_design_flow_m3h",
    "heat_station_heated_area_m2",
    "heat_station_design_supply_c",
    "heat_station_design_return_c",
    "heat_station_curve_mild_c",
    "heat_station_curve_design_c",
    "heat_station_fuel",
    "heat_station_rated_mw",
)


class Household(BaseModel):
    """One registry row. Telemetry carries only ``household_id``: no names, phones or addresses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    household_id: str = Field(min_length=1, max_length=64)
    county: str = Field(min_length=1)
    village: str = Field(min_length=1)
    township: str | None = None
    retrofit_type: RetrofitType
    heating_device: HeatingDevice
    feeder_id: str | None = Field(
        default=None, description="Distribution transformer / feeder of the meter (electric)."
    )
    gas_station_id: str | None = Field(
        default=None, description="Village gas regulator station (gas households)."
    )
    priority_group: PriorityGroup
    rated_kw: float = Field(gt=0, le=1000, description="Rated heating power, kW.")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    retrofit_completed: date | None = None
    old_heating_present: bool | None = None
    gas_quota_m3: float | None = Field(
        default=None, ge=0, description="Contracted gas for the season, m³."
    )
    # v1 additions (issue 12), appended so the registry's column order stays compatible.
    heat_station_id: str | None = Field(
        default=None,
        description="Heat exchange station (换热站) or village boiler house feeding the "
        "household (heat-network households; optional, v1 addition).",
    )
    heat_station_kind: HeatStationKind | None = Field(
        default=None,
        description="The heat source of ``heat_station_id``; every household of one station "
        "carries the same kind (optional, v1 addition; unknown → boiler_house curve).",
    )
    # v1 addition (issue 24), appended: what a season cost per m² (and heat charged per m²).
    area_m2: float | None = Field(
        default=None,
        gt=0,
        le=5000,
        description="Heated floor area, m² (optional, v1 addition): cost per m² and heat-network "
        "charges per m².",
    )

    # v2 additions (issue 20): the station's design, so each station is judged against itself.
    # All optional and station-wide (every household of one station should carry the same
    # values; the first row giving a value wins). Defaults by kind and size are in
    # ``streams/core/heatnormal.py``; the detector also learns each station's own normal.
    heat_station_design_flow_m3h: float | None = Field(
        default=None,
        gt=0,
        le=20_000,
        description="Design circulation flow of the station's secondary circuit, m³/h "
        "(optional, v2; else from the heated area, else from the number of households).",
    )
    heat_station_heated_area_m2: float | None = Field(
        default=None,
        gt=0,
        le=10_000_000,
        description="Heated floor area the station serves, m² (optional, v2; gives the design "
        "flow when that is not given).",
    )
    heat_station_design_supply_c: float | None = Field(
        default=None,
        gt=20,
        le=150,
        description="Design secondary supply temperature, °C (e.g. 75 for a 75/50 radiator "
        "network, 50 for floor heating; optional, v2).",
    )
    heat_station_design_return_c: float | None = Field(
        default=None,
        gt=10,
        le=140,
        description="Design secondary return temperature, °C (optional, v2).",
    )
    heat_station_curve_mild_c: float | None = Field(
        default=None,
        gt=10,
        le=150,
        description="Heating-curve override: minimum secondary supply at +5 °C outdoors, °C "
        "(optional, v2; with heat_station_curve_design_c).",
    )
    heat_station_curve_design_c: float | None = Field(
        default=None,
        gt=10,
        le=150,
        description="Heating-curve override: minimum secondary supply at −15 °C outdoors, °C "
        "(optional, v2; with heat_station_curve_mild_c).",
    )
    heat_station_fuel: HeatFuel | None = Field(
        default=None,
        description="Fuel of a boiler house (coal, gas, biomass): the reference O₂ of its "
        "stack limits (optional, v2; unknown → coal's 9 %).",
    )
    heat_station_rated_mw: float | None = Field(
        default=None,
        gt=0,
        le=2000,
        description="Rated thermal capacity of the boiler house or exchange station, MW "
        "(optional, v2).",
    )

    @model_validator(mode="after")
    def _supply_link_present(self) -> Household:
        problems = supply_link_problems(self.retrofit_type, self.feeder_id, self.gas_station_id)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        if self.heat_station_kind is not None and not self.heat_station_id:
            raise ValueError("heat_station_kind is given without a heat_station_id")
        station_fields = [
            name for name in _STATION_DESIGN_FIELDS if getattr(self, name) is not None
        ]
        if station_fields and not self.heat_station_id:
            raise ValueError(f"{', '.join(station_fields)} given without a heat_station_id")
        sup, ret = self.heat_station_design_supply_c, self.heat_station_design_return_c
        if sup is not None and ret is not None and ret >= sup:
            raise ValueError("heat_station_design_return_c must be below the design supply")
        mild, design = self.heat_station_curve_mild_c, self.heat_station_curve_design_c
        if (mild is None) != (design is None):
            raise ValueError(
                "heat_station_curve_mild_c and heat_station_curve_design_c go together"
            )
        if mild is not None and design is not None and design < mild:
            raise ValueError("heat_station_curve_design_c must not be below curve_mild_c")
        return self

    @property
    def is_network(self) -> bool:
        """Heated by a heat network whose station is known (heat evidence, not a meter's)."""
        return self.heat_station_id is not None and self.retrofit_type in NETWORK_RETROFITS

    @property
    def is_gas(self) -> bool:
        return self.retrofit_type in GAS_RETROFITS

    @property
    def is_priority(self) -> bool:
        return self.priority_group is not PriorityGroup.NONE
