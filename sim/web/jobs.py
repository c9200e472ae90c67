"""Work run in the background for the web page, kept by what it computes.

A job is one call (a comparison of a base scenario with a reformed one, an
attribution, an optimisation) keyed by everything its answer depends on:
model hashes, replications, seed, options.  It runs in a thread of this
server on the project's own executors, so a page that reruns (every widget
change does) or a second visitor never stops or repeats it: the same request
finds the same job, finished or not.  A job that failed is run again when it
is asked for again.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ..compare import compare
from ..scenario import Scenario

__all__ = ["Job", "JobStore", "job_key"]


def job_key(base: Scenario, reformed: Scenario, replications: int, seed: int, workers: int = 1) -> tuple:
    """The key of a comparison (the worker count is left out: it never changes the numbers)."""
    return ("compare", base.model_hash(), reformed.model_hash(), int(replications), int(seed))


@dataclass
class Job:
    key: tuple
    total: int
    done: int = 0
    future: Future | None = field(default=None, repr=False)
    extras: dict = field(default_factory=dict, repr=False)  # what the page derives from the result (charts, reports)

    @property
    def finished(self) -> bool:
        return self.future is not None and self.future.done()

    @property
    def failed(self) -> bool:
        return self.finished and self.future.exception() is not None

    def result(self):
        """What the call returned; raises what it raised."""
        return self.future.result()


class JobStore:
    """Background jobs by key: ``run`` starts one or returns the one already there."""

    def __init__(self, threads: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="approval-sim-web")
        self._jobs: dict[tuple, Job] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def run(self, key: tuple, total: int, call: Callable[[Callable[[int, int], None]], Any]) -> Job:
        """The job for ``key``: the one running or finished, else ``call(progress)`` started in the background.

        ``call`` receives ``progress(done, total)`` to report how far it got.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.failed:
                return job  # running or finished: never run twice
            job = self._jobs[key] = Job(key, total=int(total))

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        job.future = self._pool.submit(call, progress)
        return job

    def submit(self, base: Scenario, reformed: Scenario, replications: int, seed: int, workers: int = 1) -> Job:
        """The paired comparison (common random numbers) of ``base`` and ``reformed``: (results, table)."""
        key = job_key(base, reformed, replications, seed)
        return self.run(key, 2 * int(replications),
                        lambda progress: compare([base, reformed], replications, seed, progress, workers=workers))
