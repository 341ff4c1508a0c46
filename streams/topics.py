"""The Kafka topics of the production path, created when missing (idempotent)."""

from __future__ import annotations

import contextlib

from streams.security import client_options
from streams.settings import KafkaSettings


class TopicSetupError(RuntimeError):
    """The topics are missing and this Kafka user may not create them."""

    def __init__(self, topics: list[str], user: str | None) -> None:
        self.topics = topics
        self.user = user
        super().__init__(
            f"topics {', '.join(topics)} do not exist and Kafka user {user!r} may not "
            "create them: create them as an admin (docs/security.md)"
        )


def ensure_topics(
    kafka: KafkaSettings,
    partitions: int,
    app_id: str | None = None,
    *,
    telemetry_only: bool = False,
) -> None:
    """Create telemetry, dead-letter and incident topics if missing (idempotent).

    ``telemetry_only``: the producer's case; with ACLs it may see and write only telemetry.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import (
        ClusterAuthorizationFailedError,
        TopicAlreadyExistsError,
        TopicAuthorizationFailedError,
    )

    admin = KafkaAdminClient(
        bootstrap_servers=kafka.bootstrap, client_id="heatwatch-admin", **client_options(kafka)
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(kafka.telemetry_topic, partitions, 1),
            NewTopic(kafka.dead_letter_topic, 1, 1),
            NewTopic(
                kafka.incident_topic,
                max(1, partitions // 2),
                1,
                topic_configs={"cleanup.policy": "compact"},
            ),
        ]
        if telemetry_only:
            wanted = wanted[:1]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics(missing, timeout_ms=30_000)
            except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError) as exc:
                raise TopicSetupError([t.name for t in missing], kafka.sasl_username) from exc
    finally:
        admin.close()
