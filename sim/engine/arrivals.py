"""Arrival times of a case type, generated ahead of the run from its own stream.

* ``per_day`` / ``per_hour``: a Poisson process during office hours.  Each
  working day gets ``N ~ Poisson(rate x G)`` cases, ``G`` = 1 or, with
  ``day_to_day_cv`` > 0, a gamma variate with mean 1 and that cv (counts are
  then negative binomial: over-dispersed).  Within the day, arrival instants
  follow ``hourly_profile`` (piecewise constant by clock hour over the open
  minutes).  With a flat profile this is a homogeneous Poisson process in
  working time.
* ``interarrival_minutes``: a renewal process in working minutes (the clock
  stops while the office is closed).
"""

from __future__ import annotations

import numpy as np

from ..calendar import WorkingClock
from ..scenario import Arrivals

__all__ = ["arrival_times", "day_shape"]


def day_shape(arrivals: Arrivals, spans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Piecewise-constant density of arrivals over one working day.

    Returns (segment start minute after midnight, segment length, cumulative
    probability at segment ends); segments split the open spans at clock hours.
    """
    starts, lengths, weights = [], [], []
    for a, b in spans:
        t = a
        while t < b:
            nxt = min(b, (t // 60 + 1) * 60)
            starts.append(t)
            lengths.append(nxt - t)
            weights.append(arrivals.weight(int(t // 60) % 24))
            t = nxt
    starts_a = np.asarray(starts, float)
    lengths_a = np.asarray(lengths, float)
    mass = lengths_a * np.asarray(weights, float)
    if mass.sum() <= 0:
        raise ValueError("arrival profile has zero weight over all office hours")
    cum = np.cumsum(mass) / mass.sum()
    return starts_a, lengths_a, cum


def _sample_in_day(u: np.ndarray, shape) -> np.ndarray:
    starts, lengths, cum = shape
    seg = np.searchsorted(cum, u, side="right")
    seg = np.minimum(seg, len(cum) - 1)
    lo = np.concatenate(([0.0], cum[:-1]))[seg]
    width = cum[seg] - lo
    frac = np.where(width > 0, (u - lo) / np.where(width > 0, width, 1.0), 0.0)
    return starts[seg] + frac * lengths[seg]


def arrival_times(
    arrivals: Arrivals,
    clock: WorkingClock,
    t_end: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sorted arrival instants (calendar minutes) in ``[0, t_end)``."""
    if arrivals.interarrival_minutes is not None:
        return _renewal(arrivals, clock, t_end, rng)
    day_min = clock.day_minutes
    rate = arrivals.per_day if arrivals.per_day is not None else arrivals.per_hour * day_min / 60.0
    shape = day_shape(arrivals, clock.calendar.spans)
    out: list[np.ndarray] = []
    cv = arrivals.day_to_day_cv
    k = 0
    while True:
        midnight = clock.day_midnight(k)
        if midnight >= t_end:
            break
        lam = rate
        if cv > 0:
            lam = rate * rng.gamma(1.0 / cv**2, cv**2)
        n = int(rng.poisson(lam))
        if n:
            t = midnight + np.sort(_sample_in_day(rng.random(n), shape))
            out.append(t[t < t_end])
        k += 1
    return np.concatenate(out) if out else np.empty(0)


def _renewal(arrivals: Arrivals, clock: WorkingClock, t_end: float, rng) -> np.ndarray:
    dist = arrivals.interarrival_minutes
    w_end = clock.working(t_end)
    block = max(256, int(2 * w_end / dist.mean) + 16)
    chunks, total = [], 0.0
    while total < w_end:
        gaps = dist.sample(rng, block)
        w = total + np.cumsum(gaps)
        chunks.append(w)
        total = float(w[-1]) if w.size else total
    w = np.concatenate(chunks)
    w = w[w < w_end]
    return clock.at_working_array(w)
