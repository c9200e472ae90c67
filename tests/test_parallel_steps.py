"""Sign-off steps side by side inside one item (``after`` on steps), against hand-computed times.

Fixed durations, ample staff and an always-open calendar make every case's
government time known exactly: the longest path through the steps.  The
plain chain (no ``after``) keeps its own fast loop in the engine; a test
forces the general side-by-side code onto a chain and checks that every
table is the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import ScenarioError, simulate
from sim.bottlenecks import decompose
from sim.engine import application, runtime
from sim.reforms import apply_reform
from tests.helpers import scenario

DAY = 1440.0
HUGE = 5000


def _diamond(**item):
    """Check 60 min; then technical review 120 and fire review 30 side by side; sign-off 15 after both."""
    steps = [
        {"id": "check", "role": "clerk", "minutes": 60},
        {"id": "technical", "role": "engineer", "minutes": 120, "after": ["check"]},
        {"id": "fire", "role": "inspector", "minutes": 30, "after": ["check"]},
        {"id": "sign", "role": "chief", "minutes": 15, "after": ["technical", "fire"]},
    ]
    return scenario(
        items=[{"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 10,
                "result_delivery": "electronic", "steps": steps, **item}],
        departments=[{"id": "d", "site": "hall", "staff": {r: HUGE for r in ("clerk", "engineer", "inspector", "chief")}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["permit"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "permit"}]}],
    )


def _completed(rep):
    c = rep.cases
    assert len(c) > 20 and (c["status"] == "completed").all()
    return c


def test_side_by_side_steps_take_the_longest_path():
    """Government time is 60 + max(120, 30) + 15 = 195 minutes, not the sum 225; the two reviews
    start together when the check ends and the sign-off starts when the longer one ends."""
    rep = simulate(_diamond(), seed=1, trace=True)
    c = _completed(rep)
    np.testing.assert_allclose(c["government_time_working_days"] * DAY, 195, atol=1e-6)
    np.testing.assert_allclose(c["lead_time_working_hours"] * 60, 10 + 195, atol=1e-6)
    tr = rep.trace[rep.trace["kind"] == "step"].pivot(index="case", columns="activity", values="start_minute")
    np.testing.assert_allclose(tr["permit:technical"], tr["permit:fire"], atol=1e-9)
    np.testing.assert_allclose(tr["permit:technical"] - tr["permit:check"], 60, atol=1e-6)
    np.testing.assert_allclose(tr["permit:sign"] - tr["permit:technical"], 120, atol=1e-6)


def test_critical_path_leaves_out_the_shorter_review():
    """Where the lead time goes: the 30-minute fire review ends before the technical review and is
    off the critical path, so the path's service is 10 + 60 + 120 + 15 = 205 minutes per case."""
    s = _diamond()
    rep = simulate(s, seed=2, trace=True)
    d = decompose(rep, s)
    service = d[d["category"].str.startswith("service")]["working_minutes_per_case"].sum()
    assert service == pytest.approx(205, abs=1e-6)
    assert d["share"].sum() == pytest.approx(1.0, abs=1e-9)


def test_a_step_with_an_empty_after_starts_with_the_first():
    """``after: []`` on the second step: the check (60) and the review (120) run side by side, 120 in all."""
    s = scenario(
        items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10, "result_delivery": "electronic",
                "steps": [{"id": "a", "role": "clerk", "minutes": 60},
                          {"id": "b", "role": "clerk", "minutes": 120, "after": []}]}],
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}],
    )
    c = _completed(simulate(s, seed=3))
    np.testing.assert_allclose(c["government_time_working_days"] * DAY, 120, atol=1e-6)


def test_general_code_on_a_chain_gives_the_fast_loops_tables(monkeypatch):
    """A chain with queues (two clerks, exponential steps): the engine's plain loop and the
    side-by-side code forced onto the same chain give identical case, item and KPI tables."""
    s = scenario(
        items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": {"dist": "exponential", "mean": 8},
                "result_delivery": "electronic",
                "steps": [{"id": "a", "role": "clerk", "minutes": {"dist": "exponential", "mean": 50}},
                          {"id": "b", "role": "clerk", "minutes": {"dist": "exponential", "mean": 40}},
                          {"id": "c", "role": "boss", "minutes": {"dist": "exponential", "mean": 30}}]}],
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 2, "boss": 1}}],
        windows=[{"id": "w", "site": "hall", "positions": 1, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 12}, "flow": [{"item": "x"}]}],
        run={"horizon_working_days": 30},
    )
    fast = simulate(s, seed=4)
    calls = []
    step = application._step
    monkeypatch.setattr(runtime, "step_order", runtime.step_predecessors)
    monkeypatch.setattr(application, "_step", lambda *a: calls.append(1) or step(*a))
    general = simulate(s, seed=4)
    assert len(fast.cases) > 300
    assert len(calls) >= 3 * len(fast.cases)  # the general code did run every step
    pd.testing.assert_frame_equal(fast.cases, general.cases)
    pd.testing.assert_frame_equal(fast.items, general.items)
    pd.testing.assert_frame_equal(fast.kpis, general.kpis)


@pytest.mark.parametrize("after, message", [
    (["sign"], "'sign' is not listed before this step"),
    (["nowhere"], "'nowhere' is not a step of this item"),
])
def test_after_must_name_an_earlier_step(after, message):
    steps = [{"id": "check", "role": "clerk", "minutes": 60}, {"id": "review", "role": "clerk", "minutes": 5, "after": after},
             {"id": "sign", "role": "clerk", "minutes": 5}]
    with pytest.raises(ScenarioError) as e:
        scenario(items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10, "steps": steps}],
                 departments=[{"id": "d", "site": "hall", "staff": {"clerk": 1}}],
                 case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}])
    text = str(e.value)
    assert "items[0].steps[1].after[0]" in text and message in text


def test_removing_a_review_passes_its_wait_on():
    """减环节 removes the technical review: the sign-off now waits for the check and the fire
    review, 60 + 30 + 15 = 105 minutes."""
    after = apply_reform(_diamond(), "reduce_steps", steps=["technical"])
    steps = after.items[0].steps
    assert [st.key for st in steps] == ["check", "fire", "sign"]
    assert steps[2].after == ("check", "fire")
    c = _completed(simulate(after, seed=5))
    np.testing.assert_allclose(c["government_time_working_days"] * DAY, 105, atol=1e-6)


def test_a_chain_stays_a_chain_when_a_step_goes():
    s = _diamond()
    chain = s.evolve(items=[{**s.items[0].model_dump(mode="json", exclude_none=True),
                             "steps": [{"id": k, "role": "clerk", "minutes": 10} for k in ("a", "b", "c")]}],
                     departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}])
    after = apply_reform(chain, "reduce_steps", steps=["b"])
    assert [(st.key, st.after) for st in after.items[0].steps] == [("a", None), ("c", None)]
