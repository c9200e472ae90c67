"""The M/M/c benchmark's plain-SimPy baseline models the queue it claims to (a few seconds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sim.queueing import erlang_c_wait

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_mmc.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mmc", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lean_baseline_matches_erlang_c(bench):
    # M/M/10 at utilisation 0.9: Erlang C gives a mean wait in queue of 6.687 min.
    # Waits at this load are strongly autocorrelated, so the mean of 200,000
    # customers is noisy: over seeds 1-30 its relative error had mean +0.1% and
    # standard deviation 5.9% (largest 10.9%).  25% is about four standard
    # deviations, and still far from the answer of a model with the wrong load
    # (utilisation 0.85 or 0.95 give 3.5 or 16.5 min) or the wrong scale.
    n = 200_000
    wait, served = bench.prepare_lean(n, seed=1)()
    assert served == n
    assert wait == pytest.approx(erlang_c_wait(bench.LAMBDA, 1.0 / bench.MEAN_SERVICE, bench.C), rel=0.25)


def test_child_reports_time_memory_and_wait(bench):
    out = bench.child("lean", 2_000, seed=3)
    assert out["variant"] == "lean" and out["counted"] == 2_000
    assert out["seconds"] > 0 and out["mean_wait"] >= 0
    assert out["peak_mb"] >= out["peak_after_imports_mb"] > 0
    assert bench.child("lean", 2_000, seed=3)["mean_wait"] == out["mean_wait"]  # the seed fixes every draw
