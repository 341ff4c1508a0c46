"""The simulator's heat networks: station supply on its heating curve, sampled indoor
sensors, household heat meters, boiler-house stacks (CEMS), and the heat faults of the plan.

Seeded generators drawn in stream order: ``[seed, 7]`` for stations, stacks and indoor
sensors, ``[seed, 9]`` for heat meters; the lines are orjson objects (a few per station per
interval, far fewer than the meters' fixed-width rows).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from producers.faults import ESCALATION_LOW, FaultPlan
from producers.fleet import Fleet

F64 = npt.NDArray[np.float64]

# The simulated operators run their stations this far above the detector's default curve.
CURVES: dict[str, tuple[float, float]] = {
    "chp_waste_heat": (45.0, 65.0),
    "boiler_house": (45.0, 68.0),
    "biomass": (42.0, 62.0),
}
HEALTHY_MARGIN_C = 4.0
LOW_DEFICIT_C = 8.0
TRIP_DECAY_C_PER_H = 0.4  # indoor cooling while the station is down (brick houses)
SOURCE_LOSS_COOLING_K = 0.3  # the network's water cools per interval after a source loss
KIND_SUPPLY_C = {"chp_waste_heat": 75.0, "boiler_house": 75.0, "biomass": 70.0}
# A home's design heat load: 100 m² at 60 W/m² (as a station's design flow is sized, fleet.py)
HOME_DESIGN_KW = 6.0


def curve_c(kind: str, outdoor: float, design_supply_c: float | None = None) -> float:
    """The operator's curve: the kind's, rescaled above 20 °C to a station's design supply
    (a 50/40 floor-heating network runs ~34 °C mild, ~46 °C cold)."""
    mild, design = CURVES[kind]
    base = mild + (design - mild) * min(1.0, max(0.0, (5.0 - outdoor) / 20.0))
    if design_supply_c is None:
        return base
    return 20.0 + (base - 20.0) * (design_supply_c - 20.0) / (KIND_SUPPLY_C[kind] - 20.0)


def load_share(outdoor: float) -> float:
    """The heating load at ``outdoor`` as a share of the design load (18 °C in, −15 °C out)."""
    return min(1.0, max(0.15, (18.0 - outdoor) / 33.0))


def local_hour_and_weekday(ts: str, interval_s: int) -> tuple[int, int]:
    """(hour, ISO weekday) of the start of the interval ending at ``ts``, in the stream's
    local time (the timestamp's own offset)."""
    start = datetime.fromisoformat(ts) - timedelta(seconds=interval_s)
    return start.hour, start.isoweekday()


class HeatNetworkSim:
    """Per interval: one ``heat_station`` line per station, one ``indoor_temp`` line per
    sampled home, one ``heat_meter`` line per metered home, one ``stack_emission`` line per
    boiler house (minus the silent ones of the fault plan)."""

    def __init__(self, fleet: Fleet, plan: FaultPlan, seed: int, dt: int) -> None:
        self.fleet = fleet
        self.dt = dt
        self.rng = np.random.default_rng([seed, 7])
        self.ids = fleet.household_ids
        self.stations = fleet.heat_stations
        self.sampled = [x for hs in self.stations for x in hs.sampled]
        self.station_of_sampled = {x: i for i, hs in enumerate(self.stations) for x in hs.sampled}
        self.baseline = self.rng.uniform(20.0, 22.5, len(self.sampled))
        self.trip: dict[int, dict[int, int]] = defaultdict(dict)  # k -> station -> k0
        self.low: dict[int, set[int]] = defaultdict(set)
        self.cold: dict[int, set[int]] = defaultdict(set)
        self.emit: dict[int, set[int]] = defaultdict(set)
        for s, k0, k1 in plan.station_trips:
            for k in range(k0, k1):
                self.trip[k][s] = k0
        for s, k0, k1 in plan.supply_lows:
            for k in range(k0, k1):
                self.low[k].add(s)
        self.lost: dict[int, dict[int, int]] = defaultdict(dict)  # k -> station -> k0
        for s, k0, k1 in plan.source_losses:
            for k in range(k0, k1):
                self.lost[k][s] = k0
        for s, k0, k1 in plan.escalations:
            for k in range(k0, k0 + ESCALATION_LOW):
                self.low[k].add(s)
            for k in range(k0 + ESCALATION_LOW, k1):
                self.lost[k][s] = k0 + ESCALATION_LOW
        self.ret = [0.0] * len(self.stations)  # the latest return (a lost source cools from it)
        # a per-station generator for the new station physics: the other lines do not move
        self.station_rng = np.random.default_rng([seed, 14])
        for x, k0, k1 in plan.cold_homes:
            for k in range(k0, k1):
                self.cold[k].add(x)
        for s, k0, k1 in plan.emissions:
            for k in range(k0, k1):
                self.emit[k].add(s)
        # household heat meters: their own generator, so the other heat lines do not move
        self.metered = [(x, s) for s, hs in enumerate(self.stations) for x in hs.metered]
        self.meter_rng = np.random.default_rng([seed, 9])
        # billing meters (issue 24): their own generator, so the fault-plan meters' draws stay
        self.billed = [(x, s) for s, hs in enumerate(self.stations) for x in hs.billed]
        self.billed_rng = np.random.default_rng([seed, 16])
        # each network home's heat need (the fleet's per-home factor) and, per day, how much
        # of it the family takes (producers/usage.py; 1 without use behaviours)
        self.need = fleet.need_factor[fleet.heat]
        self.use: F64 = np.ones(len(fleet.heat))
        self.supply = [0.0] * len(self.stations)  # this interval's secondary supply
        self.no_heat: dict[int, set[int]] = defaultdict(set)
        for x, k0, k1 in plan.meter_no_heat:
            for k in range(k0, k1):
                self.no_heat[k].add(x)
        self.station_quiet: dict[int, set[int]] = defaultdict(set)
        self.sensor_quiet: dict[int, set[int]] = defaultdict(set)
        for s, k0, k1 in plan.station_silences:
            for k in range(k0, k1):
                self.station_quiet[k].add(s)
        for x, k0, k1 in plan.sensor_silences:
            for k in range(k0, k1):
                self.sensor_quiet[k].add(x)

    def lines(self, k: int, ts: str, temps: F64) -> tuple[bytes, int]:
        """Interval ``k``'s heat lines (readings stamped ``ts``; ``temps`` per county)."""
        out: list[bytes] = []
        trips = self.trip.get(k, {})
        lost = self.lost.get(k, {})
        hour, weekday = local_hour_and_weekday(ts, self.dt)
        quiet, quiet_sensors = self.station_quiet.get(k, ()), self.sensor_quiet.get(k, ())
        for s, hs in enumerate(self.stations):
            # a silent station's values are still drawn: the other lines do not move
            line = self._station(
                s, hs.kind, float(temps[hs.county]), ts, s in trips, k, s in lost, hour
            )
            if s not in quiet:
                out.append(line)
            if hs.kind == "boiler_house":
                phase = self._boiler_phase(hs, hour, weekday)
                out.append(self._stack(s, ts, s in self.emit.get(k, ()), phase))
        noise = self.rng.normal(0.0, 0.2, len(self.sampled))
        for i, x in enumerate(self.sampled):
            temp = float(self.baseline[i] + noise[i])
            s = self.station_of_sampled[x]
            if s in trips:
                temp -= TRIP_DECAY_C_PER_H * (k - trips[s] + 1) * self.dt / 3600
            elif s in lost:
                temp -= TRIP_DECAY_C_PER_H * (k - lost[s] + 1) * self.dt / 3600
            if x in self.cold.get(k, ()):
                temp = float(self.rng.uniform(15.0, 16.5))
            if x in quiet_sensors:
                continue
            hid = self.ids[int(self.fleet.heat[x])]
            out.append(
                orjson.dumps(
                    {"kind": "indoor_temp", "household_id": hid, "ts": ts, "temp_c": round(temp, 1)}
                )
            )
        out.extend(self._meter(x, s, ts, k, temps, self.meter_rng) for x, s in self.metered)
        out.extend(self._meter(x, s, ts, k, temps, self.billed_rng) for x, s in self.billed)
        return b"".join(line + b"\n" for line in out), len(out)

    def _meter(
        self, x: int, s: int, ts: str, k: int, temps: F64, rng: np.random.Generator
    ) -> bytes:
        """A household heat meter: a little below the station's supply, 8-14 K cooler on the
        return; without heat (a closed valve) the return is within a kelvin of the supply.

        The heat it measures is the home's load (issue 24): its design load (``HOME_DESIGN_KW``
        × its need) at the day's outdoor temperature, times the share the family takes (a
        valve turned down lowers the flow, not the temperature drop), ±⅓ per interval; the
        flow is what carries it. Never 0 while heat flows (a no-heat judgement's input)."""
        no_heat = x in self.no_heat.get(k, ())
        lo, hi = (0.1, 0.8) if no_heat else (8.0, 14.0)
        loss, drop, noise = rng.uniform((1.0, lo, 0.04), (3.0, hi, 0.08))
        supply = self.supply[s] - float(loss)
        ret = supply - float(drop)
        if no_heat:  # a closed valve: what trickles through
            flow = float(noise)
            energy = flow * (supply - ret) * 1.163 * self.dt / 3600
        else:
            hs = self.stations[s]
            kw = HOME_DESIGN_KW * float(self.need[x]) * load_share(float(temps[hs.county]))
            if s in self.trip.get(k, {}) or s in self.lost.get(k, {}):
                kw *= 0.05  # the network's water cools: little heat left to give off
            kw *= float(self.use[x]) * float(noise) / 0.06
            flow = kw / (1.163 * float(drop))
            energy = max(0.001, kw * self.dt / 3600)
        return orjson.dumps(
            {
                "kind": "heat_meter",
                "household_id": self.ids[int(self.fleet.heat[x])],
                "ts": ts,
                "interval_s": self.dt,
                "supply_c": round(supply, 1),
                "return_c": round(ret, 1),
                "flow_m3h": round(flow, 3),
                "energy_kwh": round(max(0.0, energy), 3),
            }
        )

    def _station(
        self,
        s: int,
        kind: str,
        outdoor: float,
        ts: str,
        tripped: bool,
        k: int,
        lost: bool = False,
        hour: int = 12,
    ) -> bytes:
        """A station on its design: flow proportional to its homes (× how oversized its pumps
        are), a supply–return difference growing with the load; a pump trip (flow collapses),
        a lost heat source (supply falls to the return, pumps run, the water cools slowly),
        a low supply (below the curve)."""
        hs = self.stations[s]
        b = hs.design
        assert b is not None
        jitter = float(np.clip(self.rng.normal(0.0, 0.7), -2.0, 2.0))
        u = self.station_rng.uniform(size=2)
        flow = b.flow_m3h * (0.7 if b.night_setback and (hour >= 23 or hour < 5) else 1.0)
        flow *= 1.0 + 0.04 * (float(u[0]) - 0.5)
        own_design = None if (b.supply_c, b.return_c) == (75.0, 50.0) else b.supply_c
        if kind == "biomass" and own_design == 70.0:
            own_design = None  # the biomass curve is already a 70 °C design's
        curve = curve_c(kind, outdoor, own_design)
        if tripped:
            supply, ret = 28.0 + jitter, 26.0 + jitter
            flow *= 0.02 * float(u[1])
        elif lost:
            ret = max(20.0, self.ret[s] - SOURCE_LOSS_COOLING_K)
            supply = ret + 0.6 * float(u[1])
        else:
            scale = (b.supply_c - 20.0) / 55.0
            low = s in self.low.get(k, ())
            deficit = max(6.0, LOW_DEFICIT_C * scale) if low else -HEALTHY_MARGIN_C
            supply = curve - deficit + jitter
            delta = (b.supply_c - b.return_c) * load_share(outdoor) / b.oversize
            ret = supply - max(2.5, delta + 0.3 * (float(u[1]) - 0.5))
        self.ret[s] = ret
        heat_kw = max(0.0, flow * (supply - ret) * 1.163)
        self.supply[s] = supply
        return orjson.dumps(
            {
                "kind": "heat_station",
                "heat_station_id": hs.station_id,
                "ts": ts,
                "primary_supply_c": round(supply + 35.0, 1),
                "primary_return_c": round(ret + 10.0, 1),
                "secondary_supply_c": round(supply, 1),
                "secondary_return_c": round(ret, 1),
                "supply_pressure_kpa": 350.0 if not tripped else 120.0,
                "flow_m3h": round(flow, 3),
                "heat_kw": round(heat_kw, 1),
            }
        )

    def _boiler_phase(self, hs: Any, hour: int, weekday: int) -> str:
        """A cycling boiler house banks its boiler 01:00-05:00 and on weekend afternoons
        (13:00-16:00; its heat store keeps the supply): "stopped", then one "startup" hour
        with the abatement still cold; else "running"."""
        b = hs.design
        if b is None or not b.cycles:
            return "running"
        weekend = weekday >= 6
        if 1 <= hour < 5 or (weekend and 13 <= hour < 16):
            return "stopped"
        if hour == 5 or (weekend and hour == 16):
            return "startup"
        return "running"

    def _stack(self, s: int, ts: str, exceeding: bool, phase: str = "running") -> bytes:
        """CEMS at the stack by fuel: coal at ~9 % O₂, gas at ~3.5-4.5 %; a banked boiler's
        stack breathes air (O₂ ~20.6 %, a draught flow, a cold flue); its start-up hour
        burns dirty (NOx far above the limit, not judged)."""
        hs = self.stations[s]
        gas = hs.design is not None and hs.design.fuel == "gas"
        lo, hi = (
            ((1.0, 1.0, 18.0, 3.0), (3.0, 5.0, 32.0, 4.5))
            if gas
            else (
                (2.0, 12.0, 25.0, 8.6),
                (5.0, 25.0, 40.0, 9.4),
            )
        )
        pm, so2, nox, o2 = self.rng.uniform(lo, hi)
        flow, temp = 8000.0, 130.0 if not gas else 85.0
        if exceeding:
            nox = float(self.rng.uniform(75.0, 85.0))
        u = self.station_rng.uniform(size=2)
        if phase == "stopped":
            pm, so2, nox = 0.2 * float(u[0]), 0.5 * float(u[1]), 3.0 * float(u[0])
            o2, flow, temp = 20.4 + 0.4 * float(u[1]), 400.0 + 200.0 * float(u[0]), 35.0
        elif phase == "startup":
            nox, o2 = 70.0 + 20.0 * float(u[0]), 12.0 + 2.0 * float(u[1])
        return orjson.dumps(
            {
                "kind": "stack_emission",
                "heat_station_id": hs.station_id,
                "ts": ts,
                "interval_s": self.dt,
                "particulates_mg_m3": round(float(pm), 2),
                "so2_mg_m3": round(float(so2), 2),
                "nox_mg_m3": round(float(nox), 2),
                "o2_pct": round(float(o2), 2),
                "flue_flow_m3h": round(flow, 1),
                "flue_temp_c": temp,
            }
        )
