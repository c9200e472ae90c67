"""Calendar time of the simulation clock: ISO 8601 timestamps with a UTC offset.

The engine's clock counts minutes since midnight of the scenario calendar's
``start_date``, on the offices' wall clock (office hours such as ``09:00-12:00``
are local times, every day has 1440 minutes).  An event log needs absolute
times, so each minute becomes that local date and time in a time zone, with
the zone's offset written out: ``2025-03-03T08:30:00.000+08:00``
(milliseconds, the offset always given).

The default zone is ``Asia/Shanghai`` (China Standard Time, UTC+08:00, no
daylight saving since 1991), the zone of every Chinese government office.  A
zone with daylight saving keeps the wall-clock times (the offices open at the
same hour) and writes the offset in force at each time, so an activity that
spans a change of offset appears an hour longer or shorter than simulated.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

__all__ = ["DEFAULT_TIME_ZONE", "CalendarTime", "parse_time_zone"]

DEFAULT_TIME_ZONE = "Asia/Shanghai"
"""Chinese government offices keep China Standard Time (UTC+08:00)."""

_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})$")
_MS_PER_HOUR = 3_600_000
_MIXED = np.iinfo(np.int64).min  # an hour in which the offset changes


def parse_time_zone(text: str | _dt.tzinfo) -> _dt.tzinfo:
    """A time zone from an IANA name (``Asia/Shanghai``), ``UTC``/``Z`` or a fixed offset (``+08:00``).

    Raises ValueError with a message that says what is accepted.
    """
    if isinstance(text, _dt.tzinfo):
        return text
    name = str(text).strip()
    if name in ("Z", "UTC", "utc"):
        return _dt.timezone.utc
    m = _OFFSET.match(name)
    if m:
        sign, hours, minutes = m.groups()
        if int(hours) > 23 or int(minutes) > 59:
            raise ValueError(f"not a UTC offset: {name!r} (use +HH:MM, at most +23:59)")
        delta = _dt.timedelta(hours=int(hours), minutes=int(minutes))
        return _dt.timezone(-delta if sign == "-" else delta)
    if not name or name.startswith("/") or ".." in name:
        raise ValueError(f"not a time zone: {name!r} (use an IANA name such as Asia/Shanghai, or +08:00)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai, or +08:00)") from None


def zone_name(zone: _dt.tzinfo) -> str:
    """The name a zone is written under: its IANA key, or its offset (``+08:00``)."""
    key = getattr(zone, "key", None)
    if key:
        return key
    if zone is _dt.timezone.utc:
        return "UTC"
    return _suffix(int(zone.utcoffset(None).total_seconds()))


def _suffix(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


class CalendarTime:
    """Simulation minutes -> ISO 8601 timestamps in a time zone (vectorised; offsets looked up once an hour)."""

    def __init__(self, start_date: _dt.date, zone: str | _dt.tzinfo = DEFAULT_TIME_ZONE):
        self.zone = parse_time_zone(zone)
        self.name = zone_name(self.zone)
        self.start_date = start_date
        self._origin = np.datetime64(start_date.isoformat(), "ms")
        self._origin_dt = _dt.datetime.combine(start_date, _dt.time())
        fixed = isinstance(self.zone, _dt.timezone)
        self._fixed = int(self.zone.utcoffset(None).total_seconds()) if fixed else None
        self._hours: dict[int, int] = {}  # hour since the origin -> offset in seconds (or _MIXED)
        self._suffixes: dict[int, str] = {}

    def iso(self, minutes) -> list[str]:
        """ISO 8601 text of each simulation minute, to the millisecond; ``""`` for one that is not finite."""
        t = np.asarray(minutes, dtype=float)
        finite = np.isfinite(t)
        ms = np.rint(np.where(finite, t, 0.0) * 60_000.0).astype(np.int64)
        local = np.datetime_as_string(self._origin + ms.astype("timedelta64[ms]"), unit="ms").tolist()
        if self._fixed is not None:
            offsets, inverse = [self._fixed], None
        else:
            found, inverse = np.unique(self._offsets(ms), return_inverse=True)
            offsets = found.tolist()
        if len(offsets) <= 1:  # one offset over the chunk (always, in a zone without daylight saving)
            suffix = self._suffix_of(offsets[0]) if offsets else ""
            out = [x + suffix for x in local]
        else:
            suffixes = [self._suffix_of(o) for o in offsets]
            out = [x + suffixes[i] for x, i in zip(local, inverse.tolist())]
        if not finite.all():
            for i in np.flatnonzero(~finite).tolist():
                out[i] = ""
        return out

    def one(self, minute: float) -> str:
        """The same text as :meth:`iso` for one minute, without NumPy's per-call cost."""
        if not math.isfinite(minute):
            return ""
        ms = round(minute * 60_000.0)  # half to even, as np.rint
        text = (self._origin_dt + _dt.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
        if self._fixed is not None:
            return text + self._suffix_of(self._fixed)
        off = self._hour(ms // _MS_PER_HOUR)
        return text + self._suffix_of(self._offset_at(ms) if off == _MIXED else off)

    # -- offsets -----------------------------------------------------------------------
    def _suffix_of(self, seconds: int) -> str:
        s = self._suffixes.get(seconds)
        if s is None:
            s = self._suffixes[seconds] = _suffix(seconds)
        return s

    def _offset_at(self, ms: int) -> int:
        if self._fixed is not None:
            return self._fixed
        local = self._origin_dt + _dt.timedelta(milliseconds=int(ms))
        return int(self.zone.utcoffset(local).total_seconds())

    def _hour(self, h: int) -> int:
        v = self._hours.get(h)
        if v is None:
            a = self._offset_at(h * _MS_PER_HOUR)
            b = self._offset_at((h + 1) * _MS_PER_HOUR - 1)
            v = self._hours[h] = a if a == b else _MIXED
        return v

    def _offsets(self, ms: np.ndarray) -> np.ndarray:
        """Offset in seconds at each local time (ms since the origin): per hour, per time only where it changes."""
        if ms.size == 0:
            return np.zeros(0, np.int64)
        hours, inverse = np.unique(ms // _MS_PER_HOUR, return_inverse=True)
        out = np.array([self._hour(h) for h in hours.tolist()], dtype=np.int64)[inverse]
        mixed = np.flatnonzero(out == _MIXED)
        for i in mixed.tolist():
            out[i] = self._offset_at(int(ms[i]))
        return out
