"""Executors: map a function over tasks, report progress, return results in task order.

``LocalExecutor(1)`` runs in this process; more workers use a process pool;
``DaskExecutor(address)`` sends the same tasks to a Dask distributed
scheduler.  Tasks carry their own seeds, so the executor never changes a
number.
"""

from __future__ import annotations

import gc
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Protocol, Sequence

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "default_workers", "executor_for", "CLUSTER_ENV"]

CLUSTER_ENV = "APPROVAL_SIM_CLUSTER"
"""Environment variable naming a Dask scheduler (``tcp://host:8786``) used when no --cluster is given."""

Progress = Callable[[int, int], None]


class Executor(Protocol):
    """Something that runs ``fn`` on every task and returns the results in task order."""

    def map(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any], progress: Progress | None = None,
        each: Callable[[int, Any], None] | None = None,
    ) -> list: ...

    @property
    def description(self) -> str: ...


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _worker_init() -> None:
    """Workers die at once on SIGTERM (a forked worker would otherwise inherit the command's handler)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class LocalExecutor:
    """This machine: ``workers`` processes (1: in this process, no pool)."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, int(workers)) if workers else default_workers()

    @property
    def description(self) -> str:
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def map(self, fn, tasks, progress=None, each=None) -> list:
        """Results in task order; ``each(index, result)`` is called here as each task finishes."""
        tasks = list(tasks)
        total = len(tasks)
        if self.workers <= 1 or total <= 1:
            out = []
            for done, t in enumerate(tasks, 1):
                out.append(fn(t))
                if each:
                    each(done - 1, out[-1])
                if progress:
                    progress(done, total)
            return out
        results: list = [None] * total
        # objects that exist now are left out of the workers' garbage collections: a forked worker
        # then does not touch (and so copy) every page of this process's heap on its first collection
        gc.freeze()
        ex = ProcessPoolExecutor(max_workers=min(self.workers, total), initializer=_worker_init)
        try:
            index = {ex.submit(fn, t): i for i, t in enumerate(tasks)}
            pending, done = set(index), 0
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    results[index[fut]] = fut.result()
                    if each:
                        each(index[fut], results[index[fut]])
                    done += 1
                    if progress:
                        progress(done, total)
        except BaseException:  # Ctrl-C, SIGTERM, an error: stop, do not run the queued tasks
            procs = list((getattr(ex, "_processes", None) or {}).values())
            ex.shutdown(wait=False, cancel_futures=True)  # and never wait: a killed worker can hang a join
            for proc in procs:
                proc.terminate()
            raise
        else:
            ex.shutdown(wait=True)
        finally:
            gc.unfreeze()
        return results


class DaskExecutor:
    """A Dask distributed scheduler at ``address`` (``tcp://host:8786``), or a given ``Client``.

    Tasks are submitted with ``pure=False`` so Dask never reuses a cached
    result for a task that looks the same; the tasks' own seeds fix every
    random number, so workers' global random state plays no part.
    """

    def __init__(self, address: str | None = None, client=None):
        if client is None:
            try:
                from distributed import Client
            except ImportError:
                raise RuntimeError(
                    "running on a cluster needs Dask: pip install -e '.[cluster]'"
                ) from None
            client = Client(address, timeout=30)
        self.client = client
        self.address = address or getattr(getattr(client, "scheduler", None), "address", "a Dask client")

    @property
    def description(self) -> str:
        return f"Dask cluster {self.address}"

    def map(self, fn, tasks, progress=None, each=None) -> list:
        """Results in task order; ``each(index, result)`` is called here as each task finishes."""
        from distributed import as_completed

        tasks = list(tasks)
        total = len(tasks)
        futures = self.client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * total
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                results[index[fut.key]] = fut.result()
                if each:
                    each(index[fut.key], results[index[fut.key]])
                if progress:
                    progress(done, total)
        except BaseException:
            self.client.cancel(futures)
            raise
        return results


def executor_for(workers: int | None = None, cluster: str | None = None) -> Executor:
    """The executor a command asked for: a cluster (argument or environment), else local processes."""
    address = cluster or os.environ.get(CLUSTER_ENV) or None
    if address:
        return DaskExecutor(address)
    return LocalExecutor(workers)
