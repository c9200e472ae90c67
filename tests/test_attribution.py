"""Shapley attribution: efficiency (values add up to the total) and hand-computable cases."""

import pytest

from sim import load_scenario
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


def test_cli_attribute_json(tmp_path, capsys):
    import json

    from sim.cli import main

    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    (tmp_path / "base.yaml").write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 4"), encoding="utf-8")
    f = tmp_path / "after.yaml"
    f.write_text("base: base.yaml\nreforms:\n  - {reform: centralise}\n  - {reform: tolerance_acceptance}\n", encoding="utf-8")
    assert main(["attribute", str(f), "--kpi", "trips_mean", "--reps", "2", "--json"]) == 0
    rows = {r["reform"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"centralise", "tolerance_acceptance", "total"}
    assert rows["centralise"]["shapley_mean"] + rows["tolerance_acceptance"]["shapley_mean"] == pytest.approx(rows["total"]["shapley_mean"])
    plain = tmp_path / "plain.yaml"
    plain.write_text(text, encoding="utf-8")
    assert main(["attribute", str(plain)]) == 2
    assert "names no base scenario" in capsys.readouterr().err
