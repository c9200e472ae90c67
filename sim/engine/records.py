"""What the engine writes down: one owner of the record layouts and their codes.

Three kinds of record leave a run:

* one **case** record per case when it ends (completed, abandoned, or still
  open when the run stops), with its counters and its government and external
  time (see :func:`split_time`);
* one **item** record per item decided in a case;
* one **visit** per service at a staffed station (queue entry, start, end),
  kept by each :class:`~sim.engine.runtime.Station`;
* with ``trace=True``, one **trace** row per activity (``TRACE_COLUMNS``),
  kept in a list or handed to a sink in chunks of ``TRACE_CHUNK`` rows.

Rows are collected as tuples and packed every ``CHUNK`` rows into structured
NumPy arrays of compact dtypes (about 110 bytes a case and 45 an item).  A
:class:`Recorder` either keeps the packed chunks (the per-case tables) or hands
each one to a *sink* that folds it into running summaries and drops it
(summary-only runs, whose memory does not grow with the number of cases).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "COMPLETED", "ABANDONED", "UNFINISHED", "STATUS",
    "COUNTER", "ONLINE", "ASSISTED", "CHANNELS",
    "CASE_DTYPE", "ITEM_DTYPE", "RECORD_FIELDS", "ITEM_FIELDS", "CHUNK",
    "TRACE_COLUMNS", "TRACE_CHUNK", "ITEM_SEPARATOR",
    "Recorder", "split_time", "merge_intervals",
]

COMPLETED, ABANDONED, UNFINISHED = 0, 1, 2
STATUS = ("completed", "abandoned", "unfinished")
COUNTER, ONLINE, ASSISTED = 0, 1, 2
CHANNELS = ("counter", "online", "assisted")

CHUNK = 8192
"""Rows collected before they are packed (small enough to stay in cache)."""

# times in calendar minutes, waits and travel in working or calendar minutes as named in docs/model.md
CASE_DTYPE = np.dtype([
    ("idx", np.int64),  # case number in order of arrival (all case types)
    ("case_type", np.int32),  # index into scenario.case_types
    ("arrival", np.float64),
    ("end", np.float64),
    ("status", np.int8),  # COMPLETED, ABANDONED or UNFINISHED
    ("channel", np.int8),  # COUNTER, ONLINE or ASSISTED
    ("trips", np.int32),
    ("window_visits", np.int32),
    ("returns", np.int32),
    ("window_wait", np.float64),  # working minutes queueing at windows
    ("office_wait", np.float64),  # working minutes queueing in back offices
    ("travel", np.float64),  # minutes travelling
    ("items", np.int32),
    ("promised_n", np.int32),
    ("promised_ok", np.int32),
    ("statutory_n", np.int32),
    ("statutory_ok", np.int32),
    ("fee", np.float64),  # yuan
    ("materials", np.int32),
    ("government", np.float64),  # working minutes, acceptance to decision (union over items)
    ("external", np.float64),  # working minutes in external hands outside government time
])
ITEM_DTYPE = np.dtype([
    ("case", np.int64),
    ("item", np.int32),  # index into scenario.items
    ("accepted", np.float64),  # calendar minute the office's time starts
    ("government_end", np.float64),
    ("decided", np.float64),  # result issued (after any wait for a supplement)
    ("trips", np.int32),  # trips of its application (visits and pickup)
    ("returns", np.int32),
    ("on_time_promised", np.int8),  # 1, 0, or -1 without a limit
    ("on_time_statutory", np.int8),
])
RECORD_FIELDS = CASE_DTYPE.names
ITEM_FIELDS = ITEM_DTYPE.names

# one traced activity, as the tuple the engine appends and as the columns of the trace table:
# case number, case type index (a code until the table names it), the item(s) the activity serves
# (an application's items joined by ITEM_SEPARATOR, as in its block key; "" for none, e.g. an
# external step), activity label, kind, resource, and the calendar minutes it could start
# (enabled: queue entry), started and ended
TRACE_COLUMNS = (
    "case", "case_type", "item", "activity", "kind", "resource", "enabled_minute", "start_minute", "end_minute",
)
TRACE_CHUNK = CHUNK
"""Trace rows handed to a trace sink at a time."""
ITEM_SEPARATOR = "+"

Sink = Callable[[np.ndarray], None]


class Recorder:
    """Collects case and item rows; packs them into compact chunks.

    Kept case records go straight to their place in one array indexed by
    case number (cases are numbered in order of arrival, and every case that
    arrives gets exactly one record), so the table needs neither a copy to
    concatenate nor a sort.  ``sink_to`` hands every chunk to running totals
    instead (summary-only runs).
    """

    def __init__(self):
        self.case_rows: list[tuple] = []
        self.item_rows: list[tuple] = []
        self._cases = np.empty(0, CASE_DTYPE)
        self._written = 0
        self._item_chunks: list[np.ndarray] = []
        self._case_sink: Sink | None = None
        self._item_sink: Sink | None = None

    def expect_cases(self, n: int) -> None:
        """Room for the records of cases numbered 0 .. n-1."""
        self._cases = np.zeros(n, CASE_DTYPE)

    def sink_to(self, case_sink: Sink, item_sink: Sink) -> None:
        """Hand every packed chunk to these from now on instead of keeping it."""
        self._case_sink, self._item_sink = case_sink, item_sink

    def flush_cases(self) -> None:
        if self.case_rows:
            chunk = np.array(self.case_rows, dtype=CASE_DTYPE)
            self.case_rows.clear()
            if self._case_sink is not None:
                self._case_sink(chunk)
            else:
                self._cases[chunk["idx"]] = chunk
            self._written += chunk.size

    def flush_items(self) -> None:
        if self.item_rows:
            chunk = np.array(self.item_rows, dtype=ITEM_DTYPE)
            self.item_rows.clear()
            (self._item_sink or self._item_chunks.append)(chunk)

    def flush(self) -> None:
        self.flush_cases()
        self.flush_items()

    def cases(self) -> np.ndarray | None:
        """Every case record in order of case number (None if sunk)."""
        if self._case_sink is not None:
            return None
        if self._written != self._cases.size:  # every case that arrives is recorded exactly once
            raise RuntimeError(f"{self._written} case records for {self._cases.size} cases")
        out, self._cases = self._cases, np.empty(0, CASE_DTYPE)
        return out

    def items(self) -> np.ndarray | None:
        """Every item record, as one structured array (None if sunk); the chunks are released."""
        return None if self._item_sink is not None else _concatenate(self._item_chunks, ITEM_DTYPE)


def _concatenate(chunks: list[np.ndarray], dtype) -> np.ndarray:
    out = np.concatenate(chunks) if chunks else np.empty(0, dtype)
    chunks.clear()
    return out


def merge_intervals(intervals):
    """Union of (start, end) intervals as sorted disjoint intervals."""
    out = []
    for a, b in sorted(x for x in intervals if x[1] > x[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def split_time(gov, ext, end, working) -> tuple[float, float]:
    """Working minutes of a case in government hands, and in external hands but not the government's.

    Government time is the union of the items' acceptance-to-decision
    intervals (parallel items count once); external time is the union of
    external steps outside it.  What is left of the lead time is the
    applicant's side (queues before acceptance, travel, fixing, supplements,
    pickup, post).  Intervals still open at ``end`` are cut there.
    ``working`` maps a calendar minute to working minutes.
    """
    if not ext and len(gov) == 1:  # one application, no external step: nothing to merge
        a, b = gov[0]
        return max(0.0, working(min(b, end)) - working(a)), 0.0
    g = merge_intervals([(working(a), working(min(b, end))) for a, b in gov])
    e = merge_intervals([(working(a), working(min(b, end))) for a, b in ext])
    gov_w = sum(b - a for a, b in g)
    ext_w = sum(b - a for a, b in e)
    if g and e:
        for a, b in e:
            for c, d in g:
                lo, hi = max(a, c), min(b, d)
                if hi > lo:
                    ext_w -= hi - lo
    return gov_w, ext_w
