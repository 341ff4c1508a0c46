"""The detection engine: admission, event-time ordering, dispatch to the domain detectors.

A coordinator over parts that own their state, each with a versioned ``snapshot()`` /
``restore()`` (``persist.py`` composes them), wired here and holding nothing of the engine:
readings wait in the reorder buffer (``reorder.py``) and are released in timestamp order once
the partition's time is more than ``lateness_s`` ahead, so arrival order within the lateness
bound never changes a result. That time is a *consensus* (``eventclock.py``,
docs/event-time.md): set at the start from the median of the first readings, advanced by
readings within ``clock_skew_s`` of it, and moved further only when ``time_quorum`` sources
agree — one fast clock is held aside, not followed; ``StreamStart`` knows where the stream
began. Re-sends are duplicates, a second, different reading of one source at one time is a
conflict settled by content (here); late readings that fill a meter's communication gap revise
the record of truth (``backfill.py`` over ``revisions.Revisable``); midnight closes the day
(``dayclose.py``); refused clocks are judged by ``eventtime.ClockFaultJudge``. The parts
answer, the engine acts. It knows nothing about files, Kafka or InfluxDB: results go to an
``EngineOutput``; readings it refuses after admitting them come back through ``rejections``
with the origin they were pushed with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from contract.incidents import IncidentKind, Severity
from contract.registry import Household
from contract.telemetry import (
    EPOCH_BY_TEXT,
    AnyReading,
    Batch,
    event_epoch,
)
from streams.core.backfill import Backfill, Fill
from streams.core.clock import day_start_s, interval_day_index, to_datetime
from streams.core.context import DetectorContext, EngineOutput, Metric
from streams.core.dayclose import DayClose
from streams.core.eventclock import Ahead, EventClock, StreamStart
from streams.core.eventclock import canonical as _canonical
from streams.core.eventtime import ClockFaultJudge, describe_offset
from streams.core.gas import SEVERITIES as GAS_SEVERITIES
from streams.core.gas import roll_up_station
from streams.core.heat import (
    DOMAIN_SEVERITIES,
    HeatNetwork,
    HeatTarget,
    on_heat_meter,
    snapshot_domain,
)
from streams.core.heat import SEVERITIES as HEAT_SEVERITIES
from streams.core.outages import SEVERITIES as OUTAGE_SEVERITIES
from streams.core.outages import roll_up_feeder, scan_comm_loss
from streams.core.plausibility import energy_cap_per_s
from streams.core.reorder import Entry, ReorderBuffer
from streams.core.revisions import (
    Revisable,
)
from streams.core.settings import DetectionSettings
from streams.core.snapshots import check_format
from streams.core.sources import (
    SOURCE_KINDS,
    Plausibility,
    Source,
    SourceKind,
    Unknown,
)
from streams.core.state import (
    CountyWeather,
    FeederState,
    HouseholdState,
    StationState,
    mean_location,
)
from streams.core.storage import SEVERITIES as STORAGE_SEVERITIES

Target = HouseholdState | FeederState | StationState | CountyWeather | HeatTarget
# county, kind, severity, domain ("" except a heat device's comm_loss: streams.core.heat)
SnapshotKey = tuple[str, str, str, str]
# The (kind, severities) the detectors open incidents with, declared next to each detector.
OCCURRING_SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    **OUTAGE_SEVERITIES,
    **STORAGE_SEVERITIES,
    **GAS_SEVERITIES,
    **HEAT_SEVERITIES,
}


def snapshot_tags(county: str, kind: str, severity: str, domain: str) -> dict[str, str]:
    """An ``active_incidents`` row's tags; ``domain`` only when there is one."""
    tags = {"county": county, "kind": kind, "severity": severity}
    if domain:
        tags["domain"] = domain
    return tags


def occurring_keys(counties: Iterable[str]) -> list[SnapshotKey]:
    """The snapshot rows that can be non-zero (``OCCURRING_SEVERITIES``, and the domain-tagged
    ``DOMAIN_SEVERITIES``), per county: the ones a snapshot writes zeros for."""
    pairs = [(k.value, s.value, "") for k, sevs in OCCURRING_SEVERITIES.items() for s in sevs]
    pairs += [(k.value, s.value, d) for (k, d), sevs in DOMAIN_SEVERITIES.items() for s in sevs]
    return [(county, kind, sev, domain) for county in counties for kind, sev, domain in pairs]


_known_epoch = EPOCH_BY_TEXT.get
# The coordinator's own snapshot (``Engine.own_snapshot``); each part versions its own.
ENGINE_FORMAT = 1
# Conflicts a replay keeps for its fast-clock check (~0.5 KB each): a file of nothing but
# conflicts cannot make it hold the file in memory; beyond this they stay conflicts.
CONFLICT_LOG_MAX = 100_000
# A partition of at least this many times ``2 * time_quorum + 1`` households sets its time
# from that many distinct sources; failing them, after this many readings (memory bound).
BOOTSTRAP_BY_SOURCES_FROM = 10
BOOTSTRAP_READINGS_MAX = 20_000


def _same(a: AnyReading, b: AnyReading) -> bool:
    """Equal readings (a re-send), whatever UTC offset each was written with."""
    return a == b or (type(a) is type(b) and _canonical(a) == _canonical(b))


def _conflict_rank(entry: Entry) -> tuple[int, str]:
    r = entry[2]
    event = getattr(r, "event", None)
    return (2 if event == "power_down" else 1 if event == "power_up" else 0, _canonical(r))


class Rejected(Exception):
    """A reading that is well-formed but cannot be used; the reason goes to the dead letters."""


@dataclass
class EngineCounters:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    processed: int = 0
    days_closed: int = 0
    days_skipped: int = 0
    conflicts: int = 0
    held_ahead: int = 0
    clock_rejected: int = 0
    implausible: int = 0
    backfilled: int = 0
    rollups_revised: int = 0


class _Route:
    """A reading kind's declaration (``streams/core/sources.py``) bound to one engine: the
    states its devices update and their identity clocks, by device id."""

    __slots__ = ("check", "device_of", "handler", "kind", "sources", "targets")

    def __init__(self, kind: SourceKind, engine: Engine) -> None:
        self.kind = kind
        self.device_of = kind.device_of
        self.targets: dict[str, Any] = kind.targets(engine)
        self.sources: dict[str, Source] = {}
        self.handler = kind.handler
        self.check = kind.check if kind.plausibility is Plausibility.ON_ADMISSION else None


class Engine:
    def __init__(
        self,
        registry: Iterable[Household],
        settings: DetectionSettings,
        output: EngineOutput,
    ) -> None:
        self.settings = settings
        self.ctx = DetectorContext(settings, output)
        self.output = output
        self.households: dict[str, HouseholdState] = {}
        self.feeders: dict[str, FeederState] = {}
        self.stations: dict[str, StationState] = {}
        self.weather: dict[str, CountyWeather] = {}
        self.counties: set[str] = set()
        for hh in registry:
            self._register(hh)
        for feeder in self.feeders.values():
            feeder.location = mean_location(feeder.members)
        for station in self.stations.values():
            station.location = mean_location(station.members)
        self.heat: HeatNetwork = HeatNetwork(self.households.values(), self.weather, self.settings)
        # One route per reading kind; its sources are the devices seen (per kind, device id).
        self._routes: dict[type, _Route] = {k.model: _Route(k, self) for k in SOURCE_KINDS.values()}
        self.counters = EngineCounters()
        # The parts that own the engine's moving state (each with snapshot()/restore()):
        # readings waiting for their step, the partition's consensus time, where the stream
        # starts, what late readings may revise, the open day, and clock faults found.
        self.buffer = ReorderBuffer()
        self.clock = EventClock(settings)
        meters = sum(1 for st in self.households.values() if st.feeder or st.station)
        self.start = StreamStart(settings, meters)
        self.revisable = Revisable()
        # the revision rules a kind declares (``SourceKind.revision``), over the kept days
        self.backfill = Backfill(self.ctx, self.revisable)
        self.days = DayClose(
            self.ctx,
            self.households,
            self.feeders,
            self.stations,
            self.weather,
            self.heat,
            self.revisable,
        )
        self.clock_faults = ClockFaultJudge()
        self.released_until = 0  # the newest step released (processed)
        self._next_comm_scan = 0
        self._comm_scan_every = max(
            settings.interval_s, settings.comm_loss_intervals * settings.interval_s // 2
        )
        # Time is first set from this many readings (their median), so one bad clock at the
        # head of a file cannot set it. In a partition of many households, from this many
        # distinct *sources* (the median of each one's newest timestamp): a meter whose clock
        # is hours behind comes first in an event-time-ordered file with all its readings of
        # those hours, and must not set time alone. The sources awaited are at most the
        # devices the registry makes sure of — household meters and heat stations (a
        # partition of network homes without sensors of their own has only its stations) —
        # so a partition never waits for sources it does not have. (A handful of households:
        # the readings decide, as ever.)
        self._bootstrap_n = 2 * settings.time_quorum + 1
        many = len(self.households) >= BOOTSTRAP_BY_SOURCES_FROM * self._bootstrap_n
        sure = meters + len(self.heat.stations)
        self._bootstrap_sources = min(self._bootstrap_n, max(1, sure)) if many else 0
        self._skew = settings.clock_skew_s
        self._earliest = int(settings.earliest_event.timestamp())
        self._latest = int(settings.latest_event.timestamp())
        self._lateness = settings.lateness_s
        self.implausible: dict[str, int] = {}  # source id -> implausible readings rejected
        # Dead letters the engine produces outside ``push`` (held readings that expired,
        # conflicts settled at release): (origin, reading, reason); adapters drain it.
        self.rejections: list[tuple[Any, AnyReading, str]] = []
        # Set when the result could depend on arrival order (a late, held or clock-rejected
        # reading, a conflict settled after the fact): the replay then orders its input.
        self.order_sensitive = False
        # The live path's wall clock (epoch seconds), injected by the adapter: a reading more
        # than the skew bound ahead of it comes from a wrong clock, whatever the consensus.
        # None in a replay, which may replay last year and must not depend on today.
        self.wall_clock: Callable[[], float] | None = None
        # A replay's record of conflicts ([source id, ts, [kept, rejected]]), for
        # ``streams.eventorder.find_fast_copies``; None (not kept) on the live path.
        self.conflict_log: list[list[Any]] | None = None

    def _register(self, hh: Household) -> None:
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
        st.energy_cap = energy_cap_per_s(hh, self.settings)
        self.households[hh.household_id] = st
        if feeder is not None:
            feeder.members.append(st)
            feeder.priority_members += hh.is_priority
        if station is not None and hh.is_gas:
            station.members.append(st)
            station.priority_members += hh.is_priority
        self.counties.add(hh.county)

    # --- input ---------------------------------------------------------------------------
    def push_batch(self, batch: Batch, origin: Any = None) -> list[tuple[int, str]]:
        """Push a concentrator batch; returns (index, reason) for each reading not used."""
        rejected = []
        for i, reading in enumerate(batch.readings):
            try:
                self.push(reading, (origin, i))
            except Rejected as exc:
                rejected.append((i, str(exc)))
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
                self._implausible(src.device, bad)
        if ts <= self.released_until:
            self._late(src, target, r, ts)  # returns only if it was a duplicate or a revision
            return
        clock = self.clock
        max_ts = clock.now
        newer = ts > max_ts
        if newer:
            self._check_new_time(src, r, ts)
        elif ts < max_ts - self._lateness:
            self._behind(src, r, ts)
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
        if not self.start.known:
            self._note_start_of(r, ts)
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
            self._reject(f"unparseable time: ts {r.ts!r}: {exc}")

    def _new_source(self, route: _Route, device: str) -> Source:
        """A device's first reading: its source, bound to the state its readings update. A
        device the registry does not know is refused — or (weather) its state is created."""
        kind = route.kind
        target = route.targets.get(device)
        if target is None:
            if kind.on_unknown is not Unknown.CREATE:
                self._reject(kind.unknown(device))
            assert kind.model is SOURCE_KINDS["weather"].model
            target = route.targets[device] = CountyWeather(device)
        src = route.sources[device] = Source(kind, device, target)
        return src

    def source_for(self, kind: str, device: str) -> Source:
        """The source of ``kind`` and ``device`` (checkpoints: buffered readings, stored
        clocks); a device the registry no longer knows is a ``ValueError``."""
        route = self._routes[SOURCE_KINDS[kind].model]
        src = route.sources.get(device)
        if src is not None:
            return src
        if route.targets.get(device) is None and route.kind.on_unknown is not Unknown.CREATE:
            raise ValueError(route.kind.unknown(device))
        return self._new_source(route, device)

    def _late(self, src: Source, target: Target, r: AnyReading, ts: int) -> None:
        """A reading at or behind the released time: a re-send of the meter's last reading
        (a duplicate), a revision of the record of truth, or refused as late."""
        if ts < self._earliest:
            self._outside_window(src, r, ts)
        if src.last_ts == ts:
            self.counters.duplicates += 1
            return
        self.order_sensitive = True
        if self._revise_late(src, target, r, ts):
            return
        self._reject(
            f"late: ts {r.ts} arrived after readings up to "
            f"{self.clock.now - ts} s newer (lateness bound {self.settings.lateness_s} s)"
        )

    def _check_new_time(self, src: Source, r: AnyReading, ts: int) -> None:
        """A reading that would move time: inside the programme's window and, live, not
        ahead of the wall clock. (The window is checked off the hot path only: a reading
        between the lateness bound and the newest step is inside it whenever time is.)"""
        if ts > self._latest or ts < self._earliest:
            self._outside_window(src, r, ts)
        if self.wall_clock is not None:
            self._check_wall_clock(src, r, ts)

    def _behind(self, src: Source, r: AnyReading, ts: int) -> None:
        """Behind the lateness bound but nothing released there yet (a reversed file): kept,
        but the result could depend on arrival order."""
        if ts < self._earliest:
            self._outside_window(src, r, ts)
        self.order_sensitive = True

    def _note_start_of(self, r: AnyReading, ts: int) -> None:
        """Before the first release: a meter's interval may start the stream earlier."""
        kind = self._routes[type(r)].kind
        if kind.starts_stream:
            start = ts - r.interval_s  # type: ignore[union-attr]
            meter = f"{kind.kind}|{getattr(r, kind.device_field)}"
            self.start.note(meter, start, bool(self.released_until))

    def _reject(self, reason: str) -> NoReturn:
        self.counters.rejected += 1
        raise Rejected(reason)

    def _implausible_later(self, src: Source, r: AnyReading, origin: Any, why: str) -> None:
        """Plausibility found on release (electric): dead-lettered through ``rejections``."""
        entity = src.device
        self.implausible[entity] = self.implausible.get(entity, 0) + 1
        self.counters.implausible += 1
        self._withdraw(origin, r, f"implausible: {entity}: {why}")

    def _withdraw(self, origin: Any, r: AnyReading, reason: str) -> None:
        """Refuse a reading that was counted as accepted when it came (a conflict settled,
        a clock fault found, a value judged, after the fact): dead-lettered with ``reason``."""
        self.counters.rejected += 1
        self.counters.accepted -= 1
        self.rejections.append((origin, r, reason))

    def _withdraw_clock_fault(
        self, src: Source, r: AnyReading, origin: Any, offset: int, ts: int, how: str
    ) -> None:
        """``_withdraw`` for a wrong clock: counted towards the source's ``meter_clock_fault``."""
        kind, entity = src.entity, src.device
        self.clock_faults.note(kind, entity, offset, ts)
        self.counters.clock_rejected += 1
        self._withdraw(origin, r, f"clock fault: {kind} {entity} stamped {r.ts}, {how}")

    def _plausible(self, entry: Entry) -> int:
        """1 if the entry's values are within its kind's physical limits (a conflict's
        ranking: an impossible value never wins); a kind checked on admission passed."""
        kind = entry[4].kind
        if kind.plausibility is not Plausibility.ON_RELEASE or kind.check is None:
            return 1
        return int(kind.check(entry[1], entry[2], self.settings) is None)

    def _implausible(self, entity: str, reason: str) -> NoReturn:
        self.implausible[entity] = self.implausible.get(entity, 0) + 1
        self.counters.implausible += 1
        self._reject(f"implausible: {entity}: {reason}")

    def _outside_window(self, src: Source, r: AnyReading, ts: int) -> NoReturn:
        kind, entity = src.entity, src.device
        self.clock_faults.note(kind, entity, ts - (self.clock.now or ts))
        self.counters.clock_rejected += 1
        self.order_sensitive = True
        self._reject(
            f"clock fault: {kind} {entity} stamped {r.ts}, outside the programme's window "
            f"{self.settings.earliest_event.isoformat()} .. {self.settings.latest_event.isoformat()}"
            " (meter clock reset or corrupt)"
        )

    def _check_wall_clock(self, src: Source, r: AnyReading, ts: int) -> None:
        """Live only: a reading stamped more than the skew bound ahead of the worker's wall
        clock never advances time, whatever the consensus (three fast meters agreeing are
        still in the future): it is a clock fault, refused at once with its offset."""
        now = int(self.wall_clock())  # type: ignore[misc]
        if ts - now <= self._skew:
            return
        kind, entity = src.entity, src.device
        self.clock_faults.note(kind, entity, ts - now, ts)
        self.counters.clock_rejected += 1
        self._reject(
            f"clock fault: {kind} {entity} stamped {r.ts}, {describe_offset(ts - now)} ahead "
            f"of the worker's clock {to_datetime(now).isoformat()} (skew bound {self._skew} s): "
            "a reading cannot come from the future"
        )

    # --- event time one source cannot drag -----------------------------------------------
    def _ahead(self, ts: int, bucket: list[Entry], r: AnyReading, src: Source) -> None:
        """A reading more than the skew bound ahead of time (or before time is known): it
        moves time only if ``time_quorum`` distinct sources agree on its timestamp."""
        clock = self.clock
        if not clock.now:
            if self._bootstrap_sources:
                voting = clock.vote(f"{src.kind.kind}|{src.device}", ts)
                ready = voting >= self._bootstrap_sources or (
                    self.counters.accepted >= BOOTSTRAP_READINGS_MAX
                )
            else:
                ready = self.counters.accepted >= self._bootstrap_n
            if ready:
                self._establish()
            return
        quorum = min(self.settings.time_quorum, self._sources_seen())
        verdict = clock.ahead(ts, bucket, r, quorum)
        if verdict is Ahead.MOVED:
            self._release(clock.now - self._lateness)
            return
        self.order_sensitive = True
        if verdict is Ahead.OVER_LIMIT:
            self._expire_bucket(ts, "held-ahead limit reached")
            return
        self.counters.held_ahead += 1

    def _sources_seen(self) -> int:
        """Sources that have reported (off the hot path: only for readings far ahead)."""
        return sum(
            1 for route in self._routes.values() for src in route.sources.values() if src.last_push
        )

    def _establish(self) -> None:
        """Set time for the first time (``EventClock.establish``): readings more than the
        skew bound behind it are clock faults; those ahead of it are held. (The stream's
        *start* is set at the first release, ``StreamStart.at_first_release``.)"""
        clock = self.clock
        by_sources = len(clock.boot) >= self._bootstrap_sources > 0
        found = clock.establish(self.buffer, by_sources)
        if found.outside:
            self.order_sensitive = True
        for ts in found.behind:
            self._expire_bucket(ts, "behind the stream's consensus time at its start")
        self.counters.held_ahead += found.held
        self._release(clock.now - self._lateness)

    def _expire_bucket(self, ts: int, why: str) -> None:
        """Dead-letter a step's readings as clock faults (heap entry left stale)."""
        bucket = self.buffer.expire(ts)
        self.clock.forget_ahead(ts)
        now = self.clock.now
        for _, _, r, origin, src in bucket:
            offset = ts - now if now else 0
            self._withdraw_clock_fault(
                src,
                r,
                origin,
                offset,
                ts,
                f"{describe_offset(offset)} from the stream's consensus time "
                f"{to_datetime(now).isoformat() if now else '(not yet known)'} "
                f"(skew bound {self._skew} s): {why}",
            )

    def _expire_held(self, *, all_ahead: bool) -> None:
        """Held readings that time did not reach within ``clock_hold_s`` (or, at the end of
        the stream, at all) are clock faults."""
        for ts in self.clock.expired(all_ahead=all_ahead):
            self._expire_bucket(ts, "time never reached it")

    def _revise_late(self, src: Source, target: Target, r: AnyReading, ts: int) -> bool:
        """A late reading revises the record of truth when it fills a gap of its source
        within the revision horizon (``streams/core/revisions.py``) by its kind's revision
        rule; a re-send of one already used that way is a duplicate. False: it stays a late
        dead letter."""
        key = f"{r.kind}|{src.device}|{ts}"
        used = self.revisable.used.get(key)
        if used is not None:
            if used != _canonical(r):
                return False  # a different value for a step already revised: late
            self.counters.duplicates += 1
            return True
        if ts < self.released_until - self.settings.revision_horizon_s:
            return False
        rule = self.backfill.rules.get(src.kind.revision)
        if rule is None:
            return False  # Revision.NONE: weather (a county's day has its own readings)
        found = rule(src, target, r, ts, self.days.current)
        if found.implausible is not None:
            self._implausible(src.device, found.implausible)
        if found.fill is Fill.NOTHING:
            return False
        if found.fill is Fill.NEXT:
            self._as_next_reading(src, target, r, ts)
        self.counters.rollups_revised += found.rollups_revised
        self.revisable.used[key] = _canonical(r)
        self.counters.backfilled += 1
        self.counters.accepted += 1
        return True

    def _as_next_reading(self, src: Source, target: Any, r: AnyReading, ts: int) -> None:
        """A late reading its source has not passed yet (it has sent nothing since): it is
        that source's next reading, processed now by its handler, in the source's own order
        (the partition's other sources moved on; their results are not touched)."""
        bad = src.kind.handler(self.ctx, target, r, ts)
        if bad is not None:
            self._implausible(src.device, bad)
        src.last_ts = ts
        self._roll_up_dirty(self.released_until)

    def take_rejections(self) -> list[tuple[Any, AnyReading, str]]:
        out, self.rejections = self.rejections, []
        return out

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
            self._next_comm_scan = ts
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
        ctx = self.ctx
        counters = self.counters
        processed = 0
        meters: list[Entry] = []
        for entry in bucket:
            handler, target, r, origin, src = entry
            if src.last_ts >= ts:
                counters.duplicates += 1
                continue
            if handler is on_heat_meter:
                meters.append(entry)
                continue
            processed += 1
            bad = handler(ctx, target, r, ts)
            if bad is None:
                src.last_ts = ts
            else:
                processed -= 1
                self._implausible_later(src, r, origin, bad)
        counters.processed += processed
        if meters:
            self._heat_meters_after_indoor(ts, meters)
        self._tick(ts)

    def _heat_meters_after_indoor(self, ts: int, meters: list[Entry]) -> None:
        """A step's household heat meters, after its indoor sensors: a home with both is
        judged on its indoor sensor for the step (the meter's interval then covers nothing
        new), whichever of the two devices' readings arrived first — two devices of one home
        never collide, and the same input in any order gives the same day."""
        for handler, target, r, origin, src in meters:
            bad = handler(self.ctx, target, r, ts)
            if bad is None:
                src.last_ts = ts
                self.counters.processed += 1
            else:
                self._implausible_later(src, r, origin, bad)

    def _settle(self, ts: int, bucket: list[Entry], extras: list[Entry]) -> None:
        """Readings of a source that already had one at this timestamp (or came out of
        order): an exact re-send is a duplicate; a different one is a conflict with a
        deterministic winner (a last gasp first, then the larger canonical JSON), the other
        dead-lettered with both values — unless it is a fast clock's copy colliding with the
        meter's own reading (``_drop_fast_copies``). One pass over the bucket, when needed."""
        came_ahead = self.clock.fast_copies_at(ts)
        by_source: dict[int, list[Entry]] = {}
        for entry in extras:
            by_source.setdefault(id(entry[4]), []).append(entry)
        slot = {id(e[4]): i for i, e in enumerate(bucket) if id(e[4]) in by_source}
        for key, group in by_source.items():
            at = slot.get(key)
            if at is not None:
                group.insert(0, bucket[at])
            if came_ahead and len(group) > 1:
                group = self._drop_fast_copies(ts, group, came_ahead)
            ranked = (
                sorted(group, key=lambda e: (self._plausible(e), *_conflict_rank(e)), reverse=True)
                if len(group) > 1
                else group
            )
            winner = ranked[0]
            if at is None:
                bucket.append(winner)
            else:
                bucket[at] = winner
            for loser in ranked[1:]:
                if _same(loser[2], winner[2]):
                    # counted accepted when it came, as in a file read in order it is not
                    self.counters.accepted -= 1
                    self.counters.duplicates += 1
                else:
                    self._conflict(winner, loser)

    def _drop_fast_copies(self, ts: int, group: list[Entry], fast: dict[str, int]) -> list[Entry]:
        """A source's readings at one timestamp, some of them from its clock running fast
        (``fast``: canonical JSON -> offset s): live, a reading that came more than the skew
        bound ahead of time; in a replay, one whose values the meter sent earlier, for a time
        more than the skew bound before (``streams.eventorder.find_fast_copies``). Such a
        reading meeting one that came on time is a clock fault, not a conflict: it is
        dead-lettered as such and counts towards ``meter_clock_fault``."""
        copies = [e for e in group if _canonical(e[2]) in fast]
        on_time = [e for e in group if _canonical(e[2]) not in fast]
        if not copies or not on_time:
            return group
        for entry in copies:
            if any(_same(e[2], entry[2]) for e in on_time):
                on_time.append(entry)  # equal to the one on time: an ordinary duplicate
                continue
            _, _, r, origin, src = entry
            offset = fast[_canonical(r)]
            self._withdraw_clock_fault(
                src,
                r,
                origin,
                offset,
                ts,
                f"about {describe_offset(offset)} fast (skew bound {self._skew} s): it collides "
                "with the meter's own reading for that time",
            )
        return on_time

    def expect_fast_copies(self, fast: dict[int, dict[str, int]]) -> None:
        """Before a replay's pass: readings found to be a fast clock's copies of the meter's
        own earlier readings (timestamp -> canonical JSON -> offset s)."""
        self.clock.expect_fast_copies(fast)

    def _conflict(self, winner: Entry, loser: Entry) -> None:
        src = winner[4]
        if self.conflict_log is not None and len(self.conflict_log) < CONFLICT_LOG_MAX:
            ts = event_epoch(loser[2].ts)
            self.conflict_log.append(
                [f"{src.kind.kind}|{src.device}", ts, [_canonical(winner[2]), _canonical(loser[2])]]
            )
        self.counters.conflicts += 1
        self._withdraw(
            loser[3],
            loser[2],
            f"conflict: {src.names()} sent two different readings for {loser[2].ts}; "
            f"kept {_canonical(winner[2])}, rejected {_canonical(loser[2])}",
        )

    def _tick(self, now: int) -> None:
        self._roll_up_dirty(now)
        if now >= self._next_comm_scan:
            since = self.start.silence_since(now)
            scan_comm_loss(self.ctx, self.households.values(), now, since)
            self.heat.scan_silence(self.ctx, now, since)
            self._next_comm_scan = now + self._comm_scan_every

    def _roll_up_dirty(self, now: int) -> None:
        """Feeders, stations and heat stations whose members changed in this step."""
        ctx = self.ctx
        if ctx.dirty_feeders:
            for feeder in sorted(ctx.dirty_feeders, key=lambda f: f.feeder_id):
                roll_up_feeder(ctx, feeder, now)
            ctx.dirty_feeders.clear()
        if ctx.dirty_stations:
            for station in sorted(ctx.dirty_stations, key=lambda s: s.station_id):
                roll_up_station(ctx, station, now)
            ctx.dirty_stations.clear()
        if self.heat.dirty:
            self.heat.roll_up(ctx, now)

    def _judge_clocks(self) -> None:
        if self.clock.held:
            self._expire_held(all_ahead=False)
        # the entity a clock fault is opened on (a household, not its heat-home state)
        entities: dict[str, dict[str, Any]] = {
            "household": self.households,
            "feeder": self.feeders,
            "gas_station": self.stations,
            "heat_station": self.heat.stations,
        }
        self.clock_faults.judge(self.ctx, self.start.at, entities)

    def _close_day(self, day: int) -> None:
        """Fold the day into rollups and run the once-a-day judgements (``DayClose``)."""
        self.days.close(day)
        self.counters.days_closed += 1
        self._judge_clocks()

    # --- what the coordinator shows (checkpoints, runners, tests) -----------------------
    @property
    def max_ts(self) -> int:
        """The partition's event time: the consensus of its sources (``EventClock``)."""
        return self.clock.now

    @property
    def current_day(self) -> int | None:
        """The open day's index (``DayClose``); None before the first step."""
        return self.days.current

    @property
    def stream_start(self) -> int:
        return self.start.at

    @property
    def clock_fault_counts(self) -> dict[str, list[int]]:
        return self.clock_faults.counts

    @property
    def buffered_steps(self) -> int:
        """Event-time steps waiting in the reorder buffer."""
        return self.buffer.waiting_steps

    def buffered_readings(self) -> list[AnyReading]:
        """The readings waiting in the reorder buffer, oldest step first, in arrival order."""
        return [r for _, r, _ in self.buffer.buffered()] + [
            r for _, r, _ in self.buffer.contested_readings()
        ]

    def buffered_entries(self) -> list[tuple[int, AnyReading, Any]]:
        """``(ts, reading, origin)`` of each step's first reading per source, in order."""
        return self.buffer.buffered()

    def contested_entries(self) -> list[tuple[int, AnyReading, Any]]:
        """``(ts, reading, origin)`` of the re-sends and conflicts waiting beside the buffer."""
        return self.buffer.contested_readings()

    @property
    def sources(self) -> dict[str, dict[str, Source]]:
        """The devices seen, by reading kind and device id (checkpoints, tests)."""
        return {route.kind.kind: route.sources for route in self._routes.values()}

    def restore_buffer(
        self,
        buffered: list[tuple[int, AnyReading, Any]],
        contested: list[tuple[int, AnyReading, Any]],
    ) -> None:
        """Put back a stored reorder buffer as it was (checkpoints): no admission, no release."""
        self.buffer.put_back(buffered, contested, self.entry_of)

    def entry_of(self, r: AnyReading, origin: Any) -> Entry:
        """The buffer entry of a reading already admitted once (off the hot path); a device
        the registry no longer knows is a ``ValueError``."""
        kind = SOURCE_KINDS[r.kind]
        src = self.source_for(r.kind, getattr(r, kind.device_field))
        return (kind.handler, src.target, r, origin, src)

    def own_snapshot(self) -> dict[str, Any]:
        """The coordinator's own moving state (its parts snapshot themselves): counters,
        the released time, the comm-scan timer, and what a replay's report needs."""
        return {
            "format": ENGINE_FORMAT,
            "counters": dataclasses.asdict(self.counters),
            "released_until": self.released_until,
            "next_comm_scan": self._next_comm_scan,
            "order_sensitive": self.order_sensitive,
            "implausible": dict(self.implausible),
            "conflict_log": None
            if self.conflict_log is None
            else [[s, ts, list(pair)] for s, ts, pair in self.conflict_log],
        }

    def restore_own(self, data: dict[str, Any]) -> None:
        check_format("engine", data, ENGINE_FORMAT)
        self.counters = EngineCounters(**data["counters"])
        self.released_until = data["released_until"]
        self._next_comm_scan = data["next_comm_scan"]
        self.order_sensitive = data["order_sensitive"]
        self.implausible = dict(data["implausible"])
        self.conflict_log = data["conflict_log"]

    # --- timers and end of stream --------------------------------------------------------
    def active_counts(self) -> dict[SnapshotKey, list[int]]:
        """Open incidents by (county, kind, severity, domain): count, households affected,
        priority households, top-level (no parent) — non-zero combinations only."""
        counts: dict[SnapshotKey, list[int]] = {}
        for inc in self.ctx.book.open_incidents.values():
            key = (inc.county, inc.kind.value, inc.severity.value, snapshot_domain(inc))
            agg = counts.get(key)
            if agg is None:
                agg = counts[key] = [0, 0, 0, 0]
            agg[0] += 1
            agg[1] += inc.households_affected
            agg[2] += inc.priority_households
            agg[3] += inc.parent_id is None
        return counts

    def snapshot(self, now: int) -> list[Metric]:
        """Active incidents by county, kind and severity — zeros included, so that a live
        dashboard series never goes silent and a resolved incident is visibly zero."""
        counts: dict[SnapshotKey, list[int]] = {
            (county, kind.value, sev.value, ""): [0, 0, 0, 0]
            for county in self.counties
            for kind in IncidentKind
            for sev in Severity
        }
        counts.update({key: [0, 0, 0, 0] for key in occurring_keys(self.counties)})
        counts.update(self.active_counts())
        return [
            Metric(
                "active_incidents",
                snapshot_tags(county, kind, sev, domain),
                {
                    "count": c,
                    "households_affected": h,
                    "priority_households": p,
                    "top_level": top,
                },
                now,
            )
            for (county, kind, sev, domain), (c, h, p, top) in sorted(counts.items())
        ]

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
            since = self.start.silence_since(self.released_until)
            scan_comm_loss(self.ctx, self.households.values(), self.released_until, since)
            self.heat.scan_silence(self.ctx, self.released_until, since)
        if days.current is not None and self.released_until == day_start_s(days.current + 1):
            self._close_day(days.current)
            days.current += 1
            return True
        return False

    @property
    def open_incidents(self) -> int:
        return len(self.ctx.book.open_incidents)
