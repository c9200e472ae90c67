"""A county-year: seconds and peak memory per replication (issue target: <= 10 s and < 1 GB).

The county file scaled to about 800 cases a working day (every case type's
arrivals multiplied by one factor) with window positions and back-office
staff multiplied by the same factor, rounded up, so every station keeps the
county file's utilisation (``--positions N`` scales staff to about N instead;
the issue's 216 leaves stations overloaded and queues growing all year),
run for 250 working days.  Each replication runs in a fresh process so its peak
resident memory is its own.

    python benchmarks/bench_county_year.py                 # 3 replications, medians
    python benchmarks/bench_county_year.py --days 50       # a shorter year for a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scaled(per_day: float = 800, positions: int = 0, days: float = 250):
    from sim import load_scenario

    s = load_scenario(ROOT / "scenarios" / "county_before_reform.yaml")
    a = per_day / sum(c.arrivals.per_day for c in s.case_types)
    have = sum(w.positions for w in s.windows) + sum(sum(d.staff.values()) for d in s.departments)
    b = positions / have if positions else a
    return s.evolve(
        case_types=[{**c.model_dump(), "arrivals": {**c.arrivals.model_dump(), "per_day": c.arrivals.per_day * a}}
                    for c in s.case_types],
        windows=[{**w.model_dump(), "positions": math.ceil(w.positions * b)} for w in s.windows],
        departments=[{**d.model_dump(), "staff": {k: math.ceil(v * b) for k, v in d.staff.items()}} for d in s.departments],
        run={**s.run.model_dump(), "horizon_working_days": days, "warmup_working_days": 0},
    )


def _one(args: list[str]) -> None:  # in the child: one replication, print seconds, cases, peak MB
    import resource
    import time

    from sim import simulate

    per_day, positions, days, rep = float(args[0]), int(args[1]), float(args[2]), int(args[3])
    s = scaled(per_day, positions, days)
    t0 = time.perf_counter()
    r = simulate(s, seed=1, replication=rep)
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    staff = sum(w.positions for w in s.windows) + sum(sum(d.staff.values()) for d in s.departments)
    print(json.dumps({"seconds": dt, "cases": len(r.cases), "peak_mb": peak_mb, "staff": staff}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _one(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-day", type=float, default=800)
    ap.add_argument("--positions", type=int, default=0, help="staffed positions (default: scaled with the arrivals)")
    ap.add_argument("--days", type=float, default=250)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    runs = []
    for rep in range(args.reps):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(args.per_day), str(args.positions), str(args.days), str(rep)],
            capture_output=True, text=True, check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    sec = statistics.median(r["seconds"] for r in runs)
    mb = statistics.median(r["peak_mb"] for r in runs)
    cases = statistics.median(r["cases"] for r in runs)
    print(f"county-year: {args.per_day:g} cases per working day, {runs[0]['staff']} staffed positions, "
          f"{args.days:g} working days, {cases:,.0f} cases; medians of {args.reps} replications")
    print(f"  {sec:6.1f} s per replication (target <= 10 s), peak {mb:,.0f} MB (target < 1024 MB)")


if __name__ == "__main__":
    main()
