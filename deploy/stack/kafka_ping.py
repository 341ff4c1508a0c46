#!/usr/bin/env python3
"""Protocol-level Kafka health check using only the standard library.

Sends ApiVersions (v0) and Metadata (v1) requests and exits 0 when the broker answers
without error and reports at least one live broker. Usage: kafka_ping.py HOST:PORT
"""

from __future__ import annotations

import socket
import struct
import sys


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"heatwatch-stack"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size_raw = _recv_exact(sock, 4)
    (size,) = struct.unpack(">i", size_raw)
    data = _recv_exact(sock, size)
    (got_corr,) = struct.unpack(">i", data[:4])
    if got_corr != corr:
        raise RuntimeError(f"correlation id mismatch: {got_corr} != {corr}")
    return data[4:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed by broker")
        buf += chunk
    return buf


def main() -> int:
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.settimeout(5)
            api = _request(sock, 18, 0, 1, b"")  # ApiVersions v0
            (err,) = struct.unpack(">h", api[:2])
            if err != 0:
                print(f"ApiVersions error code {err}", file=sys.stderr)
                return 1
            # Metadata v1 with a null topic array: all topics; response starts with brokers.
            meta = _request(sock, 3, 1, 2, struct.pack(">i", -1))
            (n_brokers,) = struct.unpack(">i", meta[:4])
            if n_brokers < 1:
                print("broker reports no live brokers yet", file=sys.stderr)
                return 1
    except (OSError, RuntimeError, struct.error) as exc:
        print(f"kafka not ready: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
