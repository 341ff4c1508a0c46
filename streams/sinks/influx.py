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
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from heatwatch.settings import InfluxSettings

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
    """Buffers line-protocol lines; ``flush()`` writes them in chunks of ``batch_size``."""

    write: WriteFn
    batch_size: int = 5000
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    stats: SinkStats = field(default_factory=SinkStats)
    _buffer: list[bytes] = field(default_factory=list)

    def add(self, line: bytes) -> None:
        self._buffer.append(line)

    def extend(self, lines: list[bytes]) -> None:
        self._buffer.extend(lines)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self, *, give_up_after_s: float | None = None) -> bool:
        """Write everything buffered. Returns True when the buffer is empty.

        Without ``give_up_after_s`` it retries until the server takes the data (the worker's
        normal mode: never commit past unwritten results). With it, it returns False after
        that long and keeps the unwritten lines for the next call (used at shutdown).
        """
        started = time.monotonic()
        while self._buffer:
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
                    if give_up_after_s is not None and (
                        time.monotonic() - started >= give_up_after_s
                    ):
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
        return True


class InfluxWriter:
    """POSTs gzip'd line protocol with the async client; maps failures onto the two errors."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._api: Any = None

    def _connect(self) -> None:
        # created lazily: the aiohttp session must be made inside the running event loop
        from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

        self._client = InfluxDBClientAsync(
            url=self.settings.url,
            token=self.settings.token.get_secret_value(),
            org=self.settings.org,
            timeout=self.settings.timeout_ms,
            enable_gzip=True,
        )
        self._api = self._client.write_api()

    async def __call__(self, body: bytes) -> None:
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException

        if self._api is None:
            self._connect()
        try:
            ok = await self._api.write(
                bucket=self.settings.bucket,
                org=self.settings.org,
                record=body,
                write_precision=WritePrecision.S,
            )
        except ApiException as exc:
            message = f"HTTP {exc.status}: {str(exc.body)[:300]}"
            if exc.status in _PERMANENT_STATUS:
                raise PermanentWriteError(message) from exc
            raise TransientWriteError(message) from exc
        except Exception as exc:  # aiohttp/connection errors: the server is unreachable
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        if not ok:
            raise TransientWriteError("write returned no success")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._api = None


def influx_sink(settings: InfluxSettings) -> tuple[InfluxSink, InfluxWriter]:
    writer = InfluxWriter(settings)
    return InfluxSink(writer, batch_size=settings.batch_size), writer
