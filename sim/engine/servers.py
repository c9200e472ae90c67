"""A pool of identical servers with one FIFO queue: what ``simpy.Resource`` does, with fewer events.

``simpy.Resource`` turns every request into an event that goes through the
event queue even when a server is free, and every release into another event.
Staffed stations are the hot path of every run, so a station uses this pool
instead: a visit that finds a server free takes it at once (no event); one
that finds all busy waits on an event of its own, which the release that
frees a server triggers directly (one event, the hand-over).  Service order
is first come, first served, as with ``simpy.Resource``.

Each visit is a :class:`Visit` carrying its queue entry and service start
(calendar minutes), so the visits still queued or in service when the run
stops, or when the logs are handed over, can be read off the pool.
"""

from __future__ import annotations

from collections import deque

from simpy.events import Event

__all__ = ["ServerPool", "Visit"]


class Visit:
    """One visit to a pool: queue entry, service start (None until it starts), and the event it waits on."""

    __slots__ = ("enter", "start", "event")

    def __init__(self, enter: float):
        self.enter = enter
        self.start = None
        self.event = None


class ServerPool:
    """``capacity`` servers; ``count`` busy; ``queue`` the visits waiting, in order of arrival."""

    __slots__ = ("env", "capacity", "count", "queue", "users")

    def __init__(self, env, capacity: int):
        self.env = env
        self.capacity = capacity
        self.count = 0
        self.queue: deque[Visit] = deque()
        self.users: set[Visit] = set()

    def acquire(self, visit: Visit) -> Event | None:
        """None if a server is free (the visit has it now), else the event to wait for."""
        if self.count < self.capacity and not self.queue:
            self.count += 1
            self.users.add(visit)
            return None
        visit.event = Event(self.env)
        self.queue.append(visit)
        return visit.event

    def release(self, visit: Visit) -> None:
        """The visit's server goes to the first visit waiting, or becomes free."""
        self.users.discard(visit)
        if self.queue:
            nxt = self.queue.popleft()
            self.users.add(nxt)
            nxt.event.succeed()
        else:
            self.count -= 1
