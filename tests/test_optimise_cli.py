"""``approval-sim optimise``: bad specs are messages with file, line and field; a run writes its evidence.

The numbers of the search are checked against known answers in
``test_optimise_known.py``; here the command, the files it writes and the
NSGA-II path for large reform catalogues.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.optimise.evaluate import FRESH
from sim.optimise import load_spec, optimise
from tests.test_cli import cli

ROOT = Path(__file__).resolve().parent.parent
OPENING = ROOT / "scenarios" / "yumen_enterprise_opening_before.yaml"


def _spec(tmp_path: Path, scenario: Path, body: str, name: str = "spec.yaml") -> Path:
    f = tmp_path / name
    f.write_text(f"name: test\nscenario: {scenario}\nseed: 3\n" + body, encoding="utf-8")
    return f


STAFF = """targets:
  - {kpi: wait_minutes_mean, scope: "station:w", at_most: 1.0, tolerance: 0.5}
staffing:
  - {field: "windows[w].positions", min: 1, max: 9, cost_yuan_per_year: 100000}
replications: {first: 10, most: 30, final: 6}
"""


@pytest.mark.parametrize("body, where, words", [
    (STAFF.replace("wait_minutes_mean", "wait_minutes_mena"), "targets[0]", "unknown KPI 'wait_minutes_mena'"),
    (STAFF.replace("at_most: 1.0,", ""), "targets[0]", "exactly one of at_most and at_least"),
    (STAFF.replace("min: 1, max: 9", "min: 5, max: 2"), "staffing[0]", "max (2) is below min (5)"),
    (STAFF.replace("first: 10, most: 30", "first: 10, most: 3"), "replications", "most (3) is below first (10)"),
    (STAFF + "reforms:\n  - {reform: one_window}\n", "(", "either staffing"),
    ("targets:\n  - {kpi: cases, at_least: 1}\nreforms:\n  - {reform: one_windw}\n", "reforms[0].reform", "did you mean 'one_window'"),
    ("targets:\n  - {kpi: cases, at_least: 1}\nreforms:\n  - {reform: fully_online, params: {share: 0.5}}\n",
     "reforms[0].params.share", "unknown parameter of fully_online"),
])
def test_a_bad_spec_names_the_file_line_and_field(capsys, tmp_path, mmc_file, body, where, words):
    f = _spec(tmp_path, mmc_file, body)
    rc, out, err = cli(capsys, "optimise", f)
    assert rc == 2 and out == ""
    assert str(f) in err and where in err and words in err, err
    assert "Traceback" not in err
    assert ":" in err.split(str(f), 1)[1][:8]  # file:line


def test_a_missing_scenario_a_field_it_lacks_and_a_scope_it_lacks_are_named(capsys, tmp_path, mmc_file):
    rc, _, err = cli(capsys, "optimise", _spec(tmp_path, tmp_path / "nowhere.yaml", STAFF))
    assert rc == 2 and "scenario" in err and "file not found" in err
    rc, _, err = cli(capsys, "optimise", _spec(tmp_path, mmc_file, STAFF.replace("windows[w]", "windows[v]"), "b.yaml"))
    assert rc == 2 and "staffing[0].field" in err and "no entry with id 'v'" in err, err
    rc, _, err = cli(capsys, "optimise", _spec(tmp_path, mmc_file, STAFF.replace("station:w", "station:x"), "c.yaml"))
    assert rc == 2 and "targets[0].scope" in err and "station:w" in err, err  # the message lists the scopes there are


def test_an_output_folder_with_files_is_refused_before_any_run(capsys, tmp_path, mmc_file):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc, _, err = cli(capsys, "optimise", _spec(tmp_path, mmc_file, STAFF), "--out", out)
    assert rc == 2 and "keep.txt" not in err and "exists" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"


def test_the_command_writes_a_ready_to_run_design_and_its_evidence(capsys, tmp_path, mmc_file):
    out = tmp_path / "out"
    rc, text, err = cli(capsys, "optimise", _spec(tmp_path, mmc_file, STAFF), "--out", out, "--workers", "1")
    assert rc == 0, err
    # Erlang C (lam 1, mu 1/4): c = 5 waits 2.22 minutes, c = 6 waits 0.57: six positions
    assert "chosen / 所选方案: w=6" in text and "600,000 yuan a year" in text
    assert "With confidence at least 95%" in text and "在不低于95%的置信度下" in text
    names = sorted(p.name for p in out.iterdir())
    assert names == ["best_scenario.yaml", "candidates.csv", "estimates.csv", "final.csv", "pareto_en.png",
                     "pareto_en.svg", "pareto_zh.png", "pareto_zh.svg", "result.json"]
    best = load_scenario(out / "best_scenario.yaml")
    assert best.windows[0].positions == 6
    assert best.model_hash() != load_scenario(mmc_file).model_hash()
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["chosen"]["design"] == "w=6" and result["chosen"]["scenario_hash"] == best.content_hash()
    assert result["procedure"]["first_replications_n0"] == 10 and result["procedure"]["designs_in_split"] == 9
    cand = pd.read_csv(out / "candidates.csv")
    assert cand["chosen"].sum() == 1 and cand.loc[cand["chosen"], "decision"].item() == "feasible"
    cheaper = cand[cand["cost_yuan_per_year"] < 600000]
    assert set(cheaper["decision"]) <= {"infeasible", "skipped: fewer servers than the offered load",
                                        "skipped: below a design that misses a target"}
    final = pd.read_csv(out / "final.csv")
    row = final[final["kpi"] == "wait_minutes_mean"].iloc[0]
    assert row["n"] == 6 and row["met"] == "yes" and row["ci_high"] <= 1.0
    # the final check's replications are fresh: numbered from 1,000,000, never run by the search
    fresh = [simulate(best, seed=3, replication=FRESH + r).kpi("wait_minutes_mean", "station:w") for r in range(6)]
    assert row["mean"] == pytest.approx(sum(fresh) / 6, rel=1e-12)
    est = pd.read_csv(out / "estimates.csv")
    searched = est[(est["design"] == "w=6") & (est["kpi"] == "wait_minutes_mean")].iloc[0]
    assert searched["mean"] != pytest.approx(row["mean"], rel=1e-6)


def test_json_output_is_the_result_and_the_exit_status_says_whether_a_design_was_found(capsys, tmp_path, mmc_file):
    rc, out, _ = cli(capsys, "optimise", _spec(tmp_path, mmc_file, STAFF), "--json", "--workers", "1")
    data = json.loads(out)
    assert rc == 0 and data["chosen"]["design"] == "w=6" and data["kind"] == "staffing"
    impossible = STAFF.replace("min: 1, max: 9", "min: 1, max: 4")  # at most 4 servers for an offered load of 4
    rc, out, _ = cli(capsys, "optimise", _spec(tmp_path, mmc_file, impossible, "i.yaml"), "--json", "--workers", "1")
    data = json.loads(out)
    assert rc == 1 and data["chosen"] is None and "No design found" in data["statement_en"]


def _eleven(tmp_path: Path) -> Path:
    options = "\n".join(f"  - {{reform: reduce_fees, params: {{share: {0.05 * (k + 1):.2f}}}, cost_yuan_per_year: {1000 * (k + 1)}}}"
                        for k in range(8))
    return _spec(tmp_path, OPENING, f"""targets:
  - {{kpi: fee_yuan_mean, at_most: 100, tolerance: 5}}
reforms:
  - {{reform: centralise, cost_one_off_yuan: 3000000}}
  - {{reform: one_window, cost_one_off_yuan: 300000}}
  - {{reform: electronic_certificates, cost_one_off_yuan: 400000}}
{options}
replications: {{first: 3, most: 6, final: 3}}
max_designs: 48
fast: {{replications: {{first: 3, most: 4, final: 3}}, horizon_scale: 0.1, budget_runs: 400}}
""", "eleven.yaml")


def test_more_than_ten_reforms_are_searched_by_nsga2_the_same_on_any_worker_count(tmp_path):
    spec = load_spec(_eleven(tmp_path))
    one = optimise(spec, fast=True, workers=1)
    two = optimise(spec, fast=True, workers=2)
    assert one.method == two.method == "nsga2"
    pd.testing.assert_frame_equal(one.candidates, two.candidates)
    assert one.chosen is not None and one.chosen.key == two.chosen.key
    assert "NSGA-II does not rule out cheaper packages it never generated" in one.statement_en
    assert any("of 2048 packages" in n for n in one.notes)
    assert len(one.candidates) <= 48


def test_limits_keep_designs_out_of_the_search(tmp_path, mmc_file):
    """A site with room for 5 positions: the 6 the target needs are out of reach, and no design above 5 is simulated."""
    spec = load_spec(_spec(tmp_path, mmc_file, STAFF + 'limits:\n  - {fields: ["windows[w].positions"], at_most: 5}\n'))
    res = optimise(spec, workers=1)
    assert res.chosen is None
    judged = res.candidates[~res.candidates["decision"].str.startswith("pilot")]
    assert judged["w"].max() <= 5
    bad = STAFF + 'limits:\n  - {fields: ["windows[v].positions"], at_most: 5}\n'
    with pytest.raises(Exception, match=r"limits\[0\]: 'windows\[v\].positions' is not one of the staffing fields"):
        load_spec(_spec(tmp_path, mmc_file, bad, "bad.yaml"))


HOSTILE = {
    "not-a-mapping": "- just\n- a list\n",
    "empty": "",
    "tab-indented": "name: x\n\tscenario: y\n",
    "unknown-field": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: []\nbogus: 1\n",
    "targets-not-a-list": "name: t\nscenario: {s}\ntargets: 5\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "min-as-text": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: one, max: 2, cost_yuan_per_year: 1}}]\n",
    "negative-cost": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: -5}}]\n",
    "nan-threshold": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: .nan}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "confidence-above-one": "name: t\nscenario: {s}\nconfidence: 1.5\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "n0-of-one": "name: t\nscenario: {s}\nreplications: {{first: 1}}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "zero-budget": "name: t\nscenario: {s}\nbudget_runs: 0\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "absurd-bounds": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 100000000, cost_yuan_per_year: 1}}]\n",
    "params-not-a-mapping": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nreforms: [{{reform: fully_online, params: [1, 2]}}]\n",
    "field-is-not-a-number": "name: t\nscenario: {s}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].name', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "scenario-is-a-directory": "name: t\nscenario: {d}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
    "scenario-is-broken": "name: t\nscenario: {b}\ntargets: [{{kpi: cases, at_least: 1}}]\nstaffing: [{{field: 'windows[w].positions', min: 1, max: 2, cost_yuan_per_year: 1}}]\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_specs_are_messages_never_tracebacks(capsys, tmp_path, mmc_file, case):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: b\nsites: []\n", encoding="utf-8")
    f = tmp_path / "spec.yaml"
    f.write_text(HOSTILE[case].format(s=mmc_file, d=tmp_path, b=broken), encoding="utf-8")
    rc, out, err = cli(capsys, "optimise", f, "--workers", "1")
    assert rc == 2, (case, rc, err)
    assert out == "" and "Traceback" not in err and str(tmp_path) in err, (case, err)


def test_a_spec_that_is_not_text_is_a_message(capsys, tmp_path):
    f = tmp_path / "spec.yaml"
    f.write_bytes(b"\xff\xfe\x00binary\x00")
    rc, out, err = cli(capsys, "optimise", f)
    assert rc == 2 and "not UTF-8" in err and "Traceback" not in err
