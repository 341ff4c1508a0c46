"""Event time: epoch seconds, China Standard Time days and the valley window."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
_CST_OFFSET_S = 8 * 3600
DAY_S = 86_400
_EPOCH_DAY = date(1970, 1, 1)


def to_datetime(epoch_s: int) -> datetime:
    """An aware datetime in China Standard Time."""
    return datetime.fromtimestamp(epoch_s, CST)


def interval_day_index(end_s: int) -> int:
    """The CST day an interval *ending* at ``end_s`` belongs to (00:00 ends the previous day)."""
    return (end_s - 1 + _CST_OFFSET_S) // DAY_S


def day_start_s(day_index: int) -> int:
    return day_index * DAY_S - _CST_OFFSET_S


def day_date(day_index: int) -> date:
    return _EPOCH_DAY + timedelta(days=day_index)


def date_day_index(d: date) -> int:
    return (d - _EPOCH_DAY).days


def seconds_of_day(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class ValleyWindow:
    """The valley-tariff window in local time; it may wrap midnight (22:00-08:00)."""

    __slots__ = ("end", "start", "wraps")

    def __init__(self, start: time, end: time) -> None:
        self.start = seconds_of_day(start)
        self.end = seconds_of_day(end)
        self.wraps = self.start > self.end

    def contains(self, epoch_s: float) -> bool:
        sod = (epoch_s + _CST_OFFSET_S) % DAY_S
        if self.wraps:
            return sod >= self.start or sod < self.end
        return self.start <= sod < self.end

    def seconds_since_start(self, epoch_s: int) -> int:
        """Seconds since the most recent valley start (local)."""
        return int((epoch_s + _CST_OFFSET_S - self.start) % DAY_S)
