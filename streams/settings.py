"""Settings read from the environment, one class per component, built once at the entry point.

The detection core takes a plain ``DetectionSettings``; only this module reads variables.
Secrets are ``SecretStr`` so they never show in logs or reprs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.core.settings import DetectionSettings


class MissingSecretError(ValueError):
    """A required credential is not configured (the message names the variable, never a value)."""


class DetectionEnvSettings(BaseSettings, DetectionSettings):
    """``HEATWATCH_DETECT_<FIELD>`` overrides any detection threshold, e.g.
    ``HEATWATCH_DETECT_LATENESS_S=3600``."""

    model_config = SettingsConfigDict(env_prefix="HEATWATCH_DETECT_", frozen=True, extra="ignore")

    def core(self) -> DetectionSettings:
        return DetectionSettings.model_validate(self.model_dump())


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATWATCH_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:9092"
    telemetry_topic: str = "heatwatch.telemetry"
    dead_letter_topic: str = "heatwatch.dead-letters"
    incident_topic: str = "heatwatch.incidents"
    partitions: int = 6
    # Faust consumer: bytes fetched per partition per request, events buffered per stream.
    # Faust's defaults (1 MiB, 4096) starve the worker: ~1 MiB of batches is < 0.5 s of work
    # and the next fetch is not in flight meanwhile (docs/production-path.md, "Throughput").
    fetch_max_bytes_per_partition: int = 32 * 1024 * 1024
    stream_buffer_maxsize: int = 16384
    # Security (docs/security.md): TLS + SASL/SCRAM by default. PLAINTEXT must be chosen here
    # AND allowed with --insecure on the command line (streams/security.py refuses otherwise).
    security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = "SASL_SSL"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None  # CA that signed the broker certificate; None = system CAs
    ssl_check_hostname: bool = True


class InfluxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATWATCH_INFLUX_", extra="ignore")

    url: str = "http://127.0.0.1:8086"
    # No default: each component gets its own least-privilege token (docs/security.md);
    # the worker refuses to start without one.
    token: SecretStr | None = None
    org: str = "heatwatch"
    bucket: str = "heatwatch"
    batch_size: int = 5000
    timeout_ms: int = 10_000
    gzip_level: int = 1  # request body compression, 0 = off (the client library used 9)
    max_pending_lines: int = 200_000  # lines held for InfluxDB before the agent pauses

    def require_token(self) -> str:
        """The token's value, or ``MissingSecretError`` naming the variable to set."""
        if self.token is None or not self.token.get_secret_value():
            raise MissingSecretError(
                "no InfluxDB token: set HEATWATCH_INFLUX_TOKEN to this component's token "
                "(the local stack writes them to its env files, docs/security.md)"
            )
        return self.token.get_secret_value()


class WebSettings(BaseSettings):
    """The Faust web server's bind address (``HEATWATCH_WORKER_WEB_BIND``): loopback unless
    configured otherwise (e.g. ``0.0.0.0`` in a pod, for the readiness probe)."""

    model_config = SettingsConfigDict(env_prefix="HEATWATCH_WORKER_WEB_", extra="ignore")

    bind: str = "127.0.0.1"


class WorkerSettings(BaseSettings):
    """The worker's one settings object: the Faust app and the pipeline both read it."""

    model_config = SettingsConfigDict(env_prefix="HEATWATCH_WORKER_", extra="ignore")

    app_id: str = "heatwatch"
    web_port: int = 6066
    data_dir: Path = Path(".stack/worker")
    store: str = "rocksdb://"
    # The results dataset (docs/production-path.md, "Results dataset"): household_day rollups
    # and incident revisions as day-partitioned Parquet, which `heatwatch report --source
    # dataset` reads. Default: <data_dir>/dataset; with several workers point every one at the
    # same shared directory (a volume or an object-store mount). Off: dataset_enabled=false.
    dataset_enabled: bool = True
    dataset_dir: Path | None = None
    heartbeat_interval_s: float = 10.0
    # the production path (heatwatch worker): see docs/production-path.md
    registry: Path = Path("registry.csv")
    name: str = ""  # worker tag in the `worker` measurement; hostname-pid when empty
    checkpoint_interval_s: float = 5.0  # acks trail by up to this; results do not (sink)
    # Export the engines' states for a checkpoint in a forked child, off the event loop
    # (streams/export.py says why); false: on the event loop at the commit point's capture.
    checkpoint_fork: bool = True
    # The forked export's child is killed when it has not delivered this long after the
    # commit point began to read it: a fork can copy a lock another thread held and wait for
    # it for ever (streams/export.py). An export takes ~1 s per partition of 2,500 homes here
    # and tens of seconds on a loaded machine: 60 s is far beyond a slow one, and the commit
    # point it holds up only delays acks (results keep flowing). 0: wait for ever.
    checkpoint_export_timeout_s: float = 60.0
    flush_interval_s: float = 0.5
    # The agent takes up to this many records per iteration, or what came within
    # batch_within_s: Faust's per-event cost (~90 µs) is paid per batch, not per record.
    batch_records: int = 1000
    batch_within_s: float = 0.05
    snapshot_every_s: int = 60
    snapshot_zeros_every_s: int = 3600  # all-zero active_incidents rows: once per this (event time)
    # Release the reorder buffer of a partition that is caught up and quiet this long: the
    # broker answered fetches for this long and reported no newer record (a broker stall is
    # not quiet). 0 = never (live data keeps arriving; late readings stay welcome). Replays
    # and tests set it so the tail of a finite input is processed and committed.
    idle_release_s: float = 0.0
    # After a broker or network stall of D s, no idle release before the broker has answered
    # again for min(stall_hold_factor x D, stall_hold_max_s), whatever records arrive
    # meanwhile: the first ones are the log's unconsumed tail, written before the stall, and
    # the producers' backlog follows only when they reconnect. Their reconnect backoff is
    # exponential: kafka-python doubles it from 50 ms up to 30 s with +-20 % jitter, so after
    # failing for D s its next attempt comes up to ~1.5 D later (librdkafka caps it at 10 s,
    # the Java client and `heatwatch produce` at 1 s). The cap is kafka-python's 30 s + 20 %
    # jitter + a few seconds of metadata refresh and produce retries.
    stall_hold_factor: float = 1.5
    stall_hold_max_s: float = 40.0
    session_timeout_s: float = 10.0
    web_enabled: bool = False
    loglevel: str = "warning"
    # Keep the cyclic GC off the long-lived engines (as the embedded runner does): freeze them
    # after a partition opens, raise the gen-0 threshold; measured ~1.5x the readings/s of the
    # default GC with 2,500 households per engine (docs/production-path.md). Process-wide:
    # unit tests turn it off.
    tune_gc: bool = True

    def results_dataset_dir(self) -> Path | None:
        """Where the worker writes its results dataset (None: not at all)."""
        if not self.dataset_enabled:
            return None
        return self.dataset_dir if self.dataset_dir is not None else self.data_dir / "dataset"
