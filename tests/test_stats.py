"""Summaries over replications: the vectorised summary equals the per-group definition."""

import numpy as np
import pandas as pd

from sim.stats import mean_ci, summarise


def test_summarise_matches_mean_ci_group_by_group():
    rng = np.random.default_rng(1)
    rows = []
    for r in range(5):
        for sc in range(40):
            for k in range(6):
                v = rng.normal(10, 3) if (sc + k + r) % 7 else np.nan  # NaNs are dropped per group
                rows.append((r, f"s{sc}", f"k{k}", v))
    rows += [(0, "one", "k", 3.0), (0, "none", "k", np.nan), (1, "none", "k", np.inf)]
    df = pd.DataFrame(rows, columns=["replication", "scope", "kpi", "value"])
    out = summarise(df).set_index(["scope", "kpi"])
    assert len(out) == 40 * 6 + 2
    for (scope, kpi), grp in df.groupby(["scope", "kpi"], sort=False):
        ref = mean_ci(grp["value"].to_numpy())
        got = out.loc[(scope, kpi), ["mean", "ci_low", "ci_high", "std", "n"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, np.array(ref, dtype=float), rtol=1e-12, equal_nan=True)
    assert list(out.loc[("one", "k"), ["mean", "n"]]) == [3.0, 1]
    assert np.isnan(out.loc[("none", "k"), "mean"]) and out.loc[("none", "k"), "n"] == 0
