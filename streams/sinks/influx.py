"""The InfluxDB sink: ``add()`` lines → ``await flush()`` → written, or still held.

There is no background batching: ``flush()`` returns only once InfluxDB has acknowledged every
buffered line (HTTP 204), retrying with capped exponential backoff while the server is down,
slow or refusing (5xx, 429, 401/403/404 — a bucket or token can be fixed while we wait). The
caller commits Kafka offsets only after ``flush()`` returned, so an outage delays commits
instead of losing results. Only a permanent refusal of the data itself (400/413/422, e.g. a
field type conflict) drops that chunk, counted in ``rejected_lines`` and logged, because
retrying it forever would stall every partition behind one bad point.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from streams.settings import InfluxSettings

log = logging.getLogger(__name__)

WriteFn = Callable[[bytes], Awaitable[None]]


class PermanentWriteError(Exception):
    """The server refused the data itself; retrying the same bytes cannot succeed."""


class TransientWriteError(Exception):
    """The write may succeed later (server down, overloaded, misconfigured bucket/token)."""


_PERMANENT_STATUS = {400, 413, 422}


@dataclass
class SinkStats:
    lines_written: int = 0
    requests: int = 0
    retries: int = 0
    rejected_lines: int = 0
    last_write_s: int = 0
    last_error: str = ""
    write_seconds: float = 0.0


@dataclass
class InfluxSink:
    """Buffers line-protocol lines and writes them in order, ``batch_size`` lines a request.

    Lines are numbered in the order they were added: ``position`` is the number added so far,
    ``written`` the number InfluxDB acknowledged (or refused permanently). One write is in
    flight at a time (``_write_lock``), so lines are written in the order they were added.

    * ``run()`` (a background task in the worker) writes whatever is buffered as soon as the
      previous write is done, so writes overlap the processing of the next records.
    * ``flush_until(position)`` returns once every line before ``position`` is written: the
      commit point waits on it before it checkpoints and acks (it writes itself when no
      background task runs, e.g. in tests).
    * ``backlogged`` tells the producer of lines to wait (``wait_for_room()``) while InfluxDB
      is down or slow, instead of buffering without bound.
    """

    write: WriteFn
    batch_size: int = 5000
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_pending: int = 200_000  # lines buffered before ``backlogged`` (backpressure)
    linger_s: float = 0.05  # the background writer's poll period when idle
    stats: SinkStats = field(default_factory=SinkStats)
    _buffer: list[bytes] = field(default_factory=list)
    _done: int = 0  # lines removed from the front of the buffer (written or refused)
    _write_lock: asyncio.Lock | None = None
    _room: asyncio.Event | None = None

    def add(self, line: bytes) -> None:
        self._buffer.append(line)

    def extend(self, lines: list[bytes]) -> None:
        self._buffer.extend(lines)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    @property
    def position(self) -> int:
        """Number of lines added so far (a line's number is its position before it)."""
        return self._done + len(self._buffer)

    @property
    def written(self) -> int:
        return self._done

    @property
    def backlogged(self) -> bool:
        return len(self._buffer) >= self.max_pending

    def _lock(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    async def wait_for_room(self) -> None:
        """Wait until the buffer is below ``max_pending / 2`` (it drains only by writes)."""
        while len(self._buffer) >= self.max_pending // 2:
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()

    async def run(self) -> None:
        """Background writer: write buffered lines as soon as the previous write is done."""
        while True:
            if not self._buffer:
                await asyncio.sleep(self.linger_s)
                continue
            async with self._lock():
                if self._buffer:
                    await self._write_front(None, time.monotonic())

    async def flush_until(self, position: int) -> None:
        """Return once every line before ``position`` is written (retrying forever)."""
        async with self._lock():
            while self._done < position:
                await self._write_front(None, time.monotonic())

    async def flush(self, *, give_up_after_s: float | None = None) -> bool:
        """Write everything buffered. Returns True when all of it is written.

        Without ``give_up_after_s`` it retries until the server takes the data (the worker's
        normal mode: never commit past unwritten results). With it, it returns False after
        that long and keeps the unwritten lines for the next call (used at shutdown).
        """
        target = self.position
        started = time.monotonic()
        async with self._lock():
            while self._done < target:
                if not await self._write_front(give_up_after_s, started):
                    return False
        return True

    async def _write_front(self, give_up_after_s: float | None, started: float) -> bool:
        """Write the first ``batch_size`` buffered lines; caller holds the write lock.
        False: gave up (``give_up_after_s`` elapsed), the lines are still buffered."""
        chunk = self._buffer[: self.batch_size]
        body = b"\n".join(chunk)
        delay = self.backoff_initial_s
        while True:
            t0 = time.perf_counter()
            try:
                await self.write(body)
            except PermanentWriteError as exc:
                self.stats.rejected_lines += len(chunk)
                self.stats.last_error = str(exc)
                log.error("InfluxDB refused %d lines permanently: %s", len(chunk), exc)
                break
            except (TimeoutError, TransientWriteError, OSError) as exc:
                self.stats.retries += 1
                self.stats.last_error = str(exc) or type(exc).__name__
                if give_up_after_s is not None and (time.monotonic() - started >= give_up_after_s):
                    return False
                log.warning(
                    "InfluxDB write failed (%s); %d lines held, retry in %.1f s",
                    self.stats.last_error,
                    len(self._buffer),
                    delay,
                )
                await self.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            else:
                self.stats.lines_written += len(chunk)
                self.stats.requests += 1
                self.stats.last_write_s = int(time.time())
                break
            finally:
                self.stats.write_seconds += time.perf_counter() - t0
        del self._buffer[: len(chunk)]
        self._done += len(chunk)
        if self._room is not None and len(self._buffer) < self.max_pending // 2:
            self._room.set()
        return True


class InfluxWriter:
    """POSTs line protocol to ``/api/v2/write`` (gzip level ``gzip_level``, 0 = off) with one
    aiohttp session; maps failures onto the two errors. ``close()`` ends the session."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self._session: Any = None
        self._closed = False
        query = urlencode({"org": settings.org, "bucket": settings.bucket, "precision": "s"})
        self._url = f"{settings.url.rstrip('/')}/api/v2/write?{query}"
        self._headers = {
            "Authorization": f"Token {settings.require_token()}",
            "Content-Type": "text/plain; charset=utf-8",
        }
        if settings.gzip_level > 0:
            self._headers["Content-Encoding"] = "gzip"

    def _connect(self) -> Any:
        # created lazily: the aiohttp session must be made inside the running event loop
        import aiohttp

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_ms / 1000)
        )
        return self._session

    async def __call__(self, body: bytes) -> None:
        if self._closed:  # shutting down: keep the lines (replayed next time), no new session
            raise TransientWriteError("writer closed")
        session = self._session or self._connect()
        if self.settings.gzip_level > 0:
            body = gzip.compress(body, self.settings.gzip_level)
        try:
            async with session.post(self._url, data=body, headers=self._headers) as response:
                if response.status == 204:
                    return
                text = (await response.text())[:300]
        except Exception as exc:  # aiohttp/connection errors, timeouts: server unreachable
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        message = f"HTTP {response.status}: {text}"
        if response.status in _PERMANENT_STATUS:
            raise PermanentWriteError(message)
        raise TransientWriteError(message)

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def influx_sink(settings: InfluxSettings) -> tuple[InfluxSink, InfluxWriter]:
    writer = InfluxWriter(settings)
    return InfluxSink(writer, batch_size=settings.batch_size), writer
