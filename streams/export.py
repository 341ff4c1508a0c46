"""Engine states for a commit point, exported off the event loop from an immutable view.

Exporting an engine walks every entity's state (``streams.core.persist.export_state``): its
cost grows with the state, not with what changed, and it ran on the event loop at every
commit point (the main thread is the worker's bottleneck: issue 23). Here the commit point's
capture forks the worker (``os.fork``): the child is a copy-on-write snapshot of every engine
exactly as captured — the same instant as the sink position and the offsets, so the commit
protocol (streams/commit.py) is unchanged — and it serialises them on the other core while
the parent goes on with the next records. The parent pays the fork (page tables: a few ms)
and the pages it writes while the child runs (copied once each).

Why not incremental (dirty entities as a delta on the last full checkpoint): during a
catch-up or a replay every household of a partition changes between two commit points (tens
of readings each in 5 s), so the delta is the whole state; and a delta is only right if every
path that changes an entity marks it, in an engine that is being split into parts. The fork
needs no engine change and its result is the full state, restorable alone.

The child runs only the export, writes the blobs to a pipe and leaves with ``os._exit``: no
asyncio, no Kafka or InfluxDB client, no ``atexit`` handler runs in it (it shares their file
descriptors, and closing them in the child does not close the parent's connections).
Where ``os.fork`` does not exist, or ``WorkerSettings.checkpoint_fork`` is off, the export is
taken inline at the capture, as before.

A child can hang: a fork copies a lock another thread of the parent held at that instant
(logging's, an executor's, the allocator's) and the child waits for it forever. So the
parent waits at most ``timeout_s`` (``WorkerSettings.checkpoint_export_timeout_s``) for the
whole export, then kills the child (SIGKILL) and raises ``ExportFailed``; the commit point
then writes no checkpoint and commits nothing, and the next one tries again
(``streams.commit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import select
import signal
import struct
import sys
import time
import traceback
from collections.abc import Sequence

from streams.checkpoint import export_engine
from streams.core.engine import Engine

_HEADER = struct.Struct(">iQ")  # partition, blob length


class ExportFailed(RuntimeError):
    """The forked export did not deliver every state: the child failed, or hung and was
    killed (the commit point writes no checkpoint and commits nothing)."""


class Export:
    """The states of some partitions' engines at one instant; ``result()`` gives the blobs."""

    def __init__(self, blobs: dict[int, bytes] | None = None, timeout_s: float = 0.0) -> None:
        self._blobs = blobs or {}
        self._pid: int | None = None
        self._fd: int | None = None
        self._wanted: list[int] = []
        self._timeout_s = timeout_s

    @property
    def forked(self) -> bool:
        return self._pid is not None

    @classmethod
    def start(
        cls, engines: Sequence[tuple[int, Engine]], *, fork: bool = True, timeout_s: float = 60.0
    ) -> Export:
        """Capture now: inline (the blobs are ready) or in a forked child, which ``result``
        waits for at most ``timeout_s`` (0: for ever)."""
        if not engines:
            return cls()
        if not fork or not hasattr(os, "fork"):
            return cls({p: export_engine(e) for p, e in engines})
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: export, write, leave (never returns)
            _child(engines, read_fd, write_fd)
        os.close(write_fd)
        export = cls(timeout_s=timeout_s)
        export._pid, export._fd, export._wanted = pid, read_fd, [p for p, _ in engines]
        return export

    async def result(self) -> dict[int, bytes]:
        """Every partition's blob (raises ``ExportFailed`` when the child did not deliver)."""
        if self._fd is not None:
            fd, pid, self._fd = self._fd, self._pid, None
            assert pid is not None
            self._blobs = await asyncio.to_thread(_collect, fd, pid, self._wanted, self._timeout_s)
        return self._blobs


def _child(engines: Sequence[tuple[int, Engine]], read_fd: int, write_fd: int) -> None:
    code = 1
    try:
        # The parent's signal handling is not the child's: asyncio's wakeup fd is a socket
        # shared with the parent, so a signal to the process group caught here would also
        # read as the parent's. The child keeps the default actions (SIGTERM ends it).
        with contextlib.suppress(ValueError):  # forked from another thread than the main one
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
        os.close(read_fd)
        gc.disable()  # the collector would touch (copy) every page of the parent's objects
        with os.fdopen(write_fd, "wb", buffering=1 << 20) as out:
            for partition, engine in engines:
                blob = export_engine(engine)
                out.write(_HEADER.pack(partition, len(blob)))
                out.write(blob)
        code = 0
    except BaseException:
        try:
            sys.stderr.write("checkpoint export (forked child) failed:\n")
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
        except BaseException:
            pass
    finally:
        os._exit(code)


def _collect(fd: int, pid: int, wanted: list[int], timeout_s: float = 0.0) -> dict[int, bytes]:
    """Read the child's blobs to the end of its pipe, then reap it; a child that has not
    finished ``timeout_s`` after the parent began to read is killed (``ExportFailed``). The
    time runs from the read, not the fork: the child cannot finish before (it blocks on the
    full pipe), and the commit point reads only once its results are flushed."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else None
    hung = False
    try:
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    hung = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    break
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    if hung:
        raise ExportFailed(
            f"checkpoint export: the forked child (pid {pid}) did not finish within "
            f"{timeout_s:g} s (checkpoint_export_timeout_s) and was killed; partitions "
            f"{sorted(wanted)} get no checkpoint at this commit point"
        )
    data = b"".join(chunks)
    code = os.waitstatus_to_exitcode(status)
    blobs: dict[int, bytes] = {}
    at = 0
    while at + _HEADER.size <= len(data):
        partition, size = _HEADER.unpack_from(data, at)
        at += _HEADER.size
        blobs[partition] = data[at : at + size]
        at += size
    if code != 0 or at != len(data) or sorted(blobs) != sorted(wanted):
        raise ExportFailed(
            f"checkpoint export: the forked child exited with {code} and delivered "
            f"{sorted(blobs)} of partitions {sorted(wanted)}"
        )
    return blobs
