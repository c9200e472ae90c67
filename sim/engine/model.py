"""One replication's model: the clock, the runtime tables, the building blocks flows are made of.

``Model(scenario, seedseq).run()`` releases each case type's arrivals into
its compiled flow (see :mod:`sim.engine.compiler`), runs SimPy to the stop and
returns a :class:`~sim.engine.output.RunOutput`.  The building blocks here
(queue for a station and work, wait working time, travel to a site, external
steps) are shared by every compiled flow.
"""

from __future__ import annotations

import itertools
from array import array
from math import ceil

import numpy as np
import simpy

from ..calendar import MINUTES_PER_DAY, clock_for, parse_clock
from ..flow import Choice, walk
from ..scenario import Scenario
from .arrivals import arrival_times
from .output import RunOutput, StationVisits
from .records import ASSISTED, CHUNK, COUNTER, ONLINE, TRACE_CHUNK, UNFINISHED, Recorder, split_time
from .runtime import Case, Station, items_of, stations_of, travel_of
from .servers import Visit
from .streams import Streams

__all__ = ["Model", "HAND_OVER_VISITS"]

HAND_OVER_VISITS = 65_536
"""Visits logged (all stations) before they are handed over to the visit sink (1.5 MB, and a few times that in the sweep)."""


class Model:
    def __init__(self, scenario: Scenario, seedseq, trace: bool = False, recorder: Recorder | None = None):
        """``visit_sink`` (set before ``run``), when given, receives the stations' visit logs every so
        often as ``visit_sink(i, enter, start, end, t0, t1, counted)`` (see ``_hand_over_visits``);
        the engine then keeps none.  Without it, ``run`` returns the whole logs.

        ``trace_sink`` (set before ``run``, with ``trace``), when given, receives the trace rows
        (tuples in the layout ``records.TRACE_COLUMNS``) in lists of ``TRACE_CHUNK`` rows as the
        run goes, and the rest at its end; the run then returns no trace.  Without it, the
        whole trace comes back in the ``RunOutput``."""
        self.s = scenario
        self.streams = Streams(seedseq)
        self.env = env = simpy.Environment()
        self.clock = clock = clock_for(scenario.calendar)
        self.always_open = scenario.calendar.always_open
        self.day = clock.day_minutes
        run = scenario.run
        self.t_warm = clock.working_days_horizon(run.warmup_working_days) if run.warmup_working_days else 0.0
        self.t_end = clock.working_days_horizon(run.warmup_working_days + run.horizon_working_days)
        self.t_stop = clock.working_days_horizon(
            run.warmup_working_days + run.horizon_working_days + run.drain_working_days
        )
        clock.limit(self.t_stop)
        self.trace = [] if trace else None
        self.home, self.between = travel_of(scenario)
        self.stations, self.window_station, self.role_station = stations_of(scenario, env)
        self.items = items_of(scenario, self.streams, self.role_station)
        # gap draws belong to (case type, case, item, attempt), not to the order of arrival at a window
        self.incomplete_key = {
            (ct.id, it.id): self.streams.key(f"incomplete:{ct.id}:{it.id}")
            for ct in scenario.case_types for it in scenario.items
        }
        self.externals = {e.id: e for e in scenario.externals}
        self.ext_sampler = {}
        self.ext_capacity = {}
        self.sittings = {}
        for e in scenario.externals:
            d = e.duration_working_days if e.duration_working_days is not None else e.duration_calendar_days
            basis = "working" if e.duration_working_days is not None else "calendar"
            self.ext_sampler[e.id] = (basis, self.streams.sampler(f"external:{e.id}", d) if d is not None else None)
            if e.kind == "intermediary" and e.capacity:
                self.ext_capacity[e.id] = simpy.Resource(env, e.capacity)
            if e.kind == "meeting":
                self.sittings[e.id] = {}
        self.recorder = recorder if recorder is not None else Recorder()
        self.active: dict[int, Case] = {}
        self.case_types = scenario.case_types
        self.counter = itertools.count()
        # arrival times of each case type; cases are numbered in order of arrival, so the first
        # case.idx that arrived after the warm-up tells counted cases from the others
        self.arrival_times = [
            arrival_times(ct.arrivals, clock, self.t_end, self.streams.generator(f"arrivals:{ct.id}"))
            for ct in scenario.case_types
        ]
        self.first_counted_case = sum(int(np.searchsorted(t, self.t_warm, "left")) for t in self.arrival_times)
        self.recorder.expect_cases(sum(len(t) for t in self.arrival_times))
        self.last_start = 0.0
        self.visit_sink = None
        self.trace_sink = None
        self._handed_over_at = 0.0
        if self.always_open:
            self.work = self._work_always_open

    # -- running ---------------------------------------------------------------
    def run(self) -> RunOutput:
        from .compiler import FlowCompiler  # the compiler builds on this module's blocks

        env = self.env
        for c, (ct, times) in enumerate(zip(self.case_types, self.arrival_times)):
            start = FlowCompiler(self, ct, c).compile_case()
            env.process(self._source(c, ct, times, start))
        self.arrival_times = None  # the sources hold them now, and drop each as it is used up
        if self.visit_sink is not None:
            env.process(self._hand_over_daily())
        env.run(until=self.t_stop)
        for case in list(self.active.values()):
            self.record(case, self.t_stop, UNFINISHED)
        rec = self.recorder
        rec.flush()
        trace = self.trace
        if self.trace_sink is not None:
            if trace:
                self._hand_over_trace()
            trace = None  # the sink has had every row
        if self.visit_sink is not None:
            self._hand_over_visits(self.t_stop, final=True)
            stations = [StationVisits(st.id, st.kind, st.site, st.capacity, None, None, None) for st in self.stations]
        else:
            stations = [self._visits(st) for st in self.stations]
        return RunOutput(
            scenario=self.s, clock=self.clock, t_warm=self.t_warm, t_end=self.t_end, t_stop=self.t_stop,
            cases=rec.cases(), items=rec.items(), stations=stations, trace=trace,
            first_counted_case=self.first_counted_case,
        )

    def _visits(self, st: Station) -> StationVisits:
        """A station's whole visit log (when no sink took it during the run)."""
        enter = np.frombuffer(st.enter, dtype=float)
        start = np.frombuffer(st.start, dtype=float)
        end = np.frombuffer(st.end, dtype=float)
        pending = st.pending_visits(self.t_stop)
        if pending:
            pe, ps, pf = (np.array(col, dtype=float) for col in zip(*pending))
            enter, start, end = np.concatenate([enter, pe]), np.concatenate([start, ps]), np.concatenate([end, pf])
        return StationVisits(st.id, st.kind, st.site, st.capacity, enter, start, end)

    def _hand_over_daily(self):
        """Once a calendar day, hand the visit logs over if they have grown past ``HAND_OVER_VISITS``."""
        env = self.env
        stations = self.stations
        while True:
            yield env.timeout(MINUTES_PER_DAY)
            if sum(len(st.end) for st in stations) >= HAND_OVER_VISITS:
                self._hand_over_visits(env.now, final=False)

    def _hand_over_visits(self, now: float, final: bool) -> None:
        """Give each station's visits over the window since the last hand-over to the sink, then drop them.

        The window's visits are those finished since then (all counted now)
        and those still queued or in service, cut at ``now`` (counted only at
        the end of the run; until then they come back in the next window).
        """
        t0 = self._handed_over_at
        for i, st in enumerate(self.stations):
            pending = st.pending_visits(now)
            n = len(st.end)
            if not n and not pending:
                continue
            enter, start, end = (np.array(a, dtype=float) for a in (st.enter, st.start, st.end))
            if pending:
                pe, ps, pf = (np.array(col, dtype=float) for col in zip(*pending))
                enter, start, end = np.concatenate([enter, pe]), np.concatenate([start, ps]), np.concatenate([end, pf])
            self.visit_sink(i, enter, start, end, t0, now, len(enter) if final else n)
            st.enter, st.start, st.end = array("d"), array("d"), array("d")
        self._handed_over_at = now

    def _source(self, c, ct, times, start):
        """Release the cases of one type at their arrival times.

        Channel and branch choices are drawn for all cases at once from their
        own streams, in arrival order: case k of a type always gets draw k.
        """
        env = self.env
        n = len(times)
        on, assisted = ct.channels.online, ct.channels.assisted
        if on >= 1 or assisted >= 1 or on + assisted <= 0:
            fixed = ONLINE if on >= 1 else ASSISTED if assisted >= 1 else COUNTER
            channels = itertools.repeat(fixed, n)
        else:  # one uniform per case: online at the bottom, assisted at the top, the counter between,
            # so raising the online or the assisted share only moves counter cases
            u = self.streams.generator(f"channel:{ct.id}").random(n)
            channels = np.where(u < on, ONLINE, np.where(u >= 1.0 - assisted, ASSISTED, COUNTER)).astype(np.int8)
            channels = _in_chunks(channels)
        handover_trips = self.s.agency.applicant_trips if assisted > 0 else 0  # set on assisted cases only
        choices = [nd for nd, _ in walk(ct.flow) if isinstance(nd, Choice)]
        if choices:
            draws = np.column_stack(
                [self.streams.generator(purpose).random(n) for purpose in _choice_purposes(ct.id, choices)]
            )
            picks = (tuple(row) for chunk in _row_chunks(draws) for row in chunk)
        else:
            picks = itertools.repeat(None, n)
        timeout, active, counter = env.timeout, self.active, self.counter
        for k, (t, ch, pick) in enumerate(zip(_in_chunks(times), channels, picks)):
            if t > env.now:
                yield timeout(t - env.now)
            idx = next(counter)
            case = active[idx] = Case(idx, c, t, ch, pick, k)
            if handover_trips and ch == ASSISTED:
                case.trips = handover_trips
            start(case)

    def record(self, case, end, status):
        """Write the case's record and forget it."""
        del self.active[case.idx]
        gov = ext = 0.0
        intervals = case.gov
        if case.ext is not None:
            gov, ext = split_time(intervals or (), case.ext, end, self._working)
        elif intervals is not None:
            if len(intervals) == 1 and self.always_open:  # the commonest case, without a call
                a, b = intervals[0]
                gov = max(0.0, (b if b < end else end) - a)
            else:
                gov, ext = split_time(intervals, (), end, self._working)
        rows = self.recorder.case_rows
        rows.append((
            case.idx, case.ctype, case.arrival, end, status, case.channel, case.trips,
            case.window_visits, case.returns, case.window_wait, case.office_wait, case.travel,
            case.items, case.promised_n, case.promised_ok, case.statutory_n, case.statutory_ok,
            case.fee, case.materials, gov, ext,
        ))
        if len(rows) >= CHUNK:
            self.recorder.flush_cases()

    def _working(self, t):
        return t if self.always_open else self.clock.working(t)

    # -- building blocks used by compiled flows ---------------------------------
    def log(self, case, item, activity, kind, resource, enabled, start, end):
        """Add one activity to the trace (only called when tracing), in the layout ``records.TRACE_COLUMNS``."""
        trace = self.trace
        trace.append((case.idx, case.ctype, item, activity, kind, resource, enabled, start, end))
        if len(trace) >= TRACE_CHUNK and self.trace_sink is not None:
            self._hand_over_trace()

    def _hand_over_trace(self) -> None:
        """Give the trace rows so far to the trace sink (a list of its own) and keep none."""
        rows = self.trace.copy()  # the same list stays in place: processes check it for None
        self.trace.clear()
        self.trace_sink(rows)

    def work(self, station: Station, minutes: float, trace_case=None, activity="", kind="step", item=""):
        """Queue for ``station`` and hold one server for ``minutes`` working minutes.

        Returns the waited working minutes (the value of ``yield from``); the
        start of service is left in ``self.last_start`` for the caller.  Staff
        work in office hours only: a task started before closing resumes at
        the next opening.  (Bound at construction to the always-open form,
        which is the same rule with the clock's identity map folded in.)
        """
        env = self.env
        clock = self.clock
        enter = env.now
        visit = Visit(enter)
        wait = station.pool.acquire(visit)
        if wait is not None:
            yield wait
        now = env.now
        start = visit.start = clock.next_open(now)  # granted while closed: work starts at the opening
        end = clock.add(start, minutes)
        if end > now:  # the wait for the opening and the work: one timeout
            yield env.timeout(end - now)
        self._served(station, visit, enter, start, end, trace_case, activity, kind, item)
        return 0.0 if start == enter else clock.working(start) - clock.working(enter)

    def _work_always_open(self, station: Station, minutes: float, trace_case=None, activity="", kind="step", item=""):
        env = self.env
        enter = env.now
        visit = Visit(enter)
        wait = station.pool.acquire(visit)
        if wait is not None:
            yield wait
        start = visit.start = env.now
        end = start + minutes
        if end > start:
            yield env.timeout(end - start)
        self._served(station, visit, enter, start, end, trace_case, activity, kind, item)
        return start - enter

    def _served(self, station, visit, enter, start, end, trace_case, activity, kind, item):
        """The server goes to the next visit; the visit is logged (and traced)."""
        station.pool.release(visit)
        station.enter.append(enter)
        station.start.append(start)
        station.end.append(end)
        if self.trace is not None and trace_case is not None:
            self.log(trace_case, item, activity, kind, station.id, enter, start, end)
        self.last_start = start  # read by the caller right after work returns (no yield between)

    def delay_working(self, minutes: float):
        """A timeout of ``minutes`` working time (pauses while closed), or None for no wait."""
        if minutes <= 0:
            return None
        env = self.env
        end = env.now + minutes if self.always_open else self.clock.add(env.now, minutes)
        return env.timeout(end - env.now)

    def external(self, case, ext_id):
        """An intermediary, a fixed period or a meeting; the case waits for it."""
        env = self.env
        e = self.externals[ext_id]
        basis, draw = self.ext_sampler[ext_id]
        enable = env.now
        if e.kind == "meeting":
            t_sit = self._next_sitting(e, env.now)
            if t_sit > env.now:
                yield env.timeout(t_sit - env.now)
        start = env.now
        cap = self.ext_capacity.get(ext_id)
        req = None
        if cap is not None:
            req = cap.request()
            yield req
            start = env.now
        if draw is not None:
            days = draw()
            if basis == "working":
                ev = self.delay_working(days * self.day)
                if ev is not None:
                    yield ev
            elif days > 0:
                yield env.timeout(days * MINUTES_PER_DAY)
        if req is not None:
            cap.release(req)
        if case.ext is None:
            case.ext = []
        case.ext.append((enable, env.now))
        if self.trace is not None:
            self.log(case, "", ext_id, e.kind, ext_id, enable, start, env.now)

    def _next_sitting(self, m, now):
        clock = self.clock
        k0 = clock.working_day_index(now)
        first, every = m.first_working_day, m.every_working_days
        k = first if k0 <= first else first + ceil((k0 - first) / every) * every
        at = parse_clock(m.at)
        counts = self.sittings[m.id]
        while True:
            t_sit = clock.day_midnight(k) + at
            if t_sit >= now and (m.capacity_per_sitting is None or counts.get(k, 0) < m.capacity_per_sitting):
                counts[k] = counts.get(k, 0) + 1
                return t_sit
            k += every


def _in_chunks(a: np.ndarray, size: int = CHUNK):
    """Python numbers of an array, converted a chunk at a time (no list of a million floats)."""
    for i in range(0, len(a), size):
        yield from a[i:i + size].tolist()


def _row_chunks(a: np.ndarray, size: int = CHUNK):
    for i in range(0, len(a), size):
        yield a[i:i + size].tolist()


def _choice_purposes(ct_id, choices) -> list[str]:
    """Stream of each choice: its shared draw, else its id, else what its branches hold.

    Never its position, so a reform that adds or removes a choice elsewhere in
    the flow leaves every other choice's draws where they were.
    """
    out, seen = [], {}
    for node in choices:
        if node.draw:
            out.append(f"choice:{ct_id}:draw:{node.draw}")
        elif node.key:
            out.append(f"choice:{ct_id}:{node.key}")
        else:
            sig = "|".join(",".join(str(n.key) for n, _ in walk(b.flow)) for b in node.choice)
            seen[sig] = seen.get(sig, -1) + 1
            out.append(f"choice:{ct_id}:~{sig}#{seen[sig]}")
    return out
