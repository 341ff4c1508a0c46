"""Every detection threshold in one place, with the reason for its default.

The core never reads the environment: the entry point builds a ``DetectionSettings`` (from
``streams.settings``, which reads ``HEATWATCH_DETECT_*`` variables) and passes it down.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class DetectionSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- stream handling -------------------------------------------------------------------
    interval_s: int = Field(
        900,
        gt=0,
        description="Expected meter cadence. AMI meters in the programme read every 15 min.",
    )
    lateness_s: int = Field(
        1800,
        ge=0,
        description="How late a reading may arrive and still be processed in event-time order. "
        "Concentrators retry uploads for up to two intervals; later readings are dead-lettered.",
    )

    revision_horizon_s: int = Field(
        2 * 86_400,
        ge=0,
        description="How late a reading (electric, gas, feeder, gas station) may arrive and "
        "still revise the record of truth (daily rollups, points, comm incidents) when it fills "
        "its source's communication gap. Head-"
        "ends re-collect the previous day's 96-point curves the next morning: two days covers "
        "that and a weekend's GPRS outage repair. Real-time detection keeps lateness_s.",
    )
    clock_skew_s: int = Field(
        7200,
        gt=0,
        description="A reading stamped more than this ahead of the partition's consensus time "
        "never moves time: it is held aside until time reaches it. The meters of one partition "
        "report within minutes of each other; 2 h covers a concentrator's catch-up after a GPRS "
        "outage while keeping one fast clock (hours or days ahead) from dragging the stream.",
    )
    time_quorum: int = Field(
        3,
        ge=1,
        description="Distinct sources (meters, feeders, stations) that must agree on a timestamp "
        "before time may jump past the skew bound (a whole partition resuming after a gap). "
        "Three: one or two bad clocks are a fault, three meters agreeing is the stream.",
    )
    clock_hold_s: int = Field(
        86_400,
        gt=0,
        description="How long (in event time) a reading stamped ahead is held waiting for time "
        "to reach it before it is dead-lettered as a clock fault. A day: head-ends re-collect the "
        "previous day's curves the next morning, so a reading a day ahead is not data in flight.",
    )
    clock_held_max: int = Field(
        100_000,
        ge=0,
        description="Most readings held ahead at once (bounded memory: beyond it an ahead reading "
        "is dead-lettered at once). A few thousand meters with bad clocks fit easily.",
    )
    clock_fault_readings: int = Field(
        2,
        ge=1,
        description="Clock-rejected readings (ahead, behind at start, outside the window) of one "
        "meter that open a meter_clock_fault data-quality incident: once can be a glitch, twice "
        "is a clock the field team must set.",
    )
    earliest_event: datetime = Field(
        datetime(2017, 1, 1, tzinfo=timezone(timedelta(hours=8))),
        description="Readings stamped before this are rejected: the programme began with the "
        "2017 plan (北方地区冬季清洁取暖规划 2017—2021), so no meter of it ran earlier; a "
        "real-time clock that was reset reads 2000-01-01 or 1970-01-01, and a wrong year "
        "(2015) is no reading of the programme either. A county with older meters sets it.",
    )
    latest_event: datetime = Field(
        datetime(2100, 1, 1, tzinfo=timezone(timedelta(hours=8))),
        description="Readings stamped after this are rejected (9999-12-31 is a corrupt clock).",
    )
    empty_gap_days: int = Field(
        3,
        ge=0,
        description="Whole days without any reading in the partition that are still rolled up "
        "(as no-data days). A longer gap is skipped in O(1): time jumps to the next data.",
    )

    # --- plausibility (validation, estimation, editing) ------------------------------------
    household_kwh_margin: float = Field(
        1.5,
        gt=0,
        description="An interval's kWh above (rated_kw x margin + base load) x hours cannot be "
        "physical; rejected as implausible (never a charging incident). Simulated and field "
        "meters stay under 3x rated only because of the base load below.",
    )
    household_base_load_kw: float = Field(
        8.0,
        ge=0,
        description="Non-heating load a rural single-phase service can draw (8 kW: a 40 A "
        "breaker at 220 V is 8.8 kW).",
    )
    gas_kwh_per_m3: float = Field(
        9.0, gt=0, description="Lower heating value of natural gas (~9-10 kWh/m3)."
    )
    gas_m3_margin: float = Field(
        3.0,
        gt=0,
        description="A gas interval above (rated_kw / kWh per m3 x margin + 1 m3/h) x hours is "
        "implausible: a boiler cannot burn several times its rating.",
    )
    feeder_kw_max_ratio: float = Field(
        3.0,
        gt=0,
        description="Feeder kW above rated kVA x this is a metering error, not a load (fuses and "
        "protection trip far below 3x; real overloads reach 1.2-1.6x).",
    )
    voltage_max_v: float = Field(
        400.0,
        gt=0,
        description="A single-phase meter cannot read above this (220 V nominal, 253 V is +15%;"
        " 400 V is a phase-to-phase fault or a bad value).",
    )
    pressure_max_kpa: float = Field(
        500.0,
        gt=0,
        description="Household and station outlet pressures are a few kPa; above 500 kPa is the "
        "medium-pressure network or a unit error.",
    )

    # --- outages ---------------------------------------------------------------------------
    outage_voltage_v: float = Field(
        50.0,
        description="Below this a meter reports no supply (a live 220 V line never reads this low).",
    )
    comm_loss_intervals: int = Field(
        4,
        ge=1,
        description="A meter silent for this many intervals, without a last gasp and on a healthy "
        "feeder, has lost communication (1 h at 15-min cadence: short gaps are routine retries).",
    )
    feeder_outage_share: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Share of a feeder's meters out at once that makes it one feeder outage "
        "(a dispatcher gets one page, not forty).",
    )
    feeder_outage_min_households: int = Field(
        2,
        ge=1,
        description="Smallest feeder for a roll-up: with a single meter a feeder outage cannot be "
        "told from a household outage (remote villages do have 3-household transformers).",
    )
    feeder_restore_share: float = Field(
        0.2, ge=0, lt=1, description="The feeder outage ends when fewer than this share remain out."
    )

    # --- off-peak storage use and feeder load ---------------------------------------------
    valley_start: time = Field(time(22, 0), description="Valley tariff window start (local time).")
    valley_end: time = Field(time(8, 0), description="Valley tariff window end (local time).")
    peak_charging_valley_share: float = Field(
        0.6,
        ge=0,
        le=1,
        description="A storage heater drawing less than this share of its daily energy in the "
        "valley window is charging on peak power (healthy ones draw 80-95%).",
    )
    peak_charging_clear_share: float = Field(
        0.65,
        ge=0,
        le=1,
        description="Hysteresis: the incident ends on a day at or above this share.",
    )
    peak_charging_min_kwh: float = Field(
        5.0,
        ge=0,
        description="Days with less energy than this are not judged (heater off, mild day).",
    )
    peak_charging_min_days: int = Field(1, ge=1, description="Consecutive bad days before opening.")
    peak_charging_min_rated_hours: float = Field(
        2.0,
        ge=0,
        description="Valley share is judged only on days with real heating energy: at least "
        "this many hours at the heater's rated kW. A storage heater that heats charges 4-7 h at "
        "rated power; a home that stopped heating draws only its appliances (a few kWh spread "
        "over the day, valley share ~0.4-0.5: a held-out home was paged at 0.477). Below it the "
        "home is the use judgement's case (疑似未使用), not peak_charging. Counted on the "
        "heater's part of the meter only (peak_charging_heater_share), so a shop's or "
        "appliances' day-time load neither makes a day judged nor lowers its share.",
    )
    peak_charging_heater_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="An interval is the storage heater charging when the meter draws at least "
        "this share of the heater's rated kW above the household's own base draw for that "
        "part of the day (valley / outside it); only that excess is the heater's energy. A "
        "charging element draws its rated kW, and thermostat cycling after the pickup phase "
        "still averages 55-70% of it over a 15-min or hourly interval, so half the rating "
        "keeps every charging interval of both meter kinds; a shop's or appliances' load "
        "varies around the learned base by far less than half a heater (6-10 kW).",
    )
    peak_charging_base_days: float = Field(
        7.0,
        ge=1,
        description="The household's base draw (its non-heating load, in and out of the valley) "
        "is the mean of its first days' intervals that were not the heater, then a running "
        "mean over about this many days (weight 1/N per day): a week follows a shop's or a "
        "family's habits changing while one odd day moves it by a seventh only. Learned from "
        "non-heater intervals alone, it cannot absorb a heater that charges on peak every day.",
    )
    power_factor: float = Field(
        0.9, gt=0, le=1, description="kW → kVA: rated kVA × power factor is the usable kW."
    )
    overload_ratio: float = Field(
        1.0, gt=0, description="Load / usable kW that counts as overload."
    )
    overload_clear_ratio: float = Field(
        0.95, gt=0, description="Hysteresis: clear below this ratio."
    )
    overload_min_intervals: int = Field(
        2, ge=1, description="Consecutive readings over the limit before opening (30 min)."
    )
    overload_critical_ratio: float = Field(
        1.2, gt=0, description="Overload severity turns critical."
    )
    rebound_window_s: int = Field(
        3600,
        ge=0,
        description="An overload starting this soon after valley start is a rebound peak.",
    )
    rebound_jump: float = Field(
        1.3, ge=1, description="Load jump (vs the last pre-valley reading) that marks a rebound."
    )

    # --- gas supply ------------------------------------------------------------------------
    gas_low_pressure_kpa: float = Field(
        1.5,
        gt=0,
        description="Household supply pressure below which wall-hung boilers cut out (nominal 2 kPa).",
    )
    gas_clear_pressure_kpa: float = Field(
        1.7, gt=0, description="Hysteresis for the household alarm."
    )
    gas_low_min_readings: int = Field(
        2, ge=1, description="Consecutive low readings before opening."
    )
    station_low_outlet_kpa: float = Field(
        1.6,
        gt=0,
        description="Station outlet pressure below which members run short (nominal 2.4 kPa).",
    )
    station_clear_outlet_kpa: float = Field(1.8, gt=0, description="Hysteresis for the station.")
    station_low_min_readings: int = Field(2, ge=1)
    station_member_low_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a station's households low at once that is a shortfall.",
    )
    station_member_min: int = Field(3, ge=1, description="Smallest station for the member rule.")
    gas_base_temp_c: float = Field(18.0, description="Degree-day base temperature.")
    gas_m3_per_degree_day: float = Field(
        1.2,
        gt=0,
        description="Expected household gas per heating degree-day (wall-hung boiler, ~80 m²).",
    )
    season_end: str = Field(
        "03-15",
        description="Last day of the heating season, MM-DD (Shanxi's statutory 15 March). The "
        "quota projection runs to its first occurrence on or after the day judged, so a worker "
        "that runs across seasons, or old data replayed today, projects to its own season. The "
        "entry points set it from deploy/policy/stability.yaml (heatwatch/cli/season.py).",
    )
    quota_burn_days: int = Field(3, ge=1, description="Trailing days averaged into the burn rate.")
    quota_clear_share: float = Field(
        0.95,
        gt=0,
        le=1,
        description="Hysteresis: the risk ends when the projection falls below this share of quota.",
    )

    # --- heat networks and boiler houses (issue 12; per-station judgement issue 20) --------
    # Stations range from 3 homes (a village biomass network, well under 1 m³/h) to 3,000 (a
    # city exchange station, hundreds of m³/h): no threshold below is one absolute number for
    # every station. Each is a share of the station's own reference: its registry design, or
    # the normal it has shown at a similar outdoor temperature (``streams/core/heatnormal.py``).
    heat_dead_below_return_k: float = Field(
        15.0,
        ge=0,
        description="A station's secondary supply (or a home heat meter's supply) this far "
        "below the network's design return delivers no useful heat: 35 °C on a 75/50 radiator "
        "network (radiators give almost nothing under ~40 °C), 25 °C on a 50/40 floor-heating "
        "network, whose normal mild-weather supply is near 35 °C and must not read as a trip.",
    )
    heat_restore_margin_k: float = Field(
        5.0,
        ge=0,
        description="Hysteresis: an interruption ends when the supply is this far above the "
        "dead-supply line (40 °C on 75/50) with flow and supply–return difference back.",
    )
    heat_flow_stopped_share: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="Flow below this share of the station's learned normal flow means the "
        "pumps stopped: variable-speed pumps slow to ~50-60 % at night or in mild weather, a "
        "stopped pump leaves a few per cent (thermosiphon, meter noise).",
    )
    heat_flow_stopped_share_unlearned: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Before a station has a learned normal (the first hours of a season), flow "
        "below this share of its design flow is a stop. Lower than the learned share because "
        "a design flow estimated from the number of homes may be 2-3× off either way; a "
        "stopped pump still reads below it.",
    )
    heat_flow_floor_m3h: float = Field(
        0.02,
        ge=0,
        description="Flow at or below this is no circulation on any station (a flow meter's "
        "zero noise); the only absolute flow number.",
    )
    heat_source_loss_delta_share: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="Heat-source loss while the pumps run: the supply–return difference below "
        "this share of the station's normal difference at a similar outdoor temperature. The "
        "heat output (flow × ΔT) collapses with it at once, long before the water in the network "
        "has cooled; the homes get no heat from that interval on.",
    )
    heat_source_loss_delta_share_unlearned: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="As heat_source_loss_delta_share before the station has a learned normal, "
        "against the design difference scaled by the heating load: oversized pumps run a "
        "station at a third of its design difference, which must not read as a lost source.",
    )
    heat_source_loss_heat_share: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Heat-source loss seen at the station's heat meter: output at or below this "
        "share of its learned output at a similar outdoor temperature while the supply–return "
        "difference has fallen below half its normal (both symptoms of one event; the meter "
        "alone may glitch).",
    )
    heat_source_loss_delta_min_k: float = Field(
        1.5,
        ge=0,
        description="A supply–return difference at or below this is no heat output whatever "
        "the station's normal (the two sensors' tolerance).",
    )
    heat_normal_band_c: float = Field(
        3.0,
        gt=0,
        description="Width of the outdoor-temperature bands a station's normal flow and "
        "supply–return difference are learned in: the difference grows with the heating load.",
    )
    heat_normal_min_readings: int = Field(
        16,
        ge=1,
        description="Healthy readings a band needs before its learned normal is used (4 h at "
        "15-min cadence); until then a neighbouring band, else the design, is the reference.",
    )
    heat_normal_weight: float = Field(
        0.02,
        gt=0,
        le=1,
        description="Weight of each healthy reading in the learned normal (an exponential mean "
        "over ~50 readings, half a day): a slow drift is followed, a fault is never learned "
        "(only readings judged healthy are).",
    )
    heat_design_area_per_home_m2: float = Field(
        100.0,
        gt=0,
        description="Heated area per household when the registry gives neither design flow "
        "nor area (rural single-storey homes in Shanxi are mostly 80-120 m²).",
    )
    heat_design_load_w_m2: float = Field(
        60.0,
        gt=0,
        description="Design heat load per m² of heated area (heating index 热指标) for the "
        "default design flow: 45-70 W/m² for residences (CJJ 34), the upper part for rural "
        "homes without insulation (not checked against the text).",
    )
    heat_design_temps: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "chp_waste_heat": (75.0, 50.0),
            "boiler_house": (75.0, 50.0),
            "biomass": (70.0, 50.0),
        },
        description="Design secondary supply/return °C per station kind when the registry has "
        "none: 75/50 radiator networks; biomass plants run cooler. A registry design supply "
        "rescales the kind's heating curve (floor heating at 50 °C runs a lower curve).",
    )
    heat_interruption_min_readings: int = Field(
        2,
        ge=1,
        description="Consecutive readings before opening (two intervals, 30 min: one bad "
        "sample is noise, a trip is paged within two).",
    )
    heat_curves: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "chp_waste_heat": (45.0, 65.0),
            "boiler_house": (45.0, 68.0),
            "biomass": (42.0, 62.0),
        },
        description="Heating curve per station kind: minimum secondary supply °C at +5 °C and "
        "at −15 °C outdoors, linear between (quality regulation 质调节) and flat outside. "
        "Defaults fit 75/50 °C radiator networks at Xinzhou's design outdoor temperature "
        "(about −15 °C); boiler houses run hotter, biomass plants cooler. Operators tune them; "
        "a station's registry curve (heat_station_curve_mild_c/design_c) overrides its kind's.",
    )
    heat_curve_learn_readings: int = Field(
        16,
        ge=1,
        description="A station without a registry curve or design supply learns its own "
        "heating curve: its secondary supply, per outdoor band, over readings taken while its "
        "sampled homes were warm (at least 1 − indoor_station_share of those reporting at or "
        "above indoor_low_c) and it was not interrupted; a band is learned after this many "
        "(4 h at 15-min cadence) and then fixed. The kind's curve is a guess for a 75/50 "
        "radiator network: a 50/40 floor-heating network with no design in the ledger would "
        "be below it all season although its homes are warm. A learned band (or, for a new "
        "cold spell, the nearest learned band) replaces the guess; a registry curve or design "
        "supply always wins. Until a band is learned (the first hours of a season) a station "
        "whose sampled homes report is judged against the guess only while enough of them are "
        "cold (a share indoor_station_share, at least one: they corroborate it); while they "
        "are warm it is not judged low (they show the supply is enough: no page from a guess "
        "in the season's first hours, and the cold-home rule pages the station if that "
        "changes), and at night, when a setback is neither warm nor cold, nothing changes. "
        "A station without reporting sampled homes keeps the guess, the only reference it "
        "has. Judging no station at all for its first days would miss a radiator network "
        "that starts the season cold; the guess alone pages every low-temperature network.",
    )
    heat_curve_learned_below_k: float = Field(
        5.0,
        ge=0,
        description="Where a station's warm-home supply is below its kind's curve by more "
        "than heat_low_margin_c (the guess would page its normal), its learned curve is that "
        "supply less this (operators run a few kelvin either side of their own set point from "
        "hour to hour; heat_low_margin_c applies on top). A station whose warm-home supply is "
        "on or above the guess keeps the guess: its own higher habit never makes it stricter "
        "or more tolerant.",
    )
    heat_low_margin_c: float = Field(
        3.0,
        ge=0,
        description="Supply more than this below the curve is low (sensor and control tolerance).",
    )
    heat_low_clear_margin_c: float = Field(
        1.0, ge=0, description="Hysteresis: low supply ends within this of the curve."
    )
    heat_low_min_readings: int = Field(
        4, ge=1, description="Consecutive low readings before opening (1 h: houses buffer heat)."
    )
    heat_meter_min_delta_c: float = Field(
        2.0,
        ge=0,
        description="A household heat meter whose return is within this of its supply "
        "delivers no heat: a working radiator circuit cools the water by 5-20 K; under 2 K the "
        "water bypasses the radiators (closed or blocked valve, air lock) or stands still.",
    )
    heat_meter_no_heat_min_readings: int = Field(
        4,
        ge=1,
        description="Consecutive heat-meter readings without heat, while the home's station "
        "supplies, before opening (1 h: a thermostatic valve may close for a while).",
    )
    indoor_low_c: float = Field(
        18.0,
        description="Service standard for indoor temperature: 18 °C in living rooms (GB/T "
        "33833-2017 城镇供热服务 and provincial heating regulations; the text was not checked "
        "here).",
    )
    indoor_clear_c: float = Field(18.5, description="Hysteresis for the indoor alarm.")
    indoor_low_min_readings: int = Field(
        8,
        ge=1,
        description="Consecutive cold readings in occupied hours before opening (2 h: a door "
        "left open or a sensor near a window is not a service failure).",
    )
    indoor_occupied_start: time = Field(
        time(6, 0), description="Occupied hours start (local): rural homes are lived in all day."
    )
    indoor_occupied_end: time = Field(
        time(22, 0),
        description="Occupied hours end (local): at night a setback below 18 °C is no failure.",
    )
    indoor_station_min_homes: int = Field(
        2,
        ge=1,
        description="At least this many sampled homes cold at once for a station roll-up "
        "(one cold home of one sampled is that home's problem, not the station's).",
    )
    indoor_station_share: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Share of a station's sampled homes (those with an indoor sensor that has "
        "reported) cold at once that makes it a station problem: 3 cold of 14 sampled is a few "
        "homes' valves or radiators, 5 of 14 is the network. Only while the station is not "
        "itself below its curve or interrupted (then that page already explains the cold).",
    )
    indoor_missing_grace_readings: int = Field(
        4,
        ge=0,
        description="Missing indoor readings (1 h at 15-min cadence) a home's cold run bridges: "
        "sensors miss readings routinely, and a missed reading is not a recovery. A longer "
        "silence ends the run (it is the sensor's comm_loss, not evidence of cold).",
    )
    emission_particulates_mg_m3: float = Field(
        10.0,
        gt=0,
        description="Ultra-low-emission limit for particulates (颗粒物), hourly mean at the "
        "reference O₂: 10/35/50 mg/m³ are the ultra-low limits of 《煤电节能减排升级与改造行动"
        "计划（2014—2020年）》(发改能源〔2014〕2093号) and 《全面实施燃煤电厂超低排放和节能改造"
        "工作方案》(环发〔2015〕164号), written for coal-fired power units at 6 % O₂, and adopted "
        "for coal-fired heating boilers by provincial standards and the clean-heating plans. "
        "The provincial boiler standard that binds Xinzhou's boiler houses was not checked.",
    )
    emission_so2_mg_m3: float = Field(
        35.0, gt=0, description="Ultra-low limit for SO₂, hourly mean (same sources as above)."
    )
    emission_nox_mg_m3: float = Field(
        50.0,
        gt=0,
        description="Ultra-low limit for NOx as NO₂, hourly mean (same sources as above).",
    )
    emission_reference_o2_pct: float = Field(
        9.0,
        ge=0,
        lt=21,
        description="Reference O₂ of a boiler house whose fuel the registry does not give "
        "(coal's). Concentrations are converted C_ref = C × (21 − O₂ref)/(21 − O₂).",
    )
    emission_reference_o2_by_fuel: dict[str, float] = Field(
        default_factory=lambda: {"coal": 9.0, "biomass": 9.0, "gas": 3.5},
        description="Reference O₂ % by the registry's heat_station_fuel: GB 13271-2014 "
        "(锅炉大气污染物排放标准, issued 2014-05-16, in force 2014-07-01) converts coal-fired "
        "boilers to 9 % and oil- and gas-fired boilers to 3.5 %; biomass boilers are held to the "
        "coal basis (GB 13271-2001 referred bagasse, sawdust, husk and bark boilers to the coal "
        "limits). The percentages are as commonly quoted: the 2014 table itself was not read "
        "here (searched again for issue 20's last round: no copy of the standard's text was "
        "found, only secondary sources — flue-gas calculators defaulting coal boilers to 9 % and "
        "standards lists naming GB 13271-2014 for coal-, oil- and gas-fired boilers; the 3.5 % "
        "for gas and the coal basis for biomass remain unverified). Shanxi's DB14/1929-2019 (锅炉大气污染物排放标准, in force 2020-05-01) requires "
        "CEMS by HJ 75/HJ 76 on ≥14 MW hot-water boilers and judges an exceedance on the "
        "networked hourly mean; its reference-O₂ table was not verified.",
    )
    emission_min_readings_per_hour: int = Field(
        3,
        ge=1,
        description="Readings an hour needs for a valid hourly mean (45 of 60 min at 15-min "
        "cadence, HJ 75-2017's completeness rule as commonly quoted, not checked against the "
        "text); fewer: the hour is not judged (reported as incomplete), never judged on a "
        "fragment.",
    )
    emission_min_minutes_per_hour: int = Field(
        45,
        ge=1,
        le=60,
        description="Minutes of readings an hour needs to be valid whatever the cadence (a "
        "5-min CEMS needs 9 readings, not 3): 45 of 60, HJ 75-2017's hourly-mean rule as "
        "commonly quoted (not checked against the text).",
    )
    cems_firing_o2_max_pct: float = Field(
        19.0,
        gt=0,
        lt=21,
        description="Flue O₂ at or above this is air, not combustion gas: the boiler is not "
        "firing (stopped, banked, purging). Near ambient O₂ (~21 %) the reference-O₂ factor "
        "(21 − O₂ref)/(21 − O₂) explodes (×24 at 20.5 %) and says nothing: such readings are "
        "never converted or judged.",
    )
    cems_firing_flow_share: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Flue flow below this share of the stack's learned running flow (or of "
        "its first firing readings') is a stopped fan: not firing whatever the O₂.",
    )
    sensor_cadence_min_gaps: int = Field(
        3,
        ge=1,
        description="A home's own devices' reporting cadence (15 min or hourly indoor "
        "sensors) is learned as the shortest gap between their readings, trusted after this "
        "many gaps (the first gap may straddle a missed reading); before, the meters' "
        "interval_s is assumed.",
    )
    cems_banked_o2_min_pct: float = Field(
        17.0,
        gt=0,
        lt=21,
        description="Flue O₂ at or above this at low draught (cems_banked_flow_share) is a "
        "banked boiler (压火, minimum fire overnight or at weekends): flagged, not judged, like "
        "start-up and shutdown. Normal operation runs at 3-5 % O₂ (gas) to 6-12 % (coal, "
        "biomass); at 17 % the reference-O₂ factor is already 3× (coal) to 4.4× (gas) on "
        "concentrations near zero. Judged again above the flow share: diluting air raises flow.",
    )
    cems_banked_flow_share: float = Field(
        0.4,
        gt=0,
        lt=1,
        description="Flue flow below this share of the stack's learned running flow, with O₂ at "
        "or above cems_banked_o2_min_pct, is a banked boiler's draught.",
    )
    cems_firing_flue_temp_c: float = Field(
        60.0,
        description="Flue-gas temperature below this (when reported) is a cold stack: not firing.",
    )
    cems_startup_hours: int = Field(
        1,
        ge=0,
        description="Hours after the first firing hour that are still start-up (burners and "
        "abatement reach steady state; CEMS practice flags start-up, HJ 75-2017 has data marks "
        "for it, not verified here): flagged, not judged.",
    )

    @field_validator("heat_design_temps")
    @classmethod
    def _known_design_kinds(
        cls, v: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        known = {"chp_waste_heat", "boiler_house", "biomass"}  # HeatStationKind values
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown heat station kind(s) {unknown}; known: {sorted(known)}")
        for kind, (supply, ret) in v.items():
            if ret >= supply:
                raise ValueError(f"{kind}: design return {ret} is not below supply {supply}")
        return v

    @field_validator("emission_reference_o2_by_fuel")
    @classmethod
    def _known_fuels(cls, v: dict[str, float]) -> dict[str, float]:
        known = {"coal", "gas", "biomass"}  # HeatFuel values
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown fuel(s) {unknown}; known: {sorted(known)}")
        if any(not 0 <= o2 < 21 for o2 in v.values()):
            raise ValueError("a reference O₂ is a percentage below 21")
        return v

    @field_validator("heat_curves")
    @classmethod
    def _known_station_kinds(
        cls, v: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        known = {"chp_waste_heat", "boiler_house", "biomass"}  # HeatStationKind values
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown heat station kind(s) {unknown}; known: {sorted(known)}")
        for kind, (mild, design) in v.items():
            if design < mild:
                raise ValueError(f"{kind}: the curve at −15 °C ({design}) is below +5 °C ({mild})")
        return v

    @field_validator("season_end")
    @classmethod
    def _month_day(cls, v: str) -> str:
        m = _MONTH_DAY.match(v)
        if m is None or not _is_calendar_day(int(m.group(1)), int(m.group(2))):
            raise ValueError(f"expected a calendar day as MM-DD (e.g. 03-15), got {v!r}")
        return v

    def season_end_on_or_after(self, day: date) -> date:
        """The last day of the first heating season ending on or after ``day``."""
        return _next_month_day(self.season_end, day)

    @model_validator(mode="after")
    def _hysteresis_is_consistent(self) -> DetectionSettings:
        if self.overload_clear_ratio > self.overload_ratio:
            raise ValueError("overload_clear_ratio must not exceed overload_ratio")
        if self.gas_clear_pressure_kpa < self.gas_low_pressure_kpa:
            raise ValueError("gas_clear_pressure_kpa must be >= gas_low_pressure_kpa")
        if self.station_clear_outlet_kpa < self.station_low_outlet_kpa:
            raise ValueError("station_clear_outlet_kpa must be >= station_low_outlet_kpa")
        if self.indoor_clear_c < self.indoor_low_c:
            raise ValueError("indoor_clear_c must be >= indoor_low_c")
        if self.peak_charging_clear_share < self.peak_charging_valley_share:
            raise ValueError("peak_charging_clear_share must be >= peak_charging_valley_share")
        return self


def _is_calendar_day(month: int, dom: int) -> bool:
    try:
        date(2000, month, dom)  # a leap year: 02-29 is a calendar day
    except ValueError:
        return False
    return True


@lru_cache(maxsize=256)
def _next_month_day(month_day: str, day: date) -> date:
    month, dom = int(month_day[:2]), int(month_day[3:])
    for year in (day.year, day.year + 1):
        leap_day_missing = (month, dom) == (2, 29) and not calendar.isleap(year)
        end = date(year, month, 28 if leap_day_missing else dom)
        if end >= day:
            return end
    raise AssertionError("unreachable: a month-day recurs within a year")
