"""What a person sees from the command line: Chinese first, one line per failure, exit codes.

Typer's CliRunner is not a terminal, so these runs also show what piped output looks like.
Network failures are simulated by patching the client calls (no sockets in unit tests).
"""

from __future__ import annotations

import bz2
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from heatwatch.cli import common
from heatwatch.cli.main import _mount_subcommands, app

_mount_subcommands()
runner = CliRunner()

CJK = re.compile(r"[\u4e00-\u9fff]")
# Spinner frames, carriage returns, cursor codes and the bars' elapsed-time column.
PROGRESS_BITS = ("⠋", "⠙", "⠹", "\r", "\x1b[", "0:00:0", "个采集周期")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = runner.invoke(
        app, ["simulate", "--households", "60", "--days", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# --------------------------------------------------------------------------- help


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((prefix + name, cmd))
        if hasattr(cmd, "commands"):
            out += _commands(cmd, prefix + name + " ")
    return out


def _chinese_then_english(text: str, where: str) -> None:
    """``中文说明。 English text.``: a Chinese sentence first, then the English one."""
    zh, sep, en = text.partition("。 ")
    assert sep and CJK.search(zh), f"{where}: Chinese first expected: {text!r}"
    assert re.search(r"[A-Za-z]{3}", en) and not CJK.search(en), f"{where}: English after: {text!r}"


def test_every_help_text_is_chinese_first_with_english() -> None:
    root = typer.main.get_command(app)
    for name, cmd in _commands(root):
        _chinese_then_english(" ".join((cmd.help or "").split()), name)
        for param in cmd.params:
            help_text = getattr(param, "help", None)
            if help_text:
                _chinese_then_english(help_text, f"{name} {param.name}")


def test_help_option_itself_is_bilingual() -> None:
    result = runner.invoke(app, ["replay", "--help"])
    assert result.exit_code == 0
    assert "显示本帮助并退出" in result.output


# --------------------------------------------------------------------------- wrong input files


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d, sim: d.joinpath("e.jsonl").write_text("") or d / "e.jsonl", "是空的"),
        (lambda d, sim: sim / "registry.csv", "它看起来是登记册（台账）CSV"),
        (
            lambda d, sim: (
                d.joinpath("r.jsonl.bz2").write_bytes(
                    bz2.compress((sim / "readings.jsonl").read_bytes()[:5000])
                )
                and d / "r.jsonl.bz2"
            ),
            "是 bzip2 压缩文件，请先解压（例如 bunzip2 -k",
        ),
    ],
    ids=["empty", "registry-as-input", "bzip2"],
)
def test_wrong_readings_file_fails_with_a_sentence(
    tmp_path: Path, sim: Path, make: Any, expected: str
) -> None:
    path = make(tmp_path, sim)
    result = runner.invoke(
        app,
        [
            "replay",
            "--registry",
            str(sim / "registry.csv"),
            "--input",
            str(path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith("错误：") and expected in line
    assert not (tmp_path / "o").exists(), "nothing written for a wrong file"


def test_gbk_registry_from_excel_is_read_and_the_encoding_named(tmp_path: Path, sim: Path) -> None:
    gbk = tmp_path / "registry-gbk.csv"
    gbk.write_bytes((sim / "registry.csv").read_text("utf-8").encode("gbk"))
    result = runner.invoke(
        app,
        ["replay", "--registry", str(gbk), "--input", str(sim / "readings.jsonl"), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "按 GB18030 编码读取" in result.output.splitlines()[0]


def test_english_when_asked(tmp_path: Path, sim: Path) -> None:
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    result = runner.invoke(
        app,
        [
            "--lang",
            "en",
            "replay",
            "--registry",
            str(sim / "registry.csv"),
            "--input",
            str(empty),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert _one_line(result.output).startswith("error: the readings file")


def test_a_run_with_every_line_rejected_fails(tmp_path: Path, sim: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"not": "a reading"}\n{"household_id": 1}\n', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "replay",
            "--registry",
            str(sim / "registry.csv"),
            "--input",
            str(junk),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "全部 2 行都被拒收" in result.output
    assert (tmp_path / "o" / "dead_letters.jsonl").exists()  # the reasons are kept


def test_replay_piped_prints_chinese_once_without_progress_bars(tmp_path: Path, sim: Path) -> None:
    result = runner.invoke(
        app,
        [
            "replay",
            "--registry",
            str(sim / "registry.csv"),
            "--input",
            str(sim / "readings.jsonl"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert not any(bit in result.output for bit in PROGRESS_BITS), result.output
    assert result.output.count("结果：") == 1
    assert "台区停电" in result.output and "feeder_outage" not in result.output
    assert "读取" in result.output and "lines" not in result.output


# --------------------------------------------------------------------------- services


def test_grafana_unreachable_is_one_line_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import niquests

    from dashboards.apply import Provisioner

    def refuse(self: Any) -> Any:
        raise niquests.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(Provisioner, "run", refuse)
    result = runner.invoke(
        app, ["grafana", "apply", "--url", "http://grafana.local:3000", "--token", "t"]
    )
    assert result.exit_code == common.EXIT_UNREACHABLE
    line = _one_line(result.output)
    assert "连不上 Grafana（http://grafana.local:3000）" in line and "--url" in line


def test_grafana_url_without_scheme_gets_http(monkeypatch: pytest.MonkeyPatch) -> None:
    from grafana_client.api import GrafanaApi

    from dashboards.apply import Provisioner

    seen: list[str] = []
    real = GrafanaApi.from_url

    def from_url(url: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(GrafanaApi, "from_url", staticmethod(from_url))
    monkeypatch.setattr(Provisioner, "run", lambda self: [])
    result = runner.invoke(app, ["grafana", "apply", "--url", "localhost:3000", "--token", "t"])
    assert result.exit_code == 0, result.output
    assert seen == ["http://localhost:3000"]
    assert "按 http://localhost:3000 连接" in result.output


@pytest.mark.parametrize("url", ["http://", "ftp://grafana:3000", "localhost:port"])
def test_bad_grafana_urls_are_rejected(url: str) -> None:
    result = runner.invoke(app, ["grafana", "apply", "--url", url, "--token", "t"])
    assert result.exit_code == 2
    assert "Grafana 地址" in _one_line(result.output)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A component's own Kafka user and InfluxDB token (secure by default: without them the
    worker and the producer refuse before anything connects, tests/unit/streams/test_security)."""
    monkeypatch.setenv("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("HEATWATCH_KAFKA_SASL_USERNAME", "worker")
    monkeypatch.setenv("HEATWATCH_KAFKA_SASL_PASSWORD", "not-a-real-password")
    monkeypatch.delenv("HEATWATCH_KAFKA_SSL_CAFILE", raising=False)
    monkeypatch.setenv("HEATWATCH_INFLUX_TOKEN", "not-a-real-token")


def _no_kafka(*args: Any, **kwargs: Any) -> None:
    from kafka.errors import KafkaTimeoutError

    raise KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:1")


def _influx_up(*args: Any, **kwargs: Any) -> Any:
    import io

    return io.BytesIO(b'{"status": "pass"}')


@pytest.mark.usefixtures("credentials")
def test_worker_without_influxdb_names_the_url(monkeypatch: pytest.MonkeyPatch, sim: Path) -> None:
    from urllib.error import URLError

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise URLError("Connection refused")

    monkeypatch.setattr("heatwatch.cli.worker.urlopen", refuse)
    monkeypatch.setenv("HEATWATCH_INFLUX_URL", "http://influx.local:8086")
    result = runner.invoke(app, ["worker", "--registry", str(sim / "registry.csv")])
    assert result.exit_code == common.EXIT_UNREACHABLE
    line = _one_line(result.output)
    assert "连不上 InfluxDB（http://influx.local:8086）" in line and "HEATWATCH_INFLUX_URL" in line


@pytest.mark.usefixtures("credentials")
def test_worker_without_kafka_is_one_line(monkeypatch: pytest.MonkeyPatch, sim: Path) -> None:
    monkeypatch.setattr("heatwatch.cli.worker.urlopen", _influx_up)
    monkeypatch.setattr("heatwatch.cli.worker.ensure_topics", _no_kafka)
    result = runner.invoke(
        app, ["worker", "--registry", str(sim / "registry.csv"), "--bootstrap", "127.0.0.1:1"]
    )
    assert result.exit_code == common.EXIT_UNREACHABLE
    line = _one_line(result.output)
    assert "连不上 Kafka（127.0.0.1:1）" in line and "HEATWATCH_KAFKA_BOOTSTRAP" in line


@pytest.mark.usefixtures("credentials")
def test_produce_without_kafka_is_one_line(monkeypatch: pytest.MonkeyPatch, sim: Path) -> None:
    monkeypatch.setattr("heatwatch.cli.produce.ensure_topics", _no_kafka)
    result = runner.invoke(
        app, ["produce", "--input", str(sim / "readings.jsonl"), "--bootstrap", "127.0.0.1:1"]
    )
    assert result.exit_code == common.EXIT_UNREACHABLE
    assert "连不上 Kafka" in _one_line(result.output)


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_topics_this_user_may_not_create_are_one_line(
    monkeypatch: pytest.MonkeyPatch, sim: Path, lang: str
) -> None:
    from streams.topics import TopicSetupError

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise TopicSetupError(["heatwatch.telemetry"], "worker")

    monkeypatch.setattr("heatwatch.cli.worker.urlopen", _influx_up)
    monkeypatch.setattr("heatwatch.cli.worker.ensure_topics", forbidden)
    result = runner.invoke(app, ["--lang", lang, "worker", "--registry", str(sim / "registry.csv")])
    assert result.exit_code == common.EXIT_INPUT
    line = _one_line(result.output)
    assert "heatwatch.telemetry" in line and "'worker'" in line
    assert ("无权创建" if lang == "zh" else "may not create them") in line
    assert "not-a-real-password" not in result.output


@pytest.mark.usefixtures("credentials")
def test_produce_checks_the_file_before_connecting(tmp_path: Path) -> None:
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    result = runner.invoke(app, ["produce", "--input", str(empty), "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 2 and "是空的" in result.output


# --------------------------------------------------------------------------- unexpected failures


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("formats.schemas.write_schemas", boom)
    result = runner.invoke(app, ["schema", "--out", "x"])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert line.startswith("内部错误：RuntimeError: disk on fire") and "--debug" in line
    debug = runner.invoke(app, ["--debug", "schema", "--out", "x"])
    assert isinstance(debug.exception, RuntimeError)


# --------------------------------------------------------------------------- simulate and report


def test_simulate_prints_chinese(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "--households", "50", "--days", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "已写出" in result.output and "标准答案：台区停电" in result.output
    assert "ground truth" not in result.output
    assert not any(bit in result.output for bit in PROGRESS_BITS)


def test_season_report_prints_verdicts_in_words_not_a_dict(tmp_path: Path, sim: Path) -> None:
    run = tmp_path / "run"
    replayed = runner.invoke(
        app,
        [
            "replay",
            "--registry",
            str(sim / "registry.csv"),
            "--input",
            str(sim / "readings.jsonl"),
            "--out",
            str(run),
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    result = runner.invoke(
        app,
        [
            "report",
            "season",
            "--season",
            "2021-2022",
            "--run",
            str(run),
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "{" not in result.output and "'eligible'" not in result.output
    assert re.search(r"可拆除\S* \d+ 户，暂不拆除 \d+ 户，数据不足 \d+ 户", result.output)
    assert "已写出" in result.output
    assert not any(bit in result.output for bit in PROGRESS_BITS)


def test_season_report_without_rollups_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            "season",
            "--season",
            "2021-2022",
            "--run",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 2
    assert "heatwatch replay" in _one_line(result.output)
