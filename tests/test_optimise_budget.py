"""The lowest KPI within a budget: known answers for staffing (M/M/c) and for packages (fees, deterministic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import ScenarioError, load_scenario
from sim.optimise import load_spec, optimise
from sim.optimise.budget import paired_upper

ROOT = Path(__file__).resolve().parent.parent
OPENING = ROOT / "scenarios" / "yumen_enterprise_opening_before.yaml"


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def test_paired_upper_bound_by_hand():
    a = np.array([3.0, 5.0, 4.0, 6.0])
    b = np.array([1.0, 2.0, 2.0, 3.0])  # differences 2, 3, 2, 3: mean 2.5, sd 0.57735, n 4
    # t(0.95, 3) = 2.353363: 2.5 + 2.353363 * 0.57735 / 2 = 3.17935
    assert paired_upper(a, b, 0.95) == pytest.approx(3.17935, abs=1e-4)
    assert paired_upper(a[:1], b[:1], 0.95) == np.inf


def test_staffing_within_a_budget_buys_every_server_that_helps(tmp_path, mmc_file):
    """Offered load 4: each server up to the budget cuts the mean wait by far more than its noise
    (Erlang C: 5 servers 2.22 min, 6 servers 0.57, 7 servers 0.16); 650,000 yuan buys six."""
    spec = load_spec(_write(tmp_path, f"""name: budget
scenario: {mmc_file}
objective: {{minimise: wait_minutes_mean, scope: "station:w", budget_yuan_per_year: 650000}}
staffing:
  - {{field: "windows[w].positions", min: 1, max: 12, cost_yuan_per_year: 100000}}
replications: {{first: 10, most: 20, final: 6}}
"""))
    res = optimise(spec, workers=1)
    assert res.method == "greedy" and res.chosen.key == (6,)
    assert "not claimed to be the best" in res.statement_en
    row = res.final[res.final["kpi"] == "wait_minutes_mean"].iloc[0]
    assert row["n"] == 6 and 0.2 < row["mean"] < 1.2  # Erlang C 0.57; 6 short replications
    poor = spec.model_copy(update={"objective": spec.objective.model_copy(update={"budget_yuan_per_year": 350000})})
    res = optimise(poor, workers=1)  # four servers cannot keep up with a load of 4
    assert res.chosen is None and any("over the budget" in n for n in res.notes)


def test_the_best_package_within_a_budget_is_the_one_with_the_lowest_fees(tmp_path):
    """Fees are deterministic per item: waiving 20% then 50% leaves 40% of every fee, 50% alone leaves 50%,
    and the full waiver (100%) is over the budget.  The best package within 5,000 yuan is the first two."""
    spec = load_spec(_write(tmp_path, f"""name: fees
scenario: {OPENING}
objective: {{minimise: fee_yuan_mean, budget_yuan_per_year: 5000}}
reforms:
  - {{reform: reduce_fees, label: waive20, params: {{share: 0.2}}, cost_yuan_per_year: 1000}}
  - {{reform: reduce_fees, label: waive50, params: {{share: 0.5}}, cost_yuan_per_year: 3000}}
  - {{reform: reduce_fees, label: waive100, params: {{share: 1.0}}, cost_yuan_per_year: 8000}}
replications: {{first: 4, most: 8, final: 3}}
fast: {{replications: {{first: 4, most: 8, final: 3}}, horizon_scale: 0.2, budget_runs: 200}}
"""))
    res = optimise(spec, fast=True, workers=1)
    assert res.method == "within_budget" and res.chosen.label == "waive20 + waive50"
    assert "better than every other package within the budget" in res.statement_en
    assert set(res.candidates["design"]) == {"(no reform)", "waive20", "waive50", "waive20 + waive50"}
    est = res.estimates[res.estimates["kpi"] == "fee_yuan_mean"].set_index("design")["mean"]
    assert est["waive20 + waive50"] == pytest.approx(0.4 * est["(no reform)"], rel=1e-9)
    assert est["waive50"] == pytest.approx(0.5 * est["(no reform)"], rel=1e-9)
    # the design handed back is the planner's scenario with the package: full horizon, not the fast run's
    written = load_scenario(OPENING)
    assert res.scenario.run == written.run and res.scenario.name.endswith("optimised: waive20 + waive50")
    assert res.scenario.item("seal_carving").fee_yuan == pytest.approx(0.4 * written.item("seal_carving").fee_yuan)


def test_an_objective_on_a_kpi_where_more_is_better_is_refused(tmp_path, mmc_file):
    with pytest.raises(ScenarioError, match="choose a KPI where less is better"):
        load_spec(_write(tmp_path, f"""name: bad
scenario: {mmc_file}
objective: {{minimise: completed_share, budget_yuan_per_year: 1000}}
staffing:
  - {{field: "windows[w].positions", min: 1, max: 3, cost_yuan_per_year: 100}}
"""))
    with pytest.raises(ScenarioError, match="give targets"):
        load_spec(_write(tmp_path, f"""name: bad
scenario: {mmc_file}
staffing:
  - {{field: "windows[w].positions", min: 1, max: 3, cost_yuan_per_year: 100}}
""", "b.yaml"))
