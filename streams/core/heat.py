"""Heat networks and boiler houses (集中供热): the stations, their stacks and their
households known to one engine, their telemetry's silence, and each network household's day
accounted from heat delivered rather than from a meter of its own.

The detectors are cut by the state they own: ``heatstation.py`` (a station's supply:
interruption, low supply, its curve), ``heathomes.py`` (a home's own indoor sensor and heat
meter, cold homes rolled up to their station) and ``heatstack.py`` (emissions). Their
reading handlers are this module's public face: the source-kind registry and the engine
take them from here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract.glossary import HEAT_DEVICES
from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatStationKind
from streams.core.clock import DAY_S, day_start_s
from streams.core.context import DetectorContext, Metric
from streams.core.heathomes import on_heat_meter, on_indoor, roll_up_cold_homes, sensor_every
from streams.core.heatnormal import station_design
from streams.core.heatstack import close_stack_day, on_stack
from streams.core.heatstation import on_heat_station
from streams.core.revisions import note_gap
from streams.core.settings import DetectionSettings
from streams.core.state import (
    CountyWeather,
    HeatHomeState,
    HeatStationState,
    HouseholdState,
    StackState,
    mean_location,
)

__all__ = [
    "DOMAIN_SEVERITIES",
    "HEAT_DOMAIN",
    "SEVERITIES",
    "HeatNetwork",
    "HeatTarget",
    "home_minutes",
    "near_down",
    "on_heat_meter",
    "on_heat_station",
    "on_indoor",
    "on_stack",
    "own_cold",
    "snapshot_domain",
    "station_minutes",
]

HeatTarget = HeatStationState | StackState | HeatHomeState


class HeatNetwork:
    """The heat stations, their stacks and their households known to one engine.

    Built from the registry (nothing here is stored in a checkpoint but the entities' rows,
    see ``streams/core/persist.py``). ``dirty`` holds the stations whose indoor roll-up is
    re-evaluated after the current event-time step.
    """

    __slots__ = ("delivered", "dirty", "homes", "stacks", "stations")

    def __init__(
        self,
        households: Iterable[HouseholdState],
        weather: dict[str, CountyWeather],
        settings: DetectionSettings | None = None,
    ) -> None:
        settings = settings or DetectionSettings()
        self.stations: dict[str, HeatStationState] = {}
        self.stacks: dict[str, StackState] = {}
        self.homes: dict[str, HeatHomeState] = {}
        self.dirty: set[HeatStationState] = set()
        # the closing day's heat delivered per household with a heat-meter reading that day
        # (filled by ``close_day`` for the rollups; nothing between closes)
        self.delivered: dict[str, float] = {}
        for st in households:
            hh = st.household
            if not hh.is_network or hh.heat_station_id is None:
                continue
            station = self.stations.get(hh.heat_station_id)
            if station is None:
                county_weather = weather.get(hh.county)
                if county_weather is None:
                    county_weather = weather[hh.county] = CountyWeather()
                station = HeatStationState(
                    hh.heat_station_id,
                    hh.heat_station_kind or HeatStationKind.BOILER_HOUSE,
                    hh.county,
                    hh.village,
                    county_weather,
                    self.dirty,
                )
                self.stations[hh.heat_station_id] = station
                self.stacks[hh.heat_station_id] = StackState(station)
            home = HeatHomeState(st, station)
            self.homes[hh.household_id] = home
            station.homes.append(home)
            station.priority_members += hh.is_priority
            st.evidence = "heat_station"
        for station in self.stations.values():
            station.location = mean_location([h.household for h in station.homes])
            rows = [h.household.household for h in station.homes]
            station.design = station_design(settings, station.kind, rows)

    def roll_up(self, ctx: DetectorContext, now: int) -> None:
        for station in sorted(self.dirty, key=lambda s: s.station_id):
            roll_up_cold_homes(ctx, station, now)
        self.dirty.clear()

    def scan_silence(self, ctx: DetectorContext, now: int, stream_start: int) -> None:
        """``comm_loss`` for a station whose telemetry, or a home whose own sensor (indoor
        sensor or heat meter), has been silent beyond the threshold, as ``scan_comm_loss``
        does for meters; resolved by the next reading (``on_heat_station`` / ``_own_span``).
        A station that never reported counts from the stream's start; a home's sensor only
        once it has reported (the registry does not say which homes have one)."""
        limit = now - ctx.comm_after_s
        for ss in self.stations.values():
            last = ss.last_ts or stream_start
            if ss.comm is None and 0 < last <= limit:
                _open_station_silence(ctx, ss, last)
            for home in ss.homes:
                if home.comm is not None:
                    continue
                # each device on its own: a silent indoor sensor is a silence though the
                # home's heat meter reports, and a sensor reporting hourly is silent after as
                # many of its own intervals as a meter (one missed hourly reading is not)
                for kind, name in _HOME_DEVICES:
                    last = home.device(kind).last_ts
                    every = sensor_every(ctx.settings, home, kind)
                    if 0 < last <= min(limit, now - ctx.settings.comm_loss_intervals * every):
                        _open_sensor_silence(ctx, home, last, name)
                        break

    def close_day(self, ctx: DetectorContext, day: int) -> dict[str, dict[str, Any]]:
        """Before the household rollups: each network household's minutes from heat delivered.

        Returns, for each station with a communication gap (its own or a home sensor's) that
        a late upload may fill, the day's sums a revision recomputes the homes' days from
        (``streams/core/heatrevisions.py``): plain data, kept by the engine for the horizon."""
        day_end = day_start_s(day) + DAY_S
        kept: dict[str, dict[str, Any]] = {}
        for stack in self.stacks.values():
            if stack.station.kind is HeatStationKind.BOILER_HOUSE or stack.last_ts:
                close_stack_day(ctx, stack, day)
        for station in self.stations.values():
            _note_silent_at_close(station, day_end)
            fields = _station_day_metric(ctx, station, day)
            if station.gaps or any(home.gaps for home in station.homes):
                kept[station.station_id] = {
                    "ok": station.d_ok,
                    "down": station.d_down,
                    "low": station.d_low,
                    "down_ts": list(station.d_down_ts),
                    "homes": {
                        h.household.household.household_id: [
                            own_cold(h.d_cold_ts, station.d_down_ts, ctx.settings.interval_s),
                            h.d_own,
                            [list(c) for c in h.d_cold_ts],
                        ]
                        for h in station.homes
                    },
                    "daily": fields,
                }
            for home in station.homes:
                if home.d_heat is not None:
                    self.delivered[home.household.household.household_id] = round(home.d_heat, 4)
                _home_day(home, station, ctx.settings.interval_s)
            station.reset_day()
        return kept


def _note_silent_at_close(station: HeatStationState, day_end: int) -> None:
    """A station or home sensor silent when its day closes: the rest of the day is a gap a
    late upload may fill (as for a household meter, ``Engine._close_day``)."""
    if 0 < station.accounted_until < day_end:
        note_gap(station, station.accounted_until, day_end, station.comm)
        station.accounted_until = day_end
    for home in station.homes:
        for device in (home.indoor, home.meter):
            if 0 < device.covered_until < day_end:
                note_gap(device, device.covered_until, day_end, home.comm)
                device.covered_until = day_end


# --- silence: a station's telemetry, a home's own sensor ---------------------------------
def _open_station_silence(ctx: DetectorContext, ss: HeatStationState, last: int) -> None:
    """One page for the station: dispatch no longer sees whether its households get heat."""
    ss.comm = ctx.book.open_group(
        IncidentKind.COMM_LOSS,
        (EntityType.HEAT_STATION, ss.station_id),
        ss,
        last,
        Severity.WARNING,
        affected=(len(ss.homes), ss.priority_members),
        details={
            "device": "heat_station",
            "heat_station_kind": ss.kind.value,
            "never_reported": ss.last_ts == 0,
        },
    )


# a home's own devices: (reading kind, the name its comm_loss gives it: ``details.device``)
_HOME_DEVICES = (("indoor_temp", "indoor"), ("heat_meter", "heat_meter"))


def _open_sensor_silence(ctx: DetectorContext, home: HeatHomeState, last: int, device: str) -> None:
    """One comm_loss per home at a time (its id is the household's and the start), naming the
    silent device; it ends when that device reports again."""
    home.comm = ctx.book.open_household(
        IncidentKind.COMM_LOSS,
        home.household.household,
        last,
        Severity.INFO,
        details={"device": device, "heat_station_id": home.station.station_id},
    )


# --- the day -----------------------------------------------------------------------------
def near_down(ts: int, down_ts: list[int], interval_s: int) -> bool:
    """Whether the station was down at the step of a home reading stamped ``ts``."""
    return any(abs(d - ts) < interval_s for d in down_ts)


def own_cold(cold_ts: list[list[int]], down_ts: list[int], interval_s: int) -> int:
    """A home's cold or heatless seconds while its station supplied: those at a step the
    station was down are its outage already (counted once, as outage). Its devices' cold
    intervals are counted as their union: an indoor sensor and a heat meter that both say
    so at one time are one cold interval (the same in any order the readings came)."""
    spans = sorted(
        (ts - span, ts)
        for ts, span in cold_ts
        if not (down_ts and near_down(ts, down_ts, interval_s))
    )
    total, reach = 0, None
    for start, end in spans:
        if reach is not None and start < reach:
            start = reach
        if end > start:
            total += end - start
        reach = end if reach is None else max(reach, end)
    return total


def _home_day(home: HeatHomeState, station: HeatStationState, interval_s: int) -> None:
    """Write the household's minutes from its station's supply, corrected by its own data."""
    st = home.household
    own = home.d_own > 0
    cold = own_cold(home.d_cold_ts, station.d_down_ts, interval_s)
    st.d_avail, st.d_outage, st.d_short = home_minutes(
        station.d_ok, station.d_down, station.d_low, cold, home.d_own
    )
    st.d_interruptions = station.d_interruptions + home.d_interruptions
    st.d_readings += home.d_readings
    if own and home.own_source is not None:
        st.evidence = f"heat_station+{home.own_source}"
    else:
        st.evidence = "heat_station"
    home.reset_day()


def home_minutes(ok: int, down: int, low: int, d_cold: int, d_own: int) -> tuple[int, int, int]:
    """A network home's (available, outage, shortfall) seconds from its station's supply
    (``ok``, ``down``, ``low``), corrected by its own cold or heatless readings."""
    cold = min(d_cold, ok) if d_own > 0 else 0
    return ok - cold, down, low + cold


def station_minutes(ok: int, down: int, low: int) -> dict[str, float]:
    """The minutes of a ``heat_station_daily`` point."""
    return {
        "supplied_minutes": ok / 60,
        "interrupted_minutes": down / 60,
        "low_minutes": low / 60,
        "no_data_minutes": max(0, DAY_S - ok - down - low) / 60,
    }


def _station_day_metric(ctx: DetectorContext, ss: HeatStationState, day: int) -> dict[str, Any]:
    """Write the station's ``heat_station_daily`` point; returns its fields."""
    fields: dict[str, Any] = {
        **station_minutes(ss.d_ok, ss.d_down, ss.d_low),
        "households": len(ss.homes),
        "sampled_homes": sum(1 for h in ss.homes if h.own_source == "indoor"),
        "cold_homes": ss.cold_count,
    }
    ctx.output.metric(
        Metric(
            "heat_station_daily",
            {"county": ss.county, "heat_station_id": ss.station_id},
            fields,
            day_start_s(day),
        )
    )
    return fields


# The severities this module opens its incidents with (see ``engine.OCCURRING_SEVERITIES``).
SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    IncidentKind.HEAT_SUPPLY_INTERRUPTION: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.HEAT_SUPPLY_LOW: (Severity.WARNING,),
    IncidentKind.INDOOR_TEMP_LOW: (Severity.WARNING, Severity.CRITICAL),
    IncidentKind.EMISSION_EXCEEDANCE: (Severity.WARNING,),
}


# A heat device's ``comm_loss`` is the heat operator's work, not the grid's: the snapshot
# (``active_incidents``) tags it ``domain=heat`` so the grid's digests do not count it as a
# meter's. Every other row has no domain tag (``""``: the series stay as they were).
HEAT_DOMAIN = "heat"
# (kind, domain) → the severities the snapshot's zero rows cover, as ``SEVERITIES`` does for
# the untagged rows: a silent station is a warning, a home's silent sensor info.
DOMAIN_SEVERITIES: dict[tuple[IncidentKind, str], tuple[Severity, ...]] = {
    (IncidentKind.COMM_LOSS, HEAT_DOMAIN): (Severity.WARNING, Severity.INFO),
}


def snapshot_domain(incident: Incident) -> str:
    """``heat`` for the ``comm_loss`` of a heat device (``details.device``), else ``""``."""
    if incident.kind is IncidentKind.COMM_LOSS and incident.details.get("device") in HEAT_DEVICES:
        return HEAT_DOMAIN
    return ""
