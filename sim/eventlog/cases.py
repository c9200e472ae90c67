"""Trace rows of one replication -> one record per case: its events in calendar time, and what the tables say of it.

Trace rows come in the order the engine wrote them (as each activity
ended), a chunk at a time.  A case's rows are held until the last of them has
come (the number of rows of each case is counted beforehand), then the case
is handed on as a :class:`CaseLog`: its activity instances sorted by start,
its channel and status (from the cases table) and each item's on-time flags
and decision time (from the items table).  So only the cases still open in
the stream are in memory, never the whole log.

Only the cases of the cases table are logged (those that arrived after the
warm-up), so a log's cases and items are those of ``cases.csv`` and
``items.csv``.  Waits (for the office to open, for the applicant, for another
item's result) are not activities: they show as gaps between events, and
stay in the trace (``--trace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from ..engine.records import ITEM_SEPARATOR
from .timestamps import CalendarTime

__all__ = ["WAIT_KINDS", "Event", "ItemState", "CaseLog", "CaseAssembler", "all_on_time", "case_id", "split_items"]

WAIT_KINDS = frozenset({"wait_open", "wait_applicant", "wait_result"})


def case_id(replication: int, case: int) -> str:
    """The log's case id: replication and case number, ``r0-c123``."""
    return f"r{replication}-c{case}"


def all_on_time(flags: Iterable[bool | None]) -> bool | None:
    """True if every known flag is true, False if one is false, None if none is known."""
    known = [f for f in flags if f is not None]
    return all(known) if known else None


@dataclass(slots=True)
class Event:
    """One activity instance in calendar time."""

    activity: str  # a hand-off names its direction: handoff:ITEM:to_back_office / to_window
    kind: str  # intake, step, handoff, travel, fix, supplement, pickup, mail, inspection, or an external's kind
    resource: str
    item: str  # the item, or an application's items joined by "+"
    items: tuple[str, ...]
    enabled: str  # ISO 8601: could start (queue entry)
    start: str
    complete: str
    start_minute: float
    end_minute: float
    on_time: bool | None = None
    on_time_promised: bool | None = None
    on_time_statutory: bool | None = None


@dataclass(slots=True)
class ItemState:
    """An item applied for in a case: on time against its limits (None: no limit, or not decided) and when decided."""

    item: str
    on_time_promised: bool | None = None
    on_time_statutory: bool | None = None
    decided: str = ""  # ISO 8601, "" if not decided

    @property
    def on_time(self) -> bool | None:
        return all_on_time((self.on_time_promised, self.on_time_statutory))


@dataclass(slots=True)
class CaseLog:
    """A case and its activity instances, ready to write."""

    case_id: str
    replication: int
    case: int
    case_type: str
    channel: str
    status: str
    events: list[Event] = field(default_factory=list)
    items: dict[str, ItemState] = field(default_factory=dict)


def _flag(x: float) -> bool | None:
    return None if x != x or x < 0 else bool(x)


def _strings(col: pd.Series) -> list[str]:
    return col.astype(str).tolist()



def split_items(label: str, known) -> tuple[str, ...]:
    """The item ids joined by ``+`` in ``label``, read as ids in ``known`` even when an id itself holds a ``+``
    (parts that make no known id are taken one by one)."""
    if label in known:
        return (label,)
    parts = label.split(ITEM_SEPARATOR)
    best: list[tuple[str, ...] | None] = [()] + [None] * len(parts)
    for end in range(1, len(parts) + 1):
        for start in range(end):
            word = ITEM_SEPARATOR.join(parts[start:end])
            if best[start] is not None and word in known:
                best[end] = best[start] + (word,)
                break
    return best[-1] if best[-1] is not None else tuple(parts)

class CaseAssembler:
    """Groups one replication's trace rows by case and joins the cases and items tables.

    ``counts[c]`` is the number of trace rows of case number ``c`` (all of
    them, waits included); ``cases`` and ``items`` are the replication's
    tables (``items`` may be None: no on-time flags then).
    """

    def __init__(self, replication: int, cases: pd.DataFrame, items: pd.DataFrame | None, counts,
                 clock: CalendarTime, item_ids: Iterable[str]):
        self.replication = int(replication)
        self.clock = clock
        self.counts = counts
        nums = cases["case"].to_numpy(np.int64)
        self._nums = nums
        self._first = int(nums[0]) if nums.size else 0
        self._contiguous = nums.size == 0 or int(nums[-1]) - self._first + 1 == nums.size
        self._types = _strings(cases["case_type"])
        self._channels = _strings(cases["channel"])
        self._status = _strings(cases["status"])
        if items is not None and len(items):
            order = np.argsort(items["case"].to_numpy(np.int64), kind="stable")
            self._item_case = items["case"].to_numpy(np.int64)[order]
            self._item_id = np.asarray(_strings(items["item"]), dtype=object)[order].tolist()
            self._item_p = items["on_time_promised"].to_numpy(float)[order].tolist()
            self._item_s = items["on_time_statutory"].to_numpy(float)[order].tolist()
            self._item_dec = items["decided_minute"].to_numpy(float)[order].tolist()
        else:
            self._item_case = np.zeros(0, np.int64)
            self._item_id = self._item_p = self._item_s = self._item_dec = []
        self._known = frozenset(item_ids)
        self._split: dict[str, tuple[str, ...]] = {"": ()}
        self._pending: dict[int, list] = {}  # case -> [rows seen, kept rows, position in the cases table]

    # -- feeding ---------------------------------------------------------------------------
    def feed(self, rows: list[tuple]) -> Iterator[CaseLog]:
        """Take a chunk of trace rows (``records.TRACE_COLUMNS``); yield every case now complete."""
        if not rows:
            return
        iso = self.clock.iso
        enabled = iso([r[6] for r in rows])
        start = iso([r[7] for r in rows])
        end = iso([r[8] for r in rows])
        pending, counts, position = self._pending, self.counts, self._position
        for i, row in enumerate(rows):
            c = row[0]
            entry = pending.get(c)
            if entry is None:
                p = position(c)
                if p < 0:  # a warm-up case: not in the tables, not in the log
                    continue
                entry = pending[c] = [0, [], p]
            entry[0] += 1
            if row[4] not in WAIT_KINDS:
                entry[1].append((row, enabled[i], start[i], end[i]))
            if entry[0] >= counts[c]:
                del pending[c]
                yield self._case(c, entry[1], entry[2])

    def finish(self) -> Iterator[CaseLog]:
        """Cases whose rows did not all come (none, when the counts are right)."""
        pending, self._pending = self._pending, {}
        for c, (_, kept, p) in pending.items():
            yield self._case(c, kept, p)

    def _position(self, c: int) -> int:
        nums = self._nums
        if self._contiguous:
            p = c - self._first
            return p if 0 <= p < nums.size else -1
        p = int(np.searchsorted(nums, c))
        return p if p < nums.size and nums[p] == c else -1

    # -- one case ----------------------------------------------------------------------------
    def items_of(self, label: str) -> tuple[str, ...]:
        """Item ids of a trace row's item: one id, or an application's ids joined by ``+``."""
        ids = self._split.get(label)
        if ids is None:
            ids = self._split[label] = split_items(label, self._known)
        return ids

    def _case(self, c: int, kept: list, p: int) -> CaseLog:
        kept.sort(key=lambda k: (k[0][7], k[0][8]))  # by start, then end; stable for ties
        log = CaseLog(case_id(self.replication, c), self.replication, c, self._types[p], self._channels[p], self._status[p])
        items = log.items
        events = log.events
        for row, en, st, cp in kept:
            label = row[2]
            ids = self.items_of(label)
            for i in ids:
                if i not in items:
                    items[i] = ItemState(i)
            activity, kind, resource = row[3], row[4], row[5]
            if kind == "handoff":  # the resource column holds the direction: part of what the activity is
                activity, resource = f"{activity}:{resource}", ""
            events.append(Event(activity, kind, resource, label, ids, en, st, cp, row[7], row[8]))
        lo = int(np.searchsorted(self._item_case, c, "left"))
        hi = int(np.searchsorted(self._item_case, c, "right"))
        for j in range(lo, hi):  # an item applied for twice in a case is on time if both were
            i = self._item_id[j]
            state = items.get(i)
            if state is None:
                state = items[i] = ItemState(i)
            fp, fs = _flag(self._item_p[j]), _flag(self._item_s[j])
            state.on_time_promised = all_on_time((state.on_time_promised, fp))
            state.on_time_statutory = all_on_time((state.on_time_statutory, fs))
            decided = self.clock.one(self._item_dec[j])
            if decided > state.decided:
                state.decided = decided
        flags = {i: (s.on_time, s.on_time_promised, s.on_time_statutory) for i, s in items.items()}
        for e in events:
            ids = e.items
            if len(ids) == 1:
                e.on_time, e.on_time_promised, e.on_time_statutory = flags[ids[0]]
            elif ids:  # a joint application's activity: on time if all its items were
                e.on_time, e.on_time_promised, e.on_time_statutory = (
                    all_on_time(flags[i][k] for i in ids) for k in range(3)
                )
        return log
