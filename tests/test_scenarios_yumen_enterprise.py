"""Yumen enterprise opening (seed 001): 5 serial steps / 3 working days before, within 4 hours after.

Each claim is checked on the measure it speaks of (DOMAIN.md, "How the reports count time"):

* "5个环节3个工作日" and "4小时办结" are 办结 times: from acceptance (受理) to decision, the
  government's time (``government_time_*``), not the firm's whole journey;
* the whole journey (lead time: queues, fixing gaps, supplements, pickups) is what the firm
  lives through; it is reported beside it and checked only where the files say something
  about it (the before file is calibrated to "3 working days" on it).

The pair is run with common random numbers (same seed, paired replications) on a shortened
horizon (30 working days, 4 replications, ~180 firms each; a few seconds).  Bounds are the
claims, checked against paired 95% CIs (Student t over replications); where a bound is not a
claim, its margin is stated next to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import load_scenario
from sim.calendar import clock_for
from sim.compare import compare
from sim.engine import simulate
from sim.loading import reform_plan
from sim.stats import mean_ci

BEFORE = "scenarios/yumen_enterprise_opening_before.yaml"
AFTER = "scenarios/yumen_enterprise_opening_after.yaml"
RUN = {"horizon_working_days": 30, "warmup_working_days": 3, "drain_working_days": 100, "replications": 4, "seed": 2025}
FIVE = ["company_registration", "seal_carving", "bank_account", "invoice_application", "social_insurance"]
NEED_THE_CODE = ["seal_carving", "bank_account", "invoice_application", "social_insurance"]
HOURS_PER_DAY = 7  # 08:30-12:00 + 14:30-18:00
SEED_BEFORE_DAYS = 3  # SEED 001: "5个环节3个工作日"
SEED_AFTER_HOURS = 4  # SEED 001: "4小时内办结"


@pytest.fixture(scope="module")
def runs():
    before = load_scenario(BEFORE).evolve(run=RUN)
    after = load_scenario(AFTER).evolve(run=RUN)
    results, t = compare([before, after])
    return results, t[t["scope"] == "all"].set_index(["index", "kpi"])


def per_replication(result, f):
    """f of each replication's completed cases (firms that gave up have no 办结)."""
    done = result.cases[result.cases["status"] == "completed"]
    return np.array([f(g) for _, g in done.groupby("replication")])


# -- the files -----------------------------------------------------------------------------


def test_after_file_applies_the_reforms_the_seed_names_under_the_shared_assumptions():
    _, plan = reform_plan(AFTER)
    names = [name for name, _ in plan]
    assert names == ["centralise", "one_window", "chief_representative", "tolerance_acceptance", "parallel_approval",
                     "fully_online", "electronic_certificates", "reduce_fees", "reduce_time_limits"]
    params = dict(plan)
    assert params["parallel_approval"]["items"] == FIVE  # SEED 001: the five steps run in parallel
    # shared assumption set: 80% of gaps tolerated, the decision waits for the supplement
    assert params["tolerance_acceptance"]["share_tolerated"] == 0.8
    assert not params["tolerance_acceptance"].get("decide_before_supplement", False)
    # the chief representative signs the government's items only, not the bank's account checks
    assert set(params["chief_representative"]["items"]) == {"company_registration", "seal_carving"}
    # SEED 001: 3 working days -> 4 hours: the declared cut 1 - (4/7)/3
    assert params["reduce_time_limits"]["share"] == pytest.approx(1 - (SEED_AFTER_HOURS / HOURS_PER_DAY) / SEED_BEFORE_DAYS, abs=0.005)


def test_four_results_need_the_licences_credit_code_and_the_bank_keeps_its_checks():
    before, after = load_scenario(BEFORE), load_scenario(AFTER)
    for s in (before, after):
        for item in NEED_THE_CODE:  # 统一社会信用代码: a fact of the world, in the before file
            assert s.item(item).issued_after == ("company_registration",), item
        assert s.item("company_registration").issued_after == ()
    bank = after.item("bank_account")
    assert bank.kind == "back_office" and [st.role for st in bank.steps] == ["account_manager"]
    assert after.item("company_registration").kind == after.item("seal_carving").kind == "immediate"
    # declared limits after the cut, whole days kept whole: registration 3 -> 1, seal 1 -> 0, bank 2 -> 0
    assert {i: after.item(i).promised_limit_days for i in FIVE} == {
        "company_registration": 1, "seal_carving": 0, "bank_account": 0, "invoice_application": 0, "social_insurance": 0}
    assert before.item("company_registration").promised_limit_days == SEED_BEFORE_DAYS
    assert all(not it.decide_before_supplement for it in after.items)


def test_no_result_that_needs_the_code_is_issued_before_the_licence():
    """Known answer of issued_after: in every firm, seal, account, invoices and insurance are decided
    no earlier than the licence, although all five are filed together and reviewed in parallel."""
    after = load_scenario(AFTER).evolve(run=RUN)
    items = simulate(after, seed=2025, replication=0).items
    decided = items.pivot_table(index="case", columns="item", values="decided_minute", observed=True)
    accepted = items.pivot_table(index="case", columns="item", values="accepted_minute", observed=True)
    decided, accepted = decided.dropna(), accepted.dropna()  # firms that gave up have fewer than five items
    assert len(decided) > 100
    for item in NEED_THE_CODE:
        assert (decided[item] >= decided["company_registration"] - 1e-9).all(), item
    # filed together: a firm whose papers are complete (no return) has all five accepted in one sitting
    returns = items.pivot_table(index="case", columns="item", values="returns", observed=True).loc[accepted.index]
    clean = accepted[(returns[FIVE] == 0).all(axis=1)][FIVE]
    clock = clock_for(after.calendar)
    working = clean.apply(lambda col: clock.working_array(col.to_numpy()))
    spread = working.max(axis=1) - working.min(axis=1)  # working minutes (a queue may run over a weekend)
    assert len(clean) > 100 and (spread < clock.day_minutes).all(), spread.max()


# -- paired runs ---------------------------------------------------------------------------


def test_before_is_calibrated_to_three_days_on_the_journey_not_on_government_time(runs):
    _, t = runs
    lead = t.loc[(0, "lead_time_working_days_mean")]
    # CALIBRATION, not evidence: the county values were chosen so that the journey takes about
    # the reported 3 days; returns for missing papers put the mean a little above (measured 3.8)
    assert 3.0 <= lead["ci_low"] and lead["ci_high"] <= 4.5
    assert t.loc[(0, "trips_mean"), "mean"] >= 5  # at least one trip per step
    # the like-for-like measure of "3个工作日" (办结 time) gives about half of it (measured 1.6):
    # on government time the calibrated before state does NOT reproduce the seed's before figure
    gov = t.loc[(0, "government_time_working_days_mean")]
    assert 1.0 <= gov["ci_low"] and gov["ci_high"] < SEED_BEFORE_DAYS * 0.8


def test_government_time_falls_but_four_hours_is_not_kept_for_every_firm(runs):
    results, t = runs
    gov = t.loc[(1, "government_time_working_hours_mean")]
    assert gov["diff_ci_high"] < 0 and gov["compression_ci_low"] > 0.25  # measured 45% [42%, 48%]
    # SEED 001 "确保企业开办4小时办结": the share of firms whose five items are all decided within
    # 4 working hours of acceptance.  Measured 72% [66%, 79%] (10 reps): a guarantee to every firm
    # is NOT reproduced.  The bank's one account manager (its checks stay with the bank) keeps the
    # rest longer; a wait for the licence while the licence waits for a tolerated supplement is the
    # applicant's time, not government time.
    within = per_replication(results[1], lambda c: (c["government_time_working_hours"] <= SEED_AFTER_HOURS).mean())
    m, lo, hi, _, _ = mean_ci(within)
    assert 0.5 <= lo and hi <= 0.9, (m, lo, hi)
    # the mean is close to the 4 hours (measured 3.75 [3.17, 4.34]): on the mean alone the claim
    # cannot be told apart from the model
    assert gov["ci_low"] < SEED_AFTER_HOURS + 1 and gov["ci_high"] > SEED_AFTER_HOURS - 1.5
    # before: (almost) no firm had its five items decided within 4 hours
    before = per_replication(results[0], lambda c: (c["government_time_working_hours"] <= SEED_AFTER_HOURS).mean())
    assert before.max() < 0.01


def test_the_firms_journey_is_longer_than_the_governments_time(runs):
    results, t = runs
    lead = t.loc[(1, "lead_time_working_hours_mean")]
    gov = t.loc[(1, "government_time_working_hours_mean")]
    # waiting for tolerated supplements and fixing returned papers are the firm's time
    assert lead["ci_low"] > gov["ci_high"]
    assert t.loc[(1, "lead_time_working_days_mean"), "compression_ci_low"] > 0.5  # measured 64%
    assert t.loc[(1, "at_most_one_trip_share"), "ci_low"] >= 0.85
    assert t.loc[(1, "fee_yuan_mean"), "mean"] == 0  # SEED 001: 零成本, free seals


def test_shorter_declared_limits_are_missed_by_the_bank_and_waiting_results(runs):
    results, t = runs
    on_time = t.loc[(1, "on_time_promised_rate")]
    # before the old limits were kept; after the cut to 1 day / the same day about a quarter of
    # the items miss it (measured 74% on time)
    assert t.loc[(0, "on_time_promised_rate"), "ci_low"] > 0.99
    assert on_time["diff_ci_high"] < 0 and on_time["ci_high"] < 0.95
    k = results[1].kpis
    bank = k[(k["scope"] == "item:bank_account") & (k["kpi"] == "on_time_promised_rate")]["value"].to_numpy()
    reg = k[(k["scope"] == "item:company_registration") & (k["kpi"] == "on_time_promised_rate")]["value"].to_numpy()
    assert bank.mean() < reg.mean()  # the bank's same-day promise is the one missed most
