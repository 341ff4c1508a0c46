"""The sink's contract: flush returns only when written; failures are retried, never dropped."""

from __future__ import annotations

import asyncio

from streams.sinks.influx import InfluxSink, PermanentWriteError, TransientWriteError


class FakeServer:
    def __init__(self, fail_first: int = 0, permanent: bool = False) -> None:
        self.fail_first = fail_first
        self.permanent = permanent
        self.bodies: list[bytes] = []
        self.calls = 0

    async def __call__(self, body: bytes) -> None:
        self.calls += 1
        if self.calls <= self.fail_first:
            if self.permanent:
                raise PermanentWriteError("HTTP 400: field type conflict")
            raise TransientWriteError("connection refused")
        self.bodies.append(body)


async def _no_sleep(_: float) -> None:
    return None


def test_flush_writes_in_chunks() -> None:
    server = FakeServer()
    sink = InfluxSink(server, batch_size=2, sleep=_no_sleep)
    sink.extend([b"a", b"b", b"c"])
    assert asyncio.run(sink.flush())
    assert server.bodies == [b"a\nb", b"c"]
    assert sink.pending == 0 and sink.stats.lines_written == 3


def test_transient_failures_are_retried_until_success() -> None:
    server = FakeServer(fail_first=4)
    delays: list[float] = []

    async def sleep(d: float) -> None:
        delays.append(d)

    sink = InfluxSink(server, sleep=sleep, backoff_initial_s=0.1, backoff_max_s=0.4)
    sink.add(b"x")
    assert asyncio.run(sink.flush())
    assert server.bodies == [b"x"]
    assert delays == [0.1, 0.2, 0.4, 0.4]
    assert sink.stats.retries == 4


def test_give_up_keeps_the_lines() -> None:
    server = FakeServer(fail_first=10**6)
    sink = InfluxSink(server, sleep=_no_sleep)
    sink.add(b"x")
    assert not asyncio.run(sink.flush(give_up_after_s=0.0))
    assert sink.pending == 1


def test_permanent_refusal_drops_only_that_chunk() -> None:
    server = FakeServer(fail_first=1, permanent=True)
    sink = InfluxSink(server, batch_size=1, sleep=_no_sleep)
    sink.extend([b"bad", b"good"])
    assert asyncio.run(sink.flush())
    assert server.bodies == [b"good"]
    assert sink.stats.rejected_lines == 1
