"""What a finished run hands to the analysis side: its records, nothing of the engine's objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["StationVisits", "RunOutput"]


@dataclass(frozen=True)
class StationVisits:
    """One staffed station and every visit to it: queue entry, start, end (calendar minutes; inf = not yet).

    The arrays are None when the visits were handed over to running sums during the run.
    """

    id: str
    kind: str  # "window" or "back_office"
    site: str | None
    capacity: int
    enter: np.ndarray | None
    start: np.ndarray | None
    end: np.ndarray | None


@dataclass(frozen=True)
class RunOutput:
    """Records of one replication, in the layouts of :mod:`sim.engine.records`.

    ``cases`` and ``items`` are ``None`` in a summary-only run; ``summary``
    then holds what the records were folded into.
    """

    scenario: object
    clock: object
    t_warm: float  # calendar minute the warm-up ends
    t_end: float  # end of the horizon: cases arriving later are not counted
    t_stop: float  # end of the drain: the run stops here
    cases: np.ndarray | None
    items: np.ndarray | None
    stations: list[StationVisits]
    first_counted_case: int = 0  # cases numbered from here on arrived after the warm-up
    trace: list | None = field(default=None, repr=False)
    summary: object | None = field(default=None, repr=False)
