"""Third round of black-box scenarios: what issue 24 (use and cost) and issue 23 (the batch form) now claim.
Written from contract.md, domain.md, the issue texts, the published schemas, deploy/policy/*.yaml, the user docs and
`--help` only — never the detectors, the simulator or the report code.

U2  heat-network homes with a household heat meter (kind heat_meter, telemetry.schema.json) under-using delivered heat
    against metered peers on the same network, normal ones, and network homes without a meter
U3  electric homes whose meter carries a large non-heating load (a village shop) or rooftop PV (net import, kWh >= 0),
    and solar-thermal homes whose meter shows only the electric back-up: only the heating part tells use
U4  empty homes (away for weeks, empty all winter, back only at the end) against under-users
U5  a season's cost worked by hand from deploy/policy/tariffs.yaml (valley edges, UTC-stamped meter, hourly meter,
    subsidy caps, three gas tiers, heat per m², readings outside the season)
B5  issue 23: the same readings as single-reading lines and as the contract's batch records (all nine kinds the schema
    allows in a batch) give the same incidents / rollups / verdicts; bad items inside a batch are dead-lettered one by
    one with a reason naming the item, and the batch's good items are kept

Each scenario's truth is computed here, by hand-checkable arithmetic, from the readings it writes.
"""
import json, math, random, datetime as dt
from common import *

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
M15 = dt.timedelta(minutes=15)
UTC = dt.timezone.utc

# ---- deploy/policy/tariffs.yaml (every figure 示例 there) --------------------------------------------------
VALLEY_PRICE, OTHER_PRICE = 0.20, 0.477           # CNY/kWh; valley 22:00-08:00 local (CST)
GAS_TIERS = [(1000, 2.26), (2000, 2.71), (None, 3.39)]  # cumulative over the season's volume
SUB_KWH, SUB_M3, SUB_CAP = 0.2, 1.0, 2400.0
HEAT_PER_M2 = 22.0
BURDEN = 2000.0
APPL_PER_DAY = 4.0                                  # tariffs.yaml electricity.appliance_kwh_per_day
SEASON = (T(2021, 11, 15), T(2022, 3, 16))          # stability.yaml season default 11-15 .. 03-15, both days inclusive


def sort_instant(recs):
    """time order by the instant, not the string: a meter stamping UTC ('Z') sorts among the others"""
    return sorted(recs, key=lambda r: (dt.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")), json.dumps(r, sort_keys=True)))


def F(id, kinds, etype, ids, window=None, why=""):
    return {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
            "entity_ids": ids, "window": [iso(window[0]), iso(window[1])] if window else None, "why": why}


def E(id, kinds, etype, eid, start, why="", **extra):
    d = {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
         "entity_id": eid, "start_between": [iso(start[0]), iso(start[1])], "why": why}
    d.update(extra)
    return d


def in_valley(ts_end, minutes=15):
    """ts is the END of the interval (contract); an interval is in the valley when it lies in [22:00, 08:00) local."""
    s = (ts_end - dt.timedelta(minutes=minutes)).astimezone(CST)
    return s.hour >= 22 or s.hour < 8


def gas_cost(v):
    cost, lo = 0.0, 0.0
    for up, price in GAS_TIERS:
        hi = v if up is None else min(v, up)
        if hi > lo:
            cost += (hi - lo) * price
        if up is None or v <= up:
            break
        lo = up
    return cost


class Season:
    """One county's season weather: every day's mean <= -1 C (HDD >= 19), -12 C mid-January."""

    def __init__(self, county, seed):
        self.c = county
        self.rng = random.Random(seed)
        self.t0, self.t1 = SEASON
        self.days = []
        d = self.t0
        while d < self.t1:
            self.days.append(d); d += D
        mid = T(2022, 1, 15)
        self.mean = {}
        for day in self.days:
            x = (day - mid).total_seconds() / 86400 / 61.0
            self.mean[day] = -12.0 + 10.0 * x * x + self.rng.uniform(-2.0, 2.0)
        self.hdd = {d: 18.0 - m for d, m in self.mean.items()}
        assert min(self.hdd.values()) > 14

    def temp(self, t):
        day = T(t.year, t.month, t.day)
        m = self.mean.get(day, -3.0)
        return round(m + 5.0 * math.sin((t.hour + t.minute / 60 - 9) / 24 * 2 * math.pi), 1)

    def weather(self, t0=None, t1=None):
        return [{"kind": "weather", "county": self.c, "ts": iso(t), "temp_c": self.temp(t)}
                for t in steps(t0 or self.t0, t1 or self.t1, 60)]


def pv_kwh(t, day_kwh, minutes=15):
    """rooftop PV output in the interval ending t: a bell between 08:30 and 16:30 local, `day_kwh` a day"""
    h = (t - dt.timedelta(minutes=minutes / 2)).astimezone(CST)
    x = h.hour + h.minute / 60
    if not 8.5 < x < 16.5:
        return 0.0
    return day_kwh * (math.pi / 16) * math.sin((x - 8.5) / 8 * math.pi) * minutes / 60


def meter(hid, days, heat_fn, base_fn, seed, minutes=15, pv_fn=None, tsfmt=None, extra=None):
    """An electricity meter. heat_fn(day) -> (kWh of heating that day, 'valley'|'pump'|'peak2h');
    base_fn(day, t) -> non-heating kWh in the interval ending t; pv_fn(day) -> PV kWh that day (net metering:
    the meter shows import only, kWh >= 0). Returns readings and per-day/season totals (what the meter reports)."""
    r = random.Random(seed)
    out = []
    tot = {"kwh": 0.0, "valley": 0.0, "heat": 0.0, "heat_offpeak": 0.0, "days": {}}
    n = 1440 // minutes
    nv = sum(1 for t in steps(days[0], days[0] + D, minutes) if in_valley(t, minutes))
    for day in days:
        heat, mode = heat_fn(day)
        dk = 0.0
        for t in steps(day, day + D, minutes):
            v = in_valley(t, minutes)
            if mode == "valley":
                h = heat / nv if v else 0.0
            elif mode == "pump":
                h = heat / n * (1 + 0.3 * math.cos((t.hour - 5) / 24 * 2 * math.pi))
            elif mode == "pump_pv":   # heat pump with a buffer tank run mostly on its own PV in daylight
                h = heat * (0.35 / n + 0.65 * (pv_kwh(t, 1.0, minutes)))
            elif mode == "peak2h":     # valley charging plus 2 h every afternoon (14:00-16:00) at rated power
                pk = extra["peak_kwh"] / (120 // minutes) if 14 <= (t - dt.timedelta(minutes=minutes)).hour < 16 else 0.0
                h = (heat - extra["peak_kwh"]) / nv if v else pk
            else:
                h = 0.0
            h = round(h * (1 + r.uniform(-0.02, 0.02)), 4)
            b = base_fn(day, t)
            load = h + b
            if pv_fn:
                load = max(0.0, load - pv_kwh(t, pv_fn(day), minutes))
            kwh = round(load, 3)
            tot["kwh"] += kwh
            tot["valley"] += kwh if v else 0.0
            tot["heat"] += h
            tot["heat_offpeak"] += 0.0 if v else h
            dk += kwh
            ts = iso(t) if tsfmt is None else tsfmt(t)
            out.append({"kind": "electric", "household_id": hid, "ts": ts, "interval_s": minutes * 60, "kwh": kwh,
                        "kw": round(kwh * 60 / minutes, 2), "voltage_v": round(221 + r.gauss(0, 1.5), 1), "event": None})
        tot["days"][day] = dk
    tot["kwh"], tot["valley"] = round(tot["kwh"], 3), round(tot["valley"], 3)
    return out, tot


def flat(kwh_day, minutes=15):
    return lambda day, t: kwh_day * minutes / 1440


def daytime(kwh_day, a=9, b=19, minutes=15):
    """a load between a:00 and b:00 local (shop hours), kwh_day a day"""
    per = kwh_day / ((b - a) * 60 // minutes)
    return lambda day, t: per if a <= (t - dt.timedelta(minutes=minutes)).astimezone(CST).hour < b else 0.0


def plus(*fs):
    return lambda day, t: sum(f(day, t) for f in fs)


def ereg(reg, c, hid, village, device="storage_heater", rated=8, area=100, prio="none", rt="coal_to_electric",
         feeder=None):
    reg.append(dict(household_id=hid, county=c, village=village, township="T-24", retrofit_type=rt,
                    heating_device=device, feeder_id=feeder or f"F-{village}", priority_group=prio, rated_kw=rated,
                    area_m2=area, retrofit_completed="2021-09-01", old_heating_present="true"))


def feeders(rd, t0, t1, groups):
    for fid, n in groups:
        for t in steps(t0, t1, 15):
            rd.append({"kind": "feeder", "feeder_id": fid, "ts": iso(t),
                       "kw": round(n * (5.0 if in_valley(t) else 0.6), 1), "rated_kva": 40 * n})


def gas_meter(hid, days, m3_fn, seed, minutes=60):
    r = random.Random(seed)
    out, v = [], 0.0
    for day in days:
        m3day = m3_fn(day)
        for t in steps(day, day + D, minutes):
            m3 = round(m3day / 24 * (1 + 0.25 * math.cos((t.hour - 6) / 24 * 2 * math.pi)), 3)
            v += m3
            out.append({"kind": "gas", "household_id": hid, "ts": iso(t), "interval_s": minutes * 60, "m3": m3,
                        "flow_m3h": m3, "pressure_kpa": round(2.0 + r.gauss(0, 0.02), 2)})
    return out, round(v, 3)


def gas_station(rd, sid, t0, t1):
    for t in steps(t0, t1, 15):
        rd.append({"kind": "gas_station", "station_id": sid, "ts": iso(t), "outlet_pressure_kpa": 2.6, "flow_m3h": 8.0})


USE = {"flag": "flagged", "ok": "not flagged"}


def truth_base(desc, verdicts, why, labels, flagged, not_flagged, **kw):
    t = {"description": desc, "expect": [], "forbid": [], "allow": [{"kinds": ["*"]}],
         "dead_letters": {"max_total": 0}, "verdicts": verdicts, "verdict_why": why, "season_only": True,
         "use": {"flagged": flagged, "not_flagged": not_flagged},
         "use_labels": labels}
    t.update(kw)
    return t


def L(want, why, ambiguous=False, cite=""):
    return {"want": want, "why": why, "ambiguous": ambiguous, "cite": cite}


ISSUE24_1 = "issue 24 item 1: heating energy (kWh, m3, or delivered heat where a heat meter exists) per degree-day vs peers"
DOMAIN_USE = "domain.md 'Whether the new heating is used': a home that barely uses its new heating on cold days is not evidence"


# ======================================================================= U2 heat meters on a network
def u2():
    """One 14-home boiler-house network in 神池县, full season. 10 homes have a household heat meter (hourly), 4 not."""
    s = Season("神池县", 2402)
    c = s.c
    reg, rd = [], s.weather()
    st = Station("HS-M", 2.8, 180, "boiler_house", seed=2403)
    rd += st.series(s.t0, s.t1, s.temp)
    Q = 0.040   # delivered heat, kWh per m2 per degree-day (a rural home ~50 W/m2 at -13 C)
    metered = {  # hid: (area, share of normal heat per m2 as a function of the day)
        "HMN1": (80, lambda d: 0.92), "HMN2": (95, lambda d: 1.0), "HMN3": (100, lambda d: 1.05),
        "HMN4": (110, lambda d: 0.97), "HMN5": (120, lambda d: 1.08), "HMN6": (130, lambda d: 0.95),
        "HMN7": (90, lambda d: 1.02),
        "HMSMALL": (45, lambda d: 1.0),
        "HMPART": (100, lambda d: 0.14),
        "HMSTOP": (120, lambda d: 1.0 if d < T(2021, 12, 20) else 0.08),
    }
    hm_tot = {}
    for hid, (area, share) in metered.items():
        reg.append(dict(household_id=hid, county=c, village="神池村", township="T-24", retrofit_type="boiler_ultra_low_emission",
                        heating_device="district", priority_group=("hardship" if hid == "HMSTOP" else "none"), rated_kw=8,
                        area_m2=area, heat_station_id="HS-M", heat_station_kind="boiler_house",
                        retrofit_completed="2021-09-01", old_heating_present="true"))
        r = random.Random(sum(map(ord, hid)) + 7)
        e_tot = 0.0
        for day in s.days:
            kwh_day = Q * area * s.hdd[day] * share(day)
            for t in steps(day, day + D, 60):
                sr = st.reading(t, s.temp(t))
                sup, ret = sr["secondary_supply_c"] - 0.8, sr["secondary_return_c"]
                dT = max(3.0, sup - ret)
                if share(day) < 0.5:          # throttled valves: little flow, water cools more in the radiators
                    dT = min(sup - 22.0, dT * 1.8)
                p = kwh_day / 24 * (1 + 0.15 * math.cos((t.hour - 5) / 24 * 2 * math.pi))
                flow = p / (1.163 * dT)
                e = round(p * (1 + r.uniform(-0.02, 0.02)), 3)
                e_tot += e
                rd.append({"kind": "heat_meter", "household_id": hid, "ts": iso(t), "interval_s": 3600,
                           "supply_c": round(sup, 1), "return_c": round(sup - dT, 1), "flow_m3h": round(flow, 4),
                           "energy_kwh": e})
        hm_tot[hid] = round(e_tot, 1)
    for hid, area in (("HNM1", 90), ("HNM2", 110), ("HNMIN", 80), ("HNMNOAREA", None)):
        reg.append(dict(household_id=hid, county=c, village="神池村", township="T-24", retrofit_type="boiler_ultra_low_emission",
                        heating_device="district", priority_group="none", rated_kw=8, area_m2=area, heat_station_id="HS-M",
                        heat_station_kind="boiler_house", retrofit_completed="2021-09-01", old_heating_present="true"))
    rd += indoor_series("HNMIN", s.t0, s.t1, None, seed=2404, minutes=15, drop=0.02, base=21.0)

    ver, why, lab = {}, {}, {}
    for h in ("HMN1", "HMN2", "HMN3", "HMN4", "HMN5", "HMN6", "HMN7"):
        ver[h] = "eligible"
        lab[h] = L("used", "heat meter: 0.037-0.043 kWh of delivered heat per m2 per degree-day, like its metered network peers "
                   "(judged: " + ISSUE24_1 + ")", cite=ISSUE24_1)
    why["HMN*"] = "healthy station all season, household heat meter shows normal delivered heat"
    ver["HMSMALL"] = "eligible"
    lab["HMSMALL"] = L("used", "DOMAIN-BASED: 45 m2 home taking a full home's heat per m2 (45% of the median per home, 100% per m2; "
                       "area_m2 in the registry)", cite=ISSUE24_1)
    why["HMSMALL"] = "45 m2 home, normal delivered heat per m2"
    ver["HMPART"] = "visit_required"
    lab["HMPART"] = L("under_used", "heat meter: 14% of its network peers' delivered heat per m2 per degree-day all season "
                      "(valves throttled, one room) while the station supplied normally", cite=ISSUE24_1)
    why["HMPART"] = ("station healthy, heat meter shows 14% of peers' delivered heat all season: under-used -> 需入户核实 "
                     "(issue 24 item 2; stability.yaml use:)")
    ver["HMSTOP"] = "visit_required"
    lab["HMSTOP"] = L("under_used", "hardship home: normal delivered heat until 2021-12-20, then 8% to the end (valves shut: "
                      "back to coal)", cite=ISSUE24_1)
    why["HMSTOP"] = "hardship, normal until the first bill (12-20), then 8% of normal delivered heat for 86 days"
    for h in ("HNM1", "HNM2", "HNMIN", "HNMNOAREA"):
        ver[h] = "eligible"
        lab[h] = L("not_judged", "network home without a household heat meter: no per-home heat figure, so use cannot be "
                   "judged (stability.yaml use: 'Heat-network homes have no meter of their own and are not judged'); "
                   "saying 'used' would claim evidence that does not exist", cite="stability.yaml use:; " + ISSUE24_1)
    why["HNM*"] = "network home without a heat meter, healthy station: supply verdict only"
    cost = {}
    for hid, area in (("HMN2", 95), ("HMSTOP", 120), ("HNM1", 90), ("HMSMALL", 45)):
        cost[hid] = {"energy_cost": HEAT_PER_M2 * area, "subsidy": 0.0, "net_cost": HEAT_PER_M2 * area,
                     "cost_per_m2": HEAT_PER_M2,
                     "why": f"heat charged per m2 (tariffs.yaml heat.price_per_m2_season 22) x {area} m2; boiler_ultra_low_emission "
                            f"subsidy rate 0; the heat meter's {hm_tot.get(hid, '-')} kWh do not change a per-m2 charge"}
    cost["HNMNOAREA"] = {"energy_cost": None, "net_cost": None, "why": "no area_m2: heat cost not computed (tariffs.yaml heat:)"}
    text = [{"id": "network-no-meter-said", "all_any": [["network"], ["not judged", "cannot be judged", "are not judged"],
                                                        ["heat meter"]],
             "why": "the report must say in words why metered and meterless network homes are treated differently "
                    "(brief (a): what should the report say for network homes without a heat meter)"}]
    truth = truth_base(
        "Full season (2021-11-15..2022-03-15) in 神池县: one healthy 14-home boiler-house network. 10 homes have a household heat "
        "meter (hourly heat_meter readings): 7 normal (80-130 m2), a 45 m2 home normal per m2, HMPART at 14% of its peers' "
        "delivered heat per m2 all season, HMSTOP (hardship) normal until 12-20 then 8%. 4 homes have no heat meter (one an "
        "indoor sensor at 21 C, one without area).",
        ver, why, lab, ["HMPART", "HMSTOP"],
        ["HMN1", "HMN2", "HMN3", "HMN4", "HMN5", "HMN6", "HMN7", "HMSMALL", "HNM1", "HNM2", "HNMIN", "HNMNOAREA"],
        cost=cost, cost_tol=1.0, html_text=text,
        forbid=[F("station-healthy", ["heat_supply_interruption", "heat_supply_low"], "*", "*", None,
                  "station supplied normally all season; a throttled home's low flow is its own choice, not a supply fault"),
                F("under-user-not-outage", ["*"], "household", ["HMPART", "HMSTOP"], None,
                  "DOMAIN-BASED: valves throttled by the family is casework (issue 24 item 4: no page), not a supply incident")])
    write_scenario("U2_heat_meter_use", reg, sort_time(rd), truth)


# ======================================================================= U3 net load / PV / solar back-up
def u3():
    """神池县 is taken; 岢岚县. Storage-heater village (8 normal), heat-pump village (7 normal), solar back-up village (7 normal)."""
    s = Season("岢岚县", 2431)
    c = s.c
    reg, rd = [], s.weather()
    K, KHP, KSOL = 2.6, 1.05, 0.75   # kWh per degree-day: storage heater, heat pump (COP ~2.5), solar thermal's electric back-up
    APPL = 4.0
    BILL = T(2021, 12, 20)
    tots = {}

    def add(hid, village, heat_fn, base_fn, seed, device="storage_heater", rated=8, rt="coal_to_electric", pv=None, area=100,
            prio="none"):
        ereg(reg, c, hid, village, device=device, rated=rated, rt=rt, area=area, prio=prio)
        out, tot = meter(hid, s.days, heat_fn, base_fn, seed, pv_fn=pv)
        tots[hid] = tot
        rd.extend(out)

    for i in range(8):
        add(f"NSN{i}", "北村", lambda d, i=i: (K * (0.88 + 0.03 * i) * s.hdd[d], "valley"), flat(APPL), 100 + i)
    # a village shop (freezers, lights, a mill): 30 kWh a day between 09:00 and 19:00, every day
    SHOP = 30.0
    add("NSHOPOK", "北村", lambda d: (K * s.hdd[d], "valley"), plus(flat(APPL), daytime(SHOP)), 120)
    add("NSHOPPART", "北村", lambda d: (0.12 * K * s.hdd[d], "valley"), plus(flat(APPL), daytime(SHOP)), 121)
    add("NSHOPSTOP", "北村", lambda d: ((K if d < BILL else 0.0) * s.hdd[d], "valley"), plus(flat(APPL), daytime(SHOP)), 122,
        prio="hardship")
    # rooftop PV 6 kW (~12 kWh a winter day, 4-18 by cloud): the meter shows import only (kWh >= 0)
    pvr = random.Random(2432)
    pvday = {d: round(pvr.uniform(4, 18), 2) for d in s.days}
    add("NPVOK", "北村", lambda d: (K * s.hdd[d], "valley"), flat(APPL), 123, pv=lambda d: pvday[d])
    add("NPVSTOP", "北村", lambda d: ((K if d < BILL else 0.0) * s.hdd[d], "valley"), flat(APPL), 124, pv=lambda d: pvday[d])
    # heat pumps
    for i in range(7):
        add(f"NHPN{i}", "南村", lambda d, i=i: (KHP * (0.9 + 0.03 * i) * s.hdd[d], "pump"), flat(APPL), 140 + i,
            device="heat_pump", rated=5)
    pv2 = {d: round(pvday[d] * 2.0, 2) for d in s.days}   # 12 kW of PV; the heat pump runs its buffer tank on it by day
    add("NHPPV", "南村", lambda d: (KHP * s.hdd[d], "pump_pv"), flat(APPL), 150, device="heat_pump", rated=5,
        pv=lambda d: pv2[d])
    # solar thermal with electric back-up (retrofit type solar): the meter shows the back-up only
    for i in range(7):
        add(f"NSOL{i}", "西村", lambda d, i=i: (KSOL * (0.9 + 0.03 * i) * s.hdd[d], "valley"), flat(APPL), 160 + i,
            rt="solar", rated=6)
    add("NSOLLOW", "西村", lambda d: (0.20 * KSOL * s.hdd[d], "valley"), flat(APPL), 170, rt="solar", rated=6)
    feeders(rd, s.t0, s.t1, [("F-北村", 13), ("F-南村", 8), ("F-西村", 8)])

    def ratio(hid, peers):
        import statistics
        return round(tots[hid]["kwh"] / statistics.median(tots[p]["kwh"] for p in peers), 2)
    sn = [f"NSN{i}" for i in range(8)]
    hp = [f"NHPN{i}" for i in range(7)]
    so = [f"NSOL{i}" for i in range(7)]
    ver, why, lab = {}, {}, {}
    for h in sn + hp + so:
        ver[h] = "eligible"; lab[h] = L("used", "normal heating", cite=ISSUE24_1)
    why.update({"NSN*": "normal storage heaters", "NHPN*": "normal heat pumps", "NSOL*": "normal solar back-up homes"})
    ver["NSHOPOK"] = "eligible"
    lab["NSHOPOK"] = L("used", f"heats like its peers (its heater charges {K} kWh per degree-day in the valley) and also runs a "
                       f"shop (30 kWh/day 09-19h): meter ratio {ratio('NSHOPOK', sn)}", cite=ISSUE24_1)
    ver["NSHOPPART"] = "visit_required"
    lab["NSHOPPART"] = L("under_used", f"its HEATING is 12% of its peers' all season; the shop's 30 kWh/day lifts the whole "
                         f"meter to {ratio('NSHOPPART', sn)} of peers: only the heating part tells use (brief (b); issue 24 item 1 "
                         f"'heating energy')", cite=ISSUE24_1 + "; " + DOMAIN_USE)
    ver["NSHOPSTOP"] = "visit_required"
    lab["NSHOPSTOP"] = L("under_used", f"hardship home with a shop: heating stops on 12-20 (back to coal); after that the "
                         f"shop keeps the meter at ~{round((SHOP + APPL) / (K * 25 + APPL), 2)} of its peers",
                         cite=ISSUE24_1 + "; " + DOMAIN_USE)
    ver["NPVOK"] = "eligible"
    lab["NPVOK"] = L("used", f"storage heater charging normally at night; rooftop PV hides its daytime appliances "
                     f"(meter ratio {ratio('NPVOK', sn)})", cite=ISSUE24_1)
    ver["NPVSTOP"] = "visit_required"
    lab["NPVSTOP"] = L("under_used", "PV home back to coal from 12-20: by day PV covers the appliances, the meter shows only the "
                       f"evening/night appliances (~{round(tots['NPVSTOP']['days'][T(2022, 1, 10)], 1)} kWh/day, above the "
                       "policy's empty level 1.5): occupied, not heating", cite=ISSUE24_1 + "; " + DOMAIN_USE)
    ver["NHPPV"] = "eligible"
    lab["NHPPV"] = L("used", f"heat pump heating like its peers, 65% of it by day on its own 12 kW PV: the meter's net import is "
                     f"{ratio('NHPPV', hp)} of its peers'. AMBIGUOUS: PV is in neither the registry nor the contract, so the "
                     f"meter cannot show the heat it made by day", ambiguous=True, cite=DOMAIN_USE)
    ver["NSOLLOW"] = "visit_required"
    lab["NSOLLOW"] = L("under_used", f"solar-thermal home whose electric back-up heats at 20% of its peers' all season; the "
                       f"appliances dilute the whole meter to {ratio('NSOLLOW', so)} of peers", cite=ISSUE24_1)
    flagged = [h for h, x in lab.items() if x["want"] == "under_used"]
    not_flagged = [h for h, x in lab.items() if x["want"] == "used" and not x["ambiguous"]]
    for h in ("NSHOPPART", "NSHOPSTOP", "NPVSTOP", "NHPPV", "NSOLLOW", "NSHOPOK", "NPVOK"):
        why[h] = lab[h]["why"]
    truth = truth_base(
        "Full season in 岢岚县: 北村 storage heaters (8 normal, a shop home heating normally, a shop home heating at 12%, a shop "
        "home back to coal on 12-20, a PV home heating normally, a PV home back to coal), 南村 heat pumps (7 normal, one run "
        "mostly on its own 12 kW PV), 西村 solar-thermal homes with electric back-up (7 normal, one back-up at 20%).",
        ver, why, lab, flagged, not_flagged,
        verdicts_ambiguous={"NHPPV": "eligible"},
        forbid=[F("shop-heating-normally-not-peak", ["peak_charging"], "household", ["NSHOPOK"], None,
                  "its heater charges only in the valley; the shop's daytime load is not heating (tariffs.yaml: a home's "
                  "non-heating use is not counted as peak charging)"),
                F("shop-barely-heating-not-peak", ["peak_charging"], "household", ["NSHOPPART"], None,
                  "issue 24 item 5: a storage heater that is barely used (12%, ~9 kWh/day, all in the valley) is not a "
                  "peak_charging case; the daytime load is the shop's"),
                F("shop-stopped-heating-not-peak", ["peak_charging"], "household", ["NSHOPSTOP"], None,
                  "issue 24 item 5: judge valley share only on days with real heating energy -- from 12-20 the heater draws "
                  "nothing; before, it charged only in the valley"),
                F("pv-not-peak", ["peak_charging"], "household", ["NPVOK", "NPVSTOP", "NHPPV"] + sn, None,
                  "heaters charge in the valley / heat pumps are not storage heaters")])
    truth["verdicts"].pop("NHPPV")     # scored apart, as ambiguous (verdicts_ambiguous)
    truth["meter_ratios"] = {h: ratio(h, sn) for h in ("NSHOPOK", "NSHOPPART", "NPVOK", "NPVSTOP")}
    truth["meter_ratios"].update({"NHPPV": ratio("NHPPV", hp), "NSOLLOW": ratio("NSOLLOW", so)})
    write_scenario("U3_net_load_and_solar", reg, sort_time(rd), truth)


# ======================================================================= U4 empty vs under-used
def u4():
    s = Season("静乐县", 2441)
    c = s.c
    reg, rd = [], s.weather()
    K, APPL, FRIDGE = 2.6, 4.0, 0.7
    tots = {}

    def add(hid, heat_fn, base_fn, seed, prio="none"):
        ereg(reg, c, hid, "静乐村", prio=prio)
        out, tot = meter(hid, s.days, heat_fn, base_fn, seed)
        tots[hid] = tot
        rd.extend(out)

    def window(a, b, inside, outside):
        return lambda d: inside if a <= d < b else outside
    for i in range(10):
        add(f"EN{i}", lambda d, i=i: (K * (0.88 + 0.025 * i) * s.hdd[d], "valley"), flat(APPL), 200 + i)
    A31 = (T(2022, 1, 18), T(2022, 2, 18))
    add("EAWAY31", lambda d: ((0.0 if A31[0] <= d < A31[1] else K) * s.hdd[d], "valley"),
        lambda d, t: (FRIDGE if A31[0] <= d < A31[1] else APPL) / 96, 220)
    add("EAWAYFROST", lambda d: ((0.08 if A31[0] <= d < A31[1] else 1.0) * K * s.hdd[d], "valley"),
        lambda d, t: (FRIDGE if A31[0] <= d < A31[1] else APPL) / 96, 221)
    add("EEMPTYALL", lambda d: (0.0, "valley"), flat(FRIDGE), 222)
    E1 = T(2021, 12, 1)
    add("EEMPTYDEC", lambda d: ((K if d < E1 else 0.0) * s.hdd[d], "valley"),
        lambda d, t: (APPL if d < E1 else FRIDGE) / 96, 223)
    BACK = T(2022, 2, 20)
    add("ELATEBACK", lambda d: ((0.0 if d < BACK else K) * s.hdd[d], "valley"),
        lambda d, t: (FRIDGE if d < BACK else APPL) / 96, 224)
    add("EUNDER", lambda d: (0.10 * K * s.hdd[d], "valley"), flat(APPL), 225)
    C1 = T(2021, 12, 15)
    add("EOLDCOAL", lambda d: ((K if d < C1 else 0.0) * s.hdd[d], "valley"),
        lambda d, t: (APPL if d < C1 else 1.2) / 96, 226, prio="elderly_home")
    feeders(rd, s.t0, s.t1, [("F-静乐村", 17)])
    # gas
    G = {}
    KG = 0.45

    def gadd(hid, fn, seed, prio="none"):
        reg.append(dict(household_id=hid, county=c, village="东静村", township="T-24", retrofit_type="coal_to_gas",
                        heating_device="gas_boiler", gas_station_id="GS-J", priority_group=prio, rated_kw=18, area_m2=100,
                        retrofit_completed="2021-09-01", old_heating_present="true"))
        out, v = gas_meter(hid, s.days, fn, seed)
        G[hid] = v
        rd.extend(out)
    for i in range(7):
        gadd(f"GN{i}", lambda d, i=i: KG * (0.9 + 0.03 * i) * s.hdd[d] + 0.3, 240 + i)
    GA = (T(2022, 1, 10), T(2022, 2, 14))
    gadd("GAWAY35", lambda d: 0.0 if GA[0] <= d < GA[1] else KG * s.hdd[d] + 0.3, 250)
    gadd("GEMPTYDEC", lambda d: KG * s.hdd[d] + 0.3 if d < E1 else 0.0, 251)
    gadd("GUNDER", lambda d: 0.12 * KG * s.hdd[d] + 0.3, 252)
    gas_station(rd, "GS-J", s.t0, s.t1)

    ver, why, lab = {}, {}, {}
    for h in [f"EN{i}" for i in range(10)] + [f"GN{i}" for i in range(7)]:
        ver[h] = "eligible"; lab[h] = L("used", "normal", cite=ISSUE24_1)
    why.update({"EN*": "normal storage heaters", "GN*": "normal gas homes"})
    P_EMPTY = "stability.yaml use: 'so is a home that stood empty most of the winter (疑似空置)'"
    spec = {
        "EAWAY31": ("eligible", "used", False, "normal all season except 31 days away over the Spring Festival (01-18..02-17, fridge "
                    "only): ~90 judged days of normal heating incl. most of January; empty days are absence, not low use "
                    "(issue 24 item 1: robust to homes that are empty)", "issue 24 item 1 ('robust ... to homes that are empty')"),
        "EAWAYFROST": ("eligible", "used", True, "as EAWAY31 but the heater kept on frost protection while away (8% of normal + "
                       "fridge = ~6 kWh/day, above the empty level). AMBIGUOUS: the meter cannot tell 'away, frost protection' "
                       "from 'home, one room'", "issue 24 item 1"),
        "EEMPTYALL": ("visit_required", "empty", False, "never lived in all season (fridge 0.7 kWh/day): no evidence the new "
                      "heating carries the home", P_EMPTY + "; " + DOMAIN_USE),
        "EEMPTYDEC": ("visit_required", "empty", False, "occupied until 12-01, then empty (fridge only) to the end", P_EMPTY),
        "ELATEBACK": ("visit_required", "empty", False, "empty from the season's start to 02-19 (96 of 121 days, incl. all of "
                      "the coldest), back and heating normally only for the last 24 days: it stood empty most of the winter; "
                      "the new heating never carried it through the cold", P_EMPTY + "; domain.md 先立后破 ('run stably "
                      "through one full heating season')"),
        "EUNDER": ("visit_required", "under_used", False, "occupied (4 kWh/day of appliances), heating at 10% of its peers "
                   "all season: under-used, not empty — calling it empty would send the wrong case", ISSUE24_1),
        "EOLDCOAL": ("visit_required", None, False, "elderly home back to coal on 12-15 with only 1.2 kWh/day of appliances "
                     "(below the empty level 1.5): occupied, but the meter looks empty — either label protects it; the "
                     "verdict must not be 'may remove'", DOMAIN_USE),
        "GAWAY35": ("eligible", "used", False, "gas home away 35 days (01-10..02-13, meter at 0), normal otherwise (~70 judged "
                    "days)", "issue 24 item 1 ('robust ... to homes that are empty')"),
        "GEMPTYDEC": ("visit_required", "empty", False, "gas home empty from 12-01 (meter at 0)", P_EMPTY),
        "GUNDER": ("visit_required", "under_used", False, "gas home heating at 12% (+ 0.3 m3/day cooking): occupied, under-used",
                   ISSUE24_1),
    }
    flagged, not_flagged = [], []
    for h, (v, l, amb, w, cite) in spec.items():
        ver[h] = v; why[h] = w
        if l:
            lab[h] = L(l, w, ambiguous=amb, cite=cite)
        if v == "visit_required":
            flagged.append(h)
        elif not amb:
            not_flagged.append(h)
    not_flagged += [h for h in ver if h.startswith(("EN", "GN"))]
    truth = truth_base(
        "Full season in 静乐县: 17 storage-heater homes in 静乐村 (10 normal; away 31 days; away 31 days on frost protection; "
        "never lived in; empty from 12-01; empty until 02-20 then heating; occupied at 10%; elderly back to coal with 1.2 kWh/day) "
        "and 10 gas homes in 东静村 (7 normal; away 35 days; empty from 12-01; at 12%).",
        ver, why, lab, flagged, not_flagged, verdicts_ambiguous={"EAWAYFROST": "eligible"})
    truth["verdicts"].pop("EAWAYFROST")
    truth["use"]["not_flagged"] = [h for h in not_flagged if h != "EAWAYFROST"]
    write_scenario("U4_empty_vs_underused", reg, sort_time(rd), truth)


# ======================================================================= U5 cost by hand
def u5():
    s = Season("偏关县", 2451)
    c = s.c
    reg, rd = [], []
    pre0, post1 = T(2021, 11, 1), T(2022, 3, 21)      # readings from 11-01 to 03-20: only 11-15..03-15 are the season
    alldays = []
    d = pre0
    while d < post1:
        alldays.append(d); d += D
    rd += s.weather(pre0, post1)
    K = 2.6
    hdd = lambda d: s.hdd.get(d, 16.0)            # outside the season: milder (mean 2 C)
    inseason = lambda d: SEASON[0] <= d < SEASON[1]
    cost, sample = {}, {}

    def elec(hid, heat_fn, base_fn, seed, minutes=15, tsfmt=None, device="storage_heater", rated=8, area=100, prio="none",
             extra=None):
        ereg(reg, c, hid, "偏关村", device=device, rated=rated, area=area, prio=prio)
        out, tot = meter(hid, alldays, heat_fn, base_fn, seed, minutes=minutes, tsfmt=tsfmt, extra=extra)
        rd.extend(out)
        # the season's figures, by hand: only intervals whose END lies in (11-15 00:00, 03-16 00:00]
        e = v = 0.0
        for x in out:
            t = dt.datetime.fromisoformat(x["ts"].replace("Z", "+00:00")).astimezone(CST)
            if SEASON[0] < t <= SEASON[1]:
                e += x["kwh"]
                v += x["kwh"] if in_valley(t, minutes) else 0.0
        e, v = round(e, 3), round(v, 3)
        ec = v * VALLEY_PRICE + (e - v) * OTHER_PRICE
        sub = min(SUB_CAP, SUB_KWH * e)
        net = ec - sub
        cost[hid] = {"energy_kwh": e, "valley_kwh": v, "energy_cost": round(ec, 2), "subsidy": round(sub, 2),
                     "net_cost": round(net, 2), "cost_per_m2": round(net / area, 2),
                     "why": f"season only (11-15..03-15, {len(s.days)} days; {tot['kwh'] - e:.1f} kWh outside it left out): "
                            f"{v:.3f} kWh valley x 0.20 + {e - v:.3f} x 0.477 = {ec:.2f}; subsidy min(2400, 0.2 x {e:.1f}) = "
                            f"{sub:.2f}; net {net:.2f}; per m2 / {area}"}
        sample[hid] = (e, v, ec, sub, net, area)
        return tot

    APPL = flat(APPL_PER_DAY)
    # CE1: storage heater, 15-min, textbook valley charging
    elec("CE1", lambda d: (K * hdd(d), "valley"), APPL, 300)
    # CEUTC: the same home whose meter writes its timestamps in UTC ('Z'): 22:00 local is 14:00Z
    elec("CEUTC", lambda d: (K * hdd(d), "valley"), APPL, 301,
         tsfmt=lambda t: t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # CEHOUR: heat pump, hourly meter
    elec("CEHOUR", lambda d: (1.05 * hdd(d), "pump"), flat(APPL_PER_DAY, 60), 302, minutes=60, device="heat_pump", rated=5)
    # CEPEAK: storage heater that also charges 2 h every afternoon (14-16h) at 6 kW: 12 kWh a day outside the valley
    tot_pk = elec("CEPEAK", lambda d: (K * hdd(d), "peak2h"), APPL, 303, extra={"peak_kwh": 12.0})
    # CEBIG: hardship, 220 m2 heat pump: subsidy capped
    elec("CEBIG", lambda d: (4.2 * 1.05 * hdd(d), "pump"), APPL, 304, device="heat_pump", rated=12, area=220, prio="hardship")
    feeders(rd, pre0, post1, [("F-偏关村", 5)])
    # peak charging's price for CEPEAK: heating kWh outside the valley x (0.477 - 0.20) -- by construction 12 kWh a day;
    # the appliances' daytime share (4 kWh x 14/24 a day, tariffs.yaml appliance_kwh_per_day) is not counted
    e, v = sample["CEPEAK"][0], sample["CEPEAK"][1]
    pk = (e - v) - len(s.days) * APPL_PER_DAY * 14 / 24
    cost["CEPEAK"]["peak_extra"] = round(pk * (OTHER_PRICE - VALLEY_PRICE), 2)
    cost["CEPEAK"]["why"] += (f"; peak charging's price: ({e - v:.3f} kWh outside the valley - {len(s.days)} d x 4 x 14/24 "
                              f"appliances) x 0.277 = {cost['CEPEAK']['peak_extra']} (12 kWh x {len(s.days)} d x 0.277 = "
                              f"{12 * len(s.days) * 0.277:.2f} by construction)")
    cost["CE1"]["peak_extra"] = 0.0
    # gas
    for hid, k, area, prio in (("CG1", 0.25, 100, "none"), ("CG3", 0.80, 200, "hardship")):
        reg.append(dict(household_id=hid, county=c, village="偏关气村", township="T-24", retrofit_type="coal_to_gas",
                        heating_device="gas_boiler", gas_station_id="GS-P", priority_group=prio, rated_kw=24, area_m2=area,
                        retrofit_completed="2021-09-01", old_heating_present="true"))
        out, _ = gas_meter(hid, alldays, lambda d, k=k: k * hdd(d) + 0.3, 310 + len(hid))
        rd.extend(out)
        v = round(sum(x["m3"] for x in out if SEASON[0] < dt.datetime.fromisoformat(x["ts"]) <= SEASON[1]), 3)
        ec = gas_cost(v)
        sub = min(SUB_CAP, SUB_M3 * v)
        cost[hid] = {"gas_m3": v, "energy_cost": round(ec, 2), "subsidy": round(sub, 2), "net_cost": round(ec - sub, 2),
                     "cost_per_m2": round((ec - sub) / area, 2),
                     "why": f"season {v:.3f} m3 through the tiers (<=1000 x 2.26, 1000-2000 x 2.71, rest x 3.39) = {ec:.2f}; "
                            f"subsidy min(2400, 1.0 x {v:.1f}) = {sub:.2f}"}
    gas_station(rd, "GS-P", pre0, post1)
    # heat network
    st = Station("HS-P", 0.6, 150, "boiler_house", seed=320)
    rd += st.series(pre0, post1, s.temp)
    for hid, area in (("CH85", 85.5), ("CH120", 120)):
        reg.append(dict(household_id=hid, county=c, village="偏关热村", township="T-24", retrofit_type="district_heating",
                        heating_device="district", priority_group="none", rated_kw=8, area_m2=area, heat_station_id="HS-P",
                        heat_station_kind="boiler_house", retrofit_completed="2021-09-01", old_heating_present="true"))
        cost[hid] = {"energy_cost": round(HEAT_PER_M2 * area, 2), "subsidy": 0.0, "net_cost": round(HEAT_PER_M2 * area, 2),
                     "cost_per_m2": HEAT_PER_M2, "why": f"22 CNY/m2 x {area} m2, district_heating subsidy rate 0"}
    burden_in = [h for h, x in cost.items() if x["net_cost"] > BURDEN]
    burden_out = [h for h, x in cost.items() if x["net_cost"] < BURDEN - 50]
    # a sample household worked by hand, in full, for the README
    e, v, ec, sub, net, area = sample["CE1"]
    worked = [f"CE1 (storage heater, 100 m2, 15-min meter, 偏关县), season 2021-11-15..2022-03-15:",
              f"  season energy {e:.3f} kWh, of it {v:.3f} kWh in intervals lying in 22:00-08:00 local",
              f"  valley  {v:.3f} x 0.20  = {v * 0.2:.2f}",
              f"  other   {e - v:.3f} x 0.477 = {(e - v) * 0.477:.2f}",
              f"  energy cost {ec:.2f}; subsidy min(2400, 0.2 x {e:.3f}) = {sub:.2f}; household pays {net:.2f}; "
              f"per m2 {net / area:.2f}"]
    # the monthly report's use-and-cost section (issue 24 item 4): median household cost to date at each month's end,
    # the median at the end of last month, households above the burden threshold to date. Electricity/gas to date by
    # hand; a heat home's season charge (per m2) counted whole from the season's start or pro rata by days -- the
    # issue does not say which: where the two give different answers the check is marked ambiguous
    import statistics
    ends = [("2021-11", T(2021, 12, 1)), ("2021-12", T(2022, 1, 1)), ("2022-01", T(2022, 2, 1)), ("2022-02", T(2022, 3, 1)),
            ("2022-03", SEASON[1])]
    acc = {}
    for x in rd:
        if x["kind"] not in ("electric", "gas"):
            continue
        t = dt.datetime.fromisoformat(x["ts"].replace("Z", "+00:00")).astimezone(CST)
        for m, e_ in ends:
            if SEASON[0] < t <= e_:
                a = acc.setdefault((x["household_id"], m), [0.0, 0.0, 0.0])
                if x["kind"] == "electric":
                    a[0] += x["kwh"]; a[1] += x["kwh"] if in_valley(t, x["interval_s"] // 60) else 0.0
                else:
                    a[2] += x["m3"]
    net_to = {}
    for (h, m), (e_, v_, g_) in acc.items():
        n_ = gas_cost(g_) - min(SUB_CAP, SUB_M3 * g_) if g_ else v_ * VALLEY_PRICE + (e_ - v_) * OTHER_PRICE - min(SUB_CAP, SUB_KWH * e_)
        net_to.setdefault(m, []).append(n_)
    monthly_cost, prev = [], None
    for m, e_ in ends:
        days_ = (e_ - SEASON[0]).days
        full = net_to[m] + [HEAT_PER_M2 * 85.5, HEAT_PER_M2 * 120]
        pro = net_to[m] + [HEAT_PER_M2 * 85.5 * days_ / len(s.days), HEAT_PER_M2 * 120 * days_ / len(s.days)]
        mf, mp = statistics.median(full), statistics.median(pro)
        bf, bp = sum(v > BURDEN for v in full), sum(v > BURDEN for v in pro)
        monthly_cost.append({"id": f"median-{m}", "month": m, "county": c, "col": "median household cost to date",
                             "approx": round(mf, 1), "tol": 1.5, "ambiguous": abs(mf - mp) > 1.5,
                             "why": f"median of the 9 households' net cost 11-15..{m} end, by hand ({mf:.1f}; heat pro rata {mp:.1f})"})
        if prev is not None:
            monthly_cost.append({"id": f"last-month-{m}", "month": m, "county": c, "col": "median at end of last month",
                                 "approx": round(prev[0], 1), "tol": 1.5, "ambiguous": abs(prev[0] - prev[1]) > 1.5,
                                 "why": "the previous month's median to date"})
        monthly_cost.append({"id": f"burden-{m}", "month": m, "county": c, "col": "above the burden threshold",
                             "approx": bf, "tol": 0, "ambiguous": bf != bp,
                             "why": f"households above 2000 CNY net to date: {bf} with heat charged whole, {bp} pro rata"})
        prev = (mf, mp)
    truth = {"description": "Cost by hand (偏关县): readings 2021-11-01..2022-03-20 of which only 11-15..03-15 are the season; "
                            "storage heater (CE1), the same home with a meter stamping UTC 'Z' (CEUTC), an hourly heat pump "
                            "(CEHOUR), a storage heater charging 2 h every afternoon (CEPEAK), a 220 m2 hardship heat pump above "
                            "the subsidy cap (CEBIG), gas homes in one tier (CG1) and three tiers + cap (CG3, hardship), heat "
                            "homes of 85.5 and 120 m2.",
             "expect": [], "forbid": [], "allow": [{"kinds": ["*"]}], "dead_letters": {"max_total": 0},
             "season_only": True, "cost": cost, "cost_tol": 1.0,
             "burden": {"listed": burden_in, "not_listed": burden_out, "priority_first": True,
                        "why": "net season cost above 2000 CNY (tariffs.yaml burden.threshold_cny), priority households first"},
             "worked_example": worked, "monthly_cost": monthly_cost}
    write_scenario("U5_cost_by_hand", reg, sort_instant(rd), truth)


# ======================================================================= B5 batch form (issue 23)
def b5():
    """5 days in 繁峙县: a feeder with 4 electric homes (outage 12-03), a gas station with 3 homes (low pressure 12-04),
    a boiler house with 3 homes (pump stop 12-02; one indoor sensor, one heat meter) and its stack (CEMS), weather."""
    c = "繁峙县"
    t0, t1 = T(2021, 12, 1), T(2021, 12, 6)
    tf = lambda t: outdoor(t, base=-8.0)
    reg, rd = [], weather(c, t0, t1, base=-8.0)
    oa, ob = T(2021, 12, 3, 10), T(2021, 12, 3, 14)
    for i in range(4):
        hid = f"BE{i}"
        reg.append(dict(household_id=hid, county=c, village="繁村", township="T-B5", retrofit_type="coal_to_electric",
                        heating_device="storage_heater", feeder_id="F-B5", priority_group=("elderly_home" if i == 0 else "none"),
                        rated_kw=6, retrofit_completed="2021-09-01", old_heating_present="true"))
        rd += electric_series(hid, t0, t1, seed=500 + i, outages=[(oa, ob)])
    rd += feeder_series("F-B5", t0, t1, 4, 100, outages=[(oa, ob)])
    ga, gb = T(2021, 12, 4, 9), T(2021, 12, 4, 13)
    for i in range(3):
        hid = f"BG{i}"
        reg.append(dict(household_id=hid, county=c, village="繁气村", township="T-B5", retrofit_type="coal_to_gas",
                        heating_device="gas_boiler", gas_station_id="GS-B5", priority_group="none", rated_kw=18,
                        gas_quota_m3=3000, retrofit_completed="2021-09-01", old_heating_present="true"))
        rd += gas_series(hid, t0, t1, low=[(ga, gb)], seed=510 + i)
    rd += gas_station_series("GS-B5", t0, t1, low=[(ga, gb)], n=3)
    st = Station("HS-B5", 0.8, 150, "boiler_house", seed=520)
    pa, pb = T(2021, 12, 2, 8), T(2021, 12, 2, 14)
    st.fault("pump_stop", pa, pb)
    rd += st.series(t0, t1, tf)
    for i in range(3):
        reg.append(dict(household_id=f"BH{i}", county=c, village="繁热村", township="T-B5", retrofit_type="boiler_ultra_low_emission",
                        heating_device="district", priority_group="none", rated_kw=6, heat_station_id="HS-B5",
                        heat_station_kind="boiler_house", heat_station_fuel="coal", retrofit_completed="2021-09-01",
                        old_heating_present="true"))
    rd += indoor_series("BH0", t0, t1, st, seed=521, drop=0.0)
    rd += heat_meter_series("BH1", t0, t1, st, tf, seed=522)
    rd += cems_series("HS-B5", t0, t1, [(t0, t1, "running")], seed=523)
    good = sort_time(rd)

    # concentrator of each reading: the feeder's homes and the feeder; the gas station and its homes; the boiler house,
    # its homes' devices, its stack and the county weather station
    def src(x):
        k = x["kind"]
        if k in ("electric", "feeder"):
            return "CONC-F-B5"
        if k in ("gas", "gas_station"):
            return "SCADA-GS-B5"
        return "SCADA-HS-B5"
    # bad items (each in a different batch; the same objects appear as single lines in the singles file)
    bad = [
        ("bad-electric-negative", "BADE1", {"kind": "electric", "household_id": "BADE1", "ts": "2021-12-02T10:00:00+08:00",
                                            "interval_s": 900, "kwh": -0.5, "kw": 1.0, "voltage_v": 220.0, "event": None}),
        ("bad-electric-no-id", None, {"kind": "electric", "ts": "2021-12-02T10:07:00+08:00", "interval_s": 900,
                                      "kwh": 0.5, "kw": 2.0, "voltage_v": 220.0, "event": None}),
        ("bad-gas-text-number", "BADG1", {"kind": "gas", "household_id": "BADG1", "ts": "2021-12-02T12:00:00+08:00",
                                          "interval_s": 3600, "m3": "lots", "flow_m3h": 0.6, "pressure_kpa": 2.0}),
        ("bad-feeder-kva-0", "BADF1", {"kind": "feeder", "feeder_id": "BADF1", "ts": "2021-12-02T13:00:00+08:00", "kw": 10.0,
                                       "rated_kva": 0}),
        ("bad-gas-station-missing-flow", "BADS1", {"kind": "gas_station", "station_id": "BADS1",
                                                   "ts": "2021-12-02T14:00:00+08:00", "outlet_pressure_kpa": 2.5}),
        ("bad-weather-75C", "BADCOUNTY", {"kind": "weather", "county": "BADCOUNTY", "ts": "2021-12-02T15:00:00+08:00",
                                          "temp_c": 75.0}),
        ("bad-heat-station-no-flow", "BADHS1", {"kind": "heat_station", "heat_station_id": "BADHS1",
                                                "ts": "2021-12-02T16:00:00+08:00", "secondary_supply_c": 60.0,
                                                "secondary_return_c": 45.0, "supply_pressure_kpa": 150.0, "heat_kw": 30.0}),
        ("bad-indoor-99C", "BADI1", {"kind": "indoor_temp", "household_id": "BADI1", "ts": "2021-12-02T17:00:00+08:00",
                                     "temp_c": 99.0}),
        ("bad-heat-meter-no-energy", "BADM1", {"kind": "heat_meter", "household_id": "BADM1", "ts": "2021-12-02T18:00:00+08:00",
                                               "interval_s": 3600, "supply_c": 60.0, "return_c": 45.0, "flow_m3h": 0.2}),
        ("bad-stack-no-o2", "BADSTACK", {"kind": "stack_emission", "heat_station_id": "BADSTACK",
                                         "ts": "2021-12-02T19:00:00+08:00", "interval_s": 900, "particulates_mg_m3": 5.0,
                                         "so2_mg_m3": 18.0, "nox_mg_m3": 38.0, "flue_flow_m3h": 9000}),
        ("bad-unknown-kind", "BADW1", {"kind": "water_meter", "household_id": "BADW1", "ts": "2021-12-02T20:00:00+08:00",
                                       "m3": 0.1}),
        ("bad-nested-batch", "BADNEST", {"kind": "batch", "source": "BADNEST", "readings": []}),
        ("bad-not-an-object", None, "BADSTRING"),
    ]
    # group the good readings into batches: one per concentrator per hour (interval ends in (h-1:00, h:00])
    def hour_key(x):
        t = dt.datetime.fromisoformat(x["ts"])
        h = (t - dt.timedelta(seconds=1)).replace(minute=0, second=0)
        return h
    groups = {}
    for x in good:
        groups.setdefault((hour_key(x), src(x)), []).append(x)
    keys = sorted(groups, key=lambda k: (k[0], k[1]))
    # put bad item j into the batch of the SCADA-HS-B5/CONC-F-B5 group at 2021-12-02 (10+j):00, at position 1
    bad_at = {}
    for j, (bid, dev, obj) in enumerate(bad):
        hk = T(2021, 12, 2, 9 + j)
        sk = ["CONC-F-B5", "SCADA-GS-B5", "SCADA-HS-B5"][j % 3]
        bad_at[(hk, sk)] = (bid, dev, obj)
    batch_lines, single_lines, dl = [], [], []
    for k in keys:
        items = list(groups[k])
        if k in bad_at:
            bid, dev, obj = bad_at[k]
            items.insert(1, obj)
            idx = 1
            dl.append({"id": bid, "raw_contains": dev if dev else None, "dev": dev, "index": idx, "source": k[1]})
        batch_lines.append(json.dumps({"kind": "batch", "source": k[1], "readings": items}, ensure_ascii=False))
        for x in items:
            single_lines.append(json.dumps(x, ensure_ascii=False))
    assert len(dl) == len(bad), (len(dl), len(bad))
    exp_dead = []
    for d_ in dl:
        e = {"id": d_["id"], "count": 1,
             "reason_names_item": {"ids": [d_["dev"]] if d_["dev"] else [], "index": d_["index"]},
             "why": "issue 23 / contract: a bad reading in a concentrator's batch is rejected on its own, with a reason that "
                    "names it (its device id, or its place in the batch)"}
        if d_["dev"]:
            e["raw_or_reason_contains"] = d_["dev"]
        else:
            e["raw_contains"] = "BADSTRING" if d_["id"] == "bad-not-an-object" else "2021-12-02T10:07:00"
        exp_dead.append(e)
    kinds_in_batches = sorted({x["kind"] for x in good})
    assert len(kinds_in_batches) == 9, kinds_in_batches
    truth = {"description": "5 days (2021-12-01..05) in 繁峙县 sent as concentrator batches (one per concentrator per hour; "
                            f"all nine kinds the schema allows in a batch: {', '.join(kinds_in_batches)}), with 13 bad items "
                            "inside 13 different batches; variant readings_single.jsonl sends the very same objects one per "
                            "line. Faults: feeder outage 12-03 10:00-14:00 (4 homes, last gasps), gas low pressure 12-04 "
                            "09:00-13:00 (station + 3 homes), pump stop at the boiler house 12-02 08:00-14:00.",
             "expect": [E("feeder-outage", ["feeder_outage"], "feeder", "F-B5", (oa - H, oa + H), why="feeder F-B5 lost 10:00-14:00",
                          households_affected=4),
                        E("gas-shortfall", ["gas_supply_shortfall"], "gas_station", "GS-B5", (ga - H, ga + 2 * H),
                          why="station outlet 0.7 kPa 09:00-13:00"),
                        E("pump-stop", ["heat_supply_interruption", "heat_supply_low"], "heat_station", "HS-B5",
                          (pa - H, pa + 3 * H), why="boiler house pump stop 08:00-14:00")],
             "forbid": [], "allow": [{"kinds": ["*"]}],
             # good readings of the same batches are kept: the equivalence check (rollups, incidents) proves it
             "dead_letters": {"max_total": len(bad), "expected": exp_dead},
             "verdicts": {"all": "insufficient_data"},
             "equivalence": {"variants": ["readings_single.jsonl"],
                             "why": "issue 23 item 1 (the contract's batch form for every kind) + contract 'same input ... "
                                    "same results': batches and single lines of the same readings give identical incidents, "
                                    "rollups, monthly CSV and season ledger"}}
    write_scenario("B5_batch_form_every_kind", reg, None, truth, raw_lines=batch_lines,
                   extra_files={"readings_single.jsonl": single_lines})


ALL = (u2, u3, u4, u5, b5)

if __name__ == "__main__":
    import sys
    for f in ALL:
        if len(sys.argv) < 2 or f.__name__ in sys.argv[1:]:
            f()
