"""Per-entity detector state: plain slotted objects, one per household, feeder and station.

Kept small on purpose (the target is under 1 KB per household) and free of I/O, so the same
state runs in the embedded runner and inside a Faust worker. Checkpoints carry it as plain
versioned data, never pickled, so these classes can change: each class says what of it is
state with ``snapshot(refs)`` (a row of plain values, its incidents by id through
``IncidentRefs``) and takes it back with ``restore(row, refs)``, under its own
``SNAPSHOT_FORMAT`` (``streams/core/persist.py`` composes the rows). What the registry and
the settings give (identity, links, members, design) and what is a cache is not in the row:
a fresh engine rebuilds it. A field added to a class is state only once its ``snapshot``
writes it (the persist tests fail until then: an export/import mid-run must give the
uninterrupted run's results and the same field values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from contract.incidents import Incident
from contract.registry import HeatingDevice, HeatStationKind, Household
from streams.core.snapshots import StateFormatError


class IncidentRefs:
    """Incidents in a state's snapshot, by id: each stored once (the checkpoint's list of
    incidents), and after ``restore`` the very object the book holds, so a household's
    ``outage`` and the open incident are one again.

    A state class's ``snapshot(refs)`` writes ``refs.ref(incident)`` where it holds an
    incident, its ``restore(row, refs)`` reads it back with ``refs.get``."""

    __slots__ = ("by_id",)

    def __init__(self, by_id: dict[str, Incident] | None = None) -> None:
        self.by_id: dict[str, Incident] = {} if by_id is None else by_id

    def ref(self, incident: Incident | None) -> str | None:
        if incident is None:
            return None
        self.by_id.setdefault(incident.incident_id, incident)
        return incident.incident_id

    def get(self, ref: str | None) -> Incident | None:
        if ref is None:
            return None
        try:
            return self.by_id[ref]
        except KeyError:
            raise StateFormatError(f"incident {ref!r} is referenced but not stored") from None

    def gaps(self, gaps: list[list[Any]] | None) -> list[list[Any]] | None:
        """A source's unreported steps ``[start, end, the comm incident then open]``."""
        if gaps is None:
            return None
        return [[start, end, self.ref(incident)] for start, end, incident in gaps]

    def gaps_back(self, rows: list[list[Any]] | None) -> list[list[Any]] | None:
        if rows is None:
            return None
        return [[start, end, self.get(ref)] for start, end, ref in rows]


def by_number(rows: dict[int, list[float]]) -> list[list[Any]]:
    """A map keyed by numbers (a learned normal's outdoor bands) as ``[[key, [values]], ...]``;
    the values copied (the snapshot must not share lists the engine goes on changing)."""
    return [[k, list(v)] for k, v in rows.items()]


def from_by_number(rows: list[list[Any]]) -> dict[int, list[float]]:
    return {int(k): v for k, v in rows}


@dataclass(slots=True)
class Streak:
    """A run of consecutive readings (or days) in one condition — "N low readings in a row
    open an incident" — and when it began (the incident's start: the first reading of the
    run, not the one that reached N).

    A gap breaks the run: a reading that follows missing data starts a new one
    (``after_gap``), because a condition is not assumed to have lasted through data that
    never came. Plain data (a dataclass of ints): checkpoints carry it as it is."""

    n: int = 0
    first: int = 0  # the run's first reading (epoch s), or first day (a day index)

    def add(self, at: int, *, after_gap: bool = False) -> int:
        """Count a reading (or day) in the condition at ``at``; returns the run's length."""
        if self.n == 0 or after_gap:
            self.n = 0
            self.first = at
        self.n += 1
        return self.n

    def clear(self) -> None:
        """A reading out of the condition (or a gap): the run is over."""
        self.n = 0

    def snapshot(self) -> list[int]:
        return [self.n, self.first]

    def restore(self, row: list[int]) -> None:
        self.n, self.first = row


@dataclass(slots=True)
class GasSupply:
    """A household's gas detector state (``gas.py``): low pressure and the season's quota.
    Its own part of the household, written by the gas detector only."""

    low: Incident | None = None  # the open gas_low_pressure
    low_streak: Streak = field(default_factory=Streak)  # low-pressure readings in a row
    quota_risk: Incident | None = None
    used: float = 0.0  # the season's m³ so far
    # Only gas households keep recent daily volumes (a deque would cost ~600 B each).
    recent: list[float] | None = None

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        recent = None if self.recent is None else list(self.recent)
        low, quota = refs.ref(self.low), refs.ref(self.quota_risk)
        return [low, self.low_streak.snapshot(), quota, self.used, recent]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        low, streak, quota, self.used, self.recent = row
        self.low, self.quota_risk = refs.get(low), refs.get(quota)
        self.low_streak.restore(streak)


@dataclass(slots=True)
class PeakCharging:
    """A storage heater's peak-charging state (``storage.py``), written by that detector only:
    the open incident, the run of bad heating days, the household's own non-heating base
    draw in and out of the valley (learned from its days, kW; None before its first day),
    and the open day's meter split into the heater's part and the rest."""

    peak: Incident | None = None
    streak: Streak = field(default_factory=Streak)  # heating days charged off the valley
    base_valley_kw: float | None = None
    base_day_kw: float | None = None
    base_days: int = 0  # days with readings the base has learned from
    # the open day: the heater's kWh (above the base) in and out of the valley ...
    d_heat_valley: float = 0.0
    d_heat_day: float = 0.0
    # ... and the other intervals' kWh and seconds, in and out of the valley (they teach the base)
    d_rest_valley_kwh: float = 0.0
    d_rest_valley_s: int = 0
    d_rest_day_kwh: float = 0.0
    d_rest_day_s: int = 0
    # An interval next to the heater's is its switching on or off, or cycling under the
    # threshold (a partial hour on an hourly meter): not the base. So the last other interval
    # waits (``pending_*``) until the next one shows it was not before the heater, and the
    # one right after the heater (``after_heater``) is left out.
    after_heater: bool = False
    pending_kwh: float = 0.0
    pending_s: int = 0  # 0: none waiting
    pending_valley: bool = False

    def add(self, kwh: float, seconds: int, in_valley: bool, heater_kw: float) -> None:
        """One interval of the meter: the heater's when it draws at least ``heater_kw``
        above the household's base for that part of the day (see ``storage.py``)."""
        heat = self.heater_kwh(kwh, seconds, in_valley, heater_kw)
        if heat is not None:
            if in_valley:
                self.d_heat_valley += heat
            else:
                self.d_heat_day += heat
            self.pending_s = 0  # the interval before it was the heater switching on
            self.after_heater = True
            return
        if self.after_heater:
            self.after_heater = False
            return
        self.settle()
        self.pending_kwh, self.pending_s, self.pending_valley = kwh, seconds, in_valley

    def heater_kwh(
        self, kwh: float, seconds: int, in_valley: bool, heater_kw: float
    ) -> float | None:
        """The heater's kWh in one interval (its draw above the base), None when the
        interval is not the heater's; changes nothing (a late reading into a closed day is
        split with the base as it is now, ``revisions.revise_closed_day``)."""
        base = (self.base_valley_kw if in_valley else self.base_day_kw) or 0.0
        excess = kwh * 3600 / seconds - base
        return excess * seconds / 3600 if excess >= heater_kw else None

    def settle(self) -> None:
        """The waiting interval is the base's (the day closes, or another followed it)."""
        if not self.pending_s:
            return
        if self.pending_valley:
            self.d_rest_valley_kwh += self.pending_kwh
            self.d_rest_valley_s += self.pending_s
        else:
            self.d_rest_day_kwh += self.pending_kwh
            self.d_rest_day_s += self.pending_s
        self.pending_s = 0

    def reset_day(self) -> None:
        self.d_heat_valley = self.d_heat_day = 0.0
        self.d_rest_valley_kwh = self.d_rest_day_kwh = 0.0
        self.d_rest_valley_s = self.d_rest_day_s = 0

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            refs.ref(self.peak),
            self.streak.snapshot(),
            self.base_valley_kw,
            self.base_day_kw,
            self.base_days,
            self.d_heat_valley,
            self.d_heat_day,
            self.d_rest_valley_kwh,
            self.d_rest_valley_s,
            self.d_rest_day_kwh,
            self.d_rest_day_s,
            self.after_heater,
            self.pending_kwh,
            self.pending_s,
            self.pending_valley,
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            peak,
            streak,
            self.base_valley_kw,
            self.base_day_kw,
            self.base_days,
            self.d_heat_valley,
            self.d_heat_day,
            self.d_rest_valley_kwh,
            self.d_rest_valley_s,
            self.d_rest_day_kwh,
            self.d_rest_day_s,
            self.after_heater,
            self.pending_kwh,
            self.pending_s,
            self.pending_valley,
        ) = row
        self.peak = refs.get(peak)
        self.streak.restore(streak)


class HouseholdState:
    """A household: its meter's accounting of the day (shared: the electric, gas and heat
    detectors fill the same minutes), its outage and silence, and one part per detector that
    keeps state of its own (``gas``, ``storage``)."""

    __slots__ = (
        "accounted_until",
        "comm",
        "d_avail",
        "d_energy",
        "d_gas",
        "d_interruptions",
        "d_outage",
        "d_readings",
        "d_short",
        "d_valley",
        "energy_cap",
        "evidence",
        "feeder",
        "gaps",
        "gas",
        "household",
        "is_storage",
        "last_ts",
        "outage",
        "station",
        "storage",
    )

    def __init__(
        self, household: Household, feeder: FeederState | None, station: StationState | None
    ) -> None:
        self.household = household
        self.feeder = feeder
        self.station = station
        self.is_storage = household.heating_device is HeatingDevice.STORAGE_HEATER
        self.last_ts = 0
        self.energy_cap = 0.0  # plausibility: most kWh / m3 per second (set by the engine)
        # recent communication gaps a late reading may fill: [start, end, comm incident]
        self.gaps: list[list[Any]] | None = None
        self.accounted_until = 0
        self.outage: Incident | None = None
        self.comm: Incident | None = None
        self.gas = GasSupply(recent=[] if household.is_gas else None)
        # only a storage heater charges off-peak (most households: none, ~110 B saved each)
        self.storage = PeakCharging() if self.is_storage else None
        # What the day's minutes rest on (HouseholdDay.evidence); heat days set it at close.
        self.evidence: str | None = (
            "gas_meter" if household.is_gas else "electric_meter" if feeder is not None else None
        )
        self.reset_day()

    def reset_day(self) -> None:
        self.d_readings = 0
        self.d_avail = 0
        self.d_outage = 0
        self.d_short = 0
        self.d_interruptions = 0
        self.d_energy = 0.0
        self.d_valley = 0.0
        self.d_gas = 0.0
        if self.storage is not None:
            self.storage.reset_day()

    # not stored: its registry row and links, ``is_storage`` and ``energy_cap`` (from them).
    # 2: a storage heater's part (``PeakCharging``) also holds its learned base draw and the
    # open day's heater/base split (1 held only the incident and the run of bad days).
    SNAPSHOT_FORMAT: ClassVar[int] = 2

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        storage = None if self.storage is None else self.storage.snapshot(refs)
        return [
            self.last_ts,
            self.accounted_until,
            refs.ref(self.outage),
            refs.ref(self.comm),
            refs.gaps(self.gaps),
            self.evidence,
            self.d_readings,
            self.d_avail,
            self.d_outage,
            self.d_short,
            self.d_interruptions,
            self.d_energy,
            self.d_valley,
            self.d_gas,
            self.gas.snapshot(refs),
            storage,
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            self.accounted_until,
            outage,
            comm,
            gaps,
            self.evidence,
            self.d_readings,
            self.d_avail,
            self.d_outage,
            self.d_short,
            self.d_interruptions,
            self.d_energy,
            self.d_valley,
            self.d_gas,
            gas,
            storage,
        ) = row
        self.outage, self.comm, self.gaps = refs.get(outage), refs.get(comm), refs.gaps_back(gaps)
        self.gas.restore(gas, refs)
        if storage is None:
            self.storage = None
        else:
            self.storage = self.storage or PeakCharging()
            self.storage.restore(storage, refs)


class FeederState:
    """A distribution transformer area: its meters, its load and its roll-up incidents."""

    __slots__ = (
        "comm",
        "county",
        "feeder_id",
        "gaps",
        "last_ts",
        "location",
        "max_ratio",
        "members",
        "out_count",
        "outage",
        "over_rebound",
        "over_streak",
        "overload",
        "pre_valley_kw",
        "priority_members",
        "under_streak",
        "village",
    )

    def __init__(self, feeder_id: str, county: str, village: str) -> None:
        self.feeder_id = feeder_id
        self.county = county
        self.village = village
        self.location: tuple[float, float] | None = None  # mean of members' lat/lon, for maps
        self.members: list[HouseholdState] = []
        self.priority_members = 0
        self.out_count = 0
        self.outage: Incident | None = None
        self.overload: Incident | None = None
        self.comm: Incident | None = None  # the concentrator is silent (one page, not forty)
        self.last_ts = 0
        self.over_streak = Streak()  # readings over the overload ratio in a row
        self.over_rebound = False
        self.under_streak = Streak()  # readings under the clear ratio in a row
        self.max_ratio = 0.0
        self.pre_valley_kw = 0.0
        # steps the feeder did not report, a late upload may fill (streams/core/revisions.py)
        self.gaps: list[list[Any]] | None = None

    # not stored: identity, place, location and members (the registry's)
    SNAPSHOT_FORMAT: ClassVar[int] = 1

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.last_ts,
            self.out_count,
            refs.ref(self.outage),
            refs.ref(self.overload),
            refs.ref(self.comm),
            self.over_streak.snapshot(),
            self.over_rebound,
            self.under_streak.snapshot(),
            self.max_ratio,
            self.pre_valley_kw,
            refs.gaps(self.gaps),
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            self.out_count,
            outage,
            overload,
            comm,
            over,
            self.over_rebound,
            under,
            self.max_ratio,
            self.pre_valley_kw,
            gaps,
        ) = row
        self.outage, self.overload, self.comm = refs.get(outage), refs.get(overload), refs.get(comm)
        self.over_streak.restore(over)
        self.under_streak.restore(under)
        self.gaps = refs.gaps_back(gaps)


class StationState:
    """A village gas regulator station and the households it feeds."""

    __slots__ = (
        "county",
        "d_delivered",
        "gaps",
        "last_ts",
        "location",
        "low_count",
        "members",
        "outlet_low",
        "outlet_streak",
        "priority_members",
        "shortfall",
        "station_id",
        "village",
    )

    def __init__(self, station_id: str, county: str, village: str) -> None:
        self.station_id = station_id
        self.county = county
        self.village = village
        self.location: tuple[float, float] | None = None
        self.members: list[HouseholdState] = []
        self.priority_members = 0
        self.low_count = 0
        self.shortfall: Incident | None = None
        self.last_ts = 0
        self.outlet_streak = Streak()  # low outlet-pressure readings in a row
        self.outlet_low = False
        self.d_delivered = 0.0
        self.gaps: list[list[Any]] | None = None  # unreported steps (streams/core/revisions.py)

    # not stored: identity, place, location and members (the registry's)
    SNAPSHOT_FORMAT: ClassVar[int] = 1

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.last_ts,
            self.low_count,
            refs.ref(self.shortfall),
            self.outlet_streak.snapshot(),
            self.outlet_low,
            self.d_delivered,
            refs.gaps(self.gaps),
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            self.low_count,
            shortfall,
            outlet,
            self.outlet_low,
            self.d_delivered,
            gaps,
        ) = row
        self.shortfall = refs.get(shortfall)
        self.outlet_streak.restore(outlet)
        self.gaps = refs.gaps_back(gaps)


@dataclass(slots=True)
class StationNormal:
    """A heat station's learned normal (``streams/core/heatnormal.py``), learned from the
    readings judged healthy only (a fault never becomes the normal): ``[n, mean]`` of its
    flow, and per outdoor band of its supply-return difference, its heat output and — while
    its sampled homes were warm — its supply above its kind's curve (its learned heating
    curve)."""

    flow: list[float] = field(default_factory=lambda: [0, 0.0])  # m³/h
    delta: dict[int, list[float]] = field(default_factory=dict)  # K
    heat: dict[int, list[float]] = field(default_factory=dict)  # kW
    supply: dict[int, list[float]] = field(default_factory=dict)  # K above the kind's curve

    def snapshot(self) -> list[Any]:
        tables = (self.delta, self.heat, self.supply)
        return [list(self.flow), *(by_number(t) for t in tables)]

    def restore(self, row: list[Any]) -> None:
        self.flow, delta, heat, supply = row
        self.delta, self.heat = from_by_number(delta), from_by_number(heat)
        self.supply = from_by_number(supply)


class HeatStationState:
    """A heat exchange station (换热站) or boiler house, its households and its stack.

    ``homes`` are the station's network households; ``dirty`` is the heat network's set of
    stations whose indoor roll-up must be re-evaluated after the current event-time step.
    """

    __slots__ = (
        "accounted_until",
        "cold",
        "cold_count",
        "comm",
        "county",
        "d_down",
        "d_down_ts",
        "d_interruptions",
        "d_low",
        "d_ok",
        "design",
        "dirty",
        "down_now",
        "down_prior",
        "down_streak",
        "gaps",
        "homes",
        "homes_warm",
        "interruption",
        "kind",
        "last_ts",
        "location",
        "low_streak",
        "normal",
        "prior_ts",
        "priority_members",
        "station_id",
        "supply_low",
        "village",
        "weather",
    )

    def __init__(
        self,
        station_id: str,
        kind: HeatStationKind,
        county: str,
        village: str,
        weather: CountyWeather,
        dirty: set[HeatStationState],
    ) -> None:
        self.station_id = station_id
        self.kind = kind
        self.county = county
        self.village = village
        self.weather = weather
        self.dirty = dirty
        self.location: tuple[float, float] | None = None
        self.homes: list[HeatHomeState] = []
        self.priority_members = 0
        self.last_ts = 0
        self.accounted_until = 0
        self.down_streak = Streak()  # readings without useful heat in a row
        self.interruption: Incident | None = None
        self.low_streak = Streak()  # readings below its heating curve in a row
        self.supply_low: Incident | None = None
        self.cold_count = 0
        self.cold: Incident | None = None
        self.comm: Incident | None = None  # its telemetry (远传) is silent
        # the latest reading's verdict (down: no useful heat) and the one before, with the
        # timestamp before ``last_ts``: what a home's meter is judged against (``supplied_before``)
        self.down_now = False
        self.down_prior = False
        self.prior_ts = 0
        self.gaps: list[list[Any]] | None = None  # unreported steps (streams/core/revisions.py)
        # what the station was built for (registry, defaults by kind and size): set by the
        # heat network from the registry (streams/core/heatnormal.py); derived, not stored
        self.design: Any = None
        self.normal = StationNormal()  # what it learned (streams/core/heatnormal.py)
        # what its sampled homes last said about its supply before its curve is learned: True
        # warm enough, False cold enough, None not yet (``heatstation.station_curve``); a spell with
        # no home reporting keeps it, so a sensor's late upload does not change the judgement
        self.homes_warm: bool | None = None
        self.reset_day()

    def reset_day(self) -> None:
        self.d_ok = 0
        self.d_down = 0
        self.d_down_ts: list[int] = []  # the day's readings judged down (few: faults only)
        self.d_low = 0
        self.d_interruptions = 0

    # not stored: identity, kind, place, location, weather, homes and design (registry and
    # settings), ``dirty`` (the heat network's per-step set: empty between steps)
    SNAPSHOT_FORMAT: ClassVar[int] = 2  # 1 had its learned normal as four fields

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.last_ts,
            self.accounted_until,
            self.down_streak.snapshot(),
            refs.ref(self.interruption),
            self.low_streak.snapshot(),
            refs.ref(self.supply_low),
            self.cold_count,
            refs.ref(self.cold),
            refs.ref(self.comm),
            self.down_now,
            self.down_prior,
            self.prior_ts,
            refs.gaps(self.gaps),
            self.normal.snapshot(),
            self.homes_warm,
            self.d_ok,
            self.d_down,
            list(self.d_down_ts),
            self.d_low,
            self.d_interruptions,
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            self.accounted_until,
            down,
            interruption,
            low,
            supply_low,
            self.cold_count,
            cold,
            comm,
            self.down_now,
            self.down_prior,
            self.prior_ts,
            gaps,
            normal,
            self.homes_warm,
            self.d_ok,
            self.d_down,
            self.d_down_ts,
            self.d_low,
            self.d_interruptions,
        ) = row
        self.down_streak.restore(down)
        self.low_streak.restore(low)
        self.interruption, self.supply_low = refs.get(interruption), refs.get(supply_low)
        self.cold, self.comm, self.gaps = refs.get(cold), refs.get(comm), refs.gaps_back(gaps)
        self.normal.restore(normal)


class StackState:
    """A heat station's stack (CEMS): the hour being averaged and the open exceedance.

    Its own entity (not slots of the station) because the engine tells duplicates by
    (target, timestamp): a stack reading and a station reading of one timestamp are two
    readings, not one twice.
    """

    __slots__ = (
        "d_hours",
        "em_fire",
        "em_first_fire",
        "em_hour",
        "em_last_fire",
        "em_n",
        "em_nox",
        "em_pm",
        "em_s",
        "em_so2",
        "emission",
        "flue_norm",
        "gaps",
        "hours",
        "last_state",
        "last_ts",
        "run_hours",
        "station",
    )

    def __init__(self, station: HeatStationState) -> None:
        self.station = station
        self.last_ts = 0
        self.em_hour = -1  # epoch hour of the interval starts being averaged
        self.em_n = 0  # readings of the hour
        self.em_s = 0  # seconds those readings cover (hourly validity at any cadence)
        self.em_fire = 0  # of which the boiler was firing (streams/core/heatstack.py ``firing``)
        self.em_first_fire = False  # the hour's first and latest reading fired
        self.em_last_fire = False
        self.em_pm = 0.0  # sums over the firing readings, converted to the reference O₂
        self.em_so2 = 0.0
        self.em_nox = 0.0
        self.emission: Incident | None = None
        self.last_state = ""  # the operating state of the last judged hour
        # consecutive fully firing hours (start-up while few); a boiler firing when the stream
        # begins has been running for long (streams/core/heatstack.py ``_LONG_RUNNING``)
        self.run_hours = 1_000_000
        self.flue_norm: list[float] = [0, 0.0]  # [n, mean flue flow] of firing readings
        # the day's hours by operating state and validity (data completeness per stack)
        self.d_hours: dict[str, int] = {}
        self.gaps: list[list[Any]] | None = None  # unreported steps (streams/core/revisions.py)
        # judged hours that lacked readings, kept for late ones within the revision horizon:
        # [epoch hour, n, particulates, so2, nox] (sums at the reference O₂)
        self.hours: list[list[Any]] | None = None

    # not stored: its station (the registry's)
    SNAPSHOT_FORMAT: ClassVar[int] = 1

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.last_ts,
            self.em_hour,
            self.em_n,
            self.em_s,
            self.em_fire,
            self.em_first_fire,
            self.em_last_fire,
            self.em_pm,
            self.em_so2,
            self.em_nox,
            refs.ref(self.emission),
            self.last_state,
            self.run_hours,
            list(self.flue_norm),
            dict(self.d_hours),
            refs.gaps(self.gaps),
            None if self.hours is None else [list(h) for h in self.hours],
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            self.em_hour,
            self.em_n,
            self.em_s,
            self.em_fire,
            self.em_first_fire,
            self.em_last_fire,
            self.em_pm,
            self.em_so2,
            self.em_nox,
            emission,
            self.last_state,
            self.run_hours,
            self.flue_norm,
            self.d_hours,
            gaps,
            self.hours,
        ) = row
        self.emission, self.gaps = refs.get(emission), refs.gaps_back(gaps)


@dataclass(slots=True)
class HeatDevice:
    """One of a home's own devices (its indoor sensor or its heat meter): what its readings
    covered and the gaps a late upload of *its* readings may fill. Kept per device (issue 20:
    a source is a device): a home with both devices has two coverages, so one device's live
    readings never cover, and a late upload never loses, the other's."""

    covered_until: int = 0  # the end of what its readings covered (or the last silent close)
    last_ts: int = 0  # its newest reading
    # how often it reports: the shortest gap seen between two of its readings (0 until two
    # have come), trusted after ``sensor_cadence_min_gaps`` gaps (15 min or hourly sensors)
    every: int = 0
    every_seen: int = 0
    gaps: list[list[Any]] | None = None  # unreported steps (streams/core/revisions.py)
    # an indoor sensor's latest temperature, and the reading before it (what a station reading
    # of the same step is judged with, whichever of the two was handled first)
    temp_c: float = 0.0
    prior_ts: int = 0
    prior_temp_c: float = 0.0

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.covered_until,
            self.last_ts,
            self.every,
            self.every_seen,
            refs.gaps(self.gaps),
            self.temp_c,
            self.prior_ts,
            self.prior_temp_c,
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.covered_until,
            self.last_ts,
            self.every,
            self.every_seen,
            gaps,
            self.temp_c,
            self.prior_ts,
            self.prior_temp_c,
        ) = row
        self.gaps = refs.gaps_back(gaps)


class HeatHomeState:
    """A heat-network household's heat-side state: its station interruption child incident and,
    when it has an indoor sensor (室温采集器) or a heat meter, its own evidence (each device's
    coverage apart: ``indoor``, ``meter``)."""

    __slots__ = (
        "cold_streak",
        "comm",
        "d_cold",
        "d_cold_ts",
        "d_heat",
        "d_interruptions",
        "d_own",
        "d_readings",
        "household",
        "indoor",
        "indoor_low",
        "interruption",
        "last_ts",
        "meter",
        "no_heat",
        "no_heat_streak",
        "own_source",
        "station",
    )

    def __init__(self, household: HouseholdState, station: HeatStationState) -> None:
        self.household = household
        self.station = station
        self.last_ts = 0
        self.interruption: Incident | None = None
        self.indoor_low: Incident | None = None
        self.cold_streak = Streak()  # cold indoor readings in occupied hours in a row
        self.own_source: str | None = None  # "indoor" / "heat_meter" once one has reported
        self.indoor = HeatDevice()  # its indoor sensor's coverage (``last_ts``: either's)
        self.meter = HeatDevice()  # its heat meter's
        self.comm: Incident | None = None  # its own sensor (indoor / heat meter) is silent
        # heat-meter readings without heat while the station supplies, in a row
        self.no_heat_streak = Streak()
        self.no_heat: Incident | None = None
        self.reset_day()

    def device(self, kind: str) -> HeatDevice:
        """The coverage of the home's device of reading ``kind`` (``indoor_temp``/``heat_meter``)."""
        return self.meter if kind == "heat_meter" else self.indoor

    @property
    def gaps(self) -> list[list[Any]] | None:
        """Its devices' gaps together (read only: whether a late upload may still fill any)."""
        if self.indoor.gaps is None:
            return self.meter.gaps
        return self.indoor.gaps + (self.meter.gaps or [])

    def reset_day(self) -> None:
        self.d_readings = 0
        self.d_interruptions = 0
        self.d_own = 0  # seconds covered by the home's own readings today
        self.d_cold = 0  # of which the home was cold / got no heat
        # [ts, span] of those readings: at day close the ones at a step its station was down
        # are the station's outage, not also the home's shortfall (``heat._home_day``)
        self.d_cold_ts: list[list[int]] = []
        # kWh of heat its heat meter measured today (None: no meter reading today) — the
        # use judgement's figure for a network home (HouseholdDay.heat_kwh, issue 24)
        self.d_heat: float | None = None

    # not stored: its household and station (the registry's); 2 adds today's delivered heat
    SNAPSHOT_FORMAT: ClassVar[int] = 2

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.last_ts,
            refs.ref(self.interruption),
            refs.ref(self.indoor_low),
            self.cold_streak.snapshot(),
            self.own_source,
            self.indoor.snapshot(refs),
            self.meter.snapshot(refs),
            refs.ref(self.comm),
            self.no_heat_streak.snapshot(),
            refs.ref(self.no_heat),
            self.d_readings,
            self.d_interruptions,
            self.d_own,
            self.d_cold,
            [list(c) for c in self.d_cold_ts],
            self.d_heat,
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.last_ts,
            interruption,
            indoor_low,
            cold,
            self.own_source,
            indoor,
            meter,
            comm,
            no_heat,
            no_heat_inc,
            self.d_readings,
            self.d_interruptions,
            self.d_own,
            self.d_cold,
            self.d_cold_ts,
            self.d_heat,
        ) = row
        self.interruption, self.indoor_low = refs.get(interruption), refs.get(indoor_low)
        self.comm, self.no_heat = refs.get(comm), refs.get(no_heat_inc)
        self.cold_streak.restore(cold)
        self.no_heat_streak.restore(no_heat)
        self.indoor.restore(indoor, refs)
        self.meter.restore(meter, refs)


class CountyWeather:
    """Today's temperatures for one county, folded into rollups at day close; the latest
    reading is the outdoor temperature the heating curves are judged at."""

    __slots__ = (
        "county",
        "day",
        "history",
        "last_c",
        "last_ts",
        "n",
        "prior_c",
        "t_min",
        "t_sum",
    )

    def __init__(self, county: str = "") -> None:
        self.county = county
        self.day = -1
        self.last_c: float | None = None
        self.prior_c: float | None = None
        self.last_ts = 0
        self.n = 0
        self.t_min = 0.0
        self.t_sum = 0.0
        # [ts, temp] within the revision horizon: the outdoor temperature a late heat-station
        # reading is judged at (``outdoor_at``); pruned at day close
        self.history: list[list[Any]] = []

    # all of it is state: a county's weather comes with its readings (not from the registry)
    SNAPSHOT_FORMAT: ClassVar[int] = 1

    def snapshot(self, refs: IncidentRefs) -> list[Any]:
        return [
            self.county,
            self.day,
            self.last_c,
            self.prior_c,
            self.last_ts,
            self.n,
            self.t_min,
            self.t_sum,
            [list(h) for h in self.history],
        ]

    def restore(self, row: list[Any], refs: IncidentRefs) -> None:
        (
            self.county,
            self.day,
            self.last_c,
            self.prior_c,
            self.last_ts,
            self.n,
            self.t_min,
            self.t_sum,
            self.history,
        ) = row

    def add(self, day: int, temp_c: float) -> None:
        if day != self.day:
            self.day, self.n, self.t_min, self.t_sum = day, 0, temp_c, 0.0
        self.prior_c, self.last_c = self.last_c, temp_c
        self.n += 1
        self.t_sum += temp_c
        self.t_min = min(self.t_min, temp_c)

    def outdoor_before(self, ts: int) -> float | None:
        """The outdoor temperature known before the event-time step ``ts``: the same answer
        whether this step's weather reading was handled before or after the asking reading;
        for a late reading (time moved past ``ts``), what it was then (``outdoor_at``)."""
        if self.last_ts > ts and self.history:
            return self.outdoor_at(ts)
        return self.prior_c if self.last_ts >= ts else self.last_c

    def outdoor_at(self, ts: int) -> float | None:
        """What ``outdoor_before(ts)`` answered when time was at ``ts`` (a late reading's
        step): the latest temperature stamped before it, from the kept history."""
        temp = None
        for stamp, temp_c in self.history:
            if stamp >= ts:
                break
            temp = temp_c
        return temp

    def min_for(self, day: int) -> float | None:
        return self.t_min if self.day == day and self.n else None

    def mean_for(self, day: int) -> float | None:
        return self.t_sum / self.n if self.day == day and self.n else None


def mean_location(members: list[HouseholdState]) -> tuple[float, float] | None:
    points = [
        (m.household.lat, m.household.lon)
        for m in members
        if m.household.lat is not None and m.household.lon is not None
    ]
    if not points:
        return None
    return (
        round(sum(p[0] for p in points) / len(points), 5),
        round(sum(p[1] for p in points) / len(points), 5),
    )
