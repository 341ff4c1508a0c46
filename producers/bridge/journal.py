"""The bridge's durable memory: which file versions were published up to which line.

An append-only JSONL file, each entry written and ``fsync``ed before the bridge relies on it
(a torn last line — kill -9 or a full disk mid-write — is ignored on load):

* ``{"ev": "begin", "name", "sha", "size", "from"}`` — publishing the first ``size`` bytes of
  ``name``, whose SHA-256 is ``sha``, starting after line ``from`` (a file that grew
  continues after what an earlier version published);
* ``{"ev": "acked", "name", "sha", "upto"}`` — Kafka acknowledged every record of lines
  ``1..upto`` of that version (written at most every ``ack_interval_s`` and at the end);
* ``{"ev": "done", "name", "sha", "size", "lines", "dead"}`` — every record of the version
  acknowledged (or dead-lettered locally with its reason, ``dead`` of them).

A restarted bridge re-publishes only the lines after the last ``acked`` of an unfinished
version: the records Kafka had not acknowledged, plus those acknowledged within the last
``ack_interval_s`` (exact re-sends, which the engine counts as duplicates).

A failed write (disk full, read-only volume) is not swallowed: ``append`` raises, the
bridge stops taking input and retries (service.py); nothing is marked done meanwhile.
On start, and after every ``COMPACT_AFTER`` entries, the journal is compacted: one line per
file name and one per finished content, written to a temporary file, ``fsync``ed and renamed
over (a long-running bridge writes an ``acked`` entry every half second while it publishes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

COMPACT_AFTER = 20_000  # entries appended since the last compaction


@dataclass
class FileState:
    """What the journal knows of one file name: the latest version it began publishing."""

    name: str
    sha: str  # SHA-256 of the first ``size`` bytes
    size: int
    start: int  # lines before this were published by an earlier version of the file
    upto: int  # lines 1..upto acknowledged
    done: bool = False
    lines: int = 0  # when done: lines in the version
    dead: int = 0


class Journal:
    """``opener`` (tests): opens the journal for appending; inject a failing one to simulate a
    full disk."""

    def __init__(self, path: Path, opener: Callable[[Path], IO[bytes]] | None = None) -> None:
        self.path = path
        self.opener = opener or (lambda p: p.open("ab"))
        self.files: dict[str, FileState] = {}
        self.done_shas: dict[str, str] = {}  # content sha → the name it was published under
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fh: IO[bytes] | None = None
        self._compact()
        self.appended = 0

    # --- reading -------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        for raw in self.path.read_bytes().splitlines():
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a torn last line: the entry was never relied on
            self._apply(entry)

    def _apply(self, e: dict[str, Any]) -> None:
        ev, name = e.get("ev"), e.get("name", "")
        if ev == "begin":
            self.files[name] = FileState(name, e["sha"], e["size"], e["from"], e["from"])
        elif ev == "acked":
            st = self.files.get(name)
            if st is not None and st.sha == e["sha"]:
                st.upto = max(st.upto, e["upto"])
        elif ev == "done":
            st = self.files.get(name)
            if st is None or st.sha != e["sha"]:
                st = self.files[name] = FileState(name, e["sha"], e["size"], 0, 0)
            st.done, st.lines, st.dead = True, e["lines"], e.get("dead", 0)
            st.upto = e["lines"]
            self.done_shas.setdefault(e["sha"], name)
        elif ev == "seen":  # a finished content under another name (compaction keeps it)
            self.done_shas.setdefault(e["sha"], name)

    def _entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for st in self.files.values():
            base = {"name": st.name, "sha": st.sha, "size": st.size}
            out.append({"ev": "begin", **base, "from": st.start})
            if st.done:
                out.append({"ev": "done", **base, "lines": st.lines, "dead": st.dead})
            elif st.upto > st.start:
                out.append({"ev": "acked", "name": st.name, "sha": st.sha, "upto": st.upto})
        named = {st.sha for st in self.files.values() if st.done}
        out += [
            {"ev": "seen", "name": n, "sha": s} for s, n in self.done_shas.items() if s not in named
        ]
        return out

    def _compact(self) -> None:
        if self._fh is not None:  # appends go to the new file from now on
            self._fh.close()
            self._fh = None
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as fh:
            fh.write(b"".join(orjson.dumps(e) + b"\n" for e in self._entries()))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    # --- writing -------------------------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> None:
        """Write and fsync one entry, then apply it; raises ``OSError`` (state unchanged)."""
        data = orjson.dumps(entry) + b"\n"
        try:
            if self._fh is None:
                self._fh = self.opener(self.path)
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError:
            self._reopen_later()
            raise
        self._apply(entry)
        self.appended += 1
        if self.appended >= COMPACT_AFTER:
            self._compact()  # an error here leaves the old file whole: raised like a write
            self.appended = 0

    def _reopen_later(self) -> None:
        # A failed write may have left a partial line: start the next write on a new line
        # (the partial one is ignored on load), through a fresh handle.
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()
        try:
            with self.opener(self.path) as probe:
                probe.write(b"\n")
        except OSError:
            pass

    def begin(self, name: str, sha: str, size: int, start: int) -> None:
        self.append({"ev": "begin", "name": name, "sha": sha, "size": size, "from": start})

    def acked(self, name: str, sha: str, upto: int) -> None:
        self.append({"ev": "acked", "name": name, "sha": sha, "upto": upto})

    def done(self, name: str, sha: str, size: int, lines: int, dead: int) -> None:
        self.append(
            {"ev": "done", "name": name, "sha": sha, "size": size, "lines": lines, "dead": dead}
        )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
