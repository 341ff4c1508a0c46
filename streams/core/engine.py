"""The detection engine: event-time ordering, dispatch to the domain detectors, timers.

Readings are held in a reorder buffer keyed by their timestamp and released in timestamp
order once the newest reading is more than ``lateness_s`` ahead, so arrival order within the
lateness bound never changes a result. Duplicates (same entity, same timestamp) are counted,
not double-counted. The engine knows nothing about files, Kafka or InfluxDB: results go to an
``EngineOutput``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from heatwatch.contract.incidents import IncidentKind, Severity
from heatwatch.contract.registry import Household
from heatwatch.contract.rollups import HouseholdDay
from heatwatch.contract.telemetry import (
    EPOCH_BY_TEXT,
    Batch,
    ElectricReading,
    FeederReading,
    GasReading,
    GasStationReading,
    WeatherReading,
    event_epoch,
)
from streams.core.clock import DAY_S, day_date, day_start_s, interval_day_index
from streams.core.context import DetectorContext, EngineOutput, Metric
from streams.core.gas import SEVERITIES as GAS_SEVERITIES
from streams.core.gas import expected_m3, judge_quota_day, on_gas, on_station, roll_up_station
from streams.core.outages import SEVERITIES as OUTAGE_SEVERITIES
from streams.core.outages import on_electric, roll_up_feeder, scan_comm_loss
from streams.core.settings import DetectionSettings
from streams.core.state import (
    CountyWeather,
    FeederState,
    HouseholdState,
    StationState,
    mean_location,
)
from streams.core.storage import SEVERITIES as STORAGE_SEVERITIES
from streams.core.storage import judge_valley_day, on_feeder, storage_day_metrics

AnyReading = ElectricReading | GasReading | FeederReading | GasStationReading | WeatherReading
Target = HouseholdState | FeederState | StationState | CountyWeather
Handler = Callable[[DetectorContext, Any, Any, int], None]
SnapshotKey = tuple[str, str, str]  # county, kind, severity
# The (kind, severities) the detectors open incidents with, declared next to each detector.
OCCURRING_SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    **OUTAGE_SEVERITIES,
    **STORAGE_SEVERITIES,
    **GAS_SEVERITIES,
}
_known_epoch = EPOCH_BY_TEXT.get


def _on_weather(ctx: DetectorContext, weather: CountyWeather, r: WeatherReading, ts: int) -> None:
    weather.last_ts = ts
    weather.add(interval_day_index(ts), r.temp_c)


class Rejected(Exception):
    """A reading that is well-formed but cannot be used; the reason goes to the dead letters."""


@dataclass
class EngineCounters:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    processed: int = 0
    days_closed: int = 0


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
        self.counters = EngineCounters()
        self._buckets: dict[int, list[tuple[Handler, Target, AnyReading]]] = {}
        self._bucket_heap: list[int] = []
        self.max_ts = 0
        self.released_until = 0
        self.current_day: int | None = None
        self.stream_start = 0
        self._next_comm_scan = 0
        self._comm_scan_every = max(
            settings.interval_s, settings.comm_loss_intervals * settings.interval_s // 2
        )

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
        self.households[hh.household_id] = st
        if feeder is not None:
            feeder.members.append(st)
            feeder.priority_members += hh.is_priority
        if station is not None and hh.is_gas:
            station.members.append(st)
            station.priority_members += hh.is_priority
        self.counties.add(hh.county)

    # --- input ---------------------------------------------------------------------------
    def push_batch(self, batch: Batch) -> list[tuple[int, str]]:
        """Push a concentrator batch; returns (index, reason) for each reading not used."""
        rejected = []
        for i, reading in enumerate(batch.readings):
            try:
                self.push(reading)
            except Rejected as exc:
                rejected.append((i, str(exc)))
        return rejected

    def push(self, r: AnyReading) -> None:
        """Accept one reading into the reorder buffer; raise ``Rejected`` if it can't be used."""
        ts = _known_epoch(r.ts)  # inlined cache hit: this runs once per reading
        if ts is None:
            try:
                ts = event_epoch(r.ts)
            except ValueError as exc:
                self._reject(f"unparseable time: ts {r.ts!r}: {exc}")
        target: Target | None
        handler: Handler
        # The handler is chosen here, once, so the release loop needs no type dispatch.
        if type(r) is ElectricReading or type(r) is GasReading:
            target = self.households.get(r.household_id)
            if target is None:
                self._reject(f"unknown household {r.household_id!r} (not in the registry)")
            handler = on_electric if type(r) is ElectricReading else on_gas
            if not self.released_until:  # the stream starts where its earliest interval does
                start = ts - r.interval_s
                if not self.stream_start or start < self.stream_start:
                    self.stream_start = start
        elif type(r) is FeederReading:
            target = self.feeders.get(r.feeder_id)
            if target is None:
                self._reject(f"unknown feeder {r.feeder_id!r} (no registered household on it)")
            handler = on_feeder
        elif type(r) is GasStationReading:
            target = self.stations.get(r.station_id)
            if target is None:
                self._reject(
                    f"unknown gas station {r.station_id!r} (no registered household on it)"
                )
            handler = on_station
        else:
            assert isinstance(r, WeatherReading)
            target = self.weather.get(r.county)
            if target is None:  # a county without registered households is harmless: keep it
                target = self.weather[r.county] = CountyWeather()
            handler = _on_weather
        if ts <= self.released_until:
            if target.last_ts == ts:
                self.counters.duplicates += 1
                return
            self._reject(
                f"late: ts {r.ts} arrived after readings up to "
                f"{self.max_ts - ts} s newer (lateness bound {self.settings.lateness_s} s)"
            )
        bucket = self._buckets.get(ts)
        if bucket is None:
            bucket = self._buckets[ts] = []
            heapq.heappush(self._bucket_heap, ts)
        bucket.append((handler, target, r))
        self.counters.accepted += 1
        if ts > self.max_ts:
            self.max_ts = ts
            self._release(ts - self.settings.lateness_s)

    def _reject(self, reason: str) -> NoReturn:
        self.counters.rejected += 1
        raise Rejected(reason)

    # --- event-time processing -----------------------------------------------------------
    def _release(self, before: int) -> None:
        """Process every buffered step with a timestamp strictly before ``before``."""
        heap = self._bucket_heap
        while heap and heap[0] < before:
            ts = heapq.heappop(heap)
            self._step(ts, self._buckets.pop(ts))

    def _step(self, ts: int, bucket: list[tuple[Handler, Target, AnyReading]]) -> None:
        day = interval_day_index(ts)
        if self.current_day is None:
            self.current_day = day
            self._next_comm_scan = ts
        while day > self.current_day:
            self._close_day(self.current_day)
            self.current_day += 1
        self.released_until = ts
        ctx = self.ctx
        counters = self.counters
        processed = 0
        for handler, target, r in bucket:
            if target.last_ts >= ts:
                counters.duplicates += 1
                continue
            processed += 1
            handler(ctx, target, r, ts)
        counters.processed += processed
        self._tick(ts)

    def _tick(self, now: int) -> None:
        ctx = self.ctx
        if ctx.dirty_feeders:
            for feeder in sorted(ctx.dirty_feeders, key=lambda f: f.feeder_id):
                roll_up_feeder(ctx, feeder, now)
            ctx.dirty_feeders.clear()
        if ctx.dirty_stations:
            for station in sorted(ctx.dirty_stations, key=lambda s: s.station_id):
                roll_up_station(ctx, station, now)
            ctx.dirty_stations.clear()
        if now >= self._next_comm_scan:
            scan_comm_loss(ctx, self.households.values(), now, self.stream_start)
            self._next_comm_scan = now + self._comm_scan_every

    def _close_day(self, day: int) -> None:
        """Fold the day into rollups and run the once-a-day judgements."""
        ctx = self.ctx
        day_start = day_start_s(day)
        day_end = day_start + DAY_S
        the_date = day_date(day)
        temps = {county: (w.min_for(day), w.mean_for(day)) for county, w in self.weather.items()}
        rollups: list[HouseholdDay] = []
        storage_shares: dict[str, list[float]] = {}
        peak_by_feeder: Counter[str] = Counter()
        quota_by_county: dict[str, list[float]] = {}
        for st in self.households.values():
            if st.outage is not None and st.accounted_until < day_end:
                st.d_outage += day_end - max(st.accounted_until, day_start)
                st.accounted_until = day_end
            share = judge_valley_day(ctx, st, day)
            hh = st.household
            if st.is_storage and share is not None and hh.feeder_id:
                storage_shares.setdefault(hh.feeder_id, []).append(share)
                peak_by_feeder[hh.feeder_id] += st.peak is not None
            if hh.is_gas:
                projected = judge_quota_day(ctx, st, day)
                if projected is not None and hh.gas_quota_m3 is not None:
                    agg = quota_by_county.setdefault(hh.county, [0.0, 0.0, 0.0, 0.0])
                    agg[0] += hh.gas_quota_m3
                    agg[1] += st.gas_used
                    recent = st.gas_recent or [0.0]
                    agg[2] += sum(recent) / len(recent)
                    agg[3] += st.quota_risk is not None
            t_min, t_mean = temps.get(hh.county, (None, None))
            known = st.d_avail + st.d_outage + st.d_short
            rollups.append(
                HouseholdDay.model_construct(
                    household_id=hh.household_id,
                    day=the_date,
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
                )
            )
        self.output.rollups(rollups)
        for feeder_id, shares in storage_shares.items():
            self.output.metric(
                storage_day_metrics(self.feeders[feeder_id], shares, peak_by_feeder[feeder_id], day)
            )
        for ss in self.stations.values():
            members = ss.members
            drawing = sum(1 for m in members if m.d_gas > 0)
            expected = expected_m3(ctx, temps.get(ss.county, (None, None))[1]) * len(members)
            self.output.metric(
                Metric(
                    "gas_supply_daily",
                    {"county": ss.county, "station_id": ss.station_id},
                    {
                        "delivered_m3": round(ss.d_delivered, 3),
                        "expected_m3": round(expected, 3),
                        "delivery_ratio": round(ss.d_delivered / expected, 4) if expected else 0.0,
                        "connection_rate": round(drawing / len(members), 4) if members else 0.0,
                        "drawing_households": drawing,
                        "households": len(members),
                    },
                    day_start,
                )
            )
            ss.d_delivered = 0.0
        days_left = (self.settings.season_end_on_or_after(the_date) - the_date).days
        for county, (quota, used, burn, at_risk) in sorted(quota_by_county.items()):
            runway = (quota - used) / burn if burn > 0 else float("inf")
            exhaustion = day_start_s(day + 1 + int(runway)) if runway < days_left else 0
            self.output.metric(
                Metric(
                    "gas_quota",
                    {"county": county},
                    {
                        "quota_m3": round(quota, 1),
                        "used_m3": round(used, 1),
                        "burn_m3_per_day": round(burn, 2),
                        "projected_exhaustion": exhaustion,
                        "households_at_risk": int(at_risk),
                    },
                    day_start,
                )
            )
        for st in self.households.values():
            st.reset_day()
        self.counters.days_closed += 1

    # --- reorder buffer (for checkpoints and idle release) ------------------------------
    @property
    def buffered_steps(self) -> int:
        """Event-time steps waiting in the reorder buffer."""
        return len(self._bucket_heap)

    def buffered_readings(self) -> list[AnyReading]:
        """The readings waiting in the reorder buffer, oldest step first, in arrival order."""
        return [r for ts in sorted(self._buckets) for _, _, r in self._buckets[ts]]

    # --- timers and end of stream --------------------------------------------------------
    def active_counts(self) -> dict[SnapshotKey, list[int]]:
        """Open incidents by (county, kind, severity): count, households affected, priority
        households, top-level (no parent) — non-zero combinations only."""
        counts: dict[SnapshotKey, list[int]] = {}
        for inc in self.ctx.book.open_incidents.values():
            key = (inc.county, inc.kind.value, inc.severity.value)
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
            (county, kind.value, sev.value): [0, 0, 0, 0]
            for county in self.counties
            for kind in IncidentKind
            for sev in Severity
        }
        counts.update(self.active_counts())
        return [
            Metric(
                "active_incidents",
                {"county": county, "kind": kind, "severity": sev},
                {
                    "count": c,
                    "households_affected": h,
                    "priority_households": p,
                    "top_level": top,
                },
                now,
            )
            for (county, kind, sev), (c, h, p, top) in sorted(counts.items())
        ]

    def flush(self) -> bool:
        """End of stream: process everything buffered; close the last day if it is complete.

        Returns whether the last day was closed (a partial day is not rolled up: its missing
        hours would read as lost data).
        """
        if self._bucket_heap:
            self._release(self.max_ts + 1)
        if self.released_until:
            scan_comm_loss(
                self.ctx, self.households.values(), self.released_until, self.stream_start
            )
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
