"""The same numbers, digit for digit, in this process, on local worker processes and on a Dask cluster.

A replication's random streams come from the seed and its index alone, and
executors return results in replication order, so every table must be equal
exactly (not within a tolerance) whatever runs it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim import load_scenario
from sim.compare import compare
from sim.execution import DaskExecutor, LocalExecutor, executor_for, run_jobs
from sim.runner import run

ROOT = Path(__file__).resolve().parent.parent


def _short(name: str, horizon: float = 3.0):
    s = load_scenario(ROOT / "scenarios" / name)
    return s.evolve(run={**s.run.model_dump(), "horizon_working_days": horizon, "warmup_working_days": 0.5})


def _same(a, b) -> None:
    for table in ("kpis", "summary", "cases", "stations", "items"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True, obj=table)


def test_local_processes_give_the_serial_numbers_exactly():
    s = _short("county_before_reform.yaml")
    serial = run(s, 4, seed=3)
    seen = []
    parallel = run(s, 4, seed=3, workers=2, progress=lambda d, t: seen.append((d, t)))
    _same(serial, parallel)
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == [1, 2, 3, 4]


def test_compare_on_processes_keeps_common_random_numbers_exactly():
    before, after = _short("county_before_reform.yaml"), _short("county_after_reform.yaml")
    (s0, s1), t_serial = compare([before, after], 3, seed=5)
    (p0, p1), t_parallel = compare([before, after], 3, seed=5, executor=LocalExecutor(2))
    _same(s0, p0)
    _same(s1, p1)
    pd.testing.assert_frame_equal(t_serial, t_parallel, check_exact=True)


def test_the_cluster_option_and_environment_pick_dask(monkeypatch):
    monkeypatch.delenv("APPROVAL_SIM_CLUSTER", raising=False)
    assert isinstance(executor_for(3), LocalExecutor) and executor_for(3).workers == 3
    assert executor_for(1).description == "this process"


def test_a_dask_cluster_gives_the_local_numbers_exactly():
    distributed = pytest.importorskip("distributed")
    s = _short("yumen_citizen_centre_before.yaml", horizon=1.0)
    local = run_jobs({"a": (s, 3, 11, False)}, workers=1)["a"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = run_jobs({"a": (s, 3, 11, False)}, executor=DaskExecutor(client=client))["a"]
            again = run_jobs({"a": (s, 3, 11, False)}, executor=DaskExecutor(client=client))["a"]
    _same(local, remote)
    _same(remote, again)  # no cached results stand in for a second run (pure=False), and no hidden state


def test_an_unusable_cluster_is_a_message_not_a_traceback(monkeypatch, capsys):
    from sim import execution
    from sim.cli import main

    def refuse(address=None, client=None):
        raise RuntimeError("running on a cluster needs Dask: pip install -e '.[cluster]'")

    monkeypatch.setattr(execution.executors, "DaskExecutor", refuse)
    code = main(["run", str(ROOT / "scenarios" / "county_before_reform.yaml"), "--reps", "1", "--cluster", "tcp://h:8786"])
    err = capsys.readouterr().err
    assert code == 2 and "--cluster: running on a cluster needs Dask" in err and "Traceback" not in err
