"""Critical-path decomposition of lead time, against hand-computed cases."""

import pytest

from sim import Scenario, load_scenario, simulate
from sim.bottlenecks import decompose


def _serial():
    return Scenario.from_dict({
        "name": "serial",
        "sites": [{"id": "hall"}],
        "travel": {"from_home_minutes": 10},
        "departments": [{"id": "d", "site": "hall", "staff": {"clerk": 50, "chief": 50}}],
        "windows": [{"id": "w", "site": "hall", "positions": 50, "items": ["x"]}],
        "items": [{
            "id": "x", "department": "d", "kind": "back_office", "intake_minutes": 20,
            "result_delivery": "electronic",
            "steps": [{"role": "clerk", "minutes": 60}, {"role": "chief", "minutes": 30}],
        }],
        "externals": [{"kind": "fixed_period", "id": "notice", "duration_working_days": 1}],
        "case_types": [{"id": "c", "arrivals": {"per_day": 5}, "flow": [
            {"parallel": [{"item": "x"}, {"external": "notice"}]},
        ]}],
        "run": {"horizon_working_days": 20, "replications": 1},
    })


def test_parallel_branch_off_the_critical_path_does_not_count():
    # branch 1: 10 travel + 20 intake + 60 + 30 = 120 minutes; branch 2: notice, 1 day = 1440 min
    s = _serial()
    rep = simulate(s, seed=1, trace=True)
    d = decompose(rep, s).set_index("category")
    assert d.loc["fixed_period:notice", "working_minutes_per_case"] == pytest.approx(1440.0)
    assert d["share"].sum() == pytest.approx(1.0)
    assert "service:d.clerk" not in d.index


def test_serial_chain_splits_into_its_parts():
    s = _serial().evolve(case_types=[{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "x"}]}])
    rep = simulate(s, seed=1, trace=True)
    d = decompose(rep, s).set_index("category")["working_minutes_per_case"]
    assert d["travel"] == pytest.approx(10)
    assert d["service:w"] == pytest.approx(20)
    assert d["service:d.clerk"] == pytest.approx(60)
    assert d["service:d.chief"] == pytest.approx(30)
    assert d.sum() == pytest.approx(120)


def test_shares_add_up_on_the_county():
    s = load_scenario("scenarios/county_before_reform.yaml").evolve(
        run={"horizon_working_days": 10, "warmup_working_days": 1, "replications": 1})
    rep = simulate(s, seed=3, trace=True)
    d = decompose(rep, s)
    assert d["share"].sum() == pytest.approx(1.0)
    done = rep.cases[rep.cases["status"] == "completed"]
    assert d["working_minutes_per_case"].sum() == pytest.approx(done["lead_time_working_hours"].mean() * 60)


def test_cli_bottlenecks_json(tmp_path, capsys):
    import json

    from sim.cli import main

    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    f = tmp_path / "s.yaml"
    f.write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 5"), encoding="utf-8")
    assert main(["bottlenecks", str(f), "--json", "--reps", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["rows"]
    assert out["replications"] == 2 and rows[0]["n"] == 2
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert {"category", "working_minutes_per_case", "ci_low", "ci_high", "share", "share_ci_low", "share_ci_high", "n"} == set(rows[0])
    assert all(0 <= r["ci_low"] <= r["working_minutes_per_case"] <= r["ci_high"] for r in rows)  # minutes are never negative
    assert main(["bottlenecks", str(f), "--case-type", "property_transfer", "--reps", "1", "--json"]) == 0
    cats = {r["category"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert "queue:land_window" in cats and not any("market" in c for c in cats)  # property cases never meet the market bureau
    assert main(["bottlenecks", str(f), "--case-type", "nope"]) == 2
    assert "--case-type: no case type 'nope'" in capsys.readouterr().err
