"""Duration distributions fitted to observed values and chosen by an information criterion.

Candidates are the scenario format's own families (so the choice can be
written into a scenario): exponential, gamma and lognormal, each fitted by
maximum likelihood with SciPy (location fixed at 0), compared by AIC; the
Kolmogorov-Smirnov distance of each is reported beside it.  Zeros (a step
done the same day a log only dates) cannot come from these families.  When
they are at least ``zero_share`` of the values they are a point mass of
their own: the distribution is a mixture of 0 (with the zeros' share) and
the family chosen for the other values (a hurdle model).  Fewer zeros are
moved to ``floor`` before fitting; how many were moved is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Fit", "fit_duration"]


@dataclass(frozen=True)
class Fit:
    """The chosen distribution as scenario data, with every candidate's criteria."""

    distribution: dict
    candidates: pd.DataFrame  # family, aic, ks_distance, mean, cv, chosen
    n: int
    zeros_moved: int
    floor: float
    zero_share: float = 0.0  # the point mass at 0 (0 when zeros were moved to the floor)

    @property
    def family(self) -> str:
        """The family fitted to the values (the non-zero part of a mixture)."""
        d = self.distribution
        return d["components"][1]["dist"] if d["dist"] == "mixture" else d["dist"]

    @property
    def mean(self) -> float:
        d = self.distribution
        if d["dist"] == "mixture":
            part = d["components"][1]
            return d["weights"][1] * part.get("mean", part.get("value", 0.0))
        return d.get("mean", d.get("value", 0.0))

    def describe(self) -> str:
        """E.g. "gamma" or "0 in 62% of cases, else lognormal" or "lognormal; 3 zeros moved to 0.05"."""
        if self.zero_share > 0:
            p = self.zero_share
            share = f"{p:.0%}" if 0.01 <= p <= 0.99 else f"{p:.1%}"
            return f"0 in {share} of cases, else {self.family}"
        return self.family + (f"; {self.zeros_moved} zeros moved to {self.floor:g}" if self.zeros_moved else "")


def _lognormal(x):
    s, _, scale = stats.lognorm.fit(x, floc=0)
    mean = scale * math.exp(s * s / 2)
    cv = math.sqrt(math.exp(s * s) - 1)
    return {"dist": "lognormal", "mean": mean, "cv": cv}, stats.lognorm(s, 0, scale), 2


def _gamma(x):
    a, _, scale = stats.gamma.fit(x, floc=0)
    return {"dist": "gamma", "mean": a * scale, "cv": max(1 / math.sqrt(a), 1e-3)}, stats.gamma(a, 0, scale), 2


def _exponential(x):
    _, scale = stats.expon.fit(x, floc=0)
    return {"dist": "exponential", "mean": scale}, stats.expon(0, scale), 1


FAMILIES = {"exponential": _exponential, "gamma": _gamma, "lognormal": _lognormal}


def fit_duration(values, floor: float = 0.05, digits: int = 4, zero_share: float = 0.05) -> Fit:
    """The family with the lowest AIC for ``values`` (non-negative; NaN dropped), its parameters rounded to ``digits``;
    with at least ``zero_share`` of them below ``floor``, those are a point mass at 0 mixed with the family."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        raise ValueError("no values to fit")
    if (x < 0).any():
        raise ValueError(f"durations must be >= 0; {int((x < 0).sum())} are negative")
    zeros = int((x < floor).sum())
    p0 = zeros / len(x)
    if p0 >= 1:
        table = pd.DataFrame([{"family": "fixed", "aic": math.nan, "ks_distance": math.nan, "mean": 0.0, "cv": 0.0,
                               "chosen": True}])
        return Fit({"dist": "fixed", "value": 0.0}, table, len(x), 0, floor, 1.0)
    if p0 >= zero_share:
        rest = _fit(x[x >= floor], floor, digits)
        w = round(p0, digits)
        mixture = {"dist": "mixture", "weights": [w, round(1 - w, digits)], "components": [0.0, rest.distribution]}
        return Fit(mixture, rest.candidates, len(x), 0, floor, p0)
    return _fit(x, floor, digits)


def _fit(x: np.ndarray, floor: float, digits: int) -> Fit:
    zeros = int((x < floor).sum())
    x = np.maximum(x, floor)
    if len(x) < 3 or np.ptp(x) == 0:  # nothing to fit a shape to: a fixed value
        v = float(np.mean(x))
        table = pd.DataFrame([{"family": "fixed", "aic": math.nan, "ks_distance": math.nan, "mean": v, "cv": 0.0,
                               "chosen": True}])
        return Fit({"dist": "fixed", "value": round(v, digits)}, table, len(x), zeros, floor)
    rows, best = [], None
    for name, fit in FAMILIES.items():
        try:
            spec, frozen, k = fit(x)
            ll = float(np.sum(frozen.logpdf(x)))
        except (ValueError, RuntimeError, FloatingPointError):
            continue
        if not math.isfinite(ll):
            continue
        aic = 2 * k - 2 * ll
        ks = float(stats.kstest(x, frozen.cdf).statistic)
        rows.append({"family": name, "aic": aic, "ks_distance": ks, "mean": spec["mean"], "cv": spec.get("cv", 1.0)})
        if best is None or aic < best[0]:
            best = (aic, name, spec)
    table = pd.DataFrame(rows)
    table["chosen"] = table["family"] == best[1]
    spec = {k: (v if isinstance(v, str) else round(float(v), digits)) for k, v in best[2].items()}
    return Fit(spec, table.sort_values("aic", ignore_index=True), len(x), zeros, floor)
