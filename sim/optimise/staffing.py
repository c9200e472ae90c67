"""Staffing search: the cheapest positions and staff that meet every target.

Small spaces (at most ``max_designs`` points): every design in order of
cost, cheapest first, until one is declared feasible; designs below one
declared infeasible are skipped when ``assume_monotone`` (more staff never
worsens a target), and so are designs below the queueing bound (fewer
servers than a station's offered load cannot keep up).  The result is the
cheapest design of the whole space, with the stated confidence.

Larger spaces: a local search.  Start at the queueing estimate (Erlang C
for waits at a window group, the offered load for the rest), add units
where targets are missed until the design is declared feasible, then remove
units while it stays feasible.  The result cannot be improved by removing
any one unit; a cheaper design that differs in several variables at once
may exist and is not claimed otherwise.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np

from ..queueing import erlang_c
from .design import Design, StaffingSpace, station_of
from .evaluate import Evaluator
from .feasibility import FEASIBLE, INFEASIBLE, UNDECIDED
from .judge import OUTSIDE_LIMITS, PILOT, PRUNED_BELOW_INFEASIBLE, PRUNED_QUEUEING, Judge, Verdict
from .spec import OptimisationSpec

__all__ = ["search_staffing", "queueing_bounds"]


# -- queueing bounds for staffing -------------------------------------------------------------------
def queueing_bounds(spec: OptimisationSpec, space: StaffingSpace, ev: Evaluator, pilot: Design) -> tuple[list[int], list[int], list[str]]:
    """(lower bounds, starting values, notes) per variable from a pilot design's station statistics.

    A station's offered load ``a`` (mean busy servers) gives the bound
    ``c > a``; a wait target on a window group gives the Erlang C (M/M/c)
    staffing that meets it, as the search's start.
    """
    lower = [v.min for v in spec.staffing]
    start = list(space.current())
    notes = []
    s = pilot.scenario
    day_minutes = s.calendar.day_minutes if not s.calendar.always_open else 24 * 60.0
    for i, v in enumerate(spec.staffing):
        st = station_of(v.field)
        if st is None:
            continue
        scope = f"station:{st}"
        util = ev.values(s, scope, "utilisation")
        visits = ev.values(s, scope, "visits_per_day")
        cap = pilot.key[i]
        if util.size == 0 or not np.isfinite(util).any() or cap <= 0:
            continue
        loads = util[np.isfinite(util)] * cap
        a = float(loads.mean())
        lam = float(np.nanmean(visits)) / day_minutes  # visits per working minute
        if a <= 0 or lam <= 0:
            continue
        # the bound uses the lower 95% confidence limit of the load: noise in the pilot never excludes a design that keeps up
        a_low = a - (_t975(loads.size - 1) * float(loads.std(ddof=1)) / math.sqrt(loads.size) if loads.size > 1 else a)
        bound = max(v.min, math.floor(max(a_low, 0.0)) + 1)
        lower[i] = min(bound, v.max)
        c = lower[i]
        for t in spec.targets:
            if t.scope != scope or not t.is_at_most:
                continue
            if t.kpi in ("wait_minutes_mean", "wait_minutes_p90"):
                c = max(c, _erlang_staff(a, lam, t.kpi, t.threshold, v.max))
            elif t.kpi == "utilisation" and t.threshold > 0:
                c = max(c, math.ceil(a / t.threshold))
        start[i] = min(max(c, lower[i]), v.max)
        notes.append(f"{st}: offered load {a:.2f} servers (95% lower limit {a_low:.2f}), {lam * day_minutes:.1f} visits "
                     f"a working day -> at least {lower[i]}, "
                     f"queueing estimate {start[i]}")
    return lower, start, notes


def _t975(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def _erlang_staff(a: float, lam: float, kpi: str, threshold: float, most: int) -> int:
    """Fewest servers of an M/M/c queue with offered load ``a`` whose mean (or 90th percentile) wait meets the threshold."""
    mu = lam / a
    for c in range(math.floor(a) + 1, most + 1):
        pw = erlang_c(lam, mu, c)
        rate = c * mu - lam
        if kpi == "wait_minutes_mean":
            w = pw / rate
        else:  # P(W > t) = C exp(-(c mu - lam) t); the 90th percentile is 0 when C <= 0.1
            w = 0.0 if pw <= 0.1 else math.log(pw / 0.1) / rate
        if w <= threshold:
            return c
    return most


# -- staffing ---------------------------------------------------------------------------------------
def _dominated_by_infeasible(x, infeasible: list[tuple]) -> bool:
    return any(all(a <= b for a, b in zip(x, y)) for y in infeasible)


def search_staffing(spec: OptimisationSpec, space: StaffingSpace, judge: Judge, say: Callable[[str], None]) -> tuple[Design | None, str, list[str]]:
    """(chosen design or None, method, notes)."""
    variables = spec.staffing
    # the pilot is the most generous design: its stations are not saturated, so their loads are measured, not capped
    pilot = space.design(tuple(v.max for v in variables))
    if pilot.scenario is None:
        return None, "none", [f"the most generous design cannot be built: {pilot.problem}"]
    if not judge.ev.ensure([(pilot.scenario, judge.reps.first)]):
        judge.budget_cut = True
    lower, start, notes = queueing_bounds(spec, space, judge.ev, pilot)
    size = math.prod(v.max - v.min + 1 for v in variables)
    if size <= spec.max_designs:
        say(f"search: every design of the space ({size}), cheapest first / 穷举(按成本)")
        chosen, method = _exhaustive(spec, space, judge, lower), "exhaustive"
    else:
        say(f"search: local search from the queueing estimate ({size} designs in the space) / 局部搜索")
        chosen, method = _local(spec, space, judge, lower, start, say), "local"
    if pilot.key not in judge.verdicts:
        judge.note(pilot, PILOT)
    if spec.assume_monotone:
        _settle_by_monotonicity(judge)
    return chosen, method, notes + judge.notes


def _settle_by_monotonicity(judge: Judge) -> None:
    """An undecided design below one declared infeasible misses a target too (more staff never helps less)."""
    infeasible = [k for k, v in judge.verdicts.items() if v.decision == INFEASIBLE]
    for k, v in judge.verdicts.items():
        if v.decision == UNDECIDED and _dominated_by_infeasible(k, infeasible):
            v.note = f"undecided after {v.replications} replications; below a design that misses a target"
            v.decision = PRUNED_BELOW_INFEASIBLE


def _exhaustive(spec, space: StaffingSpace, judge: Judge, lower) -> Design | None:
    ranges = [range(v.min, v.max + 1) for v in spec.staffing]
    points = sorted(itertools.product(*ranges), key=lambda x: (space.cost(x), sum(x), x))
    infeasible: list[tuple] = []
    for x in points:
        if not space.within_limits(x):
            continue  # never a candidate: not listed
        d = space.design(x)
        if any(k < lo for k, lo in zip(x, lower)):
            judge.note(d, PRUNED_QUEUEING)
            continue
        if spec.assume_monotone and _dominated_by_infeasible(x, infeasible):
            judge.note(d, PRUNED_BELOW_INFEASIBLE)
            continue
        if judge.evaluated >= spec.max_designs or judge.ev.left == 0:
            judge.budget_cut = judge.budget_cut or judge.ev.left == 0
            return None
        (v,) = judge.judge([d])
        if v.decision == FEASIBLE:
            return d
        if v.decision == INFEASIBLE:
            infeasible.append(x)
    return None


def _local(spec, space: StaffingSpace, judge: Judge, lower, start, say) -> Design | None:
    variables = spec.staffing
    own = [station_of(v.field) for v in variables]  # the station each variable staffs (None: not a station)
    x = tuple(start)
    (v,) = judge.judge([space.design(x)])
    infeasible: list[tuple] = []

    def room() -> bool:
        return judge.evaluated < spec.max_designs and judge.ev.left > 0

    # up: until the design is declared feasible
    while v.decision != FEASIBLE:
        if v.decision == INFEASIBLE:
            infeasible.append(x)
        if not room():
            return None
        # targets of one station, not yet shown met, point at that station's variables
        open_targets = [(t, b) for t, b in zip(spec.targets, v.by_target) if b != FEASIBLE]
        if open_targets and all(t.scope.startswith("station:") for t, _ in open_targets):
            gaps = {id(t): judge.gap(space.design(x), t) for t, _ in open_targets}
            # a unit for every station whose mean misses its target (or that is declared infeasible) ...
            short = {t.scope.split(":", 1)[1] for t, b in open_targets if b == INFEASIBLE or gaps[id(t)] > 0}
            if not short:  # ... else every mean meets its target, only not surely: one unit where the margin is thinnest
                t_close = max((t for t, _ in open_targets), key=lambda t: gaps[id(t)])
                short = {t_close.scope.split(":", 1)[1]}
            aimed = [i for i, st in enumerate(own) if st in short and x[i] < variables[i].max]
            aimed_x = tuple(k + (i in aimed) for i, k in enumerate(x))
            if aimed and space.within_limits(aimed_x):
                x = aimed_x
                (v,) = judge.judge([space.design(x)])
                say(f"  up (stations short of their targets): {space.label(x)} ({v.decision})")
                continue
        # otherwise: try a unit more of each variable and take the best reduction of the shortfall per yuan
        ups = [tuple(k + (j == i) for j, k in enumerate(x)) for i in range(len(x)) if x[i] < variables[i].max]
        ups = [u for u in ups if space.within_limits(u)]
        if not ups:
            return None
        designs = [space.design(u) for u in ups]
        verdicts = judge.judge(designs)
        ok = [(d.cost_yuan_per_year, d.key) for d, w in zip(designs, verdicts) if w.decision == FEASIBLE]
        if ok:
            x = min(ok)[1]
        else:
            here = judge.shortfall(space.design(x))
            scored = []
            for d in designs:
                unit = max(d.cost_yuan_per_year - space.cost(x), 1e-9)
                gain = here - judge.shortfall(d) if d.scenario is not None else -math.inf
                scored.append((-(gain / unit), d.cost_yuan_per_year, d.key))
            if here == 0 and all(-sc[0] <= 0 for sc in scored):
                judge.notes.append(
                    f"{space.label(x)} meets every target on average but could not be shown to within "
                    f"{judge.reps.most} replications, and no single unit more moves the estimates: raise "
                    "replications.most or the tolerances")
                return None
            x = min(scored)[2]
        v = judge.verdicts[x]
        say(f"  up: {space.label(x)} ({v.decision})")
    # down: remove units while the design stays feasible; every removal that keeps it feasible at once if that holds too
    while room():
        downs = [tuple(k - (j == i) for j, k in enumerate(x)) for i in range(len(x)) if x[i] > lower[i]]
        downs = [y for y in downs if space.within_limits(y)
                 and not (spec.assume_monotone and _dominated_by_infeasible(y, infeasible))]
        if not downs:
            break
        designs = [space.design(y) for y in downs]
        verdicts = judge.judge(designs)
        infeasible += [d.key for d, w in zip(designs, verdicts) if w.decision == INFEASIBLE]
        ok = [d.key for d, w in zip(designs, verdicts) if w.decision == FEASIBLE]
        if not ok:
            break
        best = min(ok, key=lambda y: (space.cost(y), y))
        if len(ok) > 1 and room():
            both = tuple(k - sum(k - y[i] for y in ok) for i, k in enumerate(x))
            (w,) = judge.judge([space.design(both)]) if space.within_limits(both) else (Verdict(OUTSIDE_LIMITS),)
            if w.decision == FEASIBLE:
                best = both
            elif w.decision == INFEASIBLE:
                infeasible.append(both)
        x = best
        say(f"  down: {space.label(x)} (feasible)")
    return space.design(x)


