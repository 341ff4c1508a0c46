"""Repeated client errors: one line per window, then a count of what was suppressed."""

from __future__ import annotations

import logging

import pytest

from streams.log_limits import RepeatLimiter


def test_repeats_are_suppressed_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    logger = logging.getLogger("aiokafka.test-limiter")
    limiter = RepeatLimiter(10.0, clock=lambda: now[0])
    logger.addFilter(limiter)
    try:
        with caplog.at_level(logging.INFO, logger="aiokafka.test-limiter"):
            for i in range(1100):
                now[0] = i / 110  # 1,100 lines in 10 s
                logger.error("Unable connect to node with id %s: %s", 1, "refused")
            logger.info("informational lines pass")
            now[0] = 10.5
            logger.error("Unable connect to node with id %s: %s", 1, "refused")
            logger.error("Another error")
    finally:
        logger.removeFilter(limiter)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Unable connect to node with id 1: refused"
    assert messages[1] == "informational lines pass"
    assert messages[2].startswith("Unable connect to node with id 1: refused (and 1099 more")
    assert messages[3] == "Another error"
    assert len(messages) == 4
