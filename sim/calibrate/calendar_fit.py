"""The working calendar a log shows: working weekdays, office hours, and weekdays with no activity at all.

* A weekday is a working day when it carries at least ``min_share`` of an
  even share of the events (weekends with a trickle of online submissions
  stay non-working).
* Office hours come from the clock times of events, when the log has them
  (a log that only dates its events says nothing about hours: the draft then
  keeps the format's default hours and lists them as an assumption).  They
  run from the hour of the 5th to the end of the hour of the 95th
  percentile of event times.
* A working weekday inside the log's span with no event at all, where a
  typical working day has so many that an empty one would be a one-in-a-
  thousand chance under Poisson counts, is taken for a holiday.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..eventlog.measures import WEEKDAYS
from ..eventlog.read import EventLog

__all__ = ["CalendarFit", "fit_calendar"]


@dataclass(frozen=True)
class CalendarFit:
    working_weekdays: tuple[str, ...]
    office_hours: tuple[str, ...] | None  # None: the log has no clock times
    holidays: tuple[str, ...]
    start_date: str
    notes: list[str] = field(default_factory=list)

    def scenario_calendar(self) -> dict:
        cal = {"always_open": False, "start_date": self.start_date, "working_weekdays": list(self.working_weekdays),
               "holidays": list(self.holidays)}
        if self.office_hours is not None:
            cal["office_hours"] = list(self.office_hours)
        return cal


def fit_calendar(log: EventLog, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                 min_share: float = 0.25) -> CalendarFit:
    """The calendar seen in the events (optionally only those between ``start`` and ``end``, wall clock)."""
    t = log.events["local"]
    if start is not None:
        t = t[t >= start]
    if end is not None:
        t = t[t < end]
    notes = []
    if t.empty:
        raise ValueError("no events in the period to read a calendar from")
    by_day = t.dt.day_of_week.value_counts().reindex(range(7), fill_value=0)
    even = by_day.sum() / 7
    working = tuple(WEEKDAYS[d] for d in range(7) if by_day[d] >= min_share * even)
    off = [f"{WEEKDAYS[d]} ({int(by_day[d])} events)" for d in range(7) if WEEKDAYS[d] not in working and by_day[d] > 0]
    if off:
        notes.append("events on days taken as non-working, left as such: " + ", ".join(off))
    hours = None
    if log.granularity() in ("second", "minute", "hour"):
        timed = t[(t.dt.hour != 0) | (t.dt.minute != 0) | (t.dt.second != 0)]  # midnight stamps are dates, not times
        if len(timed) >= 50:
            minutes = timed.dt.hour * 60 + timed.dt.minute
            lo, hi = np.percentile(minutes, [5, 95])
            a, b = int(lo // 60), min(24, int(math.ceil((hi + 1) / 60)))
            if b > a:
                hours = (f"{a:02d}:00-{b:02d}:00" if b < 24 else f"{a:02d}:00-24:00",)
            share_midnight = 1 - len(timed) / max(1, len(t))
            if share_midnight > 0.05:
                notes.append(f"{share_midnight:.0%} of event times are exactly midnight (dates without a time): "
                             "left out of the office hours")
    if hours is None:
        notes.append("the log has no clock times: office hours are not estimated (the format's default is kept)")
    days = t.dt.normalize()
    first, last = days.min(), days.max()
    counts = days.value_counts()
    span = pd.date_range(first, last, freq="D")
    work_days = [d for d in span if WEEKDAYS[d.day_of_week] in working]
    per_day = counts.reindex(work_days, fill_value=0)
    typical = float(per_day[per_day > 0].median()) if (per_day > 0).any() else 0.0
    holidays = ()
    if typical > 0 and math.exp(-typical) < 1e-3:
        holidays = tuple(d.strftime("%Y-%m-%d") for d in per_day.index[per_day.to_numpy() == 0])
        if holidays:
            notes.append(f"{len(holidays)} working weekdays with no event taken as holidays (a typical day has "
                         f"{typical:g} events)")
    else:
        notes.append(f"too few events a day ({typical:g}) to tell holidays from quiet days: none listed")
    return CalendarFit(working, hours, holidays, first.strftime("%Y-%m-%d"), notes)
