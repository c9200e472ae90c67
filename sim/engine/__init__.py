"""The discrete-event engine: ``simulate(scenario, seed, replication) -> Replication``.

One replication is a pure function of the scenario and the seed: no files, no
printing, no global state.  The scenario is compiled once into small SimPy
process functions (one per flow block), so the run interprets nothing per
event.  Per-case results are kept as columns, resource visits as arrays.

Model, in brief (see docs/model.md for the full description):

* cases arrive per case type (office hours only) and follow their flow;
* an application (``item``/``items``) is a visit to a window group that
  accepts the items: trip and travel if the applicant is not already there,
  FIFO queue, intake by one of the window's positions (working minutes);
  incomplete applications are returned (补正): the applicant fixes them
  (calendar or working days) and comes back, or gives up;
* immediate items are decided at the window; back-office items go through a
  hand-off and a chain of sign-off steps, each queueing for a role of a
  department, then back to the window; the applicant then picks up the result
  (a trip), or it is mailed or issued electronically;
* online applications are handled by the same staff without trips;
  assisted cases (帮办代办) send an agent, who makes the visits;
* tolerated gaps (容缺受理) are supplied while review goes on: the
  decision waits for the supplement, but there is no return or new queue;
* a share of decided items is inspected afterwards (事中事后监管): staff work
  off the case's path;
* externals: intermediary reports, fixed periods, periodic meetings;
* an item with ``issued_after`` (a seal that needs the licence's credit code)
  is decided only once those items of the same case are.

Every case's lead time is split into government time (受理 -> 办结), external
time and the applicant's side (see ``records.split_time``); every decided
item is recorded with its own government time, trips and on-time flags.

Staff work only in office hours; a task started before closing resumes at the
next opening.  Applicants still queued at closing wait for the next opening.

The engine is split along its seams:

* :mod:`~sim.engine.runtime`: stations, items and travel times resolved once;
* :mod:`~sim.engine.model`: the clock, the arrivals, the shared building blocks;
* :mod:`~sim.engine.compiler`: flow blocks compiled into process functions;
* :mod:`~sim.engine.application`: the application process (visit, intake,
  returns, back office, decisions, pickup);
* :mod:`~sim.engine.records`: the record layouts and their codes; what leaves
  a run is a :class:`~sim.engine.output.RunOutput`, turned into tables by
  :mod:`sim.results`;
* :mod:`~sim.engine.streams` and :mod:`~sim.engine.arrivals`: random streams
  keyed by purpose, arrival times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..scenario import Scenario
from .model import Model
from .records import Recorder
from .streams import replication_seed

__all__ = ["simulate"]

if TYPE_CHECKING:
    from ..results import Replication


def simulate(
    scenario: Scenario, seed: int = 0, replication: int = 0, *, trace: bool = False, per_case: bool = True,
    trace_sink: Callable[[list], None] | None = None,
) -> Replication:
    """Run one replication and return its results.

    ``seed`` and ``replication`` together fix every random number: replication
    ``r`` of seed ``s`` is the same whatever else runs.  The streams are keyed
    by purpose, so two scenarios run with the same seed see the same arrivals
    and the same work content wherever they share case types, items and steps
    (common random numbers).  ``trace=True`` also records every activity
    (case, item, activity, resource, enabled, start, end) for event logs.
    ``trace_sink(rows)``, when given, receives those rows as the run goes,
    in lists of ``records.TRACE_CHUNK`` tuples laid out as
    ``records.TRACE_COLUMNS`` (the same rows, in the same order, as the trace
    table), and the replication keeps none (its ``trace`` is None): a large
    log goes to disk as it is made (see :mod:`sim.eventlog`).

    ``per_case=False`` keeps no per-case or per-item table: records are folded
    into running totals as they come, so memory does not grow with the number
    of cases.  Means, shares and rates are the same as with the tables (to
    rounding); 90th percentiles come from a sketch within 0.5% (relative) of
    the exact order statistic (see :mod:`sim.summaries`).  The run itself, and
    every station KPI, is the same either way.
    """
    from ..results import RunTotals, build_replication  # tables are built on the analysis side
    from ..station_summary import StationSummaries

    totals = recorder = None
    if not per_case:
        recorder = Recorder()  # sinks set below, once the model knows its clock and horizon
    model = Model(scenario, replication_seed(seed, replication), trace or trace_sink is not None, recorder)
    model.trace_sink = trace_sink
    if not per_case:
        totals = RunTotals(scenario, model.clock, model.t_warm, model.t_end, False, model.first_counted_case)
        recorder.sink_to(totals.add_cases, totals.add_items)
    stations = StationSummaries(model.clock, model.t_warm, model.t_end, [st.capacity for st in model.stations])
    model.visit_sink = stations.add  # visit logs are folded as the run goes: memory does not grow with visits
    return build_replication(model.run(), seed, replication, stations, totals)
