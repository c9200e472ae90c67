"""Is a design's KPI on the right side of a target?  A fully sequential feasibility check.

The procedure is Batur and Kim's (2010) check for one constraint with a
triangular continuation region, the feasibility counterpart of the
Kim-Nelson selection procedure: D. Batur and S.-H. Kim, "Finding feasible
systems in the presence of constraints on multiple performance measures",
ACM TOMACS 20(3), 2010.

For a target "KPI <= q" with tolerance ``epsilon`` (values within epsilon of
q are acceptable either way), take ``n0`` replications, estimate the variance
S^2 from them, and after r replications with sum ``Y(r)``:

* declare the design feasible when ``Y(r) + R(r) <= r q``,
* declare it infeasible when ``Y(r) - R(r) >= r q``,
* else take one more replication,

where ``R(r) = max(0, (n0 - 1) S^2 eta / epsilon - epsilon r / 2)`` and
``eta = ((2 beta)^(-2/(n0-1)) - 1) / 2``.  The region closes after at most
``2 eta (n0 - 1) S^2 / epsilon^2`` replications.  If the true value is at
least epsilon from q, the decision is wrong with probability at most
``beta`` (normal replication values).  A "KPI >= q" target is the same
check on ``-KPI``.  For many targets and designs, ``beta`` is ``alpha``
split evenly over them (Bonferroni), which holds whatever the dependence
between designs, so common random numbers are allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["eta", "FeasibilityCheck", "FEASIBLE", "INFEASIBLE", "UNDECIDED"]

FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
UNDECIDED = "undecided"


def eta(beta: float, n0: int) -> float:
    """The constant of the continuation region for error ``beta`` per decision and ``n0`` first replications."""
    if not 0 < beta < 0.5:
        raise ValueError(f"beta must be in (0, 0.5) (got {beta})")
    if n0 < 2:
        raise ValueError(f"n0 must be at least 2 (got {n0})")
    return 0.5 * ((2.0 * beta) ** (-2.0 / (n0 - 1)) - 1.0)


@dataclass(frozen=True)
class FeasibilityCheck:
    """One target: ``at_most`` (KPI <= threshold) or not (KPI >= threshold), with tolerance ``epsilon``."""

    threshold: float
    at_most: bool
    epsilon: float
    beta: float
    n0: int

    def __post_init__(self):
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be > 0 (got {self.epsilon})")

    @property
    def eta(self) -> float:
        return eta(self.beta, self.n0)

    def _signed(self, values) -> tuple[np.ndarray, float]:
        y = np.asarray(values, dtype=float)
        return (y, self.threshold) if self.at_most else (-y, -self.threshold)

    def half_width(self, values) -> float:
        """R(r)/r: how far the running mean must be from the threshold for a decision now."""
        y, _ = self._signed(values)
        y = y[~np.isnan(y)]
        r = y.size
        if r < self.n0:
            return math.inf
        s2 = float(np.var(y[: self.n0], ddof=1))
        if not math.isfinite(s2):
            return math.inf
        return max(0.0, (self.n0 - 1) * s2 * self.eta / self.epsilon - self.epsilon * r / 2.0) / r

    def replications_to_close(self, values) -> int:
        """The replication count at which the region closes (a decision is certain by then)."""
        y, _ = self._signed(values)
        y = y[~np.isnan(y)]
        if y.size < self.n0:
            return self.n0
        s2 = float(np.var(y[: self.n0], ddof=1))
        if not math.isfinite(s2):
            return self.n0  # a value that is not a number decides at once (infeasible)
        return max(self.n0, math.ceil(2.0 * self.eta * (self.n0 - 1) * s2 / self.epsilon**2))

    def decide(self, values) -> str:
        """FEASIBLE, INFEASIBLE, or UNDECIDED (more replications needed) from the values so far.

        The check is made after every replication from ``n0`` on, and the
        first boundary crossed decides, so the answer does not depend on how
        many replications were added at a time.  A replication in which the
        KPI was not measured (NaN: no visit to a station, no case of a type)
        is left out: the check runs on the replications that measured it.
        (Replications share their arrivals across designs, so counting such a
        replication against a design would condemn every design at once.)
        An infinite value decides INFEASIBLE.
        """
        y, q = self._signed(values)
        y = y[~np.isnan(y)]  # a replication that did not measure the KPI tells nothing about it
        if y.size < self.n0:
            return UNDECIDED
        if np.isinf(y).any():
            return INFEASIBLE
        r = np.arange(1, y.size + 1, dtype=float)[self.n0 - 1:]
        total = np.cumsum(y)[self.n0 - 1:]
        s2 = float(np.var(y[: self.n0], ddof=1))
        big_r = np.maximum(0.0, (self.n0 - 1) * s2 * self.eta / self.epsilon - self.epsilon * r / 2.0)
        feasible = total + big_r <= r * q
        infeasible = total - big_r >= r * q
        hit = np.flatnonzero(feasible | infeasible)
        if hit.size == 0:
            return UNDECIDED
        return FEASIBLE if feasible[hit[0]] else INFEASIBLE
