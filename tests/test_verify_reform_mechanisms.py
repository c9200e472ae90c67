"""Verification of the reform mechanisms against known answers.

Mechanisms: tolerance acceptance (容缺受理, ``tolerated_share``, and 容缺后补,
``decide_before_supplement``), joint applications with one set of materials
(``shared_materials``), inspections after approval (事中事后监管,
``inspection``), the assisted channel (帮办代办, ``channels.assisted`` and
``agency``), applications limited to named windows (``windows``), choices
sharing one draw (``draw``), draws that belong to a case (gaps, giving up,
inspection: the same under any change of timing), and the validation of the
new fields.

Three kinds of check, as in test_verify_flows.py:

* exact: fixed durations and ample staff (thousands of positions) make every
  case's lead time, trips and visits known in closed form; each case is
  compared with its hand-computed value to 1e-6 minutes;
* exact equality under common random numbers: two runs with the same seed
  that differ only in something that must not touch a quantity must give
  identical values, case by case;
* frequencies: a share of independent cases against its exact probability in
  a 99.9% normal band, half-width 3.29 * sqrt(p (1 - p) / n) (helpers.LEVEL);
  n is chosen in each test so the band is narrow enough to tell the right
  formula from a plausible wrong one (stated in each test).

Seeds are fixed, so every test is deterministic.  All scenarios are
``always_open``: a working day is 1440 minutes, a calendar day too.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.helpers import assert_matches, binomial_check, scenario
from sim import ScenarioError, Scenario, simulate

HUGE = 5000  # staff/positions: no case ever waits
DAY = 1440.0  # minutes in a working (= calendar) day under always_open


def _done(rep):
    c = rep.cases.sort_values("case").reset_index(drop=True)
    assert (c["status"] == "completed").all(), c["status"].value_counts().to_dict()
    return c


def _lead_minutes(c):
    return c["lead_time_working_hours"].to_numpy() * 60.0


def _kinds_by_case(trace, kind):
    """Set of cases with at least one trace activity of ``kind``."""
    return set(trace.loc[trace["kind"] == kind, "case"].tolist())


# =====================================================================================
# 1. Tolerance acceptance (容缺受理)
# =====================================================================================
def _tolerance_scenario(tolerated, *, p=1.0, repeat=0.0, fix_days=2.0, per_day=100.0, days=3.0, **item):
    """One immediate item, intake 10 min, ample positions, fix time ``fix_days`` calendar days."""
    return scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],  # for back-office variants
        items=[
            {
                "id": "licence",
                "department": "d",
                "kind": "immediate",
                "intake_minutes": 10,
                "incomplete_probability": p,
                "tolerated_share": tolerated,
                **item,
            }
        ],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["licence"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": per_day}, "flow": [{"item": "licence"}]}],
        applicants={"fix_calendar_days": fix_days, "repeat_incomplete_factor": repeat, "abandon_probability": [0.0]},
        run={"horizon_working_days": days},
    )


def test_tolerated_gap_is_supplied_without_a_trip():
    """Every application has a gap (p = 1) and every gap is tolerated: the case is
    accepted at once and the decision waits for the supplement, so the lead time
    is intake + fix = 10 + 2 * 1440 = 2890 minutes, with no return, one trip and
    one window visit.  The trace shows one 'supplement' activity per case, from
    the end of intake for exactly the fix time, by the applicant (no queue)."""
    rep = simulate(_tolerance_scenario(1.0), seed=101, trace=True)
    c = _done(rep)
    assert len(c) > 250
    np.testing.assert_allclose(_lead_minutes(c), 10 + 2 * DAY, rtol=0, atol=1e-6)
    assert (c["returns"] == 0).all() and (c["trips"] == 1).all() and (c["window_visits"] == 1).all()
    tr = rep.trace
    assert "fix" not in set(tr["kind"])
    sup = tr[tr["kind"] == "supplement"].set_index("case")
    intake = tr[tr["kind"] == "intake"].set_index("case")
    assert sorted(sup.index) == sorted(intake.index) == sorted(c["case"])  # one of each per case
    assert (sup["resource"] == "applicant").all()
    np.testing.assert_allclose(sup["start_minute"], intake.loc[sup.index, "end_minute"], atol=1e-6)
    np.testing.assert_allclose(sup["end_minute"] - sup["start_minute"], 2 * DAY, atol=1e-6)


def test_untolerated_gap_is_a_return_and_a_second_visit():
    """The same with tolerated_share 0: every application is returned once (the
    retry is complete, repeat factor 0), so lead = 10 + 2880 + 10 = 2900 minutes,
    one return, two trips and two window visits, and no 'supplement' activity."""
    rep = simulate(_tolerance_scenario(0.0), seed=101, trace=True)
    c = _done(rep)
    assert len(c) > 250
    np.testing.assert_allclose(_lead_minutes(c), 10 + 2 * DAY + 10, rtol=0, atol=1e-6)
    assert (c["returns"] == 1).all() and (c["trips"] == 2).all() and (c["window_visits"] == 2).all()
    kinds = rep.trace["kind"].value_counts().to_dict()
    assert kinds.get("supplement", 0) == 0
    assert kinds["fix"] == len(c) and kinds["intake"] == 2 * len(c)


def test_decide_before_supplement_does_not_wait():
    """容缺后补 (``decide_before_supplement: true``): the tolerated application is
    decided at acceptance, so with p = 1 and every gap tolerated the lead time is
    the intake alone, 10 minutes, and a same-day promised limit (0 days) is met;
    the supplement is still made (traced from acceptance for 2 days), and there
    is no return and no second trip.  A back-office item with the flag is decided
    when its review ends (10 + 60 min), not after the 2-day supplement."""
    rep = simulate(_tolerance_scenario(1.0, decide_before_supplement=True, promised_limit_days=0), seed=105, trace=True)
    c = _done(rep)
    assert len(c) > 250
    np.testing.assert_allclose(_lead_minutes(c), 10.0, rtol=0, atol=1e-6)
    assert (c["returns"] == 0).all() and (c["trips"] == 1).all()
    assert (c["items_on_time_promised"] == 1).all() and (c["items_with_promised_limit"] == 1).all()
    sup = rep.trace[rep.trace["kind"] == "supplement"]
    assert sorted(sup["case"]) == sorted(c["case"])
    np.testing.assert_allclose(sup["end_minute"] - sup["start_minute"], 2 * DAY, atol=1e-6)
    # the same item without the flag waits for the supplement: the lead time grows by the 2 days,
    # but that wait is the applicant's time, not the office's, so the same-day limit (counted on
    # government time, acceptance -> decision less the wait for the applicant) is still met
    c_wait = _done(simulate(_tolerance_scenario(1.0, promised_limit_days=0), seed=105))
    np.testing.assert_allclose(_lead_minutes(c_wait), 10 + 2 * DAY, rtol=0, atol=1e-6)
    np.testing.assert_allclose(c_wait["government_time_working_days"] * DAY, 10.0, atol=1e-6)  # the intake
    np.testing.assert_allclose(c_wait["applicant_time_working_days"] * DAY, 2 * DAY, atol=1e-6)
    assert (c_wait["items_on_time_promised"] == 1).all()
    # a back-office item (review 60 min, result electronic) is decided after review alone
    back_office = {
        "kind": "back_office",
        "steps": [{"role": "clerk", "minutes": 60}],
        "result_delivery": "electronic",
        "decide_before_supplement": True,
    }
    c_bo = _done(simulate(_tolerance_scenario(1.0, **back_office), seed=105))
    assert len(c_bo) > 250
    np.testing.assert_allclose(_lead_minutes(c_bo), 10 + 60.0, rtol=0, atol=1e-6)


def test_tolerated_back_office_decision_is_the_later_of_review_and_supplement():
    """Back-office items, every gap tolerated, results picked up (pickup_minutes 0):

    * ``slow_review``: review 600 min, supplement 0.25 working days (360 min):
      decided at acceptance + 600, lead 10 + 600 = 610 min;
    * ``slow_supply``: review 60 min, supplement 1 calendar day (1440 min):
      decided at acceptance + 1440, lead 10 + 1440 = 1450 min.

    Both make two trips (apply, pick up) and no return.  Time limits are judged
    on government time, as the law counts them: the wait for the applicant's
    supplement is not the office's.  With a promised limit of 0.3 working days
    (432 min of elapsed working time) and a statutory one of 0.5 (720 min),
    ``slow_review`` (review 600) misses the promised limit and meets the
    statutory one; ``slow_supply`` (review 60, decided at 1440 once the
    supplement is in) meets both."""

    def item(iid, review):
        return {
            "id": iid,
            "department": "d",
            "kind": "back_office",
            "intake_minutes": 10,
            "incomplete_probability": 1.0,
            "tolerated_share": 1.0,
            "promised_limit_days": 0.3,
            "statutory_limit_days": 0.5,
            "steps": [{"role": "clerk", "minutes": review}],
            "result_delivery": "pickup",
        }

    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["slow_review", "slow_supply"]}],
        items=[item("slow_review", 600), item("slow_supply", 60)],
        case_types=[
            {
                "id": "slow_review",
                "arrivals": {"per_day": 100},
                "flow": [{"item": "slow_review"}],
                "applicants": {"fix_working_days": 0.25},
            },
            {
                "id": "slow_supply",
                "arrivals": {"per_day": 100},
                "flow": [{"item": "slow_supply"}],
                "applicants": {"fix_calendar_days": 1},
            },
        ],
        run={"horizon_working_days": 3},
    )
    rep = simulate(s, seed=102, trace=True)
    c = _done(rep)
    for ct, lead, promised_ok, statutory_ok in (("slow_review", 610.0, 0, 1), ("slow_supply", 1450.0, 1, 1)):
        sub = c[c["case_type"] == ct]
        assert len(sub) > 250, ct
        np.testing.assert_allclose(_lead_minutes(sub), lead, rtol=0, atol=1e-6, err_msg=ct)
        assert (sub["returns"] == 0).all() and (sub["trips"] == 2).all() and (sub["window_visits"] == 1).all()
        assert (sub["items_with_promised_limit"] == 1).all() and (sub["items_with_statutory_limit"] == 1).all()
        assert (sub["items_on_time_promised"] == promised_ok).all(), ct
        assert (sub["items_on_time_statutory"] == statutory_ok).all(), ct
    # review and supplement run side by side: both start when intake ends
    tr = rep.trace
    intake_end = tr[tr["kind"] == "intake"].set_index("case")["end_minute"]
    for kind in ("supplement", "step"):
        rows = tr[tr["kind"] == kind].set_index("case")
        assert len(rows) == len(c)
        np.testing.assert_allclose(rows["start_minute"], intake_end.loc[rows.index], atol=1e-6)


def test_tolerated_share_splits_gaps_per_attempt():
    """p = 0.8, repeat factor f = 0.5, tolerated_share s = 0.5, fix 1 calendar day.

    Attempt k has a gap with p f^k; a gap is tolerated with probability s.  So
    attempt 0 is returned with 0.4, tolerated with 0.4, clean with 0.2; attempt
    1 returned 0.2, tolerated 0.2, clean 0.6; attempt 2 returned 0.1 ...  Hence
    P(returns >= 1) = 0.4, P(returns >= 2) = 0.4 * 0.2 = 0.08 and
    P(a supplement) = sum_k P(reach attempt k) p f^k s
    = 0.4 + 0.4 * 0.2 + 0.08 * 0.1 + 0.008 * 0.05 + ... = 0.48844.

    Each case's lead time is known from its path: 10 min per intake, 1440 per
    fix, 1440 more if its final attempt had a tolerated gap.  n ~ 20k cases:
    bands +-0.011 (0.4, 0.48844) and +-0.0063 (0.08); a tolerance that ignored
    f on retries would give P(supplement) 0.56, outside the band."""
    p, f, s_tol = 0.8, 0.5, 0.5
    rep = simulate(_tolerance_scenario(s_tol, p=p, repeat=f, fix_days=1, per_day=2000, days=10), seed=103, trace=True)
    c = _done(rep)
    n = len(c)
    assert n > 19_000
    supplemented = c["case"].isin(_kinds_by_case(rep.trace, "supplement")).to_numpy()
    r = c["returns"].to_numpy()
    np.testing.assert_allclose(_lead_minutes(c), 10 * (r + 1) + DAY * r + DAY * supplemented, atol=1e-6)
    assert (c["trips"] == r + 1).all() and (c["window_visits"] == r + 1).all()

    # exact probabilities by the per-attempt recursion
    reach, p_sup, p_ret = 1.0, 0.0, []
    for k in range(40):
        gap = p * f**k
        p_sup += reach * gap * s_tol
        p_ret.append(reach)  # P(returns >= k)
        reach *= gap * (1 - s_tol)
    assert p_sup == pytest.approx(0.48844, abs=1e-4)
    binomial_check(int(supplemented.sum()), n, p_sup, what="a tolerated gap (supplement)")
    binomial_check(int((r >= 1).sum()), n, p_ret[1], what="returns >= 1")
    binomial_check(int((r >= 2).sum()), n, p_ret[2], what="returns >= 2")


def test_tolerated_share_half_gives_returns_in_half_the_cases():
    """p = 1, tolerated_share 0.5, repeat factor 0: each case is either returned
    once (lead 10 + 1440 + 10) or supplied (lead 10 + 1440), with probability 1/2
    each.  n ~ 6k: band +-0.021 on the share of returns."""
    c = _done(simulate(_tolerance_scenario(0.5, fix_days=1, per_day=2000, days=3), seed=104))
    n = len(c)
    assert n > 5_500
    returned = (c["returns"] == 1).to_numpy()
    assert set(c["returns"]) == {0, 1}
    np.testing.assert_allclose(_lead_minutes(c), 10 + DAY + 10 * returned, atol=1e-6)
    binomial_check(int(returned.sum()), n, 0.5, what="returned share with tolerated_share 0.5")


# -- draws that belong to the case ------------------------------------------------------------
def test_gaps_belong_to_the_case_not_to_the_timing():
    """Whether attempt k of a case has a gap (tolerated or not), whether its
    applicant gives up and whether its decision is inspected are drawn per case
    (docs/model.md, Randomness).  One window position instead of ample positions
    changes every timing (queues, random intake and fix times drawn in a new
    order), but under the same seed each case must keep exactly its returns,
    supplement, status, channel and inspection."""

    def run(positions):
        s = scenario(
            departments=[{"id": "d", "site": "hall", "staff": {"inspector": HUGE}}],
            items=[
                {"id": "x", "department": "d", "kind": "immediate", "intake_minutes": {"dist": "exponential", "mean": 8},
                 "incomplete_probability": 0.6, "tolerated_share": 0.4,
                 "inspection": {"share": 0.3, "role": "inspector", "minutes": 20}},
            ],
            windows=[{"id": "w", "site": "hall", "positions": positions, "items": ["x"]}],
            case_types=[
                {"id": "c", "arrivals": {"per_day": 120}, "channels": {"counter": 0.7, "assisted": 0.3}, "flow": [{"item": "x"}]}
            ],
            applicants={"fix_calendar_days": {"dist": "uniform", "low": 0.1, "high": 1}, "repeat_incomplete_factor": 0.7,
                        "abandon_probability": [0.3]},
            run={"horizon_working_days": 10},
        ).evolve(agency=AGENCY)
        rep = simulate(s, seed=106, trace=True)
        c = rep.cases.sort_values("case").set_index("case")
        c["supplied"] = c.index.isin(list(_kinds_by_case(rep.trace, "supplement")))
        c["inspected"] = c.index.isin(list(_kinds_by_case(rep.trace, "inspection")))
        return c

    queued, free = run(1), run(HUGE)
    assert len(queued) > 1000
    assert (queued["window_wait_minutes"] > 0).mean() > 0.3  # the timing did change
    assert not np.allclose(queued["end_minute"], free["end_minute"])
    for col in ("arrival_minute", "channel", "status", "returns", "supplied", "inspected", "trips", "window_visits"):
        pd.testing.assert_series_equal(queued[col], free[col], check_exact=True, obj=col)
    assert queued["returns"].max() >= 2 and queued["supplied"].any() and (queued["status"] == "abandoned").any()


# =====================================================================================
# 2. Joint applications with one set of materials (shared_materials)
# =====================================================================================
def test_shared_materials_count_and_gap_probability():
    """Items a (5 materials, p 0.6, every gap tolerated) and b (5 materials, p 0.5,
    no gap tolerated) applied for together; applicants give up at the first
    return (abandon_probability [1]).

    With shared_materials 4 the case hands in 5 + 5 - 4 = 6 materials and each
    item keeps a fraction 6/10 of its gap chance on the survival scale:
    p_a' = 1 - 0.4 ** 0.6 = 0.4229, p_b' = 1 - 0.5 ** 0.6 = 0.3402.  b's gap
    returns the case (abandoned), a's gap adds a supplement (lead 7 + 1440 instead
    of 7), and the two are independent.  Without sharing: 10 materials,
    p_a = 0.6, p_b = 0.5.

    n ~ 10k per case type: bands about +-0.016 (abandoned) and +-0.02 (supplement
    among the ~6.6k completed); scaling p linearly (0.36, 0.30) would fall
    outside them."""
    items = [
        {"id": "a", "department": "d", "kind": "immediate", "intake_minutes": 3, "materials": 5,
         "incomplete_probability": 0.6, "tolerated_share": 1.0},
        {"id": "b", "department": "d", "kind": "immediate", "intake_minutes": 4, "materials": 5,
         "incomplete_probability": 0.5},
    ]
    s = scenario(
        items=items,
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["a", "b"]}],
        case_types=[
            {"id": "shared", "arrivals": {"per_day": 2000}, "flow": [{"items": ["a", "b"], "shared_materials": 4}]},
            {"id": "separate", "arrivals": {"per_day": 2000}, "flow": [{"items": ["a", "b"]}]},
        ],
        applicants={"fix_calendar_days": 1, "abandon_probability": [1.0]},
        run={"horizon_working_days": 5},
    )
    rep = simulate(s, seed=201)
    c = rep.cases
    for ct, materials, pa, pb in (
        ("shared", 6, 1 - 0.4**0.6, 1 - 0.5**0.6),
        ("separate", 10, 0.6, 0.5),
    ):
        sub = c[c["case_type"] == ct]
        n = len(sub)
        assert n > 9_000, ct
        assert (sub["materials"] == materials).all(), ct  # abandoned cases handed them in too
        abandoned = (sub["status"] == "abandoned").to_numpy()
        assert (sub["status"] != "unfinished").all()
        binomial_check(int(abandoned.sum()), n, pb, what=f"{ct}: P(gap in b)")
        done = sub[~abandoned]
        lead = _lead_minutes(done)
        supplied = np.isclose(lead, 7 + DAY, atol=1e-6)
        assert (supplied | np.isclose(lead, 7, atol=1e-6)).all(), ct
        binomial_check(int(supplied.sum()), len(done), pa, what=f"{ct}: P(gap in a)")
    assert rep.kpi("materials_mean", "case_type:shared") == pytest.approx(6.0)


# =====================================================================================
# 3. Inspections after approval (事中事后监管)
# =====================================================================================
def _inspection_scenario(inspect: bool):
    """A loaded office (queues at the window and in the back office) whose items may
    be inspected by a role ``inspector`` that does nothing else."""
    inspection = {"share": 0.5, "role": "inspector", "minutes": {"dist": "exponential", "mean": 45}}
    permit = {
        "id": "permit",
        "department": "d",
        "kind": "back_office",
        "intake_minutes": {"dist": "exponential", "mean": 8},
        "incomplete_probability": 0.3,
        "tolerated_share": 0.4,
        "steps": [
            {"role": "clerk", "minutes": {"dist": "exponential", "mean": 60}},
            {"role": "chief", "minutes": {"dist": "uniform", "low": 10, "high": 30}},
        ],
        "pickup_minutes": 3,
        "promised_limit_days": 1,
    }
    # an immediate item with no gaps: without inspection the engine takes its fast path
    licence = {"id": "licence", "department": "d", "kind": "immediate", "intake_minutes": {"dist": "exponential", "mean": 6}}
    if inspect:
        permit["inspection"] = inspection
        licence["inspection"] = {**inspection, "minutes": 30}
    return scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 2, "chief": 1, "inspector": 1}}],
        windows=[{"id": "w", "site": "hall", "positions": 1, "items": ["permit", "licence"]}],
        items=[permit, licence],
        case_types=[
            {
                "id": "permit",
                "arrivals": {"per_day": 30},
                "channels": {"counter": 0.6, "online": 0.2, "assisted": 0.2},
                "flow": [{"item": "permit"}],
            },
            {"id": "licence", "arrivals": {"per_day": 60}, "flow": [{"item": "licence"}]},
        ],
        applicants={"fix_calendar_days": {"dist": "uniform", "low": 0.5, "high": 2}, "abandon_probability": [0.1]},
        run={"horizon_working_days": 20},
    )


def test_inspections_do_not_change_any_case():
    """Inspections are off the case's path, and here the inspecting role does
    nothing else: with the same seed every column of every case (lead times,
    waits, trips, returns, time limits ...) must be identical with and without
    inspections, and so must every other station.  Exact equality, no tolerance.
    (The single inspector is even overloaded - offered 1.1 staff - so a backlog of
    inspections builds up; it must still not touch any case.)"""
    without = simulate(_inspection_scenario(False), seed=301)
    with_ = simulate(_inspection_scenario(True), seed=301)
    assert len(with_.cases) > 1500
    assert (with_.cases["window_wait_minutes"] > 0).any() and (with_.cases["back_office_wait_minutes"] > 0).any()
    pd.testing.assert_frame_equal(without.cases, with_.cases, check_exact=True)
    st_without = without.stations.set_index("station")
    st_with = with_.stations.set_index("station")
    assert st_without.loc["d.inspector", "visits_per_day"] == 0
    assert st_with.loc["d.inspector", "utilisation"] > 0.2  # the inspections did run
    others = [x for x in st_with.index if x != "d.inspector"]
    pd.testing.assert_frame_equal(st_without.loc[others], st_with.loc[others], check_exact=True)


def test_inspection_load_and_trace():
    """Poisson arrivals, lambda = 2000 per day, of an immediate item (intake 5 min,
    ample positions, so each is decided exactly 5 min after arrival).  A share
    s = 0.25 is inspected for m = 60 min by a role of c = 60 staff (offered load
    lambda s m = 20.8 staff, so practically never a queue).

    The inspections form a thinned Poisson process, so the busy time inside the
    horizon [0, T) is compound Poisson with
    E = lambda s int_0^T min(m, (T - a - 5)^+) da = lambda s m (T - 5 - m / 2)
    and Var = lambda s int_0^T min(m, (T - a - 5)^+)^2 da ~ lambda s m^2 (T - 5 - 2m/3);
    utilisation = busy / (c T).  T = 10 days: ~5000 inspections, relative s.e.
    1.4%, band +-4.7%.  The trace has one 'inspection' activity at the role per
    inspected case, enabled at the decision: their count is binomial(n, 0.25)
    (band +-0.01)."""
    lam, share, m, c_staff, days, intake = 2000 / DAY, 0.25, 60.0, 60, 10, 5.0
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"inspector": c_staff}}],
        items=[
            {"id": "licence", "department": "d", "kind": "immediate", "intake_minutes": intake,
             "inspection": {"share": share, "role": "inspector", "minutes": m}},
        ],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["licence"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": lam * DAY}, "flow": [{"item": "licence"}]}],
        run={"horizon_working_days": days},
    )
    rep = simulate(s, seed=302, trace=True)
    c = _done(rep)
    T = days * DAY
    expected = lam * share * m * (T - intake - m / 2) / (c_staff * T)
    se = math.sqrt(lam * share * m**2 * (T - intake - 2 * m / 3)) / (c_staff * T)
    util = rep.kpi("utilisation", "station:d.inspector")
    assert_matches(util, se, None, expected, max_rel_half_width=0.06, what="inspector utilisation")
    assert expected == pytest.approx(lam * share * m / c_staff, rel=0.005)  # the edge terms are small

    tr = rep.trace
    ins = tr[tr["kind"] == "inspection"]
    assert (ins["resource"] == "d.inspector").all() and (ins["activity"] == "inspection:licence").all()
    np.testing.assert_allclose(ins["end_minute"] - ins["start_minute"], m, atol=1e-6)
    assert ins["case"].is_unique
    intake_end = tr[tr["kind"] == "intake"].set_index("case")["end_minute"]
    np.testing.assert_allclose(ins["enabled_minute"], intake_end.loc[ins["case"]].to_numpy(), atol=1e-6)
    counted = ins["case"].isin(c["case"])
    binomial_check(int(counted.sum()), len(c), share, what="inspected share")


def test_each_inspection_starts_when_its_own_item_is_decided():
    """A joint application {items: [imm, tol, late, bo]}, intake 4 x 5 = 20 min, every
    item inspected (share 1) by an inspector role of another department (``audit``):

    * ``imm``, immediate, no gap: decided at acceptance (+0);
    * ``tol``, immediate, always a tolerated gap, supplement 0.25 days: +360;
    * ``late``, the same but ``decide_before_supplement``: decided at once, +0;
    * ``bo``, back office, review 600 min: +600.

    Each inspection is enabled at its own item's decision (not when the whole
    application is done), and the case ends at acceptance + max(600, 360)."""
    insp = {"share": 1.0, "role": "inspector", "department": "audit", "minutes": 30}
    gap = {"incomplete_probability": 1.0, "tolerated_share": 1.0}
    s = scenario(
        departments=[
            {"id": "d", "site": "hall", "staff": {"clerk": HUGE}},
            {"id": "audit", "site": "hall", "staff": {"inspector": HUGE}},
        ],
        items=[
            {"id": "imm", "department": "d", "kind": "immediate", "intake_minutes": 5, "inspection": insp},
            {"id": "tol", "department": "d", "kind": "immediate", "intake_minutes": 5, "inspection": insp, **gap},
            {"id": "late", "department": "d", "kind": "immediate", "intake_minutes": 5, "inspection": insp, **gap,
             "decide_before_supplement": True},
            {"id": "bo", "department": "d", "kind": "back_office", "intake_minutes": 5, "inspection": insp,
             "result_delivery": "electronic", "steps": [{"role": "clerk", "minutes": 600}]},
        ],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["imm", "tol", "late", "bo"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": 50}, "flow": [{"items": ["imm", "tol", "late", "bo"]}]}],
        applicants={"fix_calendar_days": 0.25},
        run={"horizon_working_days": 2},
    )
    rep = simulate(s, seed=303, trace=True)
    c = _done(rep)
    assert len(c) > 60
    np.testing.assert_allclose(_lead_minutes(c), 20 + 600, atol=1e-6)
    tr = rep.trace
    accepted = tr[tr["kind"] == "intake"].set_index("case")["end_minute"]
    ins = tr[tr["kind"] == "inspection"]
    assert (ins["resource"] == "audit.inspector").all()
    for item, after in (("imm", 0.0), ("tol", 360.0), ("late", 0.0), ("bo", 600.0)):
        rows = ins[ins["activity"] == f"inspection:{item}"].set_index("case")
        assert sorted(rows.index) == sorted(accepted.index), item
        np.testing.assert_allclose(rows["enabled_minute"] - accepted.loc[rows.index], after, atol=1e-6, err_msg=item)


def test_inspection_draws_of_two_case_types_are_independent():
    """Two case types apply for the same item, inspected with share 0.5.  Draws that
    belong to a case are fixed by (case type, case number, item, attempt)
    (docs/model.md, Randomness), so pairing the k-th case of one type with the k-th
    of the other, their inspections agree with probability 0.5^2 + 0.5^2 = 0.5.
    n ~ 2000 pairs: band +-0.037."""
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"inspector": HUGE}}],
        items=[{"id": "x", "department": "d", "kind": "immediate", "intake_minutes": 10,
                "inspection": {"share": 0.5, "role": "inspector", "minutes": 30}}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["x"]}],
        case_types=[
            {"id": "a", "arrivals": {"per_day": 500}, "flow": [{"item": "x"}]},
            {"id": "b", "arrivals": {"per_day": 500}, "flow": [{"item": "x"}]},
        ],
        run={"horizon_working_days": 4},  # no warm-up: the k-th row of a type is its case k
    )
    rep = simulate(s, seed=304, trace=True)
    c = _done(rep)
    inspected = _kinds_by_case(rep.trace, "inspection")
    flags = {
        ct: c[c["case_type"] == ct].sort_values("arrival_minute")["case"].isin(inspected).to_numpy()
        for ct in ("a", "b")
    }
    n = min(len(flags["a"]), len(flags["b"]))
    assert n > 1800
    binomial_check(int(flags["a"].sum()), len(flags["a"]), 0.5, what="inspected share, type a")
    binomial_check(int((flags["a"][:n] == flags["b"][:n]).sum()), n, 0.5, what="agreement of case k of a and b")


# =====================================================================================
# 4. The assisted channel (帮办代办)
# =====================================================================================
AGENCY = {"incomplete_factor": 0.25, "fix_factor": 0.5, "applicant_trips": 2}


def _channel_scenario(channels, *, per_day=2000.0, days=5.0):
    """Immediate item, intake 10 min, gap probability 0.8 (fixed once, repeat factor 0),
    fix 1 calendar day, 30 min from home to the hall, ample positions."""
    s = scenario(
        items=[{"id": "x", "department": "d", "kind": "immediate", "intake_minutes": 10, "incomplete_probability": 0.8}],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["x"]}],
        case_types=[{"id": "c", "arrivals": {"per_day": per_day}, "channels": channels, "flow": [{"item": "x"}]}],
        applicants={"fix_calendar_days": 1, "repeat_incomplete_factor": 0.0, "abandon_probability": [0.0]},
        travel={"from_home_minutes": 30},
        run={"horizon_working_days": days},
    )
    return s.evolve(agency=AGENCY)


def test_assisted_channel_trips_visits_gaps_and_fix_time():
    """Channels counter 0.5 / online 0.2 / assisted 0.3, agency: incomplete_factor
    0.25, fix_factor 0.5, applicant_trips 2.  Per case, exactly:

    * counter: one trip (30 min travel) per attempt, lead 40 + r (1440 + 40);
    * assisted: the applicant's trips are 2 whatever happens, no travel; the agent
      still makes r + 1 window visits; the fix takes half as long:
      lead 10 + r (720 + 10);
    * online: no trips or visits, lead 10 + r (1440 + 10).

    Frequencies (n ~ 10k cases): channel shares (bands +-0.016, +-0.013,
    +-0.015); P(return) is 0.8 at the counter and online but 0.8 * 0.25 = 0.2 for
    assisted cases (band +-0.024 with ~3k assisted cases)."""
    shares = {"counter": 0.5, "online": 0.2, "assisted": 0.3}
    c = _done(simulate(_channel_scenario(shares), seed=401))
    n = len(c)
    assert n > 9_000
    for ch, p in shares.items():
        binomial_check(int((c["channel"] == ch).sum()), n, p, what=f"{ch} share")
    r = c["returns"].to_numpy()
    assert set(np.unique(r)) == {0, 1}
    lead = _lead_minutes(c)
    expected = {
        "counter": (40 + r * (DAY + 40), r + 1, r + 1, 30 * (r + 1), 0.8),
        "assisted": (10 + r * (DAY * 0.5 + 10), 2 + 0 * r, r + 1, 0 * r, 0.8 * 0.25),
        "online": (10 + r * (DAY + 10), 0 * r, 0 * r, 0 * r, 0.8),
    }
    for ch, (lead_x, trips_x, visits_x, travel_x, p_gap) in expected.items():
        sel = (c["channel"] == ch).to_numpy()
        np.testing.assert_allclose(lead[sel], lead_x[sel], atol=1e-6, err_msg=ch)
        np.testing.assert_array_equal(c["trips"].to_numpy()[sel], trips_x[sel], err_msg=ch)
        np.testing.assert_array_equal(c["window_visits"].to_numpy()[sel], visits_x[sel], err_msg=ch)
        np.testing.assert_allclose(c["travel_minutes"].to_numpy()[sel], travel_x[sel], atol=1e-9, err_msg=ch)
        binomial_check(int(r[sel].sum()), int(sel.sum()), p_gap, what=f"{ch}: P(return)")


def test_assisted_trips_on_the_fast_path_and_with_a_pickup():
    """Two journeys the engine runs differently: a single immediate item with no
    gaps and no travel (its fused fast path), and a back-office item picked up at
    the window.  An assisted case makes exactly applicant_trips = 2 trips in both,
    a counter case 1 and 2 (apply, pick up); both make one window visit (the
    application; a pickup is not counted as a window visit)."""
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        items=[
            {"id": "x", "department": "d", "kind": "immediate", "intake_minutes": 10},
            {"id": "y", "department": "d", "kind": "back_office", "intake_minutes": 10, "pickup_minutes": 5,
             "steps": [{"role": "clerk", "minutes": 60}]},
        ],
        windows=[{"id": "w", "site": "hall", "positions": HUGE, "items": ["x", "y"]}],
        case_types=[
            {"id": ct, "arrivals": {"per_day": 200}, "channels": {"counter": 0.5, "assisted": 0.5}, "flow": [{"item": ct}]}
            for ct in ("x", "y")
        ],
        run={"horizon_working_days": 2},
    ).evolve(agency=AGENCY)
    c = _done(simulate(s, seed=402))
    for ct, counter_trips, lead in (("x", 1, 10.0), ("y", 2, 10 + 60 + 5.0)):
        sub = c[c["case_type"] == ct]
        assert len(sub) > 300
        assisted = (sub["channel"] == "assisted").to_numpy()
        assert 0 < assisted.sum() < len(sub)
        assert (sub["trips"][assisted] == AGENCY["applicant_trips"]).all(), ct
        assert (sub["trips"][~assisted] == counter_trips).all(), ct
        assert (sub["window_visits"] == 1).all(), ct
        np.testing.assert_allclose(_lead_minutes(sub), lead, atol=1e-6, err_msg=ct)


def test_assisted_supplement_takes_the_agency_fix_time():
    """A tolerated gap of an assisted case is supplied by the agent in fix_factor
    (0.5) of the applicant's fixing time: lead 10 + 0.5 * 2880 = 1450 minutes
    against 10 + 2880 at the counter.  (p = 1 and incomplete_factor 1 so every
    assisted case has the gap.)"""
    s = _tolerance_scenario(1.0).evolve(agency={**AGENCY, "incomplete_factor": 1.0})
    data = s.to_dict()
    data["case_types"][0]["channels"] = {"counter": 0.5, "assisted": 0.5}
    c = _done(simulate(Scenario.from_dict(data), seed=404))
    assisted = (c["channel"] == "assisted").to_numpy()
    assert 50 < assisted.sum() < len(c) - 50
    np.testing.assert_allclose(_lead_minutes(c), np.where(assisted, 10 + DAY, 10 + 2 * DAY), atol=1e-6)
    assert (c["returns"] == 0).all()


def test_raising_the_assisted_share_moves_only_counter_cases():
    """One uniform u per case: u < online -> online, u < online + assisted ->
    assisted, else counter.  Under the same seed, going from assisted 0.1 to 0.4
    (online 0.3 both times) keeps the arrivals, keeps every online case online and
    every assisted case assisted, and moves counter cases only; the share moved is
    binomial with p = 0.3 (n ~ 10k, band +-0.015)."""
    before = simulate(_channel_scenario({"counter": 0.6, "online": 0.3, "assisted": 0.1}), seed=403).cases
    after = simulate(_channel_scenario({"counter": 0.3, "online": 0.3, "assisted": 0.4}), seed=403).cases
    before, after = before.set_index("case"), after.set_index("case")
    assert len(before) > 9_000
    assert before.index.equals(after.index)
    np.testing.assert_array_equal(before["arrival_minute"], after["arrival_minute"])
    b, a = before["channel"].astype(str), after["channel"].astype(str)
    assert ((b == "online") == (a == "online")).all()
    assert (a[b == "assisted"] == "assisted").all()
    assert (b[a == "counter"] == "counter").all()
    moved = (b == "counter") & (a == "assisted")
    binomial_check(int(moved.sum()), len(b), 0.3, what="moved counter -> assisted")


# =====================================================================================
# 5. Applications limited to named windows
# =====================================================================================
def test_windows_limit_where_an_application_is_made():
    """Windows w1 and w2 at the same site both accept x and y.  Left free, an
    applicant facing two empty windows takes w1 (the first of equals), so free
    cases mostly use w1.  Cases pinned to [w2] - a single item on the engine's
    fast path and a joint back-office application with a pickup on the general
    path - must have every intake and pickup at w2."""
    s = scenario(
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": HUGE}}],
        items=[
            {"id": "x", "department": "d", "kind": "immediate", "intake_minutes": 10},
            {"id": "y", "department": "d", "kind": "back_office", "intake_minutes": 5, "pickup_minutes": 2,
             "steps": [{"role": "clerk", "minutes": 30}]},
        ],
        windows=[
            {"id": "w1", "site": "hall", "positions": 3, "items": ["x", "y"]},
            {"id": "w2", "site": "hall", "positions": 3, "items": ["x", "y"]},
        ],
        case_types=[
            {"id": "pinned_x", "arrivals": {"per_day": 100}, "flow": [{"item": "x", "windows": ["w2"]}]},
            {"id": "pinned_joint", "arrivals": {"per_day": 100}, "flow": [{"items": ["x", "y"], "windows": ["w2"]}]},
            {"id": "free", "arrivals": {"per_day": 100}, "flow": [{"item": "x"}]},
        ],
        run={"horizon_working_days": 3},
    )
    rep = simulate(s, seed=501, trace=True)
    tr = rep.trace
    at_window = tr[tr["kind"].isin(["intake", "pickup"])]
    assert len(at_window[at_window["kind"] == "pickup"]) > 250
    by_type = at_window.groupby(at_window["case_type"].astype(str))["resource"]
    assert set(by_type.get_group("pinned_x")) == {"w2"}
    assert set(by_type.get_group("pinned_joint")) == {"w2"}
    free = by_type.get_group("free")
    assert (free == "w1").mean() > 0.5  # the control: unpinned cases do use w1

    # only pinned cases: w1 is never used at all
    only_pinned = s.evolve(case_types=[ct for ct in s.to_dict()["case_types"] if ct["id"] != "free"])
    st = simulate(only_pinned, seed=501).stations.set_index("station")
    assert st.loc["w1", "visits_per_day"] == 0 and st.loc["w1", "utilisation"] == 0
    assert st.loc["w2", "visits_per_day"] > 250  # ~100 + 2 * 100 visits per day


# =====================================================================================
# 6. Choices sharing a draw
# =====================================================================================
def test_choices_with_the_same_draw_agree():
    """Four choices in one flow, each over three branches (0.2, 0.5, 0.3) ending
    in an external named after (choice, branch): ``p`` and ``q`` share the draw
    ``park``; ``r`` has no draw; ``s`` draws ``other``.  Every case must take the
    same branch at p and q.  Independent choices agree with probability
    0.2^2 + 0.5^2 + 0.3^2 = 0.38 (p vs r, p vs s), and each branch of p has its
    probability.  n ~ 5k: bands +-0.022 or less; identical draws for r or s would
    give agreement 1."""
    probs = (0.2, 0.5, 0.3)

    def choice(name, draw=None):
        node = {"id": name, "choice": [{"probability": pr, "flow": {"external": f"{name}{k}"}} for k, pr in enumerate(probs)]}
        if draw:
            node["draw"] = draw
        return node

    s = scenario(
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": f"{name}{k}", "duration_working_days": 0.01}
            for name in "pqrs"
            for k in range(3)
        ],
        case_types=[
            {
                "id": "project",
                "arrivals": {"per_day": 1000},
                # q sits in a parallel branch, after r, so it is not next to p in the flow
                "flow": [choice("p", "park"), {"parallel": [[choice("r"), choice("q", "park")], choice("s", "other")]}],
            }
        ],
        run={"horizon_working_days": 5},
    )
    rep = simulate(s, seed=601, trace=True)
    c = _done(rep)
    tr = rep.trace
    tr = tr[tr["case"].isin(c["case"])]
    branch = pd.DataFrame(
        {"case": tr["case"], "choice": tr["activity"].str[0], "branch": tr["activity"].str[1].astype(int)}
    ).pivot(index="case", columns="choice", values="branch")
    n = len(branch)
    assert n == len(c) > 4_500 and branch.notna().all().all()
    assert (branch["p"] == branch["q"]).all()
    for k, pr in enumerate(probs):
        binomial_check(int((branch["p"] == k).sum()), n, pr, what=f"branch {k} of the shared draw")
    agree = sum(pr**2 for pr in probs)
    binomial_check(int((branch["p"] == branch["r"]).sum()), n, agree, what="p vs r (no draw)")
    binomial_check(int((branch["p"] == branch["s"]).sum()), n, agree, what="p vs s (another draw)")


def test_two_choices_without_a_draw_disagree_at_the_independent_rate():
    """The same pair of 0.3/0.7 choices with and without a shared draw (lead time
    1 day if the first takes its 0.3 branch, 10 days if the second does): with the
    draw the lead is 0 or 11, never 1 or 10, and 11 has probability 0.3; without
    it they disagree in 2 * 0.3 * 0.7 = 0.42 of cases.  n ~ 5k: bands +-0.021."""

    def flow(draw):
        first = {"choice": [{"probability": 0.3, "flow": {"external": "d1"}}, {"probability": 0.7, "flow": []}]}
        second = {"choice": [{"probability": 0.3, "flow": {"external": "d10"}}, {"probability": 0.7, "flow": []}]}
        if draw:
            first["draw"] = second["draw"] = "in_park"
        return [first, second]

    def leads(draw):
        s = scenario(
            items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
            externals=[{"kind": "fixed_period", "id": f"d{k}", "duration_working_days": k} for k in (1, 10)],
            case_types=[{"id": "x", "arrivals": {"per_day": 1000}, "flow": flow(draw)}],
            run={"horizon_working_days": 5, "drain_working_days": 30},
        )
        return np.round(_done(simulate(s, seed=602))["lead_time_working_days"].to_numpy(), 9)

    shared = leads(True)
    assert set(np.unique(shared)) == {0.0, 11.0}
    binomial_check(int((shared == 11).sum()), len(shared), 0.3, what="both 0.3 branches")
    free = leads(False)
    assert set(np.unique(free)) == {0.0, 1.0, 10.0, 11.0}
    binomial_check(int(np.isin(free, [1.0, 10.0]).sum()), len(free), 2 * 0.3 * 0.7, what="disagreement")


# =====================================================================================
# Validation of the new fields
# =====================================================================================
def _base_data():
    return {
        "name": "v",
        "sites": [{"id": "hall"}],
        "departments": [{"id": "d", "site": "hall", "staff": {"clerk": 1}}],
        "windows": [
            {"id": "w1", "site": "hall", "items": ["a", "b"]},
            {"id": "w2", "site": "hall", "items": ["a"]},
        ],
        "items": [
            {"id": "a", "department": "d", "kind": "immediate", "intake_minutes": 5, "materials": 4},
            {"id": "b", "department": "d", "kind": "immediate", "intake_minutes": 5, "materials": 6},
        ],
        "case_types": [{"id": "c", "arrivals": {"per_day": 1}, "flow": [{"items": ["a", "b"]}]}],
    }


def _problems(mutate):
    data = _base_data()
    mutate(data)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    return [str(p) for p in err.value.problems]


def test_base_validation_data_is_valid():
    Scenario.from_dict(_base_data())
    data = _base_data()
    data["case_types"][0]["flow"] = [{"items": ["a", "b"], "shared_materials": 4, "windows": ["w1"]}]
    Scenario.from_dict(data)  # 4 = min(4, 6) may be shared


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda d: d["case_types"][0]["flow"][0].update(windows=["nope"]),
            "case_types[0].flow[0].windows[0]: no window with id 'nope'",
        ),
        (
            lambda d: d["case_types"][0]["flow"][0].update(windows=["w2"]),
            "case_types[0].flow[0].windows[0]: window 'w2' does not accept b",
        ),
        (
            lambda d: d["case_types"][0]["flow"][0].update(shared_materials=5),
            "case_types[0].flow[0].shared_materials: 5 shared materials, but the items ask for 4+6: "
            "at most 4 can be shared",
        ),
        (
            lambda d: d["case_types"][0]["flow"][0].update(shared_materials=-1),
            "case_types[0].flow[0].shared_materials: ",
        ),
        (lambda d: d["items"][0].update(tolerated_share=1.5), "items[0].tolerated_share: "),
        (
            lambda d: d["items"][0].update(inspection={"share": 0.2, "role": "auditor", "minutes": 60}),
            "items[0].inspection.role: department 'd' has no staff in role 'auditor' (its roles: clerk)",
        ),
        (
            lambda d: d["items"][0].update(inspection={"share": 1.2, "role": "clerk", "minutes": 60}),
            "items[0].inspection.share: ",
        ),
        (
            lambda d: d["case_types"][0].update(channels={"counter": 0.5, "online": 0.2, "assisted": 0.2}),
            "case_types[0].channels: counter + online + assisted must be 1 (got 0.9)",
        ),
        (lambda d: d.update(agency={"incomplete_factor": 1.5}), "agency.incomplete_factor: "),
        (lambda d: d.update(agency={"applicant_trips": -1}), "agency.applicant_trips: "),
        (
            lambda d: d["case_types"][0]["flow"].append({"choice": [{"probability": 1, "flow": []}], "draw": "in park"}),
            "case_types[0].flow[1].draw: an id may not contain spaces",
        ),
    ],
    ids=[
        "unknown-window",
        "window-refuses-item",
        "too-many-shared",
        "negative-shared",
        "tolerated-above-1",
        "inspection-role",
        "inspection-share",
        "channels-sum",
        "agency-factor",
        "agency-trips",
        "draw-id",
    ],
)
def test_new_fields_are_validated_with_their_path(mutate, expected):
    problems = _problems(mutate)
    assert any(p.startswith(expected) for p in problems), problems
