"""``optimise(spec, seed=...) -> OptimisationResult``: the search, its evidence and a fresh check.

The result holds every design met with its decision and estimates, the
chosen design as a scenario, its KPIs from fresh replications the search
never saw, and the confidence statement in English and Chinese.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import Problem, ScenarioError
from ..scenario import Scenario
from ..runner import shortened
from ..stats import mean_ci
from .design import Design, PackageSpace, StaffingSpace
from .evaluate import FRESH, Evaluator
from .feasibility import UNDECIDED
from .budget import best_package_within_budget, best_staffing_within_budget
from .judge import Judge
from .packages import EXHAUSTIVE_REFORMS, search_package
from .staffing import search_staffing
from .spec import OptimisationSpec, load_spec, spec_problems

__all__ = ["OptimisationResult", "optimise"]


@dataclass(frozen=True)
class OptimisationResult:
    spec: OptimisationSpec
    seed: int
    fast: bool
    kind: str  # staffing / package
    method: str  # exhaustive / local / nsga2
    chosen: Design | None
    candidates: pd.DataFrame  # one row per design met: variables, cost, decision, replications, estimates
    estimates: pd.DataFrame  # tidy: design, scope, kpi, mean, ci_low, ci_high, n (search replications)
    final: pd.DataFrame  # the chosen design on fresh replications: scope, kpi, mean, ci_low, ci_high, n, target, met
    runs: int  # simulation runs of the search
    final_runs: int
    budget_cut: bool
    procedure: dict = field(default_factory=dict)
    statement_en: str = ""
    statement_zh: str = ""
    notes: tuple[str, ...] = ()
    best_scenario: Scenario | None = None  # the chosen design on the spec's scenario as written (full horizon), renamed

    @property
    def scenario(self) -> Scenario | None:
        """The chosen design, ready to run: the spec's scenario with the design applied (with ``fast``, its full run settings)."""
        return self.best_scenario

    def to_json_dict(self) -> dict:
        from .. import __version__

        def num(x):
            x = float(x)
            return None if not math.isfinite(x) else x

        return {
            "name": self.spec.name,
            "kind": self.kind,
            "method": self.method,
            "seed": self.seed,
            "fast": self.fast,
            "version": __version__,
            "chosen": None if self.chosen is None else {
                "design": self.chosen.label,
                "cost_yuan_per_year": num(self.chosen.cost_yuan_per_year),
                "cost_one_off_yuan": num(self.chosen.cost_one_off_yuan),
                "scenario_hash": self.best_scenario.content_hash() if self.best_scenario is not None else None,
            },
            "final": [
                {k: (num(v) if isinstance(v, (float, np.floating)) else (int(v) if isinstance(v, (np.integer,)) else v))
                 for k, v in row.items()}
                for row in self.final.to_dict("records")
            ],
            "runs": self.runs,
            "final_runs": self.final_runs,
            "budget_cut": self.budget_cut,
            "designs": int(len(self.candidates)),
            "procedure": self.procedure,
            "statement_en": self.statement_en,
            "statement_zh": self.statement_zh,
            "notes": list(self.notes),
        }


def optimise(
    spec: OptimisationSpec | str | Path,
    seed: int | None = None,
    *,
    fast: bool = False,
    workers: int | None = 1,
    executor=None,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> OptimisationResult:
    """Find the cheapest design of ``spec`` that meets every target, with the evidence.

    ``seed`` (default: the spec's) fixes every random number: the same seed
    gives the same answer on any number of workers.  ``fast`` uses the
    spec's ``fast`` settings (a quick look, not a result).  ``say(text)``
    receives a line at each stage of the search; ``progress(done, total)``
    follows the replications of each batch.
    """
    from ..execution import LocalExecutor
    from ..loading import load_scenario

    if not isinstance(spec, OptimisationSpec):
        spec = load_spec(spec)
    else:
        problems = spec_problems(spec)
        if problems:
            raise ScenarioError(problems, spec.source or "optimisation spec")
    say = say or (lambda text: None)
    seed = spec.seed if seed is None else int(seed)
    reps = spec.fast.replications if fast else spec.replications
    budget = spec.fast.budget_runs if fast else spec.budget_runs
    written = load_scenario(spec.scenario_path())
    base = shortened(written, spec.fast.horizon_scale) if fast else written
    executor = executor or LocalExecutor(workers)
    ev = Evaluator(seed=seed, budget_runs=budget, executor=executor, progress=progress)

    if spec.kind == "staffing":
        space = StaffingSpace(spec, base)
        bad = space.check_fields()
        if bad:
            raise ScenarioError([Problem(f"staffing[{i}].field", why) for i, why in bad], spec.source)
        size = math.prod(v.max - v.min + 1 for v in spec.staffing)
        designs_budget = min(size, spec.max_designs)
        names = space.names()
    else:
        space = PackageSpace(spec, base)
        n = len(spec.reforms)
        designs_budget = 2**n if n <= EXHAUSTIVE_REFORMS else spec.max_designs
        names = space.names()
    judge = Judge(spec, ev, designs_budget, reps)
    _check_scopes(spec, space, ev, reps)
    contenders: list = []
    if spec.objective is not None:
        if spec.kind == "staffing":
            chosen, method, notes, contenders = best_staffing_within_budget(spec, space, judge, say)
        elif len(spec.reforms) <= EXHAUSTIVE_REFORMS:
            chosen, method, notes, contenders = best_package_within_budget(spec, space, judge, say)
        else:
            raise ScenarioError([Problem("objective", f"the lowest KPI within a budget is searched over at most "
                                                      f"{EXHAUSTIVE_REFORMS} reforms (got {len(spec.reforms)})")], spec.source)
    elif spec.kind == "staffing":
        chosen, method, notes = search_staffing(spec, space, judge, say)
    else:
        chosen, method, notes = search_package(spec, space, judge, say)

    if chosen is None and spec.objective is None:
        meets = [d for d in judge.order if d.scenario is not None and ev.have(d.scenario) and judge.shortfall(d) == 0]
        if meets:
            best = min(meets, key=lambda d: (d.cost_yuan_per_year, d.label))
            notes = list(notes) + [f"provisional, not confirmed at the stated confidence: {best.label} "
                                   f"({best.cost_yuan_per_year:,.0f} yuan a year) meets every target on average"]
    final, final_runs = _final(spec, ev, chosen, reps)
    candidates, estimates = _tables(spec, judge, names, chosen)
    procedure = {
        "name": "Batur-Kim fully sequential feasibility check (triangular continuation region), Bonferroni split",
        "confidence": spec.confidence,
        "first_replications_n0": reps.first,
        "most_replications": reps.most,
        "final_replications": reps.final,
        "designs_in_split": judge.designs_budget,
        "targets": len(spec.targets),
        "beta_per_decision": judge.beta,
        "eta": judge.eta,
        "tolerances": {t.describe(): t.epsilon for t in spec.targets},
        "assume_monotone": spec.assume_monotone if spec.kind == "staffing" else None,
        "common_random_numbers": True,
    }
    if spec.objective is not None:
        en, zh = _budget_statement(spec, judge, chosen, method, contenders)
        procedure["name"] = ("paired comparisons with the best under common random numbers (Bonferroni), "
                             "targets by the Batur-Kim check" if method == "within_budget" else
                             "greedy marginal allocation, each step a significant paired improvement")
    else:
        en, zh = _statement(spec, judge, chosen, method, candidates, final)
    best = None
    if chosen is not None:  # the design on the scenario as written: a fast run's short horizon is not the planner's
        full = chosen if not fast else type(space)(spec, written).design(chosen.key)
        best = full.scenario.evolve(name=f"{written.name} - optimised: {chosen.label}"[:500])
    return OptimisationResult(
        best_scenario=best,
        spec=spec, seed=seed, fast=fast, kind=spec.kind, method=method, chosen=chosen,
        candidates=candidates, estimates=estimates, final=final, runs=ev.runs, final_runs=final_runs,
        budget_cut=judge.budget_cut, procedure=procedure, statement_en=en, statement_zh=zh, notes=tuple(notes),
    )


def _check_scopes(spec: OptimisationSpec, space, ev: Evaluator, reps) -> None:
    """Every target's (scope, KPI) must exist in the base design's tables: checked on one replication."""
    first = space.design(tuple(v.max for v in spec.staffing) if spec.kind == "staffing" else (False,) * len(spec.reforms))
    if first.scenario is None:
        raise ScenarioError([Problem("scenario", f"the base design cannot be built: {first.problem}")], spec.source)
    ev.ensure([(first.scenario, 1)])
    have = ev.scopes(first.scenario)
    scopes = sorted({s for s, _ in have})
    problems = []
    for i, t in enumerate(spec.targets):
        if (t.scope, t.kpi) in have:
            continue
        if t.scope not in scopes:
            near = [s for s in scopes if t.scope.split(":")[0] == s.split(":")[0]][:12]
            problems.append(Problem(f"targets[{i}].scope", f"no scope {t.scope!r} in this scenario (e.g. {', '.join(near or scopes[:12])})"))
        else:
            problems.append(Problem(f"targets[{i}].kpi", f"{t.kpi!r} is not measured for scope {t.scope!r}"))
    if problems:
        raise ScenarioError(problems, spec.source)


def _final(spec, ev: Evaluator, chosen: Design | None, reps) -> tuple[pd.DataFrame, int]:
    cols = ["scope", "kpi", "mean", "ci_low", "ci_high", "n", "target", "met"]
    if chosen is None:
        return pd.DataFrame(columns=cols), 0
    ev.ensure([(chosen.scenario, reps.final)], counted=False, start=FRESH)
    rows = []
    wanted = [(t.scope, t.kpi, t) for t in spec.targets]
    if spec.objective is not None:
        wanted.insert(0, (spec.objective.scope, spec.objective.minimise, None))
    wanted += [(spec.pareto_scope, k, None) for k in spec.pareto if (spec.pareto_scope, k) not in {(w[0], w[1]) for w in wanted}]
    for scope, kpi, t in wanted:
        vals = ev.values(chosen.scenario, scope, kpi, start=FRESH, n=reps.final)
        m, lo, hi, _, n = mean_ci(vals)
        if t is None:
            target, met = "", ""
        else:
            target = ("<= " if t.is_at_most else ">= ") + f"{t.threshold:g}"
            good_hi = hi <= t.threshold if t.is_at_most else lo >= t.threshold
            bad_lo = lo > t.threshold if t.is_at_most else hi < t.threshold
            met = "yes" if good_hi else ("no" if bad_lo else "within noise")
        rows.append((scope, kpi, m, lo, hi, n, target, met))
    return pd.DataFrame(rows, columns=cols), reps.final


def _tables(spec: OptimisationSpec, judge: Judge, names: list[str], chosen: Design | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    ev = judge.ev
    rows, est = [], []
    measures = [(t.scope, t.kpi) for t in spec.targets] + [(spec.pareto_scope, k) for k in spec.pareto]
    if spec.objective is not None:
        measures.insert(0, (spec.objective.scope, spec.objective.minimise))
    measures = list(dict.fromkeys(measures))
    for d in judge.order:
        v = judge.verdicts[d.key]
        row = {"design": d.label}
        for name, k in zip(names, d.key):
            row[name] = int(k) if not isinstance(k, bool) else bool(k)
        row.update({
            "cost_yuan_per_year": d.cost_yuan_per_year,
            "cost_one_off_yuan": d.cost_one_off_yuan,
            "decision": v.decision,
            "replications": ev.have(d.scenario) if d.scenario is not None else 0,
            "note": v.note,
            "chosen": chosen is not None and d.key == chosen.key,
        })
        for i, t in enumerate(spec.targets):
            row[f"target{i + 1}"] = v.by_target[i] if i < len(v.by_target) else ""
        for scope, kpi in measures:
            vals = ev.values(d.scenario, scope, kpi) if d.scenario is not None else np.array([])
            m, lo, hi, _, n = mean_ci(vals)
            if scope == spec.pareto_scope and kpi in spec.pareto:
                row[f"{kpi}_mean"], row[f"{kpi}_ci_low"], row[f"{kpi}_ci_high"] = m, lo, hi
            if n:
                est.append((d.label, scope, kpi, m, lo, hi, n))
        rows.append(row)
    cand = pd.DataFrame(rows)
    if len(cand):
        cand = cand.sort_values(["cost_yuan_per_year", "design"], kind="stable").reset_index(drop=True)
    for kpi in spec.pareto:
        col = f"{kpi}_mean"
        cand[f"front_{kpi}"] = _front(cand["cost_yuan_per_year"].to_numpy(float), cand[col].to_numpy(float)) if len(cand) else []
    return cand, pd.DataFrame(est, columns=["design", "scope", "kpi", "mean", "ci_low", "ci_high", "n"])


def _front(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Designs no other design beats on both cost and value (lower is better on both); NaN values are off the front."""
    out = np.zeros(cost.size, dtype=bool)
    ok = np.isfinite(value)
    for i in np.flatnonzero(ok):
        better = ok & (cost <= cost[i]) & (value <= value[i]) & ((cost < cost[i]) | (value < value[i]))
        out[i] = not better.any()
    return out


def _budget_statement(spec, judge: Judge, chosen, method: str, contenders) -> tuple[str, str]:
    o = spec.objective
    conf = f"{spec.confidence:.0%}"
    goal = f"the lowest {o.minimise} [{o.scope}] within {o.budget_yuan_per_year:,.0f} yuan a year"
    targets = (" Targets that must hold: " + "; ".join(t.describe() for t in spec.targets) + ".") if spec.targets else ""
    if chosen is None:
        return (f"No design found for {goal}.{targets}", "预算内未找到满足要求的方案。")
    if method == "greedy":
        return (f"{goal[0].upper() + goal[1:]}: greedy marginal allocation, a heuristic. Each unit added lowered the KPI "
                f"significantly in paired comparisons (one-sided, {conf}, common random numbers). The design is not "
                f"claimed to be the best within the budget.{targets}",
                f"预算内逐个增配(启发式):每次增配都在配对比较中显著降低指标({conf}单侧),不声称为预算内最优方案。")
    if contenders:
        return (f"{goal[0].upper() + goal[1:]}: the chosen package has the lowest mean. With confidence at least {conf}, "
                f"the best package within the budget is the chosen one or one of {len(contenders)} others not separated "
                f"from it (listed in the notes). Multiple comparisons with the best, paired under common random numbers, "
                f"Bonferroni split.{targets}",
                f"预算内指标最优:所选组合均值最低;在不低于{conf}的置信度下,最优组合为所选组合或其余{len(contenders)}个未能区分的组合之一。")
    return (f"{goal[0].upper() + goal[1:]}: with confidence at least {conf}, the chosen package is better than every "
            f"other package within the budget. Multiple comparisons with the best, paired under common random "
            f"numbers, Bonferroni split.{targets}",
            f"预算内指标最优:在不低于{conf}的置信度下,所选组合优于预算内其他所有组合。")


def _statement(spec, judge: Judge, chosen: Design | None, method: str, cand: pd.DataFrame, final: pd.DataFrame) -> tuple[str, str]:
    conf = f"{spec.confidence:.0%}"
    tol = "; ".join(t.describe() for t in spec.targets)
    proc = (f"Batur-Kim sequential feasibility check, n0 = {judge.reps.first}, at most {judge.reps.most} replications a design, "
            f"error split over {judge.designs_budget} designs x {len(spec.targets)} targets (Bonferroni), common random numbers")
    if chosen is None:
        why = "the run budget ran out" if judge.budget_cut else "no design of the space was shown to meet every target"
        return (f"No design found: {why}. Targets: {tol}. Procedure: {proc}.",
                f"未找到满足全部目标的方案:{'模拟次数预算用尽' if judge.budget_cut else '在给定范围内没有方案被证明满足全部目标'}。")
    cheaper = cand[cand["cost_yuan_per_year"] < chosen.cost_yuan_per_year - 1e-9]
    undecided = cheaper[cheaper["decision"] == UNDECIDED]
    if method == "exhaustive" and spec.kind == "package":
        scope_en = "every cheaper package misses a target"
        scope_zh = "所有更便宜的改革组合均未达标"
    elif method == "exhaustive":
        scope_en = ("every cheaper design of the space misses a target (designs below one that misses a target, "
                    "and designs with fewer servers than a station's offered load, were skipped as missing it too)")
        scope_zh = "范围内所有更便宜的方案均未达标(低于未达标方案或服务台数少于到达负荷的方案按规则视为未达标)"
    elif method == "nsga2":
        scope_en = "every cheaper package the search evaluated misses a target; NSGA-II does not rule out cheaper packages it never generated"
        scope_zh = "搜索评估过的更便宜组合均未达标;遗传算法不排除未生成的更便宜组合"
    else:
        scope_en = "every cheaper design the search evaluated misses a target; the local search does not rule out cheaper designs it never evaluated"
        scope_zh = "搜索评估过的更便宜方案均未达标;局部搜索不排除未评估的更便宜方案"
    en = (f"With confidence at least {conf}: the chosen design meets every target (within its tolerance), and {scope_en}. "
          f"Targets: {tol}. Procedure: {proc}.")
    zh = f"在不低于{conf}的置信度下:所选方案满足全部目标(在容差内),且{scope_zh}。"
    if len(undecided):
        en += f" Exception: {len(undecided)} cheaper design(s) stayed undecided (listed as 'undecided')."
        zh += f" 例外:{len(undecided)}个更便宜的方案未能判定。"
    if judge.budget_cut:
        en += " The run budget ran out during the search."
        zh += " 搜索中模拟次数预算已用尽。"
    missed = final[final["met"] == "no"]
    if len(missed):
        en += f" On fresh replications {len(missed)} target(s) were missed: see the final table."
        zh += f" 在新的独立重复中有{len(missed)}个目标未达到,见最终表。"
    return en, zh
