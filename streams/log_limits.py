"""Rate-limit repeated client log lines (a broker outage makes aiokafka log ~1,100 ERROR
lines per 10 s, burying the one line an operator needs).

Each distinct message template of a limited logger passes once per ``window_s``; the next one
that passes says how many were suppressed meanwhile. Attached to the client libraries'
loggers (a logger's filter sees the records created on that logger).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

LIMITED_PREFIXES = ("aiokafka", "kafka")


class RepeatLimiter(logging.Filter):
    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        passed_at, suppressed = self._seen.get(key, (-1e18, 0))
        if now - passed_at < self.window_s:
            self._seen[key] = (passed_at, suppressed + 1)
            return False
        self._seen[key] = (now, 0)
        if suppressed:
            record.msg = (
                f"{record.msg} (and {suppressed} more like it in the last {now - passed_at:.0f} s)"
            )
        return True


def limit_client_logs(
    window_s: float = 10.0, prefixes: Iterable[str] = LIMITED_PREFIXES
) -> RepeatLimiter:
    """Attach one limiter to every existing logger under ``prefixes`` (import the clients
    first: their loggers are created on import)."""
    limiter = RepeatLimiter(window_s)
    wanted = tuple(prefixes)
    names = [n for n in logging.Logger.manager.loggerDict if n.startswith(wanted)]
    for name in [*wanted, *names]:
        logging.getLogger(name).addFilter(limiter)
    return limiter
