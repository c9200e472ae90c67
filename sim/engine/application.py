"""The application process: one visit to a window group with one or more items, up to their decisions.

The applicant (or an agent) comes to the best window that accepts the items
(a trip unless already there), queues, and is taken in.  Incomplete
materials are returned (补正): the applicant fixes them and comes back, or gives
up.  Immediate items are decided at the window; back-office items go through
a hand-off, a chain of sign-off steps and the hand-back.  Tolerated gaps
(容缺受理) are supplied while review goes on.  Then the result is picked up,
mailed or issued electronically, and the items are recorded with their
government time and on-time flags.

Everything that does not change from case to case (windows, samplers,
streams, which items have limits, which need a pickup) is resolved when the
process is built, so a case only does the work its application needs.
"""

from __future__ import annotations

from ..calendar import MINUTES_PER_DAY, due_working_minute
from ..scenario import incomplete_with_fewer_materials
from .records import ASSISTED, CHUNK, ITEM_SEPARATOR, ONLINE
from .runtime import ItemRT
from .streams import keyed_uniform

__all__ = ["application_process", "back_office"]


def application_process(compiler, node):
    """The process function of one ``item``/``items`` block of a flow."""
    m = compiler.m
    env = m.env
    timeout = env.timeout
    clock = m.clock
    always_open = m.always_open
    day = m.day
    ct_id = compiler.ct.id
    items = tuple(m.items[i] for i in node.item_ids)
    windows = compiler.windows(node)
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
    gap_keys = [m.incomplete_key[ct_id, it.id] for it in items]
    slots = [1024 * compiler.occurrence[id(node), it.id] for it in items]
    abandon_key = m.streams.key(f"abandon:{ct_id}:{items[0].id}")
    inspection_keys = {it.id: m.streams.key(f"inspection:{ct_id}:{it.id}") for it in items if it.inspection}
    inspected = tuple(it for it in items if it.inspection is not None)
    back = tuple(it for it in items if not it.immediate)
    needs_pickup = any(it.delivery == "pickup" for it in back)
    pickup_service = needs_pickup and any(it.pickup_mean > 0 for it in back if it.delivery == "pickup")
    mails = tuple(it for it in back if it.delivery == "mail")
    fee = sum(it.fee for it in items)
    agency = m.s.agency
    label = node.key
    intake_label = f"intake:{label}"
    item_label = ITEM_SEPARATOR.join(it.id for it in items)  # the trace's item of the application's activities
    waited_for = {d for it in m.items.values() for d in it.issued_after}
    awaited = tuple(it for it in items if it.id in waited_for)
    # items decided at the window when taken in, unless a tolerated gap makes them wait for the supplement
    instant = tuple(it for it in items if it.immediate and not it.issued_after)
    later = tuple(it for it in items if not (it.immediate and not it.issued_after))
    # (item, time limits as (limit, kind 0 promised / 1 statutory)) in the items' order
    limits = {it: tuple((lim, k) for k, lim in ((0, it.promised), (1, it.statutory)) if lim is not None) for it in items}
    any_limit = any(limits.values())
    intakes = tuple(it.intake for it in items)
    single_intake = intakes[0] if len(intakes) == 1 else None
    home, between = m.home, m.between
    work = m.work
    item_rows = m.recorder.item_rows
    flush_items = m.recorder.flush_items
    trace = m.trace

    def choose(case):
        if only_window is not None:
            return only_window
        here = case.site if case.left_at == env.now else None
        best, best_key = None, None
        for st in windows:
            travel = 0.0 if here == st.site else (between[here, st.site] if here else home[st.site])
            load = (len(st.pool.queue) + st.pool.count) / st.capacity
            key = (travel, load)
            if best_key is None or key < best_key:
                best, best_key = st, key
        return best

    def check(case, attempt, assisted):
        """(returned, tolerated items) of one attempt.

        One uniform per item: below p*f^k the item has a gap; below
        p*f^k*tolerated_share the gap is non-essential and is tolerated.
        """
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

    def route(case, window):
        """(minutes waiting at home for opening, minutes travelling, trips) to reach ``window``.

        A trip unless the applicant is at that site right now; one coming from
        home waits for the office to open; an agent (帮办代办) is in the hall, so
        only opening hours matter.  Counts the trip and the travel.
        """
        now = env.now
        if case.channel == ASSISTED:
            return (0.0 if always_open else clock.next_open(now) - now), 0.0, 0
        site = window.site
        if case.left_at == now:
            if case.site == site:
                return 0.0, 0.0, 0
            minutes = between[case.site, site]
            opening = 0.0
        else:
            minutes = home[site]
            opening = 0.0 if always_open else clock.next_open(now) - now
        case.trips += 1
        if minutes > 0:
            case.travel += minutes
        return opening, minutes, 1

    def travel(case, window, opening, minutes):
        """Wait for the office to open, then travel (the delays ``route`` worked out): one timeout."""
        now = env.now
        yield timeout(opening + minutes)
        if trace is not None:
            if opening > 0 and case.channel != ASSISTED:
                m.log(case, item_label, "wait_for_opening", "wait_open", window.site, now, now, now + opening)
            if minutes > 0:
                m.log(case, item_label, "travel", "travel", window.site, now + opening, now + opening, env.now)

    def wait_for_applicant(case):
        """One visit at a time across parallel branches: the applicant's slot."""
        t0 = env.now
        areq = case.applicant.request()
        yield areq
        if trace is not None and env.now > t0:
            m.log(case, item_label, f"wait_for_applicant:{label}", "wait_applicant", "applicant", t0, t0, env.now)
        return areq

    def leave(case, window, areq):
        case.site = window.site
        case.left_at = env.now
        if areq is not None:
            case.applicant.release(areq)

    def inspect(case, it):
        """事中事后监管: a share of decisions is inspected, off the case's path."""
        share, station, draw = it.inspection
        if keyed_uniform(inspection_keys[it.id], case.k, slots[items.index(it)]) < share:
            env.process(work(station, draw(), case, f"inspection:{it.id}", "inspection", it.id))

    def decide(case, it, gaps, supplied):
        """Review of one item, the wait for results it needs, then for a tolerated gap's supplement.

        Returns (end of government time, decision time): the wait for the
        applicant's supplement is the applicant's time, not the office's,
        and so is the part of a wait for another item's result that is that
        item waiting for its own supplement.
        """
        if not it.immediate:
            yield from back_office(m, it, case)
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
            if trace is not None and env.now > t0:
                m.log(case, it.id, f"wait_for_result:{it.id}", "wait_result", it.id, t0, t0, env.now)
        if it in gaps and supplied > env.now and not it.decide_before_supplement:  # decided once the part is in
            yield timeout(supplied - env.now)
        if it.inspection is not None:
            inspect(case, it)
        return gov_end, env.now

    def release_awaited(case):
        for it in awaited:
            ev = case.item_ev.get(it.id)
            if ev is not None and not ev.triggered:
                ev.succeed()

    def announce(case):
        """Others' results wait for these items: announce they are under way."""
        if case.item_ev is None:
            case.item_ev = {}
        for it in awaited:
            ev = case.item_ev.get(it.id)
            if ev is None or ev.triggered:
                case.item_ev[it.id] = env.event()

    def decide_all(case, gaps, accepted, supplied):
        """(item, end of government time, decision) of every item, in the items' order."""
        if gaps:
            now_items = tuple(it for it in instant if it not in gaps or it.decide_before_supplement)
            pending = tuple(it for it in items if it not in now_items)
        else:
            now_items, pending = instant, later
        decided = {}
        for it in now_items:
            decided[it] = (accepted, accepted)
            if it.inspection is not None:
                inspect(case, it)
        if awaited:  # an awaited item's event carries its end of government time
            for it in now_items:
                if it in awaited:
                    case.item_ev[it.id].succeed(accepted)
        if len(pending) == 1:
            it = pending[0]
            decided[it] = yield from decide(case, it, gaps, supplied)
            if it in awaited:
                case.item_ev[it.id].succeed(decided[it][0])
        elif pending:
            procs = [env.process(decide(case, it, gaps, supplied)) for it in pending]
            if awaited:
                for it, p in zip(pending, procs):
                    if it in awaited:
                        p.callbacks.append(lambda e, ev=case.item_ev[it.id]: ev.triggered or ev.succeed(e.value[0]))
            yield env.all_of(procs)
            for it, p in zip(pending, procs):
                decided[it] = p.value
        return decided

    def apply(case):
        case.materials += materials
        if awaited:
            announce(case)
        remote = case.channel == ONLINE and any_online
        assisted = case.channel == ASSISTED
        attempt = app_trips = 0
        while True:  # visits until the application is accepted
            areq = None
            if remote:
                window = only_window or choose(case)
            else:
                if case.applicant is not None:
                    areq = yield from wait_for_applicant(case)
                window = only_window or choose(case)
                opening, minutes, made = route(case, window)
                if opening > 0 or minutes > 0:
                    yield from travel(case, window, opening, minutes)
                app_trips += made
                case.window_visits += 1
            if single_intake is not None:
                minutes = single_intake()
            else:
                minutes = 0.0
                for draw in intakes:
                    minutes += draw()
            case.window_wait += yield from work(window, minutes, case, intake_label, "intake", item_label)
            taken = m.last_start  # the officer takes the application: the office's clock starts
            if not remote:
                leave(case, window, areq)
            if not any_incomplete:
                gaps = ()
                break
            returned, gaps = check(case, attempt, assisted)
            if not returned:
                break
            case.returns += 1
            attempt += 1
            ps = compiler.abandon_p
            if keyed_uniform(abandon_key, case.k, slots[0] + attempt) < ps[min(attempt, len(ps)) - 1]:
                case.abandoned = True
                if awaited:
                    release_awaited(case)
                if case.waiting is not None:  # nothing will finish now: free blocks waiting on others
                    compiler.release_all(case)
                return
            t_fix = env.now
            wait = fix_minutes(case)
            if wait > 0:
                yield timeout(wait)
            if trace is not None:
                m.log(case, item_label, f"fix:{label}", "fix", "applicant", t_fix, t_fix, env.now)
        accepted = supplied = env.now
        if gaps:  # 容缺受理: the supplement arrives while review goes on
            supplied = accepted + fix_minutes(case)
            if supplied > accepted and trace is not None:
                m.log(case, item_label, f"supplement:{label}", "supplement", "applicant", accepted, accepted, supplied)
        if not gaps and not later and not awaited and not inspected:
            decided = dict.fromkeys(instant, (accepted, accepted))  # all decided at the window
        else:
            decided = yield from decide_all(case, gaps, accepted, supplied)
        gov = case.gov
        if gov is None:
            gov = case.gov = []
        # time limits count government time (working days; the day of acceptance is not counted)
        # from acceptance (受理, the end of the accepted intake); government time runs from then for
        # back-office items, and for an immediate item (即办件, decided in the same sitting) from the
        # start of that intake: the window's handling is the office's time
        if any_limit:
            w_acc = accepted if always_open else clock.working(accepted)
        trips_later = needs_pickup or mails  # the application's trips are known only after the pickup
        mine = []
        idx = case.idx
        for it, (t_gov, t_done) in decided.items():
            received = taken if it.immediate else accepted
            gov.append((received, t_gov))
            on_p = on_s = -1
            lims = limits[it]
            if lims:
                w_done = t_gov if always_open else clock.working(t_gov)
                for limit, kind in lims:
                    ok = w_done <= due_working_minute(w_acc, limit, day) + 1e-9
                    if kind == 0:
                        on_p = int(ok)
                        case.promised_n += 1
                        case.promised_ok += ok
                    else:
                        on_s = int(ok)
                        case.statutory_n += 1
                        case.statutory_ok += ok
            if case.withdraw is not None:  # a case to be withdrawn is never decided: its items get no row
                continue
            if trips_later:
                mine.append((idx, it.index, received, t_gov, t_done, attempt, on_p, on_s))
            else:
                item_rows.append((idx, it.index, received, t_gov, t_done, app_trips, attempt, on_p, on_s))
        case.items += len(items)
        case.fee += fee
        if needs_pickup and not remote:
            areq = (yield from wait_for_applicant(case)) if case.applicant is not None else None
            window = choose(case)
            opening, minutes, made = route(case, window)
            if opening > 0 or minutes > 0:
                yield from travel(case, window, opening, minutes)
            app_trips += made  # the pickup trip belongs to every item of this application
            if pickup_service:
                minutes = sum(it.pickup() for it in back if it.delivery == "pickup")
                case.window_wait += yield from work(window, minutes, case, f"pickup:{label}", "pickup", item_label)
            leave(case, window, areq)
        if mails:
            days = max(it.mail() for it in mails)
            t_mail = env.now
            if days > 0:
                yield timeout(days * MINUTES_PER_DAY)
            if trace is not None:
                m.log(case, item_label, f"mail:{label}", "mail", "post", t_mail, t_mail, env.now)
        if trips_later:
            for c, i, rec, t_gov, t_done, ret, on_p, on_s in mine:
                item_rows.append((c, i, rec, t_gov, t_done, app_trips, ret, on_p, on_s))
        if len(item_rows) >= CHUNK:
            flush_items()

    return apply


def back_office(m, it: ItemRT, case):
    """Hand-off, sign-off steps (a chain, or side by side as their ``after`` says) and hand-back of one item."""
    yield from _handoff(m, case, it, it.handoff_in(), "to_back_office")
    if it.step_after is None:
        for station, draw, key in it.steps:
            case.office_wait += yield from m.work(station, draw(), case, f"{it.id}:{key}", "step", it.id)
    else:
        env = m.env
        done = []
        for (station, draw, key), after in zip(it.steps, it.step_after):
            done.append(env.process(_step(m, case, it, station, draw, key, [done[j] for j in after])))
        yield env.all_of(done)
    yield from _handoff(m, case, it, it.handoff_out(), "to_window")


def _step(m, case, it: ItemRT, station, draw, key, after):
    """One sign-off step that starts when the steps it waits for are done."""
    if after:
        yield m.env.all_of(after)
    case.office_wait += yield from m.work(station, draw(), case, f"{it.id}:{key}", "step", it.id)


def _handoff(m, case, it: ItemRT, minutes: float, direction: str):
    """Files carried between window and back office: ``minutes`` of working time (none if 0)."""
    ev = m.delay_working(minutes)
    if ev is not None:
        t0 = m.env.now
        yield ev
        if m.trace is not None:
            m.log(case, it.id, f"handoff:{it.id}", "handoff", direction, t0, t0, m.env.now)
