"""Day close: the open day, folded into rollups and the once-a-day judgements when event
time passes midnight (China Standard Time).

``DayClose`` owns the open day's index; it is given the detector states it folds (by
reference, built by the engine from the registry) and the ``Revisable`` record it keeps the
closed days' rollups in, for late readings (``revisions.py``). The engine decides *when* a
day closes (event time); this part knows *what* closing it means.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from contract.rollups import HouseholdDay
from streams.core.clock import DAY_S, day_date, day_start_s
from streams.core.context import DetectorContext
from streams.core.fleet import Fleet
from streams.core.gas import CountyQuotas, judge_quota_day, station_day_metric
from streams.core.heat import HeatNetwork
from streams.core.heatrevisions import forget_stack_hours
from streams.core.revisions import Revisable, forget_old_gaps, note_gap
from streams.core.snapshots import check_format
from streams.core.state import (
    CountyWeather,
    FeederState,
    HouseholdState,
    StationState,
)
from streams.core.storage import judge_valley_day, storage_day_metrics

DAYS_FORMAT = 1


def household_day(
    st: HouseholdState,
    day: int,
    share: float | None,
    temps: tuple[float | None, float | None],
    heat_kwh: float | None = None,
) -> HouseholdDay:
    """A household's day as the rollup row of the season evidence (minutes add up to 1,440)."""
    hh = st.household
    t_min, t_mean = temps
    known = st.d_avail + st.d_outage + st.d_short
    # a storage heater's part of the meter, as its peak-charging state split it (the use
    # judgement's figure: a shop's day-time load is not heating, issue 24). None until its
    # base is known: the first day with readings only teaches it (``storage.judge_valley_day``
    # has learned from this day already), and until then a shop's hours count as the heater's.
    peak = st.storage
    heater = (
        round(peak.d_heat_valley + peak.d_heat_day, 4)
        if peak is not None and peak.base_days >= 2
        else None
    )
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
        heat_kwh=heat_kwh,
        heater_kwh=heater,
    )


class DayClose:
    """The open day (``current``: day index, None before the first step) and its close."""

    __slots__ = (
        "ctx",
        "current",
        "feeders",
        "heat",
        "households",
        "revisable",
        "stations",
        "weather",
    )

    def __init__(self, ctx: DetectorContext, fleet: Fleet, revisable: Revisable) -> None:
        self.ctx = ctx
        self.households: dict[str, HouseholdState] = fleet.households
        self.feeders: dict[str, FeederState] = fleet.feeders
        self.stations: dict[str, StationState] = fleet.stations
        self.weather: dict[str, CountyWeather] = fleet.weather
        self.heat: HeatNetwork = fleet.heat
        self.revisable = revisable
        self.current: int | None = None

    def close(self, day: int) -> None:
        """Fold the day into rollups and run the once-a-day judgements."""
        ctx = self.ctx
        settings = ctx.settings
        output = ctx.output
        day_start = day_start_s(day)
        day_end = day_start + DAY_S
        temps = {county: (w.min_for(day), w.mean_for(day)) for county, w in self.weather.items()}
        rollups: list[HouseholdDay] = []
        storage_shares: dict[str, list[float]] = {}
        peak_by_feeder: Counter[str] = Counter()
        quotas = CountyQuotas()
        self._forget_heat(day_end - settings.revision_horizon_s - DAY_S)
        heat_kept = self.heat.close_day(ctx, day)
        delivered = self.heat.delivered
        if heat_kept and settings.revision_horizon_s:
            self.revisable.keep_heat(day, heat_kept)
        for st in self.households.values():
            _account_to(st, day_start, day_end)
            share = judge_valley_day(ctx, st, day)
            hh = st.household
            if st.is_storage and share is not None and hh.feeder_id:
                storage_shares.setdefault(hh.feeder_id, []).append(share)
                peak = st.storage.peak if st.storage is not None else None
                peak_by_feeder[hh.feeder_id] += peak is not None
            if hh.is_gas:
                quotas.add(st, judge_quota_day(ctx, st, day))
            rollups.append(
                household_day(
                    st,
                    day,
                    share,
                    temps.get(hh.county, (None, None)),
                    delivered.get(hh.household_id),
                )
            )
        delivered.clear()
        output.rollups(rollups)
        self._keep_revisable(day, rollups, day_end)
        for feeder_id, shares in storage_shares.items():
            output.metric(
                storage_day_metrics(self.feeders[feeder_id], shares, peak_by_feeder[feeder_id], day)
            )
        for ss in self.stations.values():
            output.metric(station_day_metric(ctx, ss, temps, day_start))
        for metric in quotas.metrics(day, settings.season_end_on_or_after(day_date(day))):
            output.metric(metric)
        for st in self.households.values():
            st.reset_day()

    def skip_to(self, day: int) -> int:
        """A gap of whole days without data: jump (O(1) in the gap's length); outage time
        is accounted from the next day on, not smeared over the skipped days. Returns the
        days skipped."""
        skipped = day - self.current  # type: ignore[operator]
        self.current = day
        day_start = day_start_s(day)
        for st in self.households.values():
            if st.accounted_until and st.accounted_until < day_start:
                st.accounted_until = day_start
        return skipped

    def _keep_revisable(self, day: int, rollups: list[HouseholdDay], day_end: int) -> None:
        """Keep the rollups a late reading may still revise: households with a gap."""
        horizon = self.ctx.settings.revision_horizon_s
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
        revisable = self.revisable
        revisable.keep(day, keep)
        revisable.forget_days_before(day - horizon // DAY_S - 1)
        sources: list[FeederState | StationState] = [*self.feeders.values()]
        sources += self.stations.values()
        for source in sources:
            if source.gaps:
                forget_old_gaps(source, day_end - horizon - DAY_S)
        revisable.forget_used_before(day_end - horizon - DAY_S)

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

    def snapshot(self) -> dict[str, Any]:
        return {"format": DAYS_FORMAT, "current": self.current}

    def restore(self, data: dict[str, Any]) -> None:
        check_format("day close", data, DAYS_FORMAT)
        self.current = data["current"]


def _account_to(st: HouseholdState, day_start: int, day_end: int) -> None:
    """A household's minutes up to the day's end: still in outage (outage minutes), or
    silent (a gap a late upload may fill, ``revisions.py``)."""
    if st.outage is not None and st.accounted_until < day_end:
        st.d_outage += day_end - max(st.accounted_until, day_start)
        st.accounted_until = day_end
    elif 0 < st.accounted_until < day_end:
        note_gap(st, st.accounted_until, day_end, st.comm)
        st.accounted_until = day_end
