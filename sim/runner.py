"""Replications of one scenario: ``run(scenario, replications, seed) -> RunResult``.

Replication ``r`` uses streams spawned from ``(seed, r)`` only, so a run of
10 replications contains the first 5 of a run of 5, and the numbers do not
depend on the order or process in which replications run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pandas as pd

from .engine import simulate
from .kpis import KPIS
from .scenario import Scenario
from .stats import summarise

__all__ = ["RunResult", "run", "shortened"]


@dataclass(frozen=True)
class RunResult:
    """Tables of all replications and the summary with confidence intervals."""

    scenario: Scenario
    seed: int
    replications: int
    kpis: pd.DataFrame  # replication, scope, kpi, value
    summary: pd.DataFrame  # scope, kpi, mean, ci_low, ci_high, std, n
    cases: pd.DataFrame
    stations: pd.DataFrame
    stations_by_hour: pd.DataFrame
    trace: pd.DataFrame | None = field(default=None, repr=False)
    items: pd.DataFrame | None = field(default=None, repr=False)
    per_case: bool = True  # False: summary-only replications (no per-case tables; p90s from a sketch)

    def estimate(self, kpi: str, scope: str = "all") -> tuple[float, float, float]:
        """(mean, ci_low, ci_high) of one KPI."""
        s = self.summary
        row = s[(s["scope"] == scope) & (s["kpi"] == kpi)]
        if row.empty:
            raise KeyError(f"no KPI {kpi!r} in scope {scope!r}")
        r = row.iloc[0]
        return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])

    def values(self, kpi: str, scope: str = "all") -> np.ndarray:
        """One KPI's value in each replication, in replication order (a KeyError if there is none)."""
        k = self.kpis
        sub = k[(k["scope"] == scope) & (k["kpi"] == kpi)].sort_values("replication")
        if sub.empty:
            raise KeyError(f"no KPI {kpi!r} in scope {scope!r}")
        return sub["value"].to_numpy(dtype=float)

    def to_json_dict(self) -> dict:
        """The summary as plain data: every KPI with mean and 95% CI bounds."""
        return summary_json(self.summary, self.scenario, self.seed, self.replications)


def _num(x) -> float | None:
    x = float(x)
    return None if x != x else x  # NaN -> null


def summary_json(summary: pd.DataFrame, scenario: Scenario, seed: int, replications: int) -> dict:
    from . import __version__

    def block(sub: pd.DataFrame) -> dict:
        out = {}
        for r in sub.itertuples(index=False):
            k = KPIS.get(r.kpi)
            out[r.kpi] = {
                "mean": _num(r.mean),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
                "n": int(r.n),
                "unit": k.unit if k else "",
                "zh": k.zh if k else "",
            }
        return out

    case_types, stations = {}, {}
    for scope, sub in summary.groupby("scope", sort=False):
        if scope.startswith("case_type:"):
            case_types[scope.split(":", 1)[1]] = block(sub)
        elif scope.startswith("station:"):
            stations[scope.split(":", 1)[1]] = block(sub)
    return {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "seed": seed,
        "replications": replications,
        "confidence_level": 0.95,
        "horizon_working_days": scenario.run.horizon_working_days,
        "warmup_working_days": scenario.run.warmup_working_days,
        "version": __version__,
        "kpis": block(summary[summary["scope"] == "all"]),
        "case_types": case_types,
        "stations": stations,
    }


def shortened(s: Scenario, scale: float) -> Scenario:
    """A fast run's scenario: horizon and warm-up scaled by ``scale`` (a quick look, not a result)."""
    settings = s.run.model_dump()
    settings["horizon_working_days"] = s.run.horizon_working_days * scale
    settings["warmup_working_days"] = s.run.warmup_working_days * scale
    return s.evolve(run=settings)


def run(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    *,
    trace: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
    executor=None,
    per_case: bool = True,
) -> RunResult:
    """Run replications ``0 .. replications-1`` of ``scenario`` with ``seed``.

    Confidence intervals are Student-t intervals over replications (95%);
    intervals of shares are clipped to [0, 1].

    Defaults come from the scenario's ``run`` settings.  ``progress(done,
    total)`` is called after each replication.  Replications run in this
    process unless ``workers`` > 1 (None: every core) or an ``executor``
    from :mod:`sim.execution` is given; the numbers are the same either way.
    ``per_case=False`` keeps no per-case tables (see :func:`sim.simulate`).
    """
    n = scenario.run.replications if replications is None else int(replications)
    if n < 1:
        raise ValueError(f"replications must be >= 1 (got {n})")
    seed = scenario.run.seed if seed is None else int(seed)
    if executor is not None or workers != 1:
        from .execution import run_jobs

        result = run_jobs({0: (scenario, n, seed, trace, True if per_case else "summary")}, workers, progress, executor)[0]
        return result if per_case else replace(result, per_case=False)
    reps = []
    for r in range(n):
        reps.append(simulate(scenario, seed=seed, replication=r, trace=trace, per_case=per_case))
        if progress is not None:
            progress(r + 1, n)
    return replace(combine(scenario, seed, reps), per_case=per_case)


def combine(scenario: Scenario, seed: int, reps) -> RunResult:
    """One result from replications (in any order; sorted by index)."""
    reps = sorted(reps, key=lambda r: r.replication)

    def cat(name):
        frames = [getattr(r, name) for r in reps if getattr(r, name) is not None]
        return pd.concat(frames, ignore_index=True) if frames else None

    kpis = cat("kpis")
    summary = summarise(kpis)
    shares = summary["kpi"].map(lambda k: KPIS[k].unit == "share" if k in KPIS else False).to_numpy(bool)
    summary.loc[shares, ["ci_low", "ci_high"]] = summary.loc[shares, ["ci_low", "ci_high"]].clip(0.0, 1.0)
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=len(reps),
        kpis=kpis,
        summary=summary,
        cases=cat("cases"),
        stations=cat("stations"),
        stations_by_hour=cat("stations_by_hour"),
        trace=cat("trace"),
        items=cat("items"),
    )
