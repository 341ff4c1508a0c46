"""The simulator takes its counties from the contract's geography."""

from __future__ import annotations

from contract.geography import COUNTIES
from producers.fleet import build_fleet


def test_feeder_and_station_ids_carry_the_county_code() -> None:
    fleet = build_fleet(3000, seed=2)
    assert fleet.feeders and fleet.stations
    for f in fleet.feeders:
        assert f.feeder_id.split("-")[1] == COUNTIES[f.county].code
    for s in fleet.stations:
        assert s.station_id.split("-")[1] == COUNTIES[s.county].code
