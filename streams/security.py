"""Kafka client security from ``KafkaSettings``: one place builds the TLS context and the
SASL/SCRAM options for every client the project makes (Faust/aiokafka, kafka-python).

Secure by default: ``SASL_SSL`` with the broker certificate verified against
``HEATWATCH_KAFKA_SSL_CAFILE`` (or the system CAs) and the host name checked. ``PLAINTEXT`` is
refused unless the caller passes ``insecure=True`` (the CLI's ``--insecure``), so it is never
chosen silently. Passwords stay ``SecretStr`` until the moment a client is built; no function
here logs or formats one into a message. See docs/security.md.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import KafkaSettings, MissingSecretError


class InsecureTransportError(ValueError):
    """PLAINTEXT was configured without the explicit ``--insecure`` permission."""


def check_transport(kafka: KafkaSettings, *, insecure: bool = False) -> None:
    """Refuse a configuration that would send data or credentials unprotected or anonymously."""
    if kafka.security_protocol == "PLAINTEXT":
        if not insecure:
            raise InsecureTransportError(
                "HEATWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT needs --insecure "
                "(local experiments only; no TLS, no authentication)"
            )
        return
    if not kafka.sasl_username or kafka.sasl_password is None:
        raise MissingSecretError(
            "Kafka SASL_SSL needs HEATWATCH_KAFKA_SASL_USERNAME and HEATWATCH_KAFKA_SASL_PASSWORD"
        )
    if kafka.ssl_cafile is not None and not kafka.ssl_cafile.is_file():
        raise MissingSecretError(f"HEATWATCH_KAFKA_SSL_CAFILE: no such file {kafka.ssl_cafile}")


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """A verifying client context (TLS 1.2+), or None for PLAINTEXT."""
    if kafka.security_protocol == "PLAINTEXT":
        return None
    cafile = str(kafka.ssl_cafile) if kafka.ssl_cafile is not None else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = kafka.ssl_check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class MaskedStr(str):
    """A secret handed to a client library as the ``str`` it needs, with a masked ``repr``:
    kafka-python logs its whole configuration dict at DEBUG (``Starting KafkaAdminClient with
    configuration: {...}``), and a dict shows its values' reprs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


def _password(kafka: KafkaSettings) -> str:
    if kafka.sasl_password is None:
        raise MissingSecretError("HEATWATCH_KAFKA_SASL_PASSWORD is not set")
    return MaskedStr(kafka.sasl_password.get_secret_value())


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python *and* aiokafka clients (same names in both)."""
    if kafka.security_protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    return {
        "security_protocol": "SASL_SSL",
        "ssl_context": ssl_context(kafka),
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_plain_username": kafka.sasl_username,
        "sasl_plain_password": _password(kafka),
    }


def faust_app_options(kafka: KafkaSettings) -> dict[str, Any]:
    """``faust.App`` keyword arguments: ``broker_credentials`` for SASL_SSL, nothing else."""
    if kafka.security_protocol == "PLAINTEXT":
        return {}
    from faust.auth import SASLCredentials

    # SASLCredentials' repr shows the user name only.
    credentials = SASLCredentials(
        username=kafka.sasl_username,
        password=_password(kafka),
        ssl_context=ssl_context(kafka),
        mechanism=kafka.sasl_mechanism,
    )
    return {"broker_credentials": credentials}
