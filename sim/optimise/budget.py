"""The lowest KPI within a budget: paired comparisons under common random numbers.

Reform packages (up to 10 reforms): every package within the budget gets the
first replications, and those that must meet targets are judged by the
feasibility check.  The eligible package with the lowest mean is the
candidate best.  Each other eligible package is compared with it by the paired
difference of their replications, with a one-sided Student-t bound at level
``1 - alpha/(k-1)`` (Bonferroni over the k-1 comparisons).  This is a
subset selection in the sense of multiple comparisons with the best (Hsu
1984; Nelson and Matejcik 1995 for common random numbers).  Replications
are added to the contenders up to ``most``.  The packages still not
separated from the best are reported: with the stated confidence the best
package within the budget is among them.

Staffing: greedy marginal allocation.  Start at the queueing bound; add the
unit that lowers the KPI most per yuan, judged on paired replications.  Add it
only if the improvement is significant (one-sided t, level ``1 - alpha``).
Stop when no unit fits the budget or none helps.  This is a heuristic: the
result is not claimed to be the best within the budget.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np

from .design import Design, PackageSpace, StaffingSpace
from .feasibility import FEASIBLE
from .judge import STEP, Judge
from .staffing import queueing_bounds

__all__ = ["best_package_within_budget", "best_staffing_within_budget", "paired_upper"]


def paired_upper(a: np.ndarray, b: np.ndarray, level: float) -> float:
    """One-sided upper confidence bound of mean(a - b) from paired replications (inf if fewer than 2 pairs)."""
    from scipy import stats

    n = min(a.size, b.size)
    d = a[:n] - b[:n]
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.inf
    half = float(stats.t.ppf(level, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return float(d.mean()) + half


def _kpi(judge: Judge, d: Design) -> np.ndarray:
    o = judge.spec.objective
    return judge.ev.values(d.scenario, o.scope, o.minimise)


def best_package_within_budget(spec, space: PackageSpace, judge: Judge, say: Callable[[str], None]):
    o = spec.objective
    n = len(spec.reforms)
    masks = [m for m in itertools.product((False, True), repeat=n) if space.cost(m)[0] <= o.budget_yuan_per_year]
    masks.sort(key=lambda m: (space.cost(m)[0], sum(m), m))
    designs = [space.design(m) for m in masks]
    say(f"search: {len(designs)} packages within {o.budget_yuan_per_year:,.0f} yuan a year, "
        f"the lowest {o.minimise} / 预算内指标最优")
    if not designs:
        return None, "within_budget", [f"no package costs at most {o.budget_yuan_per_year:,.0f} yuan a year"], []
    verdicts = judge.judge(designs)
    eligible = [d for d, v in zip(designs, verdicts) if v.decision == FEASIBLE]
    return _select(spec, judge, eligible, say)


def _select(spec, judge: Judge, eligible: list[Design], say):
    if not eligible:
        return None, "within_budget", ["no design within the budget was shown to meet the targets"], []
    level = 1.0 - judge.alpha / max(1, len(eligible) - 1)
    while True:
        means = [float(np.nanmean(_kpi(judge, d))) for d in eligible]
        best = eligible[int(np.nanargmin(means))]
        contenders = [d for d in eligible if d is not best and paired_upper(_kpi(judge, best), _kpi(judge, d), level) >= 0]
        if not contenders or judge.ev.left == 0:
            break
        have = judge.ev.have(best.scenario)
        if have >= judge.reps.most:
            break
        want = min(judge.reps.most, have + STEP)
        if not judge.ev.ensure([(d.scenario, want) for d in [best, *contenders]]):
            judge.budget_cut = True
    notes = []
    if contenders:
        notes.append(f"not separated from the best at the stated confidence: {'; '.join(d.label for d in contenders)}")
    return best, "within_budget", notes, contenders


def best_staffing_within_budget(spec, space: StaffingSpace, judge: Judge, say: Callable[[str], None]):
    o = spec.objective
    variables = spec.staffing
    pilot = space.design(tuple(v.max for v in variables))
    if not judge.ev.ensure([(pilot.scenario, judge.reps.first)]):
        judge.budget_cut = True
    lower, _, notes = queueing_bounds(spec, space, judge.ev, pilot)
    x = tuple(lower)
    if space.cost(x) > o.budget_yuan_per_year or not space.within_limits(x):
        return None, "greedy", notes + [f"the least design that keeps up with demand costs {space.cost(x):,.0f} yuan a year, "
                                        f"over the budget or the limits"], []
    say(f"search: greedy allocation within {o.budget_yuan_per_year:,.0f} yuan a year from the queueing bound / 预算内逐个增配")
    judge.note(space.design(x), "compared: first replications")
    judge.ev.ensure([(space.design(x).scenario, judge.reps.first)])
    level = 1.0 - judge.alpha
    while judge.ev.left > 0 and judge.evaluated < spec.max_designs:
        ups = [tuple(k + (j == i) for j, k in enumerate(x)) for i in range(len(x)) if x[i] < variables[i].max]
        ups = [u for u in ups if space.cost(u) <= o.budget_yuan_per_year and space.within_limits(u)]
        if not ups:
            break
        here = space.design(x)
        designs = [space.design(u) for u in ups if space.design(u).scenario is not None]
        for d in designs:
            if d.key not in judge.verdicts:
                judge.note(d, "compared: first replications")
        if not judge.ev.ensure([(d.scenario, judge.reps.first) for d in designs]):
            judge.budget_cut = True
        base = _kpi(judge, here)
        scored = []
        for d in designs:
            gain_upper = paired_upper(_kpi(judge, d), base, level)  # upper bound of (new - old): < 0 is a sure gain
            if gain_upper < 0:
                gain = float(np.nanmean(base[: _kpi(judge, d).size] - _kpi(judge, d)[: base.size]))
                scored.append((-gain / max(d.cost_yuan_per_year - here.cost_yuan_per_year, 1e-9), d.key))
        if not scored:
            break
        x = min(scored)[1]
        say(f"  add: {space.label(x)}")
    chosen = space.design(x)
    (v,) = judge.judge([chosen])  # the targets, if any, must hold for the design reached
    if v.decision != FEASIBLE:
        return None, "greedy", notes + ["the design the allocation reached was not shown to meet the targets"], []
    return chosen, "greedy", notes, []
