"""Generate every scenario under validation/blackbox/<name>/ (registry.csv, readings.jsonl, truth.json)."""
import json, random, datetime as dt
from common import *

HEAT_KINDS = ["heat_supply_interruption", "heat_supply_low"]
H = dt.timedelta(hours=1)
M15 = dt.timedelta(minutes=15)


def E(id, kinds, etype, eid, start, end=None, ended=True, why="", **extra):
    """expected incident: started within start=[a,b]; ended within end=[a,b] (or still open if ended False)"""
    d = {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
         "entity_id": eid, "start_between": [iso(start[0]), iso(start[1])], "why": why}
    if end:
        d["end_between"] = [iso(end[0]), iso(end[1])]
    d["must_end"] = ended
    d.update(extra)
    return d


def F(id, kinds, etype, ids, window=None, why=""):
    """forbidden: no incident of kinds on entity ids overlapping window (None = whole run)"""
    return {"id": id, "kinds": kinds if isinstance(kinds, list) else [kinds], "entity_type": etype,
            "entity_ids": ids, "window": [iso(window[0]), iso(window[1])] if window else None, "why": why}


def homes(prefix, n, county, village, station, kind, rt="district_heating", start=0, **kw):
    return [dict(household_id=f"{prefix}{i:04d}", county=county, village=village, township="T1",
                 retrofit_type=rt, heating_device="district", priority_group=("school" if i == start else "none"),
                 rated_kw=6, heat_station_id=station, heat_station_kind=kind,
                 retrofit_completed="2021-09-20", old_heating_present="true", **kw)
            for i in range(start, start + n)]


def tempf(**kw):
    return lambda t: outdoor(t, **kw)


# ======================================================================= A1 pump stop, 3 sizes
def a1():
    c = "五台县"; t0, t1 = T(2021, 12, 10), T(2021, 12, 13)
    tf = tempf()
    st = {
        "HS-A1-3": Station("HS-A1-3", 0.7, 160, "biomass", seed=1).fault("pump_stop", T(2021, 12, 11, 10), T(2021, 12, 11, 14)),
        "HS-A1-30": Station("HS-A1-30", 7.0, 260, "boiler_house", seed=2).fault("pump_stop", T(2021, 12, 11, 2), T(2021, 12, 11, 6)),
        "HS-A1-3000": Station("HS-A1-3000", 700.0, 450, "chp_waste_heat", seed=3).fault("pump_stop", T(2021, 12, 12, 8), T(2021, 12, 12, 12)),
    }
    n = {"HS-A1-3": 3, "HS-A1-30": 30, "HS-A1-3000": 3000}
    reg = []
    for i, (sid, s) in enumerate(st.items()):
        reg += homes(f"A1{i}H", n[sid], c, f"V{i}", sid, s.kind, rt=["biomass_district", "boiler_ultra_low_emission", "district_heating"][i])
    rd = weather(c, t0, t1)
    for s in st.values():
        rd += s.series(t0, t1, tf)
    exp, forb = [], []
    for sid, s in st.items():
        k, a, b = s.faults[0]
        exp.append(E(f"{sid}-pumpstop", "heat_supply_interruption", "heat_station", sid, (a, a + 1.5 * H), (b - 0.5 * H, b + 2 * H),
                     why=f"pump stop (flow -> ~1% of design) {a:%m-%d %H:%M}-{b:%H:%M} on a {n[sid]}-home station",
                     households_affected=n[sid]))
        forb.append(F(f"{sid}-quiet-before", HEAT_KINDS, "heat_station", [sid], (t0, a - H), "station healthy before its pump stop"))
        forb.append(F(f"{sid}-quiet-after", HEAT_KINDS, "heat_station", [sid], (b + 3 * H, t1), "station healthy after recovery"))
    truth = {"description": "Heat stations of 3 / 30 / 3000 homes (0.7 / 7 / 700 m3/h, 75/50 curve) each with a 4 h pump stop.",
             "expect": exp, "forbid": forb,
             "allow": [{"kinds": ["indoor_temp_low", "comm_loss"], "why": "children of the station incident"}],
             "dead_letters": {"max_total": 0}, "verdicts": {"all": "insufficient_data"}}
    write_scenario("A1_pump_stop_sizes", reg, sort_time(rd), truth)


# ======================================================================= A2 heat-source loss
def a2():
    c = "代县"; t0, t1 = T(2021, 12, 14), T(2021, 12, 17)
    tf = tempf(base=-9)
    st = {
        "HS-A2-3": Station("HS-A2-3", 0.7, 150, "biomass", seed=11).fault("source_loss", T(2021, 12, 15, 9), T(2021, 12, 15, 15)),
        "HS-A2-30": Station("HS-A2-30", 7.0, 250, "boiler_house", seed=12).fault("source_loss", T(2021, 12, 15, 20), T(2021, 12, 16, 2)),
        "HS-A2-3000": Station("HS-A2-3000", 700.0, 450, "chp_waste_heat", seed=13).fault("source_loss", T(2021, 12, 16, 8), T(2021, 12, 16, 14)),
    }
    n = {"HS-A2-3": 3, "HS-A2-30": 30, "HS-A2-3000": 3000}
    reg = []
    for i, (sid, s) in enumerate(st.items()):
        reg += homes(f"A2{i}H", n[sid], c, f"V{i}", sid, s.kind, rt=["biomass_district", "boiler_ultra_low_emission", "district_heating"][i])
    rd = weather(c, t0, t1, base=-9)
    for s in st.values():
        rd += s.series(t0, t1, tf)
    # one indoor sensor per station, to show the homes cooling
    for i, sid in enumerate(st):
        rd += indoor_series(f"A2{i}H{0:04d}", t0, t1, st[sid], seed=20 + i, drop=0.0)
    exp, forb = [], []
    for sid, s in st.items():
        k, a, b = s.faults[0]
        exp.append(E(f"{sid}-sourceloss", "heat_supply_interruption", "heat_station", sid, (a, a + 3 * H), (b - H, b + 3 * H),
                     why=f"heat source lost {a:%m-%d %H:%M}-{b:%m-%d %H:%M}, pumps running: dT->0, heat_kw->0, loop cools to ~20 C "
                         "(domain: same event for the homes as a pump stop)", households_affected=n[sid],
                     alt_kinds=["heat_supply_low"]))
        forb.append(F(f"{sid}-quiet-before", HEAT_KINDS, "heat_station", [sid], (t0, a - H)))
        forb.append(F(f"{sid}-quiet-after", HEAT_KINDS, "heat_station", [sid], (b + 4 * H, t1)))
    truth = {"description": "Heat-source loss with pumps running on 3 / 30 / 3000-home stations (6 h each).",
             "expect": exp, "forbid": forb,
             "allow": [{"kinds": ["indoor_temp_low", "comm_loss"], "why": "homes cool during the loss"}],
             "dead_letters": {"max_total": 0}, "verdicts": {"all": "insufficient_data"}}
    write_scenario("A2_heat_source_loss", reg, sort_time(rd), truth)


# ======================================================================= A3 indoor sensors + heat meters
def a3():
    c = "繁峙县"; t0, t1 = T(2021, 12, 6), T(2021, 12, 9)
    tf = tempf(base=-7)
    s = Station("HS-A3", 7.0, 250, "boiler_house", seed=31)
    reg = homes("A3H", 30, c, "Yantou", "HS-A3", "boiler_house", rt="boiler_ultra_low_emission")
    rd = weather(c, t0, t1, base=-7) + s.series(t0, t1, tf)
    cold_a, cold_b = T(2021, 12, 7, 8), T(2021, 12, 7, 20)
    missing_in_cold = T(2021, 12, 7, 14)
    dual = ["A3H0001", "A3H0002", "A3H0003"]
    counts = {}
    for i in range(1, 8):
        hid = f"A3H{i:04d}"
        dips = [T(2021, 12, 7, 10, 15), T(2021, 12, 8, 9, 0)] if i in (4, 5) else []
        cold = [(cold_a, cold_b, 14.5)] if i == 6 else []
        ind = indoor_series(hid, t0, t1, s, seed=40 + i, minutes=15, drop=(0.0 if i == 6 else 0.08),
                            dips=dips, cold=cold)
        if i == 6:
            ind = [r for r in ind if r["ts"] != iso(missing_in_cold)]
        rd += ind
        if hid in dual:
            hm = heat_meter_series(hid, t0, t1, s, tf, seed=50 + i, minutes=60)
            rd += hm
            day = "2021-12-07"
            counts[hid] = sum(1 for r in ind + hm if r["ts"][:10] == day and not r["ts"].startswith(day + "T00:00"))
    # readings for 12-07 local: interval ends in (00:00, 24:00]; count the ones whose ts date is 12-07 except 00:00 plus 12-08T00:00
    for hid in dual:
        ind = [r for r in rd if r.get("household_id") == hid]
        counts[hid] = sum(1 for r in ind if "2021-12-07T00:15" <= r["ts"][:16] <= "2021-12-07T23:59") + \
                      sum(1 for r in ind if r["ts"].startswith("2021-12-08T00:00"))
    exp = [E("cold-home", "indoor_temp_low", "household", "A3H0006", (cold_a, cold_a + 3 * H), (cold_b - H, cold_b + 3 * H),
             why="home at 14.5 C 08:00-20:00 (service standard 18 C) while its station is healthy; one missing reading at 14:00 must not split it",
             exactly_one=True)]
    forb = [F("no-low-others", "indoor_temp_low", "household", [f"A3H{i:04d}" for i in (1, 2, 3, 4, 5, 7)], None,
              "warm homes: missed readings (8%) and single 14.5 C airing readings are not cold homes"),
            F("station-fine", HEAT_KINDS, "heat_station", ["HS-A3"], None, "station healthy all along"),
            F("no-comm-loss", "comm_loss", "household", [f"A3H{i:04d}" for i in range(1, 8)], None,
              "an 8% random miss rate (single 15-min readings) is not a communication loss")]
    kept = [{"id": f"dual-{h}", "household_id": h, "day": "2021-12-07", "readings_min": counts[h],
             "why": "indoor sensor + heat meter at the same timestamps: each device is its own source, both kept"} for h in dual]
    truth = {"description": "30-home boiler house, healthy. 7 homes with indoor sensors (3 also with hourly heat meters at the same "
                            "timestamps), random missed readings, airing dips, one genuinely cold home.",
             "expect": exp, "forbid": forb, "allow": [],
             "dead_letters": {"max_total": 0}, "summary": {"conflicts": 0, "duplicates": 0},
             "kept": kept, "verdicts": {"all": "insufficient_data"}}
    write_scenario("A3_indoor_and_heat_meter", reg, sort_time(rd), truth)


# ======================================================================= A4 CEMS
def a4():
    c = "宁武县"; t0, t1 = T(2021, 12, 3), T(2021, 12, 5)
    d1, d2 = T(2021, 12, 3), T(2021, 12, 4)
    reg = homes("A4C", 3, c, "Coal", "BH-COAL", "boiler_house", rt="boiler_ultra_low_emission") + \
          homes("A4G", 3, c, "Gas", "BH-GAS", "boiler_house", rt="boiler_ultra_low_emission") + \
          homes("A4B", 3, c, "Bio", "BH-BIO", "biomass", rt="biomass_district")
    cyc = lambda d, run=("running", {}): [(d + 5 * H, d + 6 * H, "startup"), (d + 6 * H, d + 21 * H, run),
                                          (d + 21 * H, d + 21.5 * H, "shutdown"), (d + 21.5 * H, d + 24 * H, "banked")]
    gas_run = ("running", {"o2": 3.5, "pm": 2.0, "so2": 3.0, "nox": 28.0, "ff": 7000})
    ex_a, ex_b = T(2021, 12, 4, 10), T(2021, 12, 4, 14)
    bio_day2 = [(d2 + 5 * H, d2 + 6 * H, "startup"), (d2 + 6 * H, ex_a, ("running", {})),
                (ex_a, ex_b, ("running", {"pm": 60.0, "so2": 150.0, "nox": 420.0})),
                (ex_b, d2 + 21 * H, ("running", {})), (d2 + 21 * H, d2 + 22 * H, "shutdown")]
    rd = weather(c, t0, t1)
    rd += cems_series("BH-COAL", t0, t1, cyc(d1) + cyc(d2)[:3], seed=61)
    rd += cems_series("BH-GAS", t0, t1, cyc(d1, gas_run) + cyc(d2, gas_run)[:3], seed=62)
    rd += cems_series("BH-BIO", t0, t1, cyc(d1) + bio_day2, seed=63)
    exp = [E("bio-exceed", "emission_exceedance", "heat_station", "BH-BIO", (ex_a - 0.25 * H, ex_a + 1.5 * H), (ex_b - 0.5 * H, ex_b + 2 * H),
             why="running biomass boiler at O2 ~9%: PM 60, SO2 150, NOx 420 mg/m3 for 4 h (far above GB 13271-2014 limits at any reference O2)")]
    forb = [F("coal-no-exceed", "emission_exceedance", "heat_station", ["BH-COAL"], None,
              "coal boiler: stopped at O2 20.7-20.9 (correction meaningless), 1 h start-up, running PM5/SO2 18/NOx 38 at O2 9 %, "
              "banked at O2 ~18.8 with low concentrations, shutdown; none is an exceedance"),
            F("gas-no-exceed", "emission_exceedance", "heat_station", ["BH-GAS"], None,
              "gas-fired profile (O2 3.5 %, NOx 28): below limits at the gas reference O2 3.5 % and a fortiori at 9 %"),
            F("bio-no-exceed-outside", "emission_exceedance", "heat_station", ["BH-BIO"], (t0, ex_a - H),
              "biomass boiler normal before the exceedance (incl. stopped/start-up/banked)"),
            F("bio-no-exceed-after", "emission_exceedance", "heat_station", ["BH-BIO"], (ex_b + 3 * H, t1), "")]
    truth = {"description": "Three boiler houses with CEMS: coal-like (ref O2 9 %), gas-like (O2 3.5 %), biomass; stop/start/run/bank/"
                            "shutdown cycles; the biomass one genuinely exceeds for 4 h while running. No heat_station SCADA is sent.",
             "expect": exp, "forb": None, "forbid": forb,
             "allow": [{"kinds": ["comm_loss", "heat_supply_interruption", "heat_supply_low"], "why": "stations send only CEMS here"}],
             "dead_letters": {"max_total": 0},
             "ambiguity": "The registry (schema) has no fuel field: 'gas-fired' cannot be declared, so the gas case is built to be "
                          "fine under either reference O2. O2 must be < 21 by schema (exclusiveMaximum)."}
    write_scenario("A4_cems_boiler_cycles", reg, sort_time(rd), truth)


# ======================================================================= A5 30 days quiet
def a5():
    c = "忻府区"; t0, t1 = T(2021, 12, 1), T(2021, 12, 31)
    spell = [(T(2021, 12, 15), T(2021, 12, 21), -10.0)]
    tf = tempf(cold_spells=spell)
    st = {
        "HS-Q-3": Station("HS-Q-3", 0.7, 150, "biomass", seed=71),
        "HS-Q-30": Station("HS-Q-30", 7.0, 250, "boiler_house", seed=72),
        "HS-Q-300": Station("HS-Q-300", 70.0, 380, "chp_waste_heat", seed=73),
        "HS-Q-EV": Station("HS-Q-EV", 7.0, 260, "chp_waste_heat", seed=74).fault("pump_stop", T(2021, 12, 12, 8), T(2021, 12, 12, 13)),
        "HS-Q-LOWT": Station("HS-Q-LOWT", 9.0, 240, "boiler_house", design=(50.0, 40.0), seed=75),
    }
    n = {"HS-Q-3": 3, "HS-Q-30": 30, "HS-Q-300": 300, "HS-Q-EV": 30, "HS-Q-LOWT": 20}
    reg = []
    for i, (sid, s) in enumerate(st.items()):
        reg += homes(f"A5{i}H", n[sid], c, f"V{i}", sid, s.kind)
    rd = weather(c, t0, t1, cold_spells=spell)
    for i, (sid, s) in enumerate(st.items()):
        rd += s.series(t0, t1, tf)
        for j in range(2):
            rd += indoor_series(f"A5{i}H{j:04d}", t0, t1, s, seed=80 + 10 * i + j, minutes=60, drop=0.05)
    a, b = st["HS-Q-EV"].faults[0][1:]
    healthy = ["HS-Q-3", "HS-Q-30", "HS-Q-300"]
    exp = [E("ev-pumpstop", "heat_supply_interruption", "heat_station", "HS-Q-EV", (a, a + 1.5 * H), (b - 0.5 * H, b + 2 * H),
             why="5 h pump stop on day 12; must be closed afterwards", households_affected=30)]
    forb = [F("healthy-stations", HEAT_KINDS, "heat_station", healthy, None, "healthy all 30 days incl. a -10 K cold spell (75/50 curve)"),
            F("healthy-homes-warm", ["indoor_temp_low", "household_outage"], "household",
              [f"A5{i}H{j:04d}" for i in range(3) for j in range(2)], None, "warm homes on healthy stations"),
            F("hourly-sensor-single-miss", ["comm_loss"], "household",
              [f"A5{i}H{j:04d}" for i in range(5) for j in range(2)], None,
              "DOMAIN-BASED: hourly indoor sensors missing ~5 % of single readings (domain: sensors miss readings routinely); "
              "IndoorTempReading has no interval_s, so the cadence is the device's own"),
            F("ev-quiet-otherwise", HEAT_KINDS, "heat_station", ["HS-Q-EV"], (t0, a - H), ""),
            F("ev-quiet-after", HEAT_KINDS, "heat_station", ["HS-Q-EV"], (b + 3 * H, t1), "no incident open for weeks after recovery"),
            F("lowtemp-own-normal", HEAT_KINDS, "heat_station", ["HS-Q-LOWT"], None,
              "DOMAIN-BASED: a 50/40 low-temperature network running steadily at its own normal curve for 30 days, homes at 21 C "
              "(domain.md: judge against own design or own normal behaviour; the registry has no design field)")]
    truth = {"description": "30 days (Dec 2021), 5 stations: 3 / 30 / 300-home healthy stations, one 30-home station with a 5 h pump "
                            "stop on 12-12, one low-temperature (50/40) network healthy by its own normal; 2 indoor sensors each.",
             "expect": exp, "forbid": forb, "allow": [{"kinds": ["indoor_temp_low"], "entity_prefix": "A53H", "why": "homes on HS-Q-EV"}],
             "dead_letters": {"max_total": 0}, "verdicts": {"all": "insufficient_data"},
             "max_open_days": 2}
    write_scenario("A5_thirty_days_quiet", reg, sort_time(rd), truth)


# ======================================================================= B1 offsets, duplicates, conflict
def b1():
    c = "原平市"; t0, t1 = T(2021, 12, 2), T(2021, 12, 3)
    reg = [dict(household_id=f"B1E{i}", county=c, village="V", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-B1", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(5)]
    reg += homes("B1H", 3, c, "V", "HS-B1", "boiler_house", rt="boiler_ultra_low_emission")
    s = Station("HS-B1", 2.5, 170, "boiler_house", seed=91)
    tf = tempf()
    rd = weather(c, t0, t1) + feeder_series("F-B1", t0, t1, 5, 100)
    for i in range(5):
        rd += electric_series(f"B1E{i}", t0, t1, seed=i)
    rd += s.series(t0, t1, tf)
    rd += indoor_series("B1H0000", t0, t1, s, seed=3, minutes=60, drop=0)
    rd += heat_meter_series("B1H0000", t0, t1, s, tf, minutes=60)
    rd = sort_time(rd)
    lines = [json.dumps(r, ensure_ascii=False) for r in rd]
    rng = random.Random(5)
    cand = [r for r in rd if r["kind"] in ("electric", "heat_station", "indoor_temp", "heat_meter")]
    resend = rng.sample(cand, 40)
    n_dup = 0
    for k, r in enumerate(resend):
        t = dt.datetime.fromisoformat(r["ts"])
        z = t.astimezone(dt.timezone.utc)
        ts = z.strftime("%Y-%m-%dT%H:%M:%SZ") if k % 2 == 0 else z.isoformat()  # 'Z' and '+00:00'
        lines.append(json.dumps(dict(r, ts=ts), ensure_ascii=False)); n_dup += 1
    # one genuine conflict, written in UTC: same meter, same instant, different energy
    cr = next(r for r in rd if r["kind"] == "electric" and r["household_id"] == "B1E2" and r["ts"].endswith("T12:00:00+08:00"))
    z = dt.datetime.fromisoformat(cr["ts"]).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines.append(json.dumps(dict(cr, ts=z, kwh=round(cr["kwh"] + 1.7, 3), kw=round(cr["kw"] + 6.8, 2))))
    truth = {"description": "One day, 5 electric meters, a 3-home boiler house and a home with indoor sensor + heat meter. 40 readings "
                            "re-sent with 'Z' / '+00:00' (same instant, same values) = duplicates; 1 reading of B1E2 at 12:00+08:00 "
                            "re-sent as 04:00Z with different kwh = one conflict.",
             "expect": [], "allow": [{"kinds": ["peak_charging"], "why": "not under test"}],
             "forbid": [F("no-incidents", ["comm_loss", "household_outage", "feeder_outage", "heat_supply_interruption",
                                           "heat_supply_low", "indoor_temp_low", "meter_clock_fault"], "*", "*", None,
                          "healthy day: re-sends must not create incidents")],
             "summary": {"duplicates": n_dup, "conflicts": 1},
             "dead_letters": {"max_total": 1, "expected": [{"id": "conflict-B1E2", "reason_contains": ["conflict"],
                                                           "raw_or_reason_contains": "B1E2",
                                                           "why": "different values for the same meter and instant: reported, not dropped silently"}]},
             "kept": [{"id": "dual-B1H0000", "household_id": "B1H0000", "day": "2021-12-02", "readings_min": 48,
                       "why": "indoor (24) + heat meter (24) at the same timestamps"}] +
                     [{"id": f"e-{i}", "household_id": f"B1E{i}", "day": "2021-12-02", "readings_exact": 96, "why": "96 distinct intervals; duplicates not counted twice"} for i in range(5)]}
    write_scenario("B1_offsets_duplicates_conflict", reg, None, truth, raw_lines=lines)


# ======================================================================= B2 slow / fast / reset meters
def b2(fast=False):
    c = "定襄县"; t0, t1 = T(2021, 12, 20), T(2021, 12, 22)
    reg = [dict(household_id=f"B2E{i:02d}", county=c, village="V", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-B2", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(12)]
    blocks = {}
    for i in range(12):
        skew = (2 * H if fast else -2 * H) if i == 0 else dt.timedelta(0)
        blocks[i] = electric_series(f"B2E{i:02d}", t0, t1, seed=i, skew=skew)
    # meter 11: clock reset to 1970 for 4 readings (13:00-14:00 12-20), else fine
    reset = []
    for r in blocks[11]:
        if "2021-12-20T13:15" <= r["ts"][:16] <= "2021-12-20T14:00":
            k = len(reset)
            reset.append(r["ts"])
            r["ts"] = f"1970-01-01T00:{15 * k:02d}:00+08:00"
    # meter 10: one reading stamped in 2031 (clock far ahead)
    fut = None
    for r in blocks[10]:
        if r["ts"].startswith("2021-12-21T09:00"):
            r["ts"] = "2031-12-21T09:00:00+08:00"; fut = r
    # meter-major file: slow meter first, then the others sorted by meter, feeder & weather last
    rd = blocks[0] + [x for i in range(1, 12) for x in blocks[i]]
    rd += feeder_series("F-B2", t0, t1, 12, 200) + weather(c, t0, t1)
    others = [f"B2E{i:02d}" for i in range(1, 12)]
    truth = {"description": "12 electric meters, 2 days, file sorted by meter. B2E00 clock 2 h slow and first in the file; B2E11 "
                            "sends 4 readings stamped 1970; B2E10 one reading stamped 2031.",
             "expect": [], "allow": [{"kinds": ["peak_charging", "meter_clock_fault", "comm_loss"], "entity_ids": ["B2E00", "B2E10", "B2E11"]},
                                     {"kinds": ["peak_charging"]}],
             "forbid": [F("others-not-silent", ["comm_loss", "household_outage"], "household", [f"B2E{i:02d}" for i in range(1, 10)], None,
                          "a slow meter first in the file must not make the others silent"),
                        F("no-feeder-outage", ["feeder_outage"], "feeder", ["F-B2"], None, "power was never lost")],
             "dead_letters": {"expected": [{"id": "reset-1970", "raw_contains": "1970-01-01", "count": 4, "reason_contains_any": ["B2E11"],
                                            "why": "clock reset to 1970: rejected with a reason naming the meter"},
                                           {"id": "future-2031", "raw_contains": "2031-12-21", "count": 1, "reason_contains_any": ["B2E10"],
                                            "why": "implausibly far ahead: rejected naming the meter"}],
                              "forbid_device_ids": others[:9],
                              "why": "no reading of the correct meters B2E01..B2E09 may be dead-lettered"},
             "kept": [{"id": f"ok-{h}", "household_id": h, "day": "2021-12-21", "readings_exact": 96} for h in others[:9]]}
    if fast:
        truth["description"] = truth["description"].replace("2 h slow", "2 h FAST")
        truth["forbid"][0]["why"] = "a fast meter first in the file must not make the others silent or late"
    write_scenario("B2b_clock_fast_meter" if fast else "B2_clock_skew_meters", reg, rd, truth)


# ======================================================================= B3 batches with a malformed reading
def b3():
    c = "静乐县"; t0, t1 = T(2021, 12, 8), T(2021, 12, 9)
    ids = [f"B3E{i}" for i in range(8)]
    reg = [dict(household_id=h, county=c, village="V", retrofit_type="coal_to_electric", heating_device="storage_heater",
                feeder_id="F-B3", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for h in ids]
    per = {h: electric_series(h, t0, t1, seed=k) for k, h in enumerate(ids)}
    lines = [json.dumps(x, ensure_ascii=False) for x in weather(c, t0, t1) + feeder_series("F-B3", t0, t1, 8, 100)]
    bad = {}
    for j in range(96):
        rs = [dict(per[h][j]) for h in ids]
        ts = rs[0]["ts"]
        if ts.startswith("2021-12-08T10:15"):
            del rs[3]["voltage_v"]; del rs[3]["kw"]; bad["missing"] = ("B3E3", ts)  # truncated reading
        if ts.startswith("2021-12-08T16:30"):
            rs[5]["ts"] = "2021-12-08T16:3"; bad["badts"] = ("B3E5", ts)
        if ts.startswith("2021-12-08T19:00"):
            rs[6]["kwh"] = -3.2; bad["negative"] = ("B3E6", ts)
        line = json.dumps({"kind": "batch", "source": "CONC-B3", "readings": rs}, ensure_ascii=False)
        if ts.startswith("2021-12-08T21:45"):
            line = line[: len(line) // 2]  # upload cut in the middle: whole line unreadable
            bad["truncated_line"] = ("*", ts)
        lines.append(line)
    kept = []
    for h in ids:
        n = 96 - 1  # truncated line lost for everybody
        if h in ("B3E3", "B3E5", "B3E6"):
            n -= 1
        kept.append({"id": f"kept-{h}", "household_id": h, "day": "2021-12-08", "readings_exact": n,
                     "why": "other readings of a batch with one bad reading are kept"})
    truth = {"description": "8 meters uploaded as 96 concentrator batches (one a quarter-hour). Three batches each contain one bad "
                            "reading (missing fields / malformed ts / negative kwh); one batch line is cut mid-JSON.",
             "expect": [], "allow": [{"kinds": ["peak_charging"]}],
             "forbid": [F("no-outage", ["comm_loss", "household_outage", "feeder_outage"], "*", "*", None,
                          "one lost interval is not a communication loss or an outage")],
             "dead_letters": {"max_total": 4, "expected": [
                 {"id": "bad-missing-fields", "raw_or_reason_contains": "B3E3", "raw_parseable": True, "count": 1},
                 {"id": "bad-ts", "raw_or_reason_contains": "B3E5", "raw_parseable": True, "count": 1},
                 {"id": "bad-negative", "raw_or_reason_contains": "B3E6", "raw_parseable": True, "count": 1},
                 {"id": "truncated-line", "raw_contains": "CONC-B3", "raw_not_contains_kind": True, "count_min": 1}]},
             "kept": kept}
    write_scenario("B3_batch_malformed", reg, None, truth, raw_lines=lines)


# ======================================================================= B4 order / re-send invariance
def b4(dual=True):
    c = "岢岚县"; t0, t1 = T(2021, 12, 22), T(2021, 12, 24)
    tf = tempf(base=-10)
    s = Station("HS-B4", 7.0, 250, "chp_waste_heat", seed=101).fault("pump_stop", T(2021, 12, 23, 9), T(2021, 12, 23, 14))
    s2 = Station("HS-B4-OK", 0.7, 150, "biomass", seed=102)
    reg = homes("B4H", 30, c, "V1", "HS-B4", "chp_waste_heat") + homes("B4S", 3, c, "V2", "HS-B4-OK", "biomass", rt="biomass_district")
    reg += [dict(household_id=f"B4E{i}", county=c, village="V3", retrofit_type="coal_to_electric", heating_device="storage_heater",
                 feeder_id="F-B4", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01") for i in range(6)]
    oa, ob = T(2021, 12, 22, 15), T(2021, 12, 22, 18)
    rd = weather(c, t0, t1, base=-10) + s.series(t0, t1, tf) + s2.series(t0, t1, tf)
    rd += indoor_series("B4H0001", t0, t1, s, seed=7, minutes=30, drop=0.05)
    if dual:
        rd += heat_meter_series("B4H0001", t0, t1, s, tf, minutes=60)
    for i in range(6):
        rd += electric_series(f"B4E{i}", t0, t1, seed=i, outages=[(oa, ob)])
    rd += feeder_series("F-B4", t0, t1, 6, 100, outages=[(oa, ob)])
    srt = sort_time(rd)
    lines = [json.dumps(x, ensure_ascii=False) for x in srt]
    rng = random.Random(42)
    shuffled = lines[:]; rng.shuffle(shuffled)
    bymeter = [json.dumps(x, ensure_ascii=False) for x in sorted(rd, key=lambda r: (r["kind"], r.get("household_id") or r.get("heat_station_id") or r.get("feeder_id") or r.get("county"), r["ts"]))]
    resent = lines + lines[len(lines) // 3: len(lines) // 2] + lines[: len(lines) // 4]
    # head-end collects yesterday's electric curves the next morning: electricity of day 1 appended after everything else
    late = [l for l in lines if not ('"electric"' in l and "2021-12-22T" in l)] + [l for l in lines if '"electric"' in l and "2021-12-22T" in l]
    truth = {"description": "2 days: 30-home station with a 5 h pump stop, a healthy 3-home station, 6 electric homes with a 3 h feeder "
                            "outage. Same readings sorted / shuffled / by meter / re-sent chunks / electric day 1 delivered last.",
             "expect": [E("pumpstop", "heat_supply_interruption", "heat_station", "HS-B4", (T(2021, 12, 23, 9), T(2021, 12, 23, 10, 30)),
                          (T(2021, 12, 23, 13, 30), T(2021, 12, 23, 16))),
                        E("feeder-out", "feeder_outage", "feeder", "F-B4", (oa - 0.25 * H, oa + H), (ob - 0.25 * H, ob + H),
                          why="all 6 meters send last gasp at 15:00, silent until power_up at 18:00; feeder kW 0")],
             "forbid": [F("ok-station", HEAT_KINDS, "heat_station", ["HS-B4-OK"], None)],
             "allow": [{"kinds": ["household_outage", "indoor_temp_low", "peak_charging", "comm_loss"]}],
             "dead_letters": {"max_total": 0},
             "equivalence": {"variants": ["readings.jsonl", "readings_shuffled.jsonl", "readings_by_meter.jsonl", "readings_resent.jsonl", "readings_late_day.jsonl"],
                             "compare": ["incidents.jsonl", "rollups", "monthly_csv", "season_csv"],
                             "why": "contract: the same input in any order gives the same results; re-sends are duplicates"}}
    if not dual:
        truth["description"] += " Variant WITHOUT the second device (heat meter) on B4H0001, to separate order effects from the two-device bug."
    write_scenario("B4_order_and_resend" if dual else "B4b_order_single_device", reg, None, truth, raw_lines=lines,
                   extra_files={"readings_shuffled.jsonl": shuffled, "readings_by_meter.jsonl": bymeter,
                                "readings_resent.jsonl": resent, "readings_late_day.jsonl": late})


# ======================================================================= C monthly arithmetic
def c1():
    cA, cB = "代县", "偏关县"; t0, t1 = T(2021, 12, 28), T(2022, 1, 4)
    tfA, tfB = tempf(base=-12), tempf(base=-14)
    sA = Station("HS-CA", 2.5, 170, "boiler_house", seed=111).fault("pump_stop", T(2021, 12, 29, 8), T(2021, 12, 29, 13))
    sB = Station("HS-CB", 3.0, 170, "biomass", seed=112).fault("pump_stop", T(2022, 1, 2, 9), T(2022, 1, 2, 15))
    reg = homes("CAH", 3, cA, "VA1", "HS-CA", "boiler_house", rt="boiler_ultra_low_emission")
    reg += [dict(household_id=f"CAE{i}", county=cA, village="VA2", retrofit_type="coal_to_electric", heating_device="storage_heater",
                 feeder_id="F-CA", priority_group=("elderly_home" if i == 0 else "none"), rated_kw=6, retrofit_completed="2021-09-01") for i in range(2)]
    reg += [dict(household_id=f"CAG{i}", county=cA, village="VA3", retrofit_type="coal_to_gas", heating_device="gas_boiler",
                 gas_station_id="GS-CA", priority_group="none", rated_kw=12, retrofit_completed="2021-09-01", gas_quota_m3=5000) for i in range(3)]
    reg += homes("CBH", 4, cB, "VB1", "HS-CB", "biomass", rt="biomass_district")
    reg += [dict(household_id="CBE0", county=cB, village="VB2", retrofit_type="coal_to_electric", heating_device="heat_pump",
                 feeder_id="F-CB", priority_group="none", rated_kw=4, retrofit_completed="2021-09-01")]
    fa, fb = T(2021, 12, 30, 10), T(2021, 12, 30, 13)
    ga, gb = T(2022, 1, 1, 7), T(2022, 1, 1, 11)
    rd = weather(cA, t0, t1, base=-12) + weather(cB, t0, t1, base=-14)
    rd += sA.series(t0, t1, tfA) + sB.series(t0, t1, tfB)
    rd += indoor_series("CAH0000", t0, t1, sA, seed=1, minutes=15, drop=0.0, gaps=[(T(2021, 12, 29, 6), T(2021, 12, 29, 18))])
    for i in range(2):
        rd += electric_series(f"CAE{i}", t0, t1, seed=i, outages=[(fa, fb)])
    rd += feeder_series("F-CA", t0, t1, 2, 50, outages=[(fa, fb)])
    for i in range(3):
        rd += gas_series(f"CAG{i}", t0, t1, low=[(ga, gb)], seed=i)
    rd += gas_station_series("GS-CA", t0, t1, low=[(ga, gb)])
    rd += electric_series("CBE0", t0, t1, seed=9, silent=[(T(2022, 1, 3, 0), T(2022, 1, 3, 12))])
    rd += feeder_series("F-CB", t0, t1, 1, 50)
    truth = {"description": "Two counties over 12-28..01-04 local. 代县 (8 hh): 3-home boiler house pump stop 12-29 08-13 (5 h), the "
                            "sensor of one of those homes silent 12-29 06-18 (comm loss overlapping its station's interruption), "
                            "2-home feeder outage 12-30 10-13 (3 h), 3 gas homes low pressure 01-01 07-11 (4 h, station outlet low). "
                            "偏关县 (5 hh): 4-home biomass station pump stop 01-02 09-15 (6 h), electric meter silent 01-03 00-12.",
             "expect": [E("CA-heat", "heat_supply_interruption", "heat_station", "HS-CA", (T(2021, 12, 29, 8), T(2021, 12, 29, 9, 30)), None),
                        E("CA-feeder", "feeder_outage", "feeder", "F-CA", (fa - 0.25 * H, fa + H), (fb - 0.25 * H, fb + H)),
                        E("CA-gas", ["gas_supply_shortfall", "gas_low_pressure"], "*", "*", (ga, ga + 2 * H), None),
                        E("CB-heat", "heat_supply_interruption", "heat_station", "HS-CB", (T(2022, 1, 2, 9), T(2022, 1, 2, 10, 30)), None),
                        E("CB-comm", "comm_loss", "household", "CBE0", (T(2022, 1, 3, 0), T(2022, 1, 3, 3)), None)],
             "forbid": [], "allow": [{"kinds": ["*"]}],
             "dead_letters": {"max_total": 0},
             "monthly": {
                 "months": ["2021-12", "2022-01"],
                 "county_households": {cA: 8, cB: 5},
                 "checks": [
                     {"id": "dec-CA-hours", "month": "2021-12", "county": cA, "col": "interruption_hours", "approx": 21.0, "tol": 0.25,
                      "why": "heat 3 hh x 5 h + power 2 hh x 3 h = 21 household-hours (heat must count)"},
                     {"id": "jan-CA-hours", "month": "2022-01", "county": cA, "col": "interruption_hours", "approx": 12.0, "tol": 0.25,
                      "why": "gas 3 hh x 4 h"},
                     {"id": "jan-CB-hours", "month": "2022-01", "county": cB, "col": "interruption_hours", "approx": 24.0, "tol": 0.25,
                      "why": "heat 4 hh x 6 h (comm loss is not an interruption)"},
                     {"id": "dec-CA-affected", "month": "2021-12", "county": cA, "col": "households_affected", "equals": 5,
                      "why": "distinct: 3 heat + 2 power; the comm-loss home is one of the 3"},
                     {"id": "jan-CA-affected", "month": "2022-01", "county": cA, "col": "households_affected", "equals": 3},
                     {"id": "jan-CB-affected", "month": "2022-01", "county": cB, "col": "households_affected", "min": 4, "max": 5},
                     {"id": "dec-CA-heatrow", "month": "2021-12", "county": cA, "kind_label": "heat", "col": "households_affected", "equals": 3},
                     {"id": "dec-CA-priority", "month": "2021-12", "county": cA, "col": "priority_affected", "equals": 2,
                      "why": "CAH0000 (school) + CAE0 (elderly_home)"}]},
             "season_vs_monthly": {"why": "monthly 'household interruptions' / 'rollup interruption hours' of Dec+Jan per county must add up "
                                          "to the season report's SAIFI/SAIDI x households for the same run"}}
    write_scenario("C1_county_reports", reg, sort_time(rd), truth)


# ======================================================================= S full season verdicts
def s1():
    c = "静乐县"; t0, t1 = T(2021, 11, 15), T(2022, 3, 16)
    import math
    def seasonal(t):
        d = (t - T(2022, 1, 15)).total_seconds() / 86400
        return -16 + 14 * (1 - math.cos(2 * math.pi * d / 365)) / 2 * 1.0
    def temp(t):
        h = t.hour
        return round(seasonal(t) + 5 * math.sin((h - 9) / 24 * 2 * math.pi), 1)
    ok = Station("SS-OK", 0.7, 150, "biomass", seed=121)
    bad = Station("SS-BAD", 7.0, 250, "boiler_house", seed=122)
    for a, hours in [(T(2021, 12, 5, 6), 30), (T(2022, 1, 10, 8), 6), (T(2022, 1, 20, 8), 6), (T(2022, 2, 1, 8), 6)]:
        bad.fault("pump_stop", a, a + hours * H)
    reg = homes("SOK", 3, c, "V1", "SS-OK", "biomass", rt="biomass_district")
    reg += homes("SBD", 3, c, "V2", "SS-BAD", "boiler_house", rt="boiler_ultra_low_emission")
    mid = Station("SS-MID", 7.0, 250, "boiler_house", seed=123)
    reg += homes("SMID", 3, c, "V4", "SS-MID", "boiler_house", rt="boiler_ultra_low_emission")
    reg += [dict(homes("SCOLD", 1, c, "V4", "SS-MID", "boiler_house", rt="boiler_ultra_low_emission")[0]),
            dict(homes("SLATE", 1, c, "V4", "SS-MID", "boiler_house", rt="boiler_ultra_low_emission")[0], retrofit_completed="2021-12-20")]
    reg += [dict(household_id=f"SE{i}", county=c, village="V3", retrofit_type="coal_to_electric", heating_device="storage_heater",
                 feeder_id="F-S", priority_group="none", rated_kw=6, retrofit_completed="2021-09-01", old_heating_present="true") for i in range(2)]
    rd = [{"kind": "weather", "county": c, "ts": iso(t), "temp_c": temp(t)} for t in steps(t0, t1, 60)]
    rd += ok.series(t0, t1, temp) + bad.series(t0, t1, temp) + mid.series(t0, t1, temp)
    colds = [(T(2021, 12, d, 9), T(2021, 12, d, 14), 14.0) for d in (1, 8, 15, 22, 29)] + [(T(2022, 1, 5, 9), T(2022, 1, 5, 14), 14.0)]
    rd += indoor_series("SCOLD0000", t0, t1, mid, seed=5, minutes=60, drop=0.0, cold=colds)
    rd += electric_series("SE0", t0, t1, seed=1)
    rd += electric_series("SE1", t0, t1, seed=2, silent=[(T(2022, 1, 1), T(2022, 1, 21))])
    rd += feeder_series("F-S", t0, t1, 2, 50)
    v = {f"SOK{i:04d}": "eligible" for i in range(3)}
    v.update({f"SBD{i:04d}": "not_yet" for i in range(3)})
    v.update({f"SMID{i:04d}": "eligible" for i in range(3)})
    v.update({"SCOLD0000": "not_yet", "SLATE0000": "not_yet", "SE0": "eligible", "SE1": "insufficient_data"})
    why = {"SOK*": "3-home biomass network (0.7 m3/h) healthy all season, completed before the season",
           "SMID*": "30-home-class boiler house (7 m3/h) healthy all season",
           "SBD*": "station with a 30 h pump stop + three 6 h stops: longest > 24 h and > 3 interruptions over 4 h",
           "SCOLD0000": "station fine but sampled home at 14 C for 5 h on 6 days: cold-home days 6 > 3",
           "SLATE0000": "retrofit completed 2021-12-20: partial season",
           "SE0": "storage heater, power all season", "SE1": "meter silent 20 days in January: coverage 101/121 < 90 %"}
    truth = {"description": "Full season 2021-11-15..2022-03-15 in 静乐县 for season verdicts.",
             "expect": [], "forbid": [F("ok-station", HEAT_KINDS, "heat_station", ["SS-OK"], None, "healthy all season (3 homes, 0.7 m3/h)"),
                        F("mid-station", HEAT_KINDS, "heat_station", ["SS-MID"], None, "healthy all season (7 m3/h)")],
             "allow": [{"kinds": ["*"]}], "dead_letters": {"max_total": 0},
             "verdicts": v, "verdict_why": why, "season_only": True,
             "verdict_reasons": dict({f"SBD{i:04d}": ["interruption_too_long", "too_many_long_interruptions"] for i in range(3)},
                                     SCOLD0000=["cold_home_days"], SLATE0000=["partial_season"], SE1=["coverage_low"])}
    write_scenario("S1_full_season_verdicts", reg, sort_time(rd), truth)


if __name__ == "__main__":
    for f in (a1, a2, a3, a4, a5, b1, b2, b3, b4, c1, s1):
        f()
    b2(fast=True)
    b4(dual=False)
    import new_scenarios
    for f in new_scenarios.ALL:
        f()
    import issue24_scenarios   # third round: issue 24 (use and cost) and issue 23 (batch form)
    for f in issue24_scenarios.ALL:
        f()
