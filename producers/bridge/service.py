"""The bridge: drop folder and HTTP pushes → one idempotent producer → Kafka, with a journal.

Every record is tracked from ``send`` to its acknowledgement. A *publication* (a file version
or an HTTP request) is finished only when every one of its records is acknowledged — or
dead-lettered locally with its reason (``<state>/dead_letters.jsonl``: a record Kafka refuses
whatever the retry, e.g. larger than ``max_request_size``). Any other delivery failure (the
delivery timeout passed while the broker was away, a producer-epoch bump) re-sends the
record: the bridge never gives up on a reading.

Back-pressure: at most ``max_pending`` records are unacknowledged; the drop folder is not
read further and HTTP pushes get 503 + ``Retry-After`` until Kafka has caught up, so a Kafka
outage stops intake instead of growing memory. A journal that cannot be written (disk full)
stops intake the same way and is retried; nothing is marked done meanwhile.

Metrics per source (``drop``, ``http``) and a heartbeat every ``heartbeat_s``: a JSON file
(``<state>/heartbeat.json``, replaced atomically) and, when InfluxDB settings are given, one
``ingest`` point per source (docs/influx-schema.md, "ingest").
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from producers.bridge.drop import DropFolder, records_of, sha_of, version_of
from producers.bridge.journal import Journal
from producers.kafka_producer import (
    GROUP_READINGS,
    LINES_HEADER,
    Grouped,
    Grouper,
    Router,
    readings_in,
)

log = logging.getLogger("heatwatch.ingest")

# Refused by Kafka whatever the retry: dead-lettered locally, with the error as the reason.
_PERMANENT = (
    "MessageSizeTooLargeError",
    "RecordListTooLargeError",
    "InvalidRecordError",
    "CorruptRecordError",
    "InvalidTopicError",
)


@dataclass
class SourceMetrics:
    source: str
    files_done: int = 0
    files_redelivered: int = 0
    files_waiting: int = 0  # seen, not yet complete (gzip still uploading)
    lines: int = 0
    records_sent: int = 0
    records_acked: int = 0
    records_resent: int = 0
    readings_acked: int = 0
    dead: int = 0
    bytes: int = 0
    last_ack_s: float = 0.0  # wall clock of the latest acknowledgement


@dataclass
class Publication:
    """One file version or HTTP request: which of its lines are acknowledged."""

    source: str
    name: str
    sha: str
    size: int
    start: int  # lines 1..start were settled before (journal); the frontier starts there
    journaled: bool
    frontier: int = 0  # every line ≤ frontier acknowledged (or dead-lettered, or no record)
    read_all: bool = False
    last_line: int = 0
    dead: int = 0
    journaled_upto: int = 0
    _order: deque[int] = field(default_factory=deque)  # lines with records, in order
    _outstanding: dict[int, int] = field(default_factory=dict)  # line → records in flight

    def __post_init__(self) -> None:
        self.frontier = self.journaled_upto = self.start

    @property
    def complete(self) -> bool:
        return self.read_all and self.frontier >= self.last_line

    def _advance(self) -> None:
        order = self._order
        while order and order[0] not in self._outstanding:
            order.popleft()
        self.frontier = order[0] - 1 if order else self.last_line


@dataclass
class _Record:
    pub: Publication
    line: int  # its (first) input line
    key: bytes | None
    value: bytes
    partition: int | None
    readings: int
    # a grouped record (``Grouper``): its lines' (number, line) and its ``lines`` header
    items: tuple[tuple[int, bytes], ...] = ()
    lines_header: bytes = b""

    @property
    def lines(self) -> Iterable[int]:
        return [n for n, _ in self.items] if self.items else (self.line,)


class Bridge:
    """``producer``: a kafka-python ``KafkaProducer`` (``make_producer``) or a test double;
    ``journal``: the file publications' durable memory; ``influx_write``: posts line
    protocol (None: heartbeat file only); ``present(name, version, after)``: the lines of
    that file version after line ``after`` already in Kafka (``kafka_present``), asked when
    a version is resumed after a crash so that only what is missing is sent (None, or an
    error: the unjournaled tail is sent again)."""

    def __init__(
        self,
        producer: Any,
        topic: str,
        state_dir: Path,
        *,
        router: Router | None = None,
        journal: Journal | None = None,
        max_pending: int = 20_000,
        rate: float = 0.0,
        ack_interval_s: float = 0.5,
        heartbeat_s: float = 5.0,
        name: str = "",
        influx_write: Callable[[bytes], None] | None = None,
        present: Callable[[str, str, int], dict[int, set[int]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        group: int = GROUP_READINGS,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.router = router or Router()
        self.journal = journal or Journal(state_dir / "journal.jsonl")
        self.max_pending = max_pending
        self.rate = rate  # readings/s from the drop folder (0 = as fast as Kafka takes them)
        self._paced = 0  # readings sent since ``_paced_from``
        self._paced_from = 0.0
        self.ack_interval_s = ack_interval_s
        self.heartbeat_s = heartbeat_s
        self.name = name or f"{os.uname().nodename}-{os.getpid()}"
        self.influx_write = influx_write
        self.present = present
        self.clock = clock
        # single readings of one key and instant grouped into records of up to this many, as
        # ``heatwatch produce`` does (``Grouper``; 0 or 1: a record per line)
        self.group = group
        self.metrics = {s: SourceMetrics(s) for s in ("drop", "http")}
        self.partitions: list[int] = []
        self._lock = threading.Condition()
        self._pending = 0
        self._resend: list[_Record] = []
        self._active: list[Publication] = []
        # name → (size, mtime_ns, whole file taken) of the file as last handled
        self._settled: dict[str, tuple[int, int, bool]] = {}
        self.journal_ok = True
        self.journal_error = ""
        self._stop = threading.Event()
        self._dead_path = state_dir / "dead_letters.jsonl"
        self._turned = clock()  # the loop's last turn (``alive``)
        self._next_beat = 0.0
        self._next_housekeeping = 0.0
        self._beat_lines = b""
        self._beat_ready = threading.Event()
        self._poster: threading.Thread | None = None
        self._next_ack_entry = 0.0  # acked entries at most every ack_interval_s (fsync each)

    # --- sending -------------------------------------------------------------------------
    def _partitions(self) -> list[int]:
        if not self.partitions:
            found = self.producer.partitions_for(self.topic)
            if not found:
                raise RuntimeError(f"topic {self.topic!r} has no partitions (does it exist?)")
            self.partitions = sorted(found)
        return self.partitions

    @property
    def pending(self) -> int:
        return self._pending

    def _send(self, rec: _Record) -> None:
        headers = [
            ("line", str(rec.line).encode()),
            *([(LINES_HEADER, rec.lines_header)] if rec.items else []),
            ("file", rec.pub.name.encode()),
            ("version", rec.pub.sha[:16].encode()),  # which content of the file (resume)
        ]
        m = self.metrics[rec.pub.source]
        while True:
            try:
                future = self.producer.send(
                    self.topic,
                    value=rec.value,
                    key=rec.key,
                    partition=rec.partition,
                    headers=headers,
                )
                break
            except Exception as exc:  # blocked past max_block_ms (broker away), too large, …
                if type(exc).__name__ in _PERMANENT or "too large" in str(exc).lower():
                    if rec.items:
                        for single in self._split(rec, exc):
                            self._send(single)
                    else:
                        self._dead_letter(rec, exc)
                    return
                log.warning("ingest: send blocked (%s: %s); retrying", type(exc).__name__, exc)
                if self._stop.wait(1.0):
                    raise
        m.records_sent += 1
        future.add_callback(lambda _meta: self._acked(rec))
        future.add_errback(lambda exc: self._failed(rec, exc))

    def _acked(self, rec: _Record) -> None:
        with self._lock:
            self._settle(rec)
            m = self.metrics[rec.pub.source]
            m.records_acked += 1
            m.readings_acked += rec.readings
            m.last_ack_s = time.time()
            self._lock.notify_all()

    def _settle(self, rec: _Record) -> None:
        pub = rec.pub
        outstanding = pub._outstanding
        advance = False
        for n in rec.lines:
            left = outstanding[n] - 1
            if left:
                outstanding[n] = left
            else:
                del outstanding[n]
                advance = True
        if advance:
            pub._advance()
        self._pending -= 1

    def _split(self, rec: _Record, exc: BaseException) -> list[_Record]:
        """A grouped record Kafka refused whatever the retry (too large): its lines as
        records of their own, so grouping dead-letters nothing a line alone would not have
        been. Each line stays outstanding once; the one record in flight becomes as many."""
        log.warning(
            "ingest: %s lines %d-%d: a grouped record was refused (%s); sent line by line",
            rec.pub.name,
            rec.items[0][0],
            rec.items[-1][0],
            type(exc).__name__,
        )
        singles = [_Record(rec.pub, n, rec.key, line, rec.partition, 1) for n, line in rec.items]
        with self._lock:
            self._pending += len(singles) - 1
        return singles

    def _failed(self, rec: _Record, exc: BaseException) -> None:
        if rec.items and type(exc).__name__ in _PERMANENT:
            singles = self._split(rec, exc)
            with self._lock:  # sent by the loop (not from the producer's I/O thread)
                self._resend.extend(singles)
                self._lock.notify_all()
            return
        if type(exc).__name__ in _PERMANENT:
            with self._lock:
                self._write_dead(rec, exc)
                self._settle(rec)
                self._lock.notify_all()
            return
        with self._lock:  # re-sent by the loop: the bridge never gives up on a reading
            self._resend.append(rec)
            self.metrics[rec.pub.source].records_resent += 1
            self._lock.notify_all()

    def _dead_letter(self, rec: _Record, exc: BaseException) -> None:
        with self._lock:
            self._write_dead(rec, exc)
            self._settle(rec)
            self._lock.notify_all()

    def _write_dead(self, rec: _Record, exc: BaseException) -> None:
        reason = f"Kafka refused the record: {type(exc).__name__}: {exc}"
        entry = {
            "file": rec.pub.name,
            "line_no": rec.line,
            "reason": reason,
            "raw": rec.value[:2000].decode("utf-8", errors="replace"),
        }
        with self._dead_path.open("ab") as fh:
            fh.write(orjson.dumps(entry) + b"\n")
        rec.pub.dead += 1
        self.metrics[rec.pub.source].dead += 1
        log.error("ingest: %s line %d dead-lettered: %s", rec.pub.name, rec.line, reason)

    def _resend_failed(self) -> None:
        with self._lock:
            again, self._resend = self._resend, []
        for rec in again:
            self._send(rec)

    def publish(
        self,
        pub: Publication,
        records: Iterable[tuple[int, bytes | None]],
        *,
        loop: bool,
        skip: dict[int, set[int]] | None = None,
    ) -> None:
        """Send the records of ``pub`` after its ``start`` line. ``loop`` (the bridge's own
        thread): wait for room (back-pressure) and keep the journal going meanwhile; HTTP
        threads check for room before they start (``has_room``). Lines without a record
        count as settled at once."""
        partitions = self._partitions()
        m = self.metrics[pub.source]
        with self._lock:
            self._active.append(pub)
        grouper = Grouper(self.group) if self.group > 1 else None
        for n, value in records:
            if n <= pub.start:
                continue
            m.lines += 1
            targets: list[int | None] = []
            reading: dict[str, Any] | None = None
            if value is not None:
                key, broadcast, reading = self.router.route_reading(value)
                targets = list(partitions) if broadcast else [None]
                found = skip.get(n) if skip else None
                if found is not None:  # already in Kafka (a resume): what is missing only
                    targets = [t for t in targets if broadcast and t not in found]
            if value is None or not targets:  # no reading, or all of it in Kafka
                with self._lock:
                    pub.last_line = n
                    pub._advance()
                continue
            m.bytes += len(value)
            if grouper is not None and reading is not None and key is not None:
                # outstanding from now: the frontier stops before it until its group is acked
                with self._lock:
                    pub._order.append(n)
                    pub._outstanding[n] = 1
                    pub.last_line = n
                for due in grouper.add(key, reading.get("ts"), n, value):
                    self._send_grouped(pub, due, loop)
                continue
            if grouper is not None:
                for due in grouper.flush():  # what came before goes before it
                    self._send_grouped(pub, due, loop)
            readings = readings_in(value)
            if loop:
                self._wait_for_room()
                self._pace(readings)
            with self._lock:
                pub._order.append(n)
                pub._outstanding[n] = len(targets)
                pub.last_line = n
                self._pending += len(targets)
            for partition in targets:
                self._send(_Record(pub, n, key, value, partition, readings))
        if grouper is not None:
            for due in grouper.flush():
                self._send_grouped(pub, due, loop)
        with self._lock:
            pub.read_all = True
            pub._advance()
            self._lock.notify_all()

    def _send_grouped(self, pub: Publication, group: Grouped, loop: bool) -> None:
        """One record of the grouper: its lines are outstanding already (``publish``)."""
        readings = len(group.items)
        if loop:
            self._wait_for_room()
            self._pace(readings)
        with self._lock:
            self._pending += 1
        n, line = group.items[0]
        if readings == 1:  # alone: sent as it came
            self._send(_Record(pub, n, group.key, line, None, 1))
            return
        lines = dict(group.headers)[LINES_HEADER]
        self._send(_Record(pub, n, group.key, group.value, None, readings, group.items, lines))

    def _pace(self, readings: int) -> None:
        """``rate``: a back-fill that must not swamp the worker (or a test's pace)."""
        if self.rate <= 0:
            return
        now = self.clock()
        if self._paced == 0 or now - self._paced_from > self._paced / self.rate + 1:
            self._paced, self._paced_from = 0, now  # (re)start: an idle bridge owes no burst
        self._paced += readings
        ahead = self._paced / self.rate - (now - self._paced_from)
        if ahead > 0.002:
            self._stop.wait(ahead)

    def _wait_for_room(self) -> None:
        """Per record of the loop: housekeeping at most every 0.1 s (it took half of the
        bridge's CPU when done per record), then wait while Kafka is behind or the journal
        cannot be written."""
        now = self.clock()
        self._turned = now
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + 0.1
            self._maybe_heartbeat()  # a long file must not silence the heartbeat
            self._resend_failed()
            self._journal_progress()
        # unlocked reads: a stale value only delays the slow path by one record
        if self._pending < self.max_pending and self.journal_ok and not self._resend:
            return
        while True:
            self._turned = self.clock()
            self._resend_failed()
            self._journal_progress()
            with self._lock:
                if self._pending < self.max_pending and self.journal_ok:
                    return
                self._lock.wait(0.2)
            if self._stop.is_set():
                raise InterruptedError("stopping")

    def has_room(self) -> bool:
        with self._lock:
            return self._pending < self.max_pending

    def wait(self, pub: Publication, timeout: float) -> bool:
        """Wait until ``pub`` is complete (HTTP); False after ``timeout``."""
        deadline = self.clock() + timeout
        while True:
            with self._lock:
                if pub.complete:
                    return True
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))

    # --- the journal ---------------------------------------------------------------------
    def _journal_progress(self) -> None:
        """Write the acknowledged frontier of every active file publication; finish those
        complete. Called from the loop only (the journal has one writer)."""
        with self._lock:
            active = list(self._active)
        now = self.clock()
        beat = now >= self._next_ack_entry or not self.journal_ok
        if beat:
            self._next_ack_entry = now + self.ack_interval_s
        wrote = False
        for pub in active:
            with self._lock:
                frontier, complete = pub.frontier, pub.complete
            try:
                if pub.journaled and complete:
                    self.journal.done(pub.name, pub.sha, pub.size, pub.last_line, pub.dead)
                    wrote = True
                elif beat and pub.journaled and frontier > pub.journaled_upto:
                    self.journal.acked(pub.name, pub.sha, frontier)
                    pub.journaled_upto = frontier
                    wrote = True
            except OSError as exc:
                self._journal_failed(exc)
                return
            if complete:
                with self._lock:
                    self._active.remove(pub)
                if pub.journaled:
                    self.metrics[pub.source].files_done += 1
                    log.info(
                        "ingest: %s done: %d lines, every record acknowledged (%d dead-lettered)",
                        pub.name,
                        pub.last_line,
                        pub.dead,
                    )
        if self.journal_ok:
            return
        if not wrote:  # writable again? only a write can tell (ignored on load)
            try:
                self.journal.append({"ev": "probe"})
            except OSError as exc:
                self._journal_failed(exc)
                return
        log.warning("ingest: journal writable again; taking input")
        self.journal_ok, self.journal_error = True, ""

    def _journal_failed(self, exc: OSError) -> None:
        if self.journal_ok:
            log.error(
                "ingest: cannot write the journal (%s): intake stopped, records in flight "
                "still delivered; retrying",
                exc,
            )
        self.journal_ok, self.journal_error = False, str(exc)

    # --- the drop folder -----------------------------------------------------------------
    def scan(self, folder: DropFolder, tail_quiet_s: float) -> int:
        """Publish every complete file not published yet; returns how many were started."""
        started = 0
        waiting = 0
        for name, path, quiet in folder.ready():
            allow_tail = quiet >= tail_quiet_s
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            settled = self._settled.get(name)
            unchanged = settled is not None and settled[:2] == (st.st_size, st.st_mtime_ns)
            if unchanged and settled is not None and (settled[2] or not allow_tail):
                continue  # handled, and nothing more may be taken of it now
            with self._lock:
                if any(p.name == name for p in self._active):
                    continue  # still in flight
            version = version_of(path, allow_tail)
            if not version.complete:
                waiting += 1
                continue
            covered = (st.st_size, st.st_mtime_ns, version.size == st.st_size)
            plan = self._plan(name, path, version.sha, version.size)
            if plan is None:
                self._settled[name] = covered
                continue
            pub, resume, read_back = plan
            if not resume:
                try:
                    self.journal.begin(pub.name, pub.sha, pub.size, pub.start)
                except OSError as exc:
                    self._journal_failed(exc)
                    break
            log.info(
                "ingest: %s: publishing %d bytes after line %d (sha256 %s…)",
                name,
                pub.size,
                pub.start,
                pub.sha[:12],
            )
            skip = self._in_kafka(pub, read_back) if read_back else None
            self.publish(pub, records_of(path, pub.size), loop=True, skip=skip)
            self._settled[name] = covered
            started += 1
            self._journal_progress()
        self.metrics["drop"].files_waiting = waiting
        return started

    def _in_kafka(self, pub: Publication, version: str) -> dict[int, set[int]]:
        """After a crash: the lines past the journaled frontier that reached Kafka anyway
        under ``version`` (acknowledged within the last journal interval, or in flight at the
        kill). Sending them again would make duplicates that an engine may refuse as late
        once they are behind its released time."""
        if self.present is None:
            return {}
        try:
            found = self.present(pub.name, version, pub.start)
        except Exception as exc:  # e.g. no Read on the topic: at-least-once, say so
            log.warning(
                "ingest: %s: cannot read back what reached Kafka (%s: %s); the lines after "
                "line %d are sent again",
                pub.name,
                type(exc).__name__,
                exc,
                pub.start,
            )
            return {}
        log.info(
            "ingest: %s resumed after line %d: %d later lines are already in Kafka",
            pub.name,
            pub.start,
            len(found),
        )
        return found

    def all_settled(self, folder: DropFolder) -> bool:
        """Every file in ``folder`` handled as it is now, nothing in flight (``--once``)."""
        with self._lock:
            if self._active or self._pending:
                return False
        for name, path in folder.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            settled = self._settled.get(name)
            if settled is None or settled[:2] != (st.st_size, st.st_mtime_ns):
                return False
        return True

    def _plan(
        self, name: str, path: Path, sha: str, size: int
    ) -> tuple[Publication, bool, str | None] | None:
        """What to publish of the first ``size`` bytes of ``path`` (SHA-256 ``sha``):
        ``(publication, resumed, read back)`` — its ``start`` is the last line already
        settled; ``resumed``: the journal has begun it already; ``read back``: the version
        (header) whose lines after ``start`` may be in Kafka from before a crash — or None
        (nothing: empty, done, or a re-delivery)."""
        j = self.journal
        known = j.files.get(name)
        if size == 0:
            return None
        if known is not None and known.sha == sha:
            if known.done:
                return None
            # resumed after a crash: the lines after the last journaled acknowledgement
            return Publication("drop", name, sha, size, known.upto, True), True, sha[:16]
        if sha in j.done_shas:
            self.metrics["drop"].files_redelivered += 1
            log.warning(
                "ingest: %s has the content of %s, already published: skipped (re-delivery)",
                name,
                j.done_shas[sha],
            )
            return None
        if known is not None and known.size < size and sha_of(path, known.size) == known.sha:
            # the file grew: continue after what the earlier version settled; a last line
            # published without its newline is sent again (it had been cut)
            settled = known.lines if known.done else known.upto
            if known.done and _byte_at(path, known.size - 1) != b"\n":
                settled -= 1
            # unfinished (a crash, then the file grew): its lines may be in Kafka already
            read_back = None if known.done else known.sha[:16]
            return Publication("drop", name, sha, size, settled, True), False, read_back
        return Publication("drop", name, sha, size, 0, True), False, None

    def run(
        self,
        folder: DropFolder | None,
        *,
        poll_s: float = 1.0,
        tail_quiet_s: float = 60.0,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """The loop: scan, re-send failures, journal progress, heartbeat; until stopped."""
        while not self._stop.is_set():
            self._turned = self.clock()
            self._resend_failed()
            self._journal_progress()
            if folder is not None and self.journal_ok:
                try:
                    self.scan(folder, tail_quiet_s)
                except InterruptedError:
                    break
            self._maybe_heartbeat()
            if until is not None and until():
                break
            self._stop.wait(poll_s)
        self._resend_failed()
        self._journal_progress()

    def alive(self) -> bool:
        """The loop turned recently (``/healthz``): scanning, or waiting for room."""
        return self.clock() - self._turned < max(30.0, 3 * self.heartbeat_s)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait for every record in flight (tests, shutdown); journal what was acknowledged."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            with contextlib.suppress(Exception):  # not flushed within the second: again
                self.producer.flush(timeout=1)
            self._resend_failed()
            self._journal_progress()
            with self._lock:
                if self._pending == 0 and not self._active:
                    return True
        return False

    # --- heartbeat -----------------------------------------------------------------------
    def _maybe_heartbeat(self) -> None:
        now = self.clock()
        if now >= self._next_beat:
            self._next_beat = now + self.heartbeat_s
            self.heartbeat()

    def status(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            pending = self._pending
            files = [p.name for p in self._active]
        last_ack = max(m.last_ack_s for m in self.metrics.values())
        return {
            "bridge": self.name,
            "topic": self.topic,
            "at": now,
            "pending": pending,
            "in_flight_files": files,
            # Kafka "answers" while nothing waits or an acknowledgement came recently
            "kafka_ok": pending == 0 or (last_ack > 0 and now - last_ack < 30),
            "journal_ok": self.journal_ok,
            "journal_error": self.journal_error,
            "sources": {s: asdict(m) for s, m in self.metrics.items()},
        }

    def heartbeat(self) -> None:
        status = self.status()
        path = self.state_dir / "heartbeat.json"
        tmp = path.with_name(".heartbeat.json.tmp")
        try:
            tmp.write_bytes(orjson.dumps(status, option=orjson.OPT_INDENT_2))
            os.replace(tmp, path)
        except OSError as exc:  # a full disk must not stop the bridge: the journal says it
            log.warning("ingest: heartbeat file not written: %s", exc)
        if self.influx_write is not None:
            # posted by a thread of its own: an InfluxDB that is away (a 5 s timeout) must not
            # slow publishing; only the newest heartbeat waits, older ones are dropped
            self._beat_lines = ingest_lines(status)
            if self._poster is None or not self._poster.is_alive():
                self._poster = threading.Thread(
                    target=self._post, name="ingest-heartbeat", daemon=True
                )
                self._poster.start()
            self._beat_ready.set()

    def _post(self) -> None:
        assert self.influx_write is not None
        while not self._stop.is_set():
            if not self._beat_ready.wait(1.0):
                continue
            self._beat_ready.clear()
            lines = self._beat_lines
            try:
                self.influx_write(lines)
            except Exception as exc:  # InfluxDB away: the heartbeat file still has it
                log.warning("ingest: heartbeat point not written: %s", exc)


def ingest_lines(status: dict[str, Any]) -> bytes:
    """One ``ingest`` point per source (wall clock: it is about the process, not the data)."""
    from streams.sinks.points import line

    out = []
    for source, m in status["sources"].items():
        fields: dict[str, Any] = {
            k: m[k]
            for k in (
                "files_done",
                "files_redelivered",
                "files_waiting",
                "lines",
                "records_sent",
                "records_acked",
                "records_resent",
                "readings_acked",
                "dead",
            )
        }
        fields["pending"] = status["pending"]
        fields["kafka_ok"] = bool(status["kafka_ok"])
        fields["journal_ok"] = bool(status["journal_ok"])
        fields["last_ack_s"] = int(m["last_ack_s"])
        tags = {"bridge": status["bridge"], "source": source, "topic": status["topic"]}
        out.append(line("ingest", tags, fields, int(status["at"])))
    return b"\n".join(out)


def _byte_at(path: Path, pos: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(pos)
        return fh.read(1)


def kafka_present(
    bootstrap: str, topic: str, window: int, **options: Any
) -> Callable[[str, str, int], dict[int, set[int]]]:
    """``Bridge.present`` over Kafka: reads the last ``window`` records of every partition
    (the records sent after the journaled frontier are fewer: at most ``max_pending`` in
    flight, plus one journal interval of acknowledgements) and returns the lines of the
    file version found there, each with the partitions it is in (weather goes to every
    partition). Needs Read on the topic (no consumer group)."""

    def present(name: str, version: str, after: int) -> dict[int, set[int]]:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **options)
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            end = consumer.end_offsets(tps)
            start = consumer.beginning_offsets(tps)
            for tp in tps:
                consumer.seek(tp, max(start[tp], end[tp] - window))
            found: dict[int, set[int]] = {}
            want_file, want_version = name.encode(), version.encode()
            deadline = time.monotonic() + 120
            while any(consumer.position(tp) < end[tp] for tp in tps):
                if time.monotonic() > deadline:
                    raise TimeoutError("reading the topic's tail took over 120 s")
                for batch in consumer.poll(timeout_ms=1000).values():
                    for r in batch:
                        h = dict(r.headers or [])
                        if h.get("file") == want_file and h.get("version") == want_version:
                            for line in _lines_of(h):
                                if line > after:
                                    found.setdefault(line, set()).add(r.partition)
            return found
        finally:
            consumer.close()

    return present


def _lines_of(headers: dict[str, bytes]) -> list[int]:
    """The input lines of a record: its ``line``, or each of a grouped record's ``lines``."""
    grouped = headers.get(LINES_HEADER)
    if grouped:
        return [int(spec.split(b":")[0]) for spec in grouped.split(b",")]
    return [int(headers["line"])]
