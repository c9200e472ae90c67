"""Verification of the engine's queues against exact queueing theory.

Each engine run is an open-all-hours (``always_open``) model with Poisson
arrivals, so the textbook formulas apply exactly in steady state:

* M/M/1 mean wait ``rho / (mu - lam)`` and utilisation ``rho``;
* M/M/c mean wait by Erlang C;
* M/D/1 and M/G/1 by Pollaczek-Khinchine;
* a tandem of two single-server windows (Jackson / Burke: each is M/M/1);
* Little's law at a station (``L = lambda W`` on the same sample path);
* a back-office role with c staff behind a zero-service window is M/M/c.

Tolerances.  Waiting times of successive customers are strongly correlated,
so the standard error of a mean wait comes from *batch means*: customers in
arrival order are cut into 20 batches of 2,000-4,000 customers, far longer
than the relaxation time of these queues (of order 1 / (mu (1 - sqrt rho)^2),
i.e. at most ~100 services at rho <= 0.8), so batch means are nearly independent.
The exact value must lie in the 99.9% Student-t band (19 df, +-3.88 s.e.)
around the estimate, and that band must itself be narrower than a stated
share of the exact value so a too-short run cannot pass by being vague.  With
40-80k customers the relative standard error of a mean wait is 2-8%, so the
bands are about +-8-30% (widest for the heavy-tailed lognormal service).
Warm-up: ~1,000 arrivals (about 10 relaxation times) are discarded so the
empty start does not bias the mean.

Utilisation and throughput are compared with a normal 99.9% band from their
compound-Poisson variance (see each test).  Seeds are fixed, so the tests are
deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import (
    ALWAYS_OPEN,
    assert_matches,
    batch_means,
    half_width,
    scenario,
    single_station,
)
from sim import simulate
from sim.distributions import as_distribution
from sim.queueing import (
    allen_cunneen_wait,
    erlang_c,
    erlang_c_wait,
    mg1_wait,
    min_servers,
    mm1_wait,
)


# -- sim.queueing itself, against hand values ---------------------------------------------------
def _erlang_c_by_sum(a: float, c: int) -> float:
    """Erlang C from its textbook definition (direct sums), independent of the library's recursion."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_erlang_c_single_server_is_rho(rho):
    # M/M/1: an arrival waits exactly when the server is busy, probability rho
    assert erlang_c(rho, 1.0, 1) == pytest.approx(rho, rel=1e-12)
    assert erlang_c_wait(rho, 1.0, 1) == pytest.approx(mm1_wait(rho, 1.0), rel=1e-12)


def test_erlang_c_textbook_values():
    # c = 2, a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3
    assert erlang_c(1.0, 1.0, 2) == pytest.approx(1 / 3, rel=1e-12)
    # c = 3, a = 2: C = (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9
    assert erlang_c(2.0, 1.0, 3) == pytest.approx(4 / 9, rel=1e-12)
    # mean wait c = 2, a = 1, mu = 1: C / (c mu - lam) = (1/3) / 1
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx(1 / 3, rel=1e-12)
    # rates only enter through a = lam / mu: same C in minutes or hours
    assert erlang_c(0.5, 0.25, 3) == pytest.approx(erlang_c(2.0, 1.0, 3), rel=1e-12)
    # the recursion agrees with the direct sums, also for many servers
    for a, c in [(2.4, 3), (9.0, 10), (45.0, 50), (0.3, 4)]:
        assert erlang_c(a, 1.0, c) == pytest.approx(_erlang_c_by_sum(a, c), rel=1e-10)


def test_mm1_and_pollaczek_khinchine_hand_values():
    assert mm1_wait(0.5, 1.0) == pytest.approx(1.0)  # 0.5 / (1 - 0.5)
    assert mm1_wait(0.8, 1.0) == pytest.approx(4.0)
    # exponential service (variance = mean^2) reduces P-K to M/M/1
    assert mg1_wait(0.7, 1.0, 1.0) == pytest.approx(mm1_wait(0.7, 1.0), rel=1e-12)
    # deterministic service halves the M/M/1 wait: 0.7 * 1 / (2 * 0.3)
    assert mg1_wait(0.7, 1.0, 0.0) == pytest.approx(0.7 / 0.6, rel=1e-12)
    # Allen-Cunneen is exact for M/M/c and scales with (ca2 + cs2) / 2
    assert allen_cunneen_wait(0.8, 1 / 3, 3, 1.0, 1.0) == pytest.approx(erlang_c_wait(0.8, 1 / 3, 3))
    assert allen_cunneen_wait(0.8, 1 / 3, 3, 1.0, 0.0) == pytest.approx(erlang_c_wait(0.8, 1 / 3, 3) / 2)
    # fewest servers: load 2.4 needs 3; waiting target decides beyond that
    assert min_servers(0.8, 1 / 3, max_wait=1e9) == 3
    c = min_servers(0.8, 1 / 3, max_wait=0.5)
    assert erlang_c_wait(0.8, 1 / 3, c) <= 0.5 < erlang_c_wait(0.8, 1 / 3, c - 1)
    for bad in [lambda: mm1_wait(1.0, 1.0), lambda: erlang_c(3.0, 1.0, 3), lambda: mg1_wait(1.2, 1.0, 0.0)]:
        with pytest.raises(ValueError):
            bad()


# -- engine against the formulas ----------------------------------------------------------------
def _window_waits(rep) -> np.ndarray:
    """Per-customer window waits in arrival order (case ids are assigned at arrival)."""
    return rep.cases.sort_values("case")["window_wait_minutes"].to_numpy()


def _utilisation_band(lam: float, second_moment: float, horizon_minutes: float, c: int) -> float:
    """99.9% half-width of a utilisation estimate.

    Busy time over the horizon T is about the work brought by the N ~ Poisson(lam T)
    arrivals, a compound Poisson sum with variance lam T E[S^2]; the
    utilisation is that over c T.
    """
    return half_width(math.sqrt(lam * horizon_minutes * second_moment) / (c * horizon_minutes), None)


def test_mm1_wait_and_utilisation():
    lam, mu = 0.7, 1.0
    s = single_station({"dist": "exponential", "mean": 1 / mu}, rate_per_minute=lam, customers=60_000)
    rep = simulate(s, seed=101)
    waits = _window_waits(rep)
    mean, se, df = batch_means(waits)
    exact = mm1_wait(lam, mu)  # 2.333 minutes
    assert_matches(mean, se, df, exact, max_rel_half_width=0.25, what="M/M/1 mean wait")
    # the KPI is the same mean over the same customers
    assert rep.kpi("queue_wait_minutes_mean") == pytest.approx(waits.mean(), rel=1e-12)
    assert rep.kpi("window_wait_minutes_mean") == pytest.approx(waits.mean(), rel=1e-12)

    T = s.run.horizon_working_days * 1440.0
    util = rep.kpi("utilisation", "station:w")
    assert abs(util - lam / mu) <= _utilisation_band(lam, 2 / mu**2, T, 1), util
    # services started per day: Poisson count, sd sqrt(lam T)
    per_day = rep.kpi("visits_per_day", "station:w")
    assert abs(per_day - lam * 1440) <= half_width(math.sqrt(lam * T), None) / s.run.horizon_working_days


def test_mmc_erlang_c_c3_rho08():
    c, mean_service, rho = 3, 3.0, 0.8
    lam = rho * c / mean_service  # 0.8 per minute
    s = single_station(
        {"dist": "exponential", "mean": mean_service}, rate_per_minute=lam, customers=80_000, positions=c
    )
    rep = simulate(s, seed=202)
    mean, se, df = batch_means(_window_waits(rep))
    exact = erlang_c_wait(lam, 1 / mean_service, c)  # 3.236 minutes
    assert_matches(mean, se, df, exact, max_rel_half_width=0.35, what="M/M/3 mean wait")
    T = s.run.horizon_working_days * 1440.0
    util = rep.kpi("utilisation", "station:w")
    assert abs(util - rho) <= _utilisation_band(lam, 2 * mean_service**2, T, c), util


@pytest.mark.parametrize(
    "service",
    [
        pytest.param({"dist": "fixed", "value": 1.0}, id="M/D/1"),
        pytest.param({"dist": "gamma", "mean": 1.0, "cv": 0.5}, id="M/G/1-gamma-cv0.5"),
        pytest.param({"dist": "lognormal", "mean": 1.0, "cv": 1.25}, id="M/G/1-lognormal-cv1.25"),
        pytest.param({"dist": "uniform", "low": 0.5, "high": 1.5}, id="M/G/1-uniform"),
    ],
)
def test_mg1_pollaczek_khinchine(service):
    lam = 0.7
    d = as_distribution(service)
    s = single_station(service, rate_per_minute=lam, customers=50_000)
    rep = simulate(s, seed=303)
    mean, se, df = batch_means(_window_waits(rep))
    exact = mg1_wait(lam, d.mean, d.variance)
    # typical 99.9% half-widths at 50k customers: 8-10% (deterministic, gamma, uniform),
    # 15-30% for the heavy-tailed lognormal; the guard allows about twice that
    limit = 0.45 if service["dist"] == "lognormal" else 0.2
    assert_matches(mean, se, df, exact, max_rel_half_width=limit, what=f"{service['dist']} P-K wait")
    T = s.run.horizon_working_days * 1440.0
    util = rep.kpi("utilisation", "station:w")
    assert abs(util - lam * d.mean) <= _utilisation_band(lam, d.variance + d.mean**2, T, 1), util


def _tandem(lam=0.7, mean1=1.0, mean2=0.8 / 0.7, customers=40_000):
    per_day = lam * 1440
    return scenario(
        items=[
            {"id": "a", "department": "d", "kind": "immediate", "intake_minutes": {"dist": "exponential", "mean": mean1}},
            {"id": "b", "department": "d", "kind": "immediate", "intake_minutes": {"dist": "exponential", "mean": mean2}},
        ],
        windows=[
            {"id": "w1", "site": "hall", "positions": 1, "items": ["a"]},
            {"id": "w2", "site": "hall", "positions": 1, "items": ["b"]},
        ],
        case_types=[{"id": "customer", "arrivals": {"per_day": per_day}, "flow": [{"item": "a"}, {"item": "b"}]}],
        run={"horizon_working_days": customers / per_day, "warmup_working_days": 1000 / per_day},
    )


def test_tandem_two_windows_is_two_mm1_queues():
    """Jackson / Burke: the departures of an M/M/1 queue are Poisson(lam), so the
    second window is again M/M/1 and each station's wait has the M/M/1 value."""
    lam, mean1, mean2 = 0.7, 1.0, 0.8 / 0.7  # rho 0.7 then 0.8
    s = _tandem(lam, mean1, mean2)
    rep = simulate(s, seed=404, trace=True)
    tr = rep.trace
    t_warm = s.run.warmup_working_days * 1440
    t_end = t_warm + s.run.horizon_working_days * 1440
    for act, station, mean_s, limit in (("intake:a", "w1", mean1, 0.3), ("intake:b", "w2", mean2, 0.45)):
        v = tr[(tr["activity"] == act) & (tr["enabled_minute"] >= t_warm) & (tr["enabled_minute"] < t_end)]
        v = v.sort_values("enabled_minute")
        waits = (v["start_minute"] - v["enabled_minute"]).to_numpy()
        # the station KPI is the same mean, over visits that entered during the horizon
        assert rep.kpi("wait_minutes_mean", f"station:{station}") == pytest.approx(waits.mean(), rel=1e-9)
        mean, se, df = batch_means(waits)
        assert_matches(mean, se, df, mm1_wait(lam, 1 / mean_s), max_rel_half_width=limit, what=f"tandem {station}")
    # no travel, no trips between the two windows of one site; the case wait is the sum of both
    c = rep.cases
    assert (c["travel_minutes"] == 0).all() and (c["trips"] == 1).all() and (c["window_visits"] == 2).all()


def test_littles_law_at_a_station():
    """L = lambda W on one sample path: queue_length_mean (time average over the
    horizon) equals the arrival rate of visits times their mean wait.  They differ
    only by end effects: customers queued across the two ends of the measuring
    window, of order L x W customer-minutes against n x W in total, i.e. about
    1/n ~ 1e-4 relatively (n = 10-20k); 1% is generous."""
    c, mean_service, lam = 3, 3.0, 0.8
    s = single_station(
        {"dist": "exponential", "mean": mean_service}, rate_per_minute=lam, customers=20_000, positions=c
    )
    rep = simulate(s, seed=505)
    L = rep.kpi("queue_length_mean", "station:w")
    W = rep.kpi("wait_minutes_mean", "station:w")
    lam_hat = rep.kpi("visits_per_day", "station:w") / 1440.0
    assert L == pytest.approx(lam_hat * W, rel=0.01)
    # and for the tandem, at both stations (the second sees the first's departures)
    rep2 = simulate(_tandem(customers=10_000), seed=506)
    for st in ("w1", "w2"):
        L = rep2.kpi("queue_length_mean", f"station:{st}")
        W = rep2.kpi("wait_minutes_mean", f"station:{st}")
        lam_hat = rep2.kpi("visits_per_day", f"station:{st}") / 1440.0
        assert L == pytest.approx(lam_hat * W, rel=0.01), st


def test_back_office_role_with_c_staff_is_mmc():
    """A back_office item with intake 0 and one step for a role of c staff.

    The window then does zero work: nobody waits there and it is never busy;
    the role is an M/M/c queue fed by the Poisson arrivals (the zero-length
    intake does not reorder them), so its wait is the Erlang C value.
    """
    c, mean_service, lam = 3, 3.0, 0.7  # rho = 0.7
    per_day = lam * 1440
    customers = 40_000
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": c}}],
        items=[
            {
                "id": "permit",
                "department": "d",
                "kind": "back_office",
                "intake_minutes": 0,
                "steps": [{"role": "clerk", "minutes": {"dist": "exponential", "mean": mean_service}}],
                "result_delivery": "electronic",
            }
        ],
        case_types=[{"id": "applicant", "arrivals": {"per_day": per_day}, "flow": [{"item": "permit"}]}],
        run={"horizon_working_days": customers / per_day, "warmup_working_days": 1000 / per_day},
        calendar=ALWAYS_OPEN,
    )
    rep = simulate(s, seed=606)
    assert rep.kpi("wait_minutes_mean", "station:w") == 0.0
    assert rep.kpi("utilisation", "station:w") == 0.0
    assert rep.kpi("window_wait_minutes_mean") == 0.0
    cases = rep.cases.sort_values("case")
    assert (cases["status"] == "completed").all()
    waits = cases["back_office_wait_minutes"].to_numpy()
    assert rep.kpi("wait_minutes_mean", "station:d.clerk") == pytest.approx(waits.mean(), rel=1e-9)
    mean, se, df = batch_means(waits)
    exact = erlang_c_wait(lam, 1 / mean_service, c)
    # typical 99.9% half-width at 40k customers ~20% (14-35% over seeds); guard at 45%
    assert_matches(mean, se, df, exact, max_rel_half_width=0.45, what="back-office M/M/3 wait")
    T = s.run.horizon_working_days * 1440.0
    util = rep.kpi("utilisation", "station:d.clerk")
    assert abs(util - lam * mean_service / c) <= _utilisation_band(lam, 2 * mean_service**2, T, c), util
