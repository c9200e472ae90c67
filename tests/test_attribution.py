"""Shapley attribution: efficiency (values add up to the total) and hand-computable cases."""

import pytest

from sim import Scenario, load_scenario
from sim.attribution import shapley

SHORT = {"horizon_working_days": 8, "warmup_working_days": 1, "drain_working_days": 200, "replications": 2, "seed": 9}


@pytest.fixture(scope="module")
def base():
    return load_scenario("scenarios/county_before_reform.yaml").evolve(run=SHORT)


def test_values_add_up_to_the_total(base):
    reforms = [("centralise", {}), ("tolerance_acceptance", {"share_tolerated": 0.8}), ("chief_representative", {"items": ["property_registration"]})]
    t = shapley(base, reforms, kpi="lead_time_working_days_mean").set_index("reform")
    assert t.loc[["centralise", "tolerance_acceptance", "chief_representative"], "shapley_mean"].sum() == pytest.approx(t.loc["total", "shapley_mean"])
    assert t.loc["total", "shapley_mean"] < 0  # the package shortens lead time


def test_single_reform_gets_the_whole_change_and_null_reform_gets_nothing(base):
    # tolerance_acceptance with share 0 changes nothing: its Shapley value is exactly 0
    t = shapley(base, [("tolerance_acceptance", {"share_tolerated": 0.0}), ("centralise", {})], kpi="travel_minutes_mean").set_index("reform")
    assert t.loc["tolerance_acceptance", "shapley_mean"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["centralise", "shapley_mean"] == pytest.approx(t.loc["total", "shapley_mean"])


def test_sampled_permutations_also_add_up(base):
    reforms = [("centralise", {}), ("tolerance_acceptance", {"share_tolerated": 0.5})]
    t = shapley(base, reforms, kpi="trips_mean", exact_up_to=1, permutations=6).set_index("reform")
    assert t.loc[["centralise", "tolerance_acceptance"], "shapley_mean"].sum() == pytest.approx(t.loc["total", "shapley_mean"])
    # with two reforms every antithetic pair is both orders: sampling is exact and its error is 0
    exact = shapley(base, reforms, kpi="trips_mean").set_index("reform")
    assert t.loc["centralise", "shapley_mean"] == pytest.approx(exact.loc["centralise", "shapley_mean"])
    assert t.loc["centralise", "sampling_se"] == pytest.approx(0.0, abs=1e-12)
    assert t["method"].iloc[0] == "sampled (6 orders)" and exact["method"].iloc[0] == "exact"


def _two_reports(order: str) -> Scenario:
    """Two 20-working-day reports (in parallel or in sequence), then a 5-day permit; fixed times, ample staff."""
    reports = [{"external": "geology"}, {"external": "climate"}]
    flow = [{"parallel": reports}, {"item": "permit"}] if order == "parallel" else reports + [{"item": "permit"}]
    return Scenario.from_dict({
        "name": f"two reports in {order}", "sites": [{"id": "hall"}],
        "departments": [{"id": "d", "site": "hall", "staff": {"clerk": 100}}],
        "windows": [{"id": "w", "site": "hall", "positions": 50, "items": ["permit"]}],
        "items": [{"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 0,
                   "steps": [{"role": "clerk", "minutes": 5 * 1440}], "result_delivery": "electronic"}],
        "externals": [{"kind": "intermediary", "id": x, "duration_working_days": 20} for x in ("geology", "climate")],
        "case_types": [{"id": "project", "arrivals": {"per_day": 1}, "flow": flow}],
        "run": {"horizon_working_days": 20, "replications": 2, "seed": 4},
    })


@pytest.mark.parametrize("order, alone, last", [("parallel", 0.0, -20.0), ("serial", -20.0, -20.0)])
def test_hand_computed_shapley_values_of_two_reports(order, alone, last):
    """Reports in parallel: dropping one alone saves nothing, both save 20 days, so each gets -10.

    In series each saves 20 days whatever the other does: -20 each.  (Every
    time is fixed, so the values are exact.)
    """
    reforms = [("regional_assessment", {"externals": ["geology"]}), ("regional_assessment", {"externals": ["climate"]})]
    t = shapley(_two_reports(order), reforms).set_index("reform")
    expected = -10.0 if order == "parallel" else -20.0
    for r in ("regional_assessment[0]", "regional_assessment[1]"):
        assert t.loc[r, "shapley_mean"] == pytest.approx(expected)
        assert t.loc[r, "alone_mean"] == pytest.approx(alone)
        assert t.loc[r, "last_mean"] == pytest.approx(last)
    assert t.loc["total", "shapley_mean"] == pytest.approx(2 * expected)


def test_cli_attribute_json(tmp_path, capsys):
    import json

    from sim.cli import main

    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    (tmp_path / "base.yaml").write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 4"), encoding="utf-8")
    f = tmp_path / "after.yaml"
    f.write_text("base: base.yaml\nreforms:\n  - {reform: centralise}\n  - {reform: tolerance_acceptance}\n", encoding="utf-8")
    assert main(["attribute", str(f), "--kpi", "trips_mean", "--kpi", "returns_mean", "--reps", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["reform"] for r in out["reforms"]] == ["centralise", "tolerance_acceptance"]
    for kpi in ("trips_mean", "returns_mean"):
        rows = {r["reform"]: r for r in out["rows"] if r["kpi"] == kpi}
        assert set(rows) == {"centralise", "tolerance_acceptance", "total"}
        assert rows["centralise"]["shapley_mean"] + rows["tolerance_acceptance"]["shapley_mean"] == pytest.approx(rows["total"]["shapley_mean"])

    plain = tmp_path / "plain.yaml"
    plain.write_text(text, encoding="utf-8")
    assert main(["attribute", str(plain)]) == 2
    assert "names no base scenario" in capsys.readouterr().err


def test_reforms_that_need_each_other_are_one_group(base, tmp_path, capsys):
    """one_thing_done_once names the window one_window creates: alone it cannot be applied."""
    from sim import ScenarioError
    from sim.cli import main

    reforms = [
        ("one_window", {"windows": ["tax_window", "hrss_window"], "id": "zone"}),
        ("one_thing_done_once", {"case_type": "enterprise_opening", "items": ["invoice_application", "social_insurance"], "window": "zone"}),
        ("centralise", {}),
    ]
    with pytest.raises(ScenarioError, match=r"reforms\[1\]: one_thing_done_once fails when only one_thing_done_once are on .*same 'group'"):
        shapley(base, reforms, kpi="trips_mean")
    t = shapley(base, reforms, kpi="trips_mean", groups=["bundle", "bundle", None]).set_index("reform")
    assert list(t.index) == ["bundle", "centralise", "total"]
    assert t.loc[["bundle", "centralise"], "shapley_mean"].sum() == pytest.approx(t.loc["total", "shapley_mean"])
    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    (tmp_path / "base.yaml").write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 4"), encoding="utf-8")
    f = tmp_path / "after.yaml"
    f.write_text(
        "base: base.yaml\nreforms:\n"
        "  - {reform: one_window, windows: [tax_window, hrss_window], id: zone, group: bundle}\n"
        "  - {reform: one_thing_done_once, case_type: enterprise_opening, items: [invoice_application, social_insurance], window: zone, group: bundle}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(f)]) == 0  # 'group' is for attribution only
    capsys.readouterr()
    assert main(["attribute", str(f), "--reps", "2", "--kpi", "trips_mean", "--json"]) == 0
    out = __import__("json").loads(capsys.readouterr().out)
    assert [r["reform"] for r in out["rows"]] == ["bundle", "total"] and out["reforms"][0]["group"] == "bundle"


def test_sampled_orders_match_the_exact_values_within_their_stated_error():
    """Three reports in parallel (20, 10 and 5 days, then a 5-day permit): the lead time is the
    longest report left + 5.  Removing them in the 6 orders abc, acb, bac, bca, cab, cba, the
    marginal savings are a: 10, 10, 15, 20, 10, 20; b: 5, 10, 0, 0, 10, 0; c: 5, 0, 5, 0, 0, 0,
    so the Shapley values are -85/6, -25/6 and -10/6 (total -20).  Every time is fixed: the only
    error of the sampled values is the stated sampling error."""
    reports = [{"external": x} for x in ("a", "b", "c")]
    s = Scenario.from_dict({
        "name": "three reports", "sites": [{"id": "hall"}],
        "departments": [{"id": "d", "site": "hall", "staff": {"clerk": 100}}],
        "windows": [{"id": "w", "site": "hall", "positions": 50, "items": ["permit"]}],
        "items": [{"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 0,
                   "steps": [{"role": "clerk", "minutes": 5 * 1440}], "result_delivery": "electronic"}],
        "externals": [{"kind": "intermediary", "id": x, "duration_working_days": d} for x, d in (("a", 20), ("b", 10), ("c", 5))],
        "case_types": [{"id": "project", "arrivals": {"per_day": 1}, "flow": [{"parallel": reports}, {"item": "permit"}]}],
        "run": {"horizon_working_days": 10, "replications": 2, "seed": 4},
    })
    reforms = [("regional_assessment", {"externals": [x]}) for x in ("a", "b", "c")]
    exact = shapley(s, reforms).set_index("reform")
    expected = [-85 / 6, -25 / 6, -10 / 6]
    for i, e in enumerate(expected):
        assert exact.loc[f"regional_assessment[{i}]", "shapley_mean"] == pytest.approx(e)
    assert exact.loc["total", "shapley_mean"] == pytest.approx(-20.0)
    sampled = shapley(s, reforms, exact_up_to=0, permutations=10).set_index("reform")
    assert sampled["method"].iloc[0] == "sampled (10 orders)"
    for i, e in enumerate(expected):
        row = sampled.loc[f"regional_assessment[{i}]"]
        assert abs(row["shapley_mean"] - e) <= 4 * row["sampling_se"] + 1e-9
    assert sampled.loc["regional_assessment[0]", "sampling_se"] > 0  # interacting reforms: order matters


def test_cli_attribute_checks_scope_kpi_and_reforms_before_running(tmp_path, capsys):
    from sim.cli import main

    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    (tmp_path / "base.yaml").write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 3"), encoding="utf-8")
    f = tmp_path / "after.yaml"
    f.write_text("base: base.yaml\nreforms:\n  - {reform: centralise}\n  - {reform: reduce_feez}\n", encoding="utf-8")
    assert main(["attribute", str(f), "--reps", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{f}:4:14: reforms[1].reform: unknown reform 'reduce_feez'" in err and "(did you mean 'reduce_fees'?)" in err
    f.write_text("base: base.yaml\nreforms:\n  - {reform: centralise}\n", encoding="utf-8")
    assert main(["attribute", str(f), "--scope", "case_type:nope"]) == 2
    assert "--scope: 'case_type:nope' is not a scope" in capsys.readouterr().err
    assert main(["attribute", str(f), "--kpi", "utilisation"]) == 2
    assert "--kpi: utilisation is a station KPI; it has no value in scope 'all'" in capsys.readouterr().err


@pytest.mark.parametrize("exact_up_to", [8, 1])
def test_a_batch_on_every_core_gives_the_same_values(base, exact_up_to):
    """All subsets run in one batch on two processes (``run_many``): identical numbers to one by one."""
    from sim.execution import run_jobs

    reforms = [("centralise", {}), ("tolerance_acceptance", {"share_tolerated": 0.5}), ("one_window", {})]
    kw = dict(kpi="lead_time_working_days_mean", exact_up_to=exact_up_to, permutations=4)
    serial = shapley(base, reforms, **kw)
    batch = shapley(base, reforms, run_many=lambda jobs: run_jobs(jobs, workers=2), **kw)
    assert serial.equals(batch)
