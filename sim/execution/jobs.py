"""Replications of many scenarios, on any executor, combined per scenario.

Each task is one replication of one scenario; its random numbers come from
(seed, replication index) alone, so the results are the same on one process,
many, or a cluster.  Scenarios travel to the workers as pickled objects
(cached per worker by content hash).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Hashable

from ..engine import simulate
from ..runner import RunResult, combine
from ..scenario import Scenario
from .executors import Executor, LocalExecutor

__all__ = ["Job", "run_jobs"]

Job = tuple  # (scenario, replications, seed, trace[, tables])
"""``tables``: True keeps the per-case tables; False computes them and sends back only the KPIs
(exact quantiles); "summary" runs summary-only (``simulate(per_case=False)``: no tables at all)."""

_CACHE: dict[str, Scenario] = {}


def _replication(args):
    data, digest, seed, r, trace, tables = args
    s = _CACHE.get(digest)
    if s is None:  # a Scenario travels as itself (it pickles); plain data is validated once per worker
        s = _CACHE[digest] = data if isinstance(data, Scenario) else Scenario.from_dict(data)
    rep = simulate(s, seed=seed, replication=r, trace=trace, per_case=tables != "summary")
    if tables is not True:  # only the KPIs travel back
        rep = replace(rep, cases=rep.cases.iloc[0:0], items=None, stations_by_hour=rep.stations_by_hour.iloc[0:0])
    return rep


def run_jobs(
    jobs: dict[Hashable, Job],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> dict[Hashable, RunResult]:
    """Run every job's replications and combine them per job.

    ``executor`` is where they run (default: a :class:`LocalExecutor` with
    ``workers`` processes, every core if None; 1 runs in this process).
    """
    tasks, keys = [], []
    for key, (scenario, n, seed, trace, *rest) in jobs.items():
        tables = rest[0] if rest else True
        digest = scenario.content_hash()
        tasks += [(scenario, digest, seed, r, trace, tables) for r in range(n)]
        keys += [key] * n
    executor = executor or LocalExecutor(workers)
    reps: dict[Hashable, list] = {key: [] for key in jobs}
    for key, rep in zip(keys, executor.map(_replication, tasks, progress)):
        reps[key].append(rep)
    return {key: combine(jobs[key][0], jobs[key][2], reps[key]) for key in jobs}
