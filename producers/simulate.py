"""The fleet simulator: seeded, numpy-vectorised loads, fault injection and ground truth.

``generate(config)`` yields ready JSONL bytes in stream order (one chunk per interval) and does
no I/O; ``simulate(config, out_dir)`` writes ``registry.csv``, ``readings.jsonl``,
``ground_truth.jsonl`` and ``fleet.json``. Interval ``k`` covers
``[start + k*dt, start + (k+1)*dt)``; its readings carry ``ts = start + (k+1)*dt``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from producers.fastjson import LineTemplate, Num, Text, text_column
from producers.faults import (
    DUPLICATE_FRACTION,
    LATE_FRACTION,
    MALFORMED_CATEGORIES,
    MALFORMED_PER_CATEGORY,
    FaultPlan,
    ground_truth,
    plan_faults,
)
from producers.fleet import COUNTY_NAMES, DEV, FEEDER_LOAD_FACTOR, Fleet, build_fleet
from producers.weather import Weather

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
CST = timezone(timedelta(hours=8))


class SimulationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    households: int = Field(default=3000, ge=1, le=2_000_000)
    days: int = Field(default=3, ge=1, le=366)
    start: AwareDatetime = datetime(2021, 12, 1, tzinfo=CST)
    interval_s: int = Field(default=900, ge=60, le=86_400)
    seed: int = 7
    valley_start: str = "22:00"
    valley_end: str = "08:00"
    faults: bool = True
    batches: bool = False
    lateness_s: int = Field(default=1800, ge=0)

    @field_validator("start")
    @classmethod
    def _whole_seconds(cls, v: datetime) -> datetime:
        return v.astimezone(CST).replace(microsecond=0)

    @field_validator("interval_s")
    @classmethod
    def _divides_day(cls, v: int) -> int:
        if 86_400 % v:
            raise ValueError("interval_s must divide 86400")
        return v

    @field_validator("valley_start", "valley_end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        hh, mm = v.split(":")
        if not (0 <= int(hh) < 24 and 0 <= int(mm) < 60):
            raise ValueError("expected HH:MM")
        return f"{int(hh):02d}:{int(mm):02d}"


def _tod_h(hhmm: str) -> float:
    hh, mm = hhmm.split(":")
    return int(hh) + int(mm) / 60.0


def in_window(tod_h: F64, start_h: float, end_h: float) -> BOOL:
    """Time-of-day in [start, end) with wrap-around past midnight."""
    if start_h <= end_h:
        return np.asarray((tod_h >= start_h) & (tod_h < end_h))
    return np.asarray((tod_h >= start_h) | (tod_h < end_h))


@dataclass
class SimulationResult:
    out_dir: Path
    files: dict[str, Path]
    lines: int
    readings: int
    bytes_written: int
    households: int
    feeders: int
    stations: int
    incidents: int
    seconds: float
    ground_truth_counts: dict[str, int] = field(default_factory=dict)


class Simulation:
    """One seeded run. Iterate ``chunks()`` once; ``ground_truth()`` is complete afterwards."""

    PEAK_WINDOW = ("08:00", "18:00")

    def __init__(self, config: SimulationConfig, fleet: Fleet | None = None) -> None:
        self.config = cfg = config
        self.fleet = fleet if fleet is not None else build_fleet(cfg.households, cfg.seed)
        self.dt = cfg.interval_s
        self.dt_h = self.dt / 3600.0
        self.n_intervals = cfg.days * 86_400 // self.dt
        self.start: datetime = cfg.start
        local_midnight = self.start.replace(hour=0, minute=0, second=0)
        self.first_day_iso = local_midnight.isoformat()
        self.s0_h = (self.start - local_midnight).total_seconds() / 3600.0
        self.weather = Weather(cfg.days + 1, cfg.seed)
        self.plan = (
            plan_faults(self.fleet, self.n_intervals, self.dt, cfg.seed, self.s0_h)
            if cfg.faults
            else FaultPlan()
        )
        self.lines = 0
        self.readings = 0
        self.malformed: list[tuple[int, str]] = []
        self.late_count = 0
        self.late_max_delay_s = 0
        self.duplicate_count = 0
        self._overload_trace: dict[int, list[float | None]] = {
            f: [] for f, _ in self.plan.overloads
        }
        self._done = False

    # ------------------------------------------------------------------ time helpers
    def ts(self, k: int) -> str:
        """Timestamp of interval k's readings (interval end)."""
        return (self.start + timedelta(seconds=(k + 1) * self.dt)).isoformat()

    def _start_hours(self, k0: int, k1: int) -> F64:
        """Interval-start hours since local midnight of day 0, for intervals k0..k1-1."""
        return np.asarray(self.s0_h + np.arange(k0, k1) * self.dt_h, dtype=np.float64)

    # ------------------------------------------------------------------ the stream
    def chunks(self) -> Iterator[bytes]:
        if self._done:
            raise RuntimeError("a Simulation can be iterated once")
        self._done = True
        cfg = self.config
        fl = self.fleet
        plan = self.plan
        dt_h = self.dt_h
        n_k = self.n_intervals
        rng = np.random.default_rng([cfg.seed, 3])
        srng = np.random.default_rng([cfg.seed, 4])

        v_start, v_end = _tod_h(cfg.valley_start), _tod_h(cfg.valley_end)
        p_start, p_end = _tod_h(self.PEAK_WINDOW[0]), _tod_h(self.PEAK_WINDOW[1])
        # a 24 h prewarm (no output) so the storage heaters' charge state is realistic at start
        pre = math.ceil(24 / dt_h)
        hours = self._start_hours(-pre, n_k)  # interval start
        tod = np.mod(hours, 24.0)
        valley = in_window(tod, v_start, v_end)
        peak = in_window(tod, p_start, p_end)
        valley_begin = valley & ~np.concatenate([[False], valley[:-1]])
        peak_begin = peak & ~np.concatenate([[False], peak[:-1]])
        temps = self.weather.temp(hours + dt_h)  # counties x intervals, at interval end

        def next24_mean(j: int) -> F64:
            return np.asarray(
                self.weather.temp(hours[j] + np.arange(24) + 0.5).mean(axis=1), dtype=np.float64
            )

        # ---- electric meters
        e_idx = fl.electric
        ne = e_idx.size
        ecounty = fl.county[e_idx]
        dev = fl.device[e_idx]
        rated = fl.rated_kw[e_idx]
        base = fl.base_kw[e_idx]
        feeder_of = fl.feeder_of
        nf = len(fl.feeders)
        kva = np.array([f.rated_kva for f in fl.feeders])
        vnom = np.array([f.nominal_v for f in fl.feeders])
        st = np.flatnonzero(dev == DEV["storage_heater"])
        hp = np.flatnonzero(dev == DEV["heat_pump"])
        de = np.flatnonzero(dev == DEV["direct_electric"])
        di = np.flatnonzero(dev == DEV["district"])
        so = np.flatnonzero(dev == DEV["solar_thermal"])
        st_rated = rated[st]
        st_pick = fl.pickup_h[e_idx][st]
        st_duty = fl.duty[e_idx][st]
        st_need = fl.need_factor[e_idx][st]
        st_county = ecounty[st]
        pc = np.isin(st, np.array(plan.peak_chargers, dtype=np.int64))
        remaining = np.zeros(st.size)
        elapsed = np.zeros(st.size)

        def storage_step(j: int) -> F64:
            for mask, begin, win in (
                (~pc, valley_begin[j], valley[j]),
                (pc, peak_begin[j], peak[j]),
            ):
                if begin:
                    tm = next24_mean(j)[st_county[mask]]
                    need_h = np.clip(3.2 + 0.22 * (2.0 - tm), 4.0, 7.0) * st_need[mask]
                    remaining[mask] = st_rated[mask] * np.maximum(need_h, 4.0)
                    elapsed[mask] = 0.0
                elif not win:
                    remaining[mask] = 0.0
            frac = np.clip((st_pick - elapsed) / dt_h, 0.0, 1.0)
            p = st_rated * (frac + (1.0 - frac) * st_duty)
            p = np.minimum(p, remaining / dt_h)
            remaining[:] -= p * dt_h
            elapsed[:] += dt_h
            return np.asarray(p)

        for j in range(pre):  # prewarm (no output)
            storage_step(j)

        # ---- gas meters
        g_idx = fl.gas
        ng = g_idx.size
        gcounty = fl.county[g_idx]
        gcoef = fl.gas_coef[g_idx]
        station_of = fl.station_of
        ns = len(fl.stations)

        # ---- templates
        term = b"," if cfg.batches else b"\n"
        kwh_w = len(str(int(15 * dt_h))) + 4
        m3_w = len(str(int(2.5 * dt_h))) + 4
        e_tpl = LineTemplate(
            [
                '{"kind":"electric","household_id":"',
                Text("id", 8),
                '","ts":"',
                Text("ts", 25),
                f'","interval_s":{self.dt},"kwh":',
                Num("kwh", kwh_w, 3),
                ',"kw":',
                Num("kw", 6, 3),
                ',"voltage_v":',
                Num("v", 5, 1),
                ',"event":null}',
            ],
            term,
        )
        g_tpl = LineTemplate(
            [
                '{"kind":"gas","household_id":"',
                Text("id", 8),
                '","ts":"',
                Text("ts", 25),
                f'","interval_s":{self.dt},"m3":',
                Num("m3", m3_w, 3),
                ',"flow_m3h":',
                Num("flow", 5, 3),
                ',"pressure_kpa":',
                Num("p", 5, 3),
                "}",
            ],
            term,
        )
        f_tpl = LineTemplate(
            [
                '{"kind":"feeder","feeder_id":"',
                Text("id", 9),
                '","ts":"',
                Text("ts", 25),
                '","kw":',
                Num("kw", 7, 1),
                ',"rated_kva":',
                Num("kva", 6, 1),
                "}",
            ],
            term,
        )
        s_tpl = LineTemplate(
            [
                '{"kind":"gas_station","station_id":"',
                Text("id", 10),
                '","ts":"',
                Text("ts", 25),
                '","outlet_pressure_kpa":',
                Num("p", 5, 3),
                ',"flow_m3h":',
                Num("flow", 7, 2),
                "}",
            ],
            term,
        )
        hid = fl.household_ids
        m_e = e_tpl.matrix(ne)
        e_tpl.set_text(m_e, "id", text_column([hid[h] for h in e_idx.tolist()], 8))
        m_g = g_tpl.matrix(ng)
        g_tpl.set_text(m_g, "id", text_column([hid[h] for h in g_idx.tolist()], 8))
        m_f = f_tpl.matrix(nf)
        f_tpl.set_text(m_f, "id", text_column([f.feeder_id for f in fl.feeders], 9))
        f_tpl.set_num(m_f, "kva", kva)
        m_s = s_tpl.matrix(ns)
        s_tpl.set_text(m_s, "id", text_column([s.station_id for s in fl.stations], 10))

        # ---- stream-fault eligibility
        faulty_e = np.zeros(ne, dtype=bool)
        if plan.faulty_meters:
            faulty_e[list(plan.faulty_meters)] = True
        for f in plan.faulty_feeders:
            faulty_e[fl.feeders[f].first : fl.feeders[f].last] = True
        faulty_g = np.zeros(ng, dtype=bool)
        if plan.faulty_gas:
            faulty_g[list(plan.faulty_gas)] = True
        for s in plan.faulty_stations:
            faulty_g[fl.stations[s].first : fl.stations[s].last] = True
        stream_faults = cfg.faults
        max_delay = cfg.lateness_s // self.dt if stream_faults else 0
        pending: dict[int, list[tuple[bytes, int, int]]] = defaultdict(list)  # k -> (bytes, n, r)
        malformed_at: dict[int, list[str]] = defaultdict(list)
        if stream_faults and n_k >= 2:
            for cat in MALFORMED_CATEGORIES:
                for _ in range(MALFORMED_PER_CATEGORY):
                    malformed_at[int(srng.integers(1, n_k))].append(cat)
        healthy_e = np.flatnonzero(~faulty_e)
        batch_faulty_f = np.zeros(nf, dtype=bool)
        for j in np.flatnonzero(faulty_e).tolist():
            batch_faulty_f[feeder_of[j]] = True
        batch_faulty_s = np.zeros(ns, dtype=bool)
        for j in np.flatnonzero(faulty_g).tolist():
            batch_faulty_s[station_of[j]] = True

        evening_cache: dict[int, float] = {}

        for k in range(n_k):
            j = k + pre
            ts_b = self.ts(k).encode()
            tcol = temps[:, j]
            end_tod = (tod[j] + dt_h) % 24.0
            # ---------------- electric loads
            noise = np.clip(1.0 + 0.05 * rng.standard_normal(ne), 0.85, 1.15)
            t_e = tcol[ecounty]
            kw = np.empty(ne)
            kw[hp] = (
                base[hp] + rated[hp] * np.clip(0.15 + 0.028 * (12.0 - t_e[hp]), 0.1, 0.95)
            ) * noise[hp]
            kw[de] = (
                base[de] + rated[de] * np.clip(0.10 + 0.030 * (12.0 - t_e[de]), 0.05, 0.95)
            ) * noise[de]
            if k not in evening_cache:
                h = end_tod
                evening_cache[k] = 1.0 if 18.0 <= h < 22.0 else (0.5 if 7.0 <= h < 9.0 else 0.0)
            kw[di] = base[di] * (0.85 + 0.3 * evening_cache[k]) * noise[di]
            night = 1.0 if (end_tod >= 17.0 or end_tod < 9.0) else 0.15
            kw[so] = (
                base[so] + rated[so] * 0.95 * night * np.clip((2.0 - t_e[so]) / 16.0, 0.0, 1.0)
            ) * noise[so]
            kw[st] = base[st] * noise[st] + storage_step(j)
            unpowered = plan.unpowered.get(k)
            kw_eff = kw
            if unpowered:
                kw_eff = kw.copy()
                kw_eff[unpowered] = 0.0
            fkw = np.round(
                FEEDER_LOAD_FACTOR * np.bincount(feeder_of, weights=kw_eff, minlength=nf), 1
            )
            ratio = fkw / kva
            volts = np.clip(
                vnom[feeder_of] - 10.0 * ratio[feeder_of] + 1.2 * rng.standard_normal(ne),
                215.0,
                235.0,
            )
            kwh = kw * dt_h
            e_tpl.set_text(m_e, "ts", ts_b)
            e_tpl.set_num(m_e, "kwh", kwh)
            e_tpl.set_num(m_e, "kw", kw)
            e_tpl.set_num(m_e, "v", volts)
            f_tpl.set_text(m_f, "ts", ts_b)
            f_tpl.set_num(m_f, "kw", fkw)
            fsilent = plan.feeder_silent.get(k, [])
            for f in self._overload_trace:
                self._overload_trace[f].append(None if f in fsilent else float(fkw[f]))

            # special event rows (last gasp / restoration)
            special: dict[int, bytes] = {}
            for m, ev in plan.events.get(k, []):
                frac = float(srng.uniform(0.2, 0.8))
                if ev == "power_down":
                    kwh_m, kw_m, v_m = kwh[m] * frac, 0.0, 0.0
                else:
                    kwh_m, kw_m, v_m = kwh[m] * frac, float(kw[m]), float(volts[m])
                special[m] = orjson.dumps(
                    {
                        "kind": "electric",
                        "household_id": hid[int(e_idx[m])],
                        "ts": self.ts(k),
                        "interval_s": self.dt,
                        "kwh": round(float(kwh_m), 3),
                        "kw": round(kw_m, 3),
                        "voltage_v": round(v_m, 1),
                        "event": ev,
                    }
                )
            silent = plan.silent.get(k, [])

            # ---------------- gas
            gnoise = np.clip(1.0 + 0.05 * rng.standard_normal(ng), 0.85, 1.15)
            flow = np.clip(gcoef * (18.0 - tcol[gcounty]) * gnoise, 0.3, 2.5)
            press = np.clip(2.0 + 0.03 * rng.standard_normal(ng), 1.88, 2.12)
            outlet = np.clip(2.4 + 0.03 * rng.standard_normal(ns), 2.28, 2.52)
            for s in plan.station_low.get(k, []):
                a, b = fl.stations[s].first, fl.stations[s].last
                press[a:b] = rng.uniform(0.9, 1.1, b - a)
                flow[a:b] *= 0.7
                outlet[s] = float(np.clip(1.2 + 0.03 * rng.standard_normal(), 1.1, 1.3))
            for g in plan.meter_low.get(k, []):
                press[g] = float(np.clip(1.0 + 0.03 * rng.standard_normal(), 0.9, 1.1))
            sflow = np.asarray(
                np.bincount(station_of, weights=flow, minlength=ns), dtype=np.float64
            )
            g_tpl.set_text(m_g, "ts", ts_b)
            g_tpl.set_num(m_g, "m3", flow * dt_h)
            g_tpl.set_num(m_g, "flow", flow)
            g_tpl.set_num(m_g, "p", press)
            s_tpl.set_text(m_s, "ts", ts_b)
            s_tpl.set_num(m_s, "p", outlet)
            s_tpl.set_num(m_s, "flow", sflow)

            # ---------------- weather (hourly)
            pieces: list[bytes] = []
            n_lines = 0
            n_read = 0
            if (
                abs((self.s0_h + (k + 1) * dt_h) % 1.0) < 1e-9
                or abs((self.s0_h + (k + 1) * dt_h) % 1.0 - 1.0) < 1e-9
            ):
                ts_s = self.ts(k)
                for c, name in enumerate(COUNTY_NAMES):
                    pieces.append(
                        orjson.dumps(
                            {
                                "kind": "weather",
                                "county": name,
                                "ts": ts_s,
                                "temp_c": round(float(tcol[c]), 1),
                            }
                        )
                        + b"\n"
                    )
                n_lines += len(COUNTY_NAMES)
                n_read += len(COUNTY_NAMES)

            can_delay = stream_faults and max_delay > 0 and k + 1 < n_k
            if not cfg.batches:
                # ---- line mode
                keep_e = np.ones(ne, dtype=bool)
                keep_e[silent] = False
                if special:
                    keep_e[list(special)] = False
                keep_g = np.ones(ng, dtype=bool)
                dup_e = dup_g = np.zeros(0, dtype=np.int64)
                if stream_faults:
                    keep_e, dup_e = self._late_and_dups(
                        k, n_k, m_e, keep_e, ~faulty_e, srng, pending, can_delay, max_delay
                    )
                    keep_g, dup_g = self._late_and_dups(
                        k, n_k, m_g, keep_g, ~faulty_g, srng, pending, can_delay, max_delay
                    )
                pieces.append(m_e.tobytes() if keep_e.all() else m_e[keep_e].tobytes())
                cnt = int(keep_e.sum())
                for ev_line in special.values():
                    pieces.append(ev_line + b"\n")
                cnt += len(special)
                pieces.append(m_g.tobytes() if keep_g.all() else m_g[keep_g].tobytes())
                cnt += int(keep_g.sum())
                if fsilent:
                    keep_f = np.ones(nf, dtype=bool)
                    keep_f[fsilent] = False
                    pieces.append(m_f[keep_f].tobytes())
                    cnt += int(keep_f.sum())
                else:
                    pieces.append(m_f.tobytes())
                    cnt += nf
                pieces.append(m_s.tobytes())
                cnt += ns
                n_lines += cnt
                n_read += cnt
                for blob, nl, nr in pending.pop(k, []):
                    pieces.append(blob)
                    n_lines += nl
                    n_read += nr
                if dup_e.size:
                    pieces.append(m_e[dup_e].tobytes())
                if dup_g.size:
                    pieces.append(m_g[dup_g].tobytes())
                n_lines += dup_e.size + dup_g.size
                n_read += dup_e.size + dup_g.size
                self.duplicate_count += int(dup_e.size + dup_g.size)
            else:
                # ---- batch mode: one batch per feeder / station
                silent_set = set(silent)
                eblob = m_e.tobytes()
                gblob = m_g.tobytes()
                fblob = m_f.tobytes()
                sblob = m_s.tobytes()
                len_e, len_g, len_f, len_s = e_tpl.length, g_tpl.length, f_tpl.length, s_tpl.length
                touched = set(special) | silent_set
                touched_f = {int(feeder_of[m]) for m in touched}
                fsil = set(fsilent)
                batches: list[tuple[bytes, int, bool]] = []  # line, readings, eligible
                for fi, fd in enumerate(fl.feeders):
                    a, b = fd.first, fd.last
                    src = b"DC-" + fd.feeder_id.encode()
                    if fi in touched_f:
                        rows = []
                        for m in range(a, b):
                            if m in special:
                                rows.append(special[m])
                            elif m not in silent_set:
                                rows.append(eblob[m * len_e : (m + 1) * len_e - 1])
                        body = b",".join(rows)
                        nr = len(rows)
                    else:
                        body = eblob[a * len_e : b * len_e - 1]
                        nr = b - a
                    if fi not in fsil:
                        frow = fblob[fi * len_f : (fi + 1) * len_f - 1]
                        body = body + b"," + frow if nr else frow
                        nr += 1
                    if nr:
                        batches.append(
                            (
                                b'{"kind":"batch","source":"'
                                + src
                                + b'","readings":['
                                + body
                                + b"]}\n",
                                nr,
                                not batch_faulty_f[fi] and fi not in touched_f,
                            )
                        )
                for si, sd in enumerate(fl.stations):
                    a, b = sd.first, sd.last
                    body = (
                        gblob[a * len_g : b * len_g - 1]
                        + b","
                        + sblob[si * len_s : (si + 1) * len_s - 1]
                    )
                    src = b"DC-" + sd.station_id.encode()
                    batches.append(
                        (
                            b'{"kind":"batch","source":"'
                            + src
                            + b'","readings":['
                            + body
                            + b"]}\n",
                            b - a + 1,
                            not batch_faulty_s[si],
                        )
                    )
                dups: list[tuple[bytes, int]] = []
                if stream_faults:
                    u = srng.random(len(batches))
                    d = srng.integers(1, max(max_delay, 1) + 1, len(batches))
                for i, (line, nr, ok) in enumerate(batches):
                    if stream_faults and ok and can_delay and u[i] < LATE_FRACTION:
                        delay = int(min(d[i], n_k - 1 - k))
                        pending[k + delay].append((line, 1, nr))
                        self.late_count += 1
                        self.late_max_delay_s = max(self.late_max_delay_s, delay * self.dt)
                        continue
                    pieces.append(line)
                    n_lines += 1
                    n_read += nr
                    if stream_faults and ok and u[i] > 1.0 - DUPLICATE_FRACTION:
                        dups.append((line, nr))
                for blob, nl, nr in pending.pop(k, []):
                    pieces.append(blob)
                    n_lines += nl
                    n_read += nr
                for line, nr in dups:
                    pieces.append(line)
                    n_lines += 1
                    n_read += nr
                self.duplicate_count += len(dups)

            # ---------------- malformed lines (end of block)
            for cat in malformed_at.get(k, []):
                m = int(healthy_e[int(srng.integers(healthy_e.size))]) if healthy_e.size else 0
                pieces.append(
                    self._malformed(cat, hid[int(e_idx[m])] if ne else "H0000001", k) + b"\n"
                )
                n_lines += 1
                self.malformed.append((self.lines + n_lines, cat))
            self.lines += n_lines
            self.readings += n_read
            yield b"".join(pieces)

        self._finish()

    def _late_and_dups(
        self,
        k: int,
        n_k: int,
        mat: npt.NDArray[np.uint8],
        keep: BOOL,
        eligible: BOOL,
        srng: np.random.Generator,
        pending: dict[int, list[tuple[bytes, int, int]]],
        can_delay: bool,
        max_delay: int,
    ) -> tuple[BOOL, I64]:
        n = keep.size
        u = srng.random(n)
        ok = eligible & keep
        dups = np.flatnonzero(ok & (u > 1.0 - DUPLICATE_FRACTION)).astype(np.int64)
        if can_delay:
            late = np.flatnonzero(ok & (u < LATE_FRACTION))
            if late.size:
                delays = np.minimum(srng.integers(1, max_delay + 1, late.size), n_k - 1 - k)
                keep = keep.copy()
                keep[late] = False
                for dly in np.unique(delays).tolist():
                    rows = late[delays == dly]
                    pending[k + dly].append((mat[rows].tobytes(), rows.size, rows.size))
                    self.late_max_delay_s = max(self.late_max_delay_s, dly * self.dt)
                self.late_count += int(late.size)
        return keep, dups

    def _malformed(self, cat: str, household: str, k: int) -> bytes:
        ts = self.ts(k)
        base: dict[str, Any] = {
            "kind": "electric",
            "household_id": household,
            "ts": ts,
            "interval_s": self.dt,
            "kwh": 0.512,
            "kw": 2.048,
            "voltage_v": 228.4,
            "event": None,
        }
        if cat == "invalid_json":
            return orjson.dumps(base)[:-17]
        if cat == "unknown_kind":
            base["kind"] = "water"
        elif cat == "wrong_type":
            base["kwh"] = "0.512"
        elif cat == "negative_energy":
            base["kwh"] = -0.512
        elif cat == "bad_timestamp":
            base["ts"] = ts[:19].replace("T", " ")
        elif cat == "unknown_household":
            base["household_id"] = f"H9{k % 1_000_000:06d}"
        return orjson.dumps(base)

    def _finish(self) -> None:
        self._windows: dict[int, list[tuple[int, int | None]]] = {}
        for f, kva in self.plan.overloads:
            limit = 0.9 * kva
            wins: list[tuple[int, int | None]] = []
            open_k: int | None = None
            for k, v in enumerate(self._overload_trace[f]):
                if v is None:
                    continue
                over = v > limit
                if over and open_k is None:
                    open_k = k
                elif not over and open_k is not None:
                    wins.append((open_k, k))
                    open_k = None
            if open_k is not None:
                wins.append((open_k, None))
            self._windows[f] = wins

    def ground_truth(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_windows"):
            raise RuntimeError("iterate chunks() to the end first")
        out = ground_truth(
            self.fleet,
            self.plan,
            self.ts,
            self.start.isoformat(),
            self.first_day_iso,
            self._windows,
        )
        if self.config.faults:
            for line_no, cat in self.malformed:
                out.append({"fault": "malformed", "line_no": line_no, "category": cat})
            out.append({"fault": "duplicates", "count": self.duplicate_count})
            out.append(
                {
                    "fault": "late",
                    "count": self.late_count,
                    "max_delay_s": self.late_max_delay_s,
                    "unit": "batch" if self.config.batches else "reading",
                }
            )
        return out


def generate(config: SimulationConfig) -> Iterator[bytes]:
    """Pure, seeded stream of JSONL chunks (one per interval), no I/O."""
    return Simulation(config).chunks()


def simulate(
    config: SimulationConfig,
    out_dir: Path | str,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run the simulation and write registry.csv, readings.jsonl, ground_truth.jsonl, fleet.json."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(config)
    files = {
        "registry": out / "registry.csv",
        "readings": out / "readings.jsonl",
        "ground_truth": out / "ground_truth.jsonl",
        "fleet": out / "fleet.json",
    }
    written = 0
    with files["readings"].open("wb") as fh:
        for i, chunk in enumerate(sim.chunks()):
            fh.write(chunk)
            written += len(chunk)
            if progress is not None:
                progress(i + 1, sim.n_intervals)
    sim.fleet.write_registry(files["registry"])
    sim.fleet.write_topology(files["fleet"])
    gt = sim.ground_truth()
    with files["ground_truth"].open("wb") as fh:
        for rec in gt:
            fh.write(orjson.dumps(rec) + b"\n")
    counts: dict[str, int] = defaultdict(int)
    for rec in gt:
        counts[str(rec.get("kind", rec["fault"]))] += 1
    return SimulationResult(
        out_dir=out,
        files=files,
        lines=sim.lines,
        readings=sim.readings,
        bytes_written=written,
        households=sim.fleet.size,
        feeders=len(sim.fleet.feeders),
        stations=len(sim.fleet.stations),
        incidents=sum(1 for r in gt if "kind" in r),
        seconds=time.perf_counter() - t0,
        ground_truth_counts=dict(counts),
    )
