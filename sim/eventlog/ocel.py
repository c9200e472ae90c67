"""The event log as OCEL 2.0 JSON: cases and the items applied for in them are objects.

A one-thing bundle (一件事一次办) is one case with several items, so the
natural log is object-centric: an event (one activity instance, at its
completion, with its ``start`` and ``enabled`` times, ``activity_kind`` and
``resource`` as attributes) is related to its ``case`` object (qualifier
``case``) and to the ``item`` object of each item it serves (qualifier
``item``: several for a joint application's intake).  A case object
(id ``r0-c123``) carries its case type, channel, status and replication and
relates to its items (qualifier ``item``); an item object (id ``r0-c123/ITEM``) carries the item,
its on-time flags against the promised and statutory limits and the time it
was decided (an attribute without a value is left out: no limit, or not
decided).  Object attributes do not change over time, so each has one value
stamped ``1970-01-01T00:00:00Z``, the OCEL convention for a value known
from the start.

Written as a stream: events go to the file as cases finish, objects to a
file beside it that is copied in at the end, and the event and object types
come last (JSON readers do not mind the order of a document's keys).
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import TextIO

from .cases import CaseLog

__all__ = ["OcelLogWriter", "OBJECT_TYPES", "EVENT_ATTRIBUTES"]

STATIC = "1970-01-01T00:00:00Z"
OBJECT_TYPES = {
    "case": [("case_type", "string"), ("channel", "string"), ("status", "string"), ("replication", "integer")],
    "item": [("item", "string"), ("on_time", "boolean"), ("on_time_promised", "boolean"),
             ("on_time_statutory", "boolean"), ("decided", "time")],
}
EVENT_ATTRIBUTES = [("activity_kind", "string"), ("resource", "string"), ("enabled", "time"), ("start", "time")]


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _attrs(pairs, time: str | None = None) -> list[dict]:
    out = []
    for name, value in pairs:
        if value is None or value == "":
            continue
        out.append({"name": name, "value": value} if time is None else {"name": name, "value": value, "time": time})
    return out


class OcelLogWriter:
    def __init__(self, out: TextIO, objects_path: Path):
        self._out = out
        self._objects_path = Path(objects_path)
        self._objects = open(self._objects_path, "w", encoding="utf-8")
        self._event_types: dict[str, None] = {}
        self._js = functools.lru_cache(maxsize=100_000)(_dump)  # a string as JSON, repeated names encoded once
        self._first_event = self._first_object = True

    def begin(self, meta) -> None:
        self._out.write('{"events":[')


    def case(self, c: CaseLog) -> None:
        js = self._js
        item_obj = {i: f"{c.case_id}/{i}" for i in c.items}
        cid = _dump(c.case_id)
        to_case = f'{{"objectId":{cid},"qualifier":"case"}}'
        to_item = {i: f'{{"objectId":{_dump(o)},"qualifier":"item"}}' for i, o in item_obj.items()}
        types = self._event_types
        lines = []
        for k, e in enumerate(c.events, 1):  # one event per activity instance, at its completion
            types.setdefault(e.activity)
            rel = ",".join([to_case, *(to_item[i] for i in e.items)])
            resource = f',{{"name":"resource","value":{js(e.resource)}}}' if e.resource else ""
            lines.append(
                f'{{"id":{cid[:-1]}#{k}","type":{js(e.activity)},"time":"{e.complete}",'
                f'"attributes":[{{"name":"activity_kind","value":{js(e.kind)}}}{resource},'
                f'{{"name":"enabled","value":"{e.enabled}"}},{{"name":"start","value":"{e.start}"}}],'
                f'"relationships":[{rel}]}}'
            )
        if lines:
            self._out.write(("\n" if self._first_event else ",\n") + ",\n".join(lines))
            self._first_event = False
        objs = [_dump({
            "id": c.case_id, "type": "case",
            "attributes": _attrs((("case_type", c.case_type), ("channel", c.channel), ("status", c.status),
                                  ("replication", c.replication)), STATIC),
            "relationships": [{"objectId": item_obj[i], "qualifier": "item"} for i in c.items],
        })]
        for i, s in c.items.items():
            objs.append(_dump({
                "id": item_obj[i], "type": "item",
                "attributes": _attrs((("item", i), ("on_time", s.on_time), ("on_time_promised", s.on_time_promised),
                                      ("on_time_statutory", s.on_time_statutory), ("decided", s.decided)), STATIC),
            }))
        self._objects.write(("\n" if self._first_object else ",\n") + ",\n".join(objs))
        self._first_object = False

    def end(self) -> None:
        out = self._out
        out.write("\n],\n" if not self._first_event else "],\n")
        out.write('"objects":[')
        self._objects.close()
        with open(self._objects_path, encoding="utf-8") as f:
            shutil.copyfileobj(f, out, 1 << 20)
        out.write("\n],\n" if not self._first_object else "],\n")
        attrs = [{"name": n, "type": t} for n, t in EVENT_ATTRIBUTES]
        event_types = [{"name": name, "attributes": attrs} for name in sorted(self._event_types)]
        object_types = [{"name": name, "attributes": [{"name": n, "type": t} for n, t in a]} for name, a in OBJECT_TYPES.items()]
        out.write('"eventTypes":' + _dump(event_types) + ",\n")
        out.write('"objectTypes":' + _dump(object_types) + "\n}\n")

    def close(self) -> None:
        if not self._objects.closed:
            self._objects.close()
