"""The event log as CSV: UTF-8, one row per activity instance, the case's rows together and in order of start.

Columns (see docs/event-logs.md): the case (``case_id`` as ``r0-c123``, its
type, channel and status), the ``item`` (an application's items joined by
``+``), the ``activity``, its ``activity_kind`` and ``resource``, the
``enabled``, ``start`` and ``complete`` times (ISO 8601 with the UTC offset),
the item's on-time flags (``true``/``false``, empty without a limit or a
decision), and the ``replication`` and engine ``case`` number that join the
row to ``cases.csv`` and ``items.csv``.
"""

from __future__ import annotations

import csv
from typing import TextIO

from .cases import CaseLog

__all__ = ["CSV_COLUMNS", "CsvLogWriter"]

CSV_COLUMNS = (
    "case_id", "case_type", "channel", "case_status", "item", "activity", "activity_kind", "resource",
    "enabled", "start", "complete", "on_time", "on_time_promised", "on_time_statutory", "replication", "case",
)

_BOOL = {True: "true", False: "false", None: ""}


class CsvLogWriter:
    def __init__(self, out: TextIO):
        self._w = csv.writer(out, lineterminator="\n")

    def begin(self, meta) -> None:
        self._w.writerow(CSV_COLUMNS)

    def case(self, c: CaseLog) -> None:
        head = (c.case_id, c.case_type, c.channel, c.status)
        tail = (c.replication, c.case)
        self._w.writerows(
            (*head, e.item, e.activity, e.kind, e.resource, e.enabled, e.start, e.complete,
             _BOOL[e.on_time], _BOOL[e.on_time_promised], _BOOL[e.on_time_statutory], *tail)
            for e in c.events
        )

    def end(self) -> None:
        pass
