"""The partition's fleet: the detector states its registry rows make, linked once.

Households, the feeders and gas stations they hang off (members, priority counts, mean
location), the counties' weather, and the heat networks (``heat.HeatNetwork``: stations,
stacks, network homes). Everything here is determined by the registry and the settings, so a
checkpoint never stores it (``persist.py`` fills the detector state *inside* these entities);
the reading kinds find their states here (``SourceKind.targets``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract.registry import Household
from streams.core.heat import HeatNetwork
from streams.core.plausibility import energy_cap_per_s
from streams.core.settings import DetectionSettings
from streams.core.state import (
    CountyWeather,
    FeederState,
    HouseholdState,
    StationState,
    mean_location,
)


class Fleet:
    """The registry's entities by id, in registry order."""

    __slots__ = ("counties", "feeders", "heat", "households", "stations", "weather")

    def __init__(self, registry: Iterable[Household], settings: DetectionSettings) -> None:
        self.households: dict[str, HouseholdState] = {}
        self.feeders: dict[str, FeederState] = {}
        self.stations: dict[str, StationState] = {}
        self.weather: dict[str, CountyWeather] = {}  # a county's, created by its first reading
        self.counties: set[str] = set()
        for hh in registry:
            self._register(hh, settings)
        for feeder in self.feeders.values():
            feeder.location = mean_location(feeder.members)
        for station in self.stations.values():
            station.location = mean_location(station.members)
        self.heat = HeatNetwork(self.households.values(), self.weather, settings)

    def _register(self, hh: Household, settings: DetectionSettings) -> None:
        if hh.household_id in self.households:
            raise ValueError(f"household {hh.household_id} is registered twice")
        feeder = station = None
        if hh.feeder_id:
            feeder = self.feeders.get(hh.feeder_id)
            if feeder is None:
                feeder = self.feeders[hh.feeder_id] = FeederState(
                    hh.feeder_id, hh.county, hh.village
                )
        if hh.gas_station_id:
            station = self.stations.get(hh.gas_station_id)
            if station is None:
                station = StationState(hh.gas_station_id, hh.county, hh.village)
                self.stations[hh.gas_station_id] = station
        st = HouseholdState(hh, feeder, station)
        st.energy_cap = energy_cap_per_s(hh, settings)
        self.households[hh.household_id] = st
        if feeder is not None:
            feeder.members.append(st)
            feeder.priority_members += hh.is_priority
        if station is not None and hh.is_gas:
            station.members.append(st)
            station.priority_members += hh.is_priority
        self.counties.add(hh.county)

    @property
    def faulty_entities(self) -> dict[str, dict[str, Any]]:
        """By entity type, the states a clock fault is opened on (a household, not its
        heat-home state): ``eventtime.ClockFaultJudge.judge``."""
        return {
            "household": self.households,
            "feeder": self.feeders,
            "gas_station": self.stations,
            "heat_station": self.heat.stations,
        }

    @property
    def meters(self) -> int:
        """Households with a meter on a feeder or a gas station (they start the stream)."""
        return sum(1 for st in self.households.values() if st.feeder or st.station)
