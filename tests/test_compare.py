"""Scenario comparison: paired differences and compression rates with common random numbers."""

import json

import numpy as np
import pytest

from sim import load_scenario
from sim.cli import main
from sim.compare import compare
from sim.reforms import apply_reform

SHORT = {"horizon_working_days": 10, "warmup_working_days": 1, "drain_working_days": 200, "replications": 3, "seed": 5}


@pytest.fixture(scope="module")
def pair():
    base = load_scenario("scenarios/county_before_reform.yaml").evolve(run=SHORT)
    return base, apply_reform(base, "tolerance_acceptance", share_tolerated=1.0)


def test_same_scenario_has_zero_difference(pair):
    base, _ = pair
    _, table = compare([base, base])
    other = table[table["index"] == 1]
    assert np.allclose(other["diff_mean"].fillna(0), 0) and np.allclose(other["diff_ci_high"].fillna(0), 0)


def test_paired_difference_and_compression_match_hand_computation(pair):
    results, table = compare(list(pair))
    k0 = results[0].kpis.query("scope == 'all' and kpi == 'returns_mean'")["value"].to_numpy()
    k1 = results[1].kpis.query("scope == 'all' and kpi == 'returns_mean'")["value"].to_numpy()
    row = table.query("index == 1 and scope == 'all' and kpi == 'returns_mean'").iloc[0]
    assert row["diff_mean"] == pytest.approx((k1 - k0).mean())
    assert row["compression_mean"] == pytest.approx((1 - k1 / k0).mean())
    # no incomplete applications are returned any more: compression is exactly 100%
    assert row["compression_mean"] == pytest.approx(1.0) and k1.max() == 0
    # common random numbers: the same arrivals in both
    cases = table.query("scope == 'all' and kpi == 'cases'")
    assert cases["mean"].nunique() == 1


def test_compare_cli_json(tmp_path, capsys):
    base = tmp_path / "base.yaml"
    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    base.write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 5"), encoding="utf-8")
    after = tmp_path / "after.yaml"
    after.write_text("base: base.yaml\nname: after\nreforms:\n  - {reform: centralise}\n", encoding="utf-8")
    assert main(["compare", str(base), str(after), "--reps", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["base"] for s in data["scenarios"]] == [True, False]
    travel = data["scenarios"][1]["kpis"]["all"]["travel_minutes_mean"]
    assert set(travel) == {"mean", "ci_low", "ci_high", "diff", "compression"}
    assert travel["diff"]["mean"] < 0 < travel["compression"]["mean"]


def test_compare_out_writes_tables_and_refuses_existing(tmp_path, capsys):
    base = tmp_path / "base.yaml"
    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    base.write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 3"), encoding="utf-8")
    out = tmp_path / "cmp"
    assert main(["compare", str(base), str(base), "--reps", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv", "replications_0.csv", "replications_1.csv"]
    assert main(["compare", str(base), str(base), "--reps", "2", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_compare_cli_tables_by_scope(tmp_path, capsys):
    base = tmp_path / "base.yaml"
    text = open("scenarios/county_before_reform.yaml", encoding="utf-8").read()
    base.write_text(text.replace("horizon_working_days: 60", "horizon_working_days: 4"), encoding="utf-8")
    after = tmp_path / "after.yaml"
    after.write_text("base: base.yaml\nname: after\nreforms:\n  - {reform: one_window, windows: [market_window, tax_window]}\n", encoding="utf-8")
    args = ["compare", str(base), str(after), "--reps", "2", "--scope", "case_type:property_transfer",
            "--scope", "station:land_window", "--scope", "station:tax_window"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[case_type:property_transfer]" in out and "lead_time_working_days_mean" in out
    land = out.split("[station:land_window]")[1]
    assert land.splitlines()[1].split()[:2] == ["KPI", "指标"] and "utilisation" in land and "trips_mean" not in land.split("[")[0]
    assert "(no station:tax_window in this scenario)" in out  # pooled into the comprehensive window
    assert main(["compare", str(base), str(after), "--reps", "2", "--scope", "case_type:nope"]) == 2
    assert "--scope: the base has no scope 'case_type:nope'" in capsys.readouterr().err
