"""Scenarios travel: they pickle, deep-copy and run in a worker process with the same numbers."""

from __future__ import annotations

import copy
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario, simulate

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_pickles_and_deep_copies(path):
    s = load_scenario(path)
    again = pickle.loads(pickle.dumps(s))
    assert again == s and again.content_hash() == s.content_hash()
    assert copy.deepcopy(s) == s
    staff = next(d.staff for d in s.departments if d.staff)
    with pytest.raises(TypeError):
        staff["clerk"] = 99  # still read-only after the trip


def _lead_times(scenario):
    return simulate(scenario, seed=7).cases["lead_time_working_days"].to_numpy()


def test_a_scenario_runs_in_a_worker_process_with_the_same_numbers():
    s = load_scenario(SCENARIOS[0]).evolve(run={"horizon_working_days": 3, "drain_working_days": 60, "replications": 1})
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(_lead_times, s).result(timeout=120)
    local = _lead_times(s)
    assert len(local) > 50
    np.testing.assert_array_equal(remote, local)  # NaN (unfinished) counts as equal to NaN


def test_model_hash_ignores_labels_and_run_counts_but_not_the_model():
    s = load_scenario(SCENARIOS[0])
    relabelled = s.evolve(name="other", description="x", run={**s.run.model_dump(), "seed": 1, "replications": 3})
    assert relabelled.model_hash() == s.model_hash()
    assert relabelled.content_hash() != s.content_hash()
    longer = s.evolve(run={**s.run.model_dump(), "horizon_working_days": s.run.horizon_working_days + 1})
    assert longer.model_hash() != s.model_hash()
    fewer = s.evolve(windows=[{**w.model_dump(), "positions": w.positions + 1} if i == 0 else w.model_dump()
                              for i, w in enumerate(s.windows)])
    assert fewer.model_hash() != s.model_hash()
