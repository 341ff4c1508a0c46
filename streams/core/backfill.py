"""Late readings that fill a gap: each reading kind's revision rule (``SourceKind.revision``).

A reading behind the released time revises the record of truth when it fills a
communication gap of its source within the revision horizon (``revisions.py``,
``heatrevisions.py``): the open day's sums, a closed day's rollup re-emitted with the same
key, the point a feeder's or station's step lacks, a stack's hour. A late reading its source
has not passed yet (it sent nothing since) is its next reading: the engine runs it through
its handler (``Fill.NEXT``) — handlers and roll-ups are the engine's business, not this
part's. The closed days it revises are the ``Revisable`` record it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

from contract.rollups import HouseholdDay
from contract.telemetry import (
    FeederReading,
    GasReading,
    GasStationReading,
    HeatMeterReading,
    HeatStationReading,
    IndoorTempReading,
    StackEmissionReading,
)
from streams.core.clock import interval_day_index
from streams.core.context import DetectorContext
from streams.core.eventclock import canonical
from streams.core.gas import station_pressure_metric
from streams.core.heathomes import sensor_every
from streams.core.heatrevisions import fill_stack_hour, revise_home, revise_station
from streams.core.revisions import (
    Revisable,
    add_to_open_day,
    mark_backfilled,
    revise_closed_day,
    take_gap,
)
from streams.core.sources import Plausibility, Revision, Source
from streams.core.state import (
    FeederState,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    StackState,
    StationState,
)
from streams.core.storage import feeder_load_metric


class Fill(Enum):
    DUPLICATE = "duplicate"  # a re-send of a late reading already used: a duplicate
    NOTHING = "nothing"  # fills no gap (or its day is no longer kept): a late dead letter
    FILLED = "filled"  # it revised the record of truth
    NEXT = "next"  # its source has not passed it: the engine runs it as its next reading


class Filled(NamedTuple):
    fill: Fill
    rollups_revised: int = 0
    implausible: str | None = None  # a value outside its kind's limits: refused as such


DUPLICATE = Filled(Fill.DUPLICATE)
NOTHING = Filled(Fill.NOTHING)
FILLED = Filled(Fill.FILLED)
NEXT = Filled(Fill.NEXT)

Rule = Callable[[Source, Any, Any, int, "int | None"], Filled]


class Backfill:
    """The revision rules, one per ``Revision`` a kind declares, over the kept days."""

    __slots__ = ("ctx", "revisable", "rules")

    def __init__(self, ctx: DetectorContext, revisable: Revisable) -> None:
        self.ctx = ctx
        self.revisable = revisable
        self.rules: dict[Revision, Rule] = {
            Revision.HOUSEHOLD_DAY: self._household_day,
            Revision.POINT: self._point,
            Revision.HEAT: self._heat,
            Revision.STACK: self._stack,
        }

    def revise(
        self, src: Source, target: Any, r: Any, ts: int, released: int, current_day: int | None
    ) -> Filled:
        """What a late reading of ``src`` does (behind ``released``, the newest step
        released): a re-send of one already used is a duplicate; within the revision horizon
        its kind's rule says whether it fills a gap. (A ``Fill.NEXT`` or ``Fill.FILLED``
        answer is recorded with ``taken`` once the engine has acted.)"""
        used = self.revisable.used.get(f"{r.kind}|{src.device}|{ts}")
        if used is not None:
            # a different value for a step already revised: late
            return DUPLICATE if used == canonical(r) else NOTHING
        if ts < released - self.ctx.settings.revision_horizon_s:
            return NOTHING
        rule = self.rules.get(src.kind.revision)
        if rule is None:
            return NOTHING  # Revision.NONE: weather (a county's day has its own readings)
        return rule(src, target, r, ts, current_day)

    def taken(self, src: Source, r: Any, ts: int) -> None:
        """A late reading used: a re-send of it is a duplicate from now on."""
        self.revisable.used[f"{r.kind}|{src.device}|{ts}"] = canonical(r)

    def _household_day(
        self, src: Source, target: Any, r: Any, ts: int, current_day: int | None
    ) -> Filled:
        """A household reading fills its meter's gap: the open day's sums, or the closed
        day's rollup re-emitted with the same key."""
        if type(target) is not HouseholdState:
            return NOTHING
        if not target.gaps and target.accounted_until > ts - r.interval_s:
            return NOTHING  # neither in a gap nor ahead of its meter: nothing it could fill
        kind = src.kind
        if kind.plausibility is Plausibility.ON_RELEASE and kind.check is not None:
            bad = kind.check(target, r, self.ctx.settings)  # (on admission: checked when pushed)
            if bad is not None:
                return Filled(Fill.NOTHING, implausible=bad)
        day = interval_day_index(ts)
        hid = target.household.household_id
        kept = self.revisable.rollups
        closed = kept.get(day, {}).get(hid) if day != current_day else None
        if day != current_day and closed is None:
            return NOTHING  # that day's rollup is no longer kept (older than the horizon)
        gap = take_gap(target, ts - r.interval_s, ts)
        if gap is None:
            if closed is None and target.accounted_until <= ts - r.interval_s:
                return NEXT
            return NOTHING
        revised = 0
        if closed is None:
            add_to_open_day(self.ctx, target, r, ts)
        else:
            rollup = revise_closed_day(self.ctx, HouseholdDay.model_validate(closed), r, ts, target)
            kept[day][hid] = rollup.model_dump(mode="json")
            self.ctx.output.rollups([rollup])
            revised = 1
            if type(r) is GasReading:
                target.gas.used += r.m3  # the season's burn-down (the day's own sum is closed)
        mark_backfilled(self.ctx, gap)
        return Filled(Fill.FILLED, revised)

    def _point(self, src: Source, target: Any, r: Any, ts: int, _: int | None) -> Filled:
        """A feeder or station reading fills its source's gap: the point its step lacks is
        written (keyed by source and time; detection is not re-run)."""
        if take_gap(target, ts - self.ctx.settings.interval_s, ts) is None:
            return NEXT if _not_passed(src, target, ts) else NOTHING
        if type(r) is FeederReading:
            assert type(target) is FeederState
            ratio = r.kw / (r.rated_kva * self.ctx.usable_kw_factor)
            self.ctx.output.metric(feeder_load_metric(target, r, ts, ratio, False))
        else:
            assert type(r) is GasStationReading and type(target) is StationState
            self.ctx.output.metric(station_pressure_metric(target, r, ts))
        return FILLED

    def _heat(self, src: Source, target: Any, r: Any, ts: int, current_day: int | None) -> Filled:
        """A heat-station, indoor-sensor or heat-meter reading fills its source's gap: the
        open day's sums, or the closed day's station sums and the homes' rollups re-emitted
        with the same keys (``streams/core/heatrevisions.py``)."""
        assert type(target) is HeatStationState or type(target) is HeatHomeState
        settings = self.ctx.settings
        if type(r) is HeatMeterReading:
            interval = r.interval_s
        elif type(target) is HeatHomeState:
            interval = sensor_every(settings, target)  # as ``on_indoor`` noted its gap
        else:
            interval = settings.interval_s
        day = interval_day_index(ts)
        station = target if type(target) is HeatStationState else target.station
        closed = None
        if day != current_day:
            record = self.revisable.heat.get(day, {}).get(station.station_id)
            rollups = self.revisable.rollups.get(day, {})
            hid = target.household.household.household_id if type(target) is HeatHomeState else ""
            if record is None or (hid and hid not in rollups):
                return NOTHING  # that day's sums are no longer kept (older than the horizon)
            closed = (day, record, rollups)
        # a home's gaps are its devices' own (an indoor sensor's, a heat meter's)
        cover = target.device(r.kind) if type(target) is HeatHomeState else target
        gap = take_gap(cover, ts - interval, ts)
        if gap is None:
            return NEXT if closed is None and _not_passed(src, cover, ts) else NOTHING
        if type(target) is HeatStationState:
            assert type(r) is HeatStationReading
            revised = revise_station(self.ctx, target, r, ts, closed)
        else:
            assert type(r) is IndoorTempReading or type(r) is HeatMeterReading
            assert type(target) is HeatHomeState
            revised = revise_home(self.ctx, target, r, ts, closed)
        mark_backfilled(self.ctx, gap)
        return Filled(Fill.FILLED, revised)

    def _stack(self, src: Source, target: Any, r: Any, ts: int, _: int | None) -> Filled:
        """A stack reading fills the stack's gap: its hour's mean (``fill_stack_hour``)."""
        assert type(target) is StackState and type(r) is StackEmissionReading
        if take_gap(target, ts - r.interval_s, ts) is None:
            return NEXT if _not_passed(src, target, ts) else NOTHING
        fill_stack_hour(self.ctx, target, r, ts)
        return FILLED


def _not_passed(src: Source, target: Any, ts: int) -> bool:
    """Neither the source nor the state it updates has moved past ``ts``: a late reading
    may still be its next one. (A home's state is its device's coverage here: a handler
    is never run backwards in time for that device.)"""
    return src.last_ts < ts and target.last_ts < ts
