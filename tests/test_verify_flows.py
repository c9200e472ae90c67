"""Verification of flows (sequence, AND, XOR, precedence), externals and 补正 returns.

Most checks here are exact: with no contention for staff (thousands of
positions) or with fixed durations, every case's lead time is known in
closed form, so the test compares every case with its hand-computed value to
floating-point precision (1e-6 minutes).  Where durations or branch choices
are random the cases are independent, so a sample mean or frequency is
compared with the exact value in a 99.9% normal band from its own standard
error (s / sqrt(n), or sqrt(p (1 - p) / n) for a frequency) with n = 10-20k
cases: bands of about +-1-3% of the value.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import (
    ALWAYS_OPEN,
    COUNTY_CALENDAR,
    binomial_check,
    minute_of,
    sample_mean_check,
    scenario,
)
from sim import simulate

HUGE = 5000  # staff/positions: no case ever waits


def _done(rep):
    c = rep.cases.sort_values("case")
    assert (c["status"] == "completed").all(), c["status"].value_counts()
    return c


def _chain(steps, *, calendar=ALWAYS_OPEN, per_day=200.0, days=10.0, handoff=None, intake=10):
    item = {
        "id": "permit",
        "department": "d",
        "kind": "back_office",
        "intake_minutes": intake,
        "steps": steps,
    }
    if handoff:
        item["handoff"] = handoff
    return scenario(
        calendar=calendar,
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE, "chief": HUGE, "leader": HUGE}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["permit"]}],
        items=[item],
        case_types=[{"id": "apply", "arrivals": {"per_day": per_day}, "flow": [{"item": "permit"}]}],
        run={"horizon_working_days": days},
    )


# -- sequence -------------------------------------------------------------------------------
def test_serial_chain_fixed_steps_lead_time_is_the_sum_in_working_time():
    """Intake 10 + hand-off 15 + steps 30, 20, 40 + hand-back 5 = 120 working minutes,
    for every case, under office hours with a lunch break: the lead time in
    working hours is exact even when the work pauses over lunch or overnight."""
    s = _chain(
        [
            {"role": "clerk", "minutes": 30},
            {"role": "chief", "minutes": 20},
            {"role": "leader", "minutes": 40},
        ],
        calendar=COUNTY_CALENDAR,
        per_day=100,
        days=20,
        handoff={"to_back_office_minutes": 15, "to_window_minutes": 5},
    )
    c = _done(simulate(s, seed=1))
    assert len(c) > 1500
    np.testing.assert_allclose(c["lead_time_working_hours"].to_numpy(), 120 / 60, rtol=0, atol=1e-6 / 60)
    assert (c["queue_wait_minutes"] == 0).all()
    # some cases straddle the lunch break or the night, so calendar time is longer
    assert (c["lead_time_calendar_days"] * 1440 > 120 + 60).any()


def test_serial_chain_random_steps_mean_is_the_sum_of_means():
    """Fixed 30 + exponential(20) + uniform(10, 50) steps and a 10-minute intake:
    mean lead time 10 + 30 + 20 + 30 = 90 working minutes (no waiting anywhere)."""
    s = _chain(
        [
            {"role": "clerk", "minutes": 30},
            {"role": "chief", "minutes": {"dist": "exponential", "mean": 20}},
            {"role": "leader", "minutes": {"dist": "uniform", "low": 10, "high": 50}},
        ],
        per_day=2000,
        days=10,
    )
    c = _done(simulate(s, seed=2))
    assert len(c) > 19_000
    lead = c["lead_time_working_hours"].to_numpy() * 60
    assert (c["queue_wait_minutes"] == 0).all()
    assert lead.min() >= 10 + 30 + 10 - 1e-9  # exponential >= 0, uniform >= 10
    # sd = sqrt(20^2 + 40^2/12) = 23.1 min: s.e. 0.16 min, band +-0.55 min (0.6%)
    sample_mean_check(lead, 90.0, max_rel_half_width=0.02, what="serial chain mean lead")


# -- AND split / join -----------------------------------------------------------------------
def test_parallel_fixed_periods_join_at_the_longest_branch():
    """Fixed periods of 2, 5 and (1 then 1.5) working days in parallel: every case
    takes exactly 5 working days, whatever nights, weekends, holidays and
    make-up working days lie in between (those change the calendar days)."""
    s = scenario(
        calendar=COUNTY_CALENDAR,
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": "p2", "duration_working_days": 2},
            {"kind": "fixed_period", "id": "p5", "duration_working_days": 5},
            {"kind": "fixed_period", "id": "p1", "duration_working_days": 1},
            {"kind": "fixed_period", "id": "p15", "duration_working_days": 1.5},
        ],
        case_types=[
            {
                "id": "wait",
                "arrivals": {"per_day": 50},
                "flow": {"parallel": [{"external": "p2"}, {"external": "p5"}, [{"external": "p1"}, {"external": "p15"}]]},
            }
        ],
        run={"horizon_working_days": 60},  # covers the Qingming / May Day holidays of COUNTY_CALENDAR
    )
    c = _done(simulate(s, seed=3))
    np.testing.assert_allclose(c["lead_time_working_days"].to_numpy(), 5.0, rtol=0, atol=1e-9)
    # whole working days end at the same clock time on a later working day
    cal = c["lead_time_calendar_days"].to_numpy()
    np.testing.assert_allclose(cal, np.round(cal), atol=1e-9)
    cal = np.round(cal)
    day = (c["arrival_minute"] // 1440).astype(int)  # calendar day index from Monday 2025-03-03
    # an ordinary week: Monday to Monday
    assert (cal[day == 7] == 7).all() and (day == 7).any()
    # Friday 28 March: Qingming (Fri 4 April) is a holiday -> ends Monday 7 April, 10 days
    assert (cal[day == 25] == 10).all() and (day == 25).any()
    # Monday 21 April: Sunday 27 April is a make-up working day -> ends that Sunday, 6 days
    assert (cal[day == 49] == 6).all() and (day == 49).any()


def _joint(minutes_a, minutes_b, per_day, days):
    return scenario(
        departments=[
            {"id": "da", "site": "hall", "staff": {"clerk": HUGE, "chief": HUGE}},
            {"id": "db", "site": "hall", "staff": {"clerk": HUGE}},
        ],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["a", "b"]}],
        items=[
            {"id": "a", "department": "da", "kind": "back_office", "intake_minutes": 5, "steps": minutes_a},
            {"id": "b", "department": "db", "kind": "back_office", "intake_minutes": 7, "steps": minutes_b},
        ],
        case_types=[{"id": "joint", "arrivals": {"per_day": per_day}, "flow": [{"items": ["a", "b"]}]}],
        run={"horizon_working_days": days},
    )


def test_joint_application_back_offices_run_in_parallel_fixed():
    """One application for items a and b: intake 5 + 7 at one window, then the two
    back offices in parallel (a: 30 + 20, b: 45): lead time 12 + max(50, 45) = 62 minutes."""
    s = _joint(
        [{"role": "clerk", "minutes": 30}, {"role": "chief", "minutes": 20}],
        [{"role": "clerk", "minutes": 45}],
        per_day=500,
        days=4,
    )
    c = _done(simulate(s, seed=4))
    np.testing.assert_allclose(c["lead_time_working_hours"].to_numpy() * 60, 62.0, rtol=0, atol=1e-6)
    assert (c["window_visits"] == 1).all() and (c["items"] == 2).all()
    assert (c["trips"] == 2).all()  # apply, then one pickup for both results


def test_joint_application_random_join_is_expected_maximum():
    """Exponential back offices of means 30 and 60 in parallel: E[max] = 30 + 60 -
    1 / (1/30 + 1/60) = 70, so mean lead = 12 + 70 = 82 minutes."""
    s = _joint(
        [{"role": "clerk", "minutes": {"dist": "exponential", "mean": 30}}],
        [{"role": "clerk", "minutes": {"dist": "exponential", "mean": 60}}],
        per_day=2000,
        days=10,
    )
    c = _done(simulate(s, seed=5))
    lead = c["lead_time_working_hours"].to_numpy() * 60
    assert lead.min() >= 12 - 1e-9
    # sd of max ~ 55 min, n = 20k: s.e. 0.39, band +-1.3 min (1.6%)
    sample_mean_check(lead, 82.0, max_rel_half_width=0.03, what="fork-join E[max]")


# -- XOR choice -----------------------------------------------------------------------------
def test_choice_frequencies_match_probabilities():
    """Two independent choices in sequence; fixed periods encode the branch taken in
    the lead time (1/2/3 working days, then +10 or +0).  Each of the 6 joint
    outcomes must occur with the product probability (binomial 99.9% band, n ~ 20k)."""
    p1 = {1: 0.2, 2: 0.5, 3: 0.3}
    p2 = {10: 0.4, 0: 0.6}
    s = scenario(
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": f"d{k}", "duration_working_days": k} for k in (1, 2, 3, 10)
        ],
        case_types=[
            {
                "id": "x",
                "arrivals": {"per_day": 2000},
                "flow": [
                    {"choice": [{"probability": p, "flow": {"external": f"d{k}"}} for k, p in p1.items()]},
                    {"choice": [{"probability": 0.4, "flow": {"external": "d10"}}, {"probability": 0.6, "flow": []}]},
                ],
            }
        ],
        run={"horizon_working_days": 10},
    )
    c = _done(simulate(s, seed=6))
    lead = np.round(c["lead_time_working_days"].to_numpy(), 9)
    n = len(lead)
    assert n > 19_000
    expected = {a + b: pa * pb for a, pa in p1.items() for b, pb in p2.items()}
    assert set(np.unique(lead)) == set(expected)
    for value, p in expected.items():
        binomial_check(int((lead == value).sum()), n, p, what=f"lead {value}")
    for k, p in p1.items():  # marginals
        binomial_check(int(np.isin(lead, [k, k + 10]).sum()), n, p, what=f"first choice {k}")


# -- precedence -----------------------------------------------------------------------------
def test_after_holds_in_the_activity_trace():
    """parallel[ sequence[a (1 day), c (0.5 day) after b], b (exponential, mean 2 days) ]:
    c starts exactly when both a and b have ended, never before b."""
    s = scenario(
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": "a", "duration_working_days": 1},
            {"kind": "fixed_period", "id": "b", "duration_working_days": {"dist": "exponential", "mean": 2}},
            {"kind": "fixed_period", "id": "c", "duration_working_days": 0.5},
        ],
        case_types=[
            {
                "id": "x",
                "arrivals": {"per_day": 100},
                "flow": {"parallel": [[{"external": "a"}, {"external": "c", "after": ["b"]}], {"external": "b"}]},
            }
        ],
        run={"horizon_working_days": 10},
    )
    rep = simulate(s, seed=7, trace=True)
    tr = rep.trace
    wide = tr.pivot_table(index="case", columns="activity", values=["start_minute", "end_minute"], aggfunc="first")
    end_a, end_b = wide["end_minute"]["a"], wide["end_minute"]["b"]
    start_c = wide["start_minute"]["c"]
    assert len(wide) > 900 and wide.notna().all().all()
    assert (start_c >= end_b - 1e-9).all() and (start_c >= end_a - 1e-9).all()
    np.testing.assert_allclose(start_c, np.maximum(end_a, end_b), rtol=0, atol=1e-6)
    assert (end_b > end_a).any() and (end_b < end_a).any()  # both orders occur
    # lead = max(1, B) + 0.5 days, per case
    c = _done(rep).set_index("case")
    b_days = (wide["end_minute"]["b"] - wide["start_minute"]["b"]) / 1440
    np.testing.assert_allclose(
        c.loc[wide.index, "lead_time_working_days"], np.maximum(1.0, b_days) + 0.5, rtol=0, atol=1e-9
    )


def test_after_a_branch_not_taken_does_not_hold_up():
    """parallel[ choice[x (3 days) | nothing], y (1 day) after x ]: y waits for x only
    when x is chosen, so the lead time is 4 or 1 working days."""
    s = scenario(
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": "x", "duration_working_days": 3},
            {"kind": "fixed_period", "id": "y", "duration_working_days": 1},
        ],
        case_types=[
            {
                "id": "x",
                "arrivals": {"per_day": 100},
                "flow": {
                    "parallel": [
                        {"choice": [{"probability": 0.5, "flow": {"external": "x"}}, {"probability": 0.5, "flow": []}]},
                        {"external": "y", "after": ["x"]},
                    ]
                },
            }
        ],
        run={"horizon_working_days": 10},
    )
    rep = simulate(s, seed=8, trace=True)
    c = _done(rep)
    with_x = set(rep.trace.loc[rep.trace["activity"] == "x", "case"])
    lead = c.set_index("case")["lead_time_working_days"]
    chosen = lead.index.isin(list(with_x))
    np.testing.assert_allclose(lead[chosen], 4.0, atol=1e-9)
    np.testing.assert_allclose(lead[~chosen], 1.0, atol=1e-9)
    binomial_check(int(chosen.sum()), len(lead), 0.5, what="branch x")  # n ~ 1000: band +-0.05


def test_after_a_block_skipped_by_abandonment_does_not_hold_up():
    """parallel[ sequence[item a (always incomplete, applicant always gives up), x], y after x ].

    The applicant abandons at a, so x never runs; like a branch not chosen it
    must not hold y up (flow.py: "A block listed in after that a case does not
    run ... does not hold it up").  Every case should end 'abandoned'."""
    s = scenario(
        items=[{"id": "a", "department": "d", "kind": "immediate", "intake_minutes": 1, "incomplete_probability": 1.0}],
        externals=[
            {"kind": "fixed_period", "id": "x", "duration_working_days": 1},
            {"kind": "fixed_period", "id": "y", "duration_working_days": 1},
        ],
        applicants={"abandon_probability": [1.0]},
        case_types=[
            {
                "id": "x",
                "arrivals": {"per_day": 10},
                "flow": {"parallel": [[{"item": "a"}, {"external": "x"}], {"external": "y", "after": ["x"]}]},
            }
        ],
        run={"horizon_working_days": 5, "drain_working_days": 20},
    )
    rep = simulate(s, seed=13)
    assert len(rep.cases) > 20
    assert (rep.cases["status"] == "abandoned").all(), rep.cases["status"].value_counts().to_dict()
    assert rep.kpi("unfinished_share") == 0.0


# -- periodic meetings ------------------------------------------------------------------------
def _meeting_scenario(capacity=None, duration=None):
    meeting = {"kind": "meeting", "id": "panel", "every_working_days": 2, "at": "10:00", "first_working_day": 1}
    if capacity:
        meeting["capacity_per_sitting"] = capacity
    if duration:
        meeting["duration_working_days"] = duration
    return scenario(
        calendar={"start_date": "2025-01-06", "office_hours": ["09:00-12:00", "13:30-17:30"]},  # 420 min/day
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[meeting],
        case_types=[
            {"id": "review", "arrivals": {"interarrival_minutes": 250}, "flow": [{"external": "panel"}]}
        ],
        run={"horizon_working_days": 3},
    )


# Arrivals every 250 working minutes from Monday 2025-01-06 09:00 (420 working minutes a day):
#   W=250  Mon 14:40 | W=500 Tue 10:20 | W=750 Tue 16:00 | W=1000 Wed 11:40 | W=1250 Wed 17:20
# Sittings every 2 working days from working day 1 at 10:00: Tue 7th, Thu 9th, Mon 13th, ...
ARRIVALS = ["2025-01-06 14:40", "2025-01-07 10:20", "2025-01-07 16:00", "2025-01-08 11:40", "2025-01-08 17:20"]


@pytest.mark.parametrize(
    "capacity, duration, ends",
    [
        # next sitting at or after arrival (Tue 10:20 has just missed Tuesday's)
        (None, None, ["2025-01-07 10:00", "2025-01-09 10:00", "2025-01-09 10:00", "2025-01-09 10:00", "2025-01-09 10:00"]),
        # two cases per sitting: the 4th and 5th go to Monday the 13th
        (2, None, ["2025-01-07 10:00", "2025-01-09 10:00", "2025-01-09 10:00", "2025-01-13 10:00", "2025-01-13 10:00"]),
        # plus half a working day (210 min) after the sitting: 10:00 + 120 to noon + 90 after 13:30
        (2, 0.5, ["2025-01-07 15:00", "2025-01-09 15:00", "2025-01-09 15:00", "2025-01-13 15:00", "2025-01-13 15:00"]),
    ],
)
def test_meeting_waits_for_the_next_sitting(capacity, duration, ends):
    c = _done(simulate(_meeting_scenario(capacity, duration), seed=9))
    start = "2025-01-06"
    np.testing.assert_allclose(c["arrival_minute"], [minute_of(start, a) for a in ARRIVALS], atol=1e-6)
    np.testing.assert_allclose(c["end_minute"], [minute_of(start, e) for e in ends], atol=1e-6)


# -- intermediary capacity ------------------------------------------------------------------
@pytest.mark.parametrize("capacity", [None, 1, 2])
def test_intermediary_capacity_is_a_fifo_queue(capacity):
    """A report of exactly 1 working day, requested every half day (D/D/c).

    Unlimited or 2 at a time: no queue, lead 1 day.  One at a time: case k
    (k = 0, 1, ...) arrives at (k + 1)/2 and starts when case k - 1 ends, so it
    ends at 1/2 + (k + 1) and its lead time is 1 + k/2 days."""
    ext = {"kind": "intermediary", "id": "report", "duration_working_days": 1}
    if capacity:
        ext["capacity"] = capacity
    s = scenario(
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[ext],
        case_types=[{"id": "x", "arrivals": {"interarrival_minutes": 720}, "flow": [{"external": "report"}]}],
        run={"horizon_working_days": 10},
    )
    c = _done(simulate(s, seed=10))
    k = np.arange(len(c))
    assert len(c) == 19  # arrivals at 0.5, 1, ..., 9.5 days
    expected = 1 + k / 2 if capacity == 1 else np.ones(len(c))
    np.testing.assert_allclose(c["lead_time_working_days"], expected, atol=1e-9)


# -- incomplete applications (补正) ------------------------------------------------------------
def _returns_model(q, abandon, kmax=60):
    """Exact (mean returns, abandoned share) of the engine's rule.

    Attempt j (0-based) is incomplete with probability q(j); after the k-th
    return the applicant gives up with abandon[k-1] (last value repeats).
    """
    alive, mean_returns, abandoned = 1.0, 0.0, 0.0
    for k in range(1, kmax):
        ret = alive * q(k - 1)  # reaches its k-th return
        a = abandon[min(k, len(abandon)) - 1]
        mean_returns += ret
        abandoned += ret * a
        alive = ret * (1 - a)
    return mean_returns, abandoned


def test_incomplete_applications_returns_and_trips():
    """Attempt j is incomplete with probability p f^j (f = repeat_incomplete_factor);
    a joint application is incomplete if any item is: 1 - prod(1 - p_i f^j).

    With no giving up, E[returns] = sum_k prod_{j<k} q(j), e.g. for p = 0.4,
    f = 0.5: 0.4 + 0.4*0.2 + 0.4*0.2*0.1 + ... = 0.4884.  Trips follow exactly:
    one per attempt, plus the pickup trip of a back-office result.
    """
    p, f = 0.4, 0.5
    pa, pb = 0.3, 0.2
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["imm", "bo", "ja", "jb"]}],
        items=[
            {"id": "imm", "department": "d", "kind": "immediate", "intake_minutes": 5, "incomplete_probability": p},
            {
                "id": "bo",
                "department": "d",
                "kind": "back_office",
                "intake_minutes": 5,
                "incomplete_probability": p,
                "steps": [{"role": "clerk", "minutes": 10}],
            },
            {"id": "ja", "department": "d", "kind": "immediate", "intake_minutes": 3, "incomplete_probability": pa},
            {"id": "jb", "department": "d", "kind": "immediate", "intake_minutes": 4, "incomplete_probability": pb},
        ],
        case_types=[
            {"id": "imm", "arrivals": {"per_day": 1000}, "flow": [{"item": "imm"}]},
            {"id": "bo", "arrivals": {"per_day": 1000}, "flow": [{"item": "bo"}]},
            {"id": "joint", "arrivals": {"per_day": 1000}, "flow": [{"items": ["ja", "jb"]}]},
        ],
        applicants={"fix_calendar_days": 0.5, "repeat_incomplete_factor": f, "abandon_probability": [0.0]},
        run={"horizon_working_days": 10},
    )
    c = _done(simulate(s, seed=11))
    single, _ = _returns_model(lambda j: p * f**j, [0.0])
    joint, _ = _returns_model(lambda j: 1 - (1 - pa * f**j) * (1 - pb * f**j), [0.0])
    assert single == pytest.approx(0.4 + 0.4 * 0.2 + 0.4 * 0.2 * 0.1 + 0.4 * 0.2 * 0.1 * 0.05, rel=1e-4)
    for ct, exact in (("imm", single), ("bo", single), ("joint", joint)):
        sub = c[c["case_type"] == ct]
        assert len(sub) > 9_000
        # sd of returns ~ 0.6, n ~ 10k: s.e. 0.006, band +-0.02 (~4%)
        sample_mean_check(sub["returns"], exact, max_rel_half_width=0.06, what=f"{ct} returns")
        pickup = 1 if ct == "bo" else 0
        assert (sub["trips"] == sub["returns"] + 1 + pickup).all(), ct
        assert (sub["window_visits"] == sub["returns"] + 1).all(), ct
    # the back-office work is done once, after the complete attempt
    bo = c[c["case_type"] == "bo"]
    np.testing.assert_allclose(
        bo["lead_time_calendar_days"] * 1440, bo["returns"] * (5 + 720) + 5 + 10, atol=1e-6
    )


def test_incomplete_applications_abandonment():
    """Giving up after the k-th return with probability 0.2, then 0.5 (repeating):
    abandoned share and mean returns from the exact recursion; an abandoned
    case made one trip per attempt and no pickup."""
    p, f, abandon = 0.5, 0.6, [0.2, 0.5]
    s = scenario(
        items=[{"id": "imm", "department": "d", "kind": "immediate", "intake_minutes": 5, "incomplete_probability": p}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["imm"]}],
        case_types=[{"id": "imm", "arrivals": {"per_day": 2000}, "flow": [{"item": "imm"}]}],
        applicants={"fix_calendar_days": 0.5, "repeat_incomplete_factor": f, "abandon_probability": abandon},
        run={"horizon_working_days": 10},
    )
    rep = simulate(s, seed=12)
    c = rep.cases
    mean_returns, abandoned = _returns_model(lambda j: p * f**j, abandon)  # 0.631 returns, 0.166 abandon
    n = len(c)
    assert n > 19_000  # band on the share +-0.009; returns sd ~0.7, s.e. 0.005, band +-0.016 (~2.6%)
    binomial_check(int((c["status"] == "abandoned").sum()), n, abandoned, what="abandoned share")
    assert rep.kpi("abandoned_share") == pytest.approx((c["status"] == "abandoned").mean())
    sample_mean_check(c["returns"], mean_returns, max_rel_half_width=0.05, what="returns with abandonment")
    done = c["status"] == "completed"
    assert (c.loc[done, "trips"] == c.loc[done, "returns"] + 1).all()
    assert (c.loc[~done, "trips"] == c.loc[~done, "returns"]).all()
    assert (c.loc[~done, "returns"] >= 1).all()
