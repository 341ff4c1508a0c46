"""Engine part: a step's contested readings settled — re-sends, conflicts, a fast clock's copies.

A source's second reading at or before its newest pushed timestamp waits beside its step in
the reorder buffer (``reorder.py``). When the step is released, ``Conflicts.settle`` decides
each source's group once, by content and never by arrival order: an exact re-send is a
duplicate; a reading the event clock knows to be a fast clock's copy (``eventclock.py``
``came_ahead``) meeting the meter's own reading is a clock fault, not a conflict; two different
readings are a conflict with a deterministic winner (a plausible value first, then a last
gasp, then the larger canonical JSON). The part answers (``Settled``) and the engine acts
(counts, dead letters, the clock-fault judge).

What it owns is a replay's record of the conflicts it settled (``log``), which
``streams.eventorder.find_fast_copies`` reads to tell a fast clock's copies from conflicts
before the replay's ordered pass; the live path keeps none (``log`` is None).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from contract.telemetry import AnyReading, event_epoch
from streams.core.eventclock import canonical
from streams.core.eventtime import describe_offset
from streams.core.reorder import Entry
from streams.core.settings import DetectionSettings
from streams.core.snapshots import check_format
from streams.core.sources import Plausibility

CONFLICTS_FORMAT = 1
# Conflicts a replay keeps for its fast-clock check (~0.5 KB each): a file of nothing but
# conflicts cannot make it hold the file in memory; beyond this they stay conflicts.
CONFLICT_LOG_MAX = 100_000


def same(a: AnyReading, b: AnyReading) -> bool:
    """Equal readings (a re-send), whatever UTC offset each was written with."""
    return a == b or (type(a) is type(b) and canonical(a) == canonical(b))


def _rank(entry: Entry) -> tuple[int, str]:
    r = entry[2]
    event = getattr(r, "event", None)
    return (2 if event == "power_down" else 1 if event == "power_up" else 0, canonical(r))


class Refused(NamedTuple):
    """A contested reading that lost: its origin, the reading, and why."""

    origin: Any
    reading: AnyReading
    reason: str


class FastCopy(NamedTuple):
    """A fast clock's copy meeting the meter's own reading: a clock fault of its source."""

    entry: Entry
    offset: int  # s ahead
    how: str  # the reason's tail


class Settled(NamedTuple):
    duplicates: int  # re-sends (counted accepted when they came)
    # the readings refused, in the order found (the dead letters' order): conflicts' losers
    # and fast clocks' copies
    refused: list[Refused | FastCopy]


class Conflicts:
    """Settles contested steps; keeps a replay's record of the conflicts (``log``)."""

    __slots__ = ("log", "settings")

    def __init__(self, settings: DetectionSettings) -> None:
        self.settings = settings
        # [source id, ts, [kept, rejected]] per conflict; None: not kept (the live path)
        self.log: list[list[Any]] | None = None

    def settle(
        self, bucket: list[Entry], extras: list[Entry], came_ahead: dict[str, int] | None
    ) -> Settled:
        """Each source's readings at the step (its first, in ``bucket``, and ``extras``):
        the winner takes the source's place in ``bucket``. One pass, only when contested."""
        by_source: dict[int, list[Entry]] = {}
        for entry in extras:
            by_source.setdefault(id(entry[4]), []).append(entry)
        slot = {id(e[4]): i for i, e in enumerate(bucket) if id(e[4]) in by_source}
        refused: list[Refused | FastCopy] = []
        duplicates = 0
        for key, group in by_source.items():
            at = slot.get(key)
            if at is not None:
                group.insert(0, bucket[at])
            if came_ahead and len(group) > 1:
                group = self._drop_fast_copies(group, came_ahead, refused)
            ranked = (
                sorted(group, key=lambda e: (self._plausible(e), *_rank(e)), reverse=True)
                if len(group) > 1
                else group
            )
            winner = ranked[0]
            if at is None:
                bucket.append(winner)
            else:
                bucket[at] = winner
            for loser in ranked[1:]:
                if same(loser[2], winner[2]):
                    duplicates += 1
                else:
                    refused.append(self._conflict(winner, loser))
        return Settled(duplicates, refused)

    def _plausible(self, entry: Entry) -> int:
        """1 if the entry's values are within its kind's physical limits (an impossible
        value never wins); a kind checked on admission passed."""
        kind = entry[4].kind
        if kind.plausibility is not Plausibility.ON_RELEASE or kind.check is None:
            return 1
        return int(kind.check(entry[1], entry[2], self.settings) is None)

    def _drop_fast_copies(
        self, group: list[Entry], fast: dict[str, int], found: list[Refused | FastCopy]
    ) -> list[Entry]:
        """A source's readings at one timestamp, some of them from its clock running fast
        (``fast``: canonical JSON -> offset s): live, a reading that came more than the skew
        bound ahead of time; in a replay, one whose values the meter sent earlier, for a time
        more than the skew bound before (``streams.eventorder.find_fast_copies``). Such a
        reading meeting one that came on time is a clock fault, not a conflict."""
        copies = [e for e in group if canonical(e[2]) in fast]
        on_time = [e for e in group if canonical(e[2]) not in fast]
        if not copies or not on_time:
            return group
        for entry in copies:
            if any(same(e[2], entry[2]) for e in on_time):
                on_time.append(entry)  # equal to the one on time: an ordinary duplicate
                continue
            offset = fast[canonical(entry[2])]
            found.append(
                FastCopy(
                    entry,
                    offset,
                    f"about {describe_offset(offset)} fast (skew bound "
                    f"{self.settings.clock_skew_s} s): it collides with the meter's own "
                    "reading for that time",
                )
            )
        return on_time

    def _conflict(self, winner: Entry, loser: Entry) -> Refused:
        src, kept, lost = winner[4], canonical(winner[2]), canonical(loser[2])
        if self.log is not None and len(self.log) < CONFLICT_LOG_MAX:
            ts = event_epoch(loser[2].ts)
            self.log.append([f"{src.kind.kind}|{src.device}", ts, [kept, lost]])
        return Refused(
            loser[3],
            loser[2],
            f"conflict: {src.names()} sent two different readings for {loser[2].ts}; "
            f"kept {kept}, rejected {lost}",
        )

    def snapshot(self) -> dict[str, Any]:
        log = None if self.log is None else [[s, ts, list(pair)] for s, ts, pair in self.log]
        return {"format": CONFLICTS_FORMAT, "log": log}

    def restore(self, data: dict[str, Any]) -> None:
        check_format("conflicts", data, CONFLICTS_FORMAT)
        self.log = data["log"]
