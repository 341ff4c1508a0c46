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
        datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=8))),
        description="Readings stamped before this are rejected (no meter of the programme ran "
        "before 2000; 1970-01-01 is a meter whose real-time clock was reset).",
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
        "home is the use judgement's case (疑似未使用), not peak_charging.",
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

    # --- heat networks and boiler houses (issue 12) -------------------------------------
    heat_interruption_supply_c: float = Field(
        35.0,
        description="Secondary supply below this delivers no useful heat: radiators of a 75/50 "
        "design give almost nothing under ~40 °C, and a tripped station's supply falls to the "
        "return temperature (25-35 °C) within one interval.",
    )
    heat_restore_supply_c: float = Field(
        40.0, description="Hysteresis: the interruption ends at or above this supply."
    )
    heat_interruption_flow_m3h: float = Field(
        1.0,
        ge=0,
        description="Circulation below this means the pumps stopped (a village station "
        "circulates 20-150 m³/h; no running network reads this low).",
    )
    heat_interruption_min_readings: int = Field(
        2,
        ge=1,
        description="Consecutive readings before opening (30 min: one bad sample is noise).",
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
        "(about −15 °C); boiler houses run hotter, biomass plants cooler. Operators tune them.",
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
        3,
        ge=1,
        description="Sampled homes of one station cold at once that make it a station problem "
        "(one page for the station instead of one per home).",
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
        description="Reference O₂ the limits apply at; measured concentrations are converted "
        "C_ref = C × (21 − O₂ref)/(21 − O₂). 9 % is GB 13271-2014's basis for coal-fired "
        "boilers; power units use 6 % (set 6 where the local rule says so). Not verified "
        "against the provincial standard.",
    )
    emission_min_readings_per_hour: int = Field(
        3,
        ge=1,
        description="Readings an hour needs for a valid hourly mean (45 of 60 min at 15-min "
        "cadence, the completeness rule of HJ 75-2017 as far as known here); fewer: the hour "
        "is not judged (reported as incomplete), never judged on a fragment.",
    )

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
        if self.heat_restore_supply_c < self.heat_interruption_supply_c:
            raise ValueError("heat_restore_supply_c must be >= heat_interruption_supply_c")
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
