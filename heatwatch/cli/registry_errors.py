"""Registry (台账) problems as a ledger clerk reads them: row, column, what is accepted.

The loader (heatwatch/formats/registry_csv.py) words its problems in English; this module
says the same in Chinese, naming the accepted forms from the glossary, and keeps the
loader's English after it so technical staff and scripts still find it.
"""

from __future__ import annotations

import re

from heatwatch.contract.glossary import (
    FIELDS,
    HEATING_DEVICES,
    PRIORITY_GROUPS,
    RETROFIT_TYPES,
    Term,
)
from heatwatch.formats.registry_csv import RowError

CODE_COLUMNS: dict[str, dict[str, Term]] = {
    "retrofit_type": RETROFIT_TYPES,
    "heating_device": HEATING_DEVICES,
    "priority_group": PRIORITY_GROUPS,
}

# Columns the glossary has no screen name for (registry-only fields).
REGISTRY_COLUMN_NAMES = {
    "township": "乡镇",
    "heating_device": "取暖设备",
    "gas_station_id": "燃气调压站编号",
    "rated_kw": "额定功率",
    "lat": "纬度",
    "lon": "经度",
    "retrofit_completed": "改造完成日期",
    "old_heating_present": "原取暖设施是否保留",
    "gas_quota_m3": "合同气量",
}


def column_name(column: str) -> str:
    zh = REGISTRY_COLUMN_NAMES.get(column) or (FIELDS[column].zh if column in FIELDS else "")
    return f"{zh}（{column}）" if zh else column


def accepted_codes(column: str) -> str:
    vocabulary = CODE_COLUMNS[column]
    return "、".join(f"{code}（{t.zh}）" if t.zh else code for code, t in vocabulary.items())


def _why(err: RowError) -> str:
    msg = err.message
    if msg == "required column is missing":
        return "表头缺少这一列（注意列名前后不能有空格）"
    if msg == "unknown column":
        return "不认识的列名（注意列名前后不能有空格、不能改名）"
    if msg == "Field required":
        return "必填，不能为空"
    if m := re.fullmatch(r"duplicate of line (\d+)", msg):
        return f"用户编号与第 {m.group(1)} 行重复"
    if "valid boolean" in msg:
        return "应填 true 或 false（也可 1/0、yes/no）；目前不接受“是/否”"
    if "valid date" in msg:
        return "日期应写成 2021-09-05（年-月-日）；目前不接受 2021/9/5"
    if "valid number" in msg or "valid integer" in msg:
        return "应为数字"
    if err.column in CODE_COLUMNS and msg.startswith("Input should be"):
        return f"应填代码之一：{accepted_codes(err.column)}；目前不接受中文名称"
    if m := re.match(r"Input should be (greater|less) than( or equal to)? ([\d.]+)", msg):
        bound = {"greater": "大于", "less": "小于"}[m.group(1)]
        return f"应{bound}{'或等于' if m.group(2) else ''} {m.group(3)}"
    if m := re.fullmatch(r"Value error, (.*)", msg):
        return m.group(1)
    return msg


def in_chinese(err: RowError) -> str:
    where = f"第 {err.row} 行" if err.row > 1 else "表头"
    if err.row == 0:
        where = "文件"
    return f"{where}，{column_name(err.column)}：{_why(err)}（{err}）"
