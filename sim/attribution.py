"""Attribution of a saving to the reforms that make it up (Shapley values).

The marginal saving of a reform depends on which others are already on (two
reports done in parallel: dropping either alone saves nothing, dropping both
saves everything), so each reform gets its Shapley value: its marginal effect
averaged over all orders in which the reforms could be switched on.  Every
subset of reforms needed is applied to the base (in the listed order) and run
with the same seed and replications (common random numbers); values are
computed per replication and summarised with Student-t 95% CIs over
replications.

Up to ``exact_up_to`` reforms the values are exact (2^k scenario runs).  Above
that, ``permutations`` random orders are sampled, each with its reverse
(antithetic pairs); the values still add up to the total in every
replication, and ``sampling_se`` states the standard error that comes from
sampling orders, on top of the replication spread in the CI.

Besides the Shapley value each reform's effect ``alone`` (switched on by
itself) and ``last`` (switched off from the full package) are reported: the
two ends of the range its marginal effect can take.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .errors import Problem, ScenarioError
from .reforms import apply_reform
from .runner import RunResult, run
from .scenario import Scenario
from .stats import mean_ci

__all__ = ["shapley"]

COLUMNS = [
    "kpi", "scope", "reform", "shapley_mean", "ci_low", "ci_high", "share_of_total",
    "alone_mean", "last_mean", "sampling_se", "method", "n",
]


def _labels(reforms) -> list[str]:
    """Reform names, numbered by position where a reform appears more than once."""
    names = [name for name, _ in reforms]
    return [f"{x}[{i}]" if names.count(x) > 1 else x for i, x in enumerate(names)]


def _players(reforms, groups) -> tuple[list[str], list[list[int]]]:
    """(label, reform positions) of each player: a group of reforms, or a reform on its own."""
    labels = _labels(reforms)
    groups = list(groups) if groups is not None else [None] * len(reforms)
    if len(groups) != len(reforms):
        raise ValueError("groups must give one entry (or None) per reform")
    names: list[str] = []
    members: list[list[int]] = []
    for i, g in enumerate(groups):
        key = g if g is not None else labels[i]
        if g is not None and key in names:
            members[names.index(key)].append(i)
        else:
            names.append(key)
            members.append([i])
    return names, members


def shapley(
    base: Scenario,
    reforms: Sequence[tuple[str, dict]],
    kpi: str | Sequence[str] = "lead_time_working_days_mean",
    scope: str = "all",
    replications: int | None = None,
    seed: int | None = None,
    exact_up_to: int = 8,
    permutations: int = 64,
    progress: Callable[[int], None] | None = None,
    groups: Sequence[str | None] | None = None,
    prepare: Callable[[Scenario], Scenario] | None = None,
    run_many: Callable[[dict], dict] | None = None,
) -> pd.DataFrame:
    """Shapley attribution of the change in ``kpi`` from ``base`` to base + all ``reforms``.

    ``reforms`` is a list of ``(name, params)``; ``kpi`` one KPI name or several
    (the runs are shared).  ``groups`` (one label or None per reform) makes
    reforms with the same label one player, switched on together: use it for
    reforms that need each other (one creates the window another names).  Returns one row per KPI and reform plus a
    ``total`` row per KPI, with columns ``COLUMNS``; ``shapley_mean`` and its
    CI are in the KPI's unit, and the values of a replication add up exactly
    to its total change.  ``prepare`` (e.g. the shared assumption set) is
    applied to every scenario after its reforms, before it runs.  ``run_many``
    (``{key: (scenario, replications, seed, trace)} -> {key: RunResult}``, e.g.
    on every core) runs all the subsets needed in one batch; the numbers are
    the same as one by one.
    """
    kpis = [kpi] if isinstance(kpi, str) else list(kpi)
    if not reforms:
        raise ValueError("no reforms to attribute")
    names, members = _players(reforms, groups)
    k = len(names)
    n = base.run.replications if replications is None else replications
    seed = base.run.seed if seed is None else seed
    runs: dict[frozenset, RunResult] = {}

    def scenario_of(subset: frozenset) -> Scenario:
        s = base
        for j in sorted(i for p in subset for i in members[p]):
            name, params = reforms[j]
            try:
                s = apply_reform(s, name, **params)
            except ScenarioError as exc:
                on = ", ".join(names[p] for p in sorted(subset))
                off = ", ".join(names[p] for p in range(k) if p not in subset) or "none"
                raise ScenarioError(
                    [Problem(f"reforms[{j}]", f"{name} fails when only {on} are on (off: {off}): {q}; "
                             "give reforms that need each other the same 'group' to switch them on together")
                     for q in exc.problems],
                    "attribution",
                ) from None
        return prepare(s) if prepare is not None else s

    def result(subset: frozenset) -> RunResult:
        if subset not in runs:
            runs[subset] = run(scenario_of(subset), n, seed)
            if progress is not None:
                progress(len(runs))
        return runs[subset]

    exact = k <= exact_up_to
    if exact:
        orders = None
    else:
        rng = np.random.default_rng(seed)
        half = max(1, math.ceil(permutations / 2))
        orders = []
        for _ in range(half):
            o = [int(x) for x in rng.permutation(k)]
            orders += [o, o[::-1]]
    full, empty = frozenset(range(k)), frozenset()
    if run_many is not None:  # every subset the values need, in one batch
        if exact:
            needed = {frozenset(c) for size in range(k + 1) for c in itertools.combinations(range(k), size)}
        else:
            needed = {empty, full} | {frozenset(o[:j]) for o in orders for j in range(1, k + 1)}
            needed |= {frozenset({i}) for i in range(k)} | {full - {i} for i in range(k)}
        runs.update(run_many({sub: (scenario_of(sub), n, seed, False) for sub in needed}))
    rows = []
    for name_kpi in kpis:
        def v(subset: frozenset) -> np.ndarray:
            return result(subset).values(name_kpi, scope)

        phi = np.zeros((k, n))
        sampling_se = np.zeros(k)
        if exact:
            for i in range(k):
                others = [j for j in range(k) if j != i]
                for size in range(k):
                    w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
                    for combo in itertools.combinations(others, size):
                        s0 = frozenset(combo)
                        phi[i] += w * (v(s0 | {i}) - v(s0))
        else:
            marg = np.zeros((k, len(orders)))  # marginal of reform i in order p (mean over replications)
            for p, order in enumerate(orders):
                prev = empty
                for i in order:
                    cur = prev | {i}
                    d = v(cur) - v(prev)
                    phi[i] += d
                    marg[i, p] = d.mean()
                    prev = cur
            phi /= len(orders)
            pairs = marg.reshape(k, -1, 2).mean(axis=2)  # antithetic pairs are the independent units
            sampling_se = pairs.std(axis=1, ddof=1) / math.sqrt(pairs.shape[1]) if pairs.shape[1] > 1 else np.full(k, np.nan)
        total = v(full) - v(empty)
        tmean = total.mean()
        method = "exact" if exact else f"sampled ({len(orders)} orders)"
        for i, name in enumerate(names):
            m, lo, hi, _, nrep = mean_ci(phi[i])
            alone = (v(frozenset({i})) - v(empty)).mean()
            last = (v(full) - v(full - {i})).mean()
            share = m / tmean if tmean != 0 else np.nan
            rows.append((name_kpi, scope, name, m, lo, hi, share, alone, last, float(sampling_se[i]), method, nrep))
        m, lo, hi, _, nrep = mean_ci(total)
        rows.append((name_kpi, scope, "total", m, lo, hi, 1.0, tmean, tmean, 0.0, method, nrep))
    return pd.DataFrame(rows, columns=COLUMNS)
