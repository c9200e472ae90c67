"""Comparing scenarios with common random numbers.

Every scenario runs replications ``0..n-1`` of the same seed, so replication
``r`` of each sees the same arrivals and work content wherever the scenarios
share them.  Differences and compression rates (压缩率 = 1 - new/old) are
computed per replication (paired) and summarised with Student-t 95% CIs.
Compression rates are given for KPIs where less is better (times, waits,
trips, returns); for shares where more is better the difference says it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .kpis import KPIS
from .runner import RunResult, run
from .stats import mean_ci

__all__ = ["compare", "comparison_table"]


def compare(
    scenarios, replications: int | None = None, seed: int | None = None, progress=None, *, workers: int | None = 1, executor=None
) -> tuple[list[RunResult], pd.DataFrame]:
    """Run all scenarios with the same seed and replications; returns (results, table).

    The first scenario is the base.  Defaults come from the base's run settings.
    Replication r of every scenario uses the same streams (common random
    numbers).  ``workers``/``executor`` as in :func:`sim.runner.run`: every
    replication of every scenario is one task, so all of them share the cores.
    """
    base = scenarios[0]
    n = base.run.replications if replications is None else replications
    seed = base.run.seed if seed is None else seed
    if executor is not None or workers != 1:
        from .execution import run_jobs

        done = run_jobs({k: (s, n, seed, False) for k, s in enumerate(scenarios)}, workers, progress, executor)
        results = [done[k] for k in range(len(scenarios))]
        return results, comparison_table(results)
    results = []
    for k, s in enumerate(scenarios):
        results.append(run(s, n, seed, progress=(lambda d, t, k=k: progress(k * n + d, len(scenarios) * n)) if progress else None))
    return results, comparison_table(results)


def comparison_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per (scenario, scope, KPI): value, paired difference and compression rate with CIs."""
    base = results[0].kpis.set_index(["scope", "kpi", "replication"])["value"]
    rows = []
    for k, res in enumerate(results):
        cur = res.kpis.set_index(["scope", "kpi", "replication"])["value"]
        joined = pd.concat({"base": base, "new": cur}, axis=1, join="inner")
        for (scope, kpi), grp in joined.groupby(level=["scope", "kpi"], sort=False):
            b = grp["base"].to_numpy()
            v = grp["new"].to_numpy()
            m, lo, hi, _, nrep = mean_ci(v)
            dm, dlo, dhi, _, _ = mean_ci(v - b)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(b != 0, 1.0 - v / b, np.nan)
            if kpi in KPIS and KPIS[kpi].higher_is_better:
                ratio = np.full_like(v, np.nan)  # 压缩率 describes reductions of times, trips, waits
            cm, clo, chi, _, _ = mean_ci(ratio)
            rows.append((k, res.scenario.name, scope, kpi, m, lo, hi, dm, dlo, dhi, cm, clo, chi, nrep))
    return pd.DataFrame(
        rows,
        columns=[
            "index", "scenario", "scope", "kpi", "mean", "ci_low", "ci_high",
            "diff_mean", "diff_ci_low", "diff_ci_high",
            "compression_mean", "compression_ci_low", "compression_ci_high", "n",
        ],
    )
