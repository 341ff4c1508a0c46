"""Engine part: what runs over the fleet after each released step.

Feeders, gas stations and heat stations whose members changed in the step are rolled up
(``outages.roll_up_feeder``, ``gas.roll_up_station``, ``HeatNetwork.roll_up``), in id order so
the result does not depend on which member changed first; and on its own event-time timer
(half the communication-loss window, at least one interval) the fleet is scanned for
silence (``outages.scan_comm_loss``, ``HeatNetwork.scan_silence``), counted from the stream's
start (``eventclock.StreamStart``). The timer is what this part owns and snapshots.
"""

from __future__ import annotations

from typing import Any

from streams.core.context import DetectorContext
from streams.core.eventclock import StreamStart
from streams.core.fleet import Fleet
from streams.core.gas import roll_up_station
from streams.core.outages import roll_up_feeder, scan_comm_loss
from streams.core.snapshots import check_format

SWEEPS_FORMAT = 1


class Sweeps:
    __slots__ = ("ctx", "every", "fleet", "next_scan", "start")

    def __init__(self, ctx: DetectorContext, fleet: Fleet, start: StreamStart) -> None:
        s = ctx.settings
        self.ctx, self.fleet, self.start = ctx, fleet, start
        self.every = max(s.interval_s, s.comm_loss_intervals * s.interval_s // 2)
        self.next_scan = 0  # event time of the next silence scan (the first step's, at first)

    def after_step(self, now: int) -> None:
        self.roll_up(now)
        if now >= self.next_scan:
            self.scan(now)
            self.next_scan = now + self.every

    def scan(self, now: int) -> None:
        """Households, heat stations and heat-network devices silent for too long."""
        since = self.start.silence_since(now)
        scan_comm_loss(self.ctx, self.fleet.households.values(), now, since)
        self.fleet.heat.scan_silence(self.ctx, now, since)

    def roll_up(self, now: int) -> None:
        """Feeders, stations and heat stations whose members changed in this step."""
        ctx = self.ctx
        if ctx.dirty_feeders:
            for feeder in sorted(ctx.dirty_feeders, key=lambda f: f.feeder_id):
                roll_up_feeder(ctx, feeder, now)
            ctx.dirty_feeders.clear()
        if ctx.dirty_stations:
            for station in sorted(ctx.dirty_stations, key=lambda s: s.station_id):
                roll_up_station(ctx, station, now)
            ctx.dirty_stations.clear()
        if self.fleet.heat.dirty:
            self.fleet.heat.roll_up(ctx, now)

    def snapshot(self) -> dict[str, Any]:
        return {"format": SWEEPS_FORMAT, "next_scan": self.next_scan}

    def restore(self, data: dict[str, Any]) -> None:
        check_format("sweeps", data, SWEEPS_FORMAT)
        self.next_scan = data["next_scan"]
