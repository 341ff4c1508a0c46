"""Partition lifecycle: one engine per assigned telemetry partition, restored or new.

A partition's households are those whose feeder/station key hashes there
(``registry_by_partition`` over the topic's real partition count). Opening restores the
engine from the partition's newest checkpoint (or starts it empty) with its output wired once;
revoking forgets it (unacked records are replayed by the next owner).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from contract.incidents import Incident
from contract.keys import registry_by_partition
from contract.registry import Household
from contract.rollups import HouseholdDay
from streams.checkpoint import Checkpoint, import_engine
from streams.core.context import Metric
from streams.core.engine import Engine
from streams.core.incidents import Change
from streams.core.settings import DetectionSettings
from streams.liveness import Answers
from streams.records import RecordFeed, SendFn
from streams.sinks.dataset import DatasetSink
from streams.sinks.influx import InfluxSink
from streams.sinks.points import household_day_line, incident_line, metric_line
from streams.snapshot import SnapshotState

log = logging.getLogger(__name__)

# Aggregates over a county: several partitions' engines each hold part of a county, so their
# points carry a ``partition`` tag to stay separate series (dashboards sum after ``last()``).
COUNTY_AGGREGATES = frozenset({"active_incidents", "gas_quota"})


class PartitionOutput:
    """``EngineOutput`` for one partition: line protocol to the sink, incidents to Kafka.

    ``watermark`` gives the event time an incident changed at (an open incident's duration so
    far: the engine's ``released_until``); ``offset`` the offset of the last record of the batch
    being processed (the batch is pushed in one engine call): the dataset's revision order,
    whose ties the row order settles (formats/worker_dataset.py)."""

    def __init__(
        self,
        partition: int,
        sink: InfluxSink,
        send_incident: SendFn | None = None,
        watermark: Callable[[], int] | None = None,
        dataset: DatasetSink | None = None,
        offset: Callable[[], int] | None = None,
    ) -> None:
        self.partition = partition
        self.sink = sink
        self.send_incident = send_incident
        self.watermark = watermark
        self.dataset = dataset
        self.offset: Callable[[], int] = offset or (lambda: -1)
        self._extra = {"partition": str(partition)}

    def incident(self, change: Change, incident: Incident) -> None:
        now = self.watermark() if self.watermark is not None else None
        self.sink.add(incident_line(change, incident, now))
        if self.dataset is not None:
            self.dataset.add_incident(self.partition, self.offset(), change.value, incident)
        if self.send_incident is not None:
            payload = incident.model_dump(mode="json")
            payload["change"] = change.value
            self.send_incident(incident.incident_id.encode(), orjson.dumps(payload))

    def rollups(self, days: list[HouseholdDay]) -> None:
        self.sink.extend([household_day_line(d) for d in days])
        if self.dataset is not None:
            self.dataset.add_rollups(self.partition, self.offset(), days)

    def metric(self, metric: Metric) -> None:
        extra = self._extra if metric.measurement in COUNTY_AGGREGATES else None
        self.sink.add(metric_line(metric, extra))


@dataclass(eq=False)
class PartitionState:
    """One assigned partition: its engine and where it is in the log.

    Offsets: records at or below ``checkpoint_offset`` are folded into the last checkpoint
    (captured or restored); ``pending`` are the events not acked yet (acked by the commit
    point that covers them)."""

    partition: int
    engine: Engine
    feed: RecordFeed
    checkpoint_offset: int = -1
    last_offset: int = -1  # last record seen
    dirty: bool = False  # records folded in since the last checkpoint
    pending: list[Any] = field(default_factory=list)  # events awaiting ack
    pending_upto: int = -1  # highest offset among them
    idle_released: bool = False
    answers: Answers = field(default_factory=Answers)  # streams.liveness
    snapshot: SnapshotState = field(default_factory=SnapshotState)  # streams.snapshot


class Partitions:
    """The assigned partitions (``states``), opened from their checkpoints."""

    def __init__(
        self,
        registry: list[Household],
        settings: DetectionSettings,
        sink: InfluxSink,
        *,
        send_dead_letter: SendFn,
        send_incident: SendFn | None,
        dataset: DatasetSink | None,
        wall_clock: Callable[[], float],
        counts: Any,
        tune_gc: bool,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.sink = sink
        self.send_dead_letter = send_dead_letter
        self.send_incident = send_incident
        self.dataset = dataset
        self.wall_clock = wall_clock
        self.counts = counts
        self.tune_gc = tune_gc
        self.states: dict[int, PartitionState] = {}
        self._split: dict[int, list[Household]] | None = None
        self._count = 0

    def set_count(self, n: int) -> None:
        if n != self._count:
            self._count = n
            self._split = registry_by_partition(self.registry, n)

    def open(
        self, partition: int, stored: tuple[Checkpoint, int] | None, *, refreeze: bool = True
    ) -> PartitionState:
        """The partition's engine, restored from ``stored`` (its newest checkpoint) or empty;
        ``refreeze=False``: the caller calls ``refreeze`` once after opening several (each is
        a full collection of the worker's heap: 15% of a 3,000-household run's main thread
        went to four of them at the assignment)."""
        if self._split is None:
            raise RuntimeError("set_partition_count() first")
        households = self._split[partition]
        # the output reads the engine and the state it is wired into, both made below
        holder: list[PartitionState] = []
        output = PartitionOutput(
            partition,
            self.sink,
            self.send_incident,
            watermark=lambda: holder[0].engine.released_until,
            dataset=self.dataset,
            offset=lambda: holder[0].last_offset,
        )
        if stored is not None:
            checkpoint = stored[0]
            engine = import_engine(checkpoint.engine_blob, households, self.settings, output)
            offset = checkpoint.offset
            log.debug("partition %d: opened from checkpoint at offset %d", partition, offset)
        else:
            engine = Engine(households, self.settings, output)
            offset = -1
        engine.wall_clock = self.wall_clock
        feed = RecordFeed(partition, engine, self.send_dead_letter, self.counts)
        state = PartitionState(partition, engine, feed, offset, offset)
        holder.append(state)
        self.states[partition] = state
        if refreeze:
            self.refreeze()
        return state

    def revoke(self, partition: int) -> PartitionState | None:
        st = self.states.pop(partition, None)
        if st is not None:
            log.debug("partition %d revoked", partition)
        return st

    def refreeze(self) -> None:
        """Move live objects (the engines) out of the collector's scans; a revoked engine's
        cycles are collected first (frozen objects are never collected)."""
        if self.tune_gc:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
