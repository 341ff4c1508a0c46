"""Broker liveness: is a partition caught up and quiet, or is the broker (or network) away?

The worker releases a partition's reorder buffer only when it is *quiet* (``quiet``): caught
up with the log end, the broker answering its fetches, no record for ``idle_release_s``, and
no stall hold running. A stall of the broker leaves the producers' backlog on its way while
they reconnect, so after a real outage (``BrokerWatch._broker_down``) the release is held for
``stall_hold`` of the stall. Nothing here touches an engine: the pipeline asks, then acts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from streams.settings import WorkerSettings

log = logging.getLogger(__name__)

# The broker "answers" a partition while fetch responses for it keep coming (the consumer
# long-polls: an idle partition still gets an empty answer about every half second).
ANSWER_GAP_S = 2.0


@dataclass
class Answers:
    """One partition's fetch-answer history (and when its last record came)."""

    last_record: float = field(default_factory=time.monotonic)  # on the watch's clock
    answered_since: float | None = None  # the broker has answered its fetches since then
    last_answer: float | None = None  # the latest fetch answer seen
    # after a stall: no idle release before this (``clock``), whatever records come meanwhile
    hold_until: float = 0.0


class BrokerWatch:
    """Fetch answers of every assigned partition, the outage log lines, and ``quiet``.

    ``highwater(p)``: the log end the consumer last saw; ``fetched_at(p)``: when (on
    ``clock``) the broker last answered a fetch of ``p`` (None: unknown; omitted: always now);
    ``broker_connected()``: whether the consumer holds a live connection to the broker (None:
    unknown; see ``_broker_down``)."""

    def __init__(
        self,
        config: WorkerSettings,
        clock: Callable[[], float] = time.monotonic,
        *,
        highwater: Callable[[int], int | None] | None = None,
        fetched_at: Callable[[int], float | None] | None = None,
        broker_connected: Callable[[], bool | None] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.highwater = highwater
        self.fetched_at = fetched_at
        self.broker_connected = broker_connected
        self._stalled_since: float | None = None  # all fetch answers stopped then
        self._answered_once = False
        # fetch-answer history of partitions revoked meanwhile: (last answer, hold until)
        self._answers_before: dict[int, tuple[float | None, float]] = {}
        self._held_for = 0.0  # the latest stall hold, for the "outage ended" log line
        self._last_watch: float | None = None  # the previous broker watch (a timer tick)
        self._starved_at = float("-inf")  # the timer last came ANSWER_GAP_S late then
        self._quiet_logged = False  # "answers stopped, broker connected" said this episode

    def adopt(self, partition: int) -> Answers:
        """The answers of a partition (re)assigned now: a rebalance in a broker outage must
        not forget the outage (see ``quiet``)."""
        last_answer, hold_until = self._answers_before.pop(partition, (None, 0.0))
        return Answers(last_answer=last_answer, hold_until=hold_until)

    def forget(self, partition: int, answers: Answers) -> None:
        self._answers_before[partition] = (answers.last_answer, answers.hold_until)

    def high(self, partition: int) -> int | None:
        """The log end the consumer last saw (None: unknown)."""
        return self.highwater(partition) if self.highwater is not None else None

    def stall_hold(self, stall_s: float) -> float:
        """How long after a stall of ``stall_s`` the partition is not released as idle
        (``WorkerSettings.stall_hold_factor`` / ``stall_hold_max_s`` say why)."""
        cfg = self.config
        return max(cfg.idle_release_s, min(cfg.stall_hold_factor * stall_s, cfg.stall_hold_max_s))

    def quiet(self, partition: int, answers: Answers, last_offset: int) -> bool:
        """Caught up with the log end and quiet: for ``idle_release_s`` the broker has kept
        answering our fetches (no gap over ``ANSWER_GAP_S``) and no record came. A broker or
        network stall is not quiet, nor is a backlog (lag above zero), nor is anything before
        the stall's hold has run out (``stall_hold``), whatever records came since: the
        producers' backlog is on its way while they reconnect."""
        idle = self.config.idle_release_s
        now = self.clock()
        if now - answers.last_record < idle or now < answers.hold_until:
            return False
        high = self.high(partition)
        if high is None or last_offset + 1 < high:
            return False  # log end unknown, or records on their way
        since = answers.answered_since
        return since is not None and now - max(since, answers.last_record) >= idle

    def _track(self, partition: int, st: Answers, now: float) -> None:
        fetched = self.fetched_at(partition) if self.fetched_at is not None else now
        if fetched is None or now - fetched > ANSWER_GAP_S:
            st.answered_since = None  # stalled (or not fetched yet)
            return
        if st.answered_since is None:
            st.answered_since = fetched
            stalled = st.last_answer is not None and fetched - st.last_answer > ANSWER_GAP_S
            if stalled and self._stalled_since is not None and st.last_answer is not None:
                # A stall of D s leaves producers' backlogs D s old and the producers in their
                # reconnect backoff. The records that come first are the log's unconsumed
                # tail (written before the stall), not that backlog: no record ends the hold.
                # Only after a real outage (``_broker_down``): a gap because our consumer was
                # not scheduled or not fetching leaves the producers connected, with no
                # backlog to wait for (a 40 s hold after such gaps delayed results).
                hold = self.stall_hold(fetched - st.last_answer)
                st.hold_until = max(st.hold_until, fetched + hold)
                self._held_for = max(self._held_for, hold)
        st.last_answer = fetched

    def _broker_down(self, now: float) -> bool:
        """Fetch answers stopped: is it the broker? Our own fetch answers cannot tell: on a
        busy machine the consumer's thread is not scheduled, or it stops fetching while
        fetched records wait for the agent, and no answer comes for tens of seconds with the
        broker up (7 of 13 loaded runs logged false outages). So: the broker is down when the
        consumer holds no live connection to it (a stopped broker closes them; a frozen one
        at the client's request timeout). Without that view (``broker_connected`` omitted or
        None), when our own timer has kept time for the last ``2 × ANSWER_GAP_S``: a process
        that was not scheduled saw its fetch answers stop for the same reason."""
        connected = self.broker_connected() if self.broker_connected is not None else None
        if connected is not None:
            return not connected
        return now - self._starved_at > 2 * ANSWER_GAP_S

    def watch(self, partitions: Iterable[tuple[int, Answers]]) -> None:
        """Track fetch answers per partition; one log line when they all stop and the broker
        is down (``_broker_down``: an outage of the broker or the network) and one when they
        are back, with the duration. Called from the timer."""
        now = self.clock()
        if self._last_watch is not None:
            late = now - self._last_watch - self.config.flush_interval_s
            if late > ANSWER_GAP_S:
                self._starved_at = now  # this process was not scheduled for ``late`` s
        self._last_watch = now
        tracked = list(partitions)
        for partition, answers in tracked:
            self._track(partition, answers, now)
        if self.fetched_at is None or not tracked:
            return
        answered = any(a.answered_since is not None for _, a in tracked)
        if answered:
            self._quiet_logged = False
        elif self._stalled_since is None and self._answered_once and not self._broker_down(now):
            if not self._quiet_logged:
                log.info(
                    "Kafka: no fetch answer for %d partitions for %.0f s, but the broker is "
                    "connected: not an outage (this process busy or fetching paused)",
                    len(tracked),
                    ANSWER_GAP_S,
                )
                self._quiet_logged = True
            return
        if answered and self._stalled_since is not None:
            log.warning(
                "Kafka: fetch answers are back after %.1f s without (outage ended); no idle "
                "release for %.1f s (producers reconnect with backoff, their backlog follows)",
                now - self._stalled_since,
                self._held_for,
            )
            self._stalled_since = None
            self._held_for = 0.0
        elif not answered and self._stalled_since is None and self._answered_once:
            self._stalled_since = now
            self._held_for = 0.0  # holds set by a partition's own gaps before do not count
            log.warning(
                "Kafka: no fetch answer for %d partitions for %.0f s: outage started "
                "(processing waits; nothing is released as idle)",
                len(tracked),
                ANSWER_GAP_S,
            )
        self._answered_once = self._answered_once or answered
