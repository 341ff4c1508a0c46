"""What every command shares: one language, errors as sentences, registry loading, progress.

* ``--lang zh|en`` (default zh, or ``HEATWATCH_LANG``) chooses the language of everything the
  commands print; ``t(zh, en)`` picks the sentence.
* Expected failures raise :class:`CliError` (or are recognised by :func:`explain`): one line
  saying what went wrong and what to do, and an exit code that means something. Tracebacks
  only with ``--debug``.
* Progress bars draw only on a terminal; piped output gets plain lines, once.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from typer._click.core import Context
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperCommand, TyperGroup, TyperOption

from contract.glossary import Lang
from contract.registry import Household
from formats.registry_csv import RegistryError, load_registry
from heatwatch.cli.framework import BilingualUsage, hint, localize_help_panels, usage_error

if TYPE_CHECKING:
    from streams.settings import InfluxSettings, KafkaSettings

console = Console(stderr=True)

# Exit codes (docs/cli-gallery.md lists them for scripts):
#   0 done; 1 the run found problems, or an unexpected error; 2 bad input or usage (a wrong
#   file, option or value: nothing was written); 3 a service (Kafka, InfluxDB, Grafana)
#   cannot be reached; 4 an output exists and would be overwritten (choose another --out or
#   ask for a new version); 130 interrupted (Ctrl-C: the previous output is intact);
#   141 the reader of the output went away (``| head``): nothing is wrong.
EXIT_PROBLEMS = 1
EXIT_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_EXISTS = 4
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141


@dataclass
class CliState:
    lang: Lang = "zh"
    debug: bool = False


state = CliState()


def t(zh: str, en: str) -> str:
    """The sentence in the chosen output language."""
    return zh if state.lang == "zh" else en


class CliError(Exception):
    """An expected failure: a sentence in each language that says what to do, and an exit code."""

    def __init__(self, zh: str, en: str, code: int = EXIT_INPUT) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.code = code

    def line(self) -> str:
        if self.code == EXIT_INTERRUPTED:  # the person pressed Ctrl-C: not an error
            return t(self.zh, self.en)
        return t(f"错误：{self.zh}", f"error: {self.en}")


def print_error(text: str) -> None:
    console.print(f"[bold red]{text}[/]", markup=True, highlight=False, soft_wrap=True)


def print_warning(zh: str, en: str) -> None:
    console.print(
        "[yellow]" + t(f"注意：{zh}", f"warning: {en}") + "[/]",
        markup=True,
        highlight=False,
        soft_wrap=True,
    )


def kafka_unreachable(bootstrap: str, exc: BaseException) -> CliError:
    return CliError(
        f"连不上 Kafka（{bootstrap}）：{exc}。请确认 Kafka 已启动，"
        "或用 --bootstrap 或环境变量 HEATWATCH_KAFKA_BOOTSTRAP 指定地址。",
        f"cannot reach Kafka at {bootstrap}: {exc}. Start Kafka, or set the address with "
        "--bootstrap or HEATWATCH_KAFKA_BOOTSTRAP.",
        EXIT_UNREACHABLE,
    )


def _is_kafka_unreachable(exc: BaseException) -> bool:
    from kafka import errors

    unreachable = tuple(
        getattr(errors, name)
        for name in ("KafkaTimeoutError", "NoBrokersAvailable", "KafkaConnectionError")
        if hasattr(errors, name)  # NoBrokersAvailable is gone from newer kafka-python
    )
    return isinstance(exc, unreachable)


@contextmanager
def kafka_errors(bootstrap: str) -> Iterator[None]:
    """Kafka client failures to reach the broker, and topics this Kafka user may not create,
    become one sentence naming the address or the topics and the user."""
    from streams.topics import TopicSetupError

    try:
        yield
    except TopicSetupError as exc:
        raise CliError(
            f"主题 {', '.join(exc.topics)} 不存在，Kafka 用户 {exc.user!r} 无权创建："
            "请用管理员账号创建（见 docs/security.md）。",
            f"{exc}.",
        ) from exc
    except Exception as exc:
        if _is_kafka_unreachable(exc):
            raise kafka_unreachable(bootstrap, exc) from exc
        raise


# --insecure of worker and produce (docs/security.md): PLAINTEXT must be asked for twice.
INSECURE_HELP = (
    "允许 HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT（无 TLS、无身份认证），仅限本地试验；"
    "也可设 HEATWATCH_ALLOW_INSECURE=1。 Allow HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT "
    "(no TLS, no authentication): local experiments only. Also HEATWATCH_ALLOW_INSECURE=1."
)


def refuse_unprotected(
    kafka: KafkaSettings, *, insecure: bool, influx: InfluxSettings | None = None
) -> None:
    """Refuse, before anything connects, to send data or credentials unprotected or without
    this component's own credentials (docs/security.md): one line naming the variable, never a
    value; exit code 2."""
    from streams.security import InsecureTransportError, check_transport
    from streams.settings import MissingSecretError

    try:
        check_transport(kafka, insecure=insecure)
    except InsecureTransportError as exc:
        raise CliError(
            "拒绝启动：HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT 须同时加 --insecure"
            "（仅限本地试验：无 TLS、无身份认证）。",
            f"refused: {exc}.",
        ) from None
    except MissingSecretError as exc:
        cafile = kafka.ssl_cafile
        if cafile is not None and not cafile.is_file():
            zh = f"HEATWATCH_KAFKA_SSL_CAFILE 指向的文件不存在：{cafile}"
        else:
            zh = (
                "Kafka SASL_SSL 需要 HEATWATCH_KAFKA_SASL_USERNAME 和 "
                "HEATWATCH_KAFKA_SASL_PASSWORD（本组件自己的 Kafka 用户）"
            )
        raise CliError(f"拒绝启动：{zh}（见 docs/security.md）。", f"refused: {exc}.") from None
    if influx is not None:
        require_influx_token(influx)


def require_influx_token(influx: InfluxSettings) -> None:
    """This component's InfluxDB token is set, or one line naming the variable (exit 2)."""
    from streams.settings import MissingSecretError

    try:
        influx.require_token()
    except MissingSecretError as exc:
        raise CliError(
            "拒绝启动：没有 InfluxDB 令牌。请把 HEATWATCH_INFLUX_TOKEN 设为本组件自己的令牌"
            "（本地栈写在它的 env 文件里，见 docs/security.md）。",
            f"refused: {exc}.",
        ) from None


def explain(exc: BaseException) -> CliError | None:
    """A sentence for failures we recognise (files, permissions, disk); None otherwise."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return CliError(
            f"找不到文件：{exc.filename}。请检查路径。",
            f"file not found: {exc.filename}. Check the path.",
        )
    if isinstance(exc, PermissionError):
        return CliError(
            f"没有权限：{exc.filename}。请检查文件权限或换一个输出目录。",
            f"permission denied: {exc.filename}. Check the permissions or use another directory.",
        )
    if isinstance(exc, FileExistsError):
        return CliError(
            f"{exc.filename} 已存在，不能用作输出目录：请换一个 --out，或先移走它。",
            f"{exc.filename} already exists and cannot be the output directory: choose another "
            "--out or move it away.",
            EXIT_EXISTS,
        )
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return CliError(
            f"路径类型不对：{exc.filename}（应为文件/目录）。",
            f"wrong kind of path: {exc.filename} (file vs directory).",
        )
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return CliError("磁盘空间不足。", "no space left on the device.", EXIT_PROBLEMS)
    return None


HELP_OPTION_TEXT = "显示本帮助并退出。 Show this message and exit."
localize_help_panels()


def _lang_from_argv(argv: list[str]) -> None:
    """The language before typer parsed anything: a usage error at the root is said in the
    language asked for (``--lang en`` or ``HEATWATCH_LANG``)."""
    lang = os.environ.get("HEATWATCH_LANG", state.lang)
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    state.lang = "en" if lang == "en" else "zh"


def _quiet_pipe() -> None:
    """The reader closed the pipe (``| head``): stop writing, say nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())


class HeatwatchCommand(BilingualUsage, TyperCommand):
    """A command whose --help option is described in both languages too."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option


class HeatwatchGroup(BilingualUsage, TyperGroup):
    """Runs a command; expected failures print one line and exit with their code; usage
    errors are said in the chosen language (heatwatch/cli/framework.py)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        _lang_from_argv(argv)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                sys.exit(EXIT_INPUT)  # the help was shown
            ctx = getattr(exc, "ctx", None) or self._context_for(argv, prog_name)
            zh, en = usage_error(exc)
            hint_zh, hint_en = hint(ctx)
            print_error(t(f"错误：{zh}。", f"error: {en}"))
            console.print(t(hint_zh, hint_en), highlight=False, soft_wrap=True, markup=False)
            sys.exit(exc.exit_code if isinstance(exc, UsageError) else EXIT_INPUT)
        except typer.Abort:
            print_error(t("已中断。", "interrupted."))
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_pipe()
            sys.exit(EXIT_PIPE_CLOSED)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            _quiet_pipe()
            sys.exit(EXIT_PIPE_CLOSED)
        except SystemExit as exc:
            # rich (printing help) and typer answer a closed pipe with exit 1; the reader
            # went away, nothing failed.
            if isinstance(exc.__context__, BrokenPipeError) or (
                type(sys.stdout).__name__ == "PacifyFlushWrapper"
            ):
                _quiet_pipe()
                sys.exit(EXIT_PIPE_CLOSED)
            raise
        sys.exit(rv if isinstance(rv, int) else 0)

    def _context_for(self, argv: list[str], prog_name: str | None) -> Context | None:
        """The context of the command named in ``argv`` (for its usage line), when the parser
        failed before making one."""
        try:
            ctx = self.make_context(prog_name or "heatwatch", [], resilient_parsing=True)
            command: Any = self
            for token in argv:
                sub = getattr(command, "commands", {}).get(token)
                if sub is not None:
                    ctx = sub.make_context(token, [], parent=ctx, resilient_parsing=True)
                    command = sub
            return ctx
        except Exception:  # only a hint: never let it hide the real message
            return None

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except BrokenPipeError:
            _quiet_pipe()
            raise typer.Exit(EXIT_PIPE_CLOSED) from None
        except KeyboardInterrupt:
            print_error(t("已中断。", "interrupted."))
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if state.debug:
                raise
            known = explain(exc)
            if known is not None:
                print_error(known.line())
                raise typer.Exit(known.code) from None
            print_error(
                t(
                    f"内部错误：{type(exc).__name__}: {exc}。加 --debug 重新运行可查看详细信息，"
                    "并请把输出发给平台运维。",
                    f"internal error: {type(exc).__name__}: {exc}. Run again with --debug for "
                    "details and send them to the platform team.",
                )
            )
            raise typer.Exit(EXIT_PROBLEMS) from None


def load_registry_or_exit(path: Path) -> list[Household]:
    try:
        loaded = load_registry(path)
        households = loaded.households
        if loaded.encoding.startswith("Excel"):
            sheet = loaded.encoding.split("'")[1] if "'" in loaded.encoding else ""
            console.print(
                t(
                    f"登记册 {path} 按 Excel 工作簿读取（第一张工作表“{sheet}”）",
                    f"registry {path} read as an Excel workbook (first sheet {sheet!r})",
                ),
                highlight=False,
                soft_wrap=True,
            )
        elif loaded.encoding not in ("UTF-8", "UTF-8 with BOM"):
            # Excel on Chinese Windows saves "CSV" as GBK: read it, and say so.
            console.print(
                t(
                    f"登记册 {path} 按 {loaded.encoding} 编码读取",
                    f"registry {path} read as {loaded.encoding}",
                ),
                highlight=False,
                soft_wrap=True,
            )
    except RegistryError as exc:
        # Each problem says where (line, column as typed, Excel letter), what was found and
        # what is accepted; the headline says what to do.
        from heatwatch.cli.registry_errors import in_chinese, in_english

        _not_a_registry(path, exc)
        if len(exc.errors) == 1 and exc.errors[0].row == 0:  # the file as a whole
            err = exc.errors[0]
            raise CliError(
                f"登记册（台账）{path}：{err.zh or err.message}。请检查是否选错了文件、导出是否完成。",
                f"registry {path}: {err.message}. Is it the right file, and did the export finish?",
            ) from exc
        print_error(
            t(
                f"登记册（台账）{path} 有 {len(exc.errors)} 处问题，请按行号、列名改正后重试：",
                f"the registry {path} has {len(exc.errors)} problem(s); fix them by line and "
                "column:",
            )
        )
        say = in_chinese if state.lang == "zh" else in_english
        for err in exc.errors[:20]:
            console.print("  " + say(err), markup=False, highlight=False, soft_wrap=True)
        if len(exc.errors) > 20:
            console.print(
                t(f"  …… 另有 {len(exc.errors) - 20} 处", f"  … and {len(exc.errors) - 20} more"),
                highlight=False,
            )
        raise typer.Exit(EXIT_INPUT) from exc
    if not households:
        raise CliError(
            f"登记册 {path} 没有任何用户行。请检查是否选错了文件。",
            f"{path}: the registry has no households. Is it the right file?",
        )
    return households


def _not_a_registry(path: Path, exc: RegistryError) -> None:
    """A file without the registry's key column is named for what it looks like (readings,
    incidents, a workbook…), not listed as nine missing columns."""
    if not any(e.row == 1 for e in exc.errors):  # the header is not a registry's
        return
    from heatwatch.cli.sniff import sniff

    looks = sniff(path)
    if looks.kind in ("registry_csv", "empty", "xlsx"):  # a workbook is read as the registry
        return
    extra = (
        ("；读数请用 --input", "; readings go to --input")
        if looks.kind.startswith("readings")
        else ("", "")
    )
    raise CliError(
        f"{path} 不是登记册（台账）：它看起来是{looks.zh}。--registry 要的是台账 CSV，第一行是表头"
        f"（用户编号、县（市、区）、村、改造类型……）{extra[0]}。",
        f"{path} is not a registry: it looks like {looks.en}. --registry takes the ledger CSV "
        f"with a header row (household_id, county, village, retrofit_type…){extra[1]}.",
    ) from exc


def on_terminal() -> bool:
    """True when the console is an interactive terminal (progress bars only then)."""
    return console.is_terminal


def make_progress(*columns: ProgressColumn | str) -> Progress:
    """A progress display that is silent when output is piped or redirected.

    Off a terminal rich would print every refresh as a new line; the commands print their
    result lines instead.
    """
    return Progress(*columns, console=console, transient=False, disable=not on_terminal())


def byte_progress() -> Progress:
    return make_progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )


ProgressCallback = Callable[[int, int], None]
