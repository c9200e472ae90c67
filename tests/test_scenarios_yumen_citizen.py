"""Yumen citizen centre (市民中心) and the 一件事一次办 restaurant bundle (seeds 000, 001).

Two before/after pairs:

* ``yumen_citizen_centre_*``: 10 scattered sub-centres -> one hall; chief
  representatives; cross-authorisation of 5 low-volume departments' 21 items;
  tolerance acceptance; township centres.  Claims: one hall with 9 zones, 5
  departments / 21 items cross-authorised, 92% of items done in one trip (seed
  000, a share of *items*), 94.80% of cases online (seed 001, a further reform).
* ``yumen_one_thing_bundle_*``: opening a restaurant as five separate
  applications -> one thing done once.  Claims: materials -14.2% (an *input* of
  the reform, so true by construction), average time limits -45.6% (an
  *output*: compared with the simulated lead time).

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
from sim.flow import Apply, walk
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
                                    "tolerance_acceptance", "decentralise", "mail_delivery"]
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
    for kpi in ("trips_mean", "travel_minutes_mean", "lead_time_working_days_mean", "returns_mean"):
        diff = values(after, kpi) - values(before, kpi)
        _, _, hi, _, n = mean_ci(diff)
        assert n == CITIZEN_RUN["replications"] and (diff < 0).all() and hi < 0, kpi
    # compression of lead time: the full run gives 35.2% [34.7%, 35.6%]; a short run must agree
    ratio = 1 - values(after, "lead_time_working_days_mean") / values(before, "lead_time_working_days_mean")
    m, lo, hi, _, _ = mean_ci(ratio)
    assert 0.28 <= lo and hi <= 0.42, (m, lo, hi)


def test_citizen_at_most_one_trip_share_reaches_92_percent_of_cases(citizen_runs):
    """The case-level share rises from ~57% to ~93%: seed 000's 92% (stated for items) holds for cases.

    It takes the free mailing of results (seed 001, EMS): without it property
    transfers and chronic-disease claims still pick up a result and the share
    is ~84%.  The rest fall short because 20% of gaps are still returned and
    dependent journeys wait for tolerated supplements.
    """
    before, after, _ = citizen_runs
    b = mean_ci(values(before, "at_most_one_trip_share"))
    a = mean_ci(values(after, "at_most_one_trip_share"))
    assert b[2] < 0.65
    assert a[1] <= SEED_ONE_TRIP_ITEMS <= a[2] + 0.01, a  # the claim inside the CI (1 point of slack for the short run)


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
    assert cb["trips"].min() >= 5  # apply, then one pickup per back-office item, next application on the way
    assert ca["trips"].min() == 2 and ca["window_visits"].min() == 1  # one visit, one pickup
    scope = "case_type:restaurant_opening"
    for kpi in ("trips_mean", "returns_mean", "window_wait_minutes_mean"):
        diff = values(after, kpi, scope) - values(before, kpi, scope)
        assert mean_ci(diff)[2] < 0, kpi


def test_bundle_lead_time_cut_is_close_to_the_claimed_45_6_percent(bundle_runs):
    """Simulated lead time vs SEED 001's average time-limit cut of 45.6%.

    The claim is about promised limits averaged over 103 items, the model's
    figure is the lead time of one bundle, so they need not agree exactly:
    the full run (10 replications, 120 days) gives 43.8% [42.4%, 45.1%], about
    2 points short of the claim.  Accepted: within 4 points of the claim,
    beyond the paired 95% CI of this shorter run.
    """
    before, after = bundle_runs
    scope = "case_type:restaurant_opening"
    b = values(before, "lead_time_working_days_mean", scope)
    a = values(after, "lead_time_working_days_mean", scope)
    assert (a < b).all()
    m, lo, hi, _, _ = mean_ci(1 - a / b)
    assert hi - lo < 0.08, "run too short to compare with the claim"
    assert lo - 0.04 <= SEED_TIME_LIMIT_CUT <= hi + 0.04, (m, lo, hi)
