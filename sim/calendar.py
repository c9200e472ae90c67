"""Working calendars: office hours, working weekdays, holidays, make-up days.

The engine keeps one time unit, **calendar minutes since midnight of the
start date**.  A :class:`WorkingClock` maps that clock to *working minutes*
(time that passes only while the office is open) and back, which is how

* back-office and window work pauses over lunch, nights, weekends and holidays;
* lead times are reported in working days and working hours, as Chinese time
  limits (时限, 工作日) count them;
* periodic meetings find their next sitting.

The map ``W(t)`` (working minutes elapsed by calendar time ``t``) is piecewise
linear and non-decreasing; it is flat while the office is closed.  A task of
``d`` working minutes started at ``t`` ends at the earliest ``t'`` with
``W(t') = W(t) + d``.
"""

from __future__ import annotations

import datetime as _dt
import re
from bisect import bisect_left, bisect_right
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

__all__ = ["Calendar", "WorkingClock", "AlwaysOpenClock", "clock_for", "due_working_minute", "due_working_minutes", "MINUTES_PER_DAY", "parse_clock"]

MINUTES_PER_DAY = 1440
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock(text: str) -> int:
    """``"08:30"`` -> 510 minutes after midnight (``"24:00"`` allowed)."""
    m = _HHMM.match(text)
    if not m:
        raise ValueError(f"expected a time as HH:MM, got {text!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi >= 60 or h > 24 or (h == 24 and mi):
        raise ValueError(f"not a time of day: {text!r}")
    return h * 60 + mi


def _parse_span(text: str) -> tuple[int, int]:
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ValueError(f"expected 'HH:MM-HH:MM', got {text!r}")
    a, b = parse_clock(parts[0]), parse_clock(parts[1])
    if b <= a:
        raise ValueError(f"closing time must be after opening time in {text!r}")
    return a, b


class Calendar(BaseModel):
    """When the offices are open.

    ``always_open: true`` is a 24-hour, 7-day system with no holidays (a
    working day is then 1440 minutes); it is the default when a scenario gives
    no calendar, which suits textbook queueing models.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    always_open: bool = False
    start_date: _dt.date = _dt.date(2025, 1, 6)
    working_weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    office_hours: tuple[str, ...] = ("09:00-12:00", "13:30-17:30")
    holidays: tuple[_dt.date, ...] = ()
    extra_working_days: tuple[_dt.date, ...] = Field(
        default=(), description="weekend days worked to make up for holidays (调休)"
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v):
        if v == "always_open":
            return {"always_open": True}
        return v

    @field_validator("working_weekdays")
    @classmethod
    def _weekdays(cls, v):
        bad = [d for d in v if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday {bad[0]!r}; use {', '.join(WEEKDAYS)}")
        if not v:
            raise ValueError("at least one working weekday is needed")
        return tuple(sorted(set(v), key=WEEKDAYS.index))

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, v):
        if not v:
            raise ValueError("at least one office-hours span is needed")
        spans = [_parse_span(s) for s in v]
        spans.sort()
        for (a0, b0), (a1, b1) in zip(spans, spans[1:]):
            if a1 < b0:
                raise ValueError("office-hours spans overlap")
        return tuple(v)

    @model_validator(mode="after")
    def _consistent(self):
        given = self.model_fields_set & {"office_hours", "working_weekdays", "holidays", "extra_working_days"}
        if self.always_open and given:
            raise ValueError(
                f"always_open cannot be combined with office_hours, weekdays or holidays (given: {', '.join(sorted(given))})"
            )
        if not self.always_open and not any(
            self.is_working_date(self.start_date + _dt.timedelta(days=k)) for k in range(WorkingClock._CHUNK_DAYS)
        ):
            raise ValueError(
                f"no working day in the year from start_date {self.start_date}: every day is a closed weekday or a holiday"
            )
        return self

    @model_serializer(mode="wrap")
    def _written(self, handler):
        data = handler(self)
        if self.always_open:  # the office fields do not apply; leaving them out keeps the round trip valid
            return {k: data[k] for k in ("always_open", "start_date")}
        return data

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Office-hours spans as (open, close) minutes after midnight, sorted."""
        if self.always_open:
            return ((0, MINUTES_PER_DAY),)
        return tuple(sorted(_parse_span(s) for s in self.office_hours))

    @property
    def day_minutes(self) -> float:
        """Working minutes in one working day."""
        return float(sum(b - a for a, b in self.spans))

    def is_working_date(self, d: _dt.date) -> bool:
        if self.always_open:
            return True
        if d in self.extra_working_days:
            return True
        return WEEKDAYS[d.weekday()] in self.working_weekdays and d not in self.holidays


class WorkingClock:
    """Converts calendar minutes to working minutes and back for one calendar.

    Open intervals are generated day by day from the start date and extended on
    demand, so any horizon works.
    """

    _CHUNK_DAYS = 366

    def __init__(self, calendar: Calendar):
        self.calendar = calendar
        self.day_minutes = calendar.day_minutes
        self._spans = calendar.spans
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cum: list[float] = []  # working minutes before each interval
        self._cum_end: list[float] = []
        self._day_midnight: list[float] = []  # calendar minute of each working day's midnight
        self._next_date = calendar.start_date
        self._total = 0.0
        self._limit_time = float("inf")
        self._limit_work = float("inf")
        self._extend()

    def limit(self, t: float) -> None:
        """Times beyond ``t`` plus a year are never reached (the run stops before): they map to infinity.

        Without a limit, a task of a billion working days would make the clock
        generate office hours until the calendar runs out of years.
        """
        self._limit_time = float(t) + 366 * MINUTES_PER_DAY
        self._limit_work = self.working(self._limit_time)

    # -- building -------------------------------------------------------------
    def _extend(self) -> None:
        cal = self.calendar
        base = (self._next_date - cal.start_date).days * MINUTES_PER_DAY
        for i in range(self._CHUNK_DAYS):
            d = self._next_date + _dt.timedelta(days=i)
            if not cal.is_working_date(d):
                continue
            midnight = base + i * MINUTES_PER_DAY
            self._day_midnight.append(float(midnight))
            for a, b in self._spans:
                s, e = float(midnight + a), float(midnight + b)
                if self._ends and self._ends[-1] == s:  # contiguous (always open): merge
                    self._ends[-1] = e
                    self._total += b - a
                    self._cum_end[-1] = self._total
                    continue
                self._starts.append(s)
                self._ends.append(e)
                self._cum.append(self._total)
                self._total += b - a
                self._cum_end.append(self._total)
        self._next_date += _dt.timedelta(days=self._CHUNK_DAYS)
        if not self._starts:  # a year with no working day at all
            raise ValueError("the calendar has no working day in a whole year")

    def _cover_time(self, t: float) -> None:
        while t >= self._ends[-1]:
            self._extend()

    def _cover_work(self, w: float) -> None:
        while w > self._total:
            self._extend()

    # -- scalar conversions (hot path) ---------------------------------------
    def working(self, t: float) -> float:
        """Working minutes elapsed between calendar time 0 and ``t``."""
        if t >= self._ends[-1]:
            if t > self._limit_time:
                return float("inf")
            self._cover_time(t)
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        s = self._starts[i]
        e = self._ends[i]
        return self._cum[i] + ((t if t < e else e) - s)

    def at_working(self, w: float) -> float:
        """Earliest calendar time at which ``w`` working minutes have elapsed."""
        if w <= 0:
            return 0.0
        if w > self._total:
            if w > self._limit_work:
                return float("inf")
            self._cover_work(w)
        j = bisect_left(self._cum_end, w)
        return self._starts[j] + (w - self._cum[j])

    def add(self, t: float, minutes: float) -> float:
        """Calendar time at which a task of ``minutes`` working minutes started at ``t`` ends."""
        if minutes <= 0:
            return t
        return self.at_working(self.working(t) + minutes)

    def next_open(self, t: float) -> float:
        """``t`` if the office is open then, else the next opening time."""
        if t >= self._ends[-1]:
            if t > self._limit_time:
                return float("inf")
            self._cover_time(t)
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t < self._ends[i]:
            return t
        return self._starts[i + 1]

    def is_open(self, t: float) -> bool:
        return self.next_open(t) == t

    def working_day_index(self, t: float) -> int:
        """Index (0-based) of the working day in progress at ``t``, or the next one."""
        return int(self.working(self.next_open(t)) // self.day_minutes)

    def day_midnight(self, k: int) -> float:
        """Calendar minute of midnight starting working day ``k``."""
        while k >= len(self._day_midnight):
            if self._ends[-1] > self._limit_time:
                return float("inf")
            self._extend()
        return self._day_midnight[k]

    def working_days_horizon(self, n_days: float) -> float:
        """Calendar time at which ``n_days`` working days have elapsed."""
        return self.at_working(n_days * self.day_minutes)

    # -- vectorised ------------------------------------------------------------
    def working_array(self, t: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`working`."""
        t = np.asarray(t, dtype=float)
        if t.size:
            finite = t[np.isfinite(t) & (t <= self._limit_time)]
            if finite.size:
                self._cover_time(float(finite.max()))
        knots_t = np.empty(2 * len(self._starts))
        knots_t[0::2] = self._starts
        knots_t[1::2] = self._ends
        knots_w = np.empty_like(knots_t)
        knots_w[0::2] = self._cum
        knots_w[1::2] = self._cum_end
        out = np.interp(t, knots_t, knots_w, left=0.0)
        out[t > self._limit_time] = np.inf
        out[~np.isfinite(t)] = np.nan
        return out

    def at_working_array(self, w: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`at_working`."""
        w = np.asarray(w, dtype=float)
        if w.size:
            reachable = w[w <= self._limit_work]
            if reachable.size:
                self._cover_work(float(reachable.max()))
        cum_end = np.asarray(self._cum_end)
        j = np.searchsorted(cum_end, w, side="left")
        j = np.minimum(j, len(cum_end) - 1)
        out = np.asarray(self._starts)[j] + (w - np.asarray(self._cum)[j])
        out = np.where(w > self._limit_work, np.inf, out)
        return np.where(w <= 0, 0.0, out)

    def date_of(self, t: float) -> _dt.datetime:
        """Calendar date and time of ``t``."""
        start = _dt.datetime.combine(self.calendar.start_date, _dt.time())
        return start + _dt.timedelta(minutes=float(t))


class AlwaysOpenClock(WorkingClock):
    """The identity map: open 24 hours a day, every day."""

    def __init__(self, calendar: Calendar):
        self.calendar = calendar
        self.day_minutes = float(MINUTES_PER_DAY)

    def limit(self, t: float) -> None:
        """Nothing to bound: the identity map costs nothing for large times."""

    def working(self, t):
        return t

    def at_working(self, w):
        return w if w > 0 else 0.0

    def add(self, t, minutes):
        return t + minutes if minutes > 0 else t

    def next_open(self, t):
        return t

    def is_open(self, t):
        return True

    def working_day_index(self, t):
        return int(t // MINUTES_PER_DAY)

    def day_midnight(self, k):
        return float(k * MINUTES_PER_DAY)

    def working_array(self, t):
        return np.asarray(t, dtype=float).copy()

    def at_working_array(self, w):
        return np.maximum(np.asarray(w, dtype=float), 0.0)


def clock_for(calendar: Calendar) -> WorkingClock:
    """The working clock of a calendar (a fast identity clock when always open)."""
    return AlwaysOpenClock(calendar) if calendar.always_open else WorkingClock(calendar)


def due_working_minute(w_accept: float, limit_days: float, day_minutes: float) -> float:
    """The rule of :func:`due_working_minutes` for one application (the engine's fast scalar form)."""
    if limit_days == int(limit_days):
        return ((w_accept // day_minutes) + 1 + limit_days) * day_minutes
    return w_accept + limit_days * day_minutes


def due_working_minutes(w_accept, limit_days, day_minutes: float):
    """Working-minute deadline of a time limit counted in working days.

    Statutory periods do not count the day of acceptance: a limit of N whole
    working days ends at the close of the N-th working day after the day of
    acceptance (N = 0: the close of that same day).  A fractional limit such as
    0.5 day (半个工作日) is elapsed working time: acceptance + 0.5 x day length.
    Works element-wise on arrays.
    """
    w = np.asarray(w_accept, dtype=float)
    n = np.asarray(limit_days, dtype=float)
    whole = np.floor(n) == n
    legal = (np.floor(w / day_minutes) + 1 + n) * day_minutes
    return np.where(whole, legal, w + n * day_minutes)
