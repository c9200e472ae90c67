"""Writing an event log file: the format from the name, written next to its place and renamed when complete.

``write_log(result, path)`` writes the log of a run made with ``trace=True``
(the trace in memory); :func:`sim.eventlog.stream.run_logged` runs the
replications and streams their traces to disk instead.  Both go through
:class:`StagedLog`: the file is written as ``log`` inside a hidden
``.NAME.xxxx`` folder beside ``path`` and linked into place at the end, so a
failed or interrupted run leaves nothing half-written, and an existing file
is never overwritten (not even one that appears while the log is written).

Formats, by the end of the name: ``.csv``, ``.xes``, ``.xes.gz``,
``.jsonocel`` or ``.ocel.json`` (OCEL 2.0 JSON).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from ..engine.records import TRACE_CHUNK, TRACE_COLUMNS
from .cases import CaseAssembler, CaseLog
from .csv_log import CsvLogWriter
from .ocel import OcelLogWriter
from .timestamps import DEFAULT_TIME_ZONE, CalendarTime
from .xes import XesLogWriter

__all__ = [
    "FORMATS", "LogExists", "LogNotWritable", "UnknownLogFormat", "LogMeta", "LogWritten", "StagedLog",
    "log_format", "check_log_path", "write_log", "write_replication",
]

FORMATS = {".csv": "csv", ".xes": "xes", ".xes.gz": "xes.gz", ".jsonocel": "ocel", ".ocel.json": "ocel"}
"""End of a log file's name -> its format."""


class UnknownLogFormat(ValueError):
    """The log's name does not end in a known format."""


class LogExists(FileExistsError):
    """The log file already exists."""


class LogNotWritable(ValueError):
    """The log's folder cannot be made or written to."""


def log_format(path: str | os.PathLike) -> str:
    """``csv``, ``xes``, ``xes.gz`` or ``ocel``, from the end of the name (case does not matter)."""
    name = Path(path).name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return FORMATS[suffix]
    raise UnknownLogFormat(
        f"{path}: unknown event log format; the name must end in {', '.join(FORMATS)}"
    )


def check_log_path(path: str | os.PathLike) -> Path:
    """The log's path if it has a known format, does not exist yet and can be written (else
    UnknownLogFormat, LogExists or LogNotWritable); nothing is made on disk."""
    p = Path(path)
    log_format(p)
    if p.exists() or p.is_symlink():
        raise LogExists(f"{p}: already exists; choose a new file for the event log (nothing was written)")
    folder = p.absolute().parent
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists gets the new ones
        folder = folder.parent
    if not folder.is_dir():
        raise LogNotWritable(f"{p}: {folder} is not a folder; choose another place for the event log")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LogNotWritable(f"{p}: cannot write in {folder}; choose another place for the event log")
    return p


@dataclass(frozen=True)
class LogMeta:
    """What the log says of itself (XES log attributes)."""

    scenario: str
    seed: int
    replications: int
    time_zone: str
    source: str


@dataclass(frozen=True)
class LogWritten:
    path: Path
    format: str
    cases: int
    events: int  # activity instances (an XES file holds two events for each)


def _remove(path: Path) -> None:
    for _ in range(5):  # a worker killed a moment ago may still be closing a file in it
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)


class StagedLog:
    """A log file being written: ``with StagedLog(path, meta) as log: log.write(case)``.

    The block's normal end completes the file and links it into place; an
    exception (an error, Ctrl-C, SIGTERM raised as an exception) removes
    everything written.  ``folder`` is the hidden folder beside ``path``,
    also where replications spill their traces.
    """

    def __init__(self, path: str | os.PathLike, meta: LogMeta):
        self.final = check_log_path(path)
        self.format = log_format(self.final)
        self.meta = meta
        self.cases = self.events = 0
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", dir=self.final.parent))
        self._tmp = self.folder / "log"
        self._closers = []
        try:
            raw = open(self._tmp, "wb")
            self._closers.append(raw)
            stream = raw
            if self.format == "xes.gz":  # no name or time in the header: the same log gives the same bytes
                stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
                self._closers.insert(0, stream)
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
            self._closers.insert(0, text)
            if self.format == "csv":
                self._writer = CsvLogWriter(text)
            elif self.format == "ocel":
                self._writer = OcelLogWriter(text, self.folder / "objects")
            else:
                self._writer = XesLogWriter(text)
            self._writer.begin(meta)
        except BaseException:
            self._abort()
            raise

    def spill_path(self, replication: int) -> Path:
        return self.folder / f"r{replication}.trace"

    def write(self, case: CaseLog) -> None:
        self._writer.case(case)
        self.cases += 1
        self.events += len(case.events)

    def __enter__(self) -> "StagedLog":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self._abort()
            return
        try:
            self._writer.end()
            self._close()
            _publish(self._tmp, self.final)
        except BaseException:
            self._abort()
            raise
        _remove(self.folder)

    def written(self) -> LogWritten:
        return LogWritten(self.final, self.format, self.cases, self.events)

    def _close(self) -> None:
        closers, self._closers = self._closers, []
        for f in closers:  # text wrapper, then gzip, then the file
            f.close()
        close = getattr(self._writer, "close", None) if hasattr(self, "_writer") else None
        if close:
            close()

    def _abort(self) -> None:
        try:
            self._close()
        except BaseException:
            pass
        _remove(self.folder)


def _publish(tmp: Path, final: Path) -> None:
    """Put the finished file in place, never over an existing one."""
    try:
        os.link(tmp, final)  # fails if ``final`` exists, atomically
    except FileExistsError:
        raise LogExists(f"{final}: appeared while the log was written; it was left as it was (the log was not written)") from None
    except OSError:  # a file system without hard links
        if final.exists():
            raise LogExists(f"{final}: appeared while the log was written; it was left as it was (the log was not written)") from None
        os.replace(tmp, final)


def write_replication(log: StagedLog, replication: int, cases: pd.DataFrame, items: pd.DataFrame | None,
                      chunks: Iterable[list], counts, clock: CalendarTime, item_ids) -> None:
    """One replication's trace rows (``chunks``, in the engine's order) into the log, a case at a time."""
    assembler = CaseAssembler(replication, cases, items, counts, clock, item_ids)
    for rows in chunks:
        for case in assembler.feed(rows):
            log.write(case)
    for case in assembler.finish():
        log.write(case)


def _trace_chunks(trace: pd.DataFrame) -> Iterator[list]:
    cols = trace[list(TRACE_COLUMNS)]
    for i in range(0, len(cols), TRACE_CHUNK):
        yield list(cols.iloc[i:i + TRACE_CHUNK].itertuples(index=False, name=None))


def meta_for(scenario, seed: int, replications: int, clock: CalendarTime) -> LogMeta:
    from .. import __version__

    return LogMeta(scenario.name, int(seed), int(replications), clock.name, f"approval-sim {__version__}")


def write_log(result, path: str | os.PathLike, *, scenario=None, time_zone=DEFAULT_TIME_ZONE) -> LogWritten:
    """Write the event log of a traced run (``run(..., trace=True)`` or ``simulate(..., trace=True)``).

    ``result`` is a :class:`~sim.runner.RunResult` or a
    :class:`~sim.results.Replication` (then give ``scenario``, the
    :class:`~sim.Scenario` it ran).  The format comes from ``path``'s name;
    ``time_zone`` is an IANA name or a UTC offset (default ``Asia/Shanghai``).
    """
    from ..scenario import Scenario

    scenario = scenario if scenario is not None else getattr(result, "scenario", None)
    if not isinstance(scenario, Scenario):
        raise TypeError("write_log needs the Scenario that was run (pass scenario=...)")
    if result.trace is None:
        raise ValueError("write_log needs a run with trace=True (or use sim.eventlog.run_logged, which streams it)")
    if result.cases is None or (len(result.cases) == 0 and len(result.trace)):
        raise ValueError("write_log needs the per-case tables (a run with per_case=True)")
    clock = CalendarTime(scenario.calendar.start_date, time_zone)
    reps = sorted(int(r) for r in pd.unique(result.cases["replication"])) if len(result.cases) else []
    item_ids = [it.id for it in scenario.items]
    meta = meta_for(scenario, result.seed, len(reps) or getattr(result, "replications", 1), clock)
    with StagedLog(path, meta) as log:
        for r in reps:
            trace = result.trace[result.trace["replication"] == r]
            cases = result.cases[result.cases["replication"] == r]
            items = result.items[result.items["replication"] == r] if result.items is not None else None
            counts = np.bincount(trace["case"].to_numpy(np.int64)) if len(trace) else np.zeros(0, np.int64)
            write_replication(log, r, cases, items, _trace_chunks(trace), counts.tolist(), clock, item_ids)
    return log.written()
