"""``heatwatch produce``: publish JSONL telemetry (a file or the simulator) to Kafka.

Keys follow heatwatch/contract/keys.py: a concentrator batch by its ``source`` (``DC-<feeder>`` /
``DC-<station>``), a single feeder/station reading by ``DC-<id>``, a single household reading
by its feeder/station when a registry is given. **Weather is broadcast**: each weather line
is sent to every partition, so every engine sees its counties' temperatures in event-time
order with its own data (a global table would make results depend on arrival timing).
Lines that are not JSON are sent unkeyed; the worker dead-letters them. Every record carries
a ``line`` header (its 1-based input line number) for dead-letter reports.

Delivery errors are collected from the futures and raised at the end (``ProduceError``);
``rate`` paces readings per second (0 = as fast as possible).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from heatwatch.contract.keys import concentrator_key, household_key
from heatwatch.contract.registry import Household

_SOURCE = re.compile(rb'"source"\s*:\s*"([^"]+)"')
_KIND = re.compile(rb'"kind"\s*:\s*"([a-z_]+)"')


class ProduceError(Exception):
    """Some records were not delivered."""


@dataclass
class ProduceStats:
    records: int = 0
    readings: int = 0
    bytes: int = 0
    weather_broadcasts: int = 0
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0
    sent_at: dict[int, float] = field(default_factory=dict)  # reading ts → wall clock (opt.)

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0


Route = tuple[bytes | None, bool]  # (key, broadcast to every partition)


class Router:
    """Decides key and broadcast for one JSONL line without a full parse for batches."""

    def __init__(self, registry: Iterable[Household] | None = None) -> None:
        self.household_keys: dict[str, bytes] = {}
        for hh in registry or ():
            key = household_key(hh)
            if key is not None:
                self.household_keys[hh.household_id] = key

    def route(self, line: bytes) -> Route:
        head = line[:200]
        kind = _KIND.search(head)
        if kind is not None and kind.group(1) == b"batch":
            source = _SOURCE.search(head) or _SOURCE.search(line)
            return (source.group(1) if source else None), False
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None, False
        if not isinstance(obj, dict):
            return None, False
        k = obj.get("kind")
        if k == "weather":
            return None, True
        if k == "feeder" and isinstance(obj.get("feeder_id"), str):
            return concentrator_key(obj["feeder_id"]), False
        if k == "gas_station" and isinstance(obj.get("station_id"), str):
            return concentrator_key(obj["station_id"]), False
        if k in ("heat_station", "stack_emission") and isinstance(obj.get("heat_station_id"), str):
            return concentrator_key(obj["heat_station_id"]), False
        hid = obj.get("household_id")
        if isinstance(hid, str):
            return self.household_keys.get(hid, hid.encode()), False
        return None, False


def readings_in(line: bytes) -> int:
    n = line.count(b'"kind"')
    return n - 1 if n > 1 else 1


def jsonl_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from fh


def chunk_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield from chunk.splitlines()


def make_producer(bootstrap: str, compression: str | None = "gzip", **overrides: Any) -> Any:
    from kafka import KafkaProducer

    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "heatwatch-produce",
        "acks": "all",
        "compression_type": compression,
        "linger_ms": 20,
        "batch_size": 512 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "retries": 5,
        # Reconnect at most 1 s after the broker is back (the Java client's default), not
        # kafka-python's exponential backoff up to 30 s: after a broker outage the backlog
        # then follows the broker's return at once (docs/production-path.md, "Idle release").
        "reconnect_backoff_max_ms": 1000,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def produce(
    producer: Any,
    topic: str,
    lines: Iterable[bytes],
    *,
    router: Router | None = None,
    rate: float = 0.0,
    progress: Callable[[ProduceStats], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    record_send_times: bool = False,
) -> ProduceStats:
    """Send every non-blank line; raise ``ProduceError`` if any delivery failed."""
    router = router or Router()
    stats = ProduceStats()
    partitions = sorted(producer.partitions_for(topic) or [])
    if not partitions:
        raise ProduceError(f"topic {topic!r} has no partitions (does it exist?)")

    def on_error(exc: BaseException) -> None:
        stats.errors += 1
        if not stats.first_error:
            stats.first_error = f"{type(exc).__name__}: {exc}"

    started = clock()
    line_no = 0
    for raw in lines:
        line_no += 1
        line = raw.strip()
        if not line:
            continue
        key, broadcast = router.route(line)
        headers = [("line", str(line_no).encode())]
        targets: list[int | None] = list(partitions) if broadcast else [None]
        for partition in targets:
            producer.send(
                topic, value=line, key=key, partition=partition, headers=headers
            ).add_errback(on_error)
        stats.records += 1
        stats.weather_broadcasts += broadcast
        stats.bytes += len(line)
        n = readings_in(line)
        stats.readings += n
        if record_send_times:
            ts = _first_ts(line)
            if ts is not None and ts not in stats.sent_at:
                stats.sent_at[ts] = time.time()
        if rate > 0:
            ahead = stats.readings / rate - (clock() - started)
            if ahead > 0.002:
                sleep(ahead)
        if progress is not None and stats.records % 1000 == 0:
            stats.seconds = clock() - started
            progress(stats)
    producer.flush()
    stats.seconds = clock() - started
    if stats.errors:
        raise ProduceError(f"{stats.errors} records not delivered; first: {stats.first_error}")
    return stats


_TS = re.compile(rb'"ts"\s*:\s*"([^"]+)"')


def _first_ts(line: bytes) -> int | None:
    from datetime import datetime

    m = _TS.search(line)
    if m is None:
        return None
    try:
        return int(datetime.fromisoformat(m.group(1).decode()).timestamp())
    except ValueError:
        return None
