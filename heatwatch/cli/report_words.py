"""The report modules' input problems in Chinese, and the checks the command line makes first.

``heatwatch.report`` words its ``InputError``s in English (scripts and logs match them); the
person at the command line reads them here in Chinese, with the English kept only for a
message this table does not know. Options whose form the command line can check itself
(``--season``, ``--month``, ``--run``) are checked before anything is read, so a mistyped
season is called a mistyped season, not a policy error.
"""

from __future__ import annotations

import re
from pathlib import Path

from heatwatch.cli.common import CliError

_WHAT = {
    "run directory": "运行目录",
    "rollups": "日汇总文件",
    "daily rollups": "日汇总文件",
    "daily rollups (Parquet)": "日汇总文件（Parquet）",
    "daily rollups (JSONL)": "日汇总文件（JSONL）",
    "registry CSV": "登记册（台账）CSV",
    "incidents JSONL": "事件文件（incidents.jsonl）",
    "results dataset": "结果数据集",
}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"month (\S+) is outside the data, which covers (.+) – (.+) \(Beijing time\)"),
        "{0} 不在数据的时间范围内：数据覆盖 {1} 至 {2}（北京时间）。请换一个月份，或先重放该月的数据",
    ),
    (
        re.compile(
            r"no daily rollups between (\S+) and (\S+?)(?: for county (.+))?: is --season (\S+) "
            r"right.*"
        ),
        "{0} 至 {1} 之间没有日汇总{2}：请确认 --season {3} 是否写对，以及是否已重放该采暖季的数据",
    ),
    (
        re.compile(r"county '(.+)' is not in the registry; known: (.*)"),
        "登记册中没有“{0}”；登记册中的县（市、区）：{1}",
    ),
    (re.compile(r"(.+) not found: (.+)"), "找不到{0}：{1}"),
    (re.compile(r"(.+): expected a file, got a directory: (.+)"), "{0}应是文件，{1} 是目录"),
    (re.compile(r"registry has duplicate household_id values"), "登记册中有重复的用户编号"),
    (re.compile(r"(.+): missing rollup columns: (.+)"), "{0} 缺少日汇总列：{1}"),
    (
        re.compile(r"(.+): not a readable (?:Parquet|rollups) file .*"),
        "{0} 不是可读的日汇总文件（应由 heatwatch replay 写出）",
    ),
    (re.compile(r"(.+):(\d+): not an? (\w+): .*"), "{0} 第 {1} 行不是有效的记录（{2}）"),
]


def input_error_zh(message: str) -> str:
    """The report's English input problem in Chinese (unknown ones keep their English)."""
    for pattern, template in _RULES:
        m = pattern.fullmatch(message)
        if m:
            groups = [_WHAT.get(g, g) if g is not None else "" for g in m.groups()]
            if "for county" in pattern.pattern and groups[2]:
                groups[2] = f"（县（市、区）：{groups[2]}）"
            return template.format(*groups)
    return f"输入有误：{message}"


_SEASON = re.compile(r"(\d{4})-(\d{4})")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def check_season(season: str) -> None:
    m = _SEASON.fullmatch(season.strip())
    if not m or int(m[2]) != int(m[1]) + 1:
        raise CliError(
            f"--season 应写作相邻两年，如 2021-2022（2021 年 11 月至 2022 年 3 月的采暖季），"
            f"收到“{season}”",
            f"--season must be two consecutive years such as 2021-2022, got {season!r}",
        )


def check_month(month: str) -> None:
    m = _MONTH.fullmatch(month.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise CliError(
            f"--month 应写作年-月，如 2021-12，收到“{month}”",
            f"--month must look like 2021-12, got {month!r}",
        )


def check_run_dir(run: Path) -> None:
    if not run.exists():
        raise CliError(
            f"找不到运行目录 {run}：请先用 heatwatch replay --out {run} 重放读数，或检查路径。",
            f"run directory not found: {run}. Run heatwatch replay --out {run} first, or check "
            "the path.",
        )
    if not run.is_dir():
        raise CliError(
            f"--run 要的是运行目录（heatwatch replay 的 --out），{run} 是文件。",
            f"--run takes a run directory (heatwatch replay's --out); {run} is a file.",
        )


_BOUNDS = {
    "greater than or equal to": "大于或等于",
    "less than or equal to": "小于或等于",
    "greater than": "大于",
    "less than": "小于",
}


def _field_zh(message: str) -> str:
    if m := re.fullmatch(r"Input should be (.+?) (-?[\d.]+)", message):
        for en, zh in _BOUNDS.items():
            if m[1] == en:
                return f"应{zh} {m[2]}"
    if message == "Extra inputs are not permitted":
        return "不认识的设置项（拼写？）"
    if "valid number" in message or "valid integer" in message:
        return "应为数字"
    if "valid date" in message:
        return "应为日期，如 2022-03-15"
    return message


def policy_error_zh(message: str) -> str:
    """The policy loader's English problem in Chinese (stability.yaml is edited by people)."""
    if m := re.match(r"invalid stability policy (.+?):\n(.*)", message, re.S):
        fields = [
            f"  - “{f[1]}”：{_field_zh(f[2])}" for f in re.finditer(r"- field '(.+?)': (.+)", m[2])
        ]
        return f"稳定性规则文件 {m[1]} 有误：\n" + "\n".join(fields)
    if m := re.match(r"invalid stability policy (.+?): top level must be a mapping", message):
        return f"稳定性规则文件 {m[1]} 有误：最外层应是“名称: 值”的设置表"
    if m := re.match(r"stability policy (.+?) is not valid YAML: (.*)", message, re.S):
        where = re.search(r"line (\d+), column (\d+)", m[2])
        at = f"（第 {where[1]} 行第 {where[2]} 列附近）" if where else ""
        return f"稳定性规则文件 {m[1]} 不是有效的 YAML{at}：请检查缩进、冒号和括号是否成对"
    return f"稳定性规则文件有误：{message}"


def tariff_error_zh(message: str) -> str:
    """The tariffs loader's English problem in Chinese (tariffs.yaml is edited by people)."""
    if m := re.match(r"invalid tariffs (.+?):\n(.*)", message, re.S):
        fields = [
            f"  - “{f[1]}”：{_field_zh(f[2])}" for f in re.finditer(r"- field '(.+?)': (.+)", m[2])
        ]
        return f"电价与补贴文件 {m[1]} 有误：\n" + "\n".join(fields)
    if m := re.match(r"invalid tariffs (.+?): top level must be a mapping", message):
        return f"电价与补贴文件 {m[1]} 有误：最外层应是“名称: 值”的设置表"
    if m := re.match(r"tariffs (.+?) is not valid YAML: (.*)", message, re.S):
        where = re.search(r"line (\d+), column (\d+)", m[2])
        at = f"（第 {where[1]} 行第 {where[2]} 列附近）" if where else ""
        return f"电价与补贴文件 {m[1]} 不是有效的 YAML{at}：请检查缩进、冒号和括号是否成对"
    return f"电价与补贴文件有误：{message}"
