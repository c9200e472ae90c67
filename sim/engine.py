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
time and the applicant's side (see ``_Model._split_time``); every decided
item is recorded with its own government time, trips and on-time flags.

Staff work only in office hours; a task started before closing resumes at the
next opening.  Applicants still queued at closing wait for the next opening.
"""

from __future__ import annotations

import itertools
from array import array
from dataclasses import dataclass
from math import ceil

import numpy as np
import simpy

from .arrivals import arrival_times
from .calendar import MINUTES_PER_DAY, clock_for, due_working_minute
from .flow import Apply, Choice, ExternalStep, Parallel, Sequence, walk
from .results import ITEM_FIELDS, RECORD_FIELDS, Replication, build_replication
from .scenario import Scenario, incomplete_with_fewer_materials
from .streams import Streams, keyed_uniform, replication_seed

__all__ = ["simulate"]

COMPLETED, ABANDONED, UNFINISHED = 0, 1, 2
COUNTER, ONLINE, ASSISTED = 0, 1, 2


class Station:
    """A staffed resource (window group or department role) and its visit log."""

    __slots__ = ("id", "kind", "site", "capacity", "res", "enter", "start", "end", "label")

    def __init__(self, env, id_, kind, capacity, site=None, label=""):
        self.id = id_
        self.kind = kind
        self.site = site
        self.capacity = capacity
        self.label = label
        self.res = simpy.Resource(env, capacity)
        self.enter = array("d")
        self.start = array("d")
        self.end = array("d")


class Case:
    """State of one case while it runs.

    Counters live on the class as defaults and become instance attributes only
    when a case changes them, so creating a case costs four assignments.
    """

    site = None
    left_at = -1.0
    trips = 0
    window_visits = 0
    returns = 0
    window_wait = 0.0
    office_wait = 0.0
    travel = 0.0
    abandoned = False
    items = 0
    promised_n = 0
    promised_ok = 0
    statutory_n = 0
    statutory_ok = 0
    fee = 0.0
    applicant = None
    done = None
    waiting = None

    materials = 0
    gov = None  # calendar (start, end) of each item in government hands: acceptance -> decision
    ext = None  # calendar (start, end) of each external step (intermediary, notice, meeting)
    item_ev = None  # item id -> event "decided", for items whose result others wait for

    def __init__(self, idx, ctype, arrival, channel, choices, k=0):
        self.idx = idx
        self.k = k  # index among the cases of its type (keys the case's own draws)
        self.ctype = ctype
        self.arrival = arrival
        self.channel = channel  # COUNTER, ONLINE or ASSISTED
        self.choices = choices


@dataclass(frozen=True)
class _ItemRT:
    """Runtime view of an item: samplers and constants resolved once."""

    id: str
    index: int
    immediate: bool
    intake: object
    handoff_in: object
    handoff_out: object
    steps: tuple  # of (Station, sampler)
    p_incomplete: float
    tolerated: float
    decide_before_supplement: bool
    materials: int
    inspection: tuple | None  # (share, Station, minutes sampler)
    online: bool
    delivery: str
    pickup: object
    pickup_mean: float
    mail: object
    promised: float | None
    statutory: float | None
    fee: float
    issued_after: tuple  # item ids whose result this item needs before it is issued


def simulate(scenario: Scenario, seed: int = 0, replication: int = 0, *, trace: bool = False) -> Replication:
    """Run one replication and return its results.

    ``seed`` and ``replication`` together fix every random number: replication
    ``r`` of seed ``s`` is the same whatever else runs.  The streams are keyed
    by purpose, so two scenarios run with the same seed see the same arrivals
    and the same work content wherever they share case types, items and steps
    (common random numbers).  ``trace=True`` also records every activity
    (case, activity, resource, enabled, start, end) for event logs.
    """
    return _Model(scenario, replication_seed(seed, replication), trace).run(seed, replication)


class _Travel(dict):
    """Minutes between two sites: the routes given, else 0 at the same site, else the default.

    Pairs are looked up as needed, so a scenario with many sites costs nothing
    for pairs no applicant travels between.
    """

    def __init__(self, default_minutes: float):
        super().__init__()
        self.default_minutes = float(default_minutes)

    def __missing__(self, pair):
        return 0.0 if pair[0] == pair[1] else self.default_minutes


class _Model:
    def __init__(self, scenario: Scenario, seedseq, trace: bool):
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

        # places and travel
        t = scenario.travel
        self.home = {
            st.id: (st.from_home_minutes if st.from_home_minutes is not None else t.from_home_minutes)
            for st in scenario.sites
        }
        # only routes written out are stored; other pairs take the default (see _Travel)
        self.between = _Travel(t.default_minutes)
        for r in t.routes:
            a, b = r.between
            if "home" in (a, b):
                other = b if a == "home" else a
                self.home[other] = r.minutes
            else:
                self.between[a, b] = self.between[b, a] = r.minutes

        # stations
        self.stations: list[Station] = []
        self.window_station = {}
        for w in scenario.windows:
            st = Station(env, w.id, "window", w.positions, w.site, w.name)
            self.stations.append(st)
            self.window_station[w.id] = st
        self.role_station = {}
        for d in scenario.departments:
            for role, n in d.staff.items():
                st = Station(env, f"{d.id}.{role}", "back_office", n, d.site, d.name)
                self.stations.append(st)
                self.role_station[d.id, role] = st

        # items
        self.items = {}
        for k, it in enumerate(scenario.items):
            steps = tuple(
                (
                    self.role_station[st.department or it.department, st.role],
                    self.streams.sampler(f"duration:{it.id}:{st.key}", st.minutes),
                    st.key,
                )
                for st in it.steps
            )
            self.items[it.id] = _ItemRT(
                id=it.id,
                index=k,
                immediate=it.kind == "immediate",
                intake=self.streams.sampler(f"intake:{it.id}", it.intake_minutes),
                handoff_in=self.streams.sampler(f"handoff_in:{it.id}", it.handoff.to_back_office_minutes),
                handoff_out=self.streams.sampler(f"handoff_out:{it.id}", it.handoff.to_window_minutes),
                steps=steps,
                p_incomplete=it.incomplete_probability,
                tolerated=it.tolerated_share,
                decide_before_supplement=it.decide_before_supplement,
                materials=it.materials,
                inspection=(
                    (
                        it.inspection.share,
                        self.role_station[it.inspection.department or it.department, it.inspection.role],
                        self.streams.sampler(f"inspection_minutes:{it.id}", it.inspection.minutes),
                    )
                    if it.inspection is not None and it.inspection.share > 0
                    else None
                ),
                online=it.online,
                delivery=it.result_delivery,
                pickup=self.streams.sampler(f"pickup:{it.id}", it.pickup_minutes),
                pickup_mean=it.pickup_minutes.mean,
                mail=self.streams.sampler(f"mail:{it.id}", it.mail_calendar_days),
                promised=it.promised_limit_days,
                statutory=it.statutory_limit_days,
                fee=it.fee_yuan,
                issued_after=it.issued_after,
            )
        # gap draws belong to (case type, case, item, attempt), not to the order of arrival at a window
        self.incomplete_key = {
            (ct.id, it.id): self.streams.key(f"incomplete:{ct.id}:{it.id}") for ct in scenario.case_types for it in scenario.items
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

        # per-case records (columns)
        self.rows: list[tuple] = []
        self.chunks: list[np.ndarray] = []
        # per decided item: (case, item index, accepted, government end, decided, trips, returns,
        # promised on time (-1: no limit), statutory on time)
        self.item_rows: list[tuple] = []
        self.item_chunks: list[np.ndarray] = []
        self.active: dict[int, Case] = {}
        self.case_types = scenario.case_types
        self.counter = itertools.count()

    # -- running ---------------------------------------------------------------
    def run(self, seed, replication) -> Replication:
        env = self.env
        for c, ct in enumerate(self.case_types):
            times = arrival_times(ct.arrivals, self.clock, self.t_end, self.streams.generator(f"arrivals:{ct.id}"))
            flow = _Compiler(self, ct, c).compile_case()
            env.process(self._source(c, ct, times, flow))
        env.run(until=self.t_stop)
        for case in list(self.active.values()):
            self._record(case, self.t_stop, UNFINISHED)
        return build_replication(self, seed, replication)

    def _source(self, c, ct, times, flow):
        """Release the cases of one type at their arrival times.

        Channel and branch choices are drawn for all cases at once from their
        own streams, in arrival order: case k of a type always gets draw k.
        """
        env = self.env
        n = len(times)
        on, assisted = ct.channels.online, ct.channels.assisted
        if on >= 1 or assisted >= 1 or on + assisted <= 0:
            channels = [ONLINE if on >= 1 else ASSISTED if assisted >= 1 else COUNTER] * n
        else:  # one uniform per case: online at the bottom, assisted at the top, the counter between,
            # so raising the online or the assisted share only moves counter cases
            u = self.streams.generator(f"channel:{ct.id}").random(n)
            channels = np.where(u < on, ONLINE, np.where(u >= 1.0 - assisted, ASSISTED, COUNTER)).tolist()
        handover_trips = self.s.agency.applicant_trips if assisted > 0 else 0  # set on assisted cases only
        choices = [nd for nd, _ in walk(ct.flow) if isinstance(nd, Choice)]
        if choices:
            draws = np.column_stack(
                [self.streams.generator(purpose).random(n) for purpose in _choice_purposes(ct.id, choices)]
            )
            picks = [tuple(row) for row in draws.tolist()]
        else:
            picks = [None] * n
        timeout, process, active, counter = env.timeout, env.process, self.active, self.counter
        for k, (t, ch, pick) in enumerate(zip(times.tolist(), channels, picks)):
            if t > env.now:
                yield timeout(t - env.now)
            idx = next(counter)
            case = active[idx] = Case(idx, c, t, ch, pick, k)
            if handover_trips and ch == 2:  # ASSISTED
                case.trips = handover_trips
            process(flow(case))

    def _record(self, case, end, status):
        del self.active[case.idx]
        gov = ext = 0.0
        if case.gov is not None or case.ext is not None:
            gov, ext = self._split_time(case.gov or (), case.ext or (), end)
        rows = self.rows
        rows.append((
            case.idx, case.ctype, case.arrival, end, status, case.channel, case.trips,
            case.window_visits, case.returns, case.window_wait, case.office_wait, case.travel,
            case.items, case.promised_n, case.promised_ok, case.statutory_n, case.statutory_ok,
            case.fee, case.materials, gov, ext,
        ))
        if len(rows) >= 8192:
            self._flush()

    def add_items(self, rows, trips):
        """Record an application's decided items, with the trips it took (visits and pickup)."""
        item_rows = self.item_rows
        for r in rows:
            item_rows.append(r[:5] + (trips,) + r[5:])
        if len(item_rows) >= 8192:
            self._flush_items()

    def _flush_items(self):
        rows = self.item_rows
        flat = np.fromiter(itertools.chain.from_iterable(rows), float, count=len(rows) * len(ITEM_FIELDS))
        self.item_chunks.append(flat.reshape(len(rows), len(ITEM_FIELDS)).T.copy())
        rows.clear()

    def items_table(self) -> np.ndarray:
        """Per decided item records as columns (row i is ITEM_FIELDS[i])."""
        if self.item_rows:
            self._flush_items()
        return np.concatenate(self.item_chunks, axis=1) if self.item_chunks else np.empty((len(ITEM_FIELDS), 0))

    def _split_time(self, gov, ext, end):
        """Working minutes of a case in government hands, and in external hands but not the government's.

        Government time is the union of the items' acceptance-to-decision
        intervals (parallel items count once); external time is the union of
        external steps outside it.  What is left of the lead time is the
        applicant's side (queues before acceptance, travel, fixing, supplements,
        pickup, post).  Intervals still open at ``end`` are cut there.
        """
        w = (lambda t: t) if self.always_open else self.clock.working
        if not ext and len(gov) == 1:  # one application, no external step: nothing to merge
            a, b = gov[0]
            return max(0.0, w(min(b, end)) - w(a)), 0.0
        g = _merge([(w(a), w(min(b, end))) for a, b in gov])
        e = _merge([(w(a), w(min(b, end))) for a, b in ext])
        gov_w = sum(b - a for a, b in g)
        ext_w = sum(b - a for a, b in e)
        if g and e:
            for a, b in e:
                for c, d in g:
                    lo, hi = max(a, c), min(b, d)
                    if hi > lo:
                        ext_w -= hi - lo
        return gov_w, ext_w

    def _flush(self):
        # stored column-wise (field x case): a chunk is small enough to transpose in cache
        rows = self.rows
        flat = np.fromiter(itertools.chain.from_iterable(rows), float, count=len(rows) * len(RECORD_FIELDS))
        self.chunks.append(flat.reshape(len(rows), len(RECORD_FIELDS)).T.copy())
        self.rows.clear()

    def records_table(self) -> np.ndarray:
        """Per-case records as columns: row i is field RECORD_FIELDS[i], one column per case (completion order)."""
        if self.rows:
            self._flush()
        return np.concatenate(self.chunks, axis=1) if self.chunks else np.empty((len(RECORD_FIELDS), 0))

    # -- building blocks used by compiled flows ---------------------------------
    def log(self, case, activity, kind, resource, enabled, start, end):
        """Add one activity to the trace (only called when tracing)."""
        self.trace.append((case.idx, case.ctype, activity, kind, resource, enabled, start, end))

    def work(self, station: Station, minutes: float, trace_case=None, activity="", kind="step"):
        """Queue for ``station`` and hold one server for ``minutes`` working minutes.

        Returns (waited working minutes) via StopIteration value.
        """
        env = self.env
        enter = env.now
        req = station.res.request()
        req.enter = enter
        yield req
        start = req.start = env.now
        if self.always_open:
            end = start + minutes
            wait = start - enter
        else:
            clock = self.clock
            opened = clock.next_open(start)
            if opened > start:
                req.start = opened
                yield env.timeout(opened - start)
                start = opened
            end = clock.add(start, minutes)
            wait = clock.working(start) - clock.working(enter)
        if end > start:
            yield env.timeout(end - start)
        station.res.release(req)
        station.enter.append(enter)
        station.start.append(start)
        station.end.append(end)
        if self.trace is not None and trace_case is not None:
            self.log(trace_case, activity, kind, station.id, enter, start, end)
        self.last_start = start  # read by the caller right after this returns (no yield between)
        return wait

    def delay_working(self, minutes: float):
        """Wait ``minutes`` of working time (pauses while closed)."""
        if minutes <= 0:
            return None
        env = self.env
        end = env.now + minutes if self.always_open else self.clock.add(env.now, minutes)
        return env.timeout(end - env.now)

    def go_to(self, case, site):
        """The applicant comes to ``site``: a trip unless already there right now."""
        env = self.env
        now = env.now
        if case.left_at == now:
            if case.site == site:
                return
            minutes = self.between[case.site, site]
        else:
            minutes = self.home[site]
            if not self.always_open:  # wait at home until the office opens
                opened = self.clock.next_open(now)
                if opened > now:
                    yield env.timeout(opened - now)
                    if self.trace is not None:
                        self.log(case, "wait_for_opening", "wait_open", site, now, now, opened)
        case.trips += 1
        if minutes > 0:
            case.travel += minutes
            yield env.timeout(minutes)
            if self.trace is not None:
                self.log(case, "travel", "travel", site, env.now - minutes, env.now - minutes, env.now)

    def external(self, case, ext_id):
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
            self.log(case, ext_id, e.kind, ext_id, enable, start, env.now)

    def _next_sitting(self, m, now):
        clock = self.clock
        k0 = clock.working_day_index(now)
        first, every = m.first_working_day, m.every_working_days
        k = first if k0 <= first else first + ceil((k0 - first) / every) * every
        at = _minutes_of(m.at)
        counts = self.sittings[m.id]
        while True:
            t_sit = clock.day_midnight(k) + at
            if t_sit >= now and (m.capacity_per_sitting is None or counts.get(k, 0) < m.capacity_per_sitting):
                counts[k] = counts.get(k, 0) + 1
                return t_sit
            k += every


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


def _merge(intervals):
    """Union of (start, end) intervals as sorted disjoint intervals."""
    out = []
    for a, b in sorted(x for x in intervals if x[1] > x[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _minutes_of(text):
    from .calendar import parse_clock

    return parse_clock(text)




class _Compiler:
    """Turns a flow tree into nested process functions for one case type."""

    def __init__(self, model: _Model, ct, c):
        self.m = model
        self.ct = ct
        self.c = c
        self.depended = {ref for n, _ in walk(ct.flow) for ref in n.after}
        self.choice_index = {id(n): k for k, n in enumerate(n for n, _ in walk(ct.flow) if isinstance(n, Choice))}
        # the j-th application of an item along a case's path (almost always 0): keys that
        # item's draws, so they survive reforms that regroup applications; the branches of a
        # choice are alternatives, so each starts from the same count
        self.occurrence = {}
        self._count_occurrences(ct.flow, {})
        self.applicant_needed = self._parallel_in_person(ct.flow)
        beh = ct.applicants or model.s.applicants
        basis, dist = beh.fix_time
        self.fix_basis = basis
        self.fix = model.streams.sampler(f"fix:{ct.id}", dist)
        self.repeat_factor = beh.repeat_incomplete_factor
        self.abandon_p = beh.abandon_probability

    def _count_occurrences(self, node, seen: dict) -> dict:
        if isinstance(node, Apply):
            for i in node.item_ids:
                self.occurrence[id(node), i] = seen.get(i, 0)
                seen[i] = seen.get(i, 0) + 1
        elif isinstance(node, Choice):
            after = dict(seen)
            for b in node.choice:
                branch = self._count_occurrences(b.flow, dict(seen))
                for i, c in branch.items():
                    after[i] = max(after.get(i, 0), c)
            seen.clear()
            seen.update(after)
        else:
            for c in node.children():
                self._count_occurrences(c, seen)
        return seen

    def _parallel_in_person(self, flow) -> bool:
        for n, _ in walk(flow):
            if isinstance(n, Parallel):
                branches_with_visits = sum(
                    any(isinstance(x, Apply) for x, _ in walk(b)) for b in n.parallel
                )
                if branches_with_visits >= 2:
                    return True
        return False

    # -- compile ------------------------------------------------------------------
    def compile_case(self):
        """The process function of a whole case: its flow, then its record."""
        m = self.m
        env = m.env
        fast = self._single_counter_visit()
        if fast is not None:
            return fast
        f = self._compile(self.ct.flow)
        applicant_needed = self.applicant_needed
        depended = bool(self.depended)

        def case_process(case):
            if applicant_needed:
                case.applicant = simpy.Resource(env, 1)
            if depended:
                case.done = set()
                case.waiting = {}
            yield from f(case)
            if depended:
                self._release_all(case)
            m._record(case, env.now, ABANDONED if case.abandoned else COMPLETED)

        return case_process

    def _single_counter_visit(self):
        """A fused process for the commonest simple journey, or None.

        One immediate item, complete on first try, one window group that is
        reached without travel: queue, intake, done.  It does exactly what the
        general path does for such a case, with no nested generators (this is
        the queueing-model case the speed benchmark measures).
        """
        node = self.ct.flow
        while isinstance(node, Sequence) and len(node.sequence) == 1 and not node.after:
            node = node.sequence[0]
        if not isinstance(node, Apply) or node.after or len(node.item_ids) != 1:
            return None
        m = self.m
        it = m.items[node.item_ids[0]]
        windows = self._windows(node)
        if not it.immediate or it.p_incomplete > 0 or it.inspection is not None or len(windows) != 1:
            return None
        station = windows[0]
        if m.home[station.site] > 0 or not m.always_open:
            return None
        env = m.env
        res = station.res
        request = res.request
        release = res.release
        timeout = env.timeout
        log_enter, log_start, log_end = station.enter.append, station.start.append, station.end.append
        intake = it.intake
        in_person = 0 if it.online else 1
        fee = it.fee
        materials = it.materials
        day = m.day
        limits = tuple((lim, k) for k, lim in ((0, it.promised), (1, it.statutory)) if lim is not None)
        trace = m.trace
        item_rows = m.item_rows
        item_index = it.index
        label = f"intake:{node.key}"

        rows = m.rows
        active = m.active
        flush = m._flush
        n_limits = len(limits)
        completed = COMPLETED

        def single_visit(case):
            ch = case.channel
            if ch == 0:  # COUNTER: one visit, one trip
                visit = trips = 1
            elif ch == 1:  # ONLINE: a visit only for an item that cannot be done online
                visit = trips = in_person
            else:  # ASSISTED: the agent visits; the applicant made the hand-over trips
                visit, trips = 1, case.trips
            enter = env.now
            req = request()
            req.enter = enter
            yield req
            start = req.start = env.now
            d = intake()
            if d > 0:
                yield timeout(d)
                end = start + d  # always open on this path: no closed hours inside the intake
            else:
                end = start
            release(req)
            log_enter(enter)
            log_start(start)
            log_end(end)
            pn = pok = sn = sok = 0
            pon = son = -1
            if n_limits:
                for limit, kind in limits:  # decided at the window when accepted
                    ok = end <= due_working_minute(end, limit, day) + 1e-9  # decided when accepted
                    if kind == 0:
                        pn, pok = 1, int(ok)
                        pon = pok
                    else:
                        sn, sok = 1, int(ok)
                        son = sok
            item_rows.append((case.idx, item_index, start, end, end, trips, 0, pon, son))
            if len(item_rows) >= 8192:
                m._flush_items()
            if trace is not None:
                m.log(case, label, "intake", station.id, enter, start, end)
            del active[case.idx]
            rows.append((
                case.idx, case.ctype, case.arrival, end, completed, ch, trips, visit,
                0, start - enter, 0.0, 0.0, 1, pn, pok, sn, sok, fee, materials, end - start, 0.0,
            ))
            if len(rows) >= 8192:
                flush()

        return single_visit

    def _compile(self, node):
        if isinstance(node, Sequence):
            f = self._sequence(node)
        elif isinstance(node, Parallel):
            f = self._parallel(node)
        elif isinstance(node, Choice):
            f = self._choice(node)
        elif isinstance(node, Apply):
            f = self._apply(node)
        elif isinstance(node, ExternalStep):
            f = self._external(node)
        else:  # pragma: no cover - validated away
            raise TypeError(node)
        return self._wrap_precedence(node, f)

    def _wrap_precedence(self, node, f):
        after = tuple(node.after)
        key = node.key if node.key in self.depended else None
        if not after and key is None:
            return f
        env = self.m.env

        def guarded(case):
            for ref in after:
                if ref not in case.done:
                    ev = case.waiting.get(ref)
                    if ev is None:
                        ev = case.waiting[ref] = env.event()
                    yield ev
            if not case.abandoned:
                yield from f(case)
            if key is not None:
                self._mark(case, key)

        return guarded

    def _mark(self, case, key):
        case.done.add(key)
        ev = case.waiting.pop(key, None)
        if ev is not None and not ev.triggered:
            ev.succeed()

    def _release_all(self, case):
        for key in list(case.waiting):
            self._mark(case, key)

    def _sequence(self, node):
        fs = tuple(self._compile(c) for c in node.sequence)
        if len(fs) == 1:
            return fs[0]

        def sequence(case):
            for f in fs:
                if case.abandoned:
                    return
                yield from f(case)

        return sequence

    def _parallel(self, node):
        fs = tuple(self._compile(c) for c in node.parallel)
        env = self.m.env
        if len(fs) == 1:
            return fs[0]

        def parallel(case):
            yield env.all_of([env.process(f(case)) for f in fs])

        return parallel

    def _choice(self, node):
        k = self.choice_index[id(node)]
        fs = tuple(self._compile(b.flow) for b in node.choice)
        cum = np.cumsum([b.probability for b in node.choice]).tolist()
        cum[-1] = 1.0 + 1e-12
        skipped = [
            [n.key for n, _ in walk(b.flow) if n.key in self.depended] for b in node.choice
        ]

        def choice(case):
            u = case.choices[k]
            pick = 0
            while u >= cum[pick]:
                pick += 1
            if self.depended:
                for j, keys in enumerate(skipped):
                    if j != pick:
                        for key in keys:
                            self._mark(case, key)
            yield from fs[pick](case)

        return choice

    def _external(self, node):
        m = self.m
        ext_id = node.external

        def external(case):
            yield from m.external(case, ext_id)

        return external

    def _windows(self, node) -> tuple:
        """Window stations an application can go to: the pinned one, or all that accept its items."""
        m = self.m
        if node.windows is not None:
            return tuple(m.window_station[w] for w in node.windows)
        return tuple(m.window_station[w.id] for w in m.s.windows_for(node.item_ids))

    def _apply(self, node):
        m = self.m
        env = m.env
        clock = m.clock
        always_open = m.always_open
        day = m.day
        items = tuple(m.items[i] for i in node.item_ids)
        windows = self._windows(node)
        only_window = windows[0] if len(windows) == 1 else None
        any_online = all(it.online for it in items)
        # one set of materials: shared ones are handed in once, so each item's
        # chance of a gap shrinks as if it had (total - shared) / total of its materials
        total_materials = sum(it.materials for it in items)
        materials = total_materials - node.shared_materials
        keep = materials / total_materials if total_materials > 0 else 1.0
        p_items = [incomplete_with_fewer_materials(it.p_incomplete, keep) for it in items]
        tolerated = [it.tolerated for it in items]
        any_incomplete = any(p > 0 for p in p_items)
        gap_keys = [m.incomplete_key[self.ct.id, it.id] for it in items]
        slots = [1024 * self.occurrence[id(node), it.id] for it in items]
        abandon_key = m.streams.key(f"abandon:{self.ct.id}:{items[0].id}")
        inspection_keys = {it.id: m.streams.key(f"inspection:{self.ct.id}:{it.id}") for it in items if it.inspection}
        back = tuple(it for it in items if not it.immediate)
        needs_pickup = any(it.delivery == "pickup" for it in back)
        pickup_service = needs_pickup and any(it.pickup_mean > 0 for it in back if it.delivery == "pickup")
        mails = tuple(it for it in back if it.delivery == "mail")
        fee = sum(it.fee for it in items)
        compiler = self
        agency = m.s.agency
        label = node.key
        waited_for = {d for it in m.items.values() for d in it.issued_after}
        awaited = tuple(it for it in items if it.id in waited_for)

        def choose(case):
            if only_window is not None:
                return only_window
            here = case.site if case.left_at == env.now else None
            best, best_key = None, None
            for st in windows:
                travel = 0.0 if here == st.site else (m.between[here, st.site] if here else m.home[st.site])
                load = (len(st.res.queue) + st.res.count) / st.capacity
                key = (travel, load)
                if best_key is None or key < best_key:
                    best, best_key = st, key
            return best

        def check(case, attempt, assisted):
            """(returned, tolerated items) of one attempt.

            One uniform per item: below p*f^k the item has a gap; below
            p*f^k*tolerated_share the gap is non-essential and is tolerated.
            """
            if not any_incomplete:
                return False, ()
            factor = compiler.repeat_factor**attempt
            if assisted:
                factor *= agency.incomplete_factor
            returned, gaps = False, []
            for it, p, s, key, slot in zip(items, p_items, tolerated, gap_keys, slots):
                if p > 0:
                    x = keyed_uniform(key, case.k, slot + attempt)
                    if x < p * factor:
                        if x < p * factor * s:
                            gaps.append(it)
                        else:
                            returned = True
            return returned, gaps

        def fix_minutes(case):
            """Calendar minutes the applicant (or agent) needs to fix or supply materials."""
            days = compiler.fix()
            if case.channel == ASSISTED:
                days *= agency.fix_factor
            if days <= 0:
                return 0.0
            if compiler.fix_basis == "calendar":
                return days * MINUTES_PER_DAY
            if always_open:
                return days * day
            return clock.add(env.now, days * day) - env.now

        def visit(case):
            """The applicant (or agent) sets out for the best window and gets there.

            Returns (window station, the applicant's slot or None, trips made).
            """
            areq = None
            if case.applicant is not None:  # one visit at a time across parallel branches
                t0 = env.now
                areq = case.applicant.request()
                yield areq
                if m.trace is not None and env.now > t0:
                    m.log(case, f"wait_for_applicant:{label}", "wait_applicant", "applicant", t0, t0, env.now)
            window = choose(case)
            trips = case.trips
            if case.channel == ASSISTED:
                if not always_open:  # the agent is in the hall; only opening hours matter
                    opened = clock.next_open(env.now)
                    if opened > env.now:
                        yield env.timeout(opened - env.now)
            else:
                yield from m.go_to(case, window.site)
            return window, areq, case.trips - trips

        def leave(case, window, areq):
            case.site = window.site
            case.left_at = env.now
            if areq is not None:
                case.applicant.release(areq)

        def inspect(case, it):
            """事中事后监管: a share of decisions is inspected, off the case's path."""
            if it.inspection is not None:
                share, station, draw = it.inspection
                if keyed_uniform(inspection_keys[it.id], case.k, slots[items.index(it)]) < share:
                    env.process(m.work(station, draw(), case, f"inspection:{it.id}", "inspection"))

        def decide(case, it, gaps, supplied):
            """Review of one item, the wait for results it needs, then for a tolerated gap's supplement.

            Returns (end of government time, decision time): the wait for the
            applicant's supplement is the applicant's time, not the office's,
            and so is the part of a wait for another item's result that is that
            item waiting for its own supplement.
            """
            if not it.immediate:
                yield from compiler._back_office(it, case)
            gov_end = env.now
            if it.issued_after and case.item_ev is not None:
                t0 = env.now
                for dep in it.issued_after:  # e.g. the credit code: issued once that result exists
                    ev = case.item_ev.get(dep)
                    if ev is None:
                        continue
                    if not ev.triggered:
                        yield ev
                    if ev.value is not None:  # the other item's end of government time
                        gov_end = max(gov_end, ev.value)
                if m.trace is not None and env.now > t0:
                    m.log(case, f"wait_for_result:{it.id}", "wait_result", it.id, t0, t0, env.now)
            if it in gaps and supplied > env.now and not it.decide_before_supplement:  # decided once the part is in
                yield env.timeout(supplied - env.now)
            inspect(case, it)
            return gov_end, env.now

        def release_awaited(case):
            for it in awaited:
                ev = case.item_ev.get(it.id)
                if ev is not None and not ev.triggered:
                    ev.succeed()

        def apply(case):
            remote = case.channel == ONLINE and any_online
            assisted = case.channel == ASSISTED
            case.materials += materials
            if awaited:  # others' results wait for these items: announce they are under way
                if case.item_ev is None:
                    case.item_ev = {}
                for it in awaited:
                    ev = case.item_ev.get(it.id)
                    if ev is None or ev.triggered:
                        case.item_ev[it.id] = env.event()
            attempt = 0
            app_trips = 0
            while True:
                if remote:
                    window, areq = choose(case), None
                else:
                    window, areq, made = yield from visit(case)
                    app_trips += made
                    case.window_visits += 1
                minutes = 0.0
                for it in items:
                    minutes += it.intake()
                case.window_wait += yield from m.work(window, minutes, case, f"intake:{label}", "intake")
                taken = m.last_start  # the officer takes the application: the office's clock starts
                if not remote:
                    leave(case, window, areq)
                returned, gaps = check(case, attempt, assisted)
                if returned:
                    case.returns += 1
                    attempt += 1
                    ps = compiler.abandon_p
                    if keyed_uniform(abandon_key, case.k, slots[0] + attempt) < ps[min(attempt, len(ps)) - 1]:
                        case.abandoned = True
                        if awaited:
                            release_awaited(case)
                        if case.waiting is not None:  # nothing will finish now: free blocks waiting on others
                            compiler._release_all(case)
                        return
                    t_fix = env.now
                    wait = fix_minutes(case)
                    if wait > 0:
                        yield env.timeout(wait)
                    if m.trace is not None:
                        m.log(case, f"fix:{label}", "fix", "applicant", t_fix, t_fix, env.now)
                    continue
                break
            accepted = env.now
            supplied = accepted

            if gaps:  # 容缺受理: the supplement arrives while review goes on
                supplied = accepted + fix_minutes(case)
                if supplied > accepted and m.trace is not None:
                    m.log(case, f"supplement:{label}", "supplement", "applicant", accepted, accepted, supplied)
            decided = {}  # item -> (end of government time, decision)
            pending = []
            for it in items:
                if it.immediate and not it.issued_after and (it not in gaps or it.decide_before_supplement):
                    decided[it] = (accepted, accepted)
                    inspect(case, it)
                else:
                    pending.append(it)
            # an awaited item's event carries its end of government time
            if awaited:
                for it in decided:
                    if it in awaited:
                        case.item_ev[it.id].succeed(decided[it][0])
            if len(pending) == 1:
                decided[pending[0]] = yield from decide(case, pending[0], gaps, supplied)
                if pending[0] in awaited:
                    case.item_ev[pending[0].id].succeed(decided[pending[0]][0])
            elif pending:
                procs = [env.process(decide(case, it, gaps, supplied)) for it in pending]
                if awaited:
                    for it, p in zip(pending, procs):
                        if it in awaited:
                            p.callbacks.append(
                                lambda e, ev=case.item_ev[it.id]: ev.triggered or ev.succeed(e.value[0])
                            )
                yield env.all_of(procs)
                for it, p in zip(pending, procs):
                    decided[it] = p.value
            if case.gov is None:
                case.gov = []
            gov = case.gov
            # time limits count government time (working days; the day of acceptance is not counted)
            # limits count from acceptance (受理, the end of the accepted intake); government time runs
            # from then for back-office items, and for an immediate item (即办件, decided in the same
            # sitting) from the start of that intake: the window's handling is the office's time
            w_acc = accepted if always_open else clock.working(accepted)
            mine = []
            for it, (t_gov, t_done) in decided.items():
                received = taken if it.immediate else accepted
                gov.append((received, t_gov))
                w_done = t_gov if always_open else clock.working(t_gov)
                on_time = [-1, -1]
                for limit, kind in ((it.promised, 0), (it.statutory, 1)):
                    if limit is None:
                        continue
                    ok = w_done <= due_working_minute(w_acc, limit, day) + 1e-9
                    on_time[kind] = int(ok)
                    if kind == 0:
                        case.promised_n += 1
                        case.promised_ok += ok
                    else:
                        case.statutory_n += 1
                        case.statutory_ok += ok
                mine.append((case.idx, it.index, received, t_gov, t_done, attempt, on_time[0], on_time[1]))
            case.items += len(items)
            case.fee += fee
            if needs_pickup and not remote:
                window, areq, made = yield from visit(case)
                app_trips += made  # the pickup trip belongs to every item of this application
                if pickup_service:
                    minutes = sum(it.pickup() for it in back if it.delivery == "pickup")
                    case.window_wait += yield from m.work(window, minutes, case, f"pickup:{label}", "pickup")
                leave(case, window, areq)
            if mails:
                days = max(it.mail() for it in mails)
                t_mail = env.now
                if days > 0:
                    yield env.timeout(days * MINUTES_PER_DAY)
                if m.trace is not None:
                    m.log(case, f"mail:{label}", "mail", "post", t_mail, t_mail, env.now)
            m.add_items(mine, app_trips)

        return apply

    def _back_office(self, it: _ItemRT, case):
        """Hand-off, sign-off chain and hand-back of one item; returns the decision time."""
        m = self.m
        env = m.env
        t0 = env.now
        ev = m.delay_working(it.handoff_in())
        if ev is not None:
            yield ev
            if m.trace is not None:
                m.log(case, f"handoff:{it.id}", "handoff", "to_back_office", t0, t0, env.now)
        for station, draw, key in it.steps:
            case.office_wait += yield from m.work(station, draw(), case, f"{it.id}:{key}", "step")
        t0 = env.now
        ev = m.delay_working(it.handoff_out())
        if ev is not None:
            yield ev
            if m.trace is not None:
                m.log(case, f"handoff:{it.id}", "handoff", "to_window", t0, t0, env.now)
        return env.now
