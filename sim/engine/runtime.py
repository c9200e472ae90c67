"""Runtime tables: the scenario's stations, items and travel times, resolved once per run.

Everything the running processes look up per event is built here before the
clock starts: SimPy resources for staffed stations, samplers bound to their
random streams, and the constants of each item, so the hot path reads
attributes instead of interpreting the scenario.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass


from ..scenario import Scenario, step_predecessors
from .servers import ServerPool
from .streams import Streams

__all__ = ["Station", "Case", "ItemRT", "Travel", "stations_of", "items_of", "travel_of"]


class Station:
    """A staffed resource (window group or department role) and its visit log.

    Each service appends its queue entry, start and end (calendar minutes) to
    the three arrays; a visit still queued or in service when the run stops is
    read from the server pool (see ``pending_visits``).
    """

    __slots__ = ("id", "kind", "site", "capacity", "pool", "enter", "start", "end", "label")

    def __init__(self, env, id_, kind, capacity, site=None, label=""):
        self.id = id_
        self.kind = kind
        self.site = site
        self.capacity = capacity
        self.label = label
        self.pool = ServerPool(env, capacity)
        self.enter = array("d")
        self.start = array("d")
        self.end = array("d")

    def pending_visits(self, t_stop: float) -> list[tuple[float, float, float]]:
        """(enter, start, end) of visits unfinished at the stop: in service (end inf) or queued (start inf)."""
        inf = float("inf")
        out = [(v.enter, t_stop if v.start is None else v.start, inf) for v in self.pool.users]
        out += [(v.enter, inf, inf) for v in self.pool.queue]
        return out


class Case:
    """State of one case while it runs (slots: no per-case dictionary to grow)."""

    __slots__ = (
        "idx", "k", "ctype", "arrival", "channel", "choices", "site", "left_at", "trips", "window_visits",
        "returns", "window_wait", "office_wait", "travel", "abandoned", "items", "promised_n", "promised_ok",
        "statutory_n", "statutory_ok", "fee", "materials", "applicant", "done", "waiting", "gov", "ext", "item_ev",
        "withdraw",
    )

    def __init__(self, idx, ctype, arrival, channel, choices, k=0):
        self.idx = idx
        self.k = k  # index among the cases of its type (keys the case's own draws)
        self.ctype = ctype
        self.arrival = arrival
        self.channel = channel  # COUNTER, ONLINE or ASSISTED
        self.choices = choices
        self.site = None  # where the applicant last was, and when they left (-1: not yet anywhere)
        self.left_at = -1.0
        self.trips = self.window_visits = self.returns = self.items = self.materials = 0
        self.promised_n = self.promised_ok = self.statutory_n = self.statutory_ok = 0
        self.window_wait = self.office_wait = self.travel = self.fee = 0.0  # working minutes, minutes, yuan
        self.abandoned = False
        self.applicant = None  # a one-slot resource when parallel branches both need the applicant
        self.done = self.waiting = None  # finished block keys, and events of blocks waited for
        self.gov = None  # calendar (start, end) of each item in government hands: acceptance -> decision
        self.ext = None  # calendar (start, end) of each external step (intermediary, notice, meeting)
        self.item_ev = None  # item id -> event "decided", for items whose result others wait for
        self.withdraw = None  # a case to be withdrawn: its time (calendar minute); WITHDRAWN once recorded


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: items key dicts on the hot path
class ItemRT:
    """Runtime view of an item: samplers and constants resolved once."""

    id: str
    index: int
    immediate: bool
    intake: object
    handoff_in: object
    handoff_out: object
    steps: tuple  # of (Station, sampler, step key)
    step_after: tuple | None  # per step, the indices of the steps it waits for; None: one chain in list order
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


class Travel(dict):
    """Minutes between two sites: the routes given, else 0 at the same site, else the default.

    Pairs are looked up as needed, so a scenario with many sites costs nothing
    for pairs no applicant travels between.
    """

    def __init__(self, default_minutes: float):
        super().__init__()
        self.default_minutes = float(default_minutes)

    def __missing__(self, pair):
        return 0.0 if pair[0] == pair[1] else self.default_minutes


def travel_of(scenario: Scenario) -> tuple[dict, Travel]:
    """(minutes from home to each site, minutes between sites)."""
    t = scenario.travel
    home = {
        st.id: (st.from_home_minutes if st.from_home_minutes is not None else t.from_home_minutes)
        for st in scenario.sites
    }
    between = Travel(t.default_minutes)  # only routes written out are stored
    for r in t.routes:
        a, b = r.between
        if "home" in (a, b):
            home[b if a == "home" else a] = r.minutes
        else:
            between[a, b] = between[b, a] = r.minutes
    return home, between


def stations_of(scenario: Scenario, env) -> tuple[list[Station], dict, dict]:
    """(all stations, window id -> station, (department, role) -> station)."""
    stations, windows, roles = [], {}, {}
    for w in scenario.windows:
        st = windows[w.id] = Station(env, w.id, "window", w.positions, w.site, w.name)
        stations.append(st)
    for d in scenario.departments:
        for role, n in d.staff.items():
            st = roles[d.id, role] = Station(env, f"{d.id}.{role}", "back_office", n, d.site, d.name)
            stations.append(st)
    return stations, windows, roles


def step_order(steps) -> tuple | None:
    """Per step, the indices of the steps it waits for; None when they form one chain in list order."""
    after = step_predecessors(steps)
    return None if all(a == ((j - 1,) if j else ()) for j, a in enumerate(after)) else after


def items_of(scenario: Scenario, streams: Streams, role_station: dict) -> dict[str, ItemRT]:
    """Item id -> its runtime view, samplers bound to their streams."""
    out = {}
    for k, it in enumerate(scenario.items):
        steps = tuple(
            (
                role_station[st.department or it.department, st.role],
                streams.sampler(f"duration:{it.id}:{st.key}", st.minutes),
                st.key,
            )
            for st in it.steps
        )
        inspection = None
        if it.inspection is not None and it.inspection.share > 0:
            inspection = (
                it.inspection.share,
                role_station[it.inspection.department or it.department, it.inspection.role],
                streams.sampler(f"inspection_minutes:{it.id}", it.inspection.minutes),
            )
        out[it.id] = ItemRT(
            id=it.id,
            index=k,
            immediate=it.kind == "immediate",
            intake=streams.sampler(f"intake:{it.id}", it.intake_minutes),
            handoff_in=streams.sampler(f"handoff_in:{it.id}", it.handoff.to_back_office_minutes),
            handoff_out=streams.sampler(f"handoff_out:{it.id}", it.handoff.to_window_minutes),
            steps=steps,
            step_after=step_order(it.steps),
            p_incomplete=it.incomplete_probability,
            tolerated=it.tolerated_share,
            decide_before_supplement=it.decide_before_supplement,
            materials=it.materials,
            inspection=inspection,
            online=it.online,
            delivery=it.result_delivery,
            pickup=streams.sampler(f"pickup:{it.id}", it.pickup_minutes),
            pickup_mean=it.pickup_minutes.mean,
            mail=streams.sampler(f"mail:{it.id}", it.mail_calendar_days),
            promised=it.promised_limit_days,
            statutory=it.statutory_limit_days,
            fee=it.fee_yuan,
            issued_after=it.issued_after,
        )
    return out
