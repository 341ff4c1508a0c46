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
    "eligible": Term("可拆除", "eligible"),
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
