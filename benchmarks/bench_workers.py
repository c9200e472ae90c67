"""Scaling over local worker processes (issue target: 8 replications on 2 workers >= 1.8x faster than on 1).

Runs the same replications of a shipped scenario on 1 worker (in this
process) and on N worker processes, interleaved, and reports the ratio of
median wall times.  The tables must be equal exactly, and are checked.

    python benchmarks/bench_workers.py                       # county, 8 replications, 1 vs 2 workers
    python benchmarks/bench_workers.py --scenario scenarios/yumen_citizen_centre_before.yaml --workers 2 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from sim import load_scenario
from sim.execution import LocalExecutor, run_jobs

ROOT = Path(__file__).resolve().parent.parent


def timed(scenario, reps: int, seed: int, workers: int):
    t0 = time.perf_counter()
    result = run_jobs({0: (scenario, reps, seed, False)}, executor=LocalExecutor(workers))[0]
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "county_before_reform.yaml"))
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    s = load_scenario(args.scenario)
    one, many = [], []
    for _ in range(args.rounds):
        t1, r1 = timed(s, args.reps, args.seed, 1)
        tn, rn = timed(s, args.reps, args.seed, args.workers)
        pd.testing.assert_frame_equal(r1.kpis, rn.kpis, check_exact=True)
        one.append(t1)
        many.append(tn)
    m1, mn = statistics.median(one), statistics.median(many)
    print(f"{s.name}: {args.reps} replications, medians of {args.rounds} interleaved rounds")
    print(f"  1 worker:  {m1:6.2f} s")
    print(f"  {args.workers} workers: {mn:6.2f} s   speed-up {m1 / mn:.2f}x (target >= {0.9 * args.workers:.1f}x); tables identical")


if __name__ == "__main__":
    main()
