#!/usr/bin/env python3
"""Protocol-level Kafka health check using only the standard library.

Sends ApiVersions (v0) and Metadata (v1) requests and exits 0 when the broker answers
without error and reports at least one live broker. Usage: kafka_ping.py [--cafile CA] HOST:PORT

With ``--cafile`` it speaks TLS, verifies the broker certificate (and host name) against that CA
and sends ApiVersions only: on a SASL listener that is the one request allowed before
authentication, and enough to show the listener is up.
"""

from __future__ import annotations

import socket
import ssl
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
    args = sys.argv[1:]
    cafile = None
    if len(args) >= 2 and args[0] == "--cafile":
        cafile, args = args[1], args[2:]
    host, _, port = (args[0] if args else "127.0.0.1:9092").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            sock = raw
            if cafile is not None:
                sock = ssl.create_default_context(cafile=cafile).wrap_socket(
                    raw, server_hostname=host
                )
            sock.settimeout(5)
            api = _request(sock, 18, 0, 1, b"")  # ApiVersions v0
            (err,) = struct.unpack(">h", api[:2])
            if err != 0:
                print(f"ApiVersions error code {err}", file=sys.stderr)
                return 1
            if cafile is not None:
                return 0
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
