"""The worker's own checkpoint topic: compacted, one partition per telemetry partition.

Why not a Faust ``Table`` (docs/production-path.md, "Checkpoints"): the pipeline writes
checkpoints with ``Table.send_changelog`` from a background task, outside any stream event, so
they never reach the table's local store; yet Faust records each sent changelog offset as
"persisted" in that store. With ``rocksdb://`` and a reused data directory a restart resumes
the changelog read after that offset, finds nothing, and the engine restarts empty at the
committed offset. Owning the topic makes the restore explicit: on assignment the worker reads
each assigned partition of this topic from its beginning to its end offset (the topic is
compacted: a manifest and its chunks per partition) before any record of that partition is
processed, and knows exactly what it restored.

Writes go through the Faust producer (``send``), so Faust's "flush the producer, then commit
offsets" keeps every committed offset behind a durable checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

SendFn = Callable[[int, bytes, bytes], None]


class CheckpointTopic:
    """Reads on assignment, writes through ``send``; ``get``/``put`` serve the pipeline."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        send: SendFn,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        # TLS/SASL options of the worker's Kafka user (streams.security.client_options)
        self.client_options = dict(client_options or {})
        self.topic = topic
        self.group_id = group_id
        self.send = send
        self.data: dict[int, dict[bytes, bytes]] = {}

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.data.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.data.setdefault(partition, {})[key] = value
        self.send(partition, key, value)

    def forget(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.data.pop(p, None)

    async def load(
        self, partitions: Iterable[int], telemetry_topic: str
    ) -> tuple[dict[int, int | None], float]:
        """Read the checkpoint topic's partitions; return the group's committed offsets of
        the telemetry partitions (next offset to read; None: nothing committed) and the
        seconds the read took."""
        wanted = sorted(set(partitions))
        started = time.monotonic()
        for attempt in range(1, 6):
            try:
                committed = await self._load(wanted, telemetry_topic)
                return committed, time.monotonic() - started
            except KafkaError as exc:  # a topic just created has no leader yet, say
                if attempt == 5:
                    raise
                log.warning("reading %s failed (%r); retrying", self.topic, exc)
                await asyncio.sleep(attempt)
        raise AssertionError("unreachable")

    async def _load(self, wanted: list[int], telemetry_topic: str) -> dict[int, int | None]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,  # only to read its committed offsets: never joins
            enable_auto_commit=False,
            client_id=f"{self.group_id}-restore",
            **self.client_options,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in wanted]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                self.data[tp.partition] = await _read_to(consumer, tp, ends[tp])
            committed = {
                p: await consumer.committed(TopicPartition(telemetry_topic, p)) for p in wanted
            }
        finally:
            await consumer.stop()
        return committed


async def _read_to(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> dict[bytes, bytes]:
    """Latest value per key of one partition, up to ``end`` (a compacted topic's table)."""
    entries: dict[bytes, bytes] = {}
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1000)
        for message in batch.get(tp, []):
            if message.key is None:
                continue
            if message.value is None:
                entries.pop(message.key, None)
            else:
                entries[message.key] = message.value
    return entries
