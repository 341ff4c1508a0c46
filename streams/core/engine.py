"""The detection engine: admission, event-time ordering, dispatch to the domain detectors.

A coordinator over parts that own their state, each with a versioned ``snapshot()`` /
``restore()`` (``persist.py`` composes them), wired here and holding nothing of the engine:
readings of the devices seen (``devices.py``, over the registry's ``fleet.py``) wait in the
reorder buffer (``reorder.py``) and are released in timestamp order once the partition's time
is more than ``lateness_s`` ahead, so arrival order within the lateness bound never changes a
result. That time is a *consensus* (``eventclock.py``, docs/event-time.md): set at the start
from the median of the first readings, advanced by readings within ``clock_skew_s`` of it,
and moved further only when ``time_quorum`` sources agree — one fast clock is held aside, not
followed; ``StreamStart`` knows where the stream began. A step's contested readings are
settled by ``conflicts.py``; late readings that fill a meter's communication gap revise the
record of truth (``backfill.py`` over ``revisions.Revisable``); midnight closes the day
(``dayclose.py``); what is refused, and why, is ``refusals.py``'s, and refused clocks are
judged by ``eventtime.ClockFaultJudge``. The parts answer, the engine acts. It knows nothing
about files, Kafka or InfluxDB: results go to an ``EngineOutput``; readings it refuses after
admitting them come back through ``rejections`` with the origin they were pushed with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from contract.registry import Household
from contract.telemetry import EPOCH_BY_TEXT, AnyReading, Batch, event_epoch
from streams.core.activity import active_counts, active_metrics
from streams.core.backfill import Backfill, Fill
from streams.core.clock import day_start_s, interval_day_index
from streams.core.conflicts import Conflicts, FastCopy
from streams.core.context import DetectorContext, EngineOutput, Metric
from streams.core.counters import EngineCounters
from streams.core.dayclose import DayClose
from streams.core.devices import Devices, Route
from streams.core.eventclock import Ahead, EventClock, StreamStart
from streams.core.eventtime import ClockFaultJudge
from streams.core.fleet import Fleet
from streams.core.refusals import Refusals, Rejected
from streams.core.reorder import Entry, ReorderBuffer
from streams.core.revisions import Revisable
from streams.core.settings import DetectionSettings
from streams.core.snapshots import Part, check_format
from streams.core.sources import SOURCE_KINDS, Source
from streams.core.sweeps import Sweeps

__all__ = ["Engine", "EngineCounters", "Rejected"]

_known_epoch = EPOCH_BY_TEXT.get
# The coordinator's own snapshot (``Engine.own_snapshot``); each part versions its own.
# 1 held the counters, the implausible counts, the conflict log and the comm-scan time (now
# their parts')
ENGINE_FORMAT = 2
# handlers whose readings of a step run after the step's others (``SourceKind.last_in_step``)
_LAST_IN_STEP = frozenset(k.handler for k in SOURCE_KINDS.values() if k.last_in_step)


class Engine:
    def __init__(
        self, registry: Iterable[Household], settings: DetectionSettings, output: EngineOutput
    ) -> None:
        self.settings = settings
        self.ctx = DetectorContext(settings, output)
        self.output = output
        # the registry's entities (never stored: a checkpoint fills their detector state)
        fleet = self.fleet = Fleet(registry, settings)
        self.households, self.feeders, self.stations = (
            fleet.households,
            fleet.feeders,
            fleet.stations,
        )
        self.weather, self.counties, self.heat = fleet.weather, fleet.counties, fleet.heat
        self.counters = EngineCounters()
        # The parts that own the engine's moving state (each with snapshot()/restore(), listed
        # in ``parts``): the tally, the devices seen, readings waiting for their step, the
        # partition's consensus time, where the stream starts, what late readings may revise,
        # the open day, contested steps, the sweeps' timer, refusals and clock faults found.
        self.devices = Devices(fleet)
        self._routes = self.devices.routes  # by reading model: the hot path's one lookup
        self.buffer = ReorderBuffer()
        meters = fleet.meters
        self.clock = EventClock(settings, len(self.households), meters + len(self.heat.stations))
        self.start = StreamStart(settings, meters)
        self.revisable = Revisable()
        self.backfill = Backfill(self.ctx, self.revisable)
        self.days = DayClose(self.ctx, fleet, self.revisable)
        self.conflicts = Conflicts(settings)
        self.sweeps = Sweeps(self.ctx, fleet, self.start)
        self.clock_faults = ClockFaultJudge()
        self.refusals = Refusals(self.counters, self.clock_faults, settings)
        # shown as they are (the adapters drain ``rejections`` after every record)
        self.rejections, self.implausible = self.refusals.rejections, self.refusals.implausible
        self.released_until = 0  # the newest step released (processed)
        self._skew = settings.clock_skew_s
        self._earliest = int(settings.earliest_event.timestamp())
        self._latest = int(settings.latest_event.timestamp())
        self._lateness = settings.lateness_s
        # Set when the result could depend on arrival order (a late, held or clock-rejected
        # reading, a conflict settled after the fact): the replay then orders its input.
        self.order_sensitive = False
        # The live path's wall clock (epoch seconds), injected by the adapter: a reading more
        # than the skew bound ahead of it comes from a wrong clock, whatever the consensus.
        # None in a replay, which may replay last year and must not depend on today.
        self.wall_clock: Callable[[], float] | None = None

    # --- input ---------------------------------------------------------------------------
    def push_batch(self, batch: Batch, origin: Any = None) -> list[tuple[int, str]]:
        """Push a concentrator batch; returns (index, reason) for each reading not used."""
        rejected: list[tuple[int, str]] = []
        readings = batch.readings
        self.push_many(readings, [(origin, i) for i in range(len(readings))], rejected)
        return rejected

    def push_many(
        self,
        readings: Sequence[AnyReading],
        origins: Sequence[Any],
        refused: list[tuple[int, str]],
        start: int = 0,
        stop_at: int | None = None,
    ) -> int:
        """Push ``readings[start:]`` (each with its origin) in one call: a runner's batch
        (a Kafka batch, a chunk of a file) pays the call once, not per reading. Each refused
        at admission goes to ``refused`` as (index, reason), exactly as ``push`` raises it.

        ``stop_at``: return right after the reading whose release brought ``released_until``
        to it or beyond (a caller writes what it owes at that event time, then goes on from
        the index returned). Returns the index of the next reading to push."""
        push = self.push
        end = len(readings)
        for i in range(start, end):
            try:
                push(readings[i], origins[i])
            except Rejected as exc:
                refused.append((i, str(exc)))
            if stop_at is not None and self.released_until >= stop_at:
                return i + 1
        return end

    def push(self, r: AnyReading, origin: Any = None) -> None:
        """Accept one reading into the reorder buffer; raise ``Rejected`` if it can't be used.

        ``origin`` (plain data: a line number, a Kafka offset) comes back with the reading in
        ``rejections`` if the engine dead-letters it later (held too long, lost a conflict).

        The hot path (an electric reading inside the lateness band) stays in this one frame;
        everything rarer — other kinds, late, behind, new time — is a call away."""
        ts = _known_epoch(r.ts)  # inlined cache hit: this runs once per reading
        if ts is None:
            ts = self._parse_ts(r)
        # The kind's route is chosen here, once, so the release loop needs no type dispatch.
        route = self._routes[type(r)]
        src = route.sources.get(route.device_of(r))
        if src is None:
            src = self._new_source(route, route.device_of(r))  # refuses an unknown device
        target = src.target
        if route.check is not None:
            bad = route.check(target, r, self.settings)
            if bad is not None:
                self.refusals.implausible_now(src.device, bad)
        if ts <= self.released_until:
            self._late(src, target, r, ts)  # returns only if it was a duplicate or a revision
            return
        clock = self.clock
        max_ts = clock.now
        newer = ts > max_ts
        if newer:
            self._check_new_time(src, r, ts)
        elif ts < max_ts - self._lateness:
            if ts < self._earliest:  # behind the lateness bound, nothing released there yet
                self._outside_window(src, r, ts)
            self.order_sensitive = True  # kept (a reversed file), but arrival order counts
        buffer = self.buffer
        bucket = buffer.steps.get(ts)
        if bucket is None:
            bucket = buffer.open_step(ts)
        if ts > src.last_push:
            src.last_push = ts
            bucket.append((route.handler, target, r, origin, src))
        else:  # maybe a second reading of this source here: settled when the step is released
            buffer.contest(ts, (route.handler, target, r, origin, src))
        self.counters.accepted += 1
        if not self.start.known and src.kind.starts_stream:
            # before the first release: a meter's interval may start the stream earlier
            start = ts - r.interval_s  # type: ignore[union-attr]
            self.start.note(f"{src.kind.kind}|{src.device}", start, bool(self.released_until))
        if newer:
            if max_ts and ts - max_ts <= self._skew:
                clock.now = ts
                self._release(ts - self._lateness)
            else:
                self._ahead(ts, bucket, r, src)

    def _parse_ts(self, r: AnyReading) -> int:
        """A timestamp not in the contract's cache (any but the usual layouts)."""
        try:
            return event_epoch(r.ts)
        except ValueError as exc:
            self.refusals.reject(f"unparseable time: ts {r.ts!r}: {exc}")

    def _new_source(self, route: Route, device: str) -> Source:
        src = self.devices.new(route, device)
        if isinstance(src, str):
            self.refusals.reject(src)
        return src

    def _late(self, src: Source, target: Any, r: AnyReading, ts: int) -> None:
        """A reading at or behind the released time: a re-send of the meter's last reading
        (a duplicate), a revision of the record of truth (``Backfill``), or refused as late."""
        if ts < self._earliest:
            self._outside_window(src, r, ts)
        if src.last_ts == ts:
            self.counters.duplicates += 1
            return
        self.order_sensitive = True
        found = self.backfill.revise(src, target, r, ts, self.released_until, self.days.current)
        if found.implausible is not None:
            self.refusals.implausible_now(src.device, found.implausible)
        if found.fill is Fill.DUPLICATE:
            self.counters.duplicates += 1
            return
        if found.fill is Fill.NOTHING:
            self.refusals.late(r, self.clock.now - ts)
        if found.fill is Fill.NEXT:
            # its source has sent nothing since: its next reading, run by its handler in the
            # source's own order (the partition's other sources moved on, untouched)
            bad = src.kind.handler(self.ctx, target, r, ts)
            if bad is not None:
                self.refusals.implausible_now(src.device, bad)
            src.last_ts = ts
            self.sweeps.roll_up(self.released_until)
        self.counters.rollups_revised += found.rollups_revised
        self.backfill.taken(src, r, ts)
        self.counters.backfilled += 1
        self.counters.accepted += 1

    def _check_new_time(self, src: Source, r: AnyReading, ts: int) -> None:
        """A reading that would move time: inside the programme's window and, live, not
        ahead of the wall clock. (The window is checked off the hot path only: a reading
        between the lateness bound and the newest step is inside it whenever time is.)"""
        if ts > self._latest or ts < self._earliest:
            self._outside_window(src, r, ts)
        if self.wall_clock is not None:
            self.refusals.ahead_of_wall(src, r, ts, int(self.wall_clock()))

    def _outside_window(self, src: Source, r: AnyReading, ts: int) -> None:
        self.order_sensitive = True
        self.refusals.outside_window(src, r, ts, self.clock.now)

    def take_rejections(self) -> list[tuple[Any, AnyReading, str]]:
        return self.refusals.take()

    # --- event time one source cannot drag -----------------------------------------------
    def _ahead(self, ts: int, bucket: list[Entry], r: AnyReading, src: Source) -> None:
        """A reading more than the skew bound ahead of time (or before time is known): it
        moves time only if ``time_quorum`` distinct sources agree on its timestamp."""
        clock = self.clock
        if not clock.now:
            if clock.ready(f"{src.kind.kind}|{src.device}", ts, self.counters.accepted):
                self._establish()
            return
        quorum = min(self.settings.time_quorum, self.devices.reported())
        verdict = clock.ahead(ts, bucket, r, quorum)
        if verdict is Ahead.MOVED:
            self._release(clock.now - self._lateness)
            return
        self.order_sensitive = True
        if verdict is Ahead.OVER_LIMIT:
            self._expire_bucket(ts, "held-ahead limit reached")
            return
        self.counters.held_ahead += 1

    def _establish(self) -> None:
        """Set time for the first time (``EventClock.establish``): readings more than the
        skew bound behind it are clock faults; those ahead of it are held. (The stream's
        *start* is set at the first release, ``StreamStart.at_first_release``.)"""
        found = self.clock.establish(self.buffer)
        if found.outside:
            self.order_sensitive = True
        for ts in found.behind:
            self._expire_bucket(ts, "behind the stream's consensus time at its start")
        self.counters.held_ahead += found.held
        self._release(self.clock.now - self._lateness)

    def _expire_bucket(self, ts: int, why: str) -> None:
        """Dead-letter a step's readings as clock faults (heap entry left stale)."""
        self.clock.forget_ahead(ts)
        self.refusals.expired(self.buffer.expire(ts), ts, self.clock.now, why)

    def _expire_held(self, *, all_ahead: bool) -> None:
        """Held readings that time did not reach within ``clock_hold_s`` (or, at the end of
        the stream, at all) are clock faults."""
        for ts in self.clock.expired(all_ahead=all_ahead):
            self._expire_bucket(ts, "time never reached it")

    def expect_fast_copies(self, fast: dict[int, dict[str, int]]) -> None:
        """Before a replay's pass: readings found to be a fast clock's copies of the meter's
        own earlier readings (timestamp -> canonical JSON -> offset s)."""
        self.clock.expect_fast_copies(fast)

    # --- event-time processing -----------------------------------------------------------
    def _release(self, before: int) -> None:
        """Process every buffered step with a timestamp strictly before ``before``."""
        buffer = self.buffer
        while (step := buffer.next_before(before)) is not None:
            self._step(*step)

    def _step(self, ts: int, bucket: list[Entry]) -> None:
        day = interval_day_index(ts)
        days = self.days
        if days.current is None:
            days.current = day
            self.sweeps.next_scan = ts
            self.start.at_first_release()
        while day > days.current:
            self._close_day(days.current)
            days.current += 1
            if day - days.current > self.settings.empty_gap_days:
                self.counters.days_skipped += days.skip_to(day)
        self.released_until = ts
        contested = self.buffer.take_contested(ts)
        if contested is not None:
            self._settle(ts, bucket, contested)
        else:
            self.clock.fast_copies_at(ts)  # released: none of its readings came ahead now
        ctx, counters, refusals = self.ctx, self.counters, self.refusals
        processed = 0
        # A kind declared ``last_in_step`` runs after the step's others (a home with an indoor
        # sensor and a heat meter is judged on its sensor for the step, whichever device's
        # reading arrived first): a second pass, over what the first put aside.
        later: list[Entry] = []
        for entries, last in ((bucket, _LAST_IN_STEP), (later, ())):
            for entry in entries:
                handler, target, r, origin, src = entry
                if src.last_ts >= ts:
                    counters.duplicates += 1
                    continue
                if handler in last:
                    later.append(entry)
                    continue
                processed += 1
                bad = handler(ctx, target, r, ts)
                if bad is None:
                    src.last_ts = ts
                else:
                    processed -= 1
                    refusals.implausible_later(src, r, origin, bad)
        counters.processed += processed
        self.sweeps.after_step(ts)

    def _settle(self, ts: int, bucket: list[Entry], extras: list[Entry]) -> None:
        """A step's contested readings (``Conflicts.settle``): re-sends counted duplicates
        (counted accepted when they came, as in a file read in order they are not), the
        losers of conflicts and fast clocks' copies dead-lettered."""
        settled = self.conflicts.settle(bucket, extras, self.clock.fast_copies_at(ts))
        self.counters.accepted -= settled.duplicates
        self.counters.duplicates += settled.duplicates
        for refused in settled.refused:
            if type(refused) is FastCopy:
                _, _, r, origin, src = refused.entry
                self.refusals.clock_fault_later(src, r, origin, refused.offset, ts, refused.how)
            else:
                self.counters.conflicts += 1
                self.refusals.withdraw(*refused)

    def _judge_clocks(self) -> None:
        if self.clock.held:
            self._expire_held(all_ahead=False)
        self.clock_faults.judge(self.ctx, self.start.at, self.fleet.faulty_entities)

    def _close_day(self, day: int) -> None:
        """Fold the day into rollups and run the once-a-day judgements (``DayClose``)."""
        self.days.close(day)
        self.counters.days_closed += 1
        self._judge_clocks()

    def flush(self) -> bool:
        """End of stream: process everything buffered; close the last day if it is complete.

        Returns whether the last day was closed (a partial day is not rolled up: its missing
        hours would read as lost data).
        """
        clock, days = self.clock, self.days
        if self.buffer.heap:
            self._release(clock.now + 1)
        if not clock.now and self.buffer.steps:
            self._establish()  # a tiny input: time was never set
            self._release(clock.now + 1)
        if clock.held:
            self._expire_held(all_ahead=True)
        if days.current is not None:
            self._judge_clocks()
        if self.released_until:
            self.sweeps.scan(self.released_until)
        if days.current is not None and self.released_until == day_start_s(days.current + 1):
            self._close_day(days.current)
            days.current += 1
            return True
        return False

    # --- what the coordinator shows (checkpoints, runners, tests) -----------------------
    @property
    def parts(self) -> dict[str, Part]:
        """The parts that own the engine's moving state, by snapshot name (``persist.py``;
        the reorder buffer apart: its readings' origins need the adapter's encoding)."""
        return {
            "counters": self.counters,
            "devices": self.devices,
            "clock": self.clock,
            "start": self.start,
            "revisable": self.revisable,
            "days": self.days,
            "conflicts": self.conflicts,
            "sweeps": self.sweeps,
            "refusals": self.refusals,
            "clock_faults": self.clock_faults,
        }

    @property
    def current_day(self) -> int | None:
        """The open day's index (``DayClose``); None before the first step."""
        return self.days.current

    @property
    def conflict_log(self) -> list[list[Any]] | None:
        """A replay's record of conflicts (``Conflicts.log``); None: not kept (live)."""
        return self.conflicts.log

    @conflict_log.setter
    def conflict_log(self, log: list[list[Any]] | None) -> None:
        self.conflicts.log = log

    @property
    def buffered_steps(self) -> int:
        """Event-time steps waiting in the reorder buffer."""
        return self.buffer.waiting_steps

    @property
    def sources(self) -> dict[str, dict[str, Source]]:
        """The devices seen, by reading kind and device id (``Devices``)."""
        return self.devices.by_kind()

    def source_for(self, kind: str, device: str) -> Source:
        """``Devices.source_for`` (checkpoints: a stored identity clock's source)."""
        return self.devices.source_for(kind, device)

    def entry_of(self, r: AnyReading, origin: Any) -> Entry:
        """``Devices.entry_of`` (checkpoints: a stored buffered reading's entry)."""
        return self.devices.entry_of(r, origin)

    def own_snapshot(self) -> dict[str, Any]:
        """The coordinator's own moving state (its parts snapshot themselves): the
        released time and whether arrival order counted."""
        return {
            "format": ENGINE_FORMAT,
            "released_until": self.released_until,
            "order_sensitive": self.order_sensitive,
        }

    def restore_own(self, data: dict[str, Any]) -> None:
        check_format("engine", data, ENGINE_FORMAT)
        self.released_until = data["released_until"]
        self.order_sensitive = data["order_sensitive"]

    def active_counts(self) -> dict[tuple[str, str, str, str], list[int]]:
        """Open incidents by (county, kind, severity, domain) (``activity.active_counts``)."""
        return active_counts(self.ctx.book)

    def snapshot(self, now: int) -> list[Metric]:
        """Active incidents by county, kind and severity, zeros included (``activity.py``)."""
        return active_metrics(self.ctx.book, self.counties, now)

    @property
    def open_incidents(self) -> int:
        return len(self.ctx.book.open_incidents)
