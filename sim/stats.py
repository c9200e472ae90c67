"""Summaries over replications: means with Student-t confidence intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["mean_ci", "summarise"]


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """(mean, ci_low, ci_high, std, n) of replication values, NaNs dropped.

    The interval is mean +- t(level, n-1) * s / sqrt(n); with one value the
    bounds are NaN (no interval from a single replication).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n == 1:
        return (m, math.nan, math.nan, math.nan, 1)
    s = float(x.std(ddof=1))
    from scipy import stats as _st  # imported here: keeps the CLI quick to start

    half = float(_st.t.ppf(0.5 + level / 2, n - 1)) * s / math.sqrt(n)
    return (m, m - half, m + half, s, n)


def summarise(kpis: pd.DataFrame, level: float = 0.95, by=("scope", "kpi")) -> pd.DataFrame:
    """Mean and CI of every KPI in a long (replication, scope, kpi, value) table."""
    rows = []
    for key, grp in kpis.groupby(list(by), sort=False, observed=True):
        m, lo, hi, s, n = mean_ci(grp["value"].to_numpy(), level)
        rows.append((*key, m, lo, hi, s, n))
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "std", "n"])
