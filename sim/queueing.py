"""Closed-form queueing results, for verification and for quick staffing estimates.

Rates are per minute, times in minutes.  ``lam`` is the arrival rate, ``mu``
the service rate of one server, ``c`` the number of servers.
"""

from __future__ import annotations

import math

__all__ = [
    "erlang_c",
    "erlang_c_wait",
    "mm1_wait",
    "mg1_wait",
    "allen_cunneen_wait",
    "min_servers",
]


def _check(lam: float, mu: float, c: int) -> float:
    if lam <= 0 or mu <= 0 or c < 1:
        raise ValueError("need lam > 0, mu > 0 and c >= 1")
    a = lam / mu
    if a >= c:
        raise ValueError(f"unstable: offered load {a:g} >= servers {c}")
    return a


def erlang_c(lam: float, mu: float, c: int) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang C)."""
    a = _check(lam, mu, c)
    # stable recursion through Erlang B: B(0)=1, B(k)=a B(k-1) / (k + a B(k-1))
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho + rho * b)


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue: C(c, a) / (c mu - lam)."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def mm1_wait(lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/1 queue: rho / (mu - lam)."""
    _check(lam, mu, 1)
    return (lam / mu) / (mu - lam)


def mg1_wait(lam: float, mean_service: float, var_service: float) -> float:
    """Pollaczek-Khinchine mean wait of an M/G/1 queue: lam E[S^2] / (2 (1 - rho))."""
    rho = lam * mean_service
    if rho >= 1:
        raise ValueError(f"unstable: utilisation {rho:g} >= 1")
    return lam * (var_service + mean_service**2) / (2 * (1 - rho))


def allen_cunneen_wait(lam: float, mu: float, c: int, ca2: float, cs2: float) -> float:
    """Allen-Cunneen approximation of the G/G/c mean wait (exact for M/M/c).

    ``ca2`` and ``cs2`` are the squared coefficients of variation of
    inter-arrival and service times.
    """
    return erlang_c_wait(lam, mu, c) * (ca2 + cs2) / 2


def min_servers(lam: float, mu: float, max_wait: float, ca2: float = 1.0, cs2: float = 1.0) -> int:
    """Fewest servers whose (approximate) mean wait is at most ``max_wait`` minutes."""
    c = max(1, math.floor(lam / mu) + 1)
    while allen_cunneen_wait(lam, mu, c, ca2, cs2) > max_wait:
        c += 1
    return c
