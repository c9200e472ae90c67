"""The flow compiler: a case type's flow tree becomes nested SimPy process functions.

Each block of the flow (sequence, parallel, choice, application, external
step) is turned once, before the run, into a small generator function of the
case; precedence (``after``) wraps a block in a guard that waits for the
blocks it names.  Applications are built by :mod:`sim.engine.application`.
"""

from __future__ import annotations

import numpy as np
import simpy

from ..flow import Apply, Choice, ExternalStep, Parallel, Sequence, walk
from .application import application_process
from .records import ABANDONED, COMPLETED
from .streams import keyed_uniform

WITHDRAWN = object()  # Case.withdraw once a case to be withdrawn has been recorded

__all__ = ["FlowCompiler"]


class FlowCompiler:
    """Turns a flow tree into nested process functions for one case type."""

    def __init__(self, model, ct, c):
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
        self.applicant_needed = _parallel_in_person(ct.flow)
        beh = ct.applicants or model.s.applicants
        basis, dist = beh.fix_time
        self.fix_basis = basis
        self.fix = model.streams.sampler(f"fix:{ct.id}", dist)
        self.repeat_factor = beh.repeat_incomplete_factor
        self.abandon_p = beh.abandon_probability
        self.withdraw_p = beh.withdraw_probability
        if self.withdraw_p > 0:
            self.withdraw_key = model.streams.key(f"withdraw:{ct.id}")
            self.withdraw_after = model.streams.sampler(f"withdraw_after:{ct.id}", beh.withdraw_after_working_days)

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

    # -- compile ------------------------------------------------------------------
    def compile_case(self):
        """A function that starts a case: its flow as a SimPy process, recorded when the process ends.

        The record is written by a callback on the process rather than by a
        wrapping generator, so every event of the case resumes one generator
        fewer.
        """
        m = self.m
        env = m.env
        process = env.process
        f = self._compile(self.ct.flow)
        applicant_needed = self.applicant_needed
        depended = bool(self.depended)
        record = m.record
        release_all = self.release_all

        withdraw_p = self.withdraw_p

        def finished(proc):
            case = proc.case
            if depended:
                release_all(case)
            if case.withdraw is None:
                record(case, env.now, ABANDONED if case.abandoned else COMPLETED)
            # a case to be withdrawn is recorded when it is (see withdraw), never as decided

        def withdraw(ev):
            case = ev.case
            if case.withdraw is not WITHDRAWN and case.idx in m.active:
                record(case, env.now, ABANDONED)
            case.withdraw = WITHDRAWN

        def start(case):
            if applicant_needed:
                case.applicant = simpy.Resource(env, 1)
            if depended:
                case.done = set()
                case.waiting = {}
            if withdraw_p > 0 and keyed_uniform(self.withdraw_key, case.k, 0) < withdraw_p:
                w = self.withdraw_after() * m.day
                case.withdraw = at = case.arrival + w if m.always_open else m.clock.add(case.arrival, w)
                ev = env.timeout(max(0.0, at - env.now))
                ev.case = case
                ev.callbacks.append(withdraw)
            proc = process(f(case))
            proc.case = case
            proc.callbacks.append(finished)

        return start

    def _compile(self, node):
        if isinstance(node, Sequence):
            f = self._sequence(node)
        elif isinstance(node, Parallel):
            f = self._parallel(node)
        elif isinstance(node, Choice):
            f = self._choice(node)
        elif isinstance(node, Apply):
            f = application_process(self, node)
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
                self.mark(case, key)

        return guarded

    def mark(self, case, key):
        """Block ``key`` of the case is over: wake the blocks waiting for it."""
        case.done.add(key)
        ev = case.waiting.pop(key, None)
        if ev is not None and not ev.triggered:
            ev.succeed()

    def release_all(self, case):
        """Nothing more will finish: free every block still waiting."""
        for key in list(case.waiting):
            self.mark(case, key)

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
        skipped = [[n.key for n, _ in walk(b.flow) if n.key in self.depended] for b in node.choice]
        depended = bool(self.depended)

        def choice(case):
            u = case.choices[k]
            pick = 0
            while u >= cum[pick]:
                pick += 1
            if depended:
                for j, keys in enumerate(skipped):
                    if j != pick:
                        for key in keys:
                            self.mark(case, key)
            yield from fs[pick](case)

        return choice

    def _external(self, node):
        m = self.m
        ext_id = node.external

        def external(case):
            yield from m.external(case, ext_id)

        return external

    def windows(self, node) -> tuple:
        """Window stations an application can go to: the pinned one, or all that accept its items."""
        m = self.m
        if node.windows is not None:
            return tuple(m.window_station[w] for w in node.windows)
        return tuple(m.window_station[w.id] for w in m.s.windows_for(node.item_ids))


def _parallel_in_person(flow) -> bool:
    """Whether two branches of a parallel block both need the applicant in person."""
    for n, _ in walk(flow):
        if isinstance(n, Parallel):
            if sum(any(isinstance(x, Apply) for x, _ in walk(b)) for b in n.parallel) >= 2:
                return True
    return False
