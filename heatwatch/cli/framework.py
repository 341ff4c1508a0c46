"""The command-line framework's own words in Chinese: usage errors, help panels, the pipe.

Typer (and the click it vendors) words its usage errors in English ("Invalid value for
'--registry': file 'nope.csv' does not exist", "Usage: … Error") and has no message catalogue
to translate. The root command therefore runs typer in non-standalone mode and says each
usage error itself (:func:`usage_error`): what was wrong, in the chosen language, then the
usage line and how to get help. Help panels are titled in both languages (help is read
before anyone chose one). A reader that closes the pipe (``--help | head``) ends the command
quietly: that is not an error of ours.
"""

from __future__ import annotations

import re
from typing import Any

import typer.rich_utils as rich_utils
from typer._click.core import Context
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoSuchOption,
    UsageError,
)

from contract.glossary import CLI_FRAMEWORK


def both(code: str) -> str:
    term = CLI_FRAMEWORK[code]
    return f"{term.zh} {term.en}"


USAGE_PREFIX = f"{both('usage')}: "
OPTIONS_METAVAR = "[选项 OPTIONS]"


def localize_help_panels() -> None:
    """Help panel titles and option annotations in both languages (typer reads these module
    attributes each time it draws help)."""
    rich_utils.OPTIONS_PANEL_TITLE = both("options")
    rich_utils.ARGUMENTS_PANEL_TITLE = both("arguments")
    rich_utils.COMMANDS_PANEL_TITLE = both("commands")
    rich_utils.ERRORS_PANEL_TITLE = both("error")
    rich_utils.DEFAULT_STRING = f"[{CLI_FRAMEWORK['default'].zh} default: {{}}]"
    rich_utils.ENVVAR_STRING = f"[{CLI_FRAMEWORK['env_var'].zh} env var: {{}}]"
    rich_utils.REQUIRED_LONG_STRING = f"[{CLI_FRAMEWORK['required'].zh} required]"
    if not getattr(rich_utils, "_heatwatch_fold", False):
        # A Chinese sentence has no spaces to wrap at: rich cut it with "…" in the options
        # panel. Folded, it wraps at any character, as Chinese text does.
        make = rich_utils._make_rich_text

        def folded(*args: Any, **kwargs: Any) -> Any:
            text = make(*args, **kwargs)
            if hasattr(text, "overflow"):
                text.overflow = "fold"
            return text

        rich_utils._make_rich_text = folded
        rich_utils._heatwatch_fold = True  # type: ignore[attr-defined]


def usage_line(ctx: Context | None) -> str:
    return ctx.get_usage().strip() if ctx is not None else ""


def _option(exc: ClickException) -> str:
    param = getattr(exc, "param", None)
    if param is not None:
        opts = getattr(param, "opts", None) or [param.name or ""]
        return str(opts[0])
    hint = getattr(exc, "param_hint", None)
    if isinstance(hint, str):
        return hint
    if isinstance(hint, list | tuple) and hint:
        return str(hint[0])
    return ""


def _help_zh(exc: ClickException) -> str:
    """The Chinese half of the option's help (``中文。 English.``), to say what it is for."""
    param = getattr(exc, "param", None)
    text = " ".join(str(getattr(param, "help", "") or "").split())
    zh, sep, _ = text.partition("。 ")
    return zh if sep else ""


_PATH_LABELS = {"file": "文件", "directory": "目录", "path": "路径"}
_PYDANTIC_WORDS = (
    ("valid integer", "应为整数"),
    ("valid number", "应为数字"),
    ("valid float", "应为数字"),
    ("valid boolean", "应为 true 或 false"),
    ("valid date", "应为日期，如 2021-12-01"),
)


def _bad_value_zh(exc: BadParameter, option: str) -> str:
    message = exc.message
    if m := re.fullmatch(r"(File|Directory|Path) '(.*)' does not exist\.", message, re.I):
        return (
            f"找不到 {option} 指定的{_PATH_LABELS[m[1].lower()]}“{m[2]}”。请检查路径和拼写"
            "（相对路径从当前目录算起）"
        )
    if m := re.fullmatch(r"(File|Directory|Path) '(.*)' is a (file|directory)\.", message, re.I):
        want = "目录" if m[3] == "file" else "文件"
        got = "文件" if m[3] == "file" else "目录"
        return f"{option} 要的是{want}，“{m[2]}”是{got}"
    if m := re.fullmatch(
        r"(File|Directory|Path) '(.*)' is not (readable|writable)\.", message, re.I
    ):
        verb = "读取" if m[3] == "readable" else "写入"
        return f"没有权限{verb}“{m[2]}”（{option}）"
    if " / " in message and re.search(r"[\u4e00-\u9fff]", message):
        return f"{option} 的值不对：{message.split(' / ')[0]}"  # our own "中文 / English"
    for english, chinese in _PYDANTIC_WORDS:
        if english in message:
            return f"{option} 的值不对：{chinese}"
    if m := re.search(r"'(.*)' is not one of (.*)\.", message):
        return f"{option} 的值“{m[1]}”不在可选范围内：{m[2]}"
    return f"{option} 的值不对（{message}）"


def usage_error(exc: ClickException) -> tuple[str, str]:
    """(zh, en): one sentence saying what was wrong with the command line."""
    en = exc.format_message()
    option = _option(exc)
    if isinstance(exc, MissingParameter):
        what = _help_zh(exc)
        return f"缺少必填选项 {option}" + (f"（{what}）" if what else ""), en
    if isinstance(exc, NoSuchOption):
        zh = f"没有 {exc.option_name} 这个选项"
        if exc.possibilities:
            zh += f"（是不是想用 {'、'.join(sorted(exc.possibilities))}？）"
        return zh, en
    if isinstance(exc, BadOptionUsage):
        if m := re.fullmatch(r"Option '(.*)' requires an argument\.", exc.message):
            return f"选项 {m[1]} 后面要跟一个值", en
        if m := re.fullmatch(r"Option '(.*)' does not take a value\.", exc.message):
            return f"选项 {m[1]} 不带值", en
        return f"选项 {exc.option_name} 用法不对（{exc.message}）", en
    if isinstance(exc, BadParameter):
        return _bad_value_zh(exc, option or "参数"), en
    if isinstance(exc, UsageError):
        if m := re.match(r"No such command '(.*)'\.(?: Did you mean (.*)\?)?", exc.message):
            zh = f"没有“{m[1]}”这个命令"
            if m[2]:
                zh += f"（是不是想用 {m[2]}？）"
            return zh, en
        if m := re.match(r"Got unexpected extra arguments? \((.*)\)", exc.message):
            return f"多余的参数：{m[1]}（选项名前要加 --，含空格的值要加引号）", en
        if exc.message.startswith("Missing command"):
            return "缺少命令", en
    return f"命令行有误（{en}）", en


def hint(ctx: Context | None) -> tuple[str, str]:
    """(zh, en) second line: the usage and how to get help."""
    if ctx is None:
        return "查看帮助：heatwatch --help", "for help: heatwatch --help"
    usage = usage_line(ctx).removeprefix(USAGE_PREFIX)
    path = ctx.command_path
    return (
        f"{USAGE_PREFIX}{usage}；查看帮助：{path} --help",
        f"usage: {usage}; for help: {path} --help",
    )


class BilingualUsage:
    """Mixin for typer's command classes: the usage line in both languages."""

    options_metavar: str | None

    def format_usage(self, ctx: Context, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        line = " ".join(pieces).replace("[OPTIONS]", OPTIONS_METAVAR)
        line = line.replace("COMMAND [ARGS]...", "命令 COMMAND [参数 ARGS]...")
        formatter.write_usage(ctx.command_path, line, prefix=USAGE_PREFIX)
