"""Report wording, Chinese (default) and English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract.glossary import (
    EVIDENCE_SOURCES,
    FIELDS,
    INCIDENT_KINDS,
    KIND_FAMILIES,
    LEDGER_REASONS,
    NOUNS,
    PRIORITY_GROUPS,
    RETROFIT_TYPES,
    VERDICTS,
    by_lang,
)

# Terms come from the one glossary; this module holds only the report's sentences.
RETROFIT = by_lang(RETROFIT_TYPES)
PRIORITY = by_lang(PRIORITY_GROUPS)
INCIDENT_KIND = by_lang(INCIDENT_KINDS)
KIND_FAMILY_TERMS = by_lang(KIND_FAMILIES)

T: dict[str, dict[str, str]] = {
    "zh": {
        "season_title": "{season} 采暖季清洁取暖运行稳定性报告",
        "season_sub": "“先立后破、不立不破”——逐户判定旧取暖设施能否拆除的依据",
        "generated": "生成时间",
        "scope": "范围",
        "whole_city": "全市",
        "criteria": "稳定性判定标准",
        "criteria_by_type": "分改造类型的判定依据与指标（依据：判定所依据的数据）",
        "judged_on": "判定指标",
        "summary_city": "全市汇总",
        "by_county": "分县（市、区）汇总",
        "by_retrofit": "分改造类型汇总",
        "by_village": "问题较多的村（按“暂不拆除”户数排序）",
        "charts": "图表",
        "county": "县（市、区）",
        "village": "村",
        "retrofit_type": "改造类型",
        "season": "采暖季",
        "households": "户数",
        "eligible": "可拆除",
        "not_yet": "暂不拆除",
        "insufficient_data": "数据不足",
        "eligible_share": "可拆除比例",
        "mean_availability": "平均可用率",
        "saidi": "户均中断时长(h) SAIDI",
        "saifi": "户均中断次数 SAIFI",
        "caidi": "平均每次中断(h) CAIDI",
        "priority_not_yet": "重点群体暂不拆除",
        "priority": "重点群体",
        "household_id": "户号",
        "verdict": "结论",
        "reasons": "原因",
        "reason_codes": "原因代码",
        "season_days": "采暖季天数",
        "days_with_data": "有效数据天数",
        "coverage": "数据覆盖率",
        "availability": "供热可用率",
        "cold_availability": "最冷日可用率",
        "interruptions": "中断次数",
        "long_interruptions": "长时中断次数",
        "longest_h": "最长中断(小时)",
        "gas_shortfall_h": "燃气不足(小时)",
        "interruption_h": "中断时长(小时)",
        "old_heating_present": "旧取暖设施仍在",
        "retrofit_completed": "改造完工日期",
        "lat": "纬度",
        "lon": "经度",
        "yes": "是",
        "no": "否",
        "not_yet_list": "暂不拆除户名单（重点群体优先）",
        "capped": "共 {total} 户，此处列出前 {shown} 户；完整名单见 XLSX/CSV 台账。",
        "none_listed": "无。",
        "removed_early": "警示：旧取暖设施已拆除但尚未达到稳定标准的户（违反“先立后破”）",
        "chart_hist": "采暖季供热可用率分布（户）",
        "chart_month": "各月中断次数",
        "chart_map": "各村位置与“暂不拆除”比例",
        "share_not_yet": "暂不拆除比例",
        "month": "月份",
        "count": "数量",
        "cold_days": "最冷日",
        "ledger_note": "逐户台账：{files}",
        "total": "合计",
        "monthly_title": "{month} 清洁取暖运行月报",
        "monthly_sub": "报送：市清洁取暖工作领导小组办公室",
        "incidents_by_county_kind": "分县、分类别事件统计（同类事件中每户只计一次）",
        "kind": "类别",
        "incidents_by_kind": "其中（按事件类型）",
        "incidents": "事件数",
        "households_affected": "影响户数",
        "priority_affected": "影响重点群体户数",
        "interruption_hours": "中断时长(户·小时)",
        "gas_supply": "燃气供应",
        "shortfall_incidents": "供气不足事件",
        "gas_households_affected": "受影响燃气户",
        "peak_charging_households": "高峰蓄热户数",
        "monthly_summary": "分县汇总",
        "household_interruptions": "用户中断次数",
        "no_incidents": "本月无事件。",
        "generated_bj": "生成时间（北京时间）",
        "issuer": "发文单位",
        "issue_date": "发布日期",
        "to_fill": "________________",
        "approval": "审核与批准",
        "prepared_by": "编制人（签字）",
        "reviewed_by": "审核人（签字）",
        "approved_by": "批准人（签字）",
        "seal": "发文单位（盖章）",
        "sign_date": "日期",
        "coverage_warning": "注意：数据未覆盖整个采暖季。数据只覆盖 {span}，而 {season} 采暖季为 "
        "{season_span}。本报告不是整季结论：目前未达标的户列为“数据不足”，不作“暂不拆除”结论；"
        "请在采暖季结束、数据完整后重新生成。",
        "coverage_ok": "数据覆盖整个采暖季（{span}）。",
        "draft_mark": "草稿 DRAFT · 数据覆盖 {days}/{total} 天 · 采暖季数据不完整，不是正式结论，不得张贴",
        "notices_withheld": "数据只覆盖 {days}/{total} 天：未生成村级公示（公示须在采暖季数据完整后出具）；"
        "如需内部核对用的公示草稿，请加 --notices-draft。",
        "early_insufficient_note": "另有 {n} 户旧取暖设施已拆除、目前数据不足（采暖季数据不完整），"
        "待数据完整后再判定，不列入本警示（见台账）。",
        "doc_no": "文号",
        "compiled_by": "编报单位",
        "sent_by": "报送人",
        "doc_no_draft": "草稿，无文号",
        "eligible_list": "可拆除旧取暖设施户名单",
        "insufficient_list": "数据不足户：需修复计量或通信的表计工作清单",
        "visit_list": "需入户核实户名单：供热稳定但疑似未使用/复烧或空置（重点群体优先）",
        "days_missing": "缺数据天数",
        "county_lists": "分县名单",
        "notice_title": "{village}（{county}）清洁取暖旧取暖设施拆除公示",
        "notice_intro": "根据 {season} 采暖季运行监测数据，按“先立后破、不立不破”原则，"
        "对本村清洁取暖改造户逐户判定如下。只公示户号，不公开姓名、电话和住址。",
        "notice_period": "公示期：{start} 至 {end}（共 {days} 天）。",
        "notice_objection": "如对结论有异议，请在公示期内向{issuer}提出（{contact}），写明户号和理由；"
        "逾期未提出的视为无异议。",
        "notice_doc_title": "{season} 采暖季旧取暖设施拆除公示（分村）",
        "row_no": "序号",
        "chart_avail_matrix": "各县分改造类型的平均供热可用率（%，括号内为户数）",
        "chart_month_y": "中断次数（次）",
        "chart_month_no_data": "无数据",
        "hh_ids_only": "户号",
        "rollup_interruption_hours": "日汇总中断时长(户·小时)",
        "month_full": "数据覆盖整月 {total} 天（{span}，北京时间）。",
        "month_partial": "注意：本月只有部分数据，覆盖 {days} / {total} 天（{span}，北京时间）；"
        "各项数字只反映这段时间。",
        "definitions": "指标说明",
        "def_incidents": "本月内发生或持续的上级事件数；一个事件跨几个月就在每个月各计一次；"
        "台区停电下的用户停电、换热站中断下的各户中断等下级事件并入上级事件，不单独计数。",
        "def_households_affected": "受这些事件影响的不同户数：同一户在同一县、同一类别（如供热中断或不足、通信中断）中只计一次，"
        "无论由哪台设备或哪个上级事件报告；在县合计和全市合计中也只计一次，不会超过登记户数。",
        "def_priority_affected": "受影响户中重点群体（学校、幼儿园、养老机构、困难户、独居老人户、残疾人家庭、低收入家庭）的不同户数。",
        "def_interruption_hours": "中断：用户的取暖供应中断或低于服务标准——停电（用户或台区）、燃气压力低或供气不足、"
        "供热中断、供水温度低于供热曲线、室温不达标；与日汇总计为停电或供气/供热不足的分钟一致。"
        "通信中断、高峰蓄热、过载、气量风险、排放超标不是中断（记为“—”）。每户在本月（且在数据范围内）"
        "的中断时段合并后相加，单位户·小时；未结束的事件只算到数据截止时刻。",
        "def_household_interruptions": "逐户日汇总中本月开始的中断（停电、供气不足、供热中断或不足）次数之和；"
        "与稳定性报告“各月中断次数”图按同一规则计数（跨日持续的中断计在开始的月份）。",
        "def_rollup_interruption_hours": "逐户日汇总中本月停电分钟与供气、供热不足分钟之和，折算为户·小时。",
        "def_shortfall_incidents": "本月内的燃气供应不足（调压站）事件数。",
        "def_gas_households_affected": "受燃气供应不足或燃气压力低影响的不同户数。",
        "def_peak_charging_households": "本月出现高峰时段蓄热的不同户数。",
    },
    "en": {
        "season_title": "Clean-heating stability report, heating season {season}",
        "season_sub": "Build the new before breaking the old: household-by-household evidence "
        "for removing the old heating",
        "generated": "Generated",
        "scope": "Scope",
        "whole_city": "Whole city",
        "criteria": "Stability criteria",
        "criteria_by_type": "Criteria by retrofit type (evidence: the data a verdict rests on)",
        "judged_on": "Judged on",
        "summary_city": "City summary",
        "by_county": "By county",
        "by_retrofit": "By retrofit type",
        "by_village": "Villages with most 'not yet' households",
        "charts": "Charts",
        "county": "County",
        "village": "Village",
        "retrofit_type": "Retrofit type",
        "season": "Season",
        "households": "Households",
        "eligible": "Eligible",
        "not_yet": "Not yet",
        "insufficient_data": "Insufficient data",
        "eligible_share": "Eligible share",
        "mean_availability": "Mean availability",
        "saidi": "SAIDI (h/household)",
        "saifi": "SAIFI (/household)",
        "caidi": "CAIDI (h)",
        "priority_not_yet": "Priority not yet",
        "priority": "Priority group",
        "household_id": "Household",
        "verdict": "Verdict",
        "reasons": "Reasons",
        "reason_codes": "Reason codes",
        "season_days": "Season days",
        "days_with_data": "Days with data",
        "coverage": "Coverage",
        "availability": "Availability",
        "cold_availability": "Cold-day availability",
        "interruptions": "Interruptions",
        "long_interruptions": "Long interruptions",
        "longest_h": "Longest (h)",
        "gas_shortfall_h": "Gas shortfall (h)",
        "interruption_h": "Interruption hours",
        "old_heating_present": "Old heating present",
        "retrofit_completed": "Retrofit completed",
        "lat": "Lat",
        "lon": "Lon",
        "yes": "yes",
        "no": "no",
        "not_yet_list": "'Not yet' households (priority groups first)",
        "capped": "{total} households in all; the first {shown} are listed here, the full "
        "list is in the XLSX/CSV ledger.",
        "none_listed": "None.",
        "removed_early": "Warning: old heating already removed although not yet stable "
        "(breaks 'build before breaking')",
        "chart_hist": "Heat availability over the season (households)",
        "chart_month": "Interruptions by month",
        "chart_map": "Villages and their share of 'not yet' households",
        "share_not_yet": "share not yet",
        "month": "Month",
        "count": "Count",
        "cold_days": "Coldest days",
        "ledger_note": "Household ledgers: {files}",
        "total": "Total",
        "monthly_title": "Clean-heating monthly report {month}",
        "monthly_sub": "To: Clean Heating Leading Group Office",
        "incidents_by_county_kind": "Incidents by county and kind family (each household "
        "once per family)",
        "kind": "Kind family",
        "incidents_by_kind": "Of which (by incident kind)",
        "incidents": "Incidents",
        "households_affected": "Households affected",
        "priority_affected": "Priority households affected",
        "interruption_hours": "Interruption household-hours",
        "gas_supply": "Gas supply",
        "shortfall_incidents": "Shortfall incidents",
        "gas_households_affected": "Gas households affected",
        "peak_charging_households": "Peak-charging households",
        "monthly_summary": "By county",
        "household_interruptions": "Household interruptions",
        "no_incidents": "No incidents this month.",
        "generated_bj": "Generated (Beijing time)",
        "issuer": "Issued by",
        "issue_date": "Date of issue",
        "to_fill": "________________",
        "approval": "Review and approval",
        "prepared_by": "Prepared by (signature)",
        "reviewed_by": "Reviewed by (signature)",
        "approved_by": "Approved by (signature)",
        "seal": "Issuing unit (seal)",
        "sign_date": "Date",
        "coverage_warning": "Warning: the data do not cover the whole heating season: they "
        "cover {span}, the {season} season is {season_span}. This is not a season verdict: "
        "households failing so far are listed as 'insufficient data', none as 'not yet'; "
        "generate the report again once the season is over and its data are in.",
        "coverage_ok": "The data cover the whole heating season ({span}).",
        "draft_mark": "DRAFT 草稿 · data cover {days}/{total} days · the season's data are "
        "incomplete: not a verdict, not for posting",
        "notices_withheld": "The data cover only {days}/{total} days: no village notices "
        "written (notices are issued once the season's data are complete); add "
        "--notices-draft for draft notices to check internally.",
        "early_insufficient_note": "A further {n} households have removed their old heating "
        "and have insufficient data so far (the season's data are incomplete): they are judged "
        "once the data are complete and not listed in this warning (see the ledger).",
        "doc_no": "Document no.",
        "compiled_by": "Compiled by",
        "sent_by": "Sent by",
        "doc_no_draft": "draft, no document number",
        "eligible_list": "Households whose old heating may be removed",
        "insufficient_list": "Insufficient data: work list of meters to fix",
        "visit_list": "Visit before dismantling: stable supply but suspected unused, back to "
        "coal or empty (priority groups first)",
        "days_missing": "Days missing",
        "county_lists": "Lists by county",
        "notice_title": "Public notice: removal of old heating, {village} ({county})",
        "notice_intro": "From the monitoring data of the {season} heating season, under the rule "
        "'build the new before breaking the old', each retrofitted household of this village "
        "was judged as below. Only household numbers are shown: no names, phones or addresses.",
        "notice_period": "Notice period: {start} to {end} ({days} days).",
        "notice_objection": "To object to a verdict, contact {issuer} within the notice period "
        "({contact}) giving the household number and the reason; no objection by then counts "
        "as agreement.",
        "notice_doc_title": "Public notices by village, heating season {season}",
        "row_no": "No.",
        "chart_avail_matrix": "Mean heat availability by county and retrofit type "
        "(%, households in brackets)",
        "chart_month_y": "Interruptions",
        "chart_month_no_data": "no data",
        "hh_ids_only": "Household",
        "rollup_interruption_hours": "Rollup interruption household-hours",
        "month_full": "Data cover the whole month, {total} days ({span}, Beijing time).",
        "month_partial": "Note: only part of this month has data: {days} of {total} days "
        "({span}, Beijing time); every figure covers that period only.",
        "definitions": "Definitions",
        "def_incidents": "top-level incidents that started or lasted in the month; an incident spanning "
        "months counts once in each; child incidents (a household's outage under a feeder "
        "outage, a home under its heat station) are part of their parent, not counted again.",
        "def_households_affected": "distinct households affected: once per county and kind family (e.g. heat supply "
        "interrupted or low, communication loss) whichever device or parent incident reports "
        "it, and once in each total, so never more than the registered households.",
        "def_priority_affected": "distinct affected households in a priority group (school, kindergarten, elderly "
        "home, hardship, elderly living alone, disabled, low-income).",
        "def_interruption_hours": "an interruption is time in which a household's heating supply is lost or below "
        "service: power outage (household or feeder), low gas pressure or gas supply "
        "shortfall, heat supply interruption, supply below the heating curve, a home below "
        "the service temperature (the minutes the daily rollups book as outage or shortfall). "
        "Communication loss, peak charging, overload, quota risk and emissions are not "
        "interruptions (shown as —). Each household's interruption periods within the month "
        "and the data are merged, then summed (household-hours); an open incident counts up "
        "to the end of the data.",
        "def_household_interruptions": "interruption episodes (power, gas, heat) starting in the month, from the daily "
        "household rollups; counted by the same rule as the season report's interruptions-by-"
        "month chart (an episode running across days counts in the month it started).",
        "def_rollup_interruption_hours": "outage plus shortfall minutes in the month's daily "
        "household rollups, in household-hours.",
        "def_shortfall_incidents": "gas supply shortfall (station) incidents in the month.",
        "def_gas_households_affected": "distinct households affected by a gas supply shortfall "
        "or low gas pressure.",
        "def_peak_charging_households": "distinct households that charged at peak hours.",
    },
}


# Verdict and place words are glossary terms: the report's headers use them, never a copy.
for _lang in ("zh", "en"):
    # The evidence column (依据) and the heat networks' cold-home days, from the glossary.
    for _key in ("evidence", "cold_home_days"):
        _f = FIELDS[_key]
        T[_lang][_key] = _f.zh if _lang == "zh" else _f.en[:1].upper() + _f.en[1:]
    for _code, _term in LEDGER_REASONS.items():
        T[_lang][_code] = _term.zh if _lang == "zh" else _term.en
    for _code, _term in {**VERDICTS, **{k: NOUNS[k] for k in ("county", "village")}}.items():
        # as a column header: "Not yet", "County"
        T[_lang][_code] = _term.zh if _lang == "zh" else _term.en[:1].upper() + _term.en[1:]


def t(lang: str, key: str, **kw: object) -> str:
    text = T[lang][key]
    return text.format(**kw) if kw else text


def criteria_lines(lang: str, c: object) -> list[str]:
    g = c.__getattribute__
    if lang == "zh":
        return [
            f"采暖季有效数据天数 ≥ {g('min_coverage'):.0%}（一天内已知分钟数 ≥ "
            f"{g('min_known_minutes_per_day'):g} 分钟才算有效）",
            f"采暖季供热可用率 ≥ {g('min_availability'):.0%}",
            f"超过 {g('long_interruption_hours'):g} 小时的中断不超过 "
            f"{g('max_long_interruptions')} 次",
            f"单次中断不超过 {g('max_interruption_hours'):g} 小时",
            f"煤改气：燃气供应不足累计不超过 {g('max_gas_shortfall_hours'):g} 小时",
            f"集中供热：供水低于供热曲线或室温不达标超过 {g('cold_home_day_hours'):g} 小时的天数"
            f"不超过 {g('max_cold_home_days')} 天",
            f"本县最冷的 {g('coldest_days')} 天供热可用率 ≥ {g('min_cold_availability'):.0%}"
            f"（至少 {g('min_cold_days_with_data')} 天有数据）",
        ]
    return [
        f"data on ≥ {g('min_coverage'):.0%} of season days (a day counts with ≥ "
        f"{g('min_known_minutes_per_day'):g} known minutes)",
        f"heat availability over the season ≥ {g('min_availability'):.0%}",
        f"at most {g('max_long_interruptions')} interruptions longer than "
        f"{g('long_interruption_hours'):g} h",
        f"no interruption longer than {g('max_interruption_hours'):g} h",
        f"coal-to-gas: gas shortfall at most {g('max_gas_shortfall_hours'):g} h in total",
        f"heat networks: at most {g('max_cold_home_days')} days with over "
        f"{g('cold_home_day_hours'):g} h below the heating curve or a cold home",
        f"availability ≥ {g('min_cold_availability'):.0%} on the county's "
        f"{g('coldest_days')} coldest days (data on at least {g('min_cold_days_with_data')})",
    ]


# ---- criteria per retrofit type (deploy/policy/stability.yaml `retrofit_types`) ----------
_TYPE_EVIDENCE = {"network": ("heat_station", "indoor", "heat_meter"),
                  "coal_to_gas": ("gas_meter",), "electric": ("electric_meter",)}  # fmt: skip


def _measure_text(lang: str, measure: str, th: Callable[[str], float], hours: float) -> str:
    zh = lang == "zh"
    if measure == "availability":
        v = th("min_availability")
        return f"供热可用率 ≥ {v:.0%}" if zh else f"availability ≥ {v:.0%}"
    if measure == "cold_availability":
        v = th("min_cold_availability")
        return f"最冷日可用率 ≥ {v:.0%}" if zh else f"coldest-day availability ≥ {v:.0%}"
    if measure == "interruptions":
        n, h = int(th("max_long_interruptions")), th("max_interruption_hours")
        return (f"超过 {hours:g} 小时的中断 ≤ {n} 次、单次 ≤ {h:g} 小时" if zh
                else f"≤ {n} interruptions over {hours:g} h, none over {h:g} h")  # fmt: skip
    if measure == "gas_shortfall":
        h = th("max_gas_shortfall_hours")
        return f"燃气供应不足 ≤ {h:g} 小时" if zh else f"gas shortfall ≤ {h:g} h"
    n, h = int(th("max_cold_home_days")), th("cold_home_day_hours")
    return (f"供水低于供热曲线或室温不达标超过 {h:g} 小时的天数 ≤ {n} 天" if zh
            else f"≤ {n} days with over {h:g} h below the heating curve or a cold home")  # fmt: skip


def retrofit_criteria_rows(lang: str, policy: Any, retrofits: list[str]) -> list[list[str]]:
    """One row per retrofit type: its name, what its verdicts rest on, what it is judged on."""
    sep = "；" if lang == "zh" else "; "
    rows = []
    for code in retrofits:
        rc = policy.for_retrofit(code)
        measures = [m.value for m in rc.judged_on]
        kind = "network" if "cold_home_days" in measures else (
            "coal_to_gas" if "gas_shortfall" in measures else "electric")  # fmt: skip
        sources = [getattr(EVIDENCE_SOURCES[e], lang) for e in _TYPE_EVIDENCE[kind]]
        evidence = sources[0] + (
            f"（{'或'.join(sources[1:])}修正）" if lang == "zh" and len(sources) > 1 else
            f" (corrected by {' or '.join(sources[1:])})" if len(sources) > 1 else "")  # fmt: skip

        def th(name: str, rc: Any = rc) -> float:
            return float(rc.threshold(name, policy.criteria))

        hours = float(policy.criteria.long_interruption_hours)
        rows.append(
            [
                RETROFIT[lang].get(code, code),
                evidence,
                sep.join(_measure_text(lang, m, th, hours) for m in measures),
            ]
        )
    return rows
