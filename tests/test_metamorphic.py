"""Metamorphic tests: relations between runs that must hold whatever the exact answer.

* determinism: the same (scenario, seed, replication) gives identical tables;
  a different seed gives different ones;
* replication r does not depend on how many replications run;
* more staff never lengthens waiting under common random numbers: for one
  FIFO station every customer's wait is non-increasing in the number of
  servers (Kiefer-Wolfowitz recursion, path by path, so checked per customer
  and per replication with no tolerance); for the county scenario, where it
  need not hold path by path, the mean over replications must not grow;
* random streams are keyed by purpose: adding an unrelated case type does not
  move another case type's arrivals (nor, when it shares no resources, any of
  its results);
* ``to_dict`` / ``from_dict`` round-trips a scenario with the same content hash.

Apart from the county mean comparison these are exact (equality, or 1e-9).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import replication_values, scenario, single_station
from sim import Scenario, load_scenario, run, simulate

COUNTY = Path(__file__).resolve().parent.parent / "scenarios" / "county_before_reform.yaml"


@pytest.fixture(scope="module")
def county() -> Scenario:
    s = load_scenario(COUNTY)
    return s.evolve(run={**s.run.model_dump(), "horizon_working_days": 15, "warmup_working_days": 3})


TABLES = ("cases", "stations", "stations_by_hour", "kpis", "trace")


# -- determinism ----------------------------------------------------------------------------------
def test_same_seed_identical_tables(county):
    a = simulate(county, seed=7, replication=2, trace=True)
    b = simulate(county, seed=7, replication=2, trace=True)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    assert a.scenario_hash == b.scenario_hash == county.content_hash()


def test_different_seeds_or_replications_differ(county):
    a = simulate(county, seed=7)
    for other in (simulate(county, seed=8), simulate(county, seed=7, replication=1)):
        assert not a.cases["arrival_minute"].equals(other.cases["arrival_minute"])
        assert a.kpi("lead_time_working_days_mean") != other.kpi("lead_time_working_days_mean")


def test_replication_r_does_not_depend_on_the_number_of_replications(county):
    five = run(county, replications=5, seed=11)
    three = run(county, replications=3, seed=11)
    for name in ("kpis", "cases", "stations"):
        big = getattr(five, name)
        big = big[big["replication"] < 3].reset_index(drop=True)
        pd.testing.assert_frame_equal(big, getattr(three, name), check_exact=True, obj=name)
    # and each equals the stand-alone replication
    one = simulate(county, seed=11, replication=4)
    k = five.kpis[five.kpis["replication"] == 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(k, one.kpis, check_exact=True)
    # the summary mean is the mean of the replication values
    vals = replication_values(five, "queue_wait_minutes_mean")
    assert five.estimate("queue_wait_minutes_mean")[0] == pytest.approx(vals.mean(), rel=1e-12)


# -- more staff --------------------------------------------------------------------------------------
@pytest.mark.parametrize("replication", [0, 1, 2])
def test_more_positions_never_lengthen_any_wait_at_a_fifo_station(replication):
    """Same arrivals, same service times in arrival order (common random numbers),
    c = 1, 2, 3, 4 positions: each customer's wait is non-increasing in c."""
    service = {"dist": "lognormal", "mean": 1.8, "cv": 1.2}  # offered load 1.26 (c = 1 is overloaded)
    waits, means = [], []
    for c in (1, 2, 3, 4):
        s = single_station(service, rate_per_minute=0.7, customers=5_000, positions=c)
        rep = simulate(s, seed=21, replication=replication)
        cases = rep.cases.sort_values("case")
        waits.append(cases["window_wait_minutes"].to_numpy())
        means.append(rep.kpi("window_wait_minutes_mean"))
        # the same customers arrived at the same times in every variant
        if c > 1:
            assert len(waits[-1]) == len(waits[0])
    for c in range(1, 4):
        assert (waits[c] <= waits[c - 1] + 1e-9).all(), f"{c + 1} positions lengthened a wait"
        assert means[c] <= means[c - 1]
        assert (waits[c] < waits[c - 1] - 1e-9).any()  # and it does help someone
    assert means[-1] < means[0]


def _more_staff(s: Scenario) -> Scenario:
    d = s.to_dict()
    for w in d["windows"]:
        w["positions"] += 1
    for dep in d["departments"]:
        dep["staff"] = {role: n + 1 for role, n in dep["staff"].items()}
    return Scenario.from_dict(d)


def test_more_staff_does_not_lengthen_mean_waiting_in_the_county(county):
    """One more position at every window and one more person in every role,
    same seeds (common random numbers): the mean waits over 5 replications
    do not grow (in a network with returns and parallel paths this need not
    hold path by path, so it is checked on the mean)."""
    base = run(county, replications=5, seed=31)
    more = run(_more_staff(county), replications=5, seed=31)
    for kpi in ("queue_wait_minutes_mean", "window_wait_minutes_mean", "back_office_wait_minutes_mean"):
        b, m = base.estimate(kpi)[0], more.estimate(kpi)[0]
        assert m <= b, (kpi, b, m)
    assert more.estimate("queue_wait_minutes_mean")[0] < 0.8 * base.estimate("queue_wait_minutes_mean")[0]
    for ct in county.case_types:
        scope = f"case_type:{ct.id}"
        assert more.estimate("queue_wait_minutes_mean", scope)[0] <= base.estimate("queue_wait_minutes_mean", scope)[0]
    # the arrivals were common: same number of cases in every replication
    np.testing.assert_array_equal(replication_values(base, "cases"), replication_values(more, "cases"))


# -- streams keyed by purpose ----------------------------------------------------------------------
def _arrivals_by_type(rep) -> dict[str, np.ndarray]:
    c = rep.cases
    return {ct: np.sort(c.loc[c["case_type"] == ct, "arrival_minute"].to_numpy()) for ct in c["case_type"].cat.categories}


def test_adding_a_case_type_does_not_move_other_arrivals(county):
    d = county.to_dict()
    d["case_types"].insert(0, {"id": "newcomer", "arrivals": {"per_day": 25}, "flow": [{"item": "deed_tax"}]})
    bigger = Scenario.from_dict(d)
    a, b = simulate(county, seed=41), simulate(bigger, seed=41)
    arr_a, arr_b = _arrivals_by_type(a), _arrivals_by_type(b)
    assert len(arr_b["newcomer"]) > 100
    for ct in arr_a:
        np.testing.assert_array_equal(arr_a[ct], arr_b[ct], err_msg=ct)


def test_an_unrelated_case_type_with_its_own_resources_changes_nothing_else(county):
    """A new case type at a new site, window and department shares no resource:
    every other case's record (apart from its id, a shared counter) and every
    other station's statistics are unchanged."""
    d = county.to_dict()
    d["sites"].append({"id": "annex"})
    d["departments"].append({"id": "archive", "site": "annex", "staff": {"clerk": 1}})
    d["windows"].append({"id": "archive_window", "site": "annex", "items": ["archive_copy"]})
    d["items"].append(
        {
            "id": "archive_copy",
            "department": "archive",
            "kind": "back_office",
            "intake_minutes": {"dist": "exponential", "mean": 10},
            "incomplete_probability": 0.2,
            "steps": [{"role": "clerk", "minutes": {"dist": "exponential", "mean": 20}}],
        }
    )
    d["case_types"].append({"id": "archive", "arrivals": {"per_day": 10}, "flow": [{"item": "archive_copy"}]})
    bigger = Scenario.from_dict(d)
    a, b = simulate(county, seed=42), simulate(bigger, seed=42)

    def key(c):
        c = c[c["case_type"] != "archive"].drop(columns=["case"]).copy()
        c["case_type"] = c["case_type"].astype(str)
        return c.sort_values(["arrival_minute"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(key(a.cases), key(b.cases), check_exact=True)
    st_b = b.stations[~b.stations["station"].isin(["archive_window", "archive.clerk"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(a.stations, st_b, check_exact=True)


# -- serialisation ---------------------------------------------------------------------------------
def _every_feature() -> Scenario:
    return scenario(
        calendar={"start_date": "2025-03-03", "office_hours": ["08:30-12:00", "14:30-18:00"], "holidays": ["2025-04-04"], "extra_working_days": ["2025-04-27"]},
        sites=[{"id": "hall", "from_home_minutes": 15}, {"id": "annex"}],
        travel={"default_minutes": 10, "from_home_minutes": 20, "routes": [{"between": ["hall", "annex"], "minutes": 5}]},
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 2, "chief": 1}}],
        windows=[{"id": "w", "site": "hall", "positions": 2, "items": ["a", "b"]}, {"id": "w2", "site": "annex", "items": ["b"]}],
        items=[
            {
                "id": "a",
                "department": "d",
                "kind": "back_office",
                "intake_minutes": {"dist": "triangular", "low": 5, "mode": 10, "high": 20},
                "handoff": {"to_back_office_minutes": {"dist": "uniform", "low": 0, "high": 60}},
                "steps": [
                    {"id": "check", "role": "clerk", "minutes": {"dist": "gamma", "mean": 30, "cv": 0.5}},
                    {"role": "chief", "minutes": {"dist": "empirical", "values": [5, 10, 20], "weights": [1, 2, 1]}},
                ],
                "statutory_limit_days": 10,
                "promised_limit_days": 2.5,
                "incomplete_probability": 0.1,
                "fee_yuan": 50,
                "result_delivery": "mail",
            },
            {"id": "b", "department": "d", "kind": "immediate", "intake_minutes": {"dist": "lognormal", "mean": 8, "cv": 0.3}},
        ],
        externals=[
            {"kind": "intermediary", "id": "report", "capacity": 2, "duration_calendar_days": {"dist": "exponential", "mean": 5}},
            {"kind": "fixed_period", "id": "notice", "duration_working_days": 5},
            {"kind": "meeting", "id": "panel", "every_working_days": 5, "at": "09:30", "capacity_per_sitting": 3},
        ],
        case_types=[
            {
                "id": "x",
                "arrivals": {"per_hour": 1.5, "hourly_profile": {9: 2.0, 15: 0.5}, "day_to_day_cv": 0.2},
                "channels": {"counter": 0.7, "online": 0.3},
                "target_working_days": 20,
                "applicants": {"fix_working_days": 1, "abandon_probability": [0.1, 0.3]},
                "flow": [
                    {"id": "first", "items": ["a", "b"]},
                    {"parallel": [{"external": "report"}, {"choice": [{"probability": 0.3, "flow": {"external": "notice"}}, {"probability": 0.7, "flow": []}]}]},
                    {"external": "panel", "after": ["notice"]},
                ],
            }
        ],
        run={"horizon_working_days": 5, "warmup_working_days": 1, "replications": 3, "seed": 9},
    )


@pytest.mark.parametrize("which", ["county", "every_feature"])
def test_round_trip_to_dict_from_dict_keeps_the_content_hash(which, county):
    s = load_scenario(COUNTY) if which == "county" else _every_feature()
    d = s.to_dict()
    again = Scenario.from_dict(d)
    assert again == s
    assert again.content_hash() == s.content_hash()
    assert again.to_dict() == d
    # through JSON text too (what a web form or a results file would store)
    via_json = Scenario.from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
    assert via_json.content_hash() == s.content_hash()
    # the hash does see content changes
    d2 = json.loads(json.dumps(d))
    d2["windows"][0]["positions"] += 1
    assert Scenario.from_dict(d2).content_hash() != s.content_hash()


def test_round_tripped_scenario_simulates_identically():
    s = _every_feature()
    again = Scenario.from_dict(json.loads(json.dumps(s.to_dict())))
    a, b = simulate(s, seed=5, trace=True), simulate(again, seed=5, trace=True)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    assert len(a.cases) > 20
