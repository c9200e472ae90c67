"""Staffing a hall of about 100 window positions to a 90th-percentile wait target: the optimiser against fixed replications.

The hall: six window groups (social security, medical insurance, property
registration, household registration, enterprise opening, tax), one walk-in
item each with a lognormal intake time, open around the clock
(``calendar: always_open``, see "Calendar" below).  Arrivals are scaled so
that the M/M/c (Erlang C) staffing that meets the target adds up to about
``--positions`` (default 100); the scenario and the spec are written to a
temporary directory and read back from there, as a user's files would be.

The spec (``sim/optimise/spec.py``): one target per window group,
``wait_minutes_p90`` at scope ``station:<group>_window`` at most 15 minutes
(tolerance ``--tolerance``, default 2 minutes as in docs/optimisation.md),
one staffing variable per group, ``windows[<group>_window].positions`` from
1 to 3x its Erlang C estimate (about 10^10 designs, so the local search
runs, not the exhaustive one), 90,000 yuan per position a year,
replications first 10 / most 20 / final 20, a budget of 1500 runs, and
replications of 0.4 working days (576 minutes, about 3,500 cases) after a
warm-up of 0.05.  ``--fast``: 20 positions, 0.15 working days, tolerance 3
minutes, replications 5 / 8 / 10, budget 300.  Much smaller halls at that
horizon leave a window group without a single visit in some replication:
its wait is then not measured, which both variants count as a missed
target, for every design at once (the replications share their arrivals).

Two variants solve it, each in its own fresh process per round:

* ``optimiser``: ``sim.optimise.optimise`` as shipped (the Batur-Kim
  sequential feasibility check, Bonferroni over designs x targets);
* ``baseline``: the same search (``sim.optimise.staffing.search_staffing``, the
  same pilot, start, moves and budget) with a judge that gives every design
  exactly ``most`` replications and declares it feasible when the sample
  mean of every target meets its threshold, infeasible otherwise
  (:class:`FixedReplicationsJudge`); its chosen design gets the same
  ``final`` fresh replications (index ``FRESH`` on) as the optimiser's.

Measured per variant and round: wall seconds from reading the spec to the
fresh check (time to solution; CPU seconds of the process and its pool
workers beside them, since other work on the machine inflates wall time
only), simulation runs of the search (the evaluator's count; every task the
executor ran is counted too and must equal it plus the fresh ones), process
pool batches, designs evaluated, the chosen design (positions,
yuan a year) and its fresh-replication estimates against the targets: "met"
when the 95% interval is below the threshold, "missed" when it is above,
"within noise" otherwise, and whether every fresh mean meets its threshold.
Round ``r`` uses seed ``--seed + r`` in both variants (common random numbers
between them); rounds interleave the variants.  The report gives medians
over rounds and the ratios baseline / optimiser of runs and of seconds
(median of the per-round ratios, and the ratio of the medians).  The commit
of the checkout (and any uncommitted change under ``sim/``) is recorded, and
a warning printed if it changed during the run.

Calendar.  The hall is open around the clock by default, so each window
group is the textbook M/M/c-like queue the Erlang C start assumes;
``--calendar office`` (08:30-12:00, 14:30-18:00, the same arrivals per
working minute and the same working minutes observed) measures the same
hall with nights and a lunch break.

    python benchmarks/bench_optimise_staffing.py                    # 100 positions, 3 rounds, every core
    python benchmarks/bench_optimise_staffing.py --fast             # 20 positions, fewer replications (< 60 s)
    python benchmarks/bench_optimise_staffing.py --rounds 5 --json /tmp/optimise.json
    python benchmarks/bench_optimise_staffing.py --fast --json      # the JSON document on stdout, the report on stderr
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import this checkout's sim
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from sim.execution import LocalExecutor  # noqa: E402
from sim.loading import load_scenario  # noqa: E402
from sim.optimise import load_spec, optimise  # noqa: E402
from sim.optimise.design import StaffingSpace  # noqa: E402
from sim.optimise.evaluate import FRESH, Evaluator  # noqa: E402
from sim.optimise.feasibility import FEASIBLE, INFEASIBLE, UNDECIDED  # noqa: E402
from sim.optimise.judge import PILOT, Judge, Verdict  # noqa: E402
from sim.optimise.staffing import search_staffing  # noqa: E402
from sim.queueing import erlang_c  # noqa: E402
from sim.stats import mean_ci  # noqa: E402

VARIANTS = ("optimiser", "baseline")
WAIT_TARGET = 15.0  # minutes, 90th percentile wait at every window group
COST = 90_000.0  # yuan per position a year
ALWAYS_OPEN_DAY = 1440.0
OFFICE_HOURS = ["08:30-12:00", "14:30-18:00"]
OFFICE_DAY = 420.0

# id, name, share of the hall's offered load, mean intake minutes, cv of the intake time
HALL = (
    ("social_security", "社保", 0.22, 12.0, 0.8),
    ("medical_insurance", "医保", 0.18, 10.0, 0.8),
    ("property", "不动产登记", 0.18, 30.0, 0.6),
    ("household", "户政", 0.12, 9.0, 0.7),
    ("enterprise", "企业开办", 0.16, 25.0, 0.6),
    ("tax", "税务", 0.14, 16.0, 0.7),
)


@dataclass(frozen=True)
class Config:
    """What one measurement solves: the hall's size, the run length, the spec's statistical settings."""

    positions: int = 100  # Erlang C staffing of the hall, summed over its window groups (about)
    horizon_days: float = 0.4  # working days observed per replication (always open: 576 minutes)
    warmup_days: float = 0.05
    tolerance: float = 2.0  # minutes either side of the 15-minute threshold (as in docs/optimisation.md)
    first: int = 10
    most: int = 20
    final: int = 20
    budget_runs: int = 1500
    max_factor: int = 3  # each variable's bounds: 1 .. max_factor x its Erlang C estimate
    calendar: str = "always_open"  # or "office": weekdays 08:30-12:00, 14:30-18:00


FULL = Config()
FAST = Config(positions=20, horizon_days=0.15, warmup_days=0.03, tolerance=3.0, first=5, most=8, final=10, budget_runs=300)


# ---------------------------------------------------------------- the hall and the spec


def erlang_staff(a: float, mean_minutes: float, wait_p90: float = WAIT_TARGET) -> int:
    """Fewest M/M/c servers with offered load ``a`` whose 90th-percentile wait is at most ``wait_p90`` minutes."""
    mu = 1.0 / mean_minutes
    lam = a * mu
    c = math.floor(a) + 1
    while True:
        pw = erlang_c(lam, mu, c)
        p90 = 0.0 if pw <= 0.1 else math.log(pw / 0.1) / (c * mu - lam)
        if p90 <= wait_p90:
            return c
        c += 1


def hall_loads(positions: int) -> tuple[float, list[float], list[int]]:
    """(total offered load, load per group, Erlang C staffing per group) with the staffing summing to about ``positions``."""

    def staffing(total: float) -> tuple[list[float], list[int]]:
        loads = [share * total for _, _, share, _, _ in HALL]
        return loads, [erlang_staff(a, mean) for a, (_, _, _, mean, _) in zip(loads, HALL)]

    lo, hi = 0.05, float(positions)
    for _ in range(60):  # the largest load whose staffing is at most ``positions``
        mid = (lo + hi) / 2
        if sum(staffing(mid)[1]) <= positions:
            lo = mid
        else:
            hi = mid
    loads, est = staffing(lo)
    return lo, loads, est


def hall_scenario(cfg: Config) -> tuple[dict, list[int]]:
    """(plain scenario data, Erlang C staffing per window group); every group starts at its estimate."""
    _, loads, est = hall_loads(cfg.positions)
    office = cfg.calendar == "office"
    day = OFFICE_DAY if office else ALWAYS_OPEN_DAY
    calendar = {"start_date": "2025-03-03", "working_weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "office_hours": OFFICE_HOURS} if office else "always_open"
    # the same arrivals per working minute on either calendar; the office run covers the same working minutes
    scale = ALWAYS_OPEN_DAY / day
    data = {
        "name": f"Service hall, {cfg.positions} positions by Erlang C (政务服务大厅)",
        "description": "Six window groups, one walk-in item each; arrivals scaled to the hall's size.",
        "calendar": calendar,
        "sites": [{"id": "hall", "name": "政务服务大厅"}],
        "departments": [{"id": g, "name": name, "site": "hall"} for g, name, *_ in HALL],
        "windows": [{"id": f"{g}_window", "name": f"{name}窗口", "site": "hall", "positions": c, "items": [g]}
                    for (g, name, *_), c in zip(HALL, est)],
        "items": [{"id": g, "name": name, "department": g, "kind": "immediate",
                   "intake_minutes": {"dist": "lognormal", "mean": mean, "cv": cv}}
                  for g, name, _, mean, cv in HALL],
        "case_types": [{"id": g, "name": name, "arrivals": {"per_day": a * day / mean}, "flow": [{"item": g}]}
                       for (g, name, _, mean, _), a in zip(HALL, loads)],
        "run": {"horizon_working_days": cfg.horizon_days * scale, "warmup_working_days": cfg.warmup_days * scale,
                "replications": cfg.final},
    }
    return data, est


def spec_data(cfg: Config, seed: int, est: list[int]) -> dict:
    return {
        "name": f"hall-staffing-{cfg.positions}",
        "description": "Every window group's 90th-percentile wait at most 15 minutes, at the least cost of positions.",
        "scenario": "hall.yaml",
        "seed": seed,
        "targets": [{"kpi": "wait_minutes_p90", "scope": f"station:{g}_window", "at_most": WAIT_TARGET,
                     "tolerance": cfg.tolerance} for g, *_ in HALL],
        "staffing": [{"field": f"windows[{g}_window].positions", "min": 1, "max": max(2, cfg.max_factor * c),
                      "cost_yuan_per_year": COST, "label": g} for (g, *_), c in zip(HALL, est)],
        "replications": {"first": cfg.first, "most": cfg.most, "final": cfg.final},
        "budget_runs": cfg.budget_runs,
    }


def write_files(cfg: Config, seed: int, directory: Path) -> Path:
    """Write ``hall.yaml`` and ``spec.yaml`` into ``directory``; returns the spec's path."""
    data, est = hall_scenario(cfg)
    (directory / "hall.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(spec_data(cfg, seed, est), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the baseline judge


class FixedReplicationsJudge(Judge):
    """The naive judge: every design gets exactly ``reps.most`` replications; feasible when every target's sample mean meets it.

    No sequential sampling, no tolerance, no error split: what a user does
    by hand with a fixed number of replications per candidate.  A
    replication without a value (no visit at the station) is left out of
    that target's mean, as in the optimiser's check.
    """

    def judge(self, designs):
        out, live = self.undecided(designs)
        if live and not self.ev.ensure([(d.scenario, self.reps.most) for d in live]):
            self.budget_cut = True
        for d in live:
            n = self.ev.have(d.scenario)
            if n < self.reps.most:
                v = Verdict(UNDECIDED, replications=n, note="the run budget ran out before its replications")
            else:
                by = []
                for t in self.spec.targets:
                    y = self.ev.values(d.scenario, t.scope, t.kpi, n=self.reps.most)
                    y = y[~np.isnan(y)]  # a replication that did not measure the KPI is left out, as in the optimiser's check
                    m = float(np.mean(y)) if y.size and np.isfinite(y).all() else math.nan
                    ok = math.isfinite(m) and (m <= t.threshold if t.is_at_most else m >= t.threshold)
                    by.append(FEASIBLE if ok else INFEASIBLE)
                v = Verdict(FEASIBLE if all(b == FEASIBLE for b in by) else INFEASIBLE, by, n)
            out[d.key] = self.verdicts[d.key] = v
        return [out[d.key] for d in designs]


class CountingExecutor:
    """A :class:`sim.execution.LocalExecutor` that counts the tasks (simulation runs) and batches it is given."""

    def __init__(self, workers: int):
        self.inner = LocalExecutor(workers)
        self.tasks = 0
        self.batches = 0

    @property
    def description(self) -> str:
        return self.inner.description

    def map(self, fn, tasks, progress=None, each=None):
        tasks = list(tasks)
        self.tasks += len(tasks)
        self.batches += 1
        return self.inner.map(fn, tasks, progress, each=each)


def fresh_table(spec, ev, design, n: int):
    """The chosen design on ``n`` fresh replications (index FRESH on), one row per target, as the optimiser reports it."""
    ev.ensure([(design.scenario, n)], counted=False, start=FRESH)
    rows = []
    for t in spec.targets:
        m, lo, hi, _, k = mean_ci(ev.values(design.scenario, t.scope, t.kpi, start=FRESH, n=n))
        good = hi <= t.threshold if t.is_at_most else lo >= t.threshold
        bad = lo > t.threshold if t.is_at_most else hi < t.threshold
        rows.append((t.scope, t.kpi, m, lo, hi, k, ("<= " if t.is_at_most else ">= ") + f"{t.threshold:g}",
                     "yes" if good else ("no" if bad else "within noise")))
    return pd.DataFrame(rows, columns=["scope", "kpi", "mean", "ci_low", "ci_high", "n", "target", "met"])


# ---------------------------------------------------------------- one measurement


def _fresh_summary(spec, final) -> dict:
    rows = []
    for t in spec.targets:
        r = final[(final["scope"] == t.scope) & (final["kpi"] == t.kpi)]
        if not len(r):
            continue
        r = r.iloc[0]
        mean = float(r["mean"])
        rows.append({"scope": t.scope, "kpi": t.kpi, "mean": mean, "ci_low": float(r["ci_low"]),
                     "ci_high": float(r["ci_high"]), "n": int(r["n"]), "met": str(r["met"]),
                     "mean_meets": bool(math.isfinite(mean) and (mean <= t.threshold if t.is_at_most else mean >= t.threshold))})
    return {
        "fresh": rows,
        "fresh_met": sum(r["met"] == "yes" for r in rows),
        "fresh_within_noise": sum(r["met"] == "within noise" for r in rows),
        "fresh_missed": sum(r["met"] == "no" for r in rows),
        "fresh_means_meet": bool(rows) and all(r["mean_meets"] for r in rows),
        "fresh_worst_mean": max((r["mean"] for r in rows), default=None),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers, joined after every batch)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(variant: str, cfg: Config, seed: int, workers: int, say=None) -> dict:
    """Solve the hall once with ``variant`` in this process; every number the report needs.

    ``designs`` lists every design the search evaluated (not the pilot): its
    decision, replications and the mean of each target over them.
    """
    out = {"variant": variant, "seed": seed, "workers": workers, "config": asdict(cfg)}
    with tempfile.TemporaryDirectory(prefix="bench-optimise-") as tmp:
        path = write_files(cfg, seed, Path(tmp))
        executor = CountingExecutor(workers)
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        if variant == "optimiser":
            result = optimise(path, workers=workers, executor=executor, say=say)
            seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
            spec, chosen, final = result.spec, result.chosen, result.final
            cand, est = result.candidates, result.estimates
            judged = cand[(cand["replications"] > 0) & (cand["decision"] != PILOT)] if len(cand) else cand
            designs = []
            for _, c in judged.iterrows():
                means = []
                for t in spec.targets:
                    e = est[(est["design"] == c["design"]) & (est["scope"] == t.scope) & (est["kpi"] == t.kpi)]
                    means.append(float(e["mean"].iloc[0]) if len(e) else None)
                designs.append({"design": c["design"], "positions": int(sum(int(c[n]) for n in result_names(spec))),
                                "decision": c["decision"], "replications": int(c["replications"]), "means": means})
            out.update(runs=result.runs, final_runs=result.final_runs, method=result.method, budget_cut=result.budget_cut)
        elif variant == "baseline":
            spec = load_spec(path)
            reps = spec.replications
            space = StaffingSpace(spec, load_scenario(spec.scenario_path()))
            ev = Evaluator(seed=seed, budget_runs=spec.budget_runs, executor=executor)
            designs_budget = min(math.prod(v.max - v.min + 1 for v in spec.staffing), spec.max_designs)
            judge = FixedReplicationsJudge(spec, ev, designs_budget, reps)
            chosen, method, _ = search_staffing(spec, space, judge, say or (lambda text: None))
            final = fresh_table(spec, ev, chosen, reps.final) if chosen is not None else None
            seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
            judged = [d for d in judge.order if judge.verdicts[d.key].replications > 0]
            designs = [{"design": d.label, "positions": int(sum(d.key)), "decision": judge.verdicts[d.key].decision,
                        "replications": judge.verdicts[d.key].replications,
                        "means": [float(np.nanmean(ev.values(d.scenario, t.scope, t.kpi))) for t in spec.targets]}
                       for d in judged]
            pilot_key = tuple(v.max for v in spec.staffing)
            out.update(runs=ev.runs, final_runs=reps.final if chosen is not None else 0, method=method,
                       budget_cut=judge.budget_cut,
                       pilot_runs=0 if any(d.key == pilot_key for d in judged) else ev.have(space.design(pilot_key).scenario))
        else:
            raise ValueError(f"unknown variant {variant!r}")
    decisions: dict[str, int] = {}
    for d in designs:
        decisions[d["decision"]] = decisions.get(d["decision"], 0) + 1
    out.update(seconds=seconds, cpu_seconds=cpu, executor_tasks=executor.tasks, executor_batches=executor.batches,
               seconds_per_run=seconds / executor.tasks if executor.tasks else None,
               targets=len(spec.targets), erlang_positions=sum(hall_loads(cfg.positions)[2]),
               designs_evaluated=len(designs), decisions=decisions,
               replications_per_design=[d["replications"] for d in designs], designs=designs)
    if chosen is None:
        out.update(chosen=None, chosen_key=None, positions=None, cost_yuan_per_year=None, fresh=[], fresh_met=0,
                   fresh_within_noise=0, fresh_missed=0, fresh_means_meet=False, fresh_worst_mean=None)
    else:
        out.update(chosen=chosen.label, chosen_key=[int(k) for k in chosen.key], positions=int(sum(chosen.key)),
                   cost_yuan_per_year=float(chosen.cost_yuan_per_year), **_fresh_summary(spec, final))
    return out


def result_names(spec) -> list[str]:
    """The candidates table's column of each staffing variable (its label here)."""
    return [v.label for v in spec.staffing]


# ---------------------------------------------------------------- the driver


def _call(variant: str, cfg: Config, seed: int, workers: int) -> tuple[dict | None, str]:
    """One measurement in a fresh child process (its last stdout line is JSON)."""
    args = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--seed", str(seed),
            "--workers", str(workers), "--config", json.dumps(asdict(cfg))]
    p = subprocess.run(args, capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        return None, (p.stderr.strip().splitlines() or ["(no output)"])[-1] + f" (exit {p.returncode})"
    return json.loads(lines[-1]), ""


def source_state() -> dict:
    """The checkout's commit and its uncommitted changes under ``sim/``: the code the children import."""
    def git(*a):
        p = subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    diff = git("diff", "HEAD", "--", "sim")
    return {"commit": git("rev-parse", "HEAD"), "sim_status": git("status", "--porcelain", "--", "sim"),
            "sim_diff_lines": None if diff is None else len(diff.splitlines())}


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(runs: list[dict]) -> dict:
    """Medians per variant over rounds and the ratios baseline / optimiser (per round, paired by seed)."""
    by = {v: [r for r in runs if r["variant"] == v] for v in VARIANTS}
    med = {}
    for v, rs in by.items():
        if rs:
            med[v] = {k: _median([r[k] for r in rs]) for k in
                      ("seconds", "cpu_seconds", "runs", "seconds_per_run", "executor_batches", "designs_evaluated",
                       "positions", "cost_yuan_per_year", "fresh_met", "fresh_within_noise", "fresh_missed",
                       "fresh_worst_mean")}
            med[v]["found"] = sum(r["chosen"] is not None for r in rs)
            med[v]["fresh_means_meet"] = sum(bool(r["fresh_means_meet"]) for r in rs)
            med[v]["rounds"] = len(rs)
    pairs = {}
    for r in by["optimiser"]:
        b = next((x for x in by["baseline"] if x["seed"] == r["seed"]), None)
        if b is not None:
            pairs[r["seed"]] = (b, r)
    ratios = {}
    for k in ("runs", "seconds", "cpu_seconds"):
        per = [b[k] / o[k] for b, o in pairs.values() if o[k]]
        mo, mb = med.get("optimiser", {}).get(k), med.get("baseline", {}).get(k)
        ratios[k] = {"per_round": per, "median_of_ratios": _median(per),
                     "ratio_of_medians": mb / mo if mo and mb is not None else None}
    return {"medians": med, "ratios": ratios}


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report_line(r: dict) -> str:
    chosen = "no design" if r["chosen"] is None else f"{r['positions']} positions, {r['cost_yuan_per_year'] / 1e4:,.0f} 万元/yr"
    fresh = "" if r["chosen"] is None else (
        f"; fresh {r['final_runs']} reps: {r['fresh_met']} met / {r['fresh_within_noise']} within noise / "
        f"{r['fresh_missed']} missed, worst p90 {_fmt(r['fresh_worst_mean'], '.1f')} min, "
        f"means {'all meet' if r['fresh_means_meet'] else 'DO NOT all meet'}")
    return (f"{r['seconds']:7.1f} s ({r['cpu_seconds']:6.1f} CPU s)  {r['runs']:5d} runs  {r['designs_evaluated']:3d} designs  "
            f"{r['executor_batches']:4d} batches  {chosen}{fresh}"
            f"{'  (budget cut)' if r['budget_cut'] else ''}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="20 positions, shorter runs, fewer replications (< 60 s)")
    ap.add_argument("--positions", type=int, help="the hall's Erlang C staffing, about (default 100; --fast 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="worker processes (default: every core)")
    ap.add_argument("--seed", type=int, default=2026, help="round r uses seed + r")
    ap.add_argument("--tolerance", type=float,
                    help=f"minutes either side of the threshold (default {FULL.tolerance:g}; --fast {FAST.tolerance:g})")
    ap.add_argument("--budget-runs", type=int,
                    help=f"the spec's run budget (default {FULL.budget_runs}; --fast {FAST.budget_runs})")
    ap.add_argument("--calendar", choices=["always_open", "office"], default="always_open",
                    help="office: 08:30-12:00 and 14:30-18:00 on weekdays, the same arrivals per working minute")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json", nargs="?", const="-", metavar="PATH",
                    help="write every raw measurement as JSON to PATH (no PATH: on stdout, the report on stderr)")
    ap.add_argument("--in-process", action="store_true",
                    help="measure in this process, not a fresh one per variant and round (warm caches: for tests)")
    ap.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

    if args.child:
        print(json.dumps(measure(args.child, Config(**json.loads(args.config)), args.seed, workers)))
        return 0

    base = FAST if args.fast else FULL
    changes = {k: v for k, v in (("positions", args.positions), ("tolerance", args.tolerance),
                                 ("budget_runs", args.budget_runs), ("calendar", args.calendar)) if v is not None}
    cfg = Config(**{**asdict(base), **changes})
    variants = [v for v in VARIANTS if v in {x.strip() for x in args.variants.split(",")}]
    out = sys.stderr if args.json == "-" else sys.stdout

    def say(text=""):
        print(text, file=out, flush=True)

    say(f"hall: about {cfg.positions} positions by Erlang C in {len(HALL)} window groups; target wait_minutes_p90 <= "
        f"{WAIT_TARGET:g} min (tolerance {cfg.tolerance:g}) at every group; bounds 1..{cfg.max_factor}x the estimate; "
        f"replications first {cfg.first}, most {cfg.most}, final {cfg.final}; budget {cfg.budget_runs} runs; "
        f"horizon {cfg.horizon_days:g} + warm-up {cfg.warmup_days:g} days ({cfg.calendar}); "
        f"{args.rounds} round(s), {workers} worker(s), "
        f"{'in this process' if args.in_process else 'each variant in a fresh process'}; "
        f"load average {os.getloadavg()[0]:.2f}")
    state = source_state()
    say(f"sim: commit {(state['commit'] or '?')[:10]}"
        + (f", {state['sim_diff_lines']} lines of uncommitted changes under sim/" if state["sim_diff_lines"] else ""))
    runs, failed = [], []
    for r in range(1, args.rounds + 1):
        seed = args.seed + r
        for v in variants:
            if args.in_process:
                res, err = measure(v, cfg, seed, workers), ""
            else:
                res, err = _call(v, cfg, seed, workers)
            if res is None:
                failed.append({"variant": v, "seed": seed, "error": err})
                say(f"round {r} {v:9s}: FAILED: {err}")
                continue
            res["round"] = r
            res["load_average_after"] = os.getloadavg()[0]
            runs.append(res)
            say(f"round {r} {v:9s}: {report_line(res)}")
    summary = summarise(runs)
    changed = source_state() != state
    if changed:
        say("WARNING: the code under sim/ changed during the run (commit or uncommitted changes): rounds may differ in code")
    say()
    say(f"medians over {args.rounds} round(s) (seeds {args.seed + 1}..{args.seed + args.rounds}):")
    say("| variant | wall s | CPU s | search runs | wall s per run | batches | designs | positions | 万元/yr | "
        "fresh: met / within noise / missed | rounds all fresh means meet |")
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    for v, m in summary["medians"].items():
        say(f"| {v} | {_fmt(m['seconds'], '.1f')} | {_fmt(m['cpu_seconds'], '.1f')} | {_fmt(m['runs'], '.0f')} | "
            f"{_fmt(m['seconds_per_run'], '.3f')} | "
            f"{_fmt(m['executor_batches'], '.0f')} | {_fmt(m['designs_evaluated'], '.0f')} | "
            f"{_fmt(m['positions'], '.0f')} | {_fmt(m['cost_yuan_per_year'] and m['cost_yuan_per_year'] / 1e4, ',.0f')} | "
            f"{_fmt(m['fresh_met'], '.0f')} / {_fmt(m['fresh_within_noise'], '.0f')} / {_fmt(m['fresh_missed'], '.0f')} | "
            f"{m['fresh_means_meet']} of {m['rounds']} (found a design: {m['found']}) |")
    for k, unit in (("runs", "runs"), ("seconds", "wall time"), ("cpu_seconds", "CPU time")):
        q = summary["ratios"][k]
        if q["per_round"]:
            rounds = ", ".join(f"{x:.2f}" for x in q["per_round"])
            say(f"baseline / optimiser, {unit}: median {q['median_of_ratios']:.2f}x "
                f"(rounds: {rounds}; ratio of medians {_fmt(q['ratio_of_medians'], '.2f')}x)")
    for f in failed:
        say(f"FAILED {f['variant']} seed {f['seed']}: {f['error']}")
    if args.json:
        doc = {"config": asdict(cfg), "rounds": args.rounds, "workers": workers, "seed": args.seed, "variants": variants,
               "in_process": args.in_process, "erlang_positions": sum(hall_loads(cfg.positions)[2]),
               "source": state, "source_changed_during_run": changed,
               "python": sys.version, "platform": platform.platform(), "cpus": os.cpu_count(),
               "runs": runs, "failed": failed, **summary}
        text = json.dumps(doc, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text)
            say(f"\nraw measurements written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
