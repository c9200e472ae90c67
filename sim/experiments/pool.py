"""Replications of many scenarios on every core.

Each task is one replication of one scenario; its random numbers come from
(seed, replication index) alone, so the results are the same on one process
or many.  Scenarios travel to the workers as plain data and are validated
once per worker.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Callable, Hashable

from ..engine import simulate
from ..runner import RunResult, combine
from ..scenario import Scenario

__all__ = ["Job", "run_jobs"]

Job = tuple  # (scenario, replications, seed, trace[, tables]): tables=False keeps only the KPIs

_CACHE: dict[str, Scenario] = {}


def _replication(args):
    data, digest, seed, r, trace, tables = args
    s = _CACHE.get(digest)
    if s is None:
        s = _CACHE[digest] = Scenario.from_dict(data)
    rep = simulate(s, seed=seed, replication=r, trace=trace)
    if not tables:  # only the KPIs travel back
        rep = replace(rep, cases=rep.cases.iloc[0:0], items=None, stations_by_hour=rep.stations_by_hour.iloc[0:0])
    return rep


def _worker_init() -> None:
    """Workers die at once on SIGTERM (a forked worker would otherwise inherit the command's handler)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_jobs(
    jobs: dict[Hashable, Job],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Hashable, RunResult]:
    """Run every job's replications and combine them per job.

    ``workers`` defaults to the number of cores; 1 runs in this process.
    """
    tasks = []
    for key, (scenario, n, seed, trace, *rest) in jobs.items():
        tables = rest[0] if rest else True
        data, digest = scenario.to_dict(), scenario.content_hash()
        tasks += [(key, (data, digest, seed, r, trace, tables)) for r in range(n)]
    workers = workers or os.cpu_count() or 1
    reps: dict[Hashable, list] = {key: [] for key in jobs}
    total = len(tasks)
    if workers <= 1 or total <= 1:
        for done, (key, args) in enumerate(tasks, 1):
            reps[key].append(_replication(args))
            if progress:
                progress(done, total)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, total), initializer=_worker_init) as ex:
            try:
                futures = [(key, ex.submit(_replication, args)) for key, args in tasks]
                for done, (key, fut) in enumerate(futures, 1):
                    reps[key].append(fut.result())
                    if progress:
                        progress(done, total)
            except BaseException:  # Ctrl-C, SIGTERM, an error: stop, do not run the queued replications
                procs = list((getattr(ex, "_processes", None) or {}).values())
                ex.shutdown(wait=False, cancel_futures=True)
                for proc in procs:
                    proc.terminate()
                raise
    return {key: combine(jobs[key][0], jobs[key][2], reps[key]) for key in jobs}
