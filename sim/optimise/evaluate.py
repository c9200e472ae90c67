"""Replications of candidate designs on demand, cached by model hash, within a run budget.

Replication ``r`` of every design uses the streams of ``(seed, r)``: common
random numbers, so designs are compared on the same arrivals and work.  The
final check uses replications from :data:`FRESH` on, which the search never
ran.  Which replications run depends only on the search's decisions, never
on the number of workers, so the answer is the same on any executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..execution.executors import Executor, LocalExecutor
from ..execution.jobs import _replication
from ..scenario import Scenario

__all__ = ["Evaluator", "FRESH"]

FRESH = 1_000_000  # first replication index of the final check's fresh replications


@dataclass
class Evaluator:
    """Runs and remembers replications; ``values(s, scope, kpi)`` reads them back in replication order."""

    seed: int
    budget_runs: int
    executor: Executor = field(default_factory=lambda: LocalExecutor(1))
    progress: Callable[[int, int], None] | None = None
    runs: int = 0
    _kpis: dict = field(default_factory=dict)  # model hash -> {replication: {(scope, kpi): value}}

    @property
    def left(self) -> int:
        return max(0, self.budget_runs - self.runs)

    def have(self, s: Scenario) -> int:
        """How many replications 0, 1, ... of ``s`` are done (in a row from 0)."""
        done = self._kpis.get(s.model_hash(), {})
        n = 0
        while n in done:
            n += 1
        return n

    def ensure(self, wanted: list[tuple[Scenario, int]], *, counted: bool = True, start: int = 0) -> bool:
        """Run what is missing so each scenario has replications ``start .. start+n-1``.

        Runs in the order given (the first designs first) and never beyond the
        budget when ``counted``; returns False if the budget cut the request.
        """
        tasks, owners, complete = [], [], True
        seen = set()
        for s, n in wanted:
            h = s.model_hash()
            done = self._kpis.setdefault(h, {})
            digest = s.content_hash()
            for r in range(start, start + n):
                if r in done or (h, r) in seen:
                    continue
                if counted and self.runs + len(tasks) >= self.budget_runs:
                    complete = False
                    break
                seen.add((h, r))
                tasks.append((s, digest, self.seed, r, False, False))
                owners.append(h)
        if not tasks:
            return complete
        if counted:
            self.runs += len(tasks)

        def keep(i: int, rep) -> None:
            k = rep.kpis
            self._kpis[owners[i]][rep.replication] = dict(zip(zip(k["scope"], k["kpi"]), k["value"].astype(float)))

        self.executor.map(_replication, tasks, self.progress, each=keep)
        return complete

    def values(self, s: Scenario, scope: str, kpi: str, *, start: int = 0, n: int | None = None) -> np.ndarray:
        """The KPI in replications ``start, start+1, ...`` (NaN where a replication has no value)."""
        done = self._kpis.get(s.model_hash(), {})
        out = []
        r = start
        while r in done and (n is None or r < start + n):
            out.append(done[r].get((scope, kpi), np.nan))
            r += 1
        return np.asarray(out, dtype=float)

    def scopes(self, s: Scenario) -> set[tuple[str, str]]:
        """Every (scope, KPI) measured for ``s``."""
        done = self._kpis.get(s.model_hash(), {})
        return set().union(*(set(v) for v in done.values())) if done else set()
