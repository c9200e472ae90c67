"""Execution: where replications run (this process, every local core, a Dask cluster).

Every command hands its replications to one executor and gets the same
numbers back whatever the executor: a replication's random streams come from
the seed and its index alone, and results are put back in replication order.

* :func:`executor_for` picks one from ``workers`` and ``cluster`` (or the
  ``APPROVAL_SIM_CLUSTER`` environment variable);
* :func:`run_jobs` runs the replications of many scenarios and combines them
  per scenario.
"""

from .executors import DaskExecutor, Executor, LocalExecutor, default_workers, executor_for
from .jobs import Job, run_jobs

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "default_workers", "executor_for", "Job", "run_jobs"]
