"""The partition's event time as the consensus of its sources, and where its stream starts.

Time is first set from the median of the first readings (or, in a partition of many
households, of the first sources' newest timestamps), advanced by readings within
``clock_skew_s`` of it, and moved further only when ``time_quorum`` distinct sources agree:
one fast clock is held aside, not followed (docs/event-time.md). These parts own that state
and decide; the engine acts on their answers (releases steps, dead-letters clock faults), so
neither holds the other.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

import orjson

from contract.telemetry import event_epoch
from streams.core.clock import to_datetime
from streams.core.reorder import ReorderBuffer
from streams.core.settings import DetectionSettings
from streams.core.snapshots import check_format, from_int_keyed, int_keyed

CLOCK_FORMAT = 1
START_FORMAT = 1
# A partition of at least this many times ``2 * time_quorum + 1`` households sets its time
# from that many distinct sources; failing them, after this many readings (memory bound).
BOOTSTRAP_BY_SOURCES_FROM = 10
BOOTSTRAP_READINGS_MAX = 20_000


class Ahead(Enum):
    """What a reading far ahead of time did."""

    MOVED = "moved"  # enough sources agree: time moved to it
    HELD = "held"  # held aside until time reaches it (or it expires as a clock fault)
    OVER_LIMIT = "over_limit"  # too many steps held already: its step is a clock fault


class Established(NamedTuple):
    """What setting time for the first time found."""

    behind: list[int]  # steps more than the skew bound behind: clock faults, oldest first
    held: int  # readings held ahead of it
    outside: bool  # a step lay outside the bound: the result depends on arrival order


class EventClock:
    """Consensus time (``now``), the votes that set it first, the steps held ahead of it and
    the readings that came ahead (a fast clock's, until time reaches them)."""

    __slots__ = ("boot", "boot_readings", "boot_sources", "came_ahead", "held", "now", "settings")

    def __init__(self, settings: DetectionSettings, households: int = 0, sure: int = 0) -> None:
        self.settings = settings
        # Time is first set from this many readings (their median), so one bad clock at the
        # head of a file cannot set it. In a partition of many households, from this many
        # distinct *sources* (the median of each one's newest timestamp): a meter whose clock
        # is hours behind comes first in an event-time-ordered file with all its readings of
        # those hours, and must not set time alone. The sources awaited are at most the
        # devices the registry makes sure of (``sure``: household meters and heat stations —
        # a partition of network homes without sensors of their own has only its stations),
        # so a partition never waits for sources it does not have. (A handful of households:
        # the readings decide, as ever.)
        self.boot_readings = 2 * settings.time_quorum + 1
        many = households >= BOOTSTRAP_BY_SOURCES_FROM * self.boot_readings
        self.boot_sources = min(self.boot_readings, max(1, sure)) if many else 0
        self.now = 0  # 0: not yet set
        self.boot: dict[str, int] = {}  # before time is set: source -> newest timestamp
        self.held: dict[int, int] = {}  # held-ahead step -> the time it arrived at
        # Readings that came more than the skew bound ahead of time (live), or that a replay
        # found to be a fast clock's copies: ts -> canonical JSON -> offset s. Meeting the
        # meter's own reading at that time, they are clock faults, not conflicts.
        self.came_ahead: dict[int, dict[str, int]] = {}

    def vote(self, source: str, ts: int) -> int:
        """Before time is set: a source's newest timestamp; returns the sources voting."""
        if ts > self.boot.get(source, 0):
            self.boot[source] = ts
        return len(self.boot)

    def ready(self, source: str, ts: int, accepted: int) -> bool:
        """Before time is set, a reading of ``source`` at ``ts`` (``accepted`` readings so
        far): whether enough readings, or distinct sources, have come to set it."""
        if self.boot_sources:
            voting = self.vote(source, ts)
            return voting >= self.boot_sources or accepted >= BOOTSTRAP_READINGS_MAX
        return accepted >= self.boot_readings

    def establish(self, buffer: ReorderBuffer, by_sources: bool | None = None) -> Established:
        """Set time for the first time: the median of the votes (``by_sources``: by default
        when enough sources voted) or of the buffered readings. Steps more than the skew
        bound ahead of it are held."""
        if by_sources is None:
            by_sources = len(self.boot) >= self.boot_sources > 0
        steps = buffer.steps
        if by_sources:
            stamps = sorted(self.boot.values())
        else:
            stamps = sorted(ts for ts, bucket in steps.items() for _ in bucket)
        self.boot = {}
        median = self.now = stamps[len(stamps) // 2]
        skew = self.settings.clock_skew_s
        behind: list[int] = []
        held = 0
        outside = False
        for ts in sorted(steps):
            if ts < median - skew:
                outside = True
                behind.append(ts)
            elif ts > median + skew:
                outside = True
                self.held[ts] = median
                held += len(steps[ts])
                came = self.came_ahead.setdefault(ts, {})
                for entry in steps[ts]:
                    came[canonical(entry[2])] = ts - median
            else:
                self.now = max(self.now, ts)
        return Established(behind, held, outside)

    def ahead(self, ts: int, bucket: list[Any], reading: Any, quorum: int) -> Ahead:
        """A reading more than the skew bound ahead of time: time moves to it only if
        ``quorum`` distinct sources agree on its step."""
        if len(bucket) >= quorum and len({id(e[4]) for e in bucket}) >= quorum:
            self.held.pop(ts, None)
            self.came_ahead.pop(ts, None)  # the stream really is there: not a fast clock
            self.now = ts
            self._unhold()
            return Ahead.MOVED
        if ts not in self.held:
            if len(self.held) >= self.settings.clock_held_max:
                return Ahead.OVER_LIMIT
            self.held[ts] = self.now
        self.came_ahead.setdefault(ts, {})[canonical(reading)] = ts - self.now
        return Ahead.HELD

    def _unhold(self) -> None:
        """After time jumped: held steps now within the skew bound are ordinary data."""
        for ts in sorted(self.held):
            if ts - self.now > self.settings.clock_skew_s:
                break
            del self.held[ts]
            self.came_ahead.pop(ts, None)
            self.now = max(self.now, ts)

    def expired(self, *, all_ahead: bool) -> list[int]:
        """Held steps that time did not reach within ``clock_hold_s`` (or, at the end of the
        stream, at all), oldest first: clock faults. Steps time reached are admitted."""
        hold = self.settings.clock_hold_s
        out = []
        for ts in sorted(self.held):
            since = self.held[ts]
            if ts <= self.now:
                del self.held[ts]
            elif all_ahead or self.now - since >= hold:
                del self.held[ts]
                out.append(ts)
        return out

    def forget_ahead(self, ts: int) -> None:
        """The step is gone (expired as clock faults): its readings came ahead no more."""
        self.came_ahead.pop(ts, None)

    def fast_copies_at(self, ts: int) -> dict[str, int] | None:
        """The step's readings known to be a fast clock's (taken: the step is released)."""
        return self.came_ahead.pop(ts, None) if self.came_ahead else None

    def expect_fast_copies(self, fast: dict[int, dict[str, int]]) -> None:
        for ts, copies in fast.items():
            self.came_ahead.setdefault(ts, {}).update(copies)

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": CLOCK_FORMAT,
            "now": self.now,
            "boot": dict(self.boot),
            "held": int_keyed(self.held),
            "came_ahead": int_keyed({ts: dict(c) for ts, c in self.came_ahead.items()}),
        }

    def restore(self, data: dict[str, Any]) -> None:
        check_format("event clock", data, CLOCK_FORMAT)
        self.now = data["now"]
        self.boot = dict(data["boot"])
        self.held = from_int_keyed(data["held"])
        self.came_ahead = {ts: dict(c) for ts, c in from_int_keyed(data["came_ahead"]).items()}


class StreamStart:
    """Where the stream starts: the ``time_quorum``-th earliest of its meters' first
    intervals, so one or two meters whose clocks run behind cannot start it hours early
    (every other meter would then be silent since that start: ``comm_loss`` for all). Until
    that many meters (at most the partition's) have started, the start is provisional — the
    earliest, for a clock fault's start — and no never-heard meter is judged silent."""

    __slots__ = ("at", "known", "quorum", "settings", "starts")

    def __init__(self, settings: DetectionSettings, meters: int) -> None:
        self.settings = settings
        self.quorum = min(settings.time_quorum, meters)
        self.at = 0
        self.known = meters == 0  # no meter to start it: silence is not judged
        # until the start is known: meter -> start of its earliest interval
        self.starts: dict[str, int] = {}

    def note(self, meter: str, start: int, released: bool) -> None:
        """Before the start is known: a meter's interval may start the stream earlier."""
        known = self.starts.get(meter)
        if known is None or start < known:
            self.starts[meter] = start
        if known is None and released and len(self.starts) >= self.quorum:
            self._fix()

    def at_first_release(self) -> None:
        if not self.starts:
            return
        if len(self.starts) >= self.quorum:
            self._fix()
        else:
            self.at = min(self.starts.values())

    def _fix(self) -> None:
        starts = sorted(self.starts.values())
        self.at = starts[min(self.settings.time_quorum, len(starts)) - 1]
        self.known = True
        self.starts = {}

    def silence_since(self, now: int) -> int:
        """Where the silence of a meter or station that never reported is counted from: the
        stream's start once known; ``now`` (not yet silent) while too few meters have
        started. A meter that never reports at all is still found: after twice the clock
        skew of stream time the start is fixed with the meters that did start."""
        if not self.known:
            if not self.starts or now < min(self.starts.values()) + 2 * self.settings.clock_skew_s:
                return now
            self._fix()
        return self.at

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": START_FORMAT,
            "at": self.at,
            "known": self.known,
            "starts": dict(self.starts),
        }

    def restore(self, data: dict[str, Any]) -> None:
        check_format("stream start", data, START_FORMAT)
        self.at, self.known, self.starts = data["at"], data["known"], dict(data["starts"])


def canonical(r: Any) -> str:
    """A reading's content as text, its time written one way (China Standard Time): the same
    instant sent as ``…T00:15:00Z``, ``…T00:15:00+00:00`` or ``…T08:15:00+08:00`` is the same
    reading — a re-send is a duplicate, not a conflict — and a conflict's winner does not
    depend on the offset either was written in."""
    data = r.model_dump(mode="json")
    data["ts"] = to_datetime(event_epoch(r.ts)).isoformat()
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
