"""A claims-style verdict on a planner's target: does the reformed scenario reach it, and how robustly?

The target is a KPI of all cases, at most or at least a value (a reported
claim such as "government time at most 3 working days" is one).  It is
judged like the experiments judge claims (:mod:`sim.experiments.verdicts`),
under the project's one shared assumption set: the reformed scenario at the
shared defaults (value assumptions such as the tolerated share replace the
file's own values, scale assumptions leave them; the page says so and shows
the scenario as it stands beside), then each shared assumption alone at both
ends of its plausible range, then
all of them together at their least and at their most favourable ends.  The
verdict names the assumption values where it flips.  Every run uses the same
seed and replications (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import pandas as pd

from ..errors import Problem, ScenarioError
from ..experiments.assumptions import ASSUMPTIONS, apply_assumptions
from ..experiments.verdicts import MEANINGS, VERDICTS, decide, favourability
from ..kpis import KPIS

__all__ = ["Target", "verdict_key", "verdict_call", "verdict_table", "runs_needed"]


@dataclass(frozen=True)
class Target:
    """``kpi`` (scope all) ``holds_if`` ("<=" at most, ">=" at least) ``claimed``."""

    kpi: str
    holds_if: Literal["<=", ">="]
    claimed: float
    tolerance: float = 0.0

    def __post_init__(self):
        problems = []
        if self.kpi not in KPIS:
            problems.append(Problem("target.kpi", f"unknown KPI {self.kpi!r}"))
        if self.holds_if not in ("<=", ">="):
            problems.append(Problem("target.holds_if", f"expected <= or >=, got {self.holds_if!r}"))
        if not isinstance(self.claimed, (int, float)) or self.claimed != self.claimed:
            problems.append(Problem("target.value", f"expected a number, got {self.claimed!r}"))
        if problems:
            raise ScenarioError(problems, "target")

    def text(self, lang: str = "en") -> str:
        k = KPIS[self.kpi]
        word = {"<=": ("at most", "不超过"), ">=": ("at least", "不低于")}[self.holds_if][1 if lang == "zh" else 0]
        return f"{k.zh if lang == 'zh' else k.en} ({self.kpi}) {word} {self.claimed:g}"


def _ends(name: str) -> tuple:
    a = ASSUMPTIONS[name]
    return (a.low, a.high)


def runs_needed(replications: int) -> int:
    """Replications run at most (fewer when assumptions leave the scenario unchanged)."""
    return replications * (1 + 2 * len(ASSUMPTIONS) + 2)


def verdict_key(reformed, target: Target, replications: int, seed: int) -> tuple:
    return ("verdict", reformed.model_hash(), target, int(replications), int(seed))


def _estimate(result, kpi: str) -> tuple[float, float, float]:
    row = result.summary.set_index(["scope", "kpi"]).loc[("all", kpi)]
    return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])


def verdict_call(reformed, target: Target, replications: int, seed: int, workers: int = 1) -> Callable:
    """``call(progress)`` for the job store; returns ``(verdict, deciding text, estimates table)``."""
    from ..execution import run_jobs

    def call(progress):
        jobs = {"default": (apply_assumptions(reformed, {}), replications, seed, False)}
        for name in ASSUMPTIONS:
            for v in _ends(name):
                jobs[(name, v)] = (apply_assumptions(reformed, {name: v}), replications, seed, False)
        # an assumption that touches nothing in this scenario (no externals, nothing tolerated) gives the
        # same model: run each distinct model once
        by_hash: dict[str, object] = {}
        for k, job in jobs.items():
            by_hash.setdefault(job[0].model_hash(), k)
        unique = {k: jobs[k] for k in by_hash.values()}
        total = replications * (len(unique) + 2)
        first = run_jobs(unique, workers=workers, progress=lambda d, _t: progress(d, total))
        est = {k: _estimate(first[by_hash[job[0].model_hash()]], target.kpi) for k, job in jobs.items()}
        least, most = {}, {}
        for name in ASSUMPTIONS:
            lo, hi = _ends(name)
            f_lo, f_hi = favourability(target, est[(name, lo)][0]), favourability(target, est[(name, hi)][0])
            most[name], least[name] = (lo, hi) if f_lo >= f_hi else (hi, lo)
        corners = {"least": (apply_assumptions(reformed, least), replications, seed, False),
                   "most": (apply_assumptions(reformed, most), replications, seed, False)}
        done = replications * len(unique)
        second = run_jobs(corners, workers=workers, progress=lambda d, _t: progress(done + d, total))
        est.update({k: _estimate(r, target.kpi) for k, r in second.items()})
        ends = {name: {v: est[(name, v)] for v in _ends(name)} for name in ASSUMPTIONS}
        verdict, deciding, _flips = decide(target, est["default"], ends, est["least"], est["most"])
        rows = [("shared defaults / 共享默认假设", "", *est["default"])]
        rows += [(name, ASSUMPTIONS[name].describe_value(v), *est[(name, v)]) for name in ASSUMPTIONS for v in _ends(name)]
        rows += [("all least favourable / 全部最不利", "; ".join(f"{n}={least[n]}" for n in least), *est["least"]),
                 ("all most favourable / 全部最有利", "; ".join(f"{n}={most[n]}" for n in most), *est["most"])]
        table = pd.DataFrame(rows, columns=["setting", "value", "mean", "ci_low", "ci_high"])
        table["holds"] = [target.holds_if == "<=" and m <= target.claimed or target.holds_if == ">=" and m >= target.claimed
                          for m in table["mean"]]
        return verdict, deciding, table

    return call


def verdict_table(target: Target, verdict: str, deciding: str, estimates: pd.DataFrame) -> pd.DataFrame:
    """One claims-style row (as ``claims.csv``: the report colours its verdict)."""
    m, lo, hi = estimates.iloc[0][["mean", "ci_low", "ci_high"]]
    return pd.DataFrame([{
        "claim_id": "page_target", "measure": target.kpi, "claimed": f"{target.holds_if} {target.claimed:g}",
        "simulated_mean": m, "ci_low": lo, "ci_high": hi, "verdict": verdict, "deciding": deciding,
    }])


def verdict_words(verdict: str, lang: str) -> tuple[str, str]:
    """(name, meaning) of a verdict in ``lang``."""
    i = 1 if lang == "zh" else 0
    return VERDICTS[verdict][i], MEANINGS[verdict][i]
