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
    """Mean and CI of every KPI in a long (replication, scope, kpi, value) table.

    The same numbers as :func:`mean_ci` per group (NaNs dropped; one value
    gives no interval), computed for all groups at once.
    """
    from scipy import stats as _st

    by = list(by)
    df = kpis[by + ["value"]].copy()
    v = df["value"].astype(float)
    df["value"] = v.where(np.isfinite(v))
    g = df.groupby(by, sort=False, observed=True)["value"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy()
    m = out["mean"].to_numpy(dtype=float)
    sd = out["std"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(n > 1, _st.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
        half = q * sd / np.sqrt(n)
    out = pd.DataFrame({
        **{k: out[k].to_numpy() for k in by},
        "mean": np.where(n > 0, m, np.nan),
        "ci_low": np.where(n > 1, m - half, np.nan),
        "ci_high": np.where(n > 1, m + half, np.nan),
        "std": np.where(n > 1, sd, np.nan),
        "n": n.astype(int),
    })
    return out
