"""``heatwatch produce``: publish JSONL telemetry (a file or the simulator) to Kafka.

Keys follow contract/keys.py: a concentrator batch by its ``source`` (``DC-<feeder>`` /
``DC-<station>``), a single feeder/station reading by ``DC-<id>``, a single household reading
by its feeder/station when a registry is given. **Weather is broadcast**: each weather line
is sent to every partition, so every engine sees its counties' temperatures in event-time
order with its own data (a global table would make results depend on arrival timing).
Lines that are not JSON are sent unkeyed; the worker dead-letters them. Every record carries
a ``line`` header (its 1-based input line number) for dead-letter reports.

**No record is lost silently.** The producer is idempotent (``enable_idempotence``: a retried
batch is written once) and retries every retriable error — a broker restart, partition
leadership moving (``NotLeaderForPartitionError``) — until a *delivery timeout*
(``delivery_timeout_ms``, default 10 min), not a retry count: five retries ran out in the
seconds leadership takes to settle after a restart and lost 17,200 records. A record that is
still not acknowledged then is reported by its input line (``ProduceError.undelivered``, line
ranges in the message) and the command exits non-zero. After the first failure nothing more
is sent (``unsent_from``): lines sent past a gap would leave the gap to be filled late, and
the engine refuses readings behind the released time as late. The command writes what was
not delivered to a journal (``DeliveryJournal``), and re-running the same input sends
exactly those lines, in input order: each partition gets the rest of its stream where it
stopped, so the re-run is effectively-once end to end (tests/integration/test_faults.py,
``test_produce_rerun_after_a_failure``). Re-sending everything instead is not: an old
reading sent again after newer ones is a late dead letter, unless it is still in the
reorder buffer or the meter's last one.

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

from contract.keys import concentrator_key, household_key
from contract.registry import Household

_SOURCE = re.compile(rb'"source"\s*:\s*"([^"]+)"')
_KIND = re.compile(rb'"kind"\s*:\s*"([a-z_]+)"')


# Retry until this, not a retry count (module docstring). kafka-python's own default is 2 min.
DELIVERY_TIMEOUT_MS = 600_000


class ProduceError(Exception):
    """Some records were not delivered: ``undelivered`` are their input line numbers."""

    def __init__(
        self,
        message: str,
        undelivered: list[int] | None = None,
        stats: ProduceStats | None = None,
    ) -> None:
        super().__init__(message)
        self.undelivered = undelivered or []
        self.stats = stats


def line_ranges(lines: Iterable[int], limit: int = 20) -> str:
    """``[3, 4, 5, 9]`` → ``"3-5, 9"`` (at most ``limit`` ranges, then "…")."""
    ranges: list[tuple[int, int]] = []
    for n in sorted(set(lines)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    text = [f"{a}-{b}" if b > a else str(a) for a, b in ranges[:limit]]
    return ", ".join(text) + (
        f", … ({len(ranges) - limit} more ranges)" if len(ranges) > limit else ""
    )


@dataclass
class ProduceStats:
    records: int = 0
    readings: int = 0
    bytes: int = 0
    weather_broadcasts: int = 0
    errors: int = 0
    first_error: str = ""
    undelivered: list[int] = field(default_factory=list)  # input lines not acknowledged
    # a broadcast (weather) line not acknowledged by some partitions: those partitions (the
    # others have it; a re-run sends it to these only, so no partition gets it twice)
    undelivered_to: dict[int, set[int]] = field(default_factory=dict)
    unsent_from: int | None = None  # the first line not sent, after a failure
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
        key, broadcast, _ = self.route_reading(line)
        return key, broadcast

    def route_reading(self, line: bytes) -> tuple[bytes | None, bool, dict[str, Any] | None]:
        """``route`` and, for a single reading (not a batch, not broadcast), its parsed
        object: such a reading may be grouped with others of its key (``Grouper``)."""
        head = line[:200]
        kind = _KIND.search(head)
        if kind is not None and kind.group(1) == b"batch":
            source = _SOURCE.search(head) or _SOURCE.search(line)
            return (source.group(1) if source else None), False, None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None, False, None
        if not isinstance(obj, dict):
            return None, False, None
        key, broadcast = self._route_object(obj)
        return key, broadcast, (obj if key is not None and not broadcast else None)

    def _route_object(self, obj: dict[str, Any]) -> Route:
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


def make_producer(
    bootstrap: str,
    compression: str | None = "gzip",
    delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
    **overrides: Any,
) -> Any:
    from kafka import KafkaProducer

    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "heatwatch-produce",
        # Idempotent: a batch retried after a lost answer is written once, in order (the
        # broker de-duplicates by producer id and sequence; up to 5 requests in flight keep
        # order). Explicit, so a conflicting override raises instead of silently turning it
        # off. With ACLs, WRITE on the topic is enough (Kafka >= 2.8, KIP-679).
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": compression,
        "linger_ms": 20,
        "batch_size": 512 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        # Retry until the delivery timeout, not a count (module docstring).
        "retries": float("inf"),
        "delivery_timeout_ms": delivery_timeout_ms,
        # send() waits (back-pressure) while the buffer is full or the topic's metadata is
        # unknown, e.g. the broker is down: as long as a record may take to be delivered.
        "max_block_ms": delivery_timeout_ms,
        # Reconnect at most 1 s after the broker is back (the Java client's default), not
        # kafka-python's exponential backoff up to 30 s: after a broker outage the backlog
        # then follows the broker's return at once (docs/production-path.md, "Idle release").
        "reconnect_backoff_max_ms": 1000,
    }
    options.update(overrides)
    return KafkaProducer(**options)


# Readings of one key grouped into one record: at most this many (a record stays well under
# the broker's limit: ~200 bytes a reading).
GROUP_READINGS = 500
# A group waits at most this long (wall clock) for more readings of its instant: a paced or
# live input then still delivers each reading within it, not when the next instant begins.
GROUP_LINGER_S = 0.05
# The header naming a grouped record's input lines: ``<line>:<bytes>,…`` per reading, in order.
LINES_HEADER = "lines"


class Grouper:
    """Single readings that share a key, grouped into one record (the contract's batch form).

        The heat-era fleet sends indoor sensors, heat meters, stations and stacks one reading per
        line; Kafka's and Faust's cost is per record, so a record per reading costs the worker far
        more than the reading (docs/production-path.md, "Batches"). A group holds the readings of
        one key with the same ``ts`` string, in input order; every group is sent when a line of
        another ``ts`` comes, or one that cannot be grouped (a concentrator's batch, weather,
        a line that is not a reading), when it is full, when it has waited ``GROUP_LINGER_S`` (a
    paced input), and at the end. So a partition sees
        readings reordered only among readings of the same instant, never across instants, and
        each key's readings keep their order. The record is
        ``{"kind":"batch","source":"<key>","readings":[<the input lines, verbatim>]}`` with a
        ``lines`` header (``<line>:<bytes>`` per reading): the worker reports a dead letter of
        such a record with its own input line, its own text and the reason a single line would
        get (``streams.records``), so grouping changes no result and no dead letter."""

    def __init__(self, limit: int = GROUP_READINGS) -> None:
        self.limit = limit
        self.groups: dict[bytes, list[tuple[int, bytes]]] = {}
        self.ts: object = None
        self.since = 0.0  # when the oldest pending reading came (``produce``'s clock)

    def add(
        self, key: bytes, ts: object, line_no: int, line: bytes, now: float = 0.0
    ) -> list[Grouped]:
        """Add one reading; returns the records due now (before it, or with it)."""
        due = self.flush() if ts != self.ts else []
        if not self.groups:
            self.since = now
        self.ts = ts
        group = self.groups.setdefault(key, [])
        group.append((line_no, line))
        if len(group) >= self.limit:
            due.append(_grouped(key, self.groups.pop(key)))
        return due

    def flush(self) -> list[Grouped]:
        due = [_grouped(key, items) for key, items in self.groups.items()]
        self.groups.clear()
        self.ts = None
        return due

    def pending_lines(self) -> list[int]:
        return [n for items in self.groups.values() for n, _ in items]


@dataclass(frozen=True)
class Grouped:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    line_nos: list[int]
    # (line number, line) of each reading: a record Kafka refuses as too large is sent again
    # line by line (``producers.bridge``), as each line alone would have been
    items: tuple[tuple[int, bytes], ...] = ()


def _grouped(key: bytes, items: list[tuple[int, bytes]]) -> Grouped:
    if len(items) == 1:  # alone: sent as it came
        n, line = items[0]
        return Grouped(key, line, [("line", str(n).encode())], [n], (items[0],))
    value = b"".join(
        (
            b'{"kind":"batch","source":',
            orjson.dumps(key.decode("utf-8", "replace")),
            b',"readings":[',
            b",".join(line for _, line in items),
            b"]}",
        )
    )
    lines = ",".join(f"{n}:{len(line)}" for n, line in items).encode()
    headers = [("line", str(items[0][0]).encode()), (LINES_HEADER, lines)]
    return Grouped(key, value, headers, [n for n, _ in items], tuple(items))


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
    source: str = "",
    only: Callable[[int], bool] | None = None,
    group: int = GROUP_READINGS,
    only_partitions: Callable[[int], set[int] | None] | None = None,
) -> ProduceStats:
    """Send every non-blank line (``only``: the lines it accepts, a re-run's); stop sending at
    the first failure; raise ``ProduceError`` naming the input lines (of ``source``, a file
    name for the message) not delivered. ``group``: single readings of one key are grouped
    into records of up to this many (``Grouper``; 0 or 1: one record per line).
    ``only_partitions``: for a re-run, the partitions a broadcast line still lacks (None: all)."""
    router = router or Router()
    stats = ProduceStats()
    partitions = sorted(producer.partitions_for(topic) or [])
    if not partitions:
        raise ProduceError(f"topic {topic!r} has no partitions (does it exist?)")
    grouper = Grouper(group) if group > 1 else None

    def failed(
        line_nos: list[int], partition: int | None = None
    ) -> Callable[[BaseException], None]:
        def on_error(exc: BaseException) -> None:
            stats.errors += 1
            stats.undelivered.extend(line_nos)
            if partition is not None:
                for n in line_nos:
                    stats.undelivered_to.setdefault(n, set()).add(partition)
            if not stats.first_error:
                stats.first_error = f"{type(exc).__name__}: {exc}"

        return on_error

    def send(
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]],
        line_nos: list[int],
        broadcast: bool = False,
    ) -> None:
        targets: list[int | None] = [None]
        if broadcast:
            lacking = only_partitions(line_nos[0]) if only_partitions is not None else None
            targets = [p for p in partitions if lacking is None or p in lacking]
        for partition in targets:
            try:
                future = producer.send(
                    topic, value=value, key=key, partition=partition, headers=headers
                )
            except Exception as exc:  # blocked past max_block_ms, too large, …: reported
                failed(line_nos, partition)(exc)
                continue
            future.add_errback(failed(line_nos, partition))
        stats.records += 1
        stats.weather_broadcasts += broadcast
        stats.bytes += len(value)

    def send_groups(due: list[Grouped]) -> None:
        for g in due:
            send(g.key, g.value, g.headers, g.line_nos)

    started = clock()
    line_no = 0
    for raw in lines:
        line_no += 1
        if stats.errors:  # module docstring: nothing past a gap
            stats.unsent_from = line_no
            if grouper is not None:  # grouped but never sent: the re-run sends them
                stats.undelivered.extend(grouper.pending_lines())
            break
        if only is not None and not only(line_no):
            continue
        line = raw.strip()
        if not line:
            continue
        if grouper is None:
            key, broadcast = router.route(line)
            obj = None
        else:
            key, broadcast, obj = router.route_reading(line)
        if key is not None and obj is not None and grouper is not None:
            send_groups(grouper.add(key, obj.get("ts"), line_no, line, clock()))
        else:
            if grouper is not None:
                send_groups(grouper.flush())  # what came before goes before it
            send(key, line, [("line", str(line_no).encode())], [line_no], broadcast)
        n = readings_in(line)
        stats.readings += n
        if record_send_times:
            ts = _first_ts(line)
            if ts is not None and ts not in stats.sent_at:
                stats.sent_at[ts] = time.time()
        if grouper is not None and grouper.groups and clock() - grouper.since > GROUP_LINGER_S:
            send_groups(grouper.flush())  # a paced input: no reading waits for its group
        if rate > 0:
            ahead = stats.readings / rate - (clock() - started)
            if ahead > 0.002:
                sleep(ahead)
        if progress is not None and line_no % 1000 == 0:
            stats.seconds = clock() - started
            progress(stats)
    else:
        if grouper is not None:
            send_groups(grouper.flush())
    producer.flush()
    stats.seconds = clock() - started
    if stats.errors:
        where = f"{source}: " if source else ""
        unsent = f"; not sent: lines {stats.unsent_from}-" if stats.unsent_from else ""
        raise ProduceError(
            f"{stats.errors} records not delivered ({where}lines "
            f"{line_ranges(stats.undelivered)}{unsent}); first: {stats.first_error}",
            sorted(set(stats.undelivered)),
            stats,
        )
    return stats


class DeliveryJournal:
    """What a ``heatwatch produce --input`` run left undelivered, for an exact re-run.

    One JSON file per input (``<input>.delivery.json`` by default): the input's SHA-256 and
    size, and after a failed run the lines to send again — those not acknowledged and every
    line from the first one not sent. A run that finds a journal of the same content sends
    only those; a complete run records ``complete`` (a third run sends nothing unless the
    journal is removed). A run killed before it could write the journal leaves the previous
    state: the re-run then sends everything (for a process that must survive kill -9, use
    ``heatwatch ingest``)."""

    def __init__(self, path: Path, input_path: Path) -> None:
        import hashlib

        self.path = path
        h = hashlib.sha256()
        with input_path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        self.sha = h.hexdigest()
        self.state: dict[str, Any] | None = None
        if path.exists():
            state = orjson.loads(path.read_bytes())
            if state.get("sha") == self.sha:
                self.state = state

    @property
    def complete(self) -> bool:
        return bool(self.state and self.state.get("complete"))

    def only(self) -> Callable[[int], bool] | None:
        """The lines a re-run sends (None: every line)."""
        if self.state is None:
            return None
        again = set(self.state.get("undelivered", []))
        unsent = self.state.get("unsent_from")

        def wanted(n: int) -> bool:
            return n in again or (unsent is not None and n >= unsent)

        return wanted

    def only_partitions(self) -> Callable[[int], set[int] | None] | None:
        """For a re-run: the partitions a broadcast line was not acknowledged by (None: every
        partition — a line never sent, or one that is not broadcast)."""
        if self.state is None:
            return None
        lacking = {int(n): set(p) for n, p in self.state.get("undelivered_to", {}).items()}
        return lacking.get

    def record(self, stats: ProduceStats | None) -> None:
        """``stats`` of a failed run (None: complete); written atomically."""
        if stats is None:
            state: dict[str, Any] = {"sha": self.sha, "complete": True}
        else:
            # this run sent every earlier line it was to send: its own failures and first
            # unsent line are all that is left
            state = {
                "sha": self.sha,
                "undelivered": sorted(set(stats.undelivered)),
                "undelivered_to": {
                    str(n): sorted(p) for n, p in sorted(stats.undelivered_to.items())
                },
                "unsent_from": stats.unsent_from,
            }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(state))
        tmp.replace(self.path)
        self.state = state


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
