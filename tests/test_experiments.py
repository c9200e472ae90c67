"""Experiments: the shared assumptions, the verdict rules, spec errors and whole runs.

The end-to-end check uses a toy scenario whose government time is known
exactly (no queueing, fixed review of 120 minutes, always open), so each
claim's verdict can be worked out by hand: a review scaled by the shared
``review_scale`` range [0.67, 1.5] takes 80-180 minutes.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from tests.helpers import scenario
from sim.cli import main
from sim.errors import ScenarioError
from sim.optimise import load_spec
from sim.experiments import ASSUMPTIONS, apply_assumptions, load_claims, load_experiment, run_experiment
from sim.experiments.runner import CLAIM_COLUMNS, experiments_dir
from sim.experiments.spec import ClaimTest
from sim.experiments.verdicts import VERDICTS, decide

# ----------------------------------------------------------------------------- verdict rules


def _t(holds_if="<=", claimed=4.0, tolerance=None):
    return ClaimTest(claim="x", measure={"kpi": "lead_time_working_days_mean", "scenario": "after"},
                     holds_if=holds_if, claimed=claimed, tolerance=tolerance)


def test_verdicts_follow_the_defaults_the_ends_and_the_corners():
    t = _t("<=", 4.0)
    same = {"review_scale": {0.67: (3.0, 2.9, 3.1), 1.5: (3.5, 3.4, 3.6)}}
    assert decide(t, (3.2, 3.0, 3.4), same, (3.5, 3.4, 3.6), (3.0, 2.9, 3.1))[0] == "reproduced"
    flip = {"review_scale": {0.67: (3.0, 2.9, 3.1), 1.5: (4.5, 4.4, 4.6)}}
    v, why, flips = decide(t, (3.2, 3.0, 3.4), flip, (4.5, 4.4, 4.6), (3.0, 2.9, 3.1))
    assert v == "reproduced_under_assumptions" and flips and "fails when review_scale = x1.5" in why
    v, why, _ = decide(t, (4.2, 4.1, 4.3), flip, (4.5, 4.4, 4.6), (3.0, 2.9, 3.1))
    assert v == "reproduced_under_assumptions" and "holds only when review_scale = x0.67" in why
    worse = {"review_scale": {0.67: (4.6, 4.5, 4.7), 1.5: (5.0, 4.9, 5.1)}}
    assert decide(t, (4.8, 4.7, 4.9), worse, (5.0, 4.9, 5.1), (4.6, 4.5, 4.7))[0] == "refuted"
    wide = {"review_scale": {0.67: (4.6, 3.0, 6.2), 1.5: (5.0, 3.0, 7.0)}}
    assert decide(t, (4.8, 3.5, 6.1), wide, (5.0, 3.0, 7.0), (4.6, 3.0, 6.2))[0] == "not_reproduced"
    # only the joint corner flips it
    assert decide(t, (3.9, 3.8, 4.0), same, (4.1, 4.0, 4.2), (3.0, 2.9, 3.1))[0] == "reproduced_under_assumptions"


def test_approx_and_between_claims():
    t = _t("approx", 0.456, tolerance=0.02)
    assert decide(t, (0.44, 0.43, 0.45), {}, None, None)[0] == "reproduced"
    assert decide(t, (0.40, 0.39, 0.41), {}, None, None)[0] == "refuted"
    assert decide(t, (0.40, 0.30, 0.50), {}, None, None)[0] == "not_reproduced"
    b = _t("between", (35.0, 70.0))
    assert decide(b, (50.0, 45.0, 55.0), {}, None, None)[0] == "reproduced"
    assert decide(b, (80.0, 75.0, 85.0), {}, None, None)[0] == "refuted"


# ----------------------------------------------------------------------------- shared assumptions

def _toy(review=120.0, **item):
    return scenario(
        items=[{"id": "x", "department": "d", "kind": "back_office", "intake_minutes": 10,
                "steps": [{"role": "clerk", "minutes": review}], "result_delivery": "electronic",
                "incomplete_probability": 0.2, "tolerated_share": 0.5, **item},
               {"id": "y", "department": "d", "kind": "immediate", "intake_minutes": 5}],
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 5000}}],
        windows=[{"id": "w", "site": "hall", "positions": 5000, "items": ["x", "y"]}],
        travel={"from_home_minutes": 20},
        case_types=[{"id": "c", "arrivals": {"per_day": 20}, "flow": [{"item": "x"}]}],
        run={"horizon_working_days": 5, "replications": 3},
    )


def test_shared_assumptions_replace_values_and_scale_numbers():
    s = _toy()
    d = apply_assumptions(s, {})  # the defaults: values replaced, scales 1
    assert d.item("x").decide_before_supplement is False
    assert d.item("x").tolerated_share == ASSUMPTIONS["tolerated_share"].default
    assert d.item("y").tolerated_share == 0.0  # not a tolerance item: untouched
    assert d.applicants.repeat_incomplete_factor == ASSUMPTIONS["repeat_incomplete_factor"].default
    assert d.item("x").incomplete_probability == 0.2
    e = apply_assumptions(s, {"incomplete_scale": 1.5, "review_scale": 0.5, "travel_scale": 2.0,
                              "decide_before_supplement": True})
    assert math.isclose(e.item("x").incomplete_probability, 0.3)
    assert math.isclose(e.item("x").steps[0].minutes.mean, 60.0)
    assert math.isclose(e.travel.from_home_minutes, 40.0)
    assert e.item("x").decide_before_supplement is True
    assert math.isclose(apply_assumptions(s, {"incomplete_scale": 10}).item("x").incomplete_probability, 1.0)
    assert s.item("x").steps[0].minutes.mean == 120.0  # the input is unchanged
    with pytest.raises(KeyError, match="unknown assumption"):
        apply_assumptions(s, {"incomplete": 2})
    for a in ASSUMPTIONS.values():  # every default lies in its plausible range
        assert min(a.low, a.high) <= a.default <= max(a.low, a.high), a.id


# ----------------------------------------------------------------------------- spec errors

def test_bad_experiment_files_name_the_file_and_field(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({
        "name": "bad", "description": "x", "scenarios": {"after": "missing.yaml"},
        "tests": [{"claim": "c", "measure": {"kpi": "lead_time_working_days_mean", "scenario": "after"},
                   "holds_if": "approx", "claimed": 1}],
    }))
    with pytest.raises(ScenarioError, match=r"bad\.yaml:6:3: tests\[0\]: .*tolerance"):
        load_experiment(bad)
    assert main(["experiment", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "tolerance" in err and "Traceback" not in err
    bad.write_text(yaml.safe_dump({"name": "bad", "description": "x", "scenarios": {"after": "missing.yaml"}}))
    with pytest.raises(ScenarioError, match=r"scenarios\.after: file not found"):
        load_experiment(bad)
    capsys.readouterr()
    assert main(["experiment", "seed-claim"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'seed-claim' (did you mean 'seed-claims'?)" in err and "Traceback" not in err


def test_a_misspelt_scope_or_a_kpi_the_scope_lacks_is_named_before_or_after_running(tmp_path, capsys):
    edir = _write_toy_experiment(tmp_path)
    spec = yaml.safe_load((edir / "toy.yaml").read_text())
    spec["tests"][0]["measure"]["scope"] = "case_type:cc"
    (edir / "toy.yaml").write_text(yaml.safe_dump(spec))
    assert main(["experiment", str(edir / "toy.yaml"), "--out", str(tmp_path / "a"), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "toy.yaml: tests[0].measure.scope: scenario 's' has no scope 'case_type:cc' (did you mean 'case_type:c'?)" in err
    assert "Traceback" not in err and not (tmp_path / "a").exists()
    spec["tests"][0]["measure"] = {"kpi": "utilisation", "scenario": "s", "scope": "case_type:c"}
    (edir / "toy.yaml").write_text(yaml.safe_dump(spec))
    assert main(["experiment", str(edir / "toy.yaml"), "--out", str(tmp_path / "b"), "--fast", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "tests.measure: no KPI 'utilisation' in scope 'case_type:c'" in err and not (tmp_path / "b").exists()


def test_every_shipped_experiment_loads_and_names_known_claims():
    root = experiments_dir()
    claims = load_claims(root / "claims.yaml")
    assert len(claims) >= 100
    names = set()
    for p in sorted(root.glob("*.yaml")):
        if p.name == "claims.yaml":
            continue
        if p.name.startswith("optimise"):  # optimisation specs: approval-sim optimise FILE
            assert load_spec(p).name == p.stem
            continue
        e = load_experiment(p)
        names.add(e.name)
        assert p.stem == e.name
        for t in e.tests:
            assert t.claim in claims, (p.name, t.claim)
    seed = load_experiment(root / "seed-claims.yaml")
    assert set(seed.includes) <= names


# ----------------------------------------------------------------------------- a whole run

def _write_toy_experiment(tmp_path):
    sdir = tmp_path / "scenarios"
    sdir.mkdir()
    (sdir / "toy.yaml").write_text(yaml.safe_dump(_toy(incomplete_probability=0.0, tolerated_share=0.0).to_dict(),
                                                  allow_unicode=True))
    edir = tmp_path / "experiments"
    edir.mkdir()
    claims = [
        {"id": f"toy_{k}", "place": "Toy", "seed": "none", "quote": "q", "claim_en": f"within {h} hours",
         "claim_zh": f"{h}小时内办结", "kind": "outcome", "quantity": "processing_time", "why": "test"}
        for k, h in (("a", 3), ("b", 2.5), ("c", 1))
    ] + [{"id": "toy_input", "place": "Toy", "seed": "none", "quote": "q", "claim_en": "9 windows",
          "kind": "input", "why": "a count"}]
    (edir / "claims.yaml").write_text(yaml.safe_dump(claims, allow_unicode=True))
    tests = [
        {"claim": f"toy_{k}", "measure": {"kpi": "government_time_working_hours_mean", "scenario": "s"},
         "holds_if": "<=", "claimed": h, "unit": "working hours", "assumptions": ["review_scale"]}
        for k, h in (("a", 3.0), ("b", 2.5), ("c", 1.0))
    ]
    spec = {"name": "toy", "description": "toy", "seed": 1, "replications": 3,
            "fast": {"replications": 2, "horizon_scale": 1.0},
            "scenarios": {"s": "../scenarios/toy.yaml", "t": "../scenarios/toy.yaml"}, "tests": tests,
            "charts": {"compare": ["s", "t"]}}
    (edir / "toy.yaml").write_text(yaml.safe_dump(spec))
    (edir / "all.yaml").write_text(yaml.safe_dump({"name": "all", "description": "all", "includes": ["toy"]}))
    return edir


def test_a_toy_experiment_gives_the_hand_computed_verdicts(tmp_path):
    """Government time is the fixed review: 2 hours, 1.34 at review_scale 0.67, 3 at 1.5.

    "within 3 hours" holds everywhere (reproduced); "within 2.5" holds at the default but
    not at x1.5 (reproduced only under assumptions); "within 1 hour" fails everywhere with
    no spread at all (refuted).  The input claim is carried over as an input.
    """
    edir = _write_toy_experiment(tmp_path)
    out = run_experiment(edir / "all.yaml", fast=True, out=tmp_path / "res", workers=1)
    claims = pd.read_csv(out / "tables" / "claims.csv").set_index("claim_id")
    assert list(pd.read_csv(out / "tables" / "claims.csv").columns) == CLAIM_COLUMNS
    assert math.isclose(claims.loc["toy_a", "simulated_mean"], 2.0, abs_tol=1e-9)
    assert claims.loc["toy_a", "verdict"] == "reproduced"
    assert claims.loc["toy_b", "verdict"] == "reproduced_under_assumptions"
    assert "review_scale = x1.5" in claims.loc["toy_b", "deciding"]
    assert claims.loc["toy_c", "verdict"] == "refuted"
    assert math.isclose(claims.loc["toy_c", "most_favourable"], 2.0 * 0.67, rel_tol=1e-9)
    assert claims.loc["toy_input", "verdict"] == "input"
    assert set(claims["verdict"]) <= set(VERDICTS)
    rob = pd.read_csv(out / "tables" / "robustness.csv")
    a = rob[rob["claim_id"] == "toy_a"].iloc[0]
    assert math.isclose(a["measure_low"], 2.0 * 0.67) and math.isclose(a["measure_high"], 3.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fast"] is True and manifest["seeds"] == {"toy": 1} and manifest["scenarios"]
    charts = json.loads((out / "charts" / "charts.json").read_text())
    for entry in charts:
        for lang in ("en", "zh"):
            assert (out / "charts" / f"{entry['file_stem']}.{lang}.png").stat().st_size > 1000
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "toy_b" in html and "data:image/png;base64" in html
    # the same seed gives the same numbers, whatever the number of processes
    again = run_experiment(edir / "all.yaml", fast=True, out=tmp_path / "res2", workers=2, charts=False)
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "tables" / "robustness.csv"), pd.read_csv(again / "tables" / "robustness.csv")
    )
    # nothing is overwritten
    assert main(["experiment", str(edir / "all.yaml"), "--out", str(out)]) == 2


@pytest.mark.slow
def test_seed_claims_fast_covers_every_claim(tmp_path):
    out = run_experiment("seed-claims", fast=True, out=tmp_path / "seed")
    claims = pd.read_csv(out / "tables" / "claims.csv")
    catalogue = load_claims(experiments_dir() / "claims.yaml")
    assert sorted(claims["claim_id"]) == sorted(catalogue)  # one row per claim of the five reports
    by_id = claims.set_index("claim_id")
    for cid, c in catalogue.items():
        v = by_id.loc[cid, "verdict"]
        if c.kind == "input":
            assert v == "input"
        elif c.kind == "not_testable":
            assert v == "not_testable"
    tested = claims[claims["verdict"].isin(["reproduced", "reproduced_under_assumptions", "not_reproduced", "refuted"])]
    assert len(tested) >= 5
    rob = pd.read_csv(out / "tables" / "robustness.csv")
    assert set(tested["claim_id"]) <= set(rob["claim_id"])
    assert (out / "report.html").stat().st_size > 10_000
