"""Summary-only runs, visit logs folded in windows, and the sketches they rely on, against exact answers.

* ``per_case=False`` must give the same KPIs as the per-case tables: means,
  shares and rates to rounding (1e-9 relative), 90th percentiles within the
  sketch's stated accuracy (0.5% relative, plus the rounding);
* station KPIs from visit logs handed over every few dozen visits must equal
  those of one sweep over the whole log (the integrals are additive; the
  largest queue is the largest over the windows);
* the quantile sketch and the median from counts against NumPy on samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.engine.model as engine_model
from sim import load_scenario, simulate
from sim.engine.records import CASE_DTYPE, ITEM_DTYPE, Recorder
from sim.summaries import RELATIVE_ACCURACY, QuantileSketch, _median_of_counts

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = ["county_before_reform.yaml", "yumen_citizen_centre_after.yaml", "yumen_one_thing_bundle_after.yaml"]


def _short(name: str, days: float = 30):
    s = load_scenario(ROOT / "scenarios" / name)
    return s.evolve(run={**s.run.model_dump(), "horizon_working_days": min(s.run.horizon_working_days, days)})


def _kpis(rep) -> pd.Series:
    return rep.kpis.set_index(["scope", "kpi"])["value"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_summary_only_gives_the_tables_kpis(name):
    s = _short(name)
    full = simulate(s, seed=5, replication=2)
    summ = simulate(s, seed=5, replication=2, per_case=False)
    a, b = _kpis(full), _kpis(summ)
    assert list(a.index) == list(b.index)  # the same KPIs in the same order
    assert summ.items is None and summ.cases.empty and list(summ.cases.columns) == list(full.cases.columns)
    p90 = np.array([k.endswith("_p90") for _, k in a.index])
    both_nan = a.isna().to_numpy() & b.isna().to_numpy()
    assert not (a.isna().to_numpy() ^ b.isna().to_numpy()).any()
    x, y = a.to_numpy()[~both_nan], b.to_numpy()[~both_nan]
    rel = np.abs(x - y) / np.maximum(np.abs(x), 1e-12)
    exact_kind = ~p90[~both_nan]
    assert rel[exact_kind].max() < 1e-9
    # the sketch answers within its accuracy of each order statistic, so of their interpolation too
    assert rel[~exact_kind].max() <= RELATIVE_ACCURACY + 1e-9
    # the run itself is the same: station KPIs agree as closely as the case means
    st = np.array([sc.startswith("station:") for sc, _ in a.index])
    assert np.allclose(a[st].to_numpy(), b[st].to_numpy(), rtol=1e-12, equal_nan=True)


def test_visit_logs_handed_over_in_windows_equal_one_sweep(monkeypatch):
    s = _short("county_before_reform.yaml", 20)
    whole = _kpis(simulate(s, seed=9))  # 20 days of the county: far fewer visits than one hand-over
    monkeypatch.setattr(engine_model, "HAND_OVER_VISITS", 40)  # now handed over about every day
    windows = simulate(s, seed=9)
    folded = _kpis(windows)
    st = [i for i in whole.index if i[0].startswith("station:")]
    assert len(st) > 10
    assert np.allclose(whole[st].to_numpy(), folded[st].to_numpy(), rtol=1e-11, atol=1e-12, equal_nan=True)
    # the largest queue is an integer and must be exactly the same
    qmax = [i for i in st if i[1] == "queue_length_max"]
    assert (whole[qmax].to_numpy() == folded[qmax].to_numpy()).all()
    assert whole[qmax].max() >= 2  # the check is not vacuous: queues do form


@pytest.mark.parametrize("dist", ["lognormal", "exponential", "mixed"])
def test_quantile_sketch_within_its_accuracy(dist):
    rng = np.random.default_rng(4)
    if dist == "lognormal":
        x = rng.lognormal(1.0, 1.5, 50_000)
    elif dist == "exponential":
        x = rng.exponential(3.0, 20_001)
    else:  # zeros, tiny and large values together
        x = np.concatenate([np.zeros(3000), rng.uniform(0, 1e-3, 2000), rng.pareto(1.5, 10_000) * 100])
    sk = QuantileSketch()
    for part in np.array_split(x, 7):  # added in chunks, as a run adds them
        sk.add(part)
    for q in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
        exact = np.quantile(x, q)
        assert abs(sk.quantile(q) - exact) <= RELATIVE_ACCURACY * exact + 1e-12, (q, exact)


def test_median_of_counts_is_numpy_median():
    rng = np.random.default_rng(1)
    for n in [1, 2, 3, 10, 11, 1000]:
        x = rng.integers(0, 4, n)
        assert _median_of_counts(np.bincount(x)) == np.median(x)


def test_records_keep_their_values_in_compact_columns():
    rec = Recorder()
    rec.expect_cases(4)
    row = (3, 7, 12.25, 99.5, 1, 2, 40_000, 3, 2, 1.5, 2.5, 30.0, 5, 4, 3, 2, 1, 120.0, 70_000, 60.0, 15.0)
    rec.case_rows += [row] + [(i,) + row[1:] for i in (2, 0, 1)]  # in any order of completion
    rec.item_rows.append((3_000_000_000, 11, 12.25, 50.0, 60.0, 2, 1, -1, 1))
    rec.flush()
    cases, items = rec.cases(), rec.items()
    assert cases.dtype == CASE_DTYPE and items.dtype == ITEM_DTYPE
    assert tuple(cases[3].tolist()) == row
    assert items[0]["on_time_promised"] == -1 and items[0]["case"] == 3_000_000_000
    assert cases["idx"].tolist() == [0, 1, 2, 3]  # in place by case number
    short = Recorder()
    short.expect_cases(2)
    short.case_rows.append(row[:0] + (0,) + row[1:])
    short.flush()
    with pytest.raises(RuntimeError, match="1 case records for 2 cases"):
        short.cases()


def test_summary_only_runs_alike_in_process_and_on_workers():
    from sim.runner import run

    s = _short("yumen_citizen_centre_after.yaml", 10)
    here = run(s, replications=2, seed=3, per_case=False)
    pool = run(s, replications=2, seed=3, per_case=False, workers=2)
    pd.testing.assert_frame_equal(here.summary, pool.summary)  # digit for digit
    from sim.views import summary_text

    assert not here.per_case and not pool.per_case
    assert "summary-only" in summary_text(here)  # the terminal says the p90s come from a sketch
    tables = run(s, replications=2, seed=3).summary.set_index(["scope", "kpi"])["mean"]
    summ = here.summary.set_index(["scope", "kpi"])["mean"]
    means = [i for i in tables.index if not i[1].endswith("_p90")]
    assert np.allclose(tables[means].to_numpy(), summ[means].to_numpy(), rtol=1e-9, equal_nan=True)


def test_a_run_without_a_visit_sink_returns_whole_logs_with_the_same_kpis():
    from sim.engine.model import Model
    from sim.engine.streams import replication_seed
    from sim.results import build_replication

    s = _short("yumen_citizen_centre_before.yaml", 10)
    out = Model(s, replication_seed(4, 1)).run()
    assert all(st.enter is not None and len(st.enter) == len(st.end) for st in out.stations)
    assert sum(len(st.enter) for st in out.stations) > 100
    a = _kpis(build_replication(out, 4, 1))
    b = _kpis(simulate(s, seed=4, replication=1))
    assert list(a.index) == list(b.index)
    assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, equal_nan=True)


def test_server_pool_serves_first_come_first_served():
    import simpy

    from sim.engine.servers import ServerPool, Visit

    env = simpy.Environment()
    pool = ServerPool(env, 2)
    starts = {}

    def customer(name, arrive, service):
        yield env.timeout(arrive)
        v = Visit(env.now)
        wait = pool.acquire(v)
        if wait is not None:
            yield wait
        starts[name] = env.now
        assert pool.count <= 2
        yield env.timeout(service)
        pool.release(v)

    # two servers; five customers: the third and later wait, and start in order of arrival
    for name, arrive, service in [("a", 0, 10), ("b", 0, 4), ("c", 1, 5), ("d", 2, 1), ("e", 3, 1)]:
        env.process(customer(name, arrive, service))
    env.run()
    assert starts == {"a": 0, "b": 0, "c": 4, "d": 9, "e": 10}
    assert pool.count == 0 and not pool.queue and not pool.users


def test_the_always_open_work_block_gives_the_general_blocks_tables():
    """The always-open form of ``work`` is a fast path: it must equal the calendar form, digit for digit."""
    import types

    from sim.engine.model import Model
    from sim.engine.streams import replication_seed
    from sim.results import build_replication

    s = load_scenario(ROOT / "benchmarks" / "mmc.yaml")
    s = s.evolve(run={**s.run.model_dump(), "horizon_working_days": 20})  # about 26,000 customers
    fast = Model(s, replication_seed(3, 0))
    general = Model(s, replication_seed(3, 0))
    assert fast.work.__func__ is Model._work_always_open
    general.work = types.MethodType(Model.work, general)  # the calendar form, on the always-open clock
    a, b = build_replication(fast.run(), 3, 0), build_replication(general.run(), 3, 0)
    pd.testing.assert_frame_equal(a.cases, b.cases, check_exact=True)
    pd.testing.assert_frame_equal(a.kpis, b.kpis, check_exact=True)
    assert a.kpi("queue_wait_minutes_mean") > 1.0  # queues form: the waits are compared, not zeros
