"""The stages a log shows between arrival and decision, and which run one after another or side by side.

Nothing here knows any particular log; the rules are:

* **Milestones.**  An activity is a milestone when it happens before the
  decision in at least ``min_share`` of the decided cases (its first
  occurrence counts).  At most ``max_stages`` of them, the most frequent
  first; the rest (rarer activities, repeats) fold into the time between
  milestones and are listed as folded.  The decision itself, the
  missing-documents loop and what ends it are not milestones: the loop has
  its own mechanism in the model.  Milestones stamped with the arrival
  itself (in ``together`` of the cases) open the case and are no stage.
* **Recorded together.**  Milestones with the same time in at least
  ``together`` of the cases that have both are one stage (a batch of
  activities a system stamps at once), named by its most frequent member.
* **Order.**  Stages are ranked by their median working days from arrival.
  An earlier stage A precedes a later stage B when B comes strictly first
  in at most ``1 - order`` of the cases that have both and, when the log
  has start times, their intervals overlap in at most that share too;
  otherwise A and B run side by side (the log shows them in either order,
  or overlapping).  A stage waits for the stages that precede it, less
  those implied through another (the transitive reduction).
* **Durations.**  A stage's duration in a case is from the latest of the
  stages it waits for (the arrival when none) to its own time, in working
  days, less the applicant's turnaround inside that span; cases missing the
  stage or showing it out of order (clipped at 0) are counted.  The
  decision waits for every stage: its duration is from the last stage to
  the decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..eventlog.measures import working_days_between
from ..eventlog.read import EventLog

__all__ = ["Stage", "Stages", "discover_stages", "step_id"]


@dataclass(frozen=True)
class Stage:
    id: str  # the step id in the draft scenario
    activities: tuple[str, ...]  # the log's activities recorded together as this stage, most frequent first
    share: float  # share of the decided cases with this stage
    after: tuple[str, ...]  # ids of the stages it waits for
    median_working_days: float  # from arrival, over the cases that have it


@dataclass
class Stages:
    stages: list[Stage]  # in rank order; the decision is not among them
    durations: pd.DataFrame  # working days per decided case (rows, by case_id) and stage (columns, and "decision"); NaN: not in the case
    activities: pd.DataFrame  # activity, share of decided cases, stage (or "" when folded), why
    pairs: pd.DataFrame  # earlier, later, cases with both, share later first, share overlapping, relation
    out_of_order: dict[str, int]  # stage id -> cases where it came before a stage it waits for (clipped at 0)

    @property
    def sinks(self) -> tuple[str, ...]:
        waited = {a for s in self.stages for a in s.after}
        return tuple(s.id for s in self.stages if s.id not in waited)

    def longest_path(self, days: np.ndarray) -> np.ndarray:
        """Per row of ``days`` (stage columns in rank order, then the decision; NaN: 0), its longest path to the decision."""
        m = np.nan_to_num(np.asarray(days, dtype=float))
        col = {st.id: j for j, st in enumerate(self.stages)}
        done = np.zeros_like(m)
        for j, st in enumerate(self.stages):
            start = np.max(done[:, [col[a] for a in st.after]], axis=1) if st.after else 0.0
            done[:, j] = start + m[:, j]
        last = np.max(done[:, [col[a] for a in self.sinks]], axis=1)
        return last + m[:, -1]

    def independence_check(self, seed: int = 0, draws: int = 4000) -> tuple[np.ndarray, np.ndarray]:
        """(each case's government working days along the stages, the same with each stage drawn independently
        from its own observed values): how much the model's independent stages change the total."""
        cols = [st.id for st in self.stages] + ["decision"]
        x = self.durations[cols].to_numpy(dtype=float)
        rng = np.random.default_rng(seed)
        mixed = np.column_stack([rng.choice(x[:, j], draws) for j in range(x.shape[1])])
        return self.longest_path(x), self.longest_path(mixed)


_NO_PAIRS = pd.DataFrame(columns=["earlier", "later", "cases_with_both", "later_first", "overlapping", "relation"])


def step_id(activity: str, taken: set[str]) -> str:
    """A step id for ``activity`` (no spaces, dots or brackets), unique among ``taken`` (which it joins)."""
    base = re.sub(r"[\s.\[\]]+", "_", str(activity)).strip("_") or "stage"
    out, k = base, 2
    while out in taken or out == "decision":
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _before_decision(log: EventLog, decided: pd.DataFrame, keep=None, exclude=()) -> pd.DataFrame:
    """The events of the ``decided`` cases up to their decision, of the activities ``keep`` (all) less ``exclude``."""
    ev = log.events[log.events["case_id"].isin(decided["case_id"])]
    if keep is not None:
        ev = ev[ev["activity"].isin(list(keep))]
    if exclude:
        ev = ev[~ev["activity"].isin(list(exclude))]
    end = decided.set_index("case_id")["end"]
    return ev[ev["local"].to_numpy() <= end.reindex(ev["case_id"]).to_numpy()]


def _first_times(log: EventLog, decided: pd.DataFrame, keep: list[str], with_start: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(case x activity first completion time, case x activity start of that instance or None), before the decision,
    for the activities ``keep`` (columns in that order)."""
    ev = _before_decision(log, decided, keep)
    first = ev.sort_values("local", kind="stable").drop_duplicates(["case_id", "activity"])
    done = first.pivot(index="case_id", columns="activity", values="local").reindex(index=decided["case_id"], columns=keep)
    start = None
    if with_start:
        start = first.pivot(index="case_id", columns="activity", values="start_local").reindex(
            index=decided["case_id"], columns=keep)
    return done, start


def _groups(done: pd.DataFrame, together: float) -> list[list[str]]:
    """Activities recorded at the same time in ``together`` of the cases that have both, joined (most frequent first)."""
    acts = list(done.columns)
    parent = {a: a for a in acts}

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    t = done.to_numpy(dtype="datetime64[ns]")
    for i in range(len(acts)):
        for j in range(i + 1, len(acts)):
            both = ~np.isnat(t[:, i]) & ~np.isnat(t[:, j])
            n = int(both.sum())
            if n and (t[both, i] == t[both, j]).mean() >= together:
                parent[root(acts[j])] = root(acts[i])
    out: dict[str, list[str]] = {}
    for a in acts:  # acts are most frequent first, so each group lists its members that way
        out.setdefault(root(a), []).append(a)
    return list(out.values())


def discover_stages(log: EventLog, decided: pd.DataFrame, exclude, working_weekdays, holidays,
                    turnarounds: pd.DataFrame | None = None, min_share: float = 0.8, max_stages: int = 12,
                    together: float = 0.8, order: float = 0.8) -> Stages:
    """The stages of the ``decided`` cases (case table rows: case_id, arrival, end) of ``log``.

    ``exclude``: activities that are not milestones (the decision, the loop).
    ``turnarounds``: the applicant's spans (case_id, begin, end) taken out of
    stage durations.
    """
    exclude = set(exclude)
    with_start = bool(log.events["start_local"].notna().any())
    n_cases = len(decided)
    ev = _before_decision(log, decided, exclude=exclude)
    end = decided.set_index("case_id")["end"]
    share = (ev.groupby("activity")["case_id"].nunique() / max(n_cases, 1)).sort_values(ascending=False, kind="stable")
    milestones = list(share[share >= min_share].index[:max_stages])
    rows = []
    for a, s in share.items():
        why = ("milestone" if a in milestones else
               f"in {s:.0%} of decided cases, below {min_share:.0%}" if s < min_share else
               f"beyond the {max_stages} most frequent")
        rows.append({"activity": a, "share_of_decided_cases": float(s), "stage": "", "why": why})
    activities = pd.DataFrame(rows, columns=["activity", "share_of_decided_cases", "stage", "why"])
    if not milestones:
        return Stages([], pd.DataFrame(index=decided["case_id"]), activities, _NO_PAIRS.copy(), {})
    done, start = _first_times(log, decided, milestones, with_start)
    groups = _groups(done, together)
    arrival = decided.set_index("case_id")["arrival"]
    # a stage's time in a case: the latest of its activities' times
    times = pd.DataFrame({g[0]: done[g].max(axis=1) for g in groups})
    starts = pd.DataFrame({g[0]: start[g].min(axis=1) for g in groups}) if start is not None else None
    from_arrival = {g[0]: working_days_between(arrival.reindex(times.index).reset_index(drop=True),
                                               times[g[0]].reset_index(drop=True), working_weekdays, holidays)
                    for g in groups}
    # a stage stamped with the arrival itself (the registration that opens the case) is no delay: folded into it
    at_arrival = [g for g in groups
                  if ((times[g[0]] == arrival.reindex(times.index))[times[g[0]].notna()]).mean() >= together]
    for g in at_arrival:
        for a in g:
            activities.loc[activities["activity"] == a, ["stage", "why"]] = ["", "recorded with the arrival"]
    groups = [g for g in groups if g not in at_arrival]
    if not groups:
        return Stages([], pd.DataFrame(index=decided["case_id"]), activities, _NO_PAIRS.copy(), {})
    rank = sorted(groups, key=lambda g: (np.nanmedian(from_arrival[g[0]]),
                                         float(np.nanmedian((times[g[0]] - arrival.reindex(times.index)).dt.total_seconds())),
                                         -share[g[0]]))
    taken: set[str] = set()
    ids = {g[0]: step_id(g[0], taken) for g in rank}
    keys = [g[0] for g in rank]
    t = times[keys].to_numpy(dtype="datetime64[ns]")
    st = starts[keys].to_numpy(dtype="datetime64[ns]") if starts is not None else None
    precedes, pair_rows = _relations(t, st, [ids[k] for k in keys], order)
    # transitive reduction: j waits for i unless some k between them has i -> k -> j
    after = {j: [i for i in range(j) if precedes[i, j] and not any(precedes[i, k] and precedes[k, j] for k in range(i + 1, j))]
             for j in range(len(keys))}
    stages = []
    for j, k in enumerate(keys):
        g = next(g for g in groups if g[0] == k)
        present = ~np.isnat(t[:, j])
        stages.append(Stage(ids[k], tuple(g), float(present.mean()), tuple(ids[keys[i]] for i in after[j]),
                            float(np.nanmedian(from_arrival[k]))))
        for a in g:
            activities.loc[activities["activity"] == a, "stage"] = ids[k]
    arr = arrival.reindex(times.index).to_numpy(dtype="datetime64[ns]")
    dec = end.reindex(times.index).to_numpy(dtype="datetime64[ns]")
    durations, out_of_order = _durations(times.index, t, arr, dec, after, [ids[k] for k in keys], working_weekdays,
                                         holidays, turnarounds)
    return Stages(stages, durations, activities, pd.DataFrame(pair_rows), out_of_order)


def _relations(t: np.ndarray, st: np.ndarray | None, ids: list[str], order: float) -> tuple[dict, list[dict]]:
    """For each pair of stages (columns of ``t``, in rank order): whether the earlier precedes the later, and why."""
    precedes: dict[tuple[int, int], bool] = {}
    rows = []
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            both = ~np.isnat(t[:, i]) & ~np.isnat(t[:, j])
            n = int(both.sum())
            later_first = float((t[both, j] < t[both, i]).mean()) if n else 0.0
            overlap = 0.0
            if st is not None and n:
                si, sj = st[both, i], st[both, j]
                known = ~np.isnat(si) & ~np.isnat(sj)
                if known.any():
                    overlap = float(((si[known] < t[both, j][known]) & (sj[known] < t[both, i][known])).mean())
            serial = n > 0 and later_first <= 1 - order and overlap <= 1 - order
            precedes[i, j] = serial
            rows.append({"earlier": ids[i], "later": ids[j], "cases_with_both": n, "later_first": later_first,
                         "overlapping": overlap, "relation": "one after the other" if serial else "side by side"})
    return precedes, rows


def _durations(cases: pd.Index, t: np.ndarray, arr: np.ndarray, dec: np.ndarray, after: dict, ids: list[str],
               working_weekdays, holidays, turnarounds) -> tuple[pd.DataFrame, dict[str, int]]:
    """(working days per case and stage, from the latest stage waited for (or the arrival) to the stage's own time,
    and the decision's from the last stage; cases per stage that show it before a stage it waits for)."""
    durations = pd.DataFrame(index=cases, dtype=float)
    out_of_order = {}
    for j, sid in enumerate(ids):
        begin = arr.copy()
        for i in after[j]:
            ti = t[:, i]
            later = ~np.isnat(ti) & (ti > begin)
            begin[later] = ti[later]
        has = ~np.isnat(t[:, j])
        out_of_order[sid] = int((has & (t[:, j] < begin)).sum())
        col = np.full(len(cases), np.nan)
        col[has] = _span_days(cases[has], begin[has], np.maximum(t[has, j], begin[has]), working_weekdays, holidays,
                              turnarounds)
        durations[sid] = col
    last = _row_max(t, arr)
    durations["decision"] = _span_days(cases, last, np.maximum(dec, last), working_weekdays, holidays, turnarounds)
    return durations, out_of_order


def _row_max(t: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Per row, the latest time in ``t`` (NaT ignored), or ``floor`` when later or when the row has none."""
    out = floor.copy()
    for j in range(t.shape[1]):
        col = t[:, j]
        later = ~np.isnat(col) & (col > out)
        out[later] = col[later]
    return out


def _span_days(case_ids, begin: np.ndarray, end: np.ndarray, working_weekdays, holidays,
               turnarounds: pd.DataFrame | None) -> np.ndarray:
    """Working days from ``begin`` to ``end`` per case, less the applicant's turnaround inside that span."""
    b = pd.Series(pd.to_datetime(begin))
    e = pd.Series(pd.to_datetime(end))
    days = working_days_between(b, e, working_weekdays, holidays)
    if turnarounds is not None and len(turnarounds):
        spans = pd.DataFrame({"case_id": np.asarray(case_ids), "b": b, "e": e, "row": np.arange(len(b))})
        m = spans.merge(turnarounds, on="case_id")
        lo = m[["b", "begin"]].max(axis=1)
        hi = m[["e", "end"]].min(axis=1)
        inside = hi > lo
        if inside.any():
            away = working_days_between(lo[inside].reset_index(drop=True), hi[inside].reset_index(drop=True),
                                        working_weekdays, holidays)
            per_row = pd.Series(away).groupby(m.loc[inside, "row"].to_numpy()).sum()
            days[per_row.index.to_numpy()] -= per_row.to_numpy()
    return np.maximum(days, 0.0)


def stage_sequences(log: EventLog, cases: pd.DataFrame, found: Stages) -> pd.Series:
    """Per decided case of ``cases`` (case_id, end), its stages in the order the log shows them (ties: rank order)."""
    decided = cases[cases["decided"]]
    done, _ = _first_times(log, decided, [a for st in found.stages for a in st.activities], False)
    cols = [done[list(st.activities)].max(axis=1) for st in found.stages]
    t = np.column_stack([c.to_numpy(dtype="datetime64[ns]") for c in cols])
    ids = [st.id for st in found.stages]
    out = []
    for row in t:
        present = [(row[j], j) for j in range(len(ids)) if not np.isnat(row[j])]
        out.append(tuple(ids[j] for _, j in sorted(present)))
    return pd.Series(out, index=done.index, dtype=object)


def model_sequences(trace: pd.DataFrame, found: dict[str, Stages]) -> pd.Series:
    """Per simulated (replication, case), its stages in the order they ended (ties: rank order), from a run's trace."""
    rank = {st.id: j for f in found.values() for j, st in enumerate(f.stages)}
    steps = trace[trace["kind"] == "step"]
    key = steps["activity"].astype(str).str.split(":", n=1).str[1]
    steps = steps.assign(stage=key.to_numpy())
    steps = steps[steps["stage"].isin(list(rank))]
    steps = steps.assign(rank=steps["stage"].map(rank)).sort_values(["replication", "case", "end_minute", "rank"])
    return steps.groupby(["replication", "case"], sort=False)["stage"].agg(tuple)
