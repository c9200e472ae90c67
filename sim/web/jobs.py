"""Comparisons run in the background for the web page, kept by what they compute.

A job is the comparison of a base scenario with a reformed one, with given
replications and seed.  It runs in a thread of this server on the project's
own executors, so a page that reruns (every widget change does) or a second
visitor never stops or repeats it.  Its key is the two model hashes, the
replications and the seed: the same request finds the same job, finished or
not.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..compare import compare
from ..scenario import Scenario

__all__ = ["Job", "JobStore", "job_key"]


def job_key(base: Scenario, reformed: Scenario, replications: int, seed: int) -> tuple:
    return (base.model_hash(), reformed.model_hash(), int(replications), int(seed))


@dataclass
class Job:
    key: tuple
    total: int
    done: int = 0
    future: Future | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.future is not None and self.future.done()

    def result(self):
        """(results, comparison table); raises what the run raised."""
        return self.future.result()


class JobStore:
    """Background comparisons by key: ``submit`` starts one or returns the one already there."""

    def __init__(self, threads: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="approval-sim-web")
        self._jobs: dict[tuple, Job] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def submit(self, base: Scenario, reformed: Scenario, replications: int, seed: int, workers: int = 1) -> Job:
        key = job_key(base, reformed, replications, seed)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not (job.finished and job.future.exception() is not None):
                return job  # running or finished: never run twice
            job = self._jobs[key] = Job(key, total=2 * int(replications))

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def work():
            return compare([base, reformed], replications, seed, progress, workers=workers)

        job.future = self._pool.submit(work)
        return job
