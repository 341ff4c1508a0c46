"""Second round of black-box scenarios (use and cost, heat-network shapes, late two-device batches,
adversarial input). Written from contract.md, domain.md, the published schemas, the county's policy
files (deploy/policy/*.yaml) and `--help` only — never the detectors or the simulator.

Each scenario's truth is computed here, by hand-checkable arithmetic, from the readings it writes.
"""
import json, math, random, datetime as dt
from common import *

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
M15 = dt.timedelta(minutes=15)
HEAT_KINDS = ["heat_supply_interruption", "heat_supply_low"]

# ---- the county's tariffs (deploy/policy/tariffs.yaml, every figure 示例 there) ------------------
VALLEY_PRICE, OTHER_PRICE = 0.20, 0.477          # CNY/kWh, valley 22:00-08:00
GAS_TIERS = [(1000, 2.26), (2000, 2.71), (None, 3.39)]  # cumulative over the season's volume
SUB_KWH, SUB_M3, SUB_CAP = 0.2, 1.0, 2400.0
HEAT_PER_M2 = 22.0
BURDEN = 2000.0


def E(id, kinds, etype, eid, start, end=None, ended=True, why="", **extra):
    d = {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
         "entity_id": eid, "start_between": [iso(start[0]), iso(start[1])], "why": why}
    if end:
        d["end_between"] = [iso(end[0]), iso(end[1])]
    d["must_end"] = ended
    d.update(extra)
    return d


def F(id, kinds, etype, ids, window=None, why=""):
    return {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
            "entity_ids": ids, "window": [iso(window[0]), iso(window[1])] if window else None, "why": why}


def in_valley(ts_end):
    """an interval is in the valley when it lies in [22:00, 08:00): ts is the END of the interval"""
    start = ts_end - M15
    return start.hour >= 22 or start.hour < 8


def gas_cost(v):
    cost, lo = 0.0, 0.0
    for up, price in GAS_TIERS:
        hi = v if up is None else min(v, up)
        if hi > lo:
            cost += (hi - lo) * price
        lo = up if up is not None else lo
        if up is not None and v <= up:
            break
    return cost


# ======================================================================= U1 use and cost (full season)
def u1():
    """Full season 2021-11-15..2022-03-15 in 五寨县. Storage-heater, heat-pump, gas and heat-network homes."""
    c = "五寨县"
    t0, t1 = T(2021, 11, 15), T(2022, 3, 16)     # readings end exactly at the end of 03-15 (all in season)
    rng = random.Random(2021)
    mid = T(2022, 1, 15)
    day_off = {}

    def dmean(day):  # daily mean outdoor temperature: -12 mid-January, about -1 at the season's ends
        x = (day - mid).total_seconds() / 86400 / 61.0
        return -12.0 + 11.0 * x * x + day_off.setdefault(day, rng.uniform(-2.5, 2.5))

    def temp(t):
        day = T(t.year, t.month, t.day)
        h = t.hour + t.minute / 60
        return round(dmean(day) + 5.0 * math.sin((h - 9) / 24 * 2 * math.pi), 1)

    days = []
    d = t0
    while d < t1:
        days.append(d); d += D
    hdd = {d: 18.0 - dmean(d) for d in days}   # all >= 19 (mean <= -1 C): every day is a heating day
    assert min(hdd.values()) > 14

    reg, rd = [], []
    rd += [{"kind": "weather", "county": c, "ts": iso(t), "temp_c": temp(t)} for t in steps(t0, t1, 60)]

    def E_row(hid, village, device="storage_heater", rated=8, area=100, prio="none", rt="coal_to_electric"):
        reg.append(dict(household_id=hid, county=c, village=village, township="T-U", retrofit_type=rt,
                        heating_device=device, feeder_id=f"F-{village}", priority_group=prio, rated_kw=rated,
                        area_m2=area, retrofit_completed="2021-09-01", old_heating_present="true"))

    tot = {}

    def electric(hid, k_of_day, appl_of_day, rated, pump=False, seed=0):
        """k_of_day(day) kWh per degree-day of heating; appl_of_day(day) kWh/day of appliances (flat).
        Storage heaters charge only inside the valley (40 intervals), capped at rated power; heat pumps run all day."""
        r = random.Random(seed)
        out, e_all, e_val = [], 0.0, 0.0
        for day in days:
            heat = min(k_of_day(day) * hdd[day], rated * (24 if pump else 10) * 0.95)
            appl = appl_of_day(day)
            for t in steps(day, day + D, 15):
                v = in_valley(t)
                if pump:
                    kwh = heat / 96 * (1 + 0.3 * math.cos((t.hour - 5) / 24 * 2 * math.pi))  # more at night
                else:
                    kwh = heat / 40 if v else 0.0
                kwh += appl / 96
                kwh = round(kwh * (1 + r.uniform(-0.03, 0.03)), 3)
                e_all += kwh
                e_val += kwh if v else 0.0
                out.append({"kind": "electric", "household_id": hid, "ts": iso(t), "interval_s": 900, "kwh": kwh,
                            "kw": round(kwh * 4, 2), "voltage_v": round(221 + r.gauss(0, 1.5), 1), "event": None})
        tot[hid] = (round(e_all, 3), round(e_val, 3))
        return out

    K = 2.6          # a 100 m2 storage-heater home's normal heating, kWh per degree-day
    APPL = 4.0       # lighting, TV, fridge, cooking: kWh/day
    FRIDGE = 0.8     # empty home: fridge only, below the policy's empty_max_kwh 1.5
    flat = lambda k: (lambda day: k)
    const = lambda a: (lambda day: a)
    BILL_DAY, COAL_DAY = T(2021, 12, 20), T(2022, 1, 10)
    AWAY = (T(2022, 1, 25), T(2022, 2, 15))  # 21 days away for the Spring Festival (2022-02-01)
    EMPTY_FROM = T(2021, 12, 5)

    exp_v, why, flagged, not_flagged = {}, {}, [], []
    # ---- village 上村 (UA): 17 storage-heater homes, same type + device (a big peer group)
    for i in range(10):
        hid = f"UAN{i:02d}"
        E_row(hid, "上村")
        rd += electric(hid, flat(K * (0.85 + 0.03 * i)), const(APPL), 8, seed=i)
        exp_v[hid] = "eligible"; not_flagged.append(hid)
    why["UAN*"] = "normal storage-heater use (2.2-3.0 kWh per degree-day, 100 m2, 8 kW), power all season"
    E_row("UAPART", "上村"); rd += electric("UAPART", flat(0.6), const(APPL), 8, seed=20)
    E_row("UABILL", "上村", prio="hardship")
    rd += electric("UABILL", lambda day: K if day < BILL_DAY else 0.4, const(APPL), 8, seed=21)
    E_row("UACOAL", "上村")
    rd += electric("UACOAL", lambda day: K if day < COAL_DAY else 0.0, const(APPL), 8, seed=22)
    E_row("UAAWAY", "上村")
    rd += electric("UAAWAY", lambda day: 0.0 if AWAY[0] <= day < AWAY[1] else K,
                   lambda day: FRIDGE if AWAY[0] <= day < AWAY[1] else APPL, 8, seed=23)
    E_row("UAEMPTY", "上村")
    rd += electric("UAEMPTY", lambda day: K if day < EMPTY_FROM else 0.0,
                   lambda day: APPL if day < EMPTY_FROM else FRIDGE, 8, seed=24)
    E_row("UASMALL", "上村", rated=3, area=35, prio="none")
    rd += electric("UASMALL", flat(0.8), const(2.5), 3, seed=25)
    E_row("UALARGE", "上村", rated=16, area=250)
    rd += electric("UALARGE", flat(6.0), const(6.0), 16, seed=26)
    exp_v.update(UAPART="visit_required", UABILL="visit_required", UACOAL="visit_required", UAAWAY="eligible",
                 UAEMPTY="visit_required", UASMALL="eligible", UALARGE="eligible")
    flagged += ["UAPART", "UABILL", "UACOAL", "UAEMPTY"]
    not_flagged += ["UAAWAY", "UASMALL", "UALARGE"]
    why.update(UAPART="heats one room: 0.6 kWh per degree-day all season (~23% of the village median ~2.6) with power all "
                      "season: barely used (domain: not evidence the old stove can go)",
               UABILL="hardship home, normal until 2021-12-20 (first bill), then 0.4 kWh/degree-day (~15%) to the end: stopped after a bill",
               UACOAL="normal until 2022-01-10, then only 4 kWh/day of appliances (above the empty level): back to coal (返煤) mid-season",
               UAAWAY="DOMAIN-BASED: normal all season except 21 days away (01-25..02-15, fridge only 0.8 kWh/day): the new heating carried the home "
                      "through ~100 cold days incl. the coldest; empty days are absence, not low use (DOMAIN-BASED)",
               UAEMPTY="occupied 3 weeks, then empty from 12-05 to the end (fridge only): no evidence the new heating carries the "
                       "home (domain) = 疑似空置, visit before dismantling (policy use: 'so is a home that stood empty')",
               UASMALL="DOMAIN-BASED: 35 m2 / 3 kW home fully heated for its size (0.8 kWh/degree-day = 23 Wh/m2 vs 26 Wh/m2 for the 100 m2 "
                       "homes; ~31% of the village median per home): not under-used (DOMAIN-BASED: area_m2 and rated_kw are "
                       "in the registry)",
               UALARGE="250 m2 / 16 kW home using 6 kWh/degree-day (~230% of the median)")
    # ---- village 下村 (UB): only 2 storage-heater homes, both back to coal (a tiny peer group)
    for i, k in enumerate((0.5, 0.6)):
        hid = f"UBLOW{i}"
        E_row(hid, "下村")
        rd += electric(hid, flat(k), const(APPL), 8, seed=30 + i)
        exp_v[hid] = "visit_required"; flagged.append(hid)
    why["UBL*"] = ("village of 2 storage-heater homes, both at 0.5-0.6 kWh/degree-day (~20% of the county's peers): judged "
                   "against each other they look normal; the policy falls back to the county below 6 peers")
    # ---- village 中村 (UC): 2 heat pumps, normal (the only heat pumps of the county)
    for i in range(2):
        hid = f"UCHP{i}"
        E_row(hid, "中村", device="heat_pump", rated=5)
        rd += electric(hid, flat(1.05 + 0.05 * i), const(APPL), 5, pump=True, seed=40 + i)
        exp_v[hid] = "eligible"; not_flagged.append(hid)
    why["UCH*"] = "air-source heat pumps (COP ~2.5: ~1.1 kWh per degree-day), normal; too few peers to be judged low"
    # feeders (load of their homes)
    for fid, n in (("F-上村", 17), ("F-下村", 2), ("F-中村", 2)):
        for t in steps(t0, t1, 15):
            rd.append({"kind": "feeder", "feeder_id": fid, "ts": iso(t),
                       "kw": round(n * (5.0 if in_valley(t) else 0.5), 1), "rated_kva": 30 * n})

    # ---- village 东村 (UG): 8 gas homes, hourly gas meters
    gtot = {}

    def gas(hid, k_of_day, cook, seed):
        r = random.Random(seed)
        out, v = [], 0.0
        for day in days:
            m3day = k_of_day(day) * hdd[day] + cook
            for t in steps(day, day + D, 60):
                m3 = round(m3day / 24 * (1 + 0.25 * math.cos((t.hour - 6) / 24 * 2 * math.pi)), 3)
                v += m3
                out.append({"kind": "gas", "household_id": hid, "ts": iso(t), "interval_s": 3600, "m3": m3,
                            "flow_m3h": m3, "pressure_kpa": round(2.0 + r.gauss(0, 0.02), 2)})
        gtot[hid] = round(v, 3)
        return out

    def G_row(hid, area=100, prio="none"):
        reg.append(dict(household_id=hid, county=c, village="东村", township="T-U", retrofit_type="coal_to_gas",
                        heating_device="gas_boiler", gas_station_id="GS-U", priority_group=prio, rated_kw=18,
                        area_m2=area, retrofit_completed="2021-09-01", old_heating_present="true"))
    KG = 0.45   # m3 per degree-day for a 100 m2 home
    for i in range(6):
        hid = f"UGN{i}"
        G_row(hid)
        rd += gas(hid, flat(KG * (0.9 + 0.04 * i)), 0.3, 50 + i)
        exp_v[hid] = "eligible"; not_flagged.append(hid)
    why["UGN*"] = "normal gas heating 0.40-0.49 m3 per degree-day"
    G_row("UGBILL", prio="hardship")
    rd += gas("UGBILL", lambda day: KG if day < BILL_DAY else 0.06, 0.3, 60)
    G_row("UGLARGE", area=220, prio="hardship")
    rd += gas("UGLARGE", flat(1.0), 0.3, 61)
    exp_v.update(UGBILL="visit_required", UGLARGE="eligible")
    flagged.append("UGBILL"); not_flagged.append("UGLARGE")
    why.update(UGBILL="hardship gas home: normal until 12-20, then 0.06 m3/degree-day + cooking (~15%): stopped after a bill",
               UGLARGE="hardship, 220 m2 home burning 1.0 m3 per degree-day: heavy, not under-used; its bill is above the burden threshold")
    for t in steps(t0, t1, 15):
        rd.append({"kind": "gas_station", "station_id": "GS-U", "ts": iso(t), "outlet_pressure_kpa": 2.6, "flow_m3h": 8.0})

    # ---- village 西村 (UH): heat network, 3 homes, area 100 / 60 / 140 m2, one without area
    st = Station("HS-U", 1.0, 160, "boiler_house", seed=70)
    rd += st.series(t0, t1, temp)
    for hid, area in (("UH100", 100), ("UH60", 60), ("UH140", 140), ("UHNOAREA", None)):
        reg.append(dict(household_id=hid, county=c, village="西村", township="T-U", retrofit_type="boiler_ultra_low_emission",
                        heating_device="district", priority_group="none", rated_kw=6, area_m2=area, heat_station_id="HS-U",
                        heat_station_kind="boiler_house", retrofit_completed="2021-09-01", old_heating_present="true"))
        exp_v[hid] = "eligible"; not_flagged.append(hid)
    why["UH*"] = "4-home boiler house healthy all season; heat-network homes have no meter of their own: use not judged"

    # ---- cost truth, by hand from tariffs.yaml
    cost = {}
    for hid in ("UAN00", "UALARGE", "UABILL"):
        e, v = tot[hid]
        ec = v * VALLEY_PRICE + (e - v) * OTHER_PRICE
        sub = min(SUB_CAP, SUB_KWH * e)
        cost[hid] = {"energy_kwh": e, "valley_kwh": v, "energy_cost": round(ec, 2), "subsidy": round(sub, 2),
                     "net_cost": round(ec - sub, 2),
                     "why": f"{v:.3f} kWh in the valley x 0.20 + {e - v:.3f} kWh outside x 0.477 = {ec:.2f}; subsidy "
                            f"min(2400, 0.2 x {e:.3f}) = {sub:.2f}"}
    for hid in ("UGN0", "UGLARGE", "UGBILL"):
        v = gtot[hid]
        ec = gas_cost(v)
        sub = min(SUB_CAP, SUB_M3 * v)
        cost[hid] = {"gas_m3": v, "energy_cost": round(ec, 2), "subsidy": round(sub, 2), "net_cost": round(ec - sub, 2),
                     "why": f"{v:.3f} m3 tiered (1000 x 2.26, next 1000 x 2.71, rest x 3.39) = {ec:.2f}; subsidy "
                            f"min(2400, 1.0 x {v:.3f}) = {sub:.2f}"}
    for hid, area in (("UH100", 100), ("UH60", 60), ("UH140", 140)):
        ec = HEAT_PER_M2 * area
        cost[hid] = {"energy_cost": ec, "subsidy": 0.0, "net_cost": ec, "cost_per_m2": HEAT_PER_M2,
                     "why": f"heat charge 22 CNY/m2 x {area} m2, no household subsidy"}
    cost["UHNOAREA"] = {"energy_cost": None, "net_cost": None, "why": "no area_m2 in the registry: heat cost not computed (tariffs.yaml)"}
    burden_in = [h for h, x in cost.items() if x.get("net_cost") is not None and x["net_cost"] > BURDEN]
    burden_out = [h for h, x in cost.items() if x.get("net_cost") is not None and x["net_cost"] < BURDEN - 100]

    truth = {"description": "Full season 2021-11-15..2022-03-15 (readings end 03-16 00:00) in 五寨县: 21 electric homes "
                            "(17 storage heaters in 上村 incl. partial use / stopped after a bill / back to coal / 3 weeks away / "
                            "empty most of the winter / small / large; 2 storage heaters in 下村 both under-used; 2 heat pumps), "
                            "8 gas homes (one stopped after a bill, one large hardship), 4 heat-network homes with areas.",
             "expect": [], "forbid": [], "allow": [{"kinds": ["*"]}], "dead_letters": {"max_total": 0},
             "verdicts": exp_v, "verdict_why": why, "season_only": True,
             "use": {"flagged": flagged, "not_flagged": not_flagged,
                     "why": "flagged = verdict 'visit required' (or use state suspected unused/empty) and listed in the report's "
                            "suspected unused / empty table; not_flagged = neither"},
             "cost": cost, "cost_tol": 1.0,
             "burden": {"listed": burden_in, "not_listed": burden_out,
                        "priority_first": [h for h in burden_in if h in ("UGLARGE",)],
                        "why": "net season cost (after subsidy) above 2000 CNY (tariffs.yaml burden.threshold_cny)"},
             "hdd_note": "every day's mean temperature is <= -1 C (HDD >= 19): every day after the warm-up is a judged day"}
    write_scenario("U1_use_and_cost_season", reg, sort_time(rd), truth)


# ======================================================================= H1 heat-network shapes
class Net(Station):
    """Station with an extra fault, 'supply_drop' (under-fired boiler / throttled primary): supply down by `drop` K,
    return down by 40 % of that, flow normal, heat output falls; back to normal within the hour after."""

    def __init__(self, *a, drop=18.0, **k):
        super().__init__(*a, **k)
        self.drop = drop

    def reading(self, t, to):
        saved = self.faults
        self.faults = []
        try:
            r = Station.reading(self, t, to)   # the healthy reading (same noise stream)
        finally:
            self.faults = saved
        for kind, a, b in self.faults:
            if kind == "supply_drop" and a < t <= b + H:
                f = min(1.0, (t - a) / H) if t <= b else max(0.0, 1 - (t - b) / H)
                r["secondary_supply_c"] = round(r["secondary_supply_c"] - self.drop * f, 1)
                r["secondary_return_c"] = round(r["secondary_return_c"] - 0.4 * self.drop * f, 1)
                r["heat_kw"] = round(max(0.0, r["flow_m3h"] * 1.163 * (r["secondary_supply_c"] - r["secondary_return_c"])), 2)
        return r


def h1():
    c = "河曲县"; t0, t1 = T(2021, 12, 1), T(2021, 12, 15)
    tf = lambda t: outdoor(t, base=-7.0)
    nets = {
        "HS-H-3": (Net("HS-H-3", 0.7, 150, "biomass", seed=201), 3, "biomass_district"),
        "HS-H-3000": (Net("HS-H-3000", 700.0, 450, "chp_waste_heat", seed=202), 3000, "district_heating"),
        "HS-H-LT50": (Net("HS-H-LT50", 9.0, 240, "boiler_house", design=(50.0, 40.0), seed=203), 30, "boiler_ultra_low_emission"),
        "HS-H-LT45": (Net("HS-H-LT45", 1.0, 150, "biomass", design=(45.0, 35.0), seed=204), 3, "biomass_district"),
        "HS-H-DROP": (Net("HS-H-DROP", 70.0, 380, "chp_waste_heat", seed=205, drop=18.0), 300, "district_heating"),
        "HS-H-LTDROP": (Net("HS-H-LTDROP", 6.0, 230, "boiler_house", design=(50.0, 40.0), seed=206, drop=12.0), 20,
                        "boiler_ultra_low_emission"),
    }
    da, db = T(2021, 12, 9, 6), T(2021, 12, 9, 16)
    la, lb = T(2021, 12, 10, 6), T(2021, 12, 10, 16)
    nets["HS-H-DROP"][0].fault("supply_drop", da, db)
    nets["HS-H-LTDROP"][0].fault("supply_drop", la, lb)
    reg, rd = [], weather(c, t0, t1, base=-7.0)
    for k, (sid, (s, n, rt)) in enumerate(nets.items()):
        pre = f"H1{k}"
        for i in range(n):
            reg.append(dict(household_id=f"{pre}H{i:04d}", county=c, village=f"HV{k}", township="T-H", retrofit_type=rt,
                            heating_device="district", priority_group=("school" if i == 0 else "none"), rated_kw=6,
                            heat_station_id=sid, heat_station_kind=s.kind, retrofit_completed="2021-09-20",
                            old_heating_present="true"))
        rd += s.series(t0, t1, tf)
        for j in range(2):
            hid = f"{pre}H{j:04d}"
            cold = []
            if sid == "HS-H-DROP":
                cold = [(da + H, db, 15.0)]
            if sid == "HS-H-LTDROP":
                cold = [(la + H, lb, 15.5)]
            rd += indoor_series(hid, t0, t1, None, seed=210 + 10 * k + j, minutes=15, drop=0.03, base=21.0, cold=cold)
    idx = {sid: k for k, sid in enumerate(nets)}
    early = t0 + 3 * D
    exp = [E("drop-300", HEAT_KINDS, "heat_station", "HS-H-DROP", (da, da + 2 * H), (db - H, db + 3 * H),
             why="300-home 75/50 station: supply 18 K below its curve for 10 h (flow normal, output ~halved), sampled homes at 15 C",
             households_affected=300),
           E("drop-lowtemp", HEAT_KINDS, "heat_station", "HS-H-LTDROP", (la, la + 2 * H), (lb - H, lb + 3 * H),
             why="DOMAIN-BASED: 20-home 50/40 network without a design in the registry, steady 9 days, then its supply falls "
                 "12 K below its own normal for 10 h and the sampled homes cool to 15.5 C: judged against its own normal, a real drop",
             households_affected=20)]
    forb = [F("small-and-huge-quiet", HEAT_KINDS, "heat_station", ["HS-H-3", "HS-H-3000"], None,
              "3-home (0.7 m3/h) and 3000-home (700 m3/h) stations healthy for 14 days"),
            F("lt50-own-normal", HEAT_KINDS, "heat_station", ["HS-H-LT50"], (early, t1),
              "DOMAIN-BASED: 30-home 50/40 network (no design in the registry) running steadily at its own curve, homes at 21 C: "
              "no supply-low after its first 3 days"),
            F("lt45-own-normal", HEAT_KINDS, "heat_station", ["HS-H-LT45"], (early, t1),
              "DOMAIN-BASED: 3-home 45/35 floor-heating network (no design), steady, homes at 21 C: none after the first 3 days"),
            F("ltdrop-quiet-before", HEAT_KINDS, "heat_station", ["HS-H-LTDROP"], (early, la - H), "steady before its drop"),
            F("ltdrop-quiet-after", HEAT_KINDS, "heat_station", ["HS-H-LTDROP"], (lb + 4 * H, t1), "steady after its drop"),
            F("drop-quiet-outside", HEAT_KINDS, "heat_station", ["HS-H-DROP"], (t0, da - H), "healthy before"),
            F("drop-quiet-after", HEAT_KINDS, "heat_station", ["HS-H-DROP"], (db + 4 * H, t1), "healthy after"),
            F("warm-homes", ["indoor_temp_low"], "household",
              [f"H1{idx[s]}H{j:04d}" for s in ("HS-H-3", "HS-H-3000", "HS-H-LT50", "HS-H-LT45") for j in range(2)], None,
              "sampled homes at 21 C on healthy stations")]
    truth = {"description": "14 days (2021-12-01..15) in 河曲县, six networks: 3-home biomass, 3000-home CHP, 30-home 50/40 and 3-home "
                            "45/35 low-temperature networks with no design in the registry (steady), a 300-home 75/50 station with a "
                            "10 h supply drop of 18 K, a 20-home 50/40 network with a 10 h drop of 12 K; 2 indoor sensors each.",
             "expect": exp, "forbid": forb,
             "allow": [{"kinds": ["indoor_temp_low", "comm_loss"], "entity_prefix": "H14H"},
                       {"kinds": ["indoor_temp_low", "comm_loss"], "entity_prefix": "H15H"},
                       {"kinds": HEAT_KINDS, "entity_ids": ["HS-H-LT50", "HS-H-LT45", "HS-H-LTDROP"],
                        "why": "first 3 days of a network without design (learning)"}],
             "dead_letters": {"max_total": 0}, "verdicts": {"all": "insufficient_data"}, "max_open_days": 2}
    write_scenario("H1_network_shapes", reg, sort_time(rd), truth)


# ======================================================================= H2 two devices, late batches
def h2():
    c = "保德县"; t0, t1 = T(2021, 12, 13), T(2021, 12, 17)
    tf = lambda t: outdoor(t, base=-8.0)
    s = Station("HS-H2", 7.0, 250, "boiler_house", seed=301)
    reg = [dict(household_id=f"H2H{i:04d}", county=c, village="BV", township="T-B", retrofit_type="boiler_ultra_low_emission",
                heating_device="district", priority_group=("school" if i == 0 else "none"), rated_kw=6,
                heat_station_id="HS-H2", heat_station_kind="boiler_house", retrofit_completed="2021-09-20",
                old_heating_present="true") for i in range(30)]
    rd = weather(c, t0, t1, base=-8.0) + s.series(t0, t1, tf)
    dual = "H2H0001"
    ind = indoor_series(dual, t0, t1, s, seed=302, minutes=15, drop=0.0)
    hm = heat_meter_series(dual, t0, t1, s, tf, seed=303, minutes=60)
    other = indoor_series("H2H0002", t0, t1, s, seed=304, minutes=15, drop=0.0)
    rd += ind + hm + other
    srt = sort_time(rd)
    lines_sorted = [json.dumps(x, ensure_ascii=False) for x in srt]
    # late 1: 12-14 02:00-08:00 of both devices of the dual home, uploaded as one concentrator batch after 12-14 13:00
    # late 2: all of 12-15 of both devices, collected by the head-end the next morning (after 12-16 08:00)
    w1 = ("2021-12-14T02:15", "2021-12-14T08:00")
    w2 = ("2021-12-15T00:15", "2021-12-16T00:00")

    def held(x, w):
        return x.get("household_id") == dual and w[0] <= x["ts"][:16] <= w[1]
    b1 = [x for x in srt if held(x, w1)]
    b2 = [x for x in srt if held(x, w2)]
    rest = [x for x in srt if not held(x, w1) and not held(x, w2)]
    lines, put1, put2 = [], False, False
    for x in rest:
        if not put1 and x["ts"][:16] > "2021-12-14T13:00":
            lines.append(json.dumps({"kind": "batch", "source": "CONC-H2-late", "readings": b1}, ensure_ascii=False)); put1 = True
        if not put2 and x["ts"][:16] > "2021-12-16T08:00":
            lines.append(json.dumps({"kind": "batch", "source": "HEADEND-H2-morning", "readings": b2}, ensure_ascii=False)); put2 = True
        lines.append(json.dumps(x, ensure_ascii=False))
    assert put1 and put2

    def count(day):
        a, b = f"{day}T00:15", (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat() + "T00:00"
        return sum(1 for x in srt if x.get("household_id") == dual and a <= x["ts"][:16] <= b)
    kept = [{"id": f"dual-{d}", "household_id": dual, "day": d, "readings_exact": count(d),
             "why": "indoor sensor (96) + heat meter (24), partly uploaded hours late in a batch: nothing lost"}
            for d in ("2021-12-14", "2021-12-15")]
    truth = {"description": "30-home boiler house, healthy, 4 days. Home H2H0001 has an indoor sensor (15 min) and a heat meter "
                            "(hourly) at the same timestamps. 12-14 02:15-08:00 of both devices arrive in one batch ~5 h late; "
                            "all of 12-15 of both devices arrive in one head-end batch the next morning (8-32 h late, within the "
                            "48 h revision horizon the product's summary documents).",
             "expect": [], "forbid": [F("station-fine", HEAT_KINDS, "heat_station", ["HS-H2"], None, "healthy"),
                                      F("no-cold", ["indoor_temp_low"], "household", [dual, "H2H0002"], None, "homes at 21 C")],
             "allow": [{"kinds": ["comm_loss"], "entity_ids": [dual],
                        "why": "a real-time comm loss while the data was late is tolerated here; the equivalence check decides"}],
             "dead_letters": {"max_total": 0},
             "summary": {"conflicts": 0, "duplicates": 0, "rejected": 0},
             "kept": kept, "verdicts": {"all": "insufficient_data"},
             "equivalence": {"variants": ["readings_sorted.jsonl"],
                             "compare": ["incidents.jsonl", "rollups", "monthly_csv", "season_csv"],
                             "why": "contract: the same input in any order gives the same results (the late file vs the time-sorted one)"}}
    write_scenario("H2_two_devices_late_batch", reg, None, truth, raw_lines=lines,
                   extra_files={"readings_sorted.jsonl": lines_sorted})


# ======================================================================= X1 adversarial input
def x1():
    c = "偏关县"; t0, t1 = T(2021, 12, 5), T(2021, 12, 6)
    tf = lambda t: outdoor(t, base=-9.0)
    reg = [dict(household_id=f"XE{i}", county=c, village="XV", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-X", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(2)]
    reg += [dict(household_id="XG0", county=c, village="XV", retrofit_type="coal_to_gas", heating_device="gas_boiler",
                 gas_station_id="GS-X", priority_group="none", rated_kw=12, retrofit_completed="2021-09-01")]
    reg += [dict(household_id="XH0", county=c, village="XV", retrofit_type="boiler_ultra_low_emission", heating_device="district",
                 priority_group="none", rated_kw=6, heat_station_id="HS-X", heat_station_kind="boiler_house",
                 retrofit_completed="2021-09-20")]
    s = Station("HS-X", 0.7, 150, "boiler_house", seed=401)
    rd = weather(c, t0, t1, base=-9.0) + feeder_series("F-X", t0, t1, 2, 50) + s.series(t0, t1, tf)
    rd += electric_series("XE0", t0, t1, seed=1) + electric_series("XE1", t0, t1, seed=2)
    rd += gas_series("XG0", t0, t1, seed=3) + gas_station_series("GS-X", t0, t1, n=1)
    rd += indoor_series("XH0", t0, t1, s, seed=4, minutes=60, drop=0.0) + heat_meter_series("XH0", t0, t1, s, tf, minutes=60)
    rd += cems_series("HS-X", t0, t1, [(t0, t1, "running")], seed=5, minutes=60)
    good = [json.dumps(x, ensure_ascii=False) for x in sort_time(rd)]
    ts = "2021-12-05T12:30:00+08:00"
    e = {"kind": "electric", "household_id": "XE0", "ts": ts, "interval_s": 900, "kwh": 0.1, "kw": 0.4, "voltage_v": 220.0, "event": None}
    g = {"kind": "gas", "household_id": "XG0", "ts": ts, "interval_s": 3600, "m3": 0.6, "flow_m3h": 0.6, "pressure_kpa": 2.0}
    bad = [  # (id, raw line, words the reason should contain (any), why)
        ("electric-missing-kwh", json.dumps({k: v for k, v in e.items() if k != "kwh"}), ["kwh"], "required field missing"),
        ("electric-bad-event", json.dumps(dict(e, event="blackout")), ["event"], "event outside null/power_down/power_up"),
        ("electric-nan", json.dumps(dict(e, kwh=float("nan"))), ["kwh"], "NaN energy (Python's json writes NaN)"),
        ("electric-inf", json.dumps(dict(e, kw=float("inf"))), ["kw"], "Infinity demand"),
        ("electric-empty-id", json.dumps(dict(e, household_id="")), ["household_id"], "minLength 1"),
        ("electric-month-13", json.dumps(dict(e, ts="2021-13-05T12:30:00+08:00")), ["ts"], "no such month"),
        ("gas-negative", json.dumps(dict(g, m3=-0.5)), ["m3"], "volume < 0"),
        ("gas-string-pressure", json.dumps(dict(g, pressure_kpa="low")), ["pressure_kpa"], "text instead of a number"),
        ("feeder-zero-kva", json.dumps({"kind": "feeder", "feeder_id": "F-X", "ts": ts, "kw": 5.0, "rated_kva": 0}), ["rated_kva"],
         "rated_kva must be > 0"),
        ("gas-station-no-id", json.dumps({"kind": "gas_station", "ts": ts, "outlet_pressure_kpa": 2.6, "flow_m3h": 0.7}),
         ["station_id"], "station_id missing"),
        ("weather-hot", json.dumps({"kind": "weather", "county": c, "ts": ts, "temp_c": 75.0}, ensure_ascii=False), ["temp_c"],
         "75 C outdoors in December (schema max 60)"),
        ("heat-station-null-flow", json.dumps({"kind": "heat_station", "heat_station_id": "HS-X", "ts": ts, "secondary_supply_c": 60.0,
                                               "secondary_return_c": 45.0, "supply_pressure_kpa": 150.0, "flow_m3h": None,
                                               "heat_kw": 10.0}), ["flow_m3h"], "flow null"),
        ("indoor-99", json.dumps({"kind": "indoor_temp", "household_id": "XH0", "ts": ts, "temp_c": 99.9}), ["temp_c"],
         "99.9 C indoors (schema max 60)"),
        ("heat-meter-no-offset", json.dumps({"kind": "heat_meter", "household_id": "XH0", "ts": "2021-12-05 12:30:00",
                                             "interval_s": 3600, "supply_c": 60.0, "return_c": 45.0, "flow_m3h": 0.2,
                                             "energy_kwh": 3.5}), ["ts"], "timestamp without a UTC offset (contract: ISO 8601 with an offset)"),
        ("stack-o2-21", json.dumps({"kind": "stack_emission", "heat_station_id": "HS-X", "ts": ts, "interval_s": 3600,
                                    "particulates_mg_m3": 5.0, "so2_mg_m3": 18.0, "nox_mg_m3": 38.0, "o2_pct": 21.0,
                                    "flue_flow_m3h": 9000}), ["o2"], "O2 must be < 21 %"),
        ("unknown-kind", json.dumps({"kind": "water", "household_id": "XE0", "ts": ts, "m3": 0.1}), ["kind", "water"], "no such kind"),
        ("no-kind", json.dumps({"household_id": "XE0", "ts": ts, "kwh": 0.1}), ["kind"], "no discriminator"),
        ("batch-readings-not-list", json.dumps({"kind": "batch", "source": "CONC-X", "readings": "none"}), ["readings"],
         "readings is a string"),
        ("batch-no-source", json.dumps({"kind": "batch", "readings": [dict(e, ts="2021-12-05T12:45:00+08:00", household_id="XE1")]}),
         ["source"], "batch without its concentrator id"),
        ("json-array", "[1, 2, 3]", None, "a JSON array, not an object"),
        ("json-string", json.dumps("electric"), None, "a JSON string"),
        ("garbage", "hello,world;;", None, "not JSON"),
        ("trailing-garbage", json.dumps({"kind": "weather", "county": c, "ts": ts, "temp_c": -5.0}, ensure_ascii=False) + " }}", None,
         "valid object followed by garbage"),
    ]
    # interleave: one bad line after every ~40 good lines
    lines, dl = [], []
    step = max(1, len(good) // (len(bad) + 1))
    gi = 0
    for k, (bid, raw, words, why) in enumerate(bad):
        lines += good[gi: gi + step]; gi += step
        lines.append(raw)
        d = {"id": bid, "raw_equals": raw, "line_no": len(lines), "count": 1, "why": why}
        if words:
            d["reason_contains_any_ci"] = words
        dl.append(d)
    lines += good[gi:]
    # the rejected batch reading of 'batch-no-source' must not appear as kept either: XE1 keeps its 96 real readings
    kept = [{"id": f"kept-{h}", "household_id": h, "day": "2021-12-05", "readings_exact": n,
             "why": "every good reading kept next to the bad lines"}
            for h, n in (("XE0", 96), ("XE1", 96), ("XG0", 24), ("XH0", 48))]
    cli = [
        {"id": "missing-input", "args": ["replay", "--registry", "{scen}/registry.csv", "--input", "{scen}/no-such-file.jsonl",
                                         "--out", "{tmp}/cli-missing"], "rc": "nonzero", "stderr_any": ["no-such-file"],
         "why": "a missing input file is an error naming it, not a traceback and not an empty successful run"},
        {"id": "registry-missing-column", "args": ["replay", "--registry", "{scen}/registry_no_rated_kw.csv", "--input",
                                                   "{scen}/readings.jsonl", "--out", "{tmp}/cli-noreg"], "rc": "nonzero",
         "stderr_any": ["rated_kw"], "why": "contract: rated_kw is required; the error names the column"},
        {"id": "season-missing-run", "args": ["report", "season", "--season", "2021-2022", "--run", "{tmp}/no-such-run",
                                              "--out", "{tmp}/cli-season"], "rc": "nonzero", "stderr_any": ["no-such-run"],
         "why": "report on a run that does not exist"},
        {"id": "monthly-bad-month", "args": ["report", "monthly", "--month", "2021-13", "--run", "{out}", "--out",
                                             "{tmp}/cli-monthly"], "rc": "nonzero", "stderr_any": ["2021-13"],
         "why": "month 13"},
    ]
    truth = {"description": "One day of every line kind for 4 homes (2 electric, gas, heat network with indoor sensor + heat meter), "
                            "a feeder, a gas station, a boiler house with CEMS; 23 malformed lines interleaved, each kind broken "
                            "in its own way (missing field, bad enum, NaN, Infinity, empty id, month 13, negative, text number, "
                            "zero rated_kva, null flow, out-of-range temperatures, no UTC offset, O2 = 21, unknown / missing kind, "
                            "bad batches, non-object JSON, garbage). Plus CLI error cases.",
             "expect": [], "allow": [{"kinds": ["peak_charging"]}],
             "forbid": [F("no-incidents", ["comm_loss", "household_outage", "feeder_outage", "heat_supply_interruption",
                                           "heat_supply_low", "indoor_temp_low", "meter_clock_fault", "gas_low_pressure",
                                           "gas_supply_shortfall", "emission_exceedance"], "*", "*", None,
                          "healthy day: rejected lines must not create incidents")],
             "dead_letters": {"max_total": len(bad), "expected": dl,
                              "why": "contract: every rejected input line is in dead_letters.jsonl with line_no, raw, reason; "
                                     "line_no counted from 1 as in any editor"},
             "summary": {"rejected": len(bad)},
             "kept": kept, "cli": cli, "verdicts": {"all": "insufficient_data"}}
    regcols_drop = "rated_kw"
    write_scenario("X1_adversarial_lines", reg, None, truth, raw_lines=lines)
    import csv, os
    d = os.path.join(ROOT, "X1_adversarial_lines")
    rows = list(csv.DictReader(open(os.path.join(d, "registry.csv"), encoding="utf-8")))
    with open(os.path.join(d, "registry_no_rated_kw.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[k for k in REG_COLS if k != regcols_drop], extrasaction="ignore")
        w.writeheader(); w.writerows(rows)


# ======================================================================= X2 a GBK line in a UTF-8 file
def x2():
    c = "偏关县"; t0, t1 = T(2021, 12, 5), T(2021, 12, 6)
    reg = [dict(household_id=f"XE{i}", county=c, village="XV", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-X", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(2)]
    rd = weather(c, t0, t1, base=-9.0) + feeder_series("F-X", t0, t1, 2, 50)
    rd += electric_series("XE0", t0, t1, seed=1) + electric_series("XE1", t0, t1, seed=2)
    good = [json.dumps(x, ensure_ascii=False).encode("utf-8") for x in sort_time(rd)]
    gbk = json.dumps({"kind": "weather", "county": c, "ts": "2021-12-05T12:30:00+08:00", "temp_c": -5.0},
                     ensure_ascii=False).encode("gbk")
    lines = good[:100] + [gbk] + good[100:]
    truth = {"description": "One day, 2 electric homes; line 101 is a weather reading written in GBK (an Excel/Windows export) "
                            "inside the UTF-8 file. That line is dead-lettered; the run does not fail and every other line is kept.",
             "expect": [], "allow": [{"kinds": ["peak_charging"]}],
             "forbid": [F("no-incidents", ["comm_loss", "household_outage", "feeder_outage"], "*", "*", None, "healthy day")],
             "dead_letters": {"max_total": 1, "expected": [{"id": "gbk-line", "line_no": 101, "count": 1,
                                                            "why": "not UTF-8: rejected with a reason, the run goes on"}]},
             "kept": [{"id": f"kept-{h}", "household_id": h, "day": "2021-12-05", "readings_exact": 96} for h in ("XE0", "XE1")],
             "verdicts": {"all": "insufficient_data"}}
    import os
    write_scenario("X2_non_utf8_line", reg, None, truth, raw_lines=["placeholder"])
    with open(os.path.join(ROOT, "X2_non_utf8_line", "readings.jsonl"), "wb") as f:
        f.write(b"\n".join(lines) + b"\n")


# ======================================================================= X3 clocks in the past
def x3():
    c = "偏关县"; t0, t1 = T(2021, 12, 5), T(2021, 12, 7)
    reg = [dict(household_id=f"XP{i}", county=c, village="XV", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-XP", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(6)]
    rd = weather(c, t0, t1, base=-9.0) + feeder_series("F-XP", t0, t1, 6, 100)
    per = {f"XP{i}": electric_series(f"XP{i}", t0, t1, seed=i) for i in range(6)}
    # XP1: real-time clock reset to 2000-01-01 (a common RTC default) for 4 readings on 12-05 10:15-11:00, then resynced
    k = 0
    for r in per["XP1"]:
        if "2021-12-05T10:15" <= r["ts"][:16] <= "2021-12-05T11:00":
            k += 1
            r["ts"] = f"2000-01-01T00:{15 * k:02d}:00+08:00" if k < 4 else "2000-01-01T01:00:00+08:00"
    # XP2: year wrong (2015, six years before the programme and the meter's installation) for 3 readings 12-06 14:15-14:45
    for r in per["XP2"]:
        if "2021-12-06T14:15" <= r["ts"][:16] <= "2021-12-06T14:45":
            r["ts"] = "2015" + r["ts"][4:]
    for h in per:
        rd += per[h]
    truth = {"description": "6 electric meters, 2 days. XP1's clock resets to 2000-01-01 for 4 readings (12-05 10:15-11:00); "
                            "XP2 stamps 3 readings in 2015 (12-06 14:15-14:45). Both are outside the programme's window (the 2021 "
                            "plan; the meters were installed by 2021-09-01): rejected with a reason naming the meter.",
             "expect": [], "allow": [{"kinds": ["peak_charging"]},
                                     {"kinds": ["meter_clock_fault", "comm_loss"], "entity_ids": ["XP1", "XP2"]}],
             "forbid": [F("others-quiet", ["comm_loss", "household_outage", "meter_clock_fault"], "household",
                          ["XP0", "XP3", "XP4", "XP5"], None, "correct meters"),
                        F("no-feeder-outage", ["feeder_outage"], "*", "*", None, "power never lost"),
                        F("nothing-in-the-past", ["*"], "*", "*", (T(1999, 1, 1), T(2021, 1, 1)),
                          "no incident may be dated in 2000 or 2015")],
             "dead_letters": {"max_total": 7, "expected": [
                 {"id": "reset-2000", "raw_contains": "2000-01-01", "count": 4, "reason_contains_any": ["XP1"],
                  "why": "contract: outside the programme's window -> rejected naming the meter"},
                 {"id": "year-2015", "raw_contains": "2015-12-06", "count": 3, "reason_contains_any": ["XP2"],
                  "why": "contract: outside the programme's window -> rejected naming the meter"}]},
             "kept": [{"id": "kept-XP0", "household_id": "XP0", "day": "2021-12-05", "readings_exact": 96},
                      {"id": "kept-XP1", "household_id": "XP1", "day": "2021-12-05", "readings_exact": 92},
                      {"id": "kept-XP2", "household_id": "XP2", "day": "2021-12-06", "readings_exact": 93}],
             "no_rollup_before": "2021-01-01",
             "verdicts": {"all": "insufficient_data"}}
    write_scenario("X3_clock_in_the_past", reg, sort_time(rd), truth)


ALL = (u1, h1, h2, x1, x2, x3)

if __name__ == "__main__":
    for f in ALL:
        f()
