"""Where lead time goes: decomposition along each case's critical path.

From an activity trace (``simulate(..., trace=True)``) each completed case is
walked back from its end: the activity that ended last, then the one that
ended when that one was enabled, and so on back to the arrival.  Parallel
branches that ended earlier are off the critical path and do not count.  Each
activity on the path contributes its wait (enabled -> start) and its duration
(start -> end) to a category; time on the path with no activity is "other".
Times are working minutes, so shares add up to the mean lead time.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd

from .calendar import clock_for

__all__ = ["CATEGORY_ZH", "category_zh", "decompose", "decompose_runs"]

_EPS = 1e-6

# Chinese names of the categories (the part before ":"; the resource after it is an id)
CATEGORY_ZH = {
    "queue": "排队等候",
    "service": "受理/办理",
    "meeting_wait": "等待联审会",
    "meeting_decision": "联审会审议",
    "intermediary_queue": "等待中介机构",
    "intermediary": "中介服务",
    "fixed_period": "公示/法定期间",
    "applicant_fixing": "申请人补齐材料",
    "applicant_supplement": "申请人容缺补正",
    "waiting_for_applicant": "等待申请人补正",
    "waiting_for_opening": "等待办公时间",
    "travel": "路途往返",
    "handoff": "窗口与后台流转",
    "mail": "邮寄送达",
    "other": "其他",
    "total": "合计",
}


def category_zh(category: str) -> str:
    """Chinese name of a category such as ``queue:land_window`` (its kind; ids stay as they are)."""
    return CATEGORY_ZH.get(category.partition(":")[0], "")


def _parts(kind: str, activity: str, resource: str) -> tuple[str, str]:
    """(category of the wait, category of the activity's own duration)."""
    if kind in ("intake", "pickup", "step"):
        return f"queue:{resource}", f"service:{resource}"
    if kind == "meeting":
        return f"meeting_wait:{resource}", f"meeting_decision:{resource}"
    if kind == "intermediary":
        return f"intermediary_queue:{resource}", f"intermediary:{resource}"
    if kind == "fixed_period":
        return f"fixed_period:{resource}", f"fixed_period:{resource}"
    if kind == "fix":
        return "applicant_fixing", "applicant_fixing"
    if kind == "supplement":
        return "applicant_supplement", "applicant_supplement"
    if kind == "wait_applicant":
        return "waiting_for_applicant", "waiting_for_applicant"
    if kind == "wait_open":
        return "waiting_for_opening", "waiting_for_opening"
    return kind, kind  # travel, handoff, mail


def decompose(replication, scenario, case_type: str | None = None) -> pd.DataFrame:
    """Share of mean lead time by category, over completed cases of one traced replication.

    ``case_type`` limits it to one case type.  Returns a table (category,
    working_minutes_per_case, share) sorted by share.
    """
    if replication.trace is None:
        raise ValueError("decompose needs a replication run with trace=True")
    clock = clock_for(scenario.calendar)
    cases = replication.cases[replication.cases["status"] == "completed"]
    if case_type is not None:
        cases = cases[cases["case_type"] == case_type]
    tr = replication.trace
    tr = tr[tr["case"].isin(cases["case"]) & (tr["kind"] != "inspection")]  # inspections are off the case's path
    w_en = clock.working_array(tr["enabled_minute"].to_numpy())
    w_st = clock.working_array(tr["start_minute"].to_numpy())
    w_end = clock.working_array(tr["end_minute"].to_numpy())
    case_ids = tr["case"].to_numpy()
    kinds, acts, ress = tr["kind"].to_numpy(), tr["activity"].to_numpy(), tr["resource"].astype(str).to_numpy()
    by_case: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(case_ids):
        by_case[int(c)].append(i)
    totals: dict[str, float] = defaultdict(float)
    w_arr = clock.working_array(cases["arrival_minute"].to_numpy())
    w_fin = clock.working_array(cases["end_minute"].to_numpy())
    for c, wa, wf in zip(cases["case"].to_numpy(), w_arr, w_fin):
        rows = sorted(by_case.get(int(c), []), key=lambda i: (w_end[i], w_en[i]))
        cur = wf
        while rows and cur > wa + _EPS:
            k = len(rows) - 1
            while k >= 0 and w_end[rows[k]] > cur + _EPS:
                k -= 1
            if k < 0:
                break
            i = rows.pop(k)
            if w_end[i] < cur - _EPS:
                totals["other"] += cur - w_end[i]
            wait_cat, own_cat = _parts(kinds[i], acts[i], ress[i])
            totals[wait_cat] += max(0.0, w_st[i] - w_en[i])
            totals[own_cat] += max(0.0, w_end[i] - w_st[i])
            cur = min(cur, w_en[i])
        if cur > wa + _EPS:
            totals["other"] += cur - wa
    n = max(len(cases), 1)
    lead = float((w_fin - w_arr).sum())
    out = pd.DataFrame(
        [(k, v / n, v / lead if lead > 0 else np.nan) for k, v in totals.items() if v > 0],
        columns=["category", "working_minutes_per_case", "share"],
    )
    return out.sort_values("share", ascending=False, ignore_index=True)


def _clip(x: float, top: float = math.inf) -> float:
    """A CI bound of a non-negative quantity (NaN stays NaN)."""
    return x if x != x else min(max(0.0, x), top)


def decompose_runs(
    scenario,
    replications: int | None = None,
    seed: int | None = None,
    case_type: str | None = None,
    *,
    total: bool = False,
    progress=None,
) -> pd.DataFrame:
    """:func:`decompose` over replications, with Student-t 95% CIs across them.

    Returns (category, working_minutes_per_case, ci_low, ci_high, share,
    share_ci_low, share_ci_high, n) sorted by share; a category absent from a
    replication counts 0 there.  ``total`` adds a last row ``total``: the sum
    of the categories in each replication, i.e. the mean lead time of its
    completed cases in working minutes, with its CI.  ``progress(done,
    total)`` is called after each replication.
    """
    from .engine import simulate
    from .stats import mean_ci

    n = scenario.run.replications if replications is None else replications
    seed = scenario.run.seed if seed is None else seed
    parts = []
    for r in range(n):
        d = decompose(simulate(scenario, seed=seed, replication=r, trace=True), scenario, case_type)
        d["replication"] = r
        parts.append(d)
        if progress is not None:
            progress(r + 1, n)
    long = pd.concat(parts, ignore_index=True)
    rows = []
    for cat in long["category"].unique():
        sub = long.loc[long["category"] == cat, ["replication", "working_minutes_per_case", "share"]]
        sub = sub.set_index("replication").reindex(range(n), fill_value=0.0)
        m, lo, hi, _, k = mean_ci(sub["working_minutes_per_case"].to_numpy(dtype=float))
        sm, slo, shi, _, _ = mean_ci(sub["share"].to_numpy(dtype=float))
        rows.append((cat, m, _clip(lo), hi, sm, _clip(slo, 1.0), _clip(shi, 1.0), k))
    columns = ["category", "working_minutes_per_case", "ci_low", "ci_high", "share", "share_ci_low", "share_ci_high", "n"]
    out = pd.DataFrame(rows, columns=columns).sort_values("share", ascending=False, ignore_index=True)
    if total:
        per_rep = long.groupby("replication")["working_minutes_per_case"].sum().reindex(range(n), fill_value=0.0)
        m, lo, hi, _, k = mean_ci(per_rep.to_numpy(dtype=float))
        out = pd.concat([out, pd.DataFrame([("total", m, _clip(lo), hi, 1.0, 1.0, 1.0, k)], columns=columns)],
                        ignore_index=True)
    return out
