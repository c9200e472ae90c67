"""What a log says, perspective by perspective, and how far two logs are apart.

Every function takes an :class:`~sim.eventlog.read.EventLog` (a real log,
or a simulated run read back from its exported log) and returns a tidy
table or a number, so a real log and simulated ones are measured the same
way.  Lead times are counted two ways: calendar days, and working days
between the first event's date and the end's (the start day not counted,
as time limits count them) on a given working week and holidays.

Distances: Wasserstein (earth mover's) distance between lead-time samples,
in their unit; total variation (half the L1 distance, 0 = the same shares,
1 = nothing in common) between activity, hour, weekday or n-gram shares.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from .read import EventLog

__all__ = ["case_table", "working_days_between", "arrivals_by_hour", "arrivals_by_weekday", "activity_frequencies",
           "ngram_shares", "variant_shares", "total_variation", "lead_time_distance", "throughput_per_week",
           "work_in_progress", "WEEKDAYS"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekmask(working_weekdays: Sequence[str]) -> str:
    return "".join("1" if d in set(working_weekdays) else "0" for d in WEEKDAYS)


def working_days_between(start: pd.Series, end: pd.Series, working_weekdays: Sequence[str] = WEEKDAYS[:5],
                         holidays: Iterable = ()) -> np.ndarray:
    """Working days from each start date to its end date: the start day not counted, the end day counted.

    NaN where the end is missing.
    """
    s = pd.to_datetime(start).dt.tz_localize(None) if getattr(start.dt, "tz", None) else pd.to_datetime(start)
    e = pd.to_datetime(end).dt.tz_localize(None) if getattr(end.dt, "tz", None) else pd.to_datetime(end)
    ok = s.notna() & e.notna()
    out = np.full(len(s), np.nan)
    if ok.any():
        sd = s[ok].dt.normalize().to_numpy().astype("datetime64[D]")
        ed = e[ok].dt.normalize().to_numpy().astype("datetime64[D]")
        hol = np.array(sorted(pd.to_datetime(list(holidays)).normalize()), dtype="datetime64[D]") if holidays else None
        kw = {"weekmask": _weekmask(working_weekdays)}
        if hol is not None and len(hol):
            kw["holidays"] = hol
        # days after the start day up to and including the end day
        out[ok.to_numpy()] = np.busday_count(sd + 1, ed + 1, **kw)
    return out


def case_table(log: EventLog, end_activities: Sequence[str] | None = None, working_weekdays: Sequence[str] = WEEKDAYS[:5],
               holidays: Iterable = ()) -> pd.DataFrame:
    """One row per case: arrival (first event), end, whether it reached an end activity, events, lead times, its trace.

    The end is the first event of one of ``end_activities`` (e.g. the
    decision); without them, the case's last event.  A case that never
    reaches an end activity has no end (it is open, or left the log).
    """
    ev = log.events
    g = ev.groupby("case_id", sort=False)
    first = g["local"].min()
    out = pd.DataFrame({"arrival": first, "events": g.size()})
    out["case_type"] = g["case_type"].first()
    out["item"] = g["item"].first()
    if end_activities:
        ends = ev[ev["activity"].isin(list(end_activities))].groupby("case_id")["local"].min()
        out["end"] = ends.reindex(out.index)
    else:
        out["end"] = g["local"].max()
    out["decided"] = out["end"].notna()
    out["last_event"] = g["local"].max()
    out["lead_calendar_days"] = (out["end"] - out["arrival"]).dt.total_seconds() / 86400.0
    out["lead_working_days"] = working_days_between(out["arrival"], out["end"], working_weekdays, holidays)
    acts = ev["activity"].to_numpy(dtype=object)
    traces = {case: tuple(acts[idx]) for case, idx in g.indices.items()}
    out["trace"] = pd.Series([traces[c] for c in out.index], index=out.index, dtype=object)
    return out.reset_index().rename(columns={"index": "case_id"})


def arrivals_by_hour(cases: pd.DataFrame) -> pd.Series:
    """Share of cases arriving in each clock hour (0-23) of their first event."""
    h = cases["arrival"].dt.hour.value_counts(normalize=True)
    return h.reindex(range(24), fill_value=0.0).rename("share")


def arrivals_by_weekday(cases: pd.DataFrame) -> pd.Series:
    """Share of cases arriving on each weekday (mon..sun)."""
    d = cases["arrival"].dt.day_of_week.value_counts(normalize=True).reindex(range(7), fill_value=0.0)
    d.index = list(WEEKDAYS)
    return d.rename("share")


def activity_frequencies(log: EventLog) -> pd.Series:
    """Events of each activity per case (mean over cases)."""
    return (log.events["activity"].value_counts() / log.cases).rename("per_case")


def ngram_shares(traces: Iterable[tuple], n: int = 2) -> pd.Series:
    """Shares of the n-grams of activities over all traces, with start '^' and end '$' markers."""
    c: Counter = Counter()
    for t in traces:
        seq = ("^",) * (n - 1) + tuple(t) + ("$",)
        c.update(seq[i:i + n] for i in range(len(seq) - n + 1))
    total = sum(c.values()) or 1
    return pd.Series({k: v / total for k, v in c.items()}, dtype=float)


def variant_shares(traces: Iterable[tuple]) -> pd.Series:
    """Share of cases with each trace variant (the whole sequence of activities), most common first."""
    c = Counter(tuple(t) for t in traces)
    total = sum(c.values()) or 1
    return pd.Series({k: v / total for k, v in c.most_common()}, dtype=float)


def total_variation(p: pd.Series, q: pd.Series) -> float:
    """Half the L1 distance between two share tables over the union of their keys (0 same, 1 disjoint)."""
    keys = p.index.union(q.index)
    return float(0.5 * np.abs(p.reindex(keys, fill_value=0.0).to_numpy() - q.reindex(keys, fill_value=0.0).to_numpy()).sum())


def lead_time_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Wasserstein distance between two lead-time samples (NaN ignored), in their unit."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if not len(x) or not len(y):
        return float("nan")
    return float(wasserstein_distance(x, y))


def throughput_per_week(cases: pd.DataFrame) -> pd.Series:
    """Cases reaching their end in each calendar week (weeks starting Monday)."""
    done = cases.loc[cases["decided"], "end"]
    return done.dt.to_period("W-SUN").value_counts().sort_index().rename("cases")


def work_in_progress(cases: pd.DataFrame, freq: str = "W-SUN") -> pd.Series:
    """Cases arrived and not yet ended at the end of each period (open cases count until the log ends)."""
    if cases.empty:
        return pd.Series(dtype=float, name="cases")
    last = cases[["arrival", "end"]].max().max()
    grid = pd.period_range(cases["arrival"].min(), last, freq=freq).to_timestamp(how="end")
    arr = np.sort(cases["arrival"].to_numpy())
    ends = np.sort(cases["end"].dropna().to_numpy())
    g = grid.to_numpy()
    wip = np.searchsorted(arr, g, side="right") - np.searchsorted(ends, g, side="right")
    return pd.Series(wip, index=grid, name="cases")
