"""Shared helpers for the heatwatch black-box scenarios (written without reading product code)."""
import csv, json, math, os, random, datetime as dt

CST = dt.timezone(dt.timedelta(hours=8))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REG_COLS = ["household_id", "county", "village", "township", "retrofit_type", "heating_device",
            "feeder_id", "gas_station_id", "priority_group", "rated_kw", "heat_station_id",
            "heat_station_kind", "retrofit_completed", "old_heating_present", "gas_quota_m3"]


def T(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def iso(t):
    return t.astimezone(CST).isoformat()


def steps(t0, t1, minutes=15):
    """interval end times in (t0, t1]"""
    t = t0 + dt.timedelta(minutes=minutes)
    while t <= t1:
        yield t
        t += dt.timedelta(minutes=minutes)


def hh(row):
    r = {c: "" for c in REG_COLS}
    r.update({k: ("" if v is None else v) for k, v in row.items()})
    return r


def write_scenario(name, registry, readings, truth, raw_lines=None, extra_files=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    cols = REG_COLS + sorted({k for r in registry for k in r} - set(REG_COLS))  # e.g. area_m2 (new scenarios only)
    with open(os.path.join(d, "registry.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in registry:
            w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in cols})
    if raw_lines is None:
        raw_lines = [json.dumps(x, ensure_ascii=False) for x in readings]
    with open(os.path.join(d, "readings.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(raw_lines) + "\n")
    for fn, lines in (extra_files or {}).items():
        with open(os.path.join(d, fn), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    truth["name"] = name
    with open(os.path.join(d, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
    print(f"{name}: {len(registry)} households, {len(raw_lines)} lines")


# ---------------------------------------------------------------- weather
def outdoor(t, base=-6.0, amp=5.0, cold_spells=()):
    """Diurnal outdoor temperature: coldest ~06:00, warmest ~15:00."""
    h = t.astimezone(CST).hour + t.minute / 60
    v = base + amp * math.sin((h - 9) / 24 * 2 * math.pi)
    for (a, b, delta) in cold_spells:
        if a <= t < b:
            v += delta
    return round(v, 1)


def weather(county, t0, t1, **kw):
    return [{"kind": "weather", "county": county, "ts": iso(t), "temp_c": outdoor(t, **kw)}
            for t in steps(t0, t1, 60)]


# ---------------------------------------------------------------- heat networks
def curve(to, design=(75.0, 50.0), t_in=18.0, t_out_design=-13.0, b=0.3):
    """Classic quality-regulation heating curve (radiators), design supply/return at t_out_design."""
    q = max(0.05, min(1.2, (t_in - to) / (t_in - t_out_design)))
    g, r = design
    s = t_in + 0.5 * (g + r - 2 * t_in) * q ** (1 / (1 + b)) + 0.5 * (g - r) * q
    ret = t_in + 0.5 * (g + r - 2 * t_in) * q ** (1 / (1 + b)) - 0.5 * (g - r) * q
    return s, ret


class Station:
    """A heat exchange station / boiler house with a design flow and pressure."""

    def __init__(self, sid, flow, pressure, kind="boiler_house", design=(75.0, 50.0), seed=0,
                 primary=True):
        self.sid, self.flow, self.p, self.kind, self.design = sid, flow, pressure, kind, design
        self.rng = random.Random(seed)
        self.primary = primary
        self.faults = []  # (kind, start, end)

    def fault(self, kind, a, b):
        self.faults.append((kind, a, b))
        return self

    def state(self, t):
        for k, a, b in self.faults:
            if a < t <= b:
                return k, (t - a).total_seconds() / 3600.0
            if b < t <= b + dt.timedelta(hours=1):
                return "recover", (t - b).total_seconds() / 3600.0
        return "ok", 0.0

    def reading(self, t, to):
        n = self.rng.gauss
        s, r = curve(to, self.design)
        flow = self.flow * (1 + n(0, 0.01))
        p = self.p * (1 + n(0, 0.01))
        st, h = self.state(t)
        mean = (s + r) / 2
        if st == "pump_stop":
            # no circulation: station sensors drift down slowly, flow ~0, pressure falls to static
            flow = self.flow * 0.01
            p = self.p * 0.55
            s = 20 + (s - 20) * math.exp(-h / 3)
            r = 20 + (r - 20) * math.exp(-h / 3)
            kw = 0.0
        elif st == "source_loss":
            # pumps run; supply falls towards return fast, the whole loop cools over hours
            m = 12 + (mean - 12) * math.exp(-h / 4)
            gap = (s - r) * math.exp(-h / 0.3)
            s, r = m + gap / 2, m - gap / 2
            kw = None
        elif st == "recover":
            f = min(1.0, h)
            s = 30 + (s - 30) * f
            r = 25 + (r - 25) * f
            kw = None
        else:
            kw = None
        s += n(0, 0.2)
        r += n(0, 0.2)
        if kw is None:
            kw = max(0.0, flow * 1.163 * (s - r))
        rec = {"kind": "heat_station", "heat_station_id": self.sid, "ts": iso(t),
               "secondary_supply_c": round(s, 1), "secondary_return_c": round(r, 1),
               "supply_pressure_kpa": round(p, 1), "flow_m3h": round(flow, 3),
               "heat_kw": round(kw, 2)}
        if self.primary and self.kind == "chp_waste_heat":
            ok = st in ("ok",)
            rec["primary_supply_c"] = round(70 + 40 * max(0, (18 - to) / 31), 1) if ok or st == "pump_stop" else round(s + 2, 1)
            rec["primary_return_c"] = round(40 + 8 * max(0, (18 - to) / 31), 1) if ok or st == "pump_stop" else round(r + 1, 1)
        return rec

    def series(self, t0, t1, county_temp, minutes=15):
        return [self.reading(t, county_temp(t)) for t in steps(t0, t1, minutes)]


def indoor_series(hid, t0, t1, station, seed=0, minutes=15, drop=0.05, base=21.0, cold=(),
                  dips=(), gaps=()):
    """Indoor temperature sensor. cold: [(a,b,temp)] home cold although the station is fine.
    dips: [t] single airing readings (~14.5 C). gaps: [(a,b)] sensor silent. drop: random misses."""
    rng = random.Random(seed)
    out = []
    temp = base
    for t in steps(t0, t1, minutes):
        st, h = station.state(t) if station else ("ok", 0)
        target = base + 0.8 * math.sin((t.hour - 10) / 24 * 2 * math.pi)
        if st in ("pump_stop", "source_loss"):
            target = 10.0
        for a, b, ct in cold:
            if a < t <= b:
                target = ct
        # first-order building response, ~2 h time constant
        k = 1 - math.exp(-(minutes / 60) / 2.0)
        if any(a < t <= b for a, b, ct in cold):
            k = 1 - math.exp(-(minutes / 60) / 0.5)
        temp = temp + (target - temp) * k
        v = temp + rng.gauss(0, 0.15)
        if t in dips:
            v = 14.5
        if any(a < t <= b for a, b in gaps):
            continue
        if rng.random() < drop and t not in dips:
            continue
        out.append({"kind": "indoor_temp", "household_id": hid, "ts": iso(t), "temp_c": round(v, 1)})
    return out


def heat_meter_series(hid, t0, t1, station, county_temp, kw_home=4.0, seed=0, minutes=60):
    rng = random.Random(seed)
    out = []
    for t in steps(t0, t1, minutes):
        rec = station.reading(t, county_temp(t))
        s, r = rec["secondary_supply_c"] - 1.0, rec["secondary_return_c"] - 2.0
        st, _ = station.state(t)
        dT = max(0.1, s - r)
        flow = 0.0 if st == "pump_stop" else kw_home / (1.163 * max(dT, 5.0))
        e = flow * 1.163 * dT * minutes / 60
        out.append({"kind": "heat_meter", "household_id": hid, "ts": iso(t), "interval_s": minutes * 60,
                    "supply_c": round(s + rng.gauss(0, .1), 1), "return_c": round(r + rng.gauss(0, .1), 1),
                    "flow_m3h": round(flow, 3), "energy_kwh": round(e, 3)})
    return out


# ---------------------------------------------------------------- electricity
def electric_series(hid, t0, t1, seed=0, outages=(), silent=(), skew=dt.timedelta(0), rated=6.0):
    """Storage heater: charges in the valley window 22:00-08:00. outages: [(a,b)] power lost
    (last gasp at a, silent, power_up at b). silent: [(a,b)] comm loss (no readings)."""
    rng = random.Random(seed)
    out = []
    for t in steps(t0, t1, 15):
        h = t.hour
        valley = h >= 22 or h < 8 or (h == 8 and t.minute == 0)
        kw = rated * (0.9 + 0.1 * rng.random()) if valley else 0.3 + 0.2 * rng.random()
        rec = {"kind": "electric", "household_id": hid, "ts": None, "interval_s": 900,
               "kwh": round(kw / 4, 3), "kw": round(kw, 2), "voltage_v": round(220 + rng.gauss(0, 2), 1),
               "event": None}
        down = False
        for a, b in outages:
            if t == a:
                rec.update(event="power_down", kw=0.0, voltage_v=0.0)
            elif a < t < b:
                down = True
            elif t == b:
                rec.update(event="power_up")
        if down or any(a < t <= b for a, b in silent):
            continue
        rec["ts"] = iso(t + skew)
        out.append(rec)
    return out


def feeder_series(fid, t0, t1, n_households, rated_kva, outages=()):
    out = []
    for t in steps(t0, t1, 15):
        h = t.hour
        valley = h >= 22 or h < 8
        kw = n_households * (5.5 if valley else 0.4)
        if any(a <= t < b for a, b in outages):
            kw = 0.0
        out.append({"kind": "feeder", "feeder_id": fid, "ts": iso(t), "kw": round(kw, 1),
                    "rated_kva": rated_kva})
    return out


# ---------------------------------------------------------------- gas
def gas_series(hid, t0, t1, low=(), seed=0, minutes=60):
    rng = random.Random(seed)
    out = []
    for t in steps(t0, t1, minutes):
        p = 2.0 + rng.gauss(0, 0.03)
        flow = 0.6 + 0.2 * rng.random()
        for a, b in low:
            if a < t <= b:
                p, flow = 0.6 + rng.gauss(0, 0.02), 0.05
        out.append({"kind": "gas", "household_id": hid, "ts": iso(t), "interval_s": minutes * 60,
                    "m3": round(flow * minutes / 60, 3), "flow_m3h": round(flow, 3),
                    "pressure_kpa": round(p, 2)})
    return out


def gas_station_series(sid, t0, t1, low=(), n=3):
    out = []
    for t in steps(t0, t1, 15):
        p, f = 2.6, 0.7 * n
        for a, b in low:
            if a < t <= b:
                p, f = 0.7, 0.1
        out.append({"kind": "gas_station", "station_id": sid, "ts": iso(t),
                    "outlet_pressure_kpa": p, "flow_m3h": f})
    return out


# ---------------------------------------------------------------- CEMS
def cems_series(sid, t0, t1, phases, seed=0, minutes=15):
    """phases: list of (start, end, mode) with mode in stopped|startup|running|banked|shutdown|exceed
    'running' values: dict override allowed via mode tuple ('running', dict)."""
    rng = random.Random(seed)
    out = []
    for t in steps(t0, t1, minutes):
        mode, prm, frac = "stopped", {}, 0.0
        for a, b, m in phases:
            if a < t <= b:
                mode, prm = (m if isinstance(m, tuple) else (m, {}))
                frac = (t - a) / (b - a)
        o2r = prm.get("o2", 9.0)
        if mode == "stopped":
            o2, pm, so2, nox, ff = 20.7 + rng.random() * 0.2, 0.8, 1.5, 3.0, 300
        elif mode == "startup":
            o2 = 20.5 - (20.5 - o2r) * frac
            pm, so2, nox, ff = 14, 25, 40, 3000 + 6000 * frac
        elif mode == "shutdown":
            o2 = o2r + (20.5 - o2r) * frac
            pm, so2, nox, ff = 3, 8, 20, 8000 * (1 - frac) + 500
        elif mode == "banked":
            o2, pm, so2, nox, ff = 18.6 + rng.random() * 0.4, 2.0, 9.0, 25.0, 1200
        else:  # running / exceed
            o2 = o2r + rng.gauss(0, 0.3)
            pm, so2, nox = prm.get("pm", 5.0), prm.get("so2", 18.0), prm.get("nox", 38.0)
            ff = prm.get("ff", 9000)
            pm *= 1 + rng.gauss(0, 0.05); so2 *= 1 + rng.gauss(0, 0.05); nox *= 1 + rng.gauss(0, 0.05)
        out.append({"kind": "stack_emission", "heat_station_id": sid, "ts": iso(t), "interval_s": minutes * 60,
                    "particulates_mg_m3": round(pm, 2), "so2_mg_m3": round(so2, 2), "nox_mg_m3": round(nox, 2),
                    "o2_pct": round(min(o2, 20.9), 2), "flue_flow_m3h": round(ff, 0)})
    return out


def sort_time(recs):
    return sorted(recs, key=lambda r: (r["ts"], json.dumps(r, sort_keys=True)))
