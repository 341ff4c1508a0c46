"""Kafka keys: both runners monitor the same households, and a heat station, its stack and its
households share one partition."""

from __future__ import annotations

import orjson

from contract.keys import (
    concentrator_key,
    household_key,
    partition_for_key,
    registry_by_partition,
)
from contract.registry import Household
from producers.kafka_producer import Router
from tests.unit.streams.scenario import gas_household, household


def test_a_household_on_neither_feeder_nor_station_is_on_exactly_one_partition() -> None:
    registry = [
        household("H1"),
        gas_household("G1"),
        household(
            "D1", retrofit_type="district_heating", heating_device="district", feeder_id=None
        ),
    ]
    split = registry_by_partition(registry, 4)
    placed = [h.household_id for members in split.values() for h in members]
    assert sorted(placed) == ["D1", "G1", "H1"]
    district = registry[2]
    assert household_key(district) == b"D1"  # the producer's key for its readings
    assert district in split[partition_for_key(b"D1", 4)]


def _network(hid: str, station: str) -> Household:
    return Household.model_validate(
        {
            "household_id": hid,
            "county": "忻府区",
            "village": "东营村",
            "retrofit_type": "district_heating",
            "heating_device": "district",
            "heat_station_id": station,
            "heat_station_kind": "chp_waste_heat",
            "priority_group": "none",
            "rated_kw": 1.0,
        }
    )


def test_a_station_and_its_households_share_a_partition() -> None:
    homes = [_network(f"N{i}", "HS-A") for i in range(5)] + [_network("M0", "HS-B")]
    # A network household with an electric meter still follows its heat station.
    homes.append(_network("N9", "HS-A").model_copy(update={"feeder_id": "F-9"}))
    assert {household_key(h) for h in homes if h.heat_station_id == "HS-A"} == {
        concentrator_key("HS-A")
    }
    parts = registry_by_partition(homes, 8)
    a = [p for p, hs in parts.items() if any(h.heat_station_id == "HS-A" for h in hs)]
    assert len(a) == 1
    router = Router(homes)
    ts = "2021-12-01T00:15:00+08:00"
    for line in (
        {"kind": "heat_station", "heat_station_id": "HS-A", "ts": ts},
        {"kind": "stack_emission", "heat_station_id": "HS-A", "ts": ts},
        {"kind": "indoor_temp", "household_id": "N3", "ts": ts, "temp_c": 20.0},
    ):
        key, broadcast = router.route(orjson.dumps(line))
        assert (key, broadcast) == (concentrator_key("HS-A"), False)
