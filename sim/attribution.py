"""Attribution of a saving to the reforms that make it up (Shapley values).

The marginal saving of a reform depends on which others are already on, so
each reform gets its Shapley value: its marginal effect averaged over all
orders in which the reforms could be switched on.  Every subset of reforms is
applied to the base (in the listed order) and run with the same seed and
replications (common random numbers); values are computed per replication and
summarised with Student-t 95% CIs.  Exact up to ``exact_up_to`` reforms (2^k
scenario runs); above that, ``permutations`` random orders are sampled and the
sampling error is part of the replication-to-replication spread reported.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from .reforms import apply_reform
from .runner import run
from .stats import mean_ci

__all__ = ["shapley"]


def _value(result, kpi: str, scope: str) -> np.ndarray:
    k = result.kpis
    sub = k[(k["scope"] == scope) & (k["kpi"] == kpi)].sort_values("replication")
    return sub["value"].to_numpy(dtype=float)


def shapley(base, reforms, kpi: str = "lead_time_working_days_mean", scope: str = "all",
            replications: int | None = None, seed: int | None = None,
            exact_up_to: int = 8, permutations: int = 200, progress=None) -> pd.DataFrame:
    """Shapley attribution of the change in ``kpi`` from ``base`` to base + all ``reforms``.

    ``reforms`` is a list of ``(name, params)``.  Returns one row per reform
    (reform, shapley_mean, ci_low, ci_high, share_of_total) plus a ``total`` row.
    The values of a replication add up exactly to its total change.
    """
    k = len(reforms)
    n = base.run.replications if replications is None else replications
    seed = base.run.seed if seed is None else seed
    cache: dict[frozenset, np.ndarray] = {}

    def value(subset: frozenset) -> np.ndarray:
        if subset not in cache:
            s = base
            for j in sorted(subset):
                name, params = reforms[j]
                s = apply_reform(s, name, **params)
            cache[subset] = _value(run(s, n, seed), kpi, scope)
            if progress is not None:
                progress(len(cache))
        return cache[subset]

    phi = np.zeros((k, n))
    if k <= exact_up_to:
        for i in range(k):
            others = [j for j in range(k) if j != i]
            for size in range(k):
                w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
                for combo in itertools.combinations(others, size):
                    s0 = frozenset(combo)
                    phi[i] += w * (value(s0 | {i}) - value(s0))
    else:
        rng = np.random.default_rng(seed)
        for _ in range(permutations):
            order = rng.permutation(k)
            prev = frozenset()
            for i in order:
                cur = prev | {int(i)}
                phi[i] += value(cur) - value(prev)
                prev = cur
        phi /= permutations
    total = value(frozenset(range(k))) - value(frozenset())
    rows = []
    for i, (name, _) in enumerate(reforms):
        m, lo, hi, _, _ = mean_ci(phi[i])
        rows.append((name, m, lo, hi, m / total.mean() if total.mean() != 0 else np.nan))
    m, lo, hi, _, _ = mean_ci(total)
    rows.append(("total", m, lo, hi, 1.0))
    return pd.DataFrame(rows, columns=["reform", "shapley_mean", "ci_low", "ci_high", "share_of_total"])
