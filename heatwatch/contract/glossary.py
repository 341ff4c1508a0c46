"""Every user-facing term, Chinese first, English available: the one vocabulary.

The CLI, the reports, the dashboards and the alerts name incident kinds, retrofit types,
verdicts, priority groups and places only through this module, so one thing never has two
names (e.g. a feeder's transformer area is always 台区, never 线路). Codes are the contract's
enum values; a code with no entry falls back to itself, so a new code shows, not crashes.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


class Term(NamedTuple):
    zh: str
    en: str


INCIDENT_KINDS: dict[str, Term] = {
    "household_outage": Term("用户停电", "household outage"),
    "comm_loss": Term("通信中断", "communication loss"),
    "feeder_outage": Term("台区停电", "feeder outage"),
    "peak_charging": Term("高峰时段蓄热", "peak-hour charging"),
    "feeder_overload": Term("台区过载", "feeder overload"),
    "gas_low_pressure": Term("用户燃气压力低", "low gas pressure"),
    "gas_supply_shortfall": Term("燃气供应不足", "gas supply shortfall"),
    "gas_quota_risk": Term("气量指标风险", "gas quota risk"),
    "meter_clock_fault": Term("表计时钟异常", "meter clock fault"),
}

SEVERITIES: dict[str, Term] = {
    "critical": Term("严重", "critical"),
    "warning": Term("警告", "warning"),
    "info": Term("提示", "info"),
}

ENTITY_TYPES: dict[str, Term] = {
    "household": Term("用户", "household"),
    "feeder": Term("台区", "feeder"),
    "gas_station": Term("燃气调压站", "gas station"),
    "county": Term("县（市、区）", "county"),
}

RETROFIT_TYPES: dict[str, Term] = {
    "district_heating": Term("集中供热、工业余热", "district heating / waste heat"),
    "boiler_ultra_low_emission": Term("锅炉超低排放改造", "boiler ultra-low-emission"),
    "coal_to_electric": Term("煤改电", "coal-to-electricity"),
    "coal_to_gas": Term("煤改气", "coal-to-gas"),
    "biomass_chp": Term("生物质热电联产", "biomass CHP"),
    "biomass_district": Term("生物质集中供热", "biomass district heating"),
    "wind_electric": Term("风电清洁取暖", "wind-power heating"),
    "solar": Term("太阳能清洁取暖", "solar heating"),
}

HEATING_DEVICES: dict[str, Term] = {
    "storage_heater": Term("蓄热式电暖器", "storage heater"),
    "heat_pump": Term("热泵", "heat pump"),
    "direct_electric": Term("直热式电暖器", "direct electric heater"),
    "gas_boiler": Term("燃气壁挂炉", "gas wall-hung boiler"),
    "district": Term("集中供热", "district heating"),
}

PRIORITY_GROUPS: dict[str, Term] = {
    "none": Term("", ""),
    "kindergarten": Term("幼儿园", "kindergarten"),
    "school": Term("中小学校", "school"),
    "elderly_home": Term("养老机构", "elderly home"),
    "hardship": Term("困难户", "hardship"),
}

VERDICTS: dict[str, Term] = {
    "eligible": Term("可拆除旧取暖设施", "old heating may be removed"),
    "not_yet": Term("暂不拆除", "not yet"),
    "insufficient_data": Term("数据不足", "insufficient data"),
}

# Places and things the screens name.
NOUNS: dict[str, Term] = {
    "feeder": Term("台区", "feeder"),
    "gas_station": Term("燃气调压站", "gas station"),
    "county": Term("县（市、区）", "county"),
    "village": Term("村", "village"),
    "township": Term("乡镇", "township"),
    "household": Term("用户", "household"),
    "incident": Term("事件", "incident"),
    "households_affected": Term("影响户数", "households affected"),
    "priority_households": Term("重点群体户数", "priority households"),
}


def label(vocabulary: dict[str, Term], code: str, lang: Lang = "zh") -> str:
    """The term for ``code`` in ``lang``; the code itself when the vocabulary lacks it."""
    term = vocabulary.get(code)
    if term is None:
        return code
    return term.zh if lang == "zh" else term.en


def bilingual(vocabulary: dict[str, Term], code: str) -> str:
    """``中文 English`` for screens that show both (the terminal, dashboard titles)."""
    term = vocabulary.get(code)
    if term is None:
        return code
    return f"{term.zh} {term.en}".strip()


def by_lang(vocabulary: dict[str, Term]) -> dict[str, dict[str, str]]:
    """``{"zh": {code: term}, "en": {code: term}}`` for code that indexes by language first."""
    return {
        "zh": {code: term.zh for code, term in vocabulary.items()},
        "en": {code: term.en for code, term in vocabulary.items()},
    }


# ============================================================================ dispatch-ux block
# Dashboard columns, facility states and alert wording (issue 13). Kept in one block so
# parallel glossary additions merge cleanly.

# Column / field names as the screens show them (Grafana display names, alert text).
FIELDS: dict[str, Term] = {
    "_time": Term("时间", "time"),
    "county": Term("县（市、区）", "county"),
    "village": Term("村", "village"),
    "feeder_id": Term("台区编号", "feeder id"),
    "station_id": Term("燃气调压站编号", "gas station id"),
    "household_id": Term("用户编号", "household id"),
    "incident_id": Term("事件编号", "incident id"),
    "kind": Term("事件类型", "incident kind"),
    "severity": Term("级别", "severity"),
    "state": Term("状态", "state"),
    "entity_type": Term("对象类型", "entity type"),
    "entity_id": Term("对象编号", "entity id"),
    "entity": Term("设施类型", "facility type"),
    "name": Term("设施编号", "facility id"),
    "households_affected": Term("影响户数", "households affected"),
    "priority_households": Term("重点群体户数", "priority households"),
    "started_at": Term("开始时间", "started at"),
    "duration_s": Term("持续时长", "duration"),
    "kw": Term("当前负荷", "load"),
    "rated_kva": Term("额定容量", "rated capacity"),
    "load_ratio": Term("负载率", "load ratio"),
    "overloaded": Term("是否过载", "overloaded"),
    "quota_m3": Term("合同气量", "contracted quota"),
    "used_m3": Term("已用气量", "used"),
    "remaining_m3": Term("剩余气量", "remaining"),
    "burn_m3_per_day": Term("日均用气", "daily burn"),
    "days_left": Term("可用天数", "days left"),
    "exhaustion": Term("预计耗尽日期", "projected exhaustion"),
    "households_at_risk": Term("风险户数", "households at risk"),
    "retrofit_type": Term("改造类型", "retrofit type"),
    "priority_group": Term("重点群体", "priority group"),
    "outage_min": Term("停电时长", "outage"),
    "shortfall_min": Term("缺气时长", "gas shortfall"),
    "interruptions": Term("中断次数", "interruptions"),
    "availability": Term("供热可用率", "heating availability"),
    "delivered_m3": Term("实际供气量", "delivered"),
    "expected_m3": Term("应供气量", "expected"),
    "valley_share_mean": Term("谷电占比（平均）", "valley share (mean)"),
    "valley_share_min": Term("谷电占比（最低）", "valley share (minimum)"),
    "coverage": Term("数据覆盖率", "data coverage"),
}

INCIDENT_STATES: dict[str, Term] = {
    "open": Term("进行中", "open"),
    "resolved": Term("已恢复", "resolved"),
}

# Map markers: 0 ok, 1 strained, 2 failing (dispatch overview geomap).
FACILITY_STATES: dict[str, Term] = {
    "0": Term("正常", "ok"),
    "1": Term("紧张", "strained"),
    "2": Term("故障", "failing"),
}

YES_NO: dict[str, Term] = {
    "0": Term("否", "no"),
    "1": Term("是", "yes"),
}

# Data faults the simulator injects besides incidents (ground truth of the input path).
DATA_FAULTS: dict[str, Term] = {
    "duplicates": Term("重复读数", "duplicate readings"),
    "late": Term("迟到读数", "late readings"),
    "malformed": Term("畸形行", "malformed lines"),
}

# Who answers for a kind (alert routing) and the first thing the on-call person does.
RESPONDERS: dict[str, Term] = {
    "power": Term("供电公司值班", "power company on-call"),
    "gas": Term("燃气公司值班", "gas company on-call"),
    "heat": Term("供热单位值班", "heat operator on-call"),
    "county_office": Term("县清洁办", "county clean-heating office"),
    "platform": Term("平台运维", "platform operations"),
}

RUNBOOKS: dict[str, Term] = {
    "meter_clock_fault": Term(
        "派计量人员对时或更换该表；对时前其读数按时钟偏差拒收（见拒收记录）",
        "Send metering staff to set or replace the meter's clock; until then its readings are "
        "rejected with the clock offset (see the dead letters)",
    ),
    "household_outage": Term(
        "联系供电所核实该户电表与进户线；先查是否为台区停电的一部分",
        "Call the power supply station to check the meter and service line; first check "
        "whether it is part of a feeder outage",
    ),
    "comm_loss": Term(
        "联系供电公司采集运维，检查集中器在线状态；停电与通信中断先区分",
        "Call the grid's metering operations to check the concentrator is online; tell "
        "outage from communication loss first",
    ),
    "feeder_outage": Term(
        "立即电话供电公司调度，确认台区故障与抢修到达时间；优先通知重点群体户",
        "Phone the power company's dispatch now: confirm the feeder fault and repair ETA; "
        "notify priority-group households first",
    ),
    "peak_charging": Term(
        "通知供电所检查蓄热式电暖器的谷段定时设置",
        "Ask the power supply station to check the storage heaters' valley-tariff timers",
    ),
    "feeder_overload": Term(
        "电话供电公司调度核实台区负荷，必要时错峰或临时增容",
        "Phone the power company's dispatch to check the feeder load; stagger charging or "
        "add temporary capacity if needed",
    ),
    "gas_low_pressure": Term(
        "联系燃气公司检查调压站出口压力和入户阀门",
        "Call the gas company to check the station's outlet pressure and the service valves",
    ),
    "gas_supply_shortfall": Term(
        "立即电话燃气公司调度，核实气源与调压站出口压力；准备重点群体应急供暖",
        "Phone the gas company's dispatch now: check supply and station outlet pressure; "
        "prepare emergency heating for priority groups",
    ),
    "gas_quota_risk": Term(
        "通知县清洁办与燃气公司核对合同气量，提前协调追加气量",
        "Tell the county office and the gas company to check the contracted quota and "
        "arrange extra volume in time",
    ),
}
# The contract's heating devices include solar thermal collectors (solar heating retrofits).
HEATING_DEVICES.setdefault("solar_thermal", Term("太阳能集热器", "solar thermal collector"))
# ============================================================================ end dispatch-ux


# ============================================================================ heat block
# Heat networks and boiler houses (issue 12). Kept in one block so parallel glossary
# additions merge cleanly.
INCIDENT_KINDS.update(
    {
        "heat_supply_interruption": Term("供热中断", "heat supply interruption"),
        "heat_supply_low": Term("供水温度偏低", "low supply temperature"),
        "indoor_temp_low": Term("室温不达标", "indoor temperature low"),
        "emission_exceedance": Term("排放超标", "emission exceedance"),
    }
)
ENTITY_TYPES["heat_station"] = Term("换热站/锅炉房", "heat station / boiler house")
NOUNS["heat_station"] = Term("换热站/锅炉房", "heat station / boiler house")
HEAT_STATION_KINDS: dict[str, Term] = {
    "chp_waste_heat": Term("热电联产、工业余热换热站", "CHP / waste-heat exchange station"),
    "boiler_house": Term("锅炉房", "boiler house"),
    "biomass": Term("生物质热源", "biomass heat source"),
}
HEAT_FUELS: dict[str, Term] = {
    "coal": Term("燃煤", "coal"),
    "gas": Term("燃气", "gas"),
    "biomass": Term("生物质", "biomass"),
}
EVIDENCE: dict[str, Term] = {
    "electric_meter": Term("电表", "electricity meter"),
    "gas_meter": Term("燃气表", "gas meter"),
    "heat_station": Term("换热站供热", "heat station supply"),
    "heat_station+indoor": Term("换热站供热＋室温", "heat station supply + indoor temperature"),
    "heat_station+heat_meter": Term("换热站供热＋热量表", "heat station supply + heat meter"),
}
RUNBOOKS.update(
    {
        "heat_supply_interruption": Term(
            "立即电话供热单位调度，核实换热站/锅炉房停运原因与恢复时间；优先通知重点群体户",
            "Phone the heat operator's dispatch now: confirm why the station stopped and when "
            "it restarts; notify priority-group households first",
        ),
        "heat_supply_low": Term(
            "通知供热单位按室外温度调整供水温度（供热曲线），核实热源出力",
            "Ask the heat operator to raise the supply temperature to the heating curve for "
            "the outdoor temperature and check the heat source's output",
        ),
        "indoor_temp_low": Term(
            "联系供热单位入户核实室温，检查户内阀门、暖气片与管网水力平衡",
            "Ask the heat operator to visit and check the indoor temperature, the household's "
            "valves, radiators and the network's hydraulic balance",
        ),
        "emission_exceedance": Term(
            "通知县生态环境部门与锅炉房核实在线监测数据和除尘、脱硫、脱硝设施运行",
            "Tell the county environment bureau and the boiler house to check the CEMS data and "
            "the dust, desulphurisation and denitrification equipment",
        ),
    }
)
# The device a heat ``comm_loss`` names in ``details.device`` (a silent station's telemetry
# or a home's own sensor; meters' comm_loss carries no device).
HEAT_DEVICES: dict[str, Term] = {
    "heat_station": Term("换热站远传终端", "heat station telemetry unit"),
    "indoor": Term("室温采集器", "indoor temperature sensor"),
    "heat_meter": Term("户用热量表", "household heat meter"),
}
HEAT_COMM_LOSS_RUNBOOK = Term(
    "联系供热单位检查换热站远传终端或户内采集器的供电与通信；通信恢复前该站/户供热状态未知",
    "Ask the heat operator to check the station's telemetry unit or the home's sensor "
    "(power, SIM/uplink); until it reports again the heat it delivers is unknown",
)
# ============================================================================ end heat


# ============================================================================ heat-ui block
# The 集中供热 dashboard's columns and the season report's evidence column (issue 12).
FIELDS.update(
    {
        "heat_station_id": Term("换热站/锅炉房编号", "heat station id"),
        "secondary_supply_c": Term("二次供水温度", "secondary supply temperature"),
        "secondary_return_c": Term("二次回水温度", "secondary return temperature"),
        "curve_supply_c": Term("供热曲线温度", "heating-curve supply temperature"),
        "flow_m3h": Term("循环流量", "flow"),
        "heat_kw": Term("供热功率", "heat output"),
        "households": Term("供热户数", "households served"),
        "cold_homes": Term("室温不达标户数", "cold homes"),
        "interrupted": Term("是否中断", "interrupted"),
        "supply_low": Term("是否低于供热曲线", "below the heating curve"),
        "particulates_mg_m3": Term("颗粒物", "particulates"),
        "so2_mg_m3": Term("二氧化硫", "SO₂"),
        "nox_mg_m3": Term("氮氧化物", "NOx"),
        "supplied_minutes": Term("正常供热时长", "supplied"),
        "interrupted_minutes": Term("中断时长", "interrupted"),
        "low_minutes": Term("低于曲线时长", "below the curve"),
        "no_data_minutes": Term("无数据时长", "no data"),
        "evidence": Term("依据", "evidence"),
        "cold_home_days": Term("供热不足天数", "cold-home days"),
    }
)
# The parts an evidence code is made of (``heat_station+indoor`` → 换热站供热、室温采集), so a
# ledger can name every source a verdict rests on even when it changed during the season.
EVIDENCE_SOURCES: dict[str, Term] = {
    "electric_meter": Term("电表", "electricity meter"),
    "gas_meter": Term("燃气表", "gas meter"),
    "heat_station": Term("换热站供热", "heat station supply"),
    "indoor": Term("室温采集", "indoor temperature sensor"),
    "heat_meter": Term("户用热表", "household heat meter"),
}
EVIDENCE_NOT_RECORDED = Term("未记录", "not recorded")
# ============================================================================ end heat-ui
