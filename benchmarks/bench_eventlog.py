"""Event logs: what writing one costs a run, and that a run without one is no slower than before.

Runs the same replications of a scenario several ways, each in a fresh
process, rounds interleaved, and reports median wall time (of the run, not
the imports) and median peak resident memory:

* ``before``: the engine of a git revision (``--against``, default ``HEAD``:
  its ``sim/`` is unpacked into a temporary folder with ``git archive``),
  no log - the baseline of "a run that asks for no log is not slower";
* ``nolog``: this engine, no log (what ``approval-sim run`` does);
* ``log-csv``, ``log-xes.gz``, ``log-ocel``: this engine with ``--log``,
  the trace streamed to disk (``sim.eventlog.run_logged``);
* ``trace-csv``: the trace kept in memory (``run(trace=True)``), then written
  (``write_log``): what streaming saves in memory.

Every variant's run has the same KPIs (checked).  Ratios are to ``nolog``;
``nolog`` against ``before`` should be 1.00 within the noise.

    python benchmarks/bench_eventlog.py                                   # county, 2 replications, 5 rounds
    python benchmarks/bench_eventlog.py --rounds 3 --variants before,nolog --against HEAD~1
    python benchmarks/bench_eventlog.py --rounds 1 --reps 1 --horizon-days 500 --variants nolog,log-xes.gz,trace-csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("before", "nolog", "log-csv", "log-xes.gz", "log-ocel", "trace-csv")
SUFFIX = {"log-csv": ".csv", "log-xes.gz": ".xes.gz", "log-ocel": ".jsonocel", "trace-csv": ".csv"}


def child(variant: str, scenario_path: str, reps: int, seed: int, out_dir: str, horizon: float | None = None) -> dict:
    """One timed run in this (fresh) process; prints a JSON line."""
    import sim
    import numpy as np

    from sim import load_scenario, run

    s = load_scenario(scenario_path)
    if horizon is not None:  # a longer run: a larger log
        s = s.evolve(run={**s.run.model_dump(), "horizon_working_days": horizon})
    path = Path(out_dir) / f"{variant}{SUFFIX.get(variant, '')}"
    t0 = time.perf_counter()
    events = None
    if variant in ("before", "nolog"):
        result = run(s, replications=reps, seed=seed)
    elif variant == "trace-csv":
        from sim.eventlog import write_log

        result = run(s, replications=reps, seed=seed, trace=True)
        events = write_log(result, path).events
    else:
        from sim.eventlog import run_logged

        result, written = run_logged(s, path, reps, seed)
        events = written.events
    seconds = time.perf_counter() - t0
    values = result.kpis.sort_values(["replication", "scope", "kpi"])["value"].to_numpy(dtype=float)
    digest = hashlib.sha256(np.nan_to_num(values, nan=-1.0, posinf=-2.0, neginf=-3.0).tobytes()).hexdigest()
    return {
        "variant": variant, "seconds": seconds, "events": events,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "kpis": digest, "cases": int(len(result.cases)),
        "bytes": path.stat().st_size if path.exists() else None,
        "package": str(Path(sim.__file__).resolve().parent),
    }


def unpack(ref: str, into: Path) -> Path:
    """The ``sim`` package at git revision ``ref``, unpacked under ``into`` (the repository is only read)."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, "sim"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_child(variant: str, args, out_dir: Path, old: Path | None) -> dict:
    env = dict(os.environ)
    if variant == "before":
        env["PYTHONPATH"] = str(old)  # the old package comes first on the path
    else:
        env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--scenario", args.scenario,
           "--reps", str(args.reps), "--seed", str(args.seed), "--out-dir", str(out_dir)]
    if args.horizon_days is not None:
        cmd += ["--horizon-days", str(args.horizon_days)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(out_dir))
    if p.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{p.stderr}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    expected = (old if variant == "before" else ROOT) / "sim"
    if Path(out["package"]) != expected.resolve():  # e.g. an install that shadows PYTHONPATH
        raise SystemExit(f"{variant} imported {out['package']}, not {expected}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "county_before_reform.yaml"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--horizon-days", type=float, default=None, help="replace the file's horizon (working days)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--against", default="HEAD", help="git revision whose engine is 'before' (default HEAD)")
    ap.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.scenario, args.reps, args.seed, args.out_dir, args.horizon_days)))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    args.scenario = str(Path(args.scenario).resolve())
    by: dict[str, list[dict]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="bench-eventlog-") as tmp:
        old = unpack(args.against, Path(tmp) / "before") if "before" in variants else None
        for k in range(args.rounds):
            for v in variants:  # interleaved: slow drifts of the machine hit every variant alike
                out_dir = Path(tmp) / f"round{k}"
                out_dir.mkdir(exist_ok=True)
                by[v].append(run_child(v, args, out_dir, old))
                print(f"round {k + 1}/{args.rounds} {v}: {by[v][-1]['seconds']:.2f} s, "
                      f"{by[v][-1]['peak_mb']:.0f} MB", file=sys.stderr)
    kpis = {r["kpis"] for rs in by.values() for r in rs}
    same = "identical" if len(kpis) == 1 else "DIFFERENT"
    base = statistics.median(r["seconds"] for r in by["nolog"]) if "nolog" in by else None
    first = next(iter(by.values()))[0]
    print(f"{Path(args.scenario).name}: {args.reps} replications, {first['cases']} cases, seed {args.seed}; "
          f"medians of {args.rounds} interleaved rounds, each run in a fresh process; KPIs {same} in every run")
    print("| variant | wall s (median) | ratio to nolog | peak MB (median) | activity instances | file MB |")
    print("|---|---|---|---|---|---|")
    for v, rs in by.items():
        sec = statistics.median(r["seconds"] for r in rs)
        mb = statistics.median(r["peak_mb"] for r in rs)
        ratio = f"{sec / base:.2f}x" if base else "-"
        ev = rs[0]["events"] if rs[0]["events"] is not None else "-"
        size = f"{rs[0]['bytes'] / 1e6:.1f}" if rs[0]["bytes"] else "-"
        label = f"before ({args.against})" if v == "before" else v
        print(f"| {label} | {sec:.2f} | {ratio} | {mb:.0f} | {ev} | {size} |")
    return 0 if same == "identical" else 1


if __name__ == "__main__":
    raise SystemExit(main())
