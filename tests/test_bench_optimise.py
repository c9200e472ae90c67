"""The staffing-optimisation benchmark's logic, at its smallest size and in this process (about 10 s).

``benchmarks/bench_optimise_staffing.py --fast`` (a hall of 20 positions), one
round, one worker, measured in this process: both variants must return
a design, every simulation the executor ran must be one the evaluator
counted (or a fresh one of the final check), the baseline must use exactly
``most`` replications for each design it evaluated (plus the pilot's first
ones), the optimiser between ``first`` and ``most``, and the benchmark's own
fresh check must reproduce the optimiser's, digit for digit.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_optimise_staffing.py"
# the --fast hall; a smaller one leaves a window group with no visit in some replication (no wait measured,
# which both variants count as a missed target, and under common random numbers it is missed by every design)
POSITIONS = 20


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_optimise_staffing", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


@pytest.fixture(scope="module")
def doc(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "optimise.json"
    code = bench.main(["--fast", "--positions", str(POSITIONS), "--rounds", "1", "--workers", "1", "--in-process",
                       "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())


def _by(doc):
    return {r["variant"]: r for r in doc["runs"]}


def test_the_hall_and_the_spec(bench, tmp_path):
    from sim.optimise import load_spec
    from sim.scenario import Scenario

    _, loads, est = bench.hall_loads(100)
    assert 95 <= sum(est) <= 100 and len(est) == len(bench.HALL)
    assert all(c > a for c, a in zip(est, loads))  # the Erlang C staffing keeps every group stable
    cfg = bench.Config(**{**bench.asdict(bench.FAST), "positions": POSITIONS})
    spec = load_spec(bench.write_files(cfg, 5, tmp_path))
    s = Scenario.from_dict(bench.hall_scenario(cfg)[0])
    assert [w.id for w in s.windows] == [t.scope.removeprefix("station:") for t in spec.targets]
    assert [v.max for v in spec.staffing] == [max(2, cfg.max_factor * c) for c in bench.hall_loads(POSITIONS)[2]]
    assert (spec.replications.first, spec.replications.most, spec.replications.final) == (cfg.first, cfg.most, cfg.final)


def test_both_variants_return_a_design(doc):
    runs = _by(doc)
    assert set(runs) == {"optimiser", "baseline"} and not doc["failed"]
    for r in runs.values():
        assert r["chosen"] is not None and not r["budget_cut"]
        assert r["positions"] == sum(r["chosen_key"]) and r["cost_yuan_per_year"] == 90_000 * r["positions"]
        assert len(r["fresh"]) == r["targets"] == 6
        assert r["fresh_met"] + r["fresh_within_noise"] + r["fresh_missed"] == 6
        assert r["seconds"] > 0 and r["cpu_seconds"] > 0 and r["designs_evaluated"] >= 1


def test_every_run_is_counted_once(doc):
    cfg = doc["config"]
    for r in _by(doc).values():
        assert r["executor_tasks"] == r["runs"] + r["final_runs"]  # the evaluator never runs a replication twice
        assert r["final_runs"] == cfg["final"] and r["runs"] <= cfg["budget_runs"]
        assert all(f["n"] == cfg["final"] for f in r["fresh"])


def test_replications_per_design(doc):
    cfg = doc["config"]
    base, opt = _by(doc)["baseline"], _by(doc)["optimiser"]
    assert base["replications_per_design"] == [cfg["most"]] * base["designs_evaluated"]
    assert base["pilot_runs"] in (0, cfg["first"])
    assert base["runs"] == base["designs_evaluated"] * cfg["most"] + base["pilot_runs"]
    assert all(cfg["first"] <= n <= cfg["most"] for n in opt["replications_per_design"])
    assert len(opt["replications_per_design"]) == opt["designs_evaluated"]


def test_ratios_are_of_the_same_round(doc):
    base, opt = _by(doc)["baseline"], _by(doc)["optimiser"]
    assert base["seed"] == opt["seed"] == doc["seed"] + 1
    assert doc["ratios"]["runs"]["per_round"] == [base["runs"] / opt["runs"]]
    assert doc["ratios"]["seconds"]["median_of_ratios"] == pytest.approx(base["seconds"] / opt["seconds"])
    assert doc["medians"]["optimiser"]["runs"] == opt["runs"]
    assert doc["source"]["commit"] and doc["source_changed_during_run"] in (True, False)


def test_fresh_check_reproduces_the_optimisers(bench, doc, tmp_path):
    """The baseline's fresh check, run on the optimiser's chosen design, gives the optimiser's own numbers."""
    from sim.loading import load_scenario
    from sim.optimise import load_spec
    from sim.optimise.design import StaffingSpace
    from sim.optimise.evaluate import Evaluator

    opt = _by(doc)["optimiser"]
    cfg = bench.Config(**doc["config"])
    spec = load_spec(bench.write_files(cfg, opt["seed"], tmp_path))
    design = StaffingSpace(spec, load_scenario(spec.scenario_path())).design(opt["chosen_key"])
    table = bench.fresh_table(spec, Evaluator(seed=opt["seed"], budget_runs=0), design, cfg.final)
    assert list(table["mean"]) == [f["mean"] for f in opt["fresh"]]
    assert list(table["met"]) == [f["met"] for f in opt["fresh"]]
