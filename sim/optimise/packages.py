"""Reform-package search: the cheapest package of reforms that meets every target.

Up to 10 reforms: every package (2^n) gets the first replications, which
give the Pareto front of cost against the KPIs; then the packages are judged
in order of cost until one is declared feasible.  More reforms: NSGA-II.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np

from .design import Design, PackageSpace
from .feasibility import FEASIBLE, UNDECIDED
from .judge import INVALID, NOT_JUDGED, Judge
from .spec import OptimisationSpec

__all__ = ["search_package", "EXHAUSTIVE_REFORMS"]

EXHAUSTIVE_REFORMS = 10
NSGA_POPULATION = 24
PACKAGE_BATCH = 4  # packages judged together in cost order (fixed: never depends on the worker count)


# -- reform packages --------------------------------------------------------------------------------
def search_package(spec: OptimisationSpec, space: PackageSpace, judge: Judge, say: Callable[[str], None]) -> tuple[Design | None, str, list[str]]:
    n = len(spec.reforms)
    if n > EXHAUSTIVE_REFORMS:
        return _nsga(spec, space, judge, say)
    masks = sorted(itertools.product((False, True), repeat=n), key=lambda m: (space.cost(m)[0], sum(m), m))
    designs = [space.design(m) for m in masks]
    say(f"search: every package ({len(designs)}) gets {judge.reps.first} replications, then cheapest first / 穷举全部组合")
    valid = [d for d in designs if d.scenario is not None]
    if not judge.ev.ensure([(d.scenario, judge.reps.first) for d in valid]):
        judge.budget_cut = True
    chosen = None
    for k in range(0, len(designs), PACKAGE_BATCH):  # a few at a time, so every core has work
        batch = designs[k:k + PACKAGE_BATCH]
        verdicts = judge.judge(batch)
        found = [d for d, v in zip(batch, verdicts) if v.decision == FEASIBLE]
        if found:
            chosen = found[0]  # the batch is in cost order
            break
        if judge.ev.left == 0:
            judge.budget_cut = True
            break
    for rest in designs:  # the others keep their first replications' estimates, for the Pareto front
        if rest.key not in judge.verdicts:
            judge.note(rest, NOT_JUDGED if rest.scenario is not None else INVALID, rest.problem)
        elif chosen is not None and rest.cost_yuan_per_year > chosen.cost_yuan_per_year and judge.verdicts[rest.key].decision == UNDECIDED:
            judge.verdicts[rest.key].decision = NOT_JUDGED
    return chosen, "exhaustive", []


def _nsga(spec, space: PackageSpace, judge: Judge, say) -> tuple[Design | None, str, list[str]]:
    """More than ten reforms: NSGA-II (pymoo) over yes/no vectors, then the evaluated packages judged cheapest first.

    Objectives: the annual cost and the means of the ``pareto`` KPIs over the
    first replications; constraints: each target's mean on the right side
    of its threshold.  NSGA-II only sees the packages it generates: a
    cheaper package it never generated is not ruled out.
    """
    try:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem as PymooProblem
        from pymoo.operators.crossover.pntx import TwoPointCrossover
        from pymoo.operators.mutation.bitflip import BitflipMutation
        from pymoo.operators.sampling.rnd import BinaryRandomSampling
        from pymoo.optimize import minimize
    except ImportError:
        from ..errors import Problem, ScenarioError

        raise ScenarioError([Problem("reforms", f"{len(spec.reforms)} reforms: more than {EXHAUSTIVE_REFORMS} are searched "
                                                "with NSGA-II, which needs pymoo: pip install -e '.[optimise]'")], spec.source) from None
    n = len(spec.reforms)
    first = judge.reps.first
    ev = judge.ev
    seen: dict[tuple, Design] = {}
    pop = NSGA_POPULATION

    def estimate(d: Design) -> tuple[list[float], list[float]]:
        if d.scenario is None:
            return [math.inf] * (1 + len(spec.pareto)), [1e9] * len(spec.targets)
        objs = [d.cost_yuan_per_year] + [float(np.nanmean(ev.values(d.scenario, spec.pareto_scope, k, n=first)))
                                         for k in spec.pareto]
        cons = []
        for t in spec.targets:
            m = float(np.nanmean(ev.values(d.scenario, t.scope, t.kpi, n=first)))
            cons.append(1e9 if not math.isfinite(m) else ((m - t.threshold) if t.is_at_most else (t.threshold - m)) / t.epsilon)
        return [x if math.isfinite(x) else 1e12 for x in objs], cons

    class Packages(PymooProblem):
        def __init__(self):
            super().__init__(n_var=n, n_obj=1 + len(spec.pareto), n_ieq_constr=len(spec.targets), xl=0, xu=1, vtype=bool)

        def _evaluate(self, X, out, *args, **kwargs):
            designs = [space.design(tuple(bool(b) for b in row)) for row in X]
            for d in designs:
                seen.setdefault(d.key, d)
            if not ev.ensure([(d.scenario, first) for d in designs if d.scenario is not None]):
                judge.budget_cut = True
            F, G = zip(*(estimate(d) for d in designs))
            out["F"], out["G"] = np.array(F, dtype=float), np.array(G, dtype=float)

    generations = max(1, (spec.max_designs - pop) // pop + 1)
    say(f"search: NSGA-II over {2 ** n} packages, population {pop}, up to {generations} generations / 多目标遗传算法")
    algorithm = NSGA2(pop_size=pop, sampling=BinaryRandomSampling(), crossover=TwoPointCrossover(),
                      mutation=BitflipMutation(), eliminate_duplicates=True)
    budget_gens = max(1, min(generations, ev.left // max(1, pop * first)))
    minimize(Packages(), algorithm, ("n_gen", budget_gens), seed=int(ev.seed) % (2**32), verbose=False)
    designs = sorted(seen.values(), key=lambda d: (d.cost_yuan_per_year, sum(d.key), d.key))[: spec.max_designs]
    chosen = None
    for k in range(0, len(designs), PACKAGE_BATCH):
        batch = designs[k:k + PACKAGE_BATCH]
        found = [d for d, v in zip(batch, judge.judge(batch)) if v.decision == FEASIBLE]
        if found:
            chosen = found[0]
            break
        if ev.left == 0:
            judge.budget_cut = True
            break
    for rest in designs:
        if rest.key not in judge.verdicts:
            judge.note(rest, NOT_JUDGED if rest.scenario is not None else INVALID, rest.problem)
    notes = [f"NSGA-II evaluated {len(seen)} of {2 ** n} packages; packages it never generated are not ruled out"]
    return chosen, "nsga2", notes
