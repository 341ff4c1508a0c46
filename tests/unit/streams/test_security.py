"""Kafka client security from settings: secure by default, PLAINTEXT only when allowed,
secrets never in a repr (streams/security.py). No I/O besides tmp files."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from streams.security import (
    InsecureTransportError,
    MaskedStr,
    check_transport,
    client_options,
    faust_app_options,
)
from streams.settings import InfluxSettings, KafkaSettings, MissingSecretError

SECRET = "s3cr3t-pa55word"


def _kafka(tmp_path: Path, **fields: object) -> KafkaSettings:
    ca = tmp_path / "ca.crt"
    ca.write_text("")
    base: dict[str, object] = {
        "sasl_username": "worker",
        "sasl_password": SecretStr(SECRET),
        "ssl_cafile": None,
    }
    return KafkaSettings(**{**base, **fields})  # type: ignore[arg-type]


def test_the_default_is_sasl_ssl_and_plaintext_needs_insecure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "HEATWATCH_KAFKA_SASL_USERNAME"):
        monkeypatch.delenv(var, raising=False)
    assert KafkaSettings().security_protocol == "SASL_SSL"
    plain = KafkaSettings(security_protocol="PLAINTEXT")
    with pytest.raises(InsecureTransportError, match="--insecure"):
        check_transport(plain)
    check_transport(plain, insecure=True)
    assert client_options(plain) == {"security_protocol": "PLAINTEXT"}
    assert faust_app_options(plain) == {}


def test_sasl_ssl_without_credentials_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError, match="HEATWATCH_KAFKA_SASL_PASSWORD"):
        check_transport(_kafka(tmp_path, sasl_password=None))
    with pytest.raises(MissingSecretError, match="HEATWATCH_KAFKA_SSL_CAFILE"):
        check_transport(_kafka(tmp_path, ssl_cafile=tmp_path / "missing.crt"))


def test_client_options_verify_the_broker_and_mask_the_password(tmp_path: Path) -> None:
    options = client_options(_kafka(tmp_path))
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_password"] == SECRET  # the library gets the real value
    assert SECRET not in repr(options) and SECRET not in str(options)
    assert SECRET.encode() == options["sasl_plain_password"].encode()


def test_faust_credentials_never_show_the_password(tmp_path: Path) -> None:
    credentials = faust_app_options(_kafka(tmp_path))["broker_credentials"]
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.ssl_context is not None
    assert SECRET not in repr(credentials) and SECRET not in repr(vars(credentials))


def test_settings_reprs_hide_secrets(tmp_path: Path) -> None:
    assert SECRET not in repr(_kafka(tmp_path))
    influx = InfluxSettings(token=SecretStr(SECRET))
    assert SECRET not in repr(influx) and influx.require_token() == SECRET
    assert repr(MaskedStr(SECRET)) == "'**********'"


def test_there_is_no_default_influx_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEATWATCH_INFLUX_TOKEN", raising=False)
    with pytest.raises(MissingSecretError, match="HEATWATCH_INFLUX_TOKEN"):
        InfluxSettings().require_token()


def test_worker_refuses_to_start_without_a_token_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from heatwatch.cli.main import _mount_subcommands, app

    _mount_subcommands()
    monkeypatch.delenv("HEATWATCH_INFLUX_TOKEN", raising=False)
    monkeypatch.delenv("HEATWATCH_ALLOW_INSECURE", raising=False)
    monkeypatch.setenv("HEATWATCH_KAFKA_SASL_USERNAME", "worker")
    monkeypatch.setenv("HEATWATCH_KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    runner = CliRunner()
    result = runner.invoke(app, ["worker", "--registry", str(tmp_path / "r.csv")])
    assert result.exit_code == 2
    assert "HEATWATCH_INFLUX_TOKEN" in result.output and SECRET not in result.output
    assert "拒绝启动" in result.output  # Chinese first (--lang en: "refused: ...")
    assert len(result.output.strip().splitlines()) == 1
    monkeypatch.setenv("HEATWATCH_INFLUX_TOKEN", SECRET)
    monkeypatch.setenv("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    for command in (["worker"], ["produce"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "--insecure" in result.output, result.output
        assert SECRET not in result.output
    result = runner.invoke(app, ["--lang", "en", "produce"])
    assert result.exit_code == 2
    assert result.output.startswith("error: refused: HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT")
