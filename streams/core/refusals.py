"""Engine part: what the engine refuses, and why — at once (``Rejected``) or after the fact.

A reading is refused at once when it is pushed (unparseable time, unknown device, physically
impossible values, a wrong clock: ``Rejected`` carries the reason to the adapter's dead
letters), or *withdrawn* later — counted accepted when it came, then refused when its step was
released or expired (a conflict's loser, a fast clock's copy, a held reading time never
reached, a value judged on release): those wait in ``rejections`` with the origin they were
pushed with until the adapter drains them. Every reason is written here, in one voice.

What this part owns: the refusals waiting to be drained (empty at every checkpoint) and the
implausible readings counted per device (a replay's report). It keeps the engine's tally
(``counters``) and tells the clock-fault judge (``eventtime.ClockFaultJudge``) of each wrong
clock, both given to it; it holds nothing of the engine.
"""

from __future__ import annotations

from typing import Any, NoReturn

from contract.telemetry import AnyReading
from streams.core.clock import to_datetime
from streams.core.counters import EngineCounters
from streams.core.eventtime import ClockFaultJudge, describe_offset
from streams.core.reorder import Entry
from streams.core.settings import DetectionSettings
from streams.core.snapshots import check_format
from streams.core.sources import Source

REFUSALS_FORMAT = 1


class Rejected(Exception):
    """A reading that is well-formed but cannot be used; the reason goes to the dead letters."""


class Refusals:
    __slots__ = ("clock_faults", "counters", "implausible", "rejections", "settings")

    def __init__(
        self, counters: EngineCounters, clock_faults: ClockFaultJudge, settings: DetectionSettings
    ) -> None:
        self.counters = counters
        self.clock_faults = clock_faults
        self.settings = settings
        # refused after admission, for the adapter: (origin, reading, reason)
        self.rejections: list[tuple[Any, AnyReading, str]] = []
        self.implausible: dict[str, int] = {}  # device id -> implausible readings refused

    def reject(self, reason: str) -> NoReturn:
        self.counters.rejected += 1
        raise Rejected(reason)

    def late(self, r: AnyReading, behind: int) -> NoReturn:
        """Behind the released time, and neither a re-send nor a revision."""
        self.reject(
            f"late: ts {r.ts} arrived after readings up to {behind} s newer "
            f"(lateness bound {self.settings.lateness_s} s)"
        )

    def withdraw(self, origin: Any, r: AnyReading, reason: str) -> None:
        """Refuse a reading that was counted as accepted when it came (a conflict settled,
        a clock fault found, a value judged, after the fact): dead-lettered with ``reason``."""
        self.counters.rejected += 1
        self.counters.accepted -= 1
        self.rejections.append((origin, r, reason))

    def take(self) -> list[tuple[Any, AnyReading, str]]:
        """The refusals waiting, drained (the list object stays: the engine shows it)."""
        out = self.rejections[:]
        self.rejections.clear()
        return out

    # --- values outside a kind's physical limits -----------------------------------------
    def _count_implausible(self, device: str) -> None:
        self.implausible[device] = self.implausible.get(device, 0) + 1
        self.counters.implausible += 1

    def implausible_now(self, device: str, why: str) -> NoReturn:
        self._count_implausible(device)
        self.reject(f"implausible: {device}: {why}")

    def implausible_later(self, src: Source, r: AnyReading, origin: Any, why: str) -> None:
        """Plausibility found on release: dead-lettered through ``rejections``."""
        self._count_implausible(src.device)
        self.withdraw(origin, r, f"implausible: {src.device}: {why}")

    # --- wrong clocks ---------------------------------------------------------------------
    def _clock_fault(self, src: Source, offset: int, ts: int = 0) -> None:
        self.clock_faults.note(src.entity, src.device, offset, ts)
        self.counters.clock_rejected += 1

    def clock_fault_later(
        self, src: Source, r: AnyReading, origin: Any, offset: int, ts: int, how: str
    ) -> None:
        """``withdraw`` for a wrong clock: counted towards the source's ``meter_clock_fault``."""
        self._clock_fault(src, offset, ts)
        self.withdraw(origin, r, f"clock fault: {src.entity} {src.device} stamped {r.ts}, {how}")

    def expired(self, step: list[Entry], ts: int, now: int, why: str) -> None:
        """A step's readings dead-lettered as clock faults (held too long, behind the start)."""
        offset = ts - now if now else 0
        how = (
            f"{describe_offset(offset)} from the stream's consensus time "
            f"{to_datetime(now).isoformat() if now else '(not yet known)'} "
            f"(skew bound {self.settings.clock_skew_s} s): {why}"
        )
        for _, _, r, origin, src in step:
            self.clock_fault_later(src, r, origin, offset, ts, how)

    def outside_window(self, src: Source, r: AnyReading, ts: int, now: int) -> NoReturn:
        s = self.settings
        self._clock_fault(src, ts - (now or ts))
        self.reject(
            f"clock fault: {src.entity} {src.device} stamped {r.ts}, outside the programme's "
            f"window {s.earliest_event.isoformat()} .. {s.latest_event.isoformat()}"
            " (meter clock reset or corrupt)"
        )

    def ahead_of_wall(self, src: Source, r: AnyReading, ts: int, wall: int) -> None:
        """Live only: a reading stamped more than the skew bound ahead of the worker's wall
        clock never advances time, whatever the consensus (three fast meters agreeing are
        still in the future): it is a clock fault, refused at once with its offset."""
        skew = self.settings.clock_skew_s
        if ts - wall <= skew:
            return
        self._clock_fault(src, ts - wall, ts)
        self.reject(
            f"clock fault: {src.entity} {src.device} stamped {r.ts}, "
            f"{describe_offset(ts - wall)} ahead of the worker's clock "
            f"{to_datetime(wall).isoformat()} (skew bound {skew} s): "
            "a reading cannot come from the future"
        )

    def snapshot(self) -> dict[str, Any]:
        return {"format": REFUSALS_FORMAT, "implausible": dict(self.implausible)}

    def restore(self, data: dict[str, Any]) -> None:
        check_format("refusals", data, REFUSALS_FORMAT)
        self.implausible.clear()  # in place: the engine shows this dict
        self.implausible.update(data["implausible"])
