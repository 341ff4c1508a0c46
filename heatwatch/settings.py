"""Settings read from the environment, one class per component, built once at the entry point.

The detection core takes a plain ``DetectionSettings``; only this module reads variables.
Secrets are ``SecretStr`` so they never show in logs or reprs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.core.settings import DetectionSettings


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
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None


class InfluxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATWATCH_INFLUX_", extra="ignore")

    url: str = "http://127.0.0.1:8086"
    token: SecretStr = SecretStr("heatwatch-dev-token")
    org: str = "heatwatch"
    bucket: str = "heatwatch"
    batch_size: int = 5000
    timeout_ms: int = 10_000


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEATWATCH_WORKER_", extra="ignore")

    app_id: str = "heatwatch"
    web_port: int = 6066
    data_dir: Path = Path(".stack/worker")
    store: str = "rocksdb://"
    snapshot_interval_s: float = 10.0
    heartbeat_interval_s: float = 10.0
    # the production path (heatwatch worker): see docs/production-path.md
    registry: Path = Path("registry.csv")
    name: str = ""  # worker tag in the `worker` measurement; hostname-pid when empty
    checkpoint_interval_s: float = 2.0
    flush_interval_s: float = 0.5
    snapshot_every_s: int = 60
    idle_release_s: float = 0.0
    session_timeout_s: float = 10.0
    web_enabled: bool = False
    loglevel: str = "warning"
