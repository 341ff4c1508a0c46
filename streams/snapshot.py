"""The ``active_incidents`` snapshot of one partition's counties, written as event time passes.

Same rows as ``Engine.snapshot`` but fewer: every non-zero row, and the zero row of a
combination that was non-zero at the previous snapshot (so no live series goes silent and a
resolved one reads zero at once); all-zero rows of the combinations that occur
(``occurring_keys``) only once per ``snapshot_zeros_every_s`` of event time. After a restart
the first snapshot writes every row (the previous set is unknown): values are deterministic,
so the extra rows overwrite with equal values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from streams.core.activity import SnapshotKey, occurring_keys
from streams.core.engine import Engine
from streams.settings import WorkerSettings
from streams.sinks.influx import InfluxSink
from streams.sinks.points import active_incidents_line


@dataclass
class SnapshotState:
    """What one partition's next snapshot depends on."""

    next_at: int = 0  # event time the next snapshot is due at
    next_zeros: int = 0  # event time from which the next snapshot writes every zero row
    nonzero: set[SnapshotKey] | None = None  # non-zero at the last snapshot (None: unknown)


class ActiveSnapshot:
    """Writes the snapshot rows of a partition to the sink when its event time reaches them."""

    def __init__(self, sink: InfluxSink, config: WorkerSettings, counts: Counter[str]) -> None:
        self.sink = sink
        self.every = config.snapshot_every_s
        self.zeros_every = config.snapshot_zeros_every_s
        self.counts = counts

    def start(self, engine: Engine) -> SnapshotState:
        return SnapshotState(next_at=self.next_after(engine.released_until))

    def next_after(self, ts: int) -> int:
        every = self.every
        return (ts // every + 1) * every if ts else 0

    def write(self, partition: int, engine: Engine, state: SnapshotState) -> None:
        """The rows at the engine's released time (module docstring)."""
        now = engine.released_until
        if not now:
            return
        every = self.every
        at = now // every * every
        counts = engine.active_counts()
        nonzero = set(counts)
        zeros_every = self.zeros_every
        if state.nonzero is None or zeros_every <= 0 or at >= state.next_zeros:
            for key in occurring_keys(engine.counties):
                counts.setdefault(key, [0, 0, 0, 0])
            if zeros_every > 0:
                state.next_zeros = (at // zeros_every + 1) * zeros_every
        else:
            for key in state.nonzero - nonzero:
                counts[key] = [0, 0, 0, 0]
        tag = str(partition)
        lines = [
            active_incidents_line(county, kind, sev, tag, c, h, p, top, at, domain)
            for (county, kind, sev, domain), (c, h, p, top) in sorted(counts.items())
        ]
        self.sink.extend(lines)
        self.counts["snapshot_rows"] += len(lines)
        state.nonzero = nonzero
        state.next_at = self.next_after(now)
