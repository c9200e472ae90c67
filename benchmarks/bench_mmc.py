"""Wall time and peak memory of one M/M/c model, six ways (issue targets: general <= 1.3x lean SimPy in time; general <= 0.25x and summary <= 0.10x Ciw in peak memory).

The model is an M/M/10 queue at utilisation 0.9 (mean service 10 minutes,
arrivals 0.9 a minute; ``benchmarks/mmc.yaml``), 10^6 customers by default.
The variants:

* ``lean``: plain SimPy written for speed, the baseline of the time ratios:
  one process per customer on a ``simpy.Resource``, interarrival and service
  times drawn from ``np.random.default_rng(seed)`` in chunks of 65,536 and
  consumed through an iterator, waits kept as a running sum (no list);
* ``idiomatic``: plain SimPy as a tutorial writes it (``random.expovariate``,
  ``with servers.request()``, a list of waits), a second reference;
* ``fused``: ``mmc.yaml`` run by ``sim.simulate`` as it is, tables built (the
  engine once had a fused single-visit path for this journey; it has none
  now, so this is the general path too, kept as a check);
* ``general``: the same model written as a one-branch ``parallel``, the
  general path every real scenario takes, tables built; it draws the same
  random numbers as ``fused``, so its mean wait must equal ``fused``'s to the
  last digit (checked and printed);
* ``summary``: ``general`` with ``per_case=False`` (summary-only results), if
  ``sim.simulate`` has that keyword; otherwise skipped with a note;
* ``ciw``: Ciw 3.2.7 (``pip install -e '.[bench]'``) on the equivalent
  network (Exponential arrivals at rate 0.9, Exponential service at rate 0.1,
  10 servers) until 10^6 customers have arrived, the mean wait taken from its
  service records; skipped with a note if Ciw cannot be imported.  The
  reference of the memory ratios.

How it is measured.  Every run is a fresh child process
(``bench_mmc.py --child VARIANT --customers N --seed S``) that imports what its
variant needs, loads the model, reports its resident memory at that point
(the import baseline), then times with ``time.perf_counter`` only the run
itself (building the SimPy environment or Ciw simulation, simulating, and
for the engine the result tables, down to the mean wait) and reports its
peak resident memory, ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in MB,
as one JSON line.  Linux hands a child the parent's memory high-water mark
in ``ru_maxrss`` across fork and exec, so this driver imports only the
standard library and stays at about 10 MB; the child's ``VmHWM`` (its own
high-water mark) is recorded too and a warning is printed if the two differ.
Rounds interleave the variants (round 1 runs every variant, then round 2 ...)
and round ``r`` uses seed ``r`` everywhere.  The report gives, per variant,
the median wall time and its ratio to ``lean``, the median peak memory and
its ratio to ``ciw``, each run's mean wait in queue beside the Erlang C value
(``sim.queueing.erlang_c_wait``) as a sanity check, and a Markdown table for
the README.  ``--json PATH`` writes every raw measurement.

    python benchmarks/bench_mmc.py                          # 10^6 customers, 3 rounds, all variants
    python benchmarks/bench_mmc.py --customers 100000 --rounds 1
    python benchmarks/bench_mmc.py --variants lean,general,summary --json /tmp/mmc.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Only the standard library at module level: the driver must stay small (see above).

HERE = Path(__file__).resolve().parent
C, RHO, MEAN_SERVICE = 10, 0.9, 10.0
LAMBDA = RHO * C / MEAN_SERVICE  # arrivals per minute
CHUNK = 65_536
VARIANTS = ("lean", "idiomatic", "fused", "general", "summary", "ciw")
TIME_TARGETS = {"general": 1.3}  # ratio of median wall time to lean
MEMORY_TARGETS = {"general": 0.25, "summary": 0.10}  # ratio of median peak memory to ciw


# ---------------------------------------------------------------- the variants
# Each ``prepare_*`` does the imports and loading that are not timed and
# returns a function of no arguments that runs the model and returns
# (mean wait in queue in minutes, customers counted in that mean).


def prepare_lean(n_customers: int, seed: int):
    import numpy as np
    import simpy

    def run():
        rng = np.random.default_rng(seed)

        def draws(mean):  # exponential variates, CHUNK at a time
            while True:
                yield from rng.exponential(mean, CHUNK).tolist()

        env = simpy.Environment()
        servers = simpy.Resource(env, capacity=C)
        request, release, timeout, process = servers.request, servers.release, env.timeout, env.process
        total_wait = 0.0
        served = 0

        def customer(arrive, service):
            nonlocal total_wait, served
            req = request()
            yield req
            total_wait += env.now - arrive
            served += 1
            yield timeout(service)
            release(req)

        def source():
            gaps, services = draws(1.0 / LAMBDA), draws(MEAN_SERVICE)
            for _ in range(n_customers):
                yield timeout(next(gaps))
                process(customer(env.now, next(services)))

        process(source())
        env.run()
        return total_wait / served, served

    return run


def prepare_idiomatic(n_customers: int, seed: int):
    import random

    import simpy

    def run():
        rnd = random.Random(seed)
        env = simpy.Environment()
        servers = simpy.Resource(env, capacity=C)
        waits: list[float] = []

        def customer(env):
            arrive = env.now
            with servers.request() as req:
                yield req
                waits.append(env.now - arrive)
                yield env.timeout(rnd.expovariate(1.0 / MEAN_SERVICE))

        def source(env):
            for _ in range(n_customers):
                yield env.timeout(rnd.expovariate(LAMBDA))
                env.process(customer(env))

        env.process(source(env))
        env.run()
        return sum(waits) / len(waits), len(waits)

    return run


def _engine_scenario(n_customers: int, general: bool):
    from sim import load_scenario

    scenario = load_scenario(HERE / "mmc.yaml")
    ct = scenario.case_types[0]
    changes = {"run": {**scenario.run.model_dump(), "horizon_working_days": n_customers / ct.arrivals.per_day}}
    if general:  # a one-branch parallel, as real scenarios nest their flows
        changes["case_types"] = [{**ct.model_dump(mode="json", exclude_none=True), "flow": [{"parallel": [{"item": "service"}]}]}]
    return scenario.evolve(**changes)


def _engine_result(rep):
    return rep.kpi("queue_wait_minutes_mean"), int(rep.kpi("cases"))


def _prepare_engine(n_customers: int, seed: int, general: bool, **kw):
    from sim import simulate

    scenario = _engine_scenario(n_customers, general)

    def run():
        return _engine_result(simulate(scenario, seed=seed, **kw))

    return run


def prepare_fused(n_customers: int, seed: int):
    return _prepare_engine(n_customers, seed, general=False)


def prepare_general(n_customers: int, seed: int):
    return _prepare_engine(n_customers, seed, general=True)


def prepare_summary(n_customers: int, seed: int):
    reason = summary_unavailable()
    if reason:
        raise Skip(reason)
    return _prepare_engine(n_customers, seed, general=True, per_case=False)


def prepare_ciw(n_customers: int, seed: int):
    reason = ciw_unavailable()
    if reason:
        raise Skip(reason)
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE)],
        number_of_servers=[C],
    )

    def run():
        ciw.seed(seed)
        q = ciw.Simulation(network)
        q.simulate_until_max_customers(n_customers, method="Arrive")
        records = q.get_all_records()  # service records of the customers who finished
        return sum(r.waiting_time for r in records) / len(records), len(records)

    return run


class Skip(Exception):
    """A variant that cannot run here (a note, not a failure)."""


def summary_unavailable() -> str | None:
    import inspect

    import sim

    if "per_case" in inspect.signature(sim.simulate).parameters:
        return None
    return "sim.simulate has no per_case parameter yet (summary-only mode not in this engine)"


def ciw_unavailable() -> str | None:
    try:
        import ciw  # noqa: F401
    except ImportError as e:
        return f"ciw is not importable ({e}); pip install -e '.[bench]'"
    return None


def ciw_version() -> str | None:
    try:
        import ciw
    except ImportError:
        return None
    return getattr(ciw, "__version__", "?")


# ---------------------------------------------------------------- the child


def _mb_status(field: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def child(variant: str, n_customers: int, seed: int) -> dict:
    out = {"variant": variant, "seed": seed, "customers": n_customers}
    try:
        run = globals()[f"prepare_{variant}"](n_customers, seed)
    except Skip as e:
        return {**out, "skipped": str(e)}
    out["rss_after_imports_mb"] = _mb_status("VmRSS")
    out["peak_after_imports_mb"] = _peak_mb()
    t0 = time.perf_counter()
    wait, counted = run()
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = _peak_mb()
    out["vmhwm_mb"] = _mb_status("VmHWM")
    out["mean_wait"] = wait
    out["counted"] = counted
    return out


def info() -> dict:
    """What the driver needs from ``sim`` without importing it itself."""
    from sim.queueing import erlang_c_wait

    return {
        "erlang_c_wait": erlang_c_wait(LAMBDA, 1.0 / MEAN_SERVICE, C),
        "summary_unavailable": summary_unavailable(),
        "ciw_unavailable": ciw_unavailable(),
        "ciw_version": ciw_version(),
    }


# ---------------------------------------------------------------- the driver


def _call(*args: str) -> tuple[dict | None, str]:
    """Run this file as a child; its last stdout line is JSON.  Returns (result, error text)."""
    p = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        return None, (p.stderr.strip().splitlines() or ["(no output)"])[-1] + f" (exit {p.returncode})"
    return json.loads(lines[-1]), ""


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list from {','.join(VARIANTS)} (default all)")
    ap.add_argument("--json", metavar="PATH", help="write every raw measurement to this JSON file")
    ap.add_argument("--child", choices=VARIANTS + ("info",), help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--paths", choices=["both", "fused", "general"], help=argparse.SUPPRESS)  # the old option
    args = ap.parse_args(argv)
    if args.paths:  # the engine path(s) against both plain SimPy versions
        args.variants = {"both": "lean,idiomatic,fused,general"}.get(args.paths, f"lean,idiomatic,{args.paths}")

    if args.child:
        print(json.dumps(info() if args.child == "info" else child(args.child, args.customers, args.seed)))
        return 0

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        ap.error(f"unknown variant(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(VARIANTS)}")
    variants = [v for v in VARIANTS if v in variants]  # the canonical order

    facts, err = _call("--child", "info")
    if facts is None:
        print(f"cannot import sim for the Erlang C value: {err}", file=sys.stderr)
        return 1
    erlang = facts["erlang_c_wait"]
    skipped: dict[str, str] = {}
    for v, key in (("summary", "summary_unavailable"), ("ciw", "ciw_unavailable")):
        if v in variants and facts[key]:
            skipped[v] = facts[key]
            print(f"note: skipping {v}: {facts[key]}")
    active = [v for v in variants if v not in skipped]
    if "ciw" in active and facts["ciw_version"] != "3.2.7":
        print(f"note: ciw {facts['ciw_version']} found; the measurements of record use 3.2.7 (pip install -e '.[bench]')")
    print(f"M/M/{C}, utilisation {RHO}, mean service {MEAN_SERVICE:g} min, {args.customers:,} customers, "
          f"{args.rounds} round(s), variants {', '.join(active)}; driver peak {_peak_mb():.1f} MB; "
          f"Erlang C mean wait {erlang:.4f} min; load average {_fmt(os.getloadavg()[0] if hasattr(os, 'getloadavg') else None, '.2f')}", flush=True)

    runs: list[dict] = []
    failed: dict[str, str] = {}
    for r in range(1, args.rounds + 1):
        for v in active:
            if v in skipped or v in failed:
                continue
            res, err = _call("--child", v, "--customers", str(args.customers), "--seed", str(r))
            if res is None:
                failed[v] = err
                print(f"round {r} {v:9s}: FAILED: {err}")
                continue
            res["round"] = r
            res["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            if "skipped" in res:
                skipped[v] = res["skipped"]
                print(f"note: skipping {v}: {res['skipped']}")
                continue
            runs.append(res)
            hwm = res.get("vmhwm_mb")
            warn = "" if hwm is None or abs(res["peak_mb"] - hwm) < 1 else f"  (warning: VmHWM {hwm:.1f} MB: ru_maxrss inflated)"
            print(f"round {r} {v:9s}: {res['seconds']:8.2f} s  peak {res['peak_mb']:7.1f} MB  "
                  f"(after imports {_fmt(res['rss_after_imports_mb'], '.1f')} MB)  mean wait {res['mean_wait']:.4f} min  "
                  f"({res['counted'] if res['counted'] is not None else '?'} customers; load {_fmt(res['load_average_after'], '.2f')}){warn}", flush=True)

    by = {v: [x for x in runs if x["variant"] == v] for v in active}
    med = {v: (statistics.median(x["seconds"] for x in rs), statistics.median(x["peak_mb"] for x in rs),
               statistics.median(x["rss_after_imports_mb"] or 0.0 for x in rs)) for v, rs in by.items() if rs}
    t_lean = med.get("lean", (None,))[0]
    m_ciw = med.get("ciw", (None, None))[1]

    print()
    print(f"Erlang C mean wait in queue: {erlang:.4f} min")
    for v, rs in by.items():
        if rs:
            waits = [x["mean_wait"] for x in rs]
            print(f"  {v:9s} mean wait {min(waits):.4f} to {max(waits):.4f} min over {len(rs)} run(s)"
                  f" ({(statistics.mean(waits) / erlang - 1) * 100:+.1f}% against Erlang C on average)")
    if by.get("fused") and by.get("general"):
        pairs = {x["round"]: x["mean_wait"] for x in by["fused"]}
        same = [(pairs[x["round"]] == x["mean_wait"]) for x in by["general"] if x["round"] in pairs]
        if same and all(same):
            print(f"fused and general mean waits are identical to the last digit in all {len(same)} round(s)")
        else:
            print(f"fused and general mean waits DIFFER in {same.count(False)} of {len(same)} round(s)")

    print()
    print("medians:")
    for v, (t, m, base) in med.items():
        tt = f" (target <= {TIME_TARGETS[v]}x: {'met' if t_lean and t / t_lean <= TIME_TARGETS[v] else 'missed'})" if v in TIME_TARGETS and t_lean else ""
        mt = f" (target <= {MEMORY_TARGETS[v]}x: {'met' if m_ciw and m / m_ciw <= MEMORY_TARGETS[v] else 'missed'})" if v in MEMORY_TARGETS and m_ciw else ""
        print(f"  {v:9s} {t:8.2f} s  {_ratio(t, t_lean):>6s} lean{tt};  peak {m:7.1f} MB  {_ratio(m, m_ciw):>6s} ciw{mt};"
              f"  after imports {base:.1f} MB")
    for v, why in {**skipped, **failed}.items():
        print(f"  {v:9s} {'skipped' if v in skipped else 'FAILED'}: {why}")

    print()
    print(f"M/M/{C} at utilisation {RHO}, {args.customers:,} customers, {args.rounds} interleaved round(s), "
          f"medians, each run in a fresh process ({os.cpu_count()}-core machine):")
    print()
    print("| variant | wall s (median) | ratio to lean | peak MB (median) | ratio to ciw |")
    print("|---|---|---|---|---|")
    for v in variants:
        if v in med:
            t, m, _ = med[v]
            print(f"| {v} | {t:.2f} | {_ratio(t, t_lean)} | {m:.0f} | {_ratio(m, m_ciw)} |")
        else:
            print(f"| {v} | {'skipped' if v in skipped else 'failed'} | - | - | - |")

    if args.json:
        doc = {
            "model": {"servers": C, "utilisation": RHO, "mean_service_minutes": MEAN_SERVICE, "arrivals_per_minute": LAMBDA},
            "customers": args.customers, "rounds": args.rounds, "variants": variants,
            "erlang_c_wait": erlang, "ciw_version": facts["ciw_version"], "skipped": skipped, "failed": failed,
            "python": sys.version, "platform": platform.platform(), "cpus": os.cpu_count(),
            "runs": runs,
        }
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"\nraw measurements written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
