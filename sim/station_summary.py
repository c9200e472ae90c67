"""Utilisation, queue length and waiting of staffed stations, folded from visit logs window by window.

A station's busy servers and queue length are sums over its visits of
indicator functions (in service between start and end, waiting between queue
entry and start), so their time integrals add up over any set of visits and
any partition of time.  The engine therefore hands over its visit logs every
so often (every visit finished since the last hand-over, plus those still
queued or in service, cut at the hand-over time) and forgets them: memory does
not grow with the run, and the numbers are those of one sweep over the whole
log.  The largest queue is the largest over the windows.

Waits are in working minutes; their 90th percentile comes from a
:class:`~sim.summaries.QuantileSketch` (within 0.5%, relative), in every run.
All averages are over *working* time inside ``[t_from, t_to)`` (the horizon
after the warm-up): closed hours do not count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .summaries import QuantileSketch

__all__ = ["StationSummaries", "open_minutes_by_hour"]

_DQ = np.array([1, -1, 0, 0], dtype=np.int64)  # queue change by event code (enter, start, end, mark)
_DB = np.array([0, 1, -1, 0], dtype=np.int64)  # busy change by event code


def _hour_marks(lo: float, hi: float) -> np.ndarray:
    return np.arange(np.floor(lo / 60.0), np.ceil(hi / 60.0) + 1) * 60.0


def open_minutes_by_hour(clock, t_from: float, t_to: float) -> np.ndarray:
    """Working minutes in ``[t_from, t_to)`` falling in each clock hour 0-23."""
    if not t_to > t_from:
        return np.zeros(24)
    times = np.concatenate([_hour_marks(t_from, t_to), [t_from, t_to]])
    times.sort()
    w = np.clip(clock.working_array(times), clock.working(t_from), clock.working(t_to))
    hours = np.floor(times[:-1] / 60.0).astype(np.int64) % 24
    return np.bincount(hours, weights=np.diff(w), minlength=24)


class StationSummaries:
    """Running sums of every station of one run; ``add`` one window of one station's visits at a time."""

    def __init__(self, clock, t_from: float, t_to: float, capacities):
        self.clock = clock
        self.t_from, self.t_to = float(t_from), float(t_to)
        self.w_from, self.w_to = clock.working(self.t_from), clock.working(self.t_to)
        n = len(capacities)
        self.capacity = np.asarray(capacities, dtype=float)
        self.busy = np.zeros(n)  # working minutes x servers busy
        self.queued = np.zeros(n)  # working minutes x cases waiting
        self.queue_max = np.zeros(n)
        self.busy_by_hour = np.zeros((n, 24))
        self.queue_by_hour = np.zeros((n, 24))
        self.queue_max_by_hour = np.zeros((n, 24))
        self.wait_sum = np.zeros(n)
        self.wait_n = np.zeros(n, dtype=np.int64)
        self.waits = [QuantileSketch() for _ in range(n)]  # for the 90th percentile, within 0.5%
        self.visits = np.zeros(n, dtype=np.int64)

    def add(self, i: int, enter, start, end, t0: float, t1: float, counted: int) -> None:
        """Visits of station ``i`` over the window ``[t0, t1)``.

        ``enter``/``start``/``end`` hold every visit that overlaps the window
        (``inf`` = not yet started or ended); the first ``counted`` of them are
        counted now for visits and waits (each visit is counted once, in the
        window where it is handed over finished, or at the end of the run).
        """
        enter = np.asarray(enter, float)
        start = np.asarray(start, float)
        end = np.asarray(end, float)
        self._count(i, enter[:counted], start[:counted])
        lo, hi = max(t0, self.t_from), min(t1, self.t_to)
        if not hi > lo or enter.size == 0:
            return
        marks = _hour_marks(lo, hi)
        times = np.concatenate([enter, start, end, marks, [lo, hi]])
        # event codes 0 enter, 1 start, 2 end, 3 mark: one small array to reorder instead of two
        codes = np.repeat(np.arange(4, dtype=np.int8), [enter.size, start.size, end.size, marks.size + 2])
        order = np.argsort(times, kind="stable")
        times, codes = times[order], codes[order]
        finite = np.isfinite(times)
        if not finite.all():
            times, codes = times[finite], codes[finite]
        q = np.cumsum(_DQ[codes])[:-1]  # queue level after each event
        b = np.cumsum(_DB[codes])[:-1]  # busy servers after each event
        clock = self.clock
        seg = np.diff(np.clip(clock.working_array(times), clock.working(lo), clock.working(hi)))
        hours = np.floor(times[:-1] / 60.0).astype(np.int64) % 24
        self.busy[i] += (b * seg).sum()
        self.queued[i] += (q * seg).sum()
        self.busy_by_hour[i] += np.bincount(hours, weights=b * seg, minlength=24)
        self.queue_by_hour[i] += np.bincount(hours, weights=q * seg, minlength=24)
        pos = seg > 0
        if pos.any():
            self.queue_max[i] = max(self.queue_max[i], float(q[pos].max()))
            np.maximum.at(self.queue_max_by_hour[i], hours[pos], q[pos])

    def _count(self, i, enter, start):
        counted = (enter >= self.t_from) & (enter < self.t_to)
        started = counted & np.isfinite(start)
        if started.any():
            waits = self.clock.working_array(start[started]) - self.clock.working_array(enter[started])
            self.wait_sum[i] += float(waits.sum())
            self.waits[i].add(waits)
        self.wait_n[i] += int(started.sum())
        self.visits[i] += int(counted.sum())

    def result(self, i: int, open_by_hour: np.ndarray) -> tuple[dict, pd.DataFrame]:
        """(summary dict, by-hour DataFrame) of station ``i``; ``open_by_hour`` from :func:`open_minutes_by_hour`."""
        span = self.w_to - self.w_from
        cap = self.capacity[i]
        nan = float("nan")
        summary = {
            "utilisation": float(self.busy[i] / (cap * span)) if span > 0 else nan,
            "queue_length_mean": float(self.queued[i] / span) if span > 0 else nan,
            "queue_length_max": float(self.queue_max[i]),
            "wait_minutes_mean": float(self.wait_sum[i] / self.wait_n[i]) if self.wait_n[i] else nan,
            "wait_minutes_p90": self.waits[i].quantile(0.9) if self.wait_n[i] else nan,
            "visits": int(self.visits[i]),
        }
        with np.errstate(invalid="ignore", divide="ignore"):
            by_hour = pd.DataFrame(
                {
                    "hour": np.arange(24),
                    "open_minutes": open_by_hour,
                    "utilisation": self.busy_by_hour[i] / (cap * open_by_hour),
                    "queue_length_mean": self.queue_by_hour[i] / open_by_hour,
                    "queue_length_max": self.queue_max_by_hour[i],
                }
            )
        return summary, by_hour[by_hour["open_minutes"] > 0].reset_index(drop=True)
