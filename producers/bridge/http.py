"""The bridge's HTTP endpoint (stdlib ``http.server``: no dependency for a few routes).

``POST /v1/telemetry`` — a body of JSONL (readings or concentrator batches, the contract) or,
with ``Content-Type: text/csv``, a CSV with a header row (drop.py's rules); optionally
``Content-Encoding: gzip``. The answer comes only once **every record is acknowledged by
Kafka**: ``200 {"lines", "records", "dead"}``. So a push needs no journal: a pusher that gets
no 200 (``503`` + ``Retry-After`` while Kafka is away or ``max_pending`` records wait, a
timeout, a dropped connection) sends the same body again, and what had arrived the first
time is an exact re-send, which the engine counts as a duplicate.

``GET /v1/status`` — the heartbeat's JSON (metrics per source); ``GET /healthz`` (no token:
for probes) — 200 while the bridge's loop runs, 503 when it has stopped turning (a loop
blocked on a full journal disk still turns). Bodies over ``max_body``
bytes get 413. With a token (``HEATWATCH_INGEST_HTTP_TOKEN``) every request must carry
``Authorization: Bearer <token>``; the command refuses to listen beyond loopback without one.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from producers.bridge.drop import csv_record
from producers.bridge.service import Bridge, Publication

log = logging.getLogger("heatwatch.ingest")


def body_records(body: bytes, csv: bool) -> list[tuple[int, bytes | None]]:
    """``(line, record value)`` of a pushed body (None: blank line or CSV header)."""
    out: list[tuple[int, bytes | None]] = []
    header: list[str] | None = None
    import csv as csv_module

    for n, raw in enumerate(body.splitlines(), 1):
        line = raw.strip()
        if not line:
            out.append((n, None))
        elif not csv:
            out.append((n, line))
        elif header is None:
            header = [h.strip() for h in next(csv_module.reader([line.decode("utf-8", "replace")]))]
            out.append((n, None))
        else:
            row = next(csv_module.reader([line.decode("utf-8", "replace")]))
            out.append((n, csv_record(header, row)))
    return out


def make_server(
    bridge: Bridge,
    host: str,
    port: int,
    *,
    token: str | None = None,
    max_body: int = 64 * 1024 * 1024,
    ack_timeout_s: float = 60.0,
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "heatwatch-ingest"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http: " + format, *args)

        def _reply(self, code: int, body: dict[str, Any], retry_after: int | None = None) -> None:
            data = orjson.dumps(body)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if not token:
                return True
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return True
            self._reply(401, {"error": "missing or wrong bearer token"})
            return False

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/healthz":  # probes carry no token: says no more
                alive = bridge.alive()
                self._reply(200 if alive else 503, {"alive": alive})
                return
            if not self._authorized():
                return
            if self.path.rstrip("/") == "/v1/status":
                self._reply(200, bridge.status())
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            if not self._authorized():
                return
            if self.path.rstrip("/") != "/v1/telemetry":
                self._reply(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._reply(411, {"error": "Content-Length required"})
                return
            if length > max_body:
                self._reply(413, {"error": f"body over {max_body} bytes: split it"})
                return
            body = self.rfile.read(length)
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError) as exc:
                    self._reply(400, {"error": f"not gzip: {exc}"})
                    return
            if not bridge.has_room():
                self._reply(503, {"error": "Kafka is behind or away: retry"}, retry_after=5)
                return
            csv = "csv" in self.headers.get("Content-Type", "")
            records = body_records(body, csv)
            name = "http/" + (
                self.headers.get("X-Request-Id") or hashlib.sha256(body).hexdigest()[:16]
            )
            pub = Publication("http", name, "", len(body), 0, False)
            bridge.publish(pub, records, loop=False)
            if not bridge.wait(pub, ack_timeout_s):
                self._reply(
                    503,
                    {"error": "not every record acknowledged in time: send the same body again"},
                    retry_after=5,
                )
                return
            self._reply(
                200,
                {
                    "lines": len(records),
                    "records": sum(1 for _, v in records if v is not None),
                    "dead": pub.dead,
                },
            )

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="ingest-http", daemon=True)
    thread.start()
    return thread
