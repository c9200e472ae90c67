"""Runs whose event log streams to disk: ``run_logged(scenario, path, replications, seed)``.

Each replication runs with a trace sink (``simulate(..., trace_sink=...)``):
the engine hands its trace rows over in chunks as the run goes, and the sink
appends them to a spill file in the log's hidden folder and counts the rows
of each case, so the trace never fills memory.  When a replication is done,
its spill is read back a chunk at a time, joined to the replication's cases
and items tables and written to the log a case at a time (see
:mod:`sim.eventlog.cases`), in replication order, while later replications
still run.  Replications run on this machine (``workers`` processes); the
numbers are the same as ``sim.run``'s, digit for digit.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..engine import simulate
from .timestamps import DEFAULT_TIME_ZONE, CalendarTime
from .write import StagedLog, meta_for, write_replication

__all__ = ["TraceSpill", "read_spill", "run_logged"]


class TraceSpill:
    """A trace sink: every chunk of rows is appended to ``path`` (pickled) and its rows counted by case."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._f = open(self.path, "wb")
        self.counts = np.zeros(0, np.int64)
        self.rows = 0

    def __call__(self, rows: list) -> None:
        pickle.dump(rows, self._f, protocol=pickle.HIGHEST_PROTOCOL)
        self.rows += len(rows)
        per_case = np.bincount(np.fromiter((r[0] for r in rows), np.int64, len(rows)))
        if per_case.size > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(per_case.size - self.counts.size, np.int64)])
        self.counts[: per_case.size] += per_case

    def close(self) -> None:
        self._f.close()


def read_spill(path: str | os.PathLike) -> Iterator[list]:
    """The chunks a :class:`TraceSpill` wrote (our own file: nothing else is unpickled)."""
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def _logged_replication(task):
    """One replication with its trace spilled to disk: (replication tables, rows per case)."""
    scenario, seed, r, spill_path = task
    spill = TraceSpill(spill_path)
    try:
        rep = simulate(scenario, seed=seed, replication=r, trace_sink=spill)
    finally:
        spill.close()
    return rep, spill.counts


def run_logged(
    scenario,
    path: str | os.PathLike,
    replications: int | None = None,
    seed: int | None = None,
    *,
    time_zone=DEFAULT_TIME_ZONE,
    workers: int | None = 1,
    executor=None,
    progress: Callable[[int, int], None] | None = None,
):
    """Run replications ``0 .. replications-1`` and write their event log to the new file ``path``.

    Returns ``(RunResult, LogWritten)``: the same result as ``sim.run``
    (without a trace in memory) and what was written.  ``executor`` must be
    a local one (:class:`sim.execution.LocalExecutor`); by default
    ``workers`` processes (1: this process).  Replications each become their
    own cases (``r0-c123``, ``r1-c123`` ...).
    """
    from ..execution import LocalExecutor
    from ..runner import combine

    n = scenario.run.replications if replications is None else int(replications)
    if n < 1:
        raise ValueError(f"replications must be >= 1 (got {n})")
    seed = scenario.run.seed if seed is None else int(seed)
    executor = executor or LocalExecutor(workers)
    if not isinstance(executor, LocalExecutor):
        raise ValueError("an event log is written from replications run on this machine: use local workers, not a cluster")
    clock = CalendarTime(scenario.calendar.start_date, time_zone)
    item_ids = [it.id for it in scenario.items]
    reps: dict[int, object] = {}
    with StagedLog(path, meta_for(scenario, seed, n, clock)) as log:
        finished: dict[int, tuple] = {}
        state = {"next": 0}

        def each(i, out):  # write replications in order, as soon as the next one is in
            finished[i] = out
            while state["next"] in finished:
                r = state["next"]
                rep, counts = finished.pop(r)
                spill = log.spill_path(r)
                write_replication(log, r, rep.cases, rep.items, read_spill(spill), counts.tolist(), clock, item_ids)
                spill.unlink()
                reps[r] = rep
                state["next"] = r + 1

        tasks = [(scenario, seed, r, log.spill_path(r)) for r in range(n)]
        executor.map(_logged_replication, tasks, progress, each=each)
        result = combine(scenario, seed, [reps[r] for r in range(n)])
    return result, log.written()
