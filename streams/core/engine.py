"""The detection engine: event-time ordering, dispatch to the domain detectors, timers.

Readings are held in a reorder buffer keyed by their timestamp and released in timestamp
order once the partition's time is more than ``lateness_s`` ahead, so arrival order within the
lateness bound never changes a result. That time is a *consensus* (docs/event-time.md): set at
the start from the median of the first readings, advanced by readings within ``clock_skew_s``
of it, and moved further only when ``time_quorum`` sources agree — one fast clock is held
aside, not followed. Re-sends are duplicates, a second, different reading of one source at one
time is a conflict settled by content; late readings that fill a meter's communication gap
revise the record of truth (``revisions.py``). The engine knows nothing about files, Kafka or
InfluxDB: results go to an ``EngineOutput``; readings it refuses after admitting them come
back through ``rejections`` with the origin they were pushed with.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import orjson

from heatwatch.contract.incidents import IncidentKind, Severity
from heatwatch.contract.registry import Household
from heatwatch.contract.rollups import HouseholdDay
from heatwatch.contract.telemetry import (
    EPOCH_BY_TEXT,
    AnyReading,
    Batch,
    FeederReading,
    GasReading,
    GasStationReading,
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
    event_epoch,
)
from streams.core.clock import DAY_S, day_date, day_start_s, interval_day_index, to_datetime
from streams.core.context import DetectorContext, EngineOutput, Metric
from streams.core.eventtime import (
    describe_offset,
    judge_clock_faults,
    note_clock_fault,
)
from streams.core.gas import SEVERITIES as GAS_SEVERITIES
from streams.core.gas import (
    CountyQuotas,
    judge_quota_day,
    roll_up_station,
    station_day_metric,
    station_pressure_metric,
)
from streams.core.heat import (
    DOMAIN_SEVERITIES,
    HeatNetwork,
    HeatTarget,
    on_heat_meter,
    sensor_every,
    snapshot_domain,
)
from streams.core.heat import SEVERITIES as HEAT_SEVERITIES
from streams.core.heatrevisions import (
    fill_stack_hour,
    forget_stack_hours,
    revise_home,
    revise_station,
)
from streams.core.outages import SEVERITIES as OUTAGE_SEVERITIES
from streams.core.outages import roll_up_feeder, scan_comm_loss
from streams.core.plausibility import energy_cap_per_s
from streams.core.revisions import (
    add_to_open_day,
    forget_old_gaps,
    mark_backfilled,
    note_gap,
    revise_closed_day,
    take_gap,
)
from streams.core.settings import DetectionSettings
from streams.core.sources import (
    SOURCE_KINDS,
    Handler,
    Plausibility,
    Revision,
    Source,
    SourceKind,
    Unknown,
)
from streams.core.state import (
    CountyWeather,
    FeederState,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    StackState,
    StationState,
    mean_location,
)
from streams.core.storage import SEVERITIES as STORAGE_SEVERITIES
from streams.core.storage import (
    feeder_load_metric,
    judge_valley_day,
    storage_day_metrics,
)

Target = HouseholdState | FeederState | StationState | CountyWeather | HeatTarget
# handler, target (detector state), reading, origin, source (the device's identity clock)
Entry = tuple[Handler, Target, AnyReading, Any, Source]
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
# Conflicts a replay keeps for its fast-clock check (~0.5 KB each): a file of nothing but
# conflicts cannot make it hold the file in memory; beyond this they stay conflicts.
CONFLICT_LOG_MAX = 100_000
# A partition of at least this many times ``2 * time_quorum + 1`` households sets its time
# from that many distinct sources; failing them, after this many readings (memory bound).
BOOTSTRAP_BY_SOURCES_FROM = 10
BOOTSTRAP_READINGS_MAX = 20_000


def _canonical(r: AnyReading) -> str:
    """A reading's content as text, its time written one way (China Standard Time): the same
    instant sent as ``…T00:15:00Z``, ``…T00:15:00+00:00`` or ``…T08:15:00+08:00`` is the same
    reading — a re-send is a duplicate, not a conflict — and a conflict's winner does not
    depend on the offset either was written in."""
    data = r.model_dump(mode="json")
    data["ts"] = to_datetime(event_epoch(r.ts)).isoformat()
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


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


def household_day(
    st: HouseholdState, day: int, share: float | None, temps: tuple[float | None, float | None]
) -> HouseholdDay:
    """A household's day as the rollup row of the season evidence (minutes add up to 1,440)."""
    hh = st.household
    t_min, t_mean = temps
    known = st.d_avail + st.d_outage + st.d_short
    return HouseholdDay.model_construct(
        household_id=hh.household_id,
        day=day_date(day),
        county=hh.county,
        village=hh.village,
        retrofit_type=hh.retrofit_type,
        heating_device=hh.heating_device,
        priority_group=hh.priority_group,
        readings=st.d_readings,
        heating_available_minutes=st.d_avail / 60,
        outage_minutes=st.d_outage / 60,
        shortfall_minutes=st.d_short / 60,
        no_data_minutes=max(0, DAY_S - known) / 60,
        interruptions=st.d_interruptions,
        energy_kwh=round(st.d_energy, 4),
        valley_kwh=round(st.d_valley, 4),
        valley_share=round(share, 4) if share is not None else None,
        gas_m3=round(st.d_gas, 4),
        county_min_temp_c=t_min,
        county_mean_temp_c=round(t_mean, 2) if t_mean is not None else None,
        evidence=st.evidence,
    )


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
        # The revision rules a kind declares (``SourceKind.revision``), one method each.
        self._revisions: dict[Revision, Callable[[Source, Any, Any, int], bool]] = {
            Revision.HOUSEHOLD_DAY: self._backfill,
            Revision.POINT: self._backfill_point,
            Revision.HEAT: self._backfill_heat,
            Revision.STACK: self._backfill_stack,
        }
        self.counters = EngineCounters()
        self._buckets: dict[int, list[Entry]] = {}
        self._bucket_heap: list[int] = []
        self.max_ts = 0  # the partition's event time: consensus of its sources
        self.released_until = 0
        self.current_day: int | None = None
        self.stream_start = 0
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
        meters = sum(1 for st in self.households.values() if st.feeder or st.station)
        sure = meters + len(self.heat.stations)
        self._bootstrap_sources = min(self._bootstrap_n, max(1, sure)) if many else 0
        self._boot: dict[str, int] = {}  # before time is set: source -> newest timestamp
        # until the stream's start is known: meter -> start of its earliest interval
        self._starts: dict[str, int] = {}
        # The stream's start is known once this many meters have started (at most the
        # partition's meters): a meter whose clock runs hours behind starts alone, and the
        # others must not be "silent" since its start (comm_loss for all of them).
        self._start_quorum = min(settings.time_quorum, meters)
        self.stream_start_known = meters == 0  # no meter to start it: silence is not judged
        self._skew = settings.clock_skew_s
        self._earliest = int(settings.earliest_event.timestamp())
        self._latest = int(settings.latest_event.timestamp())
        self._held: dict[int, int] = {}  # held-ahead bucket ts -> event time it arrived at
        # Readings of a source at or before its newest pushed timestamp (a re-send, a
        # conflict, or just out of order), by timestamp: settled against the bucket on release.
        self._extras: dict[int, list[Entry]] = {}
        self._lateness = settings.lateness_s
        # clock-refused readings per source, and the meter_clock_fault opened for each
        self.clock_fault_counts: dict[str, list[int]] = {}
        self.clock_faults_opened: dict[str, str] = {}
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
        # Closed days' rollups of households with a recent comm gap, for revision by late
        # readings: day index -> household id -> rollup (pruned past the revision horizon).
        self._revisable: dict[int, dict[str, dict[str, Any]]] = {}
        # Closed days' heat-station sums of stations with a recent gap (theirs or a home
        # sensor's): day index -> station id -> sums (``streams/core/heatrevisions.py``).
        self._revisable_heat: dict[int, dict[str, dict[str, Any]]] = {}
        # Late readings used to revise, "kind|source|ts" -> canonical JSON: a re-send of one
        # is a duplicate, not late (pruned past the revision horizon).
        self._backfilled: dict[str, str] = {}
        # Readings that came more than the skew bound ahead of time (live), or that a replay
        # found to be a fast clock's copies: ts -> canonical JSON -> offset s. Meeting the
        # meter's own reading at that time, they are clock faults, not conflicts.
        self._came_ahead: dict[int, dict[str, int]] = {}
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
        max_ts = self.max_ts
        newer = ts > max_ts
        if newer:
            self._check_new_time(src, r, ts)
        elif ts < max_ts - self._lateness:
            self._behind(src, r, ts)
        bucket = self._buckets.get(ts)
        if bucket is None:
            bucket = self._buckets[ts] = []
            heapq.heappush(self._bucket_heap, ts)
        if ts > src.last_push:
            src.last_push = ts
            bucket.append((route.handler, target, r, origin, src))
        else:  # maybe a second reading of this source here: settled when the step is released
            self._extras.setdefault(ts, []).append((route.handler, target, r, origin, src))
        self.counters.accepted += 1
        if not self.stream_start_known:
            self._note_start_of(r, ts)
        if newer:
            if max_ts and ts - max_ts <= self._skew:
                self.max_ts = ts
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
            f"{self.max_ts - ts} s newer (lateness bound {self.settings.lateness_s} s)"
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
            key = f"{kind.kind}|{getattr(r, kind.device_field)}"
            known = self._starts.get(key)
            if known is None or start < known:
                self._starts[key] = start
            if known is None and self.released_until and len(self._starts) >= self._start_quorum:
                self._fix_stream_start()

    def _set_stream_start(self) -> None:
        """At the first release: the stream starts where its meters' intervals do — the
        ``time_quorum``-th earliest of their first intervals, so one or two meters whose
        clocks run behind cannot start it hours early (every other meter would then be
        silent since that start: ``comm_loss`` for all). Until that many meters (at most the
        partition's) have started, the start is provisional — the earliest, for a clock
        fault's start — and no never-heard meter is judged silent (``_silence_since``)."""
        if not self._starts:
            return
        if len(self._starts) >= self._start_quorum:
            self._fix_stream_start()
        else:
            self.stream_start = min(self._starts.values())

    def _fix_stream_start(self) -> None:
        starts = sorted(self._starts.values())
        self.stream_start = starts[min(self.settings.time_quorum, len(starts)) - 1]
        self.stream_start_known = True
        self._starts = {}

    def _silence_since(self, now: int) -> int:
        """Where the silence of a meter or station that never reported is counted from: the
        stream's start once known; ``now`` (not yet silent) while too few meters have
        started. A meter that never reports at all is still found: after twice the clock
        skew of stream time the start is fixed with the meters that did start."""
        if not self.stream_start_known:
            if not self._starts or now < min(self._starts.values()) + 2 * self._skew:
                return now
            self._fix_stream_start()
        return self.stream_start

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
        note_clock_fault(self.clock_fault_counts, kind, entity, offset, ts)
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
        note_clock_fault(self.clock_fault_counts, kind, entity, ts - (self.max_ts or ts))
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
        note_clock_fault(self.clock_fault_counts, kind, entity, ts - now, ts)
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
        if not self.max_ts:
            if self._bootstrap_sources:
                key = f"{src.kind.kind}|{src.device}"
                if ts > self._boot.get(key, 0):
                    self._boot[key] = ts
                ready = len(self._boot) >= self._bootstrap_sources or (
                    self.counters.accepted >= BOOTSTRAP_READINGS_MAX
                )
            else:
                ready = self.counters.accepted >= self._bootstrap_n
            if ready:
                self._establish()
            return
        quorum = min(self.settings.time_quorum, self._sources_seen())
        if len(bucket) >= quorum and len({id(e[4]) for e in bucket}) >= quorum:
            self._held.pop(ts, None)
            self._came_ahead.pop(ts, None)  # the stream really is there: not a fast clock
            self.max_ts = ts
            self._unhold()
            self._release(self.max_ts - self.settings.lateness_s)
            return
        self.order_sensitive = True
        if ts not in self._held:
            if len(self._held) >= self.settings.clock_held_max:
                self._expire_bucket(ts, "held-ahead limit reached")
                return
            self._held[ts] = self.max_ts
        self.counters.held_ahead += 1
        self._came_ahead.setdefault(ts, {})[_canonical(r)] = ts - self.max_ts

    def _sources_seen(self) -> int:
        """Sources that have reported (off the hot path: only for readings far ahead)."""
        return sum(
            1 for route in self._routes.values() for src in route.sources.values() if src.last_push
        )

    def _establish(self) -> None:
        """Set time for the first time: the median over the sources buffered so far of each
        one's newest timestamp (a partition of many households: one vote per source, however
        many readings it sent first), else of the readings. Readings more than the skew bound
        behind it are clock faults; those ahead of it are held. (The stream's *start* is set
        at the first release, ``_set_stream_start``.)"""
        if len(self._boot) >= self._bootstrap_sources > 0:
            stamps = sorted(self._boot.values())
        else:
            stamps = sorted(ts for ts, bucket in self._buckets.items() for _ in bucket)
        self._boot = {}
        median = self.max_ts = stamps[len(stamps) // 2]
        skew = self._skew
        for ts in sorted(self._buckets):
            if ts < median - skew:
                self.order_sensitive = True
                self._expire_bucket(ts, "behind the stream's consensus time at its start")
            elif ts > median + skew:
                self.order_sensitive = True
                self._held[ts] = median
                self.counters.held_ahead += len(self._buckets[ts])
                came = self._came_ahead.setdefault(ts, {})
                for entry in self._buckets[ts]:
                    came[_canonical(entry[2])] = ts - median
            else:
                self.max_ts = max(self.max_ts, ts)
        self._release(self.max_ts - self.settings.lateness_s)

    def _unhold(self) -> None:
        """After time jumped: held readings now within the skew bound are ordinary data."""
        for ts in sorted(self._held):
            if ts - self.max_ts > self._skew:
                break
            del self._held[ts]
            self._came_ahead.pop(ts, None)
            self.max_ts = max(self.max_ts, ts)

    def _expire_bucket(self, ts: int, why: str) -> None:
        """Dead-letter a bucket's readings as clock faults (heap entry left stale)."""
        bucket = self._buckets.pop(ts, []) + self._extras.pop(ts, [])
        self._came_ahead.pop(ts, None)
        now = self.max_ts
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
        hold = self.settings.clock_hold_s
        for ts in sorted(self._held):
            since = self._held[ts]
            if ts <= self.max_ts:
                del self._held[ts]  # time reached it: admitted
            elif all_ahead or self.max_ts - since >= hold:
                del self._held[ts]
                self._expire_bucket(ts, "time never reached it")

    def _revise_late(self, src: Source, target: Target, r: AnyReading, ts: int) -> bool:
        """A late reading revises the record of truth when it fills a gap of its source
        within the revision horizon (``streams/core/revisions.py``) by its kind's revision
        rule; a re-send of one already used that way is a duplicate. False: it stays a late
        dead letter."""
        key = f"{r.kind}|{src.device}|{ts}"
        used = self._backfilled.get(key)
        if used is not None:
            if used != _canonical(r):
                return False  # a different value for a step already revised: late
            self.counters.duplicates += 1
            return True
        if ts < self.released_until - self.settings.revision_horizon_s:
            return False
        rule = self._revisions.get(src.kind.revision)
        if rule is None:
            return False  # Revision.NONE: weather (a county's day has its own readings)
        revised = rule(src, target, r, ts)
        if revised:
            self._backfilled[key] = _canonical(r)
            self.counters.backfilled += 1
            self.counters.accepted += 1
        return revised

    def _backfill(self, src: Source, target: Any, r: Any, ts: int) -> bool:
        """A household reading fills its meter's gap: the open day's sums, or the closed
        day's rollup re-emitted with the same key."""
        if type(target) is not HouseholdState:
            return False
        if not target.gaps and target.accounted_until > ts - r.interval_s:
            return False  # neither in a gap nor ahead of its meter: nothing it could fill
        kind = src.kind
        if kind.plausibility is Plausibility.ON_RELEASE and kind.check is not None:
            bad = kind.check(target, r, self.settings)  # (on admission: checked when pushed)
            if bad is not None:
                self._implausible(src.device, bad)
        day = interval_day_index(ts)
        hid = target.household.household_id
        closed = self._revisable.get(day, {}).get(hid) if day != self.current_day else None
        if day != self.current_day and closed is None:
            return False  # that day's rollup is no longer kept (older than the horizon)
        gap = take_gap(target, ts - r.interval_s, ts)
        if gap is None:
            if closed is None and target.accounted_until <= ts - r.interval_s:
                return self._as_next_reading(src, target, r, ts)
            return False
        if closed is None:
            add_to_open_day(self.ctx, target, r, ts)
        else:
            revised = revise_closed_day(self.ctx, HouseholdDay.model_validate(closed), r, ts)
            self._revisable[day][hid] = revised.model_dump(mode="json")
            self.output.rollups([revised])
            self.counters.rollups_revised += 1
            if type(r) is GasReading:
                target.gas_used += r.m3  # the season's burn-down (the day's own sum is closed)
        mark_backfilled(self.ctx, gap)
        return True

    def _backfill_point(self, src: Source, target: Any, r: Any, ts: int) -> bool:
        """A feeder or station reading fills its source's gap: the point its step lacks is
        written (keyed by source and time; detection is not re-run)."""
        if take_gap(target, ts - self.settings.interval_s, ts) is None:
            if self._not_passed(src, target, ts):
                return self._as_next_reading(src, target, r, ts)
            return False
        if type(r) is FeederReading:
            assert type(target) is FeederState
            ratio = r.kw / (r.rated_kva * self.ctx.usable_kw_factor)
            self.output.metric(feeder_load_metric(target, r, ts, ratio, False))
        else:
            assert type(r) is GasStationReading and type(target) is StationState
            self.output.metric(station_pressure_metric(target, r, ts))
        return True

    def _backfill_heat(self, src: Source, target: Any, r: Any, ts: int) -> bool:
        """A heat-station, indoor-sensor or heat-meter reading fills its source's gap: the
        open day's sums, or the closed day's station sums and the homes' rollups re-emitted
        with the same keys (``streams/core/heatrevisions.py``)."""
        assert type(target) is HeatStationState or type(target) is HeatHomeState
        if type(r) is HeatMeterReading:
            interval = r.interval_s
        elif type(target) is HeatHomeState:
            interval = sensor_every(self.settings, target)  # as ``on_indoor`` noted its gap
        else:
            interval = self.settings.interval_s
        day = interval_day_index(ts)
        station = target if type(target) is HeatStationState else target.station
        closed = None
        if day != self.current_day:
            record = self._revisable_heat.get(day, {}).get(station.station_id)
            rollups = self._revisable.get(day, {})
            hid = target.household.household.household_id if type(target) is HeatHomeState else ""
            if record is None or (hid and hid not in rollups):
                return False  # that day's sums are no longer kept (older than the horizon)
            closed = (day, record, rollups)
        # a home's gaps are its devices' own (an indoor sensor's, a heat meter's)
        cover = target.device(r.kind) if type(target) is HeatHomeState else target
        gap = take_gap(cover, ts - interval, ts)
        if gap is None:
            if closed is None and self._not_passed(src, cover, ts):
                return self._as_next_reading(src, target, r, ts)
            return False
        if type(target) is HeatStationState:
            assert type(r) is HeatStationReading
            self.counters.rollups_revised += revise_station(self.ctx, target, r, ts, closed)
        else:
            assert type(r) is IndoorTempReading or type(r) is HeatMeterReading
            assert type(target) is HeatHomeState
            self.counters.rollups_revised += revise_home(self.ctx, target, r, ts, closed)
        mark_backfilled(self.ctx, gap)
        return True

    def _backfill_stack(self, src: Source, target: Any, r: Any, ts: int) -> bool:
        """A stack reading fills the stack's gap: its hour's mean (``fill_stack_hour``)."""
        assert type(target) is StackState and type(r) is StackEmissionReading
        if take_gap(target, ts - r.interval_s, ts) is None:
            return self._not_passed(src, target, ts) and self._as_next_reading(src, target, r, ts)
        fill_stack_hour(self.ctx, target, r, ts)
        return True

    @staticmethod
    def _not_passed(src: Source, target: Any, ts: int) -> bool:
        """Neither the source nor the state it updates has moved past ``ts``: a late reading
        may still be its next one. (A home's state is its device's coverage here: a handler
        is never run backwards in time for that device.)"""
        return src.last_ts < ts and target.last_ts < ts

    def _as_next_reading(self, src: Source, target: Any, r: AnyReading, ts: int) -> bool:
        """A late reading its source has not passed yet (it has sent nothing since): it is
        that source's next reading, processed now by its handler, in the source's own order
        (the partition's other sources moved on; their results are not touched)."""
        bad = src.kind.handler(self.ctx, target, r, ts)
        if bad is not None:
            self._implausible(src.device, bad)
        src.last_ts = ts
        self._roll_up_dirty(self.released_until)
        return True

    def take_rejections(self) -> list[tuple[Any, AnyReading, str]]:
        out, self.rejections = self.rejections, []
        return out

    # --- event-time processing -----------------------------------------------------------
    def _release(self, before: int) -> None:
        """Process every buffered step with a timestamp strictly before ``before``."""
        heap = self._bucket_heap
        buckets = self._buckets
        while heap and heap[0] < before:
            ts = heapq.heappop(heap)
            bucket = buckets.pop(ts, None)
            if bucket is not None:
                self._step(ts, bucket)

    def _step(self, ts: int, bucket: list[Entry]) -> None:
        day = interval_day_index(ts)
        if self.current_day is None:
            self.current_day = day
            self._next_comm_scan = ts
            self._set_stream_start()
        while day > self.current_day:
            self._close_day(self.current_day)
            self.current_day += 1
            if day - self.current_day > self.settings.empty_gap_days:
                self._skip_to(day)
        self.released_until = ts
        if self._extras and ts in self._extras:
            self._settle(ts, bucket, self._extras.pop(ts))
        elif self._came_ahead:
            self._came_ahead.pop(ts, None)
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

    def _skip_to(self, day: int) -> None:
        """A gap of whole days without data: jump (O(1) in the gap's length); outage time
        is accounted from the next day on, not smeared over the skipped days."""
        self.counters.days_skipped += day - self.current_day  # type: ignore[operator]
        self.current_day = day
        day_start = day_start_s(day)
        for st in self.households.values():
            if st.accounted_until and st.accounted_until < day_start:
                st.accounted_until = day_start

    def _settle(self, ts: int, bucket: list[Entry], extras: list[Entry]) -> None:
        """Readings of a source that already had one at this timestamp (or came out of
        order): an exact re-send is a duplicate; a different one is a conflict with a
        deterministic winner (a last gasp first, then the larger canonical JSON), the other
        dead-lettered with both values — unless it is a fast clock's copy colliding with the
        meter's own reading (``_drop_fast_copies``). One pass over the bucket, when needed."""
        came_ahead = self._came_ahead.pop(ts, None)
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
        for ts, copies in fast.items():
            self._came_ahead.setdefault(ts, {}).update(copies)

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
            since = self._silence_since(now)
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

    def _keep_revisable(self, day: int, rollups: list[HouseholdDay], day_end: int) -> None:
        """Keep the rollups a late reading may still revise: households with a gap."""
        horizon = self.settings.revision_horizon_s
        if not horizon:
            return
        keep: dict[str, dict[str, Any]] = {}
        homes = self.heat.homes
        for rollup in rollups:
            st = self.households[rollup.household_id]
            if st.gaps:
                forget_old_gaps(st, day_end - horizon - DAY_S)
            home = homes.get(rollup.household_id) if homes else None
            if st.gaps or (home is not None and (home.gaps or home.station.gaps)):
                # plain data (JSON types), not a model: it is engine state
                keep[rollup.household_id] = rollup.model_dump(mode="json")
        if keep:
            self._revisable[day] = keep
        oldest = day - horizon // DAY_S - 1
        for old in [d for d in self._revisable if d < oldest]:
            del self._revisable[old]
        for old in [d for d in self._revisable_heat if d < oldest]:
            del self._revisable_heat[old]
        sources: list[FeederState | StationState] = [*self.feeders.values()]
        sources += self.stations.values()
        for source in sources:
            if source.gaps:
                forget_old_gaps(source, day_end - horizon - DAY_S)
        if self._backfilled:
            before = day_end - horizon - DAY_S
            self._backfilled = {
                k: v for k, v in self._backfilled.items() if int(k.rsplit("|", 1)[1]) >= before
            }

    def _forget_heat(self, before: int) -> None:
        """Heat gaps, stack hours and outdoor temperatures older than the horizon."""
        for station in self.heat.stations.values():
            forget_old_gaps(station, before)
            for home in station.homes:
                forget_old_gaps(home.indoor, before)
                forget_old_gaps(home.meter, before)
        for stack in self.heat.stacks.values():
            forget_old_gaps(stack, before)
            forget_stack_hours(stack, before)
        for weather in self.weather.values():
            history = weather.history
            cut = next((i for i, (stamp, _) in enumerate(history) if stamp >= before), len(history))
            if cut > 1:  # the last reading before the cut is still the outdoor temperature then
                del history[: cut - 1]

    def _judge_clocks(self) -> None:
        if self._held:
            self._expire_held(all_ahead=False)
        counts, opened = self.clock_fault_counts, self.clock_faults_opened
        if counts and len(opened) < len(counts):
            # the entity a clock fault is opened on (a household, not its heat-home state)
            entities: dict[str, dict[str, Any]] = {
                "household": self.households,
                "feeder": self.feeders,
                "gas_station": self.stations,
                "heat_station": self.heat.stations,
            }
            targets: dict[str, Any] = {}
            for key in counts:
                kind, entity = key.split("|", 1)
                targets[key] = entities.get(kind, {}).get(entity)
            judge_clock_faults(self.ctx, counts, opened, self.stream_start, targets)

    def _close_day(self, day: int) -> None:
        """Fold the day into rollups and run the once-a-day judgements."""
        ctx = self.ctx
        day_start = day_start_s(day)
        day_end = day_start + DAY_S
        temps = {county: (w.min_for(day), w.mean_for(day)) for county, w in self.weather.items()}
        rollups: list[HouseholdDay] = []
        storage_shares: dict[str, list[float]] = {}
        peak_by_feeder: Counter[str] = Counter()
        quotas = CountyQuotas()
        self._forget_heat(day_end - self.settings.revision_horizon_s - DAY_S)
        heat_kept = self.heat.close_day(ctx, day)
        if heat_kept and self.settings.revision_horizon_s:
            self._revisable_heat[day] = heat_kept
        for st in self.households.values():
            if st.outage is not None and st.accounted_until < day_end:
                st.d_outage += day_end - max(st.accounted_until, day_start)
                st.accounted_until = day_end
            elif 0 < st.accounted_until < day_end:  # silent at the close: a late upload may
                note_gap(st, st.accounted_until, day_end, st.comm)  # fill it (revisions.py)
                st.accounted_until = day_end
            share = judge_valley_day(ctx, st, day)
            hh = st.household
            if st.is_storage and share is not None and hh.feeder_id:
                storage_shares.setdefault(hh.feeder_id, []).append(share)
                peak_by_feeder[hh.feeder_id] += st.peak is not None
            if hh.is_gas:
                quotas.add(st, judge_quota_day(ctx, st, day))
            rollups.append(household_day(st, day, share, temps.get(hh.county, (None, None))))
        self.output.rollups(rollups)
        self._keep_revisable(day, rollups, day_end)
        for feeder_id, shares in storage_shares.items():
            self.output.metric(
                storage_day_metrics(self.feeders[feeder_id], shares, peak_by_feeder[feeder_id], day)
            )
        for ss in self.stations.values():
            self.output.metric(station_day_metric(ctx, ss, temps, day_start))
        for metric in quotas.metrics(day, self.settings.season_end_on_or_after(day_date(day))):
            self.output.metric(metric)
        for st in self.households.values():
            st.reset_day()
        self.counters.days_closed += 1
        self._judge_clocks()

    # --- reorder buffer (for checkpoints and idle release) ------------------------------
    @property
    def buffered_steps(self) -> int:
        """Event-time steps waiting in the reorder buffer."""
        return len(self._bucket_heap)

    def buffered_readings(self) -> list[AnyReading]:
        """The readings waiting in the reorder buffer, oldest step first, in arrival order."""
        return [r for _, r, _ in self.buffered_entries()] + [
            r for _, r, _ in self.contested_entries()
        ]

    def buffered_entries(self) -> list[tuple[int, AnyReading, Any]]:
        """``(ts, reading, origin)`` of each step's first reading per source, in order."""
        return [(ts, e[2], e[3]) for ts in sorted(self._buckets) for e in self._buckets[ts]]

    @property
    def sources(self) -> dict[str, dict[str, Source]]:
        """The devices seen, by reading kind and device id (checkpoints, tests)."""
        return {route.kind.kind: route.sources for route in self._routes.values()}

    def contested_entries(self) -> list[tuple[int, AnyReading, Any]]:
        """``(ts, reading, origin)`` of the re-sends and conflicts waiting beside the buffer."""
        return [(ts, e[2], e[3]) for ts in sorted(self._extras) for e in self._extras[ts]]

    def restore_buffer(
        self,
        buffered: list[tuple[int, AnyReading, Any]],
        contested: list[tuple[int, AnyReading, Any]],
    ) -> None:
        """Put back a stored reorder buffer as it was (checkpoints): no admission, no release."""
        for ts, r, origin in buffered:
            self._buckets.setdefault(ts, []).append(self._entry(r, origin))
        for ts, r, origin in contested:
            self._buckets.setdefault(ts, [])
            self._extras.setdefault(ts, []).append(self._entry(r, origin))
        self._bucket_heap = sorted(self._buckets)  # a sorted list is a heap

    def _entry(self, r: AnyReading, origin: Any) -> Entry:
        """The buffer entry of a reading already admitted once (off the hot path)."""
        kind = SOURCE_KINDS[r.kind]
        src = self.source_for(r.kind, getattr(r, kind.device_field))
        return (kind.handler, src.target, r, origin, src)

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
        if self._bucket_heap:
            self._release(self.max_ts + 1)
        if not self.max_ts and self._buckets:
            self._establish()  # a tiny input: time was never set
            self._release(self.max_ts + 1)
        if self._held:
            self._expire_held(all_ahead=True)
        if self.current_day is not None:
            self._judge_clocks()
        if self.released_until:
            since = self._silence_since(self.released_until)
            scan_comm_loss(self.ctx, self.households.values(), self.released_until, since)
            self.heat.scan_silence(self.ctx, self.released_until, since)
        if self.current_day is not None and self.released_until == day_start_s(
            self.current_day + 1
        ):
            self._close_day(self.current_day)
            self.current_day += 1
            return True
        return False

    @property
    def open_incidents(self) -> int:
        return len(self.ctx.book.open_incidents)
