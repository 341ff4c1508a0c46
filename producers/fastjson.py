"""Vectorised fixed-width JSON line rendering.

Every line of one record type has the same byte layout: a template with fixed literal text,
fixed-width string columns (ids, timestamps) and fixed-width number columns. Numbers are
right-aligned and padded with leading spaces (JSON allows whitespace before a value), so a
whole interval's lines are one ``uint8`` matrix (rows x line length) written column by column
with numpy, then turned into bytes with ``tobytes()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

_SPACE = 32
_ZERO = 48
_DOT = 46


@dataclass(frozen=True)
class Num:
    """A fixed-point number column: ``width`` characters, ``decimals`` after the point."""

    name: str
    width: int
    decimals: int


@dataclass(frozen=True)
class Text:
    """A fixed-width text column (the caller supplies exactly ``width`` bytes per row)."""

    name: str
    width: int


Segment = str | Num | Text


def fixed_digits(x: F64, width: int, decimals: int) -> U8:
    """Render non-negative ``x`` as right-aligned, space-padded fixed-point text (N x width)."""
    n = x.shape[0]
    out = np.empty((n, width), dtype=np.uint8)
    scaled = np.rint(np.asarray(x, dtype=np.float64) * (10.0**decimals))
    if n and (scaled.min() < 0 or not np.isfinite(scaled).all()):
        raise ValueError("fixed_digits renders finite non-negative numbers only")
    q = scaled.astype(np.int64)
    pos = width - 1
    for _ in range(decimals):
        q, r = np.divmod(q, 10)
        out[:, pos] = r + _ZERO
        pos -= 1
    if decimals:
        out[:, pos] = _DOT
        pos -= 1
    q, r = np.divmod(q, 10)
    out[:, pos] = r + _ZERO
    pos -= 1
    while pos >= 0:
        nz = q > 0
        q, r = np.divmod(q, 10)
        out[:, pos] = np.where(nz, r + _ZERO, _SPACE)
        pos -= 1
    if n and q.max() > 0:
        raise ValueError(f"value too wide for {width} characters")
    return out


def text_column(values: list[str], width: int) -> U8:
    """Pre-render per-row constant strings (ASCII) as an N x width matrix."""
    raw = "".join(values).encode("ascii")
    if len(raw) != width * len(values):
        raise ValueError(f"all values must be exactly {width} ASCII characters")
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), width).copy()


class LineTemplate:
    """A fixed-width line layout; ``render`` fills a reusable (rows x length) matrix."""

    def __init__(self, segments: list[Segment], terminator: bytes = b"\n") -> None:
        parts: list[bytes] = []
        self.columns: dict[str, tuple[int, int, int | None]] = {}
        pos = 0
        for seg in segments:
            if isinstance(seg, str):
                b = seg.encode("ascii")
                parts.append(b)
                pos += len(b)
            elif isinstance(seg, Num):
                parts.append(b" " * seg.width)
                self.columns[seg.name] = (pos, seg.width, seg.decimals)
                pos += seg.width
            else:
                parts.append(b" " * seg.width)
                self.columns[seg.name] = (pos, seg.width, None)
                pos += seg.width
        parts.append(terminator)
        self.template = np.frombuffer(b"".join(parts), dtype=np.uint8)
        self.length = int(self.template.shape[0])

    def matrix(self, rows: int) -> U8:
        m = np.empty((rows, self.length), dtype=np.uint8)
        m[:] = self.template
        return m

    def set_text(self, m: U8, name: str, value: U8 | bytes) -> None:
        start, width, _ = self.columns[name]
        if isinstance(value, bytes):
            if len(value) != width:
                raise ValueError(f"{name}: expected {width} bytes, got {len(value)}")
            m[:, start : start + width] = np.frombuffer(value, dtype=np.uint8)
        else:
            m[:, start : start + width] = value

    def set_num(self, m: U8, name: str, x: F64) -> None:
        start, width, decimals = self.columns[name]
        assert decimals is not None
        m[:, start : start + width] = fixed_digits(x, width, decimals)
