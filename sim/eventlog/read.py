"""Reading event logs: a CSV (any headers, one row per event or one row per case) or an XES file, into one table.

A log becomes an :class:`EventLog`: one row per activity instance with its
case, activity, completion time and, when the log has them, start time,
resource, item (事项) and case type.  Nothing in here knows any particular
log: columns are found by a mapping of *roles* to column names, given by the
user or guessed from common names in English and Chinese.

Roles (``--map ROLE=COLUMN``):

``case``        the case id (办件编号)
``activity``    the activity name (one row per event)
``timestamp``   when the activity completed (or the only time given)
``start``       when it started (optional)
``resource``    who did it (optional)
``item``        the 事项 the case applies for (optional)
``case_type``   the case's type (optional)
``lifecycle``   XES-style start/complete marker (optional)
``event:NAME``  a column of times, each an event named NAME: a log with one
                row per case (e.g. ``event:受理=受理时间``, ``event:办结=办结时间``)

Times keep two readings: ``timestamp`` is the instant (UTC), ``local`` the
wall-clock time as written in the log (its own time zone), which is what
office hours and weekdays are read from.  Times without an offset are taken
in ``timezone`` (default Asia/Shanghai).  A time that cannot be read is an
error naming the file, the line and the column; an empty time is a missing
event (an open case has no decision yet), counted in ``notes``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["EventLog", "LogError", "read_log", "read_csv_log", "read_xes_log", "parse_mapping", "ROLES"]

ROLES = ("case", "activity", "timestamp", "start", "resource", "item", "case_type", "lifecycle")

GUESSES = {  # common column names per role, compared without case, spaces, '_' and ':'
    "case": ["case", "caseid", "case_id", "caseconceptname", "traceid", "办件编号", "业务编号", "业务流水号", "申请编号",
             "受理编号", "案件编号", "流水号", "办件号"],
    "activity": ["activity", "activityname", "conceptname", "event", "eventname", "task", "环节", "环节名称", "活动", "活动名称",
                 "步骤", "办理环节"],
    "timestamp": ["timestamp", "timetimestamp", "time", "completetime", "endtime", "complete", "end", "datetime", "时间",
                  "完成时间", "结束时间", "办理时间"],
    "start": ["start", "starttime", "starttimestamp", "开始时间"],
    "resource": ["resource", "orgresource", "user", "performer", "staff", "办理人", "经办人", "处理人", "承办人"],
    "item": ["item", "itemname", "service", "servicename", "事项", "事项名称", "办理事项", "事项编码"],
    "case_type": ["casetype", "type", "category", "业务类型", "办件类型", "类别"],
    "lifecycle": ["lifecycle", "lifecycletransition", "transition"],
}
WIDE_EVENTS = {  # columns of times in one-row-per-case logs, and the event each one is
    "申请时间": "申请", "提交时间": "申请", "收件时间": "收件", "受理时间": "受理", "审核时间": "审核", "审批时间": "审批",
    "决定时间": "决定", "办结时间": "办结", "送达时间": "送达", "领取时间": "领取",
    "submitted": "submitted", "accepted": "accepted", "decided": "decided", "closed": "closed", "delivered": "delivered",
}
DEFAULT_TIMEZONE = "Asia/Shanghai"

_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


class LogError(ValueError):
    """A log that cannot be read: ``file:line: column: what is wrong``."""

    def __init__(self, file: str, message: str, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field, self.reason = file, line, field, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass
class EventLog:
    """One row per activity instance, sorted by case and time; ``notes`` say what was assumed or left out.

    ``events`` columns: case_id, activity, timestamp (UTC instant), local
    (wall clock as written), start and start_local (NaT when the log has no
    start), resource, item, case_type (None when the log has none).
    """

    events: pd.DataFrame
    source: str
    mapping: dict[str, str]
    timezone: str
    notes: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return int(self.events["case_id"].nunique())

    def granularity(self) -> str:
        """"second", "minute", "hour" or "day": the finest unit the completion times use."""
        t = self.events["local"].dropna()
        if t.empty:
            return "day"
        if (t.dt.second != 0).any():
            return "second"
        if (t.dt.minute != 0).any():
            return "minute"
        if (t.dt.hour != 0).any():
            return "hour"
        return "day"


def _norm(name: str) -> str:
    return re.sub(r"[\s_:\-./()（）]", "", str(name)).lower()


def parse_mapping(items: Iterable[str] | Mapping[str, str] | None, source: str = "--map") -> dict[str, str]:
    """``["case=办件编号", "event:受理=受理时间"]`` (or a dict) -> {role: column}; unknown roles are errors."""
    if items is None:
        return {}
    pairs = items.items() if isinstance(items, Mapping) else []
    if not isinstance(items, Mapping):
        pairs = []
        for text in items:
            role, sep, column = str(text).partition("=")
            if not sep or not role.strip() or not column.strip():
                raise LogError(source, f"expected ROLE=COLUMN, got {text!r}")
            pairs.append((role.strip(), column.strip()))
    out = {}
    for role, column in pairs:
        if role not in ROLES and not (role.startswith("event:") and len(role) > 6):
            raise LogError(source, f"unknown role {role!r}; roles: {', '.join(ROLES)}, event:NAME")
        out[role] = column
    return out


def _guess(columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The mapping with roles the user did not give filled in from common column names."""
    out = dict(mapping)
    taken = set(out.values())
    normed = {_norm(c): c for c in columns}
    for role, names in GUESSES.items():
        if role in out:
            continue
        for n in names:
            c = normed.get(_norm(n))
            if c is not None and c not in taken:
                out[role] = c
                taken.add(c)
                break
    if "activity" not in out and not any(r.startswith("event:") for r in out):
        for c in columns:  # one row per case: every known time column is an event
            name = WIDE_EVENTS.get(c) or WIDE_EVENTS.get(_norm(c))
            if name is not None and c not in taken:
                out[f"event:{name}"] = c
        if any(r.startswith("event:") for r in out):
            out.pop("timestamp", None)
    return out


def _times(values: pd.Series, file: str, column: str, lines: np.ndarray, tz: str) -> tuple[pd.Series, pd.Series]:
    """(UTC instants, wall-clock times) of a column of time texts; NaT for empty cells."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    wall_text = text.str.replace(_OFFSET, "", regex=True).str.replace("T", " ", regex=False)
    try:
        wall = pd.to_datetime(wall_text.where(~empty), format="mixed", errors="coerce")
    except (ValueError, TypeError):  # pragma: no cover - pandas raises only with errors="raise"
        wall = pd.Series(pd.NaT, index=values.index)
    bad = wall.isna() & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise LogError(file, f"not a date and time: {values.iloc[i]!r}", int(lines[i]), column)
    has_offset = text.str.contains(_OFFSET, regex=True).fillna(False)
    instant = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if has_offset.any():
        instant[has_offset] = pd.to_datetime(text[has_offset], format="mixed", utc=True)
    naive = ~has_offset & ~empty
    if naive.any():
        instant[naive] = wall[naive].dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    return instant, wall


def _frame(rows: pd.DataFrame, mapping: dict[str, str], file: str, lines: np.ndarray, tz: str, notes: list[str]) -> pd.DataFrame:
    missing = [mapping[r] for r in mapping if mapping[r] not in rows.columns]
    if missing:
        raise LogError(file, f"no column {missing[0]!r} (columns: {', '.join(map(str, rows.columns))})", 1)
    if "case" not in mapping:
        raise LogError(file, "no case id column found: name it with --map case=COLUMN", 1)
    wide = [r for r in mapping if r.startswith("event:")]
    if not wide and not ("activity" in mapping and "timestamp" in mapping):
        need = [r for r in ("activity", "timestamp") if r not in mapping]
        raise LogError(file, f"no {' or '.join(need)} column found: name it with --map {need[0]}=COLUMN, or give "
                             f"time columns as events with --map event:NAME=COLUMN", 1)
    case = rows[mapping["case"]].astype("string").str.strip()
    blank = case.isna() | (case == "")
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise LogError(file, "empty case id", int(lines[i]), mapping["case"])

    def optional(role):
        return rows[mapping[role]].astype("string") if role in mapping else pd.Series(pd.NA, index=rows.index, dtype="string")

    parts = []
    if wide:
        for role in wide:
            instant, wall = _times(rows[mapping[role]], file, mapping[role], lines, tz)
            parts.append(pd.DataFrame({"case_id": case, "activity": role[6:], "timestamp": instant, "local": wall,
                                       "resource": optional("resource"), "item": optional("item"),
                                       "case_type": optional("case_type"), "lifecycle": "complete", "line": lines}))
    else:
        instant, wall = _times(rows[mapping["timestamp"]], file, mapping["timestamp"], lines, tz)
        parts.append(pd.DataFrame({"case_id": case, "activity": rows[mapping["activity"]].astype("string"),
                                   "timestamp": instant, "local": wall, "resource": optional("resource"),
                                   "item": optional("item"), "case_type": optional("case_type"),
                                   "lifecycle": optional("lifecycle").str.lower().fillna("complete"), "line": lines}))
        if "start" in mapping:
            s_instant, s_wall = _times(rows[mapping["start"]], file, mapping["start"], lines, tz)
            parts[0]["start"], parts[0]["start_local"] = s_instant, s_wall
    ev = pd.concat(parts, ignore_index=True)
    gone = ev["timestamp"].isna()
    if gone.any():
        notes.append(f"{int(gone.sum())} empty times left out (events not reached yet, e.g. open cases)")
        ev = ev[~gone]
    return ev


def _pair_lifecycle(ev: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Start/complete events of the same case and activity paired in order into instances with a start."""
    if "start" not in ev.columns:
        ev["start"] = pd.Series(pd.NaT, index=ev.index, dtype="datetime64[ns, UTC]")
        ev["start_local"] = pd.Series(pd.NaT, index=ev.index, dtype="datetime64[ns]")
    life = ev["lifecycle"].astype("string").str.lower()
    starts = ev[life == "start"]
    done = ev[life != "start"].copy()
    if len(starts):
        key = ["case_id", "activity"]
        starts = starts.sort_values(["timestamp", "line"]).assign(k=lambda d: d.groupby(key).cumcount())
        done = done.sort_values(["timestamp", "line"]).assign(k=lambda d: d.groupby(key).cumcount())
        merged = done.merge(starts[key + ["k", "timestamp", "local"]].rename(
            columns={"timestamp": "start_p", "local": "start_local_p"}), on=key + ["k"], how="left")
        merged["start"] = merged["start"].fillna(merged["start_p"])
        merged["start_local"] = merged["start_local"].fillna(merged["start_local_p"])
        done = merged.drop(columns=["k", "start_p", "start_local_p"])
        notes.append(f"{len(starts)} start events paired with their completions")
    return done


def _finish(ev: pd.DataFrame, source: str, mapping: dict, tz: str, notes: list[str]) -> EventLog:
    ev = _pair_lifecycle(ev, notes)
    ev = ev.sort_values(["case_id", "timestamp", "line"], kind="stable").reset_index(drop=True)
    cols = ["case_id", "activity", "timestamp", "local", "start", "start_local", "resource", "item", "case_type"]
    if ev.empty:
        raise LogError(source, "the log has no events with a time")
    return EventLog(ev[cols], source, mapping, tz, notes)


def read_csv_log(path: str | Path, mapping: Mapping[str, str] | None = None, timezone: str = DEFAULT_TIMEZONE,
                 encoding: str | None = None, delimiter: str | None = None) -> EventLog:
    """A CSV log (UTF-8 or GB18030, delimiter sniffed), columns found by ``mapping`` or guessed."""
    p = Path(path)
    raw = _bytes(p)
    text = None
    for enc in ([encoding] if encoding else ["utf-8-sig", "gb18030"]):
        try:
            text = raw.decode(enc)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    if text is None:
        raise LogError(str(p), f"not {encoding or 'UTF-8 or GB18030'} text (name the encoding with --encoding)")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = pd.read_csv(io.StringIO(text), sep=delimiter, dtype="string", keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LogError(str(p), f"not a readable CSV table: {str(exc).splitlines()[0]}") from None
    lines = np.arange(2, len(rows) + 2)  # the header is line 1 (cells with line breaks shift this; rare in logs)
    m = _guess(list(rows.columns), dict(mapping or {}))
    notes = [f"columns: {', '.join(f'{r}={c}' for r, c in m.items())}"]
    return _finish(_frame(rows, m, str(p), lines, timezone, notes), str(p), m, timezone, notes)


def _bytes(p: Path) -> bytes:
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LogError(str(p), f"cannot read: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise LogError(str(p), f"a broken gzip file: {exc}") from None
    return data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xes_log(path: str | Path, mapping: Mapping[str, str] | None = None, timezone: str = DEFAULT_TIMEZONE) -> EventLog:
    """An XES log (``.xes`` or ``.xes.gz``), read as a stream of traces.

    Roles map to XES attribute keys: by default case = the trace's
    ``concept:name``, activity = the event's ``concept:name``, timestamp =
    ``time:timestamp``, resource = ``org:resource``, lifecycle =
    ``lifecycle:transition``; ``item`` and ``case_type`` name a trace or event
    attribute when given.
    """
    p = Path(path)
    m = {"case": "concept:name", "activity": "concept:name", "timestamp": "time:timestamp", "resource": "org:resource",
         "lifecycle": "lifecycle:transition", **dict(mapping or {})}
    wanted = {m[r] for r in ("activity", "timestamp", "resource", "lifecycle", "item", "case_type", "start") if r in m}
    records: list[tuple] = []
    handle = gzip.open(p, "rb") if _is_gzip(p) else open(p, "rb")
    try:
        with handle as f:
            trace_attrs: dict[str, str] = {}
            events: list[dict[str, str]] = []
            ev: dict[str, str] = {}
            stack: list[str] = []
            for action, el in ET.iterparse(f, events=("start", "end")):
                tag = _local(el.tag)
                if action == "start":
                    stack.append(tag)
                    if tag == "trace":
                        trace_attrs, events = {}, []
                    elif tag == "event":
                        ev = {}
                    continue
                stack.pop()
                parent = stack[-1] if stack else ""
                if tag == "event":
                    events.append(ev)
                    el.clear()
                elif tag == "trace":
                    case = trace_attrs.get(m["case"])
                    if case is None:
                        raise LogError(str(p), f"a trace without {m['case']!r} (case id)", None, m["case"])
                    item = trace_attrs.get(m["item"]) if "item" in m else None
                    ctype = trace_attrs.get(m["case_type"]) if "case_type" in m else None
                    for e in events:
                        records.append((case, e.get(m["activity"]), e.get(m["timestamp"]), e.get(m.get("start", "")),
                                        e.get(m["resource"]), e.get(m["item"], item) if "item" in m else None,
                                        e.get(m["case_type"], ctype) if "case_type" in m else None,
                                        e.get(m["lifecycle"], "complete")))
                    el.clear()
                elif parent in ("event", "trace"):  # an attribute directly under an event or a trace
                    key = el.get("key")
                    if parent == "event":
                        if key in wanted:
                            ev[key] = el.get("value")
                    elif key == m["case"] or key in (m.get("item"), m.get("case_type")):
                        trace_attrs[key] = el.get("value")
    except ET.ParseError as exc:
        raise LogError(str(p), f"not well-formed XML: {exc}", exc.position[0] if exc.position else None) from None
    except (OSError, EOFError) as exc:
        raise LogError(str(p), f"cannot read: {exc}") from None
    if not records:
        raise LogError(str(p), "no events found (is it an XES log?)")
    rows = pd.DataFrame(records, columns=["case", "activity", "timestamp", "start", "resource", "item", "case_type", "lifecycle"],
                        dtype="string")
    lines = np.zeros(len(rows), dtype=int)  # iterparse gives no line numbers for attributes
    rm = {"case": "case", "activity": "activity", "timestamp": "timestamp", "resource": "resource", "item": "item",
          "case_type": "case_type", "lifecycle": "lifecycle", **({"start": "start"} if "start" in m else {})}
    notes = [f"attributes: {', '.join(f'{r}={c}' for r, c in m.items())}"]
    missing = rows["activity"].isna()
    if missing.any():
        raise LogError(str(p), f"{int(missing.sum())} events without {m['activity']!r} (activity)", None, m["activity"])
    ev = _frame(rows, rm, str(p), lines, timezone, notes)
    return _finish(ev, str(p), m, timezone, notes)


def _is_gzip(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise LogError(str(p), f"cannot read: {exc.strerror or exc}") from None


def read_log(path: str | Path, mapping: Mapping[str, str] | None = None, timezone: str = DEFAULT_TIMEZONE,
             encoding: str | None = None) -> EventLog:
    """A CSV or XES log, by its content (XES starts with ``<?xml`` or ``<log``), gzip or not."""
    p = Path(path)
    head = _bytes(p)[:512].lstrip().lower() if p.exists() else b""
    if not p.exists():
        raise LogError(str(p), "no such file")
    if head.startswith(b"<?xml") or head.startswith(b"<log"):
        return read_xes_log(p, mapping, timezone)
    return read_csv_log(p, mapping, timezone, encoding=encoding)
