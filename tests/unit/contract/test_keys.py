"""Both runners monitor the same households: none is dropped by the Kafka partitioning."""

from __future__ import annotations

from heatwatch.contract.keys import household_key, partition_for_key, registry_by_partition
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
