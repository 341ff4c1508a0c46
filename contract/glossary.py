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
    "elderly_alone": Term("独居老人户", "elderly living alone"),
    "disabled": Term("残疾人家庭", "household with a disabled member"),
    "low_income": Term("低收入家庭", "low-income household"),
}

VERDICTS: dict[str, Term] = {
    "eligible": Term("可拆除旧取暖设施", "old heating may be removed"),
    "not_yet": Term("暂不拆除", "not yet"),
    "insufficient_data": Term("数据不足", "insufficient data"),
    "visit_required": Term("需入户核实", "visit before dismantling"),
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


# ============================================================================ report-arithmetic block
# Kind families (issue 21): the reports count a household once per (county, family, month)
# whatever devices or parent incidents report it (heatwatch/report/arithmetic.py says which
# kind belongs where and which families are interruptions).
KIND_FAMILIES: dict[str, Term] = {
    "heat_shortfall": Term("供热中断或不足", "heat supply interrupted or low"),
    "power_outage": Term("停电", "power outage"),
    "gas_shortfall": Term("供气中断或不足", "gas supply interrupted or low"),
    "comm_loss": Term("通信中断", "communication loss"),
    "feeder_overload": Term("台区过载", "feeder overload"),
    "peak_charging": Term("高峰时段蓄热", "peak-hour charging"),
    "gas_quota_risk": Term("气量指标风险", "gas quota risk"),
    "emission_exceedance": Term("排放超标", "emission exceedance"),
    "meter_clock_fault": Term("表计时钟异常", "meter clock fault"),
}
# The ledger's reason for an eligible household (no failed criterion): words, with the code
# in the ledger's side column.
LEDGER_REASONS: dict[str, Term] = {
    "all_criteria_met": Term("全部条件满足", "all criteria met"),
}
# ============================================================================ end report-arithmetic


# ============================================================================ dispatch-wording block
# Durations as the dispatch board and alerts say them (1小时48分, not "1.8 hour"), and the
# words of the incident column (issue 21).
DURATION_UNITS: dict[str, Term] = {
    "day": Term("天", "d"),
    "hour": Term("小时", "h"),
    "minute": Term("分", "min"),
    "under_a_minute": Term("不足1分", "under 1 min"),
    "elapsed": Term("已持续", "for"),  # an open incident: time since it started
}
FIELDS.update(
    {
        "duration": Term("持续时长", "duration"),
        "incident": Term("事件", "incident"),
        "parent_id": Term("上级事件", "parent incident"),
        "kind_code": Term("事件类型代码", "incident kind code"),
    }
)


def duration_parts(seconds: float) -> list[tuple[int, str]]:
    """(number, unit code) pairs: whole minutes; days only past 24 h, then no minutes (a
    dispatcher reads days and hours); [] under a minute (but not nothing: 0 is ``0分``)."""
    s = max(int(seconds), 0)
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if s == 0:
        return [(0, "minute")]
    if s < 60:
        return []
    if d:
        return [(d, "day"), (h, "hour")]
    if h:
        return [(h, "hour"), (m, "minute")]
    return [(m, "minute")]


def duration_text(seconds: float, lang: Lang = "zh") -> str:
    """``1小时48分`` / ``2天3小时`` / ``12分`` / ``不足1分`` (en: ``1 h 48 min``)."""
    parts = duration_parts(seconds)
    if not parts:
        return label(DURATION_UNITS, "under_a_minute", lang)
    if lang == "zh":
        return "".join(f"{n}{DURATION_UNITS[u].zh}" for n, u in parts)
    return " ".join(f"{n} {DURATION_UNITS[u].en}" for n, u in parts)


# ============================================================================ end dispatch-wording
# ============================================================================ use and cost
# Whether the new heating is used (issue 24): a household's use state for the season, the
# peers it was measured against, and the words of the use-and-cost tables.
USE_STATES: dict[str, Term] = {
    "used": Term("正常使用", "used"),
    "under_used": Term("疑似未使用/复烧", "suspected unused / back to coal"),
    "empty": Term("疑似空置", "suspected empty"),
    "not_judged": Term("未判定", "not judged"),
}
PEER_SCOPES: dict[str, Term] = {
    "village": Term("本村", "village"),
    "county": Term("本县", "county"),
    "none": Term("无同类户", "no peers"),
}
USE_COST_COLUMNS: dict[str, Term] = {
    "use_state": Term("用能状态", "use"),
    "use_ratio": Term("用能/同类户", "use vs peers"),
    "judged_days": Term("判定天数", "days judged"),
    "low_days": Term("偏低天数", "low days"),
    "energy_kwh": Term("用电量（千瓦时）", "electricity (kWh)"),
    "valley_kwh": Term("低谷电量（千瓦时）", "valley electricity (kWh)"),
    "gas_m3": Term("用气量（立方米）", "gas (m³)"),
    "energy_cost": Term("能源费用（元）", "energy cost (CNY)"),
    "peak_extra": Term("未用低谷多付（元）", "paid for not using the valley (CNY)"),
    "subsidy": Term("补贴（元）", "subsidy (CNY)"),
    "net_cost": Term("自付费用（元）", "household pays (CNY)"),
    "cost_per_m2": Term("每平方米（元）", "per m² (CNY)"),
    "burden": Term("采暖支出占收入", "heating cost share of income"),
    "above_burden": Term("超过负担线", "above the burden threshold"),
}
USE_COST_COLUMNS.update(
    {
        "judged_households": Term("判定户数", "households judged"),
        "under_used_share": Term("疑似未使用占比", "share under-used"),
        "median_net": Term("自付费用中位数（元）", "median household cost (CNY)"),
    }
)
# The Grafana panel of under-used households (dashboards/season.py) shows these columns.
FIELDS.update(
    {k: USE_COST_COLUMNS[k] for k in ("use_state", "use_ratio", "judged_days", "low_days")}
)
# Headings and notes of the use-and-cost section.
USE_COST_TEXT: dict[str, Term] = {
    "section": Term("新设施使用情况与采暖费用", "Use of the new heating and what it cost"),
    "intro": Term(
        "用能按采暖度日（基准 18 °C）折算，与本村（同类户不足时为本县）同改造类型、同设备的住户比较；"
        "寒冷日且有供热时长期远低于同类户为“疑似未使用/复烧”，须入户核实后再拆除旧设施。"
        "费用按各户自身用电（低谷/非低谷）、用气量和 deploy/policy/tariffs.yaml 的电价、气价、"
        "热价和补贴计算；其中标注“示例”的价格须由县里核实后方可对外公布。",
        "Use is energy per heating degree-day (base 18 °C) against households of the same "
        "retrofit type and device in the village (the county when the village has too few); "
        "persistently far below them on cold days with supply is 'suspected unused / back to "
        "coal': visit before dismantling. Costs are each household's own valley/other "
        "electricity and gas priced with deploy/policy/tariffs.yaml; figures marked 示例 "
        "(example) must be confirmed by the county before publication.",
    ),
    "county": Term("县（市、区）", "county"),
    "village": Term("村", "village"),
    "household_id": Term("户号", "household"),
    "retrofit_type": Term("改造类型", "retrofit type"),
    "priority": Term("重点群体", "priority group"),
    "under_used_list": Term(
        "疑似未使用/复烧及疑似空置户（按村，重点群体优先）",
        "Suspected unused / back to coal and suspected empty households (by village, priority "
        "groups first)",
    ),
    "burden_list": Term(
        "采暖费用超过负担线的住户（重点群体优先，费用从高到低）",
        "Households above the burden threshold (priority groups first, highest cost first)",
    ),
    "capped": Term("共 {total} 户，此处列出 {shown} 户", "{total} in all, {shown} listed here"),
}
USE_COST_TEXT.update(
    {
        "monthly_section": Term(
            "新设施使用情况与采暖费用（本采暖季至今）",
            "Use of the new heating and cost (season to date)",
        ),
        "monthly_intro": Term(
            "{season} 采暖季开始至 {to}：用能判定与费用按季报同一规则（见稳定性报告）；"
            "“上月末”为截至上月最后一天的自付费用中位数。",
            "Season {season} up to {to}: use and cost by the season report's rules; 'end of "
            "last month' is the median household cost up to last month's last day.",
        ),
        "median_to_date": Term("自付费用中位数（至今，元）", "median household cost to date (CNY)"),
        "median_last_month": Term("上月末中位数（元）", "median at end of last month (CNY)"),
    }
)
USE_COST_COLUMNS.update({"households": Term("户数", "households")})
USE_COST_TEXT.update({"by_type": Term("按改造类型的采暖费用", "Cost by retrofit type")})
# Heat-network homes: what is (not) judged on use, said in the report rather than left blank.
USE_COST_TEXT.update(
    {
        "network_note": Term(
            "热网户（集中供热、锅炉房、生物质）{total} 户：其中 {meter} 户有户用热量表，按入户供热量"
            "（千瓦时）除以采暖度日，与同一热网（否则本县各类热网）有热量表的户比较，判定用能；"
            "其余 {unjudged} 户未判定用能，原因如下——{indoor} 户只有室温采集器：室温说明热是否送到"
            "（已计入供热结论的室温不达标天数），不说明住户是否在用（关阀烧煤的户与外出的户、正常"
            "采暖的户在所测房间的室温上分不出），故不判定；{station} 户只有换热站数据：日汇总只有"
            "换热站/锅炉房的供热分钟，没有每户用热量，故不判定。",
            "{total} heat-network homes (district heating, boiler houses, biomass): {meter} have "
            "a household heat meter and are judged on use by the heat delivered into the home "
            "(kWh) per degree-day against the metered homes on the same network (else the "
            "county's metered network homes of any type); the other {unjudged} are not judged, "
            "and why: {indoor} have only an indoor sensor — room temperature shows whether heat "
            "arrived (counted in the supply verdict's cold-home days), not whether the family "
            "uses it (a family that shut the valves and burns coal, one that is away and one "
            "that heats well are not told apart by the sampled room's temperature), so use is "
            "not judged; {station} have only their station's data — the rollups carry the "
            "station's supply minutes, not each home's heat, so use is not judged.",
        ),
    }
)
# A network home without a heat meter in the ledger: not judged, and why (not a blank).
USE_COST_TEXT.update(
    {
        "not_judged_network": Term(
            "未判定（热网户，无户用热量表：没有每户用热量）",
            "not judged (network home without a heat meter: no per-home heat figure)",
        )
    }
)
USE_COST_TEXT.update(
    {
        "notice_visit": Term(
            "县里将入户了解新设施使用情况，核实前不拆除旧取暖设施",
            "the county will visit to learn how the new heating is used; the old heating stays "
            "until then",
        )
    }
)
USE_COST_COLUMNS.update({"judged_days": Term("判定天数", "days judged")})
# ============================================================================ clerk block
# The registry (台账) as county clerks keep it in Excel (issue 21): each column's label, the
# header spellings that mean it, and the words of the command line's own framework (help
# panels, usage). Kept in one block so parallel glossary additions merge cleanly.

# The label a clerk's spreadsheet uses for each registry column (the template's header).
REGISTRY_COLUMNS: dict[str, Term] = {
    "household_id": Term("用户编号", "household id"),
    "county": Term("县（市、区）", "county"),
    "village": Term("村", "village"),
    "township": Term("乡镇", "township"),
    "retrofit_type": Term("改造类型", "retrofit type"),
    "heating_device": Term("取暖设备", "heating device"),
    "feeder_id": Term("台区编号", "feeder id"),
    "gas_station_id": Term("燃气调压站编号", "gas station id"),
    "priority_group": Term("重点群体", "priority group"),
    "rated_kw": Term("额定功率（千瓦）", "rated power (kW)"),
    "lat": Term("纬度", "latitude"),
    "lon": Term("经度", "longitude"),
    "retrofit_completed": Term("改造完成日期", "retrofit completed"),
    "old_heating_present": Term("原取暖设施是否保留", "old heating still present"),
    "gas_quota_m3": Term("合同气量（立方米）", "contracted gas (m³)"),
    "heat_station_id": Term("换热站/锅炉房编号", "heat station id"),
    "heat_station_kind": Term("热源类型", "heat source kind"),
    "area_m2": Term("采暖面积（平方米）", "heated area (m²)"),
    "heat_station_design_flow_m3h": Term(
        "换热站设计流量（立方米/小时）", "station design flow (m³/h)"
    ),
    "heat_station_heated_area_m2": Term("换热站供热面积（平方米）", "station heated area (m²)"),
    "heat_station_design_supply_c": Term("设计供水温度（℃）", "design supply temperature (°C)"),
    "heat_station_design_return_c": Term("设计回水温度（℃）", "design return temperature (°C)"),
    "heat_station_curve_mild_c": Term(
        "供热曲线+5℃时供水温度（℃）", "heating curve supply at +5 °C (°C)"
    ),
    "heat_station_curve_design_c": Term(
        "供热曲线-15℃时供水温度（℃）", "heating curve supply at -15 °C (°C)"
    ),
    "heat_station_fuel": Term("锅炉燃料", "boiler fuel"),
    "heat_station_rated_mw": Term("锅炉额定容量（兆瓦）", "boiler rated capacity (MW)"),
}

# Other header spellings met in county ledgers, each meaning exactly one column. Matching
# ignores case, spaces, full-/half-width forms and a trailing unit in brackets (额定功率(kW)).
REGISTRY_HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "household_id": ("户号", "用户号", "户编号", "用户编码", "户籍编号", "编号"),
    "county": ("县", "县区", "区县", "县市区", "县（区）", "县(市/区)", "县（市）", "县名"),
    "village": ("行政村", "村庄", "村名", "村（社区）", "村/社区"),
    "township": ("乡", "镇", "乡（镇）", "乡/镇", "乡镇（街道）", "乡镇街道"),
    "retrofit_type": ("改造方式", "改造类别", "清洁取暖方式", "取暖方式"),
    "heating_device": ("采暖设备", "设备类型", "取暖设备类型", "设备"),
    "feeder_id": ("台区", "变压器台区", "台区号"),
    "gas_station_id": ("调压站", "调压站编号", "燃气调压站", "调压柜"),
    "priority_group": ("重点人群", "人群类别", "群体类别", "重点群体类别"),
    "rated_kw": ("额定功率", "功率", "设备功率"),
    "lat": ("北纬",),
    "lon": ("东经",),
    "retrofit_completed": ("完成日期", "改造完成时间", "完工日期", "竣工日期"),
    "old_heating_present": ("是否保留原取暖设施", "原设施保留", "原取暖设施保留", "保留原设施"),
    "gas_quota_m3": ("合同气量", "年度气量", "气量指标"),
    "heat_station_id": ("换热站", "锅炉房", "换热站编号", "锅炉房编号", "热源编号"),
    "heat_station_kind": ("热源", "换热站类型", "热源种类"),
    "area_m2": ("采暖面积", "供暖面积", "建筑面积", "面积"),
    "heat_station_design_flow_m3h": ("设计流量", "循环流量"),
    "heat_station_heated_area_m2": ("供热面积", "站供热面积"),
    "heat_station_design_supply_c": ("设计供水温度", "供水设计温度"),
    "heat_station_design_return_c": ("设计回水温度", "回水设计温度"),
    "heat_station_fuel": ("燃料", "燃料类型", "锅炉燃料类型"),
    "heat_station_rated_mw": ("额定容量", "锅炉容量", "额定热功率"),
}

# What an "是/否" cell may say (old_heating_present), as the error message lists it.
YES_NO_FORMS = Term("是/否、有/无、√/×、1/0、true/false", "yes/no, true/false, 1/0, 是/否")
DATE_FORMS = Term("2021-09-05、2021/9/5 或 2021年9月5日", "2021-09-05, 2021/9/5 or 2021年9月5日")

# The command-line framework's own words (help panels and usage line), both languages at once
# because help is read before anyone chose a language.
CLI_FRAMEWORK: dict[str, Term] = {
    "usage": Term("用法", "Usage"),
    "options": Term("选项", "Options"),
    "arguments": Term("参数", "Arguments"),
    "commands": Term("命令", "Commands"),
    "error": Term("错误", "Error"),
    "default": Term("默认", "default"),
    "env_var": Term("环境变量", "env var"),
    "required": Term("必填", "required"),
    "help_hint": Term("查看帮助", "for help, run"),
}
# ============================================================================ end clerk
# ============================================================================ identity block
# Reading kinds (the contract's ``kind`` tags; ``streams/core/sources.py`` names each kind's
# label here) and the codes every dead letter carries (issue 21 item 3).
READING_KINDS: dict[str, Term] = {
    "electric": Term("电表读数", "electricity meter reading"),
    "gas": Term("燃气表读数", "gas meter reading"),
    "feeder": Term("台区负荷", "feeder load"),
    "gas_station": Term("燃气调压站读数", "gas station reading"),
    "weather": Term("室外气温", "outdoor temperature"),
    "heat_station": Term("换热站/锅炉房读数", "heat station reading"),
    "indoor_temp": Term("室温采集器读数", "indoor temperature sensor reading"),
    "heat_meter": Term("户用热量表读数", "household heat meter reading"),
    "stack_emission": Term("烟气在线监测读数", "stack emission (CEMS) reading"),
}

# The code of every dead letter (``streams/ingest.py`` ``dead_letter_code``): what a reader of
# dead_letters.jsonl, of the Kafka dead-letter topic and of the console summary sees first.
DEAD_LETTER_REASONS: dict[str, Term] = {
    "empty": Term("空记录", "empty record"),
    "malformed_json": Term("JSON 格式错误（无法解析）", "malformed JSON"),
    "unknown_kind": Term("读数类型未知或缺失", "unknown or missing kind"),
    "bad_time": Term("时间无法解析或缺少时区", "unparseable time"),
    "schema": Term("字段缺失、类型或取值不符合数据契约", "does not follow the contract"),
    "unknown_source": Term("设备不在登记册中", "device not in the registry"),
    "late": Term("迟到（超过容许延迟）", "late"),
    "conflict": Term("同一设备同一时刻两个不同读数", "conflicting readings"),
    "clock_fault": Term("表计时钟异常", "meter clock fault"),
    "implausible": Term("读数超出物理可能范围", "implausible value"),
    "other": Term("其他原因", "other"),
}
# ============================================================================ end identity
