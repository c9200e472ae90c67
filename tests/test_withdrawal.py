"""Cases withdrawn (撤回) or terminated (终止) without a decision, against hand-computed times.

Fixed durations, ample staff and an always-open calendar (a working day is
1440 minutes): intake 10 minutes, review 120.  A case chosen to be withdrawn
leaves ``withdraw_after_working_days`` after it arrives, counted as abandoned,
and is never decided, even when its review would have ended sooner.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import ScenarioError, simulate
from tests.helpers import scenario

DAY = 1440.0
HUGE = 5000


def _hall(p: float, after, review: float = 120, run: dict | None = None):
    return scenario(
        items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10, "result_delivery": "electronic",
                "steps": [{"role": "clerk", "minutes": review}]}],
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 40}, "flow": [{"item": "x"}]}],
        applicants={"withdraw_probability": p, "withdraw_after_working_days": after},
        run=run or {"horizon_working_days": 20},
    )


@pytest.mark.parametrize("after_days, leaves_at", [(0.05, 72.0), (1.0, DAY)])
def test_every_chosen_case_leaves_at_its_time_undecided(after_days, leaves_at):
    """Withdrawn after 0.05 days (72 minutes, before the review ends at 130) or after a day (long after it
    would have been decided): either way the case leaves then, abandoned, never decided."""
    rep = simulate(_hall(1.0, after_days), seed=1)
    c = rep.cases
    assert len(c) > 500 and (c["status"] == "abandoned").all()
    np.testing.assert_allclose(c["end_minute"] - c["arrival_minute"], leaves_at, atol=1e-6)
    assert rep.items.empty  # no item of theirs is decided


def test_the_share_withdrawn_and_common_random_numbers():
    """30% chosen: about 4,000 cases, so the share's standard error is 0.7 points (tolerance 4 of them).
    The same cases are withdrawn when the review takes twice as long."""
    a = simulate(_hall(0.3, 2.0, run={"horizon_working_days": 100}), seed=2)
    b = simulate(_hall(0.3, 2.0, review=240, run={"horizon_working_days": 100}), seed=2)
    share = (a.cases["status"] == "abandoned").mean()
    assert len(a.cases) > 3500 and share == pytest.approx(0.3, abs=0.03)
    kpi = a.kpis.set_index(["scope", "kpi"])["value"]
    assert kpi[("all", "abandoned_share")] == pytest.approx(share)
    gone = set(a.cases.loc[a.cases["status"] == "abandoned", "case"])
    assert gone == set(b.cases.loc[b.cases["status"] == "abandoned", "case"])
    done = a.cases[a.cases["status"] == "completed"]
    np.testing.assert_allclose(done["end_minute"] - done["arrival_minute"], 130, atol=1e-6)
    assert sorted(a.items["case"]) == sorted(done["case"])  # one decided item per decided case, none for the rest


def test_a_withdrawal_after_the_run_stops_leaves_the_case_unfinished():
    c = simulate(_hall(1.0, 500.0, run={"horizon_working_days": 5, "drain_working_days": 5}), seed=3).cases
    assert len(c) > 100 and (c["status"] == "unfinished").all()


def test_a_share_needs_its_time():
    with pytest.raises(ScenarioError, match="withdraw_probability needs withdraw_after_working_days"):
        _hall(0.2, None)
