"""The event log as XES (IEEE 1849-2016), written a trace at a time.

One ``<trace>`` per case (``concept:name`` = the case id, with its case type,
channel, status, replication and case number); each activity instance is two
events, ``lifecycle:transition`` ``start`` and ``complete``, with the
activity as ``concept:name``, ``time:timestamp``, ``org:resource`` (when
there is one), ``concept:instance`` (the same id on both events of an
instance), the ``item``, ``activity_kind``, ``enabled`` time and the item's
on-time flags.  The log itself names the scenario, seed, replications and
the time zone of its timestamps.  Events in a trace are in time order (at
equal times an ending comes before a start, and a zero-length activity
starts before it completes).
"""

from __future__ import annotations

import functools
import re
from typing import TextIO

from .cases import CaseLog

__all__ = ["XesLogWriter"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <string key="lifecycle:transition" value="complete"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
"""


def _text(value) -> str:
    return _CONTROL.sub("", str(value)).translate(_ESCAPES)


@functools.lru_cache(maxsize=None)
def _flags(*flags) -> str:
    """An event's on-time attributes (each left out when unknown)."""
    return "".join(
        f'      <boolean key="{key}" value="{"true" if flag else "false"}"/>\n'
        for key, flag in zip(("on_time", "on_time_promised", "on_time_statutory"), flags) if flag is not None
    )


class XesLogWriter:
    def __init__(self, out: TextIO):
        self._out = out
        self._q = functools.lru_cache(maxsize=100_000)(_text)  # escaped attribute text, repeated names escaped once

    def begin(self, meta) -> None:
        out = self._out
        out.write(_HEAD)
        out.write(f'  <string key="concept:name" value="{_text(meta.scenario)}"/>\n')
        out.write(f'  <string key="source" value="{_text(meta.source)}"/>\n')
        out.write(f'  <string key="time_zone" value="{_text(meta.time_zone)}"/>\n')
        out.write(f'  <int key="seed" value="{int(meta.seed)}"/>\n')
        out.write(f'  <int key="replications" value="{int(meta.replications)}"/>\n')

    def case(self, c: CaseLog) -> None:
        q = self._q
        cid = _text(c.case_id)  # one a case: not worth keeping
        parts = [
            "  <trace>\n",
            f'    <string key="concept:name" value="{cid}"/>\n',
            f'    <string key="case_type" value="{q(c.case_type)}"/>\n',
            f'    <string key="channel" value="{q(c.channel)}"/>\n',
            f'    <string key="case_status" value="{q(c.status)}"/>\n',
            f'    <int key="replication" value="{c.replication}"/>\n',
            f'    <int key="case" value="{c.case}"/>\n',
        ]
        bodies = []
        order = []
        flags = _flags
        for i, e in enumerate(c.events):
            resource = f'      <string key="org:resource" value="{q(e.resource)}"/>\n' if e.resource else ""
            item = f'      <string key="item" value="{q(e.item)}"/>\n' if e.item else ""
            bodies.append(
                f'      <string key="concept:name" value="{q(e.activity)}"/>\n'
                f'      <string key="concept:instance" value="{cid}#{i + 1}"/>\n'
                f'{resource}{item}'
                f'      <string key="activity_kind" value="{q(e.kind)}"/>\n'
                f'      <date key="enabled" value="{e.enabled}"/>\n'
                f'{flags(e.on_time, e.on_time_promised, e.on_time_statutory)}'
            )
            zero = e.end_minute <= e.start_minute
            # at one instant: endings first, then starts, then the ends of zero-length activities
            order.append((e.start_minute, 1, i, "start", e.start))
            order.append((e.end_minute, 2 if zero else 0, i, "complete", e.complete))
        order.sort()
        parts.extend(
            f'    <event>\n      <string key="lifecycle:transition" value="{transition}"/>\n'
            f'      <date key="time:timestamp" value="{when}"/>\n{bodies[i]}    </event>\n'
            for _, _, i, transition, when in order
        )
        parts.append("  </trace>\n")
        self._out.write("".join(parts))

    def end(self) -> None:
        self._out.write("</log>\n")
