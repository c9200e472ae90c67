"""Engine overhead over plain SimPy on an M/M/c queue (issue target: <= 1.3x).

Runs the same model twice per round, interleaved, and reports the ratio of
median wall times:

* ours: ``benchmarks/mmc.yaml`` loaded through the scenario loader and run by
  ``sim.simulate`` (including building the per-case, per-item and per-station
  tables), on the engine's fused single-visit path;
* general: the same model written as a one-branch ``parallel``, which takes
  the general path that every shipped scenario takes (the same random
  numbers, so the same mean wait to the last digit);
* plain: the same M/M/c queue written as idiomatic SimPy (one process per
  customer, ``with resource.request()``, ``random.expovariate``).

Both mean waits are printed beside the Erlang C value as a sanity check.

    python benchmarks/bench_mmc.py                 # 10^6 customers, 3 rounds
    python benchmarks/bench_mmc.py --customers 200000 --rounds 5
    python benchmarks/bench_mmc.py --paths general    # only the general path against plain SimPy
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import simpy

from sim import load_scenario, simulate
from sim.queueing import erlang_c_wait

HERE = Path(__file__).parent
C, RHO, MEAN_SERVICE = 10, 0.9, 10.0
LAMBDA = RHO * C / MEAN_SERVICE  # per minute


def plain_simpy(n_customers: int, seed: int) -> float:
    """Idiomatic SimPy M/M/c; returns the mean wait in queue (minutes)."""
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
    return sum(waits) / len(waits)


def ours(n_customers: int, seed: int, general: bool = False) -> float:
    scenario = load_scenario(HERE / "mmc.yaml")
    ct = scenario.case_types[0]
    per_day = ct.arrivals.per_day
    changes = {"run": {**scenario.run.model_dump(), "horizon_working_days": n_customers / per_day}}
    if general:  # one-branch parallel: not the fused path
        changes["case_types"] = [{**ct.model_dump(mode="json", exclude_none=True), "flow": [{"parallel": [{"item": "service"}]}]}]
    rep = simulate(scenario.evolve(**changes), seed=seed)
    return rep.kpi("queue_wait_minutes_mean")


def general(n_customers: int, seed: int) -> float:
    return ours(n_customers, seed, general=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paths", choices=["both", "fused", "general"], default="both",
                    help="which engine paths to time against plain SimPy (default both)")
    args = ap.parse_args(argv)
    runs = [("ours", ours)] if args.paths != "general" else []
    runs += [("general", general)] if args.paths != "fused" else []
    runs.append(("plain", plain_simpy))
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    for r in range(args.rounds):
        for name, fn in runs:
            t0 = time.perf_counter()
            wait = fn(args.customers, seed=r + 1)
            dt = time.perf_counter() - t0
            times[name].append(dt)
            print(f"round {r + 1} {name:7s}: {dt:7.2f} s   mean wait {wait:6.3f} min")
    print(f"Erlang C mean wait: {erlang_c_wait(LAMBDA, 1 / MEAN_SERVICE, C):.3f} min")
    m_plain = statistics.median(times["plain"])
    for name, _ in runs[:-1]:
        m = statistics.median(times[name])
        label = "fused path" if name == "ours" else "general path"
        print(f"median {label} {m:.2f} s, plain SimPy {m_plain:.2f} s, ratio {m / m_plain:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
