"""The sink's contract: flush returns only when written; failures are retried, never dropped."""

from __future__ import annotations

import asyncio

import pytest

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


def test_background_writer_overlaps_and_flush_until_waits_for_a_position() -> None:
    async def go() -> None:
        gate = asyncio.Event()
        bodies: list[bytes] = []

        async def slow(body: bytes) -> None:
            await gate.wait()
            bodies.append(body)

        sink = InfluxSink(slow, batch_size=2, linger_s=0.001)
        task = asyncio.create_task(sink.run())
        sink.extend([b"a", b"b", b"c"])
        position = sink.position
        waiter = asyncio.create_task(sink.flush_until(position))
        await asyncio.sleep(0.01)
        sink.add(b"d")  # the producer goes on while a write is in flight
        assert not waiter.done() and sink.written == 0
        gate.set()
        await waiter
        assert sink.written >= position == 3
        await sink.flush_until(sink.position)
        assert b"\n".join(bodies).split(b"\n") == [b"a", b"b", b"c", b"d"]  # in order, once
        task.cancel()

    asyncio.run(go())


def test_backlog_pauses_the_producer_until_half_drained() -> None:
    async def go() -> None:
        server = FakeServer(fail_first=3)
        sink = InfluxSink(server, batch_size=3, max_pending=6, sleep=_no_sleep)
        sink.extend([b"x"] * 6)
        assert sink.backlogged
        waiter = asyncio.create_task(sink.wait_for_room())
        await asyncio.sleep(0)
        assert not waiter.done()
        await sink.flush_until(3)  # retries, then writes one chunk: 3 left, not below 6 / 2
        await asyncio.sleep(0)
        assert not waiter.done()
        await sink.flush_until(4)
        await asyncio.wait_for(waiter, 1)
        assert sink.pending == 0 and server.bodies == [b"x\nx\nx", b"x\nx\nx"]

    asyncio.run(go())


@pytest.mark.slow  # an aiohttp server on 127.0.0.1 (a socket)
def test_writer_posts_gzip_maps_statuses_and_closes() -> None:
    from aiohttp import web
    from pydantic import SecretStr

    from streams.settings import InfluxSettings
    from streams.sinks.influx import InfluxWriter

    async def go() -> None:
        statuses = [204, 503, 400]
        got: list[tuple[str, bytes, str]] = []

        async def write(request: web.Request) -> web.Response:
            headers = request.headers
            encoding = f"{headers['Authorization']}|{headers.get('Content-Encoding')}"
            got.append((str(dict(request.query)), await request.read(), encoding))
            return web.Response(status=statuses.pop(0), text="nope")

        app = web.Application()
        app.router.add_post("/api/v2/write", write)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        settings = InfluxSettings(
            url=f"http://127.0.0.1:{port}", token=SecretStr("t0k"), org="o", bucket="b b"
        )
        writer = InfluxWriter(settings)
        try:
            await writer(b"m f=1i 1")
            query, body, auth = got[0]
            # aiohttp's server un-gzips the body itself
            assert body == b"m f=1i 1" and auth == "Token t0k|gzip"
            assert query == str({"org": "o", "bucket": "b b", "precision": "s"})
            with pytest.raises(TransientWriteError):
                await writer(b"m f=1i 1")
            with pytest.raises(PermanentWriteError):
                await writer(b"m f=1i 1")
        finally:
            await writer.close()
            await runner.cleanup()
        assert writer._session is None
        with pytest.raises(TransientWriteError):  # closed: no new session
            await writer(b"m f=1i 1")

    asyncio.run(go())
