"""Which Kafka key and partition a record and a household belong to (producer and worker agree).

Electric data is keyed by feeder, gas data by gas station, heat-network data (station,
stack, indoor sensors, heat meters) by heat station — the concentrator batch's
``source`` is ``DC-<feeder_id>`` / ``DC-<station_id>`` — so a feeder's households and its
roll-up live on one partition and one engine. Partitions follow Kafka's default partitioner
(murmur2 of the key, as the Java client, kafka-python and aiokafka compute it).
"""

from __future__ import annotations

from collections.abc import Iterable

from contract.registry import Household


def _murmur2(data: bytes) -> int:
    """Kafka's murmur2 (seed 0x9747b28c), as in the Java client's ``Utils.murmur2``."""
    length = len(data)
    seed = 0x9747B28C
    m = 0x5BD1E995
    r = 24
    h = (seed ^ length) & 0xFFFFFFFF
    length4 = length // 4
    for i in range(length4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    extra = length % 4
    tail = length4 * 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: int) -> int:
    return (_murmur2(key) & 0x7FFFFFFF) % partitions


def concentrator_key(entity_id: str) -> bytes:
    return f"DC-{entity_id}".encode()


def household_key(household: Household) -> bytes:
    """Heat-network households follow their heat station (the station's roll-ups need all its
    households on one engine; a network household's electric meter, if it has one, comes
    along and may leave its feeder's roll-up one member short); electric meters follow their
    feeder; gas-only households follow their gas station; a household on none of these is
    keyed by its own id — the producer keys its readings the same way — so it is registered
    and monitored on exactly one partition, as the embedded runner registers it."""
    if household.is_network and household.heat_station_id:
        return concentrator_key(household.heat_station_id)
    if household.feeder_id:
        return concentrator_key(household.feeder_id)
    if household.gas_station_id:
        return concentrator_key(household.gas_station_id)
    return household.household_id.encode()


def registry_by_partition(
    registry: Iterable[Household], partitions: int
) -> dict[int, list[Household]]:
    """Every household on exactly one partition (none dropped: both runners monitor all)."""
    out: dict[int, list[Household]] = {p: [] for p in range(partitions)}
    for hh in registry:
        out[partition_for_key(household_key(hh), partitions)].append(hh)
    return out
