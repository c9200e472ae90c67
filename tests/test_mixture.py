"""The ``mixture`` distribution against its formulas and a hand-computed run.

For weights p_k and components X_k: mean = sum p_k E[X_k], variance =
sum p_k (Var X_k + E[X_k]^2) - mean^2.  The case here: 25% exactly 0 and 75%
gamma(mean 8, cv 0.5), so mean 6 and variance 0.75 (16 + 64) - 36 = 24.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import ScenarioError, simulate
from sim.distributions import Mixture, as_distribution
from tests.helpers import scenario

HURDLE = {"dist": "mixture", "weights": [0.25, 0.75], "components": [0, {"dist": "gamma", "mean": 8, "cv": 0.5}]}


def test_mean_and_variance_are_the_formulas_and_samples_agree():
    d = as_distribution(HURDLE)
    assert isinstance(d, Mixture) and d.mean == pytest.approx(6.0) and d.variance == pytest.approx(24.0)
    x = d.sample(np.random.default_rng(1), 400_000)
    # 400,000 draws: the mean's standard error is sqrt(24 / 400,000) = 0.0077; tolerance 5 of them
    assert x.mean() == pytest.approx(6.0, abs=0.04)
    assert x.var() == pytest.approx(24.0, rel=0.02)
    assert (x == 0).mean() == pytest.approx(0.25, abs=0.004)  # binomial sd 0.0007
    assert as_distribution({**HURDLE, "weights": [1, 3]}).mean == pytest.approx(6.0)  # weights are normalised
    doubled = d.scaled(2)
    assert doubled.mean == pytest.approx(12.0) and doubled.variance == pytest.approx(96.0)


def test_a_step_drawn_from_a_mixture_takes_one_of_its_values():
    """A sign-off step of 0 minutes in 25% of cases and 120 in the rest, ample staff, always open: every case's
    government time is exactly 0 or 120, and 120 in about 75% (some 2,000 cases: binomial sd 1 point)."""
    s = scenario(
        items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10, "result_delivery": "electronic",
                "steps": [{"role": "clerk", "minutes": {"dist": "mixture", "weights": [0.25, 0.75], "components": [0, 120]}}]}],
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 5000}}],
        windows=[{"id": "w", "site": "hall", "positions": 5000, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 40}, "flow": [{"item": "x"}]}],
        run={"horizon_working_days": 50},
    )
    c = simulate(s, seed=4).cases
    gov = c["government_time_working_days"].to_numpy() * 1440
    assert len(c) > 1800
    assert np.all(np.isclose(gov, 0, atol=1e-6) | np.isclose(gov, 120, atol=1e-6))
    assert np.isclose(gov, 120, atol=1e-6).mean() == pytest.approx(0.75, abs=0.04)


@pytest.mark.parametrize("minutes, where, words", [
    ({"dist": "mixture", "weights": [0.5, 0.5], "components": [0, {"dist": "mixture", "weights": [1], "components": [3]}]},
     "items[0].steps[0].minutes.components[1]", "expected a number or a mapping with 'dist' one of: fixed, exponential, "
     "uniform, triangular, lognormal, gamma, empirical (a mixture's components cannot be mixtures)"),
    ({"dist": "mixture", "weights": [0.5], "components": [0, 4]},
     "items[0].steps[0].minutes", "weights has 1 entries but components has 2"),
    ({"dist": "mixture", "weights": [0, 0], "components": [1, 4]},
     "items[0].steps[0].minutes", "weights must not all be zero"),
])
def test_bad_mixtures_name_the_field(minutes, where, words):
    with pytest.raises(ScenarioError) as e:
        scenario(items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10,
                         "steps": [{"role": "clerk", "minutes": minutes}]}],
                 departments=[{"id": "d", "site": "hall", "staff": {"clerk": 1}}],
                 case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}])
    problems = e.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    assert f"{where}: {words}" in str(e.value), str(e.value)
