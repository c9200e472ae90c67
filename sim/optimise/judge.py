"""Judging designs: sequential feasibility decisions shared by every search.

Each design is judged by :class:`~sim.optimise.feasibility.FeasibilityCheck`
per target, on replications added a few at a time (sequential sampling:
designs near a threshold get more replications, clear ones few).  The
error of each decision is ``beta = (1 - confidence) / (designs x targets)``
(Bonferroni), so with that confidence every decision of the search is right
for every design whose KPIs are at least a tolerance away from the
thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .design import Design
from .evaluate import Evaluator
from .feasibility import FEASIBLE, INFEASIBLE, UNDECIDED, FeasibilityCheck
from .spec import OptimisationSpec

__all__ = ["Judge", "Verdict", "STEP", "INVALID", "PILOT", "NOT_JUDGED", "PRUNED_BELOW_INFEASIBLE",
           "PRUNED_QUEUEING", "OUTSIDE_LIMITS"]

STEP = 2  # replications added at a time to an undecided design (fixed: never depends on the worker count)

PRUNED_BELOW_INFEASIBLE = "skipped: below a design that misses a target"
PRUNED_QUEUEING = "skipped: fewer servers than the offered load"
OUTSIDE_LIMITS = "skipped: outside the limits"
INVALID = "invalid"
PILOT = "pilot: station loads measured (not judged)"
NOT_JUDGED = "not judged: costlier than the chosen design"


@dataclass
class Verdict:
    decision: str  # feasible / infeasible / undecided / invalid / skipped ...
    by_target: list[str] = field(default_factory=list)
    replications: int = 0
    note: str = ""


class Judge:
    """Sequential feasibility decisions for designs, sharing one evaluator and one error split."""

    def __init__(self, spec: OptimisationSpec, evaluator: Evaluator, designs_budget: int, reps):
        self.spec, self.ev, self.reps = spec, evaluator, reps
        self.alpha = 1.0 - spec.confidence
        self.designs_budget = max(1, int(designs_budget))
        self.beta = self.alpha / (self.designs_budget * max(1, len(spec.targets)))
        self.checks = [
            FeasibilityCheck(t.threshold, t.is_at_most, t.epsilon, self.beta, reps.first) for t in spec.targets
        ]
        self.eta = FeasibilityCheck(1.0, True, 1.0, self.beta, reps.first).eta
        self.verdicts: dict[tuple, Verdict] = {}
        self.order: list[Design] = []  # every design met, in the order met
        self.budget_cut = False
        self.notes: list[str] = []  # what the search could not do, for the result's notes

    @property
    def evaluated(self) -> int:
        return sum(1 for v in self.verdicts.values() if v.replications > 0)

    def note(self, d: Design, decision: str, note: str = "") -> Verdict:
        if d.key not in self.verdicts:
            self.order.append(d)
        v = self.verdicts[d.key] = Verdict(decision, note=note)
        return v

    def _verdict(self, d: Design) -> Verdict:
        n = self.ev.have(d.scenario)
        by = []
        for t, chk in zip(self.spec.targets, self.checks):
            by.append(chk.decide(self.ev.values(d.scenario, t.scope, t.kpi, n=n)))
        if INFEASIBLE in by:
            dec = INFEASIBLE
        elif all(b == FEASIBLE for b in by):
            dec = FEASIBLE
        else:
            dec = UNDECIDED
        return Verdict(dec, by, n)

    def undecided(self, designs: list[Design]) -> tuple[dict[tuple, Verdict], list[Design]]:
        """(verdicts already final, by key; the designs still to judge, each once), noting every design met."""
        out: dict[tuple, Verdict] = {}
        live: list[Design] = []
        for d in designs:
            if d.key not in self.verdicts:
                self.order.append(d)
            if d.scenario is None:
                out[d.key] = self.verdicts[d.key] = Verdict(INVALID, note=d.problem)
            elif d.key in self.verdicts and self.verdicts[d.key].decision in (FEASIBLE, INFEASIBLE):
                out[d.key] = self.verdicts[d.key]
            elif all(d.key != e.key for e in live):
                live.append(d)
        return out, live

    def judge(self, designs: list[Design]) -> list[Verdict]:
        """Decide every design (more replications while undecided, up to ``most`` each, within the budget)."""
        out, live = self.undecided(designs)
        if live and not self.ev.ensure([(d.scenario, self.reps.first) for d in live]):
            self.budget_cut = True
        while live:
            pending = []
            for d in live:
                v = self._verdict(d)
                out[d.key] = self.verdicts[d.key] = v
                if v.decision == UNDECIDED and v.replications < self.reps.most and v.replications >= self.reps.first:
                    pending.append(d)
                elif v.decision == UNDECIDED and v.replications < self.reps.first:
                    v.note = "the run budget ran out before its first replications"
            if not pending or self.ev.left == 0:
                if pending:
                    self.budget_cut = True
                    for d in pending:
                        out[d.key].note = "the run budget ran out while it was still undecided"
                break
            want = [(d.scenario, min(self.reps.most, self.ev.have(d.scenario) + STEP)) for d in pending]
            if not self.ev.ensure(want):
                self.budget_cut = True
            live = pending
        for d in designs:
            v = out[d.key]
            if v.decision == UNDECIDED and not v.note:
                v.note = f"still undecided after {v.replications} replications (the most per design)"
        return [out[d.key] for d in designs]

    def gap(self, d: Design, t) -> float:
        """How far the design's mean is past target ``t``'s threshold, in tolerances (> 0: on the wrong side)."""
        vals = self.ev.values(d.scenario, t.scope, t.kpi)
        m = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
        if not math.isfinite(m):
            return math.inf
        return ((m - t.threshold) if t.is_at_most else (t.threshold - m)) / t.epsilon

    def shortfall(self, d: Design) -> float:
        """How far a design's estimates miss the targets, in tolerances (0 when every mean meets its target)."""
        return sum(max(0.0, self.gap(d, t)) for t in self.spec.targets)


