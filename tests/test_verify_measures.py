"""Verification of the time measures against hand-computed answers.

Every case's lead time is split into government time (受理 -> 办结: from the
acceptance of a complete application - the end of its intake - to the
decision; for an immediate item 即办件, decided in the same sitting, the
intake itself; parallel items count once), external time (intermediaries,
notices, meetings outside government time) and the applicant's side (the
rest: queues before acceptance, travel, fixing, supplements, pickup).  The
three add up to the lead time exactly.  Time limits (按期办结) are checked on
government time, as the law counts them.

All checks are exact: fixed durations, ample staff (no queueing) and an
always-open calendar (a working day is 1440 minutes) make every case's times
known in closed form; each case is compared with its hand-computed value to
1e-6 minutes.  One check uses a real office calendar to show that closed
hours do not count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import COUNTY_CALENDAR, scenario
from sim import ScenarioError, simulate
from sim.calendar import clock_for
from sim.results import item_kpi_rows

HUGE = 5000
DAY = 1440.0


def _done(rep):
    c = rep.cases.sort_values("case").reset_index(drop=True)
    assert len(c) > 20
    assert (c["status"] == "completed").all(), c["status"].value_counts().to_dict()
    return c


def _minutes(c, col):
    return c[col].to_numpy() * DAY


def _back_office(id_, minutes, **kw):
    return {
        "id": id_, "department": "d", "kind": "back_office", "intake_minutes": 10,
        "steps": [{"role": "clerk", "minutes": minutes}], **kw,
    }


DEPT = [{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}]
WIDE = {"id": "w", "site": "hall", "positions": HUGE}


def test_serial_journey_splits_into_government_external_and_applicant_time():
    """Travel 30 min, intake 10, review 120, a 2-working-day intermediary report, then a
    second item (intake 10, review 60) and a pickup trip (travel 30): government time is
    the two reviews after acceptance, 120 + 60 = 180 min; external time 2 days; the
    applicant's side the three trips and two intakes (the completeness check comes before
    受理), 3 x 30 + 2 x 10 = 110 (the report sends the applicant home: a new trip).
    """
    items = [
        _back_office("permit", 120, result_delivery="electronic"),
        _back_office("licence", 60),
    ]
    s = scenario(
        items=items,
        departments=DEPT,
        windows=[{**WIDE, "items": ["permit", "licence"]}],
        externals=[{"id": "report", "kind": "intermediary", "duration_working_days": 2}],
        travel={"from_home_minutes": 30},
        case_types=[{"id": "c", "arrivals": {"per_day": 5},
                     "flow": [{"item": "permit"}, {"external": "report"}, {"item": "licence"}]}],
    )
    c = _done(simulate(s, seed=3))
    lead = c["lead_time_working_hours"].to_numpy() * 60
    np.testing.assert_allclose(lead, 30 + 10 + 120 + 2 * DAY + 30 + 10 + 60 + 30, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "government_time_working_days"), 180, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "external_time_working_days"), 2 * DAY, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "applicant_time_working_days"), 110, atol=1e-6)
    np.testing.assert_allclose(c["government_time_working_hours"], 3.0, atol=1e-9)


def test_parallel_items_count_government_time_once():
    """Two items in one joint application (one intake of 10 + 10 minutes), reviews of 120 and
    300 minutes in parallel: government time is the longer, 300, not the sum 420."""
    s = scenario(
        items=[_back_office("a", 120, result_delivery="electronic"),
               _back_office("b", 300, result_delivery="electronic")],
        departments=DEPT,
        windows=[{**WIDE, "items": ["a", "b"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"items": ["a", "b"]}]}],
    )
    rep = simulate(s, seed=4)
    c = _done(rep)
    np.testing.assert_allclose(_minutes(c, "government_time_working_days"), 300, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "applicant_time_working_days"), 20, atol=1e-6)  # the intake
    it = rep.items
    per_item = it.groupby("item", observed=True)["government_time_working_hours"].agg(["min", "max"]) * 60
    np.testing.assert_allclose(per_item.loc["a"], [120, 120], atol=1e-6)
    np.testing.assert_allclose(per_item.loc["b"], [300, 300], atol=1e-6)


def test_tolerated_supplement_is_the_applicants_time():
    """容缺受理 with every application missing a tolerated part supplied 2 days later:
    review takes 60 min, the decision waits for the supplement; government time is the
    review (60), the applicant's side the intake plus the rest of the 2 days."""
    s = scenario(
        items=[_back_office("x", 60, incomplete_probability=1.0, tolerated_share=1.0,
                            result_delivery="electronic")],
        departments=DEPT,
        windows=[{**WIDE, "items": ["x"]}],
        applicants={"fix_calendar_days": 2, "repeat_incomplete_factor": 0.0},
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}],
    )
    c = _done(simulate(s, seed=5))
    np.testing.assert_allclose(_minutes(c, "government_time_working_days"), 60, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "applicant_time_working_days"), 10 + 2 * DAY - 60, atol=1e-6)


def test_issued_after_waits_for_the_credit_code_and_counts_as_government_time():
    """Licence (review 240 min) and seal (review 60) applied for together (intake 10 + 10);
    the seal needs the licence's credit code (``issued_after``): both are decided 240 minutes
    after acceptance.  Without the dependency the seal is decided at 60."""
    def build(dep):
        seal = _back_office("seal", 60, result_delivery="electronic")
        if dep:
            seal["issued_after"] = ["licence"]
        return scenario(
            items=[_back_office("licence", 240, result_delivery="electronic"), seal],
            departments=DEPT,
            windows=[{**WIDE, "items": ["licence", "seal"]}],
            case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"items": ["licence", "seal"]}]}],
        )

    for dep, seal_minutes in ((True, 240), (False, 60)):
        rep = simulate(build(dep), seed=6, trace=True)
        it = rep.items
        seal = it[it["item"] == "seal"]["government_time_working_hours"].to_numpy() * 60
        np.testing.assert_allclose(seal, seal_minutes, atol=1e-6)
        waits = rep.trace[rep.trace["kind"] == "wait_result"]
        assert (len(waits) > 0) == dep
    # in separate parallel applications too, and a serial order needs no wait
    par = build(True).evolve(case_types=[{"id": "c", "arrivals": {"per_day": 5},
                                          "flow": [{"parallel": [{"item": "licence"}, {"item": "seal"}]}]}])
    it = simulate(par, seed=6).items
    # one applicant makes one visit at a time: the seal is accepted after the licence's intake
    # (10 min later) and decided with the licence at 10 + 240: 230 minutes of government time
    np.testing.assert_allclose(it[it["item"] == "seal"]["government_time_working_hours"] * 60, 230, atol=1e-6)
    ser = build(True).evolve(case_types=[{"id": "c", "arrivals": {"per_day": 5},
                                          "flow": [{"item": "seal"}, {"item": "licence"}]}])
    c = _done(simulate(ser, seed=6))  # the licence comes later in the journey: the seal does not wait for it
    np.testing.assert_allclose(_minutes(c, "government_time_working_days"), 60 + 240, atol=1e-6)


def test_issued_after_cycles_and_unknown_items_are_refused():
    base = dict(departments=DEPT, windows=[{**WIDE, "items": ["a", "b"]}],
                case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"items": ["a", "b"]}]}])
    with pytest.raises(ScenarioError, match="would never be issued: a -> b -> a|would never be issued: b -> a -> b"):
        scenario(items=[_back_office("a", 1, issued_after=["b"]), _back_office("b", 1, issued_after=["a"])], **base)
    with pytest.raises(ScenarioError, match=r"items\[0\]\.issued_after\[0\]: no item with id 'bb' \(did you mean 'b'\?\)"):
        scenario(items=[_back_office("a", 1, issued_after=["bb"]), _back_office("b", 1)], **base)


def test_trips_per_application_and_the_item_one_trip_share():
    """Item 'visit' (immediate, no pickup): one trip.  Item 'pickup' (back office, result
    collected): two trips, the visit and the pickup.  So the catalogue share of items whose
    median application takes at most one trip is 1/2, while every case makes 3 trips."""
    s = scenario(
        items=[{"id": "visit", "department": "d", "kind": "immediate", "intake_minutes": 10},
               _back_office("pickup", 60)],
        departments=DEPT,
        windows=[{**WIDE, "items": ["visit", "pickup"]}],
        travel={"from_home_minutes": 15},
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "visit"}, {"item": "pickup"}]}],
    )
    rep = simulate(s, seed=7)
    c = _done(rep)
    assert (c["trips"] == 2).all()  # visit, then straight on to the second application (same hall), then the pickup
    it = rep.items
    assert (it.loc[it["item"] == "visit", "trips"] == 1).all()
    # the second application is made during the same visit: its own trip count is the pickup only
    assert (it.loc[it["item"] == "pickup", "trips"] == 1).all()
    assert rep.kpi("items_at_most_one_trip_share") == 1.0
    # with a 0.5-day supplement trip... instead: a return sends the applicant home, a second trip
    s2 = s.evolve(items=[{"id": "visit", "department": "d", "kind": "immediate", "intake_minutes": 10,
                          "incomplete_probability": 1.0},
                         _back_office("pickup", 60)],
                  applicants={"fix_calendar_days": 1, "repeat_incomplete_factor": 0.0})
    rep2 = simulate(s2, seed=7)
    it2 = rep2.items
    assert (it2.loc[it2["item"] == "visit", "trips"] == 2).all() and (it2.loc[it2["item"] == "visit", "returns"] == 1).all()
    assert rep2.kpi("items_at_most_one_trip_share") == 0.5


def test_closed_hours_do_not_count_in_government_time():
    """A 120-minute review accepted at 17:00 on a Friday (office closes 18:00) ends at
    09:30 on Monday: 2 working hours of government time, not a weekend's worth."""
    s = scenario(
        calendar=COUNTY_CALENDAR,
        items=[_back_office("x", 120, intake_minutes=0, result_delivery="electronic")],
        departments=DEPT,
        windows=[{**WIDE, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 20}, "flow": [{"item": "x"}]}],
    )
    c = _done(simulate(s, seed=8))
    np.testing.assert_allclose(c["government_time_working_hours"], 2.0, atol=1e-6)
    total = c["government_time_working_days"] + c["external_time_working_days"] + c["applicant_time_working_days"]
    np.testing.assert_allclose(total, c["lead_time_working_days"], atol=1e-9)


def test_on_time_counts_government_time_against_cut_limits():
    """Review 2 working days (always open): a promised limit of 3 days is kept, a limit cut
    to 1 day (减时间) is missed by every application, whatever the wait for the applicant."""
    def build(limit):
        return scenario(
            items=[_back_office("x", 2 * DAY, promised_limit_days=limit, result_delivery="electronic")],
            departments=DEPT,
            windows=[{**WIDE, "items": ["x"]}],
            case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}],
        )

    assert simulate(build(3), seed=9).kpi("on_time_promised_rate") == 1.0
    assert simulate(build(1), seed=9).kpi("on_time_promised_rate") == 0.0
    assert simulate(build(1), seed=9).kpi("on_time_promised_rate", "item:x") == 0.0


def test_scalar_and_array_deadlines_are_one_rule():
    from sim.calendar import due_working_minute, due_working_minutes

    w = np.array([0.0, 100.0, 419.9, 420.0, 1000.0, 3000.0])
    for n in (0, 1, 3, 0.5, 2.25):
        expected = due_working_minutes(w, n, 420.0)
        np.testing.assert_allclose([due_working_minute(x, n, 420.0) for x in w], expected)


def test_item_kpis_of_an_empty_table_are_empty():
    assert item_kpi_rows(None, None, 1.0) == []


def test_immediate_items_are_same_day_unless_they_wait_for_a_supplement():
    """An immediate item (intake 10 min) is decided in the sitting: same working day.  With every
    application missing a tolerated part supplied 2 days later and the decision waiting for it
    (the shared default), no immediate item is decided on the day: 即办件当日办结 fails, while its
    government time is still the 10-minute sitting."""
    def build(p):
        return scenario(
            calendar=COUNTY_CALENDAR,
            items=[{"id": "x", "department": "d", "kind": "immediate", "intake_minutes": 10,
                    "incomplete_probability": p, "tolerated_share": 1.0}],
            departments=DEPT,
            windows=[{**WIDE, "items": ["x"]}],
            applicants={"fix_working_days": 2, "repeat_incomplete_factor": 0.0},
            case_types=[{"id": "c", "arrivals": {"per_day": 20}, "flow": [{"item": "x"}]}],
        )

    s = build(0.0)
    ok = simulate(s, seed=10)
    # an intake taken in the last 10 working minutes of a day ends the next morning: not same day
    clock = clock_for(s.calendar)
    w = clock.working_array(ok.items["accepted_minute"].to_numpy())
    expected = float(np.mean(w % clock.day_minutes <= clock.day_minutes - 10 + 1e-9))
    assert 0.9 < expected < 1.0
    assert ok.kpi("immediate_same_day_share") == pytest.approx(expected, abs=1e-12)
    assert ok.kpi("same_day_share", "item:x") == pytest.approx(expected, abs=1e-12)
    late = simulate(build(1.0), seed=10)
    assert late.kpi("immediate_same_day_share") == 0.0
    np.testing.assert_allclose(late.items["government_time_working_hours"] * 60, 10.0, atol=1e-6)


def test_waiting_for_a_result_that_waits_for_the_applicant_is_the_applicants_time():
    """Licence (review 240) with every gap tolerated, supplement 2 days later, decision waiting for
    it; the seal (review 60) needs the licence's code.  The seal is decided with the licence, two
    days after acceptance, but its government time ends where the licence's does, at 240: the rest
    of the wait is the applicant's missing paper, not the seal office's."""
    s = scenario(
        items=[_back_office("licence", 240, result_delivery="electronic", incomplete_probability=1.0,
                            tolerated_share=1.0),
               _back_office("seal", 60, result_delivery="electronic", issued_after=["licence"])],
        departments=DEPT,
        windows=[{**WIDE, "items": ["licence", "seal"]}],
        applicants={"fix_calendar_days": 2, "repeat_incomplete_factor": 0.0},
        case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"items": ["licence", "seal"]}]}],
    )
    rep = simulate(s, seed=11)
    c = _done(rep)
    it = rep.items
    seal = it[it["item"] == "seal"]
    np.testing.assert_allclose(seal["government_time_working_hours"] * 60, 240, atol=1e-6)
    np.testing.assert_allclose(seal["decided_minute"] - seal["accepted_minute"], 2 * DAY, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "government_time_working_days"), 240, atol=1e-6)
    np.testing.assert_allclose(_minutes(c, "applicant_time_working_days"), 20 + 2 * DAY - 240, atol=1e-6)


@pytest.mark.parametrize("limit", [0, 0.004])
def test_fused_single_visit_path_gives_the_general_paths_tables(limit):
    """The engine's fused path (one immediate item, one window, no travel, always open) must give
    exactly what the general path gives: the same model written as a one-branch ``parallel``
    takes the general path.  Every column of the case, item and KPI tables is compared."""
    item = {"id": "x", "department": "d", "kind": "immediate", "promised_limit_days": limit,
            "statutory_limit_days": 1, "intake_minutes": {"dist": "exponential", "mean": 10}, "fee_yuan": 5,
            "materials": 3}
    fused = scenario(items=[item], windows=[{"id": "w", "site": "hall", "positions": 2, "items": ["x"]}],
                     case_types=[{"id": "c", "arrivals": {"per_hour": 10}, "flow": [{"item": "x"}]}],
                     run={"horizon_working_days": 3})
    general = fused.evolve(case_types=[{"id": "c", "arrivals": {"per_hour": 10},
                                        "flow": [{"parallel": [{"item": "x"}]}]}])
    a, b = simulate(fused, seed=12), simulate(general, seed=12)
    assert len(a.cases) > 500
    pd.testing.assert_frame_equal(a.cases, b.cases)
    pd.testing.assert_frame_equal(a.items, b.items)
    pd.testing.assert_frame_equal(a.kpis, b.kpis)
