"""The simulator's load model: storage heaters, heat pumps, direct and solar back-up heaters,
heat-network households' base load, gas boilers and village regulator stations.

Everything here is a function of the fleet, the weather and one seeded generator per stream;
the caller owns the generators, so the order of draws (the output's identity) is visible in
``producers/simulate.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from producers.faults import FaultPlan
from producers.fleet import DEV, FEEDER_LOAD_FACTOR, Fleet
from producers.weather import Weather

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


def tod_hours(hhmm: str) -> float:
    """``"22:30"`` -> 22.5."""
    hh, mm = hhmm.split(":")
    return int(hh) + int(mm) / 60.0


def in_window(tod_h: F64, start_h: float, end_h: float) -> BOOL:
    """Time-of-day in [start, end) with wrap-around past midnight."""
    if start_h <= end_h:
        return np.asarray((tod_h >= start_h) & (tod_h < end_h))
    return np.asarray((tod_h >= start_h) | (tod_h < end_h))


def _window_begins(flags: BOOL) -> BOOL:
    return np.asarray(flags & ~np.concatenate([[False], flags[:-1]]))


class IntervalGrid:
    """Interval-start hours (with a 24 h prewarm before the output), tariff windows, weather.

    Step ``j`` is interval ``k = j - prewarm``; the prewarm lets storage heaters reach a
    realistic charge state before the first reading is written.
    """

    def __init__(
        self,
        weather: Weather,
        first_hour: float,
        dt_h: float,
        n_intervals: int,
        valley: tuple[str, str],
        peak: tuple[str, str],
    ) -> None:
        self.weather = weather
        self.dt_h = dt_h
        self.prewarm = math.ceil(24 / dt_h)
        self.hours = np.asarray(
            first_hour + np.arange(-self.prewarm, n_intervals) * dt_h, dtype=np.float64
        )
        self.tod = np.mod(self.hours, 24.0)
        self.valley = in_window(self.tod, tod_hours(valley[0]), tod_hours(valley[1]))
        self.peak = in_window(self.tod, tod_hours(peak[0]), tod_hours(peak[1]))
        self.valley_begin = _window_begins(self.valley)
        self.peak_begin = _window_begins(self.peak)
        self.temps = weather.temp(self.hours + dt_h)  # counties x steps, at interval end

    def next24_mean(self, j: int) -> F64:
        """Per county: mean temperature over the 24 hours from step ``j`` (the charge forecast)."""
        hours = self.hours[j] + np.arange(24) + 0.5
        return np.asarray(self.weather.temp(hours).mean(axis=1), dtype=np.float64)

    def end_tod(self, j: int) -> float:
        """Local time of day at the end of step ``j`` (when its readings are stamped)."""
        return float((self.tod[j] + self.dt_h) % 24.0)


class StorageHeaters:
    """Charge state of every storage heater; healthy ones charge in the valley tariff window,
    the planned peak chargers in the peak window instead.

    At a window's start each heater is given the energy it needs for the next 24 hours (colder
    forecast, more hours of charging, 4-7 h at rated power); it runs flat out for its pickup
    phase, then on thermostat duty, until that energy is spent or the window closes.
    """

    def __init__(self, fleet: Fleet, grid: IntervalGrid, peak_chargers: list[int]) -> None:
        e_idx = fleet.electric
        self.grid = grid
        self.index = np.flatnonzero(fleet.device[e_idx] == DEV["storage_heater"])
        st = self.index
        self.rated = fleet.rated_kw[e_idx][st]
        self.pickup_h = fleet.pickup_h[e_idx][st]
        self.duty = fleet.duty[e_idx][st]
        self.need = fleet.need_factor[e_idx][st]
        self.county = fleet.county[e_idx][st]
        self.peak_charger = np.isin(st, np.array(peak_chargers, dtype=np.int64))
        self.remaining_kwh = np.zeros(st.size)
        self.elapsed_h = np.zeros(st.size)
        # the home's heat need today (producers/usage.py: under-use, empty, large, small homes)
        self.scale = np.ones(st.size)

    def _open_or_close_windows(self, j: int) -> None:
        g = self.grid
        for mask, begin, open_now in (
            (~self.peak_charger, g.valley_begin[j], g.valley[j]),
            (self.peak_charger, g.peak_begin[j], g.peak[j]),
        ):
            if begin:
                tm = g.next24_mean(j)[self.county[mask]]
                need_h = np.clip(3.2 + 0.22 * (2.0 - tm), 4.0, 7.0) * self.need[mask]
                self.remaining_kwh[mask] = (
                    self.rated[mask] * np.maximum(need_h, 4.0) * self.scale[mask]
                )
                self.elapsed_h[mask] = 0.0
            elif not open_now:
                self.remaining_kwh[mask] = 0.0

    def step(self, j: int) -> F64:
        """Charging kW of each storage heater during step ``j``."""
        self._open_or_close_windows(j)
        dt_h = self.grid.dt_h
        frac = np.clip((self.pickup_h - self.elapsed_h) / dt_h, 0.0, 1.0)
        p = self.rated * (frac + (1.0 - frac) * self.duty)
        p = np.minimum(p, self.remaining_kwh / dt_h)
        self.remaining_kwh[:] -= p * dt_h
        self.elapsed_h[:] += dt_h
        return np.asarray(p)


def _evening_factor(end_tod: float) -> float:
    """Heat-network households' extra base load: evening 18-22 h full, morning 7-9 h half."""
    if 18.0 <= end_tod < 22.0:
        return 1.0
    return 0.5 if 7.0 <= end_tod < 9.0 else 0.0


@dataclass
class ElectricInterval:
    """One interval of electric meters (kW, kWh, volts) and their feeders' kW."""

    kw: F64
    kwh: F64
    volts: F64
    feeder_kw: F64


class ElectricLoads:
    """Per-interval kW of every electric meter and the feeder sums that set its voltage."""

    def __init__(self, fleet: Fleet, grid: IntervalGrid, plan: FaultPlan) -> None:
        e_idx = fleet.electric
        self.grid = grid
        self.county = fleet.county[e_idx]
        self.rated = fleet.rated_kw[e_idx]
        self.base = fleet.base_kw[e_idx]
        dev = fleet.device[e_idx]
        self.heat_pumps = np.flatnonzero(dev == DEV["heat_pump"])
        self.direct = np.flatnonzero(dev == DEV["direct_electric"])
        self.district = np.flatnonzero(dev == DEV["district"])
        self.solar = np.flatnonzero(dev == DEV["solar_thermal"])
        self.storage = StorageHeaters(fleet, grid, plan.peak_chargers)
        self.feeder_of = fleet.feeder_of
        self.n_feeders = len(fleet.feeders)
        self.kva = np.array([f.rated_kva for f in fleet.feeders])
        self.nominal_v = np.array([f.nominal_v for f in fleet.feeders])
        # Per meter, today's factor on its heater and on its appliances (producers/usage.py);
        # a heater never draws more than its peak bound, so feeders stay sized for it.
        self.heat_scale = np.ones(self.county.size)
        self.base_scale = np.ones(self.county.size)

    def set_use(self, heat: F64, base: F64) -> None:
        """Today's factors per meter (heater, appliances)."""
        self.heat_scale = heat
        self.base_scale = base
        self.storage.scale = heat[self.storage.index]

    def prewarm(self) -> None:
        for j in range(self.grid.prewarm):
            self.storage.step(j)

    def _heater_kw(self, j: int, temps: F64, noise: F64) -> F64:
        """Each meter's kW: base load plus its heater, colder weather drawing more."""
        rated, base, hs = self.rated, self.base * self.base_scale, self.heat_scale
        t_e = temps[self.county]
        kw = np.empty(self.county.size)
        hp, de, di, so = self.heat_pumps, self.direct, self.district, self.solar
        kw[hp] = (
            base[hp]
            + rated[hp]
            * np.clip(np.clip(0.15 + 0.028 * (12.0 - t_e[hp]), 0.1, 0.95) * hs[hp], 0, 0.95)
        ) * noise[hp]
        kw[de] = (
            base[de]
            + rated[de]
            * np.clip(np.clip(0.10 + 0.030 * (12.0 - t_e[de]), 0.05, 0.95) * hs[de], 0, 0.95)
        ) * noise[de]
        end_tod = self.grid.end_tod(j)
        kw[di] = base[di] * (0.85 + 0.3 * _evening_factor(end_tod)) * noise[di]
        # solar back-up heaters run at night and on the dull late afternoon
        night = 1.0 if (end_tod >= 17.0 or end_tod < 9.0) else 0.15
        kw[so] = (
            base[so]
            + rated[so]
            * 0.95
            * night
            * np.clip(np.clip((2.0 - t_e[so]) / 16.0, 0.0, 1.0) * hs[so], 0, 1)
        ) * noise[so]
        st = self.storage.index
        kw[st] = base[st] * noise[st] + self.storage.step(j)
        return kw

    def interval(
        self, j: int, rng: np.random.Generator, unpowered: list[int] | None
    ) -> ElectricInterval:
        """Loads of step ``j``; ``unpowered`` meters (in an outage) draw nothing on the feeder."""
        noise = np.clip(1.0 + 0.05 * rng.standard_normal(self.county.size), 0.85, 1.15)
        kw = self._heater_kw(j, self.grid.temps[:, j], noise)
        kw_on_feeder = kw
        if unpowered:
            kw_on_feeder = kw.copy()
            kw_on_feeder[unpowered] = 0.0
        per_feeder = np.bincount(self.feeder_of, weights=kw_on_feeder, minlength=self.n_feeders)
        feeder_kw = np.round(FEEDER_LOAD_FACTOR * per_feeder, 1)
        ratio = feeder_kw / self.kva
        volts = np.clip(
            self.nominal_v[self.feeder_of]
            - 10.0 * ratio[self.feeder_of]
            + 1.2 * rng.standard_normal(self.county.size),
            215.0,
            235.0,
        )
        return ElectricInterval(kw=kw, kwh=kw * self.grid.dt_h, volts=volts, feeder_kw=feeder_kw)


@dataclass
class GasInterval:
    """One interval of gas meters (m3/h, kPa) and their regulator stations (kPa, m3/h)."""

    flow: F64
    pressure: F64
    outlet: F64
    station_flow: F64


class GasLoads:
    """Gas boilers burn in proportion to degrees below 18 °C; station drops and single low
    meters follow the fault plan."""

    def __init__(self, fleet: Fleet, grid: IntervalGrid) -> None:
        g_idx = fleet.gas
        self.grid = grid
        self.stations = fleet.stations
        self.county = fleet.county[g_idx]
        self.coef = fleet.gas_coef[g_idx]
        self.station_of = fleet.station_of
        self.n_stations = len(fleet.stations)
        # per meter, today's factor on the boiler's burning time and the gas stove's m³/h of
        # a home heating less (producers/usage.py)
        self.scale = np.ones(self.county.size)
        self.cook = np.zeros(self.county.size)

    def interval(
        self, j: int, rng: np.random.Generator, station_low: list[int], meter_low: list[int]
    ) -> GasInterval:
        ng = self.county.size
        temps = self.grid.temps[:, j]
        gnoise = np.clip(1.0 + 0.05 * rng.standard_normal(ng), 0.85, 1.15)
        flow = np.clip(self.coef * (18.0 - temps[self.county]) * gnoise, 0.3, 2.5)
        # a boiler used less burns for a share of the time (it does not modulate below 0.3)
        flow = np.minimum(flow * self.scale, 2.5) + self.cook
        press = np.clip(2.0 + 0.03 * rng.standard_normal(ng), 1.88, 2.12)
        outlet = np.clip(2.4 + 0.03 * rng.standard_normal(self.n_stations), 2.28, 2.52)
        for s in station_low:
            a, b = self.stations[s].first, self.stations[s].last
            press[a:b] = rng.uniform(0.9, 1.1, b - a)
            flow[a:b] *= 0.7
            outlet[s] = float(np.clip(1.2 + 0.03 * rng.standard_normal(), 1.1, 1.3))
        for g in meter_low:
            press[g] = float(np.clip(1.0 + 0.03 * rng.standard_normal(), 0.9, 1.1))
        station_flow = np.asarray(
            np.bincount(self.station_of, weights=flow, minlength=self.n_stations),
            dtype=np.float64,
        )
        return GasInterval(flow=flow, pressure=press, outlet=outlet, station_flow=station_flow)
