"""Yumen citizen centre (市民中心) and the 一件事一次办 restaurant bundle (seeds 000, 001).

Two before/after pairs:

* ``yumen_citizen_centre_*``: 10 scattered sub-centres -> one hall; chief
  representatives; cross-authorisation of 5 low-volume departments' 21 items;
  tolerance acceptance; township centres; free mailing; limits cut by 74%.
  Claims: one hall with 9 zones, 5 departments / 21 items cross-authorised, 92%
  of items done in one trip (seed 000, a share of catalogue *items* 事项, each
  counted once: ``items_at_most_one_trip_share``; the share of *cases* 办件 is
  reported beside it), limits 74% shorter (seed 000: are they kept?), 94.80% of
  cases online (seed 001, a further reform).
* ``yumen_one_thing_bundle_*``: opening a restaurant as separate applications
  (the licence first, the four others together) -> one thing done once.
  Claims: materials -14.2% (an *input* of the reform, so true by construction),
  average time limits -45.6% (declared limits: checked as arithmetic on the
  files' limits, whether the bundle keeps them, and against the simulated
  government time 受理->办结, the measure a 办理 time speaks of; the owner's lead
  time is reported beside it).

Pairs run with common random numbers (same seed, paired replications) on
shortened horizons; bands come from the paired 95% CIs (Student t over
replications) plus, where a seed figure is compared with a model output, a
stated modelling tolerance.  The full-length numbers are in the files' headers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import load_scenario
from sim.compare import compare
from sim.flow import Apply, Parallel, walk
from sim.loading import reform_plan
from sim.reforms import apply_reform
from sim.stats import mean_ci

CITIZEN_BEFORE = "scenarios/yumen_citizen_centre_before.yaml"
CITIZEN_AFTER = "scenarios/yumen_citizen_centre_after.yaml"
BUNDLE_BEFORE = "scenarios/yumen_one_thing_bundle_before.yaml"
BUNDLE_AFTER = "scenarios/yumen_one_thing_bundle_after.yaml"

HALL = "yumen_citizen_centre"
LOW_VOLUME = {  # SEED 001: 5 departments, 21 items, to windows of similar function (pairing: the file's ASSUMPTION)
    "veterans": "hrss_window",
    "disabled": "civil_window",
    "archives": "civil_window",
    "health": "medins_window",
    "forestry": "property_window",
}
BUNDLE_ITEMS = ["business_licence", "tax_registration", "food_licence", "fire_check", "signboard"]
SEED_MATERIALS_CUT = 0.142  # SEED 001: 办事材料压减14.2%
SEED_TIME_LIMIT_CUT = 0.456  # SEED 001: 平均办理时限压减45.6%
SEED_ONE_TRIP_ITEMS = 0.92  # SEED 000: 92%的事项实现了跑一次办结
SEED_ONLINE_SHARE = 0.948  # SEED 001: 线上办件占比94.80%
SEED_LIMIT_CUT = 0.74  # SEED 000: 审批时限较改革前压缩74%

# shortened runs: a few paired replications are enough for the directions and bands below
CITIZEN_RUN = {"horizon_working_days": 12, "warmup_working_days": 3, "drain_working_days": 100,
               "replications": 4, "seed": 2017}
BUNDLE_RUN = {"horizon_working_days": 60, "warmup_working_days": 5, "drain_working_days": 100,
              "replications": 5, "seed": 2024}


def values(result, kpi: str, scope: str = "all") -> np.ndarray:
    k = result.kpis
    sub = k[(k["scope"] == scope) & (k["kpi"] == kpi)].sort_values("replication")
    return sub["value"].to_numpy(dtype=float)


def one_trip_by_design(scenario) -> float:
    """Share of items whose result needs no pickup trip (decided at the window, mailed or electronic)."""
    ok = [it for it in scenario.items if it.kind == "immediate" or it.result_delivery != "pickup"]
    return len(ok) / len(scenario.items)


@pytest.fixture(scope="module")
def citizen():
    return load_scenario(CITIZEN_BEFORE), load_scenario(CITIZEN_AFTER)


@pytest.fixture(scope="module")
def bundle():
    return load_scenario(BUNDLE_BEFORE), load_scenario(BUNDLE_AFTER)


@pytest.fixture(scope="module")
def citizen_runs(citizen):
    before, after = (s.evolve(run=CITIZEN_RUN) for s in citizen)
    online = apply_reform(after, "fully_online", online_share=SEED_ONLINE_SHARE)
    results, _ = compare([before, after, online])
    return results


@pytest.fixture(scope="module")
def bundle_runs(bundle):
    before, after = (s.evolve(run=BUNDLE_RUN) for s in bundle)
    results, _ = compare([before, after])
    return results


# -- the files -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CITIZEN_BEFORE, CITIZEN_AFTER, BUNDLE_BEFORE, BUNDLE_AFTER])
def test_files_validate_with_the_county_calendar(path):
    s = load_scenario(path)
    county = load_scenario("scenarios/county_before_reform.yaml")
    assert s.calendar == county.calendar
    assert s.run.replications >= 5 and s.run.horizon_working_days >= 30


def test_citizen_before_has_ten_scattered_sub_centres(citizen):
    before, _ = citizen
    sites = {w.site for w in before.windows}
    assert len(before.sites) == 10 and sites == {x.id for x in before.sites}  # SEED 001: 10 分中心
    # the five low-volume departments own 21 items and one idle one-position window each
    owned = [it.id for it in before.items if it.department in LOW_VOLUME]
    assert len(owned) == 21
    own_windows = [w for w in before.windows if set(w.items) <= set(owned)]
    assert len(own_windows) == 5 and all(w.positions == 1 for w in own_windows)
    # windows act as mail rooms: most back-office items hand papers to a back office and need a pickup
    back = [it for it in before.items if it.kind == "back_office"]
    assert len(back) >= 20 and all(it.steps for it in back)


def test_citizen_after_applies_the_reforms_of_seed_001(citizen):
    before, after = citizen
    _, plan = reform_plan(CITIZEN_AFTER)
    assert [n for n, _ in plan] == ["centralise", "chief_representative", "cross_authorisation",
                                    "tolerance_acceptance", "decentralise", "mail_delivery", "reduce_time_limits"]
    params = [p for _, p in plan]
    # shared assumption set: 80% of gaps tolerated, the result waits for the supplement
    assert params[3]["share_tolerated"] == 0.8 and not params[3].get("decide_before_supplement", False)
    assert params[6]["share"] == SEED_LIMIT_CUT
    # declared limits 74% shorter, whole days kept whole (the engine's rounding): 5 -> 1, 10 -> 3, 20 -> 5
    for it in before.items:
        if it.promised_limit_days is not None:
            assert after.item(it.id).promised_limit_days == math.floor(it.promised_limit_days * (1 - SEED_LIMIT_CUT) + 0.5), it.id
    # one hall: every window except the township centres' is in the citizen centre, 9 groups (zones)
    hall = [w for w in after.windows if w.site == HALL]
    assert {w.site for w in after.windows} == {HALL, "township_centres"}
    assert len(hall) == 9  # SEED 001: 9 service zones
    # cross-authorisation: the 21 items are accepted and decided at the host windows
    host_items = {w.id: set(w.items) for w in after.windows}
    for dept, host in LOW_VOLUME.items():
        items = [it for it in after.items if it.department == dept]
        assert items and {it.id for it in items} <= host_items[host], dept
        assert all(it.kind == "immediate" and not it.steps for it in items), dept
        assert not any(set(w.items) <= {it.id for it in items} for w in after.windows), f"{dept} kept a window"
    # the low-volume departments' positions were freed; the main windows kept theirs
    main = sum(w.positions for w in before.windows if not set(w.items) & {it.id for it in before.items if it.department in LOW_VOLUME})
    assert sum(w.positions for w in hall) == main == 24
    # chief representatives: only the two kept technical steps remain in any back office
    kept = {(it.id, st.key) for it in after.items for st in it.steps}
    assert kept == {("chronic_disease_cert", "expert_review"), ("property_registration", "certificate")}


def test_citizen_share_of_items_done_in_one_trip_by_design(citizen):
    """SEED 000: 92% of items (事项) 跑一次办结: a property of the item catalogue, not of cases."""
    before, after = citizen
    assert one_trip_by_design(before) == pytest.approx(23 / 40)
    assert one_trip_by_design(after) == pytest.approx(40 / 40)  # free mailing: no item needs a pickup trip
    assert one_trip_by_design(after) >= SEED_ONE_TRIP_ITEMS


# -- citizen centre: paired runs ---------------------------------------------------------------


def test_citizen_trips_travel_and_lead_time_fall_in_every_replication(citizen_runs):
    before, after, _ = citizen_runs
    for kpi in ("trips_mean", "travel_minutes_mean", "lead_time_working_days_mean", "returns_mean",
                "government_time_working_days_mean"):
        diff = values(after, kpi) - values(before, kpi)
        _, _, hi, _, n = mean_ci(diff)
        assert n == CITIZEN_RUN["replications"] and (diff < 0).all() and hi < 0, kpi
    # paired compression; the full run (8 reps, 40 days) gives lead time 35.4% [34.5%, 36.4%] and
    # government time 77.5% [77.4%, 77.7%]; a short run must agree within a few points
    for kpi, (low, high) in (("lead_time_working_days_mean", (0.28, 0.42)), ("government_time_working_days_mean", (0.70, 0.85))):
        ratio = 1 - values(after, kpi) / values(before, kpi)
        m, lo, hi, _, _ = mean_ci(ratio)
        assert low <= lo and hi <= high, (kpi, m, lo, hi)
    # the applicant's side hardly moves: the day in the post and waits for supplements replace pickups
    lead = values(after, "lead_time_working_days_mean")
    gov = values(after, "government_time_working_days_mean")
    assert (lead > 4 * gov).all()


def test_citizen_92_percent_of_items_in_one_trip_counted_over_items(citizen_runs):
    """SEED 000 "92%的事项实现了跑一次办结": a share of catalogue ITEMS (事项), each counted once.

    items_at_most_one_trip_share: the share of items whose median application
    takes at most one trip.  Before 23 of 40 (57%), after 40 of 40 (all results
    posted or decided at the window): the claim holds, with room to spare (the
    model's 40 items are simple high-frequency ones, see the after file).
    """
    before, after, _ = citizen_runs
    b = mean_ci(values(before, "items_at_most_one_trip_share"))
    a = mean_ci(values(after, "items_at_most_one_trip_share"))
    assert 0.5 <= b[1] and b[2] < 0.65, b
    assert a[1] >= SEED_ONE_TRIP_ITEMS, a
    # the share counts the items applied for in the run: nearly all 40 in every replication of this
    # short run (a rare item may have no applicant in 12 working days)
    k = after.kpis
    seen = k[k["scope"].str.startswith("item:") & (k["kpi"] == "trips_per_application_mean")]
    assert seen.groupby("replication").size().min() >= 38


def test_citizen_share_of_cases_in_one_trip_is_reported_beside_it(citizen_runs):
    """The other reading, over CASES (办件, weighted by volume): ~57% -> ~93%.

    It takes the free mailing of results (seed 001, EMS): without it property
    transfers and chronic-disease claims still pick up a result and the share
    is ~84%.  The rest fall short because 20% of gaps are still returned and
    dependent journeys wait for tolerated supplements.
    """
    before, after, _ = citizen_runs
    b = mean_ci(values(before, "at_most_one_trip_share"))
    a = mean_ci(values(after, "at_most_one_trip_share"))
    assert b[2] < 0.65
    assert 0.90 <= a[1] and a[2] <= 0.96, a  # measured 92.9% [92.7%, 93.2%] with 8 reps, 40 days
    # the two readings differ: every item is a one-trip item, but not every case is a one-trip case
    assert mean_ci(values(after, "items_at_most_one_trip_share"))[1] > a[2]


def test_citizen_74_percent_shorter_limits_are_kept_on_government_time(citizen_runs):
    """SEED 000: limits 74% shorter than before.  On-time rates count government time (受理->办结)."""
    before, after, _ = citizen_runs
    assert mean_ci(values(before, "on_time_promised_rate"))[1] > 0.99
    assert mean_ci(values(after, "on_time_promised_rate"))[1] > 0.99  # measured 100%
    # SEED 001: property transfer "1个工作日办结" (stated for firms' property): government time within a day
    gov = mean_ci(values(after, "government_time_working_days_mean", "case_type:property_transfer"))
    assert gov[2] < 1.0, gov  # measured 0.59 [0.58, 0.60]


def test_citizen_idle_low_volume_windows_close_and_hosts_are_busier(citizen_runs):
    before, after, _ = citizen_runs
    for dept in LOW_VOLUME:
        u = values(before, "utilisation", f"station:{dept}_window")
        assert u.size and u.mean() < 0.3, dept  # one position, mostly idle (main windows: ~0.5)
        assert values(after, "utilisation", f"station:{dept}_window").size == 0  # window closed
    civil = values(after, "utilisation", "station:civil_window") - values(before, "utilisation", "station:civil_window")
    assert (civil > 0.1).all()  # hosts two departments' items now


def test_citizen_fully_online_as_a_further_reform(citizen_runs):
    """SEED 001: 94.80% of cases online.  Online cases make no trip, so the zero-trip share is the online share."""
    _, after, online = citizen_runs
    cases = online.cases
    n = len(cases)
    zero = float((cases["trips"] == 0).mean())
    band = 3.3 * math.sqrt(SEED_ONLINE_SHARE * (1 - SEED_ONLINE_SHARE) / n)  # 99.9% binomial band
    assert abs(zero - SEED_ONLINE_SHARE) <= band, (zero, band)
    # with 94.8% online, more than 92% of cases need at most one trip
    assert mean_ci(values(online, "at_most_one_trip_share"))[1] > SEED_ONE_TRIP_ITEMS
    assert (values(online, "travel_minutes_mean") < 0.1 * values(after, "travel_minutes_mean")).all()


# -- restaurant bundle -----------------------------------------------------------------------


def test_bundle_after_is_one_application_at_one_comprehensive_window(bundle):
    before, after = bundle
    ct_b = next(c for c in before.case_types if c.id == "restaurant_opening")
    ct_a = next(c for c in after.case_types if c.id == "restaurant_opening")
    apps_b = [n for n, _ in walk(ct_b.flow) if isinstance(n, Apply)]
    apps_a = [n for n, _ in walk(ct_a.flow) if isinstance(n, Apply)]
    assert [a.item_ids for a in apps_b] == [(i,) for i in BUNDLE_ITEMS]  # five separate applications
    # before: serial only where a dependency exists - the licence first, then the four others together
    first, rest = ct_b.flow.sequence
    assert isinstance(first, Apply) and first.item_ids == ("business_licence",)
    assert isinstance(rest, Parallel) and sorted(b.item_ids[0] for b in rest.parallel) == sorted(BUNDLE_ITEMS[1:])
    # the four results need the licence (its credit code): a fact in the before file
    for i in BUNDLE_ITEMS[1:]:
        assert before.item(i).issued_after == ("business_licence",), i
    (joint,) = apps_a
    assert sorted(joint.item_ids) == sorted(BUNDLE_ITEMS)
    assert joint.windows is None  # goes to the one window group that accepts all five
    (window,) = after.windows_for(BUNDLE_ITEMS)
    # the pooled comprehensive window (keeps the id market_window, see the after file)
    assert window.id == "market_window" and window.name.startswith("综合窗口") and window.positions == 6
    assert {w.id for w in after.windows} == {"market_window", "tax_window"}
    # one set of materials: round(0.142 x 28) = 4 handed in once (the seed's cut is the reform's input)
    total = sum(before.item(i).materials for i in BUNDLE_ITEMS)
    assert total == 28 and joint.shared_materials == round(SEED_MATERIALS_CUT * total) == 4
    assert dict(reform_plan(BUNDLE_AFTER)[1])["one_thing_done_once"]["shared_materials_share"] == SEED_MATERIALS_CUT


def test_bundle_materials_cut_is_14_2_percent_by_construction(bundle_runs):
    before, after = bundle_runs
    scope = "case_type:restaurant_opening"
    b, a = values(before, "materials_mean", scope), values(after, "materials_mean", scope)
    assert (b == 28).all() and (a == 24).all()  # no restaurant case gives up, so every case hands in all
    cut = 1 - a / b
    assert np.allclose(cut, 1 / 7)
    assert abs(cut.mean() - SEED_MATERIALS_CUT) <= 0.5 / 28  # only the rounding to whole materials


def test_bundle_trips_and_returns_fall(bundle_runs):
    before, after = bundle_runs
    cb = before.cases[before.cases["case_type"] == "restaurant_opening"]
    ca = after.cases[after.cases["case_type"] == "restaurant_opening"]
    # apply; pick up the licence and apply for the other four in the same visit; pick up three results
    # (two pickups fall on the same visit now and then)
    assert cb["trips"].min() >= 3 and cb["trips"].mean() > 5
    assert ca["trips"].min() == 2 and ca["window_visits"].min() == 1  # one visit, one pickup
    scope = "case_type:restaurant_opening"
    for kpi in ("trips_mean", "returns_mean", "window_wait_minutes_mean"):
        diff = values(after, kpi, scope) - values(before, kpi, scope)
        assert mean_ci(diff)[2] < 0, kpi


def test_bundle_declared_limits_are_cut_as_the_seed_states(bundle):
    """SEED 001 "平均办理时限压减45.6%" is a cut of declared limits, applied as stated to the five items.

    Whole-day limits stay whole (the engine's rounding), so the bundle's promises
    go 16 -> 10 working days: 37.5%, not 45.6%."""
    before, after = bundle
    plan = dict(reform_plan(BUNDLE_AFTER)[1])
    assert plan["reduce_time_limits"] == {"share": SEED_TIME_LIMIT_CUT, "items": BUNDLE_ITEMS}
    b = {i: before.item(i).promised_limit_days for i in BUNDLE_ITEMS}
    a = {i: after.item(i).promised_limit_days for i in BUNDLE_ITEMS}
    assert a == {i: math.floor(v * (1 - SEED_TIME_LIMIT_CUT) + 0.5) for i, v in b.items()}
    assert (sum(b.values()), sum(a.values())) == (16, 10)


def test_bundle_cuts_government_time_by_less_than_the_claim_and_lead_time_not_at_all(bundle_runs):
    """The simulated counterpart of a 办理 time is government time (受理 -> 办结).

    Full run (10 replications, 120 days): government time -25.4% [24.4%, 26.4%],
    lead time -1.1% [-3.7%, +1.6%].  Against a before state that is serial only
    where a dependency exists, the bundle does NOT reproduce -45.6% on government
    time and saves the owner no time at all; its gains are trips and returns.
    (The earlier serial before state gave -43.8% lead time: the assumption, not
    the bundle.)  Bands: the paired 95% CI of this shorter run must lie inside
    +-10 points around the full run's figure (three seeds gave 24%-30% and
    -5%..+4% for the interval ends).
    """
    before, after = bundle_runs
    scope = "case_type:restaurant_opening"
    gov = 1 - values(after, "government_time_working_days_mean", scope) / values(before, "government_time_working_days_mean", scope)
    m, lo, hi, _, _ = mean_ci(gov)
    assert 0.15 <= lo and hi <= 0.35, (m, lo, hi)
    assert hi < SEED_TIME_LIMIT_CUT  # not reproduced
    lead = 1 - values(after, "lead_time_working_days_mean", scope) / values(before, "lead_time_working_days_mean", scope)
    m, lo, hi, _, _ = mean_ci(lead)
    assert -0.10 <= lo and hi <= 0.10, (m, lo, hi)  # no lead-time gain either way
    # the shorter promises are kept for most items, not all (measured 97.0%)
    on_time = mean_ci(values(after, "on_time_promised_rate", scope))
    assert 0.9 <= on_time[1] and on_time[2] < 1.0, on_time
