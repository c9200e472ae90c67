"""Running an experiment: scenarios under the shared assumptions, claims, robustness, charts, report.

For each experiment (and each one it ``includes``):

1. every scenario runs under the shared assumption set (with the
   experiment's quoted departures), with common random numbers;
2. every outcome claim's measure is computed with its 95% CI; each deciding
   assumption is moved alone to both ends of its plausible range (tornado),
   then all together to the least and most favourable ends (corners);
3. the verdict follows :mod:`sim.experiments.verdicts`; limit claims are
   arithmetic on the declared limits plus the simulated on-time rate against
   them; input and not-testable claims come from the catalogue as they are.

Everything is written to a new folder: ``tables/`` (claims.csv,
robustness.csv, assumptions.csv, per-scenario summaries), ``charts/`` (PNG and
SVG, English and Chinese), ``manifest.json`` and ``report.html``.  Nothing
already there is overwritten.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import __version__
from ..loading import load_scenario
from ..runner import shortened
from ..stats import mean_ci
from .assumptions import ASSUMPTIONS, apply_assumptions
from .catalogue import Claim, load_claims
from ..execution import run_jobs
from .spec import ClaimTest, Experiment, load_experiment
from .verdicts import VERDICTS, decide, favourability, holds

__all__ = ["run_experiment", "experiments_dir", "list_experiments", "CLAIM_COLUMNS"]

CLAIM_COLUMNS = [
    "claim_id", "place", "seed", "claim", "claim_zh", "kind", "quantity", "experiment", "measure",
    "holds_if", "claimed", "unit", "simulated_mean", "ci_low", "ci_high", "verdict", "verdict_zh",
    "deciding", "flips_in_range", "least_favourable", "holds_least_favourable", "most_favourable",
    "holds_most_favourable", "new_limits_kept",
    "departures", "why",
]


def experiments_dir() -> Path:
    """``./experiments`` if there is one, else the one next to the installed package."""
    here = Path.cwd() / "experiments"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "experiments"


def is_experiment_file(p: Path) -> bool:
    """An experiment spec of ``experiments/``: not the claims catalogue, not an optimisation spec (``optimise-*``)."""
    return p.suffix == ".yaml" and p.name != "claims.yaml" and not p.name.startswith("optimise")


def list_experiments(root: Path | None = None) -> list[Experiment]:
    root = root or experiments_dir()
    return [load_experiment(p) for p in sorted(root.glob("*.yaml")) if is_experiment_file(p)]


@dataclass
class _Plan:
    """The runs one experiment needs, keyed by (experiment, scenario label, assumption overrides)."""

    exp: Experiment
    scenarios: dict  # label -> Scenario (fast-adjusted, before assumptions)
    shared: dict  # assumption -> value (defaults + departures)
    reps: int
    jobs: dict = field(default_factory=dict)
    attribution: pd.DataFrame | None = None

    def key(self, label: str, overrides: dict | None = None, trace: bool = False):
        ov = tuple(sorted((overrides or {}).items()))
        k = (self.exp.name, label, ov, trace)
        if k not in self.jobs:
            values = {**self.shared, **dict(ov)}
            s = apply_assumptions(self.scenarios[label], values)
            # the tables (cases, items, hours) come back only for the runs the charts draw
            self.jobs[k] = (s, 1 if trace else self.reps, self.exp.seed, trace, trace or not ov)
        return k


def _measure(plan: _Plan, results: dict, m, overrides: dict | None) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of a measure under the given assumption overrides."""
    try:
        vals = [results[plan.key(lab, overrides)].values(m.kpi, m.scope) for lab in m.scenarios]
    except KeyError as exc:  # a KPI that this kind of scope does not have
        from ..errors import Problem, ScenarioError

        raise ScenarioError([Problem("tests.measure", f"{exc.args[0]}: choose a KPI of that scope")], plan.exp.source) from None
    if m.scenario:
        x = vals[0]
    else:
        a, b = vals
        n = min(a.size, b.size)
        a, b = a[:n], b[:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = 1.0 - b / a if m.reduction else a - b
    mean, lo, hi, _, _ = mean_ci(x)
    return mean, lo, hi


def _limit_value(plan: _Plan, lim) -> float:
    """Arithmetic on declared limits, in the scenarios as run (a share: 0.74 = 74% shorter)."""
    def total(label: str, basis: str) -> tuple[float, set]:
        s = plan.scenarios[label]
        vals = {}
        for it in s.items:
            if lim.items is not None and it.id not in lim.items:
                continue
            v = it.promised_limit_days if basis == "promised" else it.statutory_limit_days
            if v is not None:
                vals[it.id] = v
        return vals

    if lim.reduction:
        before, after = (total(lab, lim.basis) for lab in lim.reduction)
        common = sorted(set(before) & set(after))
        b = sum(before[i] for i in common)
        a = sum(after[i] for i in common)
        return 1.0 - a / b if b > 0 else math.nan
    prom, stat = total(lim.below_statutory, "promised"), total(lim.below_statutory, "statutory")
    common = sorted(set(prom) & set(stat))
    s = sum(stat[i] for i in common)
    return 1.0 - sum(prom[i] for i in common) / s if s > 0 else math.nan


def _plan(exp: Experiment, fast: bool) -> _Plan:
    shared = {a.id: a.default for a in ASSUMPTIONS.values()}
    shared.update({k: d.value for k, d in exp.departures.items()})
    scenarios = {}
    for label in exp.scenarios:
        s = _load(exp, label)
        if fast:
            s = shortened(s, exp.fast.horizon_scale)
        scenarios[label] = s
    return _Plan(exp, scenarios, shared, exp.fast.replications if fast else exp.replications)


def _load(exp: Experiment, label: str):
    """The scenario of a label: a file, or a reformed file without some reforms or with changed parameters."""
    path = exp.scenario_path(label)
    ref = exp.variant(label)
    if ref is None:
        return load_scenario(path)
    from ..errors import Problem, ScenarioError
    from ..loading import reform_plan
    from ..reforms import apply_reform

    base, plan = reform_plan(path)
    names = [name for name, _ in plan]
    unknown = [(f"scenarios.{label}.without", d) for d in ref.without if d not in names]
    unknown += [(f"scenarios.{label}.set.{d}", d) for d in ref.set if d not in names]
    if unknown:
        raise ScenarioError(
            [Problem(where, f"{path.name} has no reform {d!r} (it has: {', '.join(names)})") for where, d in unknown],
            exp.source,
        )
    for name, params in plan:
        if name not in ref.without:
            base = apply_reform(base, name, **{**params, **ref.set.get(name, {})})
    return base


def _attribution(plan: _Plan, fast: bool, executor=None, progress=None) -> pd.DataFrame:
    """Shapley split of the chosen KPI over the reformed file's reforms, under the shared assumptions.

    Full runs are exact up to 8 reforms and sample 32 orders above; fast runs
    sample 2 orders (one antithetic pair) above 3 reforms; the
    sampling error is stated in the table.  The subsets run on every core.
    """
    from ..attribution import shapley
    from ..loading import attribution_plan

    a = plan.exp.charts.attribution
    base, reforms, groups = attribution_plan(plan.exp.scenario_path(a.scenario))
    if fast:
        base = shortened(base, plan.exp.fast.horizon_scale)
    shared = dict(plan.shared)
    table = shapley(
        base, reforms, a.kpi, a.scope, replications=plan.reps, seed=plan.exp.seed,
        exact_up_to=3 if fast else 8, permutations=2 if fast else 32, groups=groups,
        prepare=lambda s: apply_assumptions(s, shared),
        run_many=lambda jobs: run_jobs(jobs, progress=progress, executor=executor),
    )
    table.insert(0, "experiment", plan.exp.name)
    return table


def _ends(a) -> tuple:
    return (a.low, a.high)


def _robust_keys(plan: _Plan):
    """Phase 1: defaults, and each deciding assumption alone at both ends."""
    for t in plan.exp.tests:
        if t.measure is None:
            continue
        for lab in t.measure.scenarios:
            plan.key(lab)
            for name in t.assumptions:
                for v in _ends(ASSUMPTIONS[name]):
                    plan.key(lab, {name: v})
    for t in plan.exp.tests:
        if t.kept_by is not None:
            for lab in t.kept_by.scenarios:
                plan.key(lab)
    for lab in plan.exp.scenarios:
        plan.key(lab)


def _corners(plan: _Plan, t: ClaimTest, results: dict) -> tuple[dict, dict, dict]:
    """Each assumption's ends with their estimates; least and most favourable settings."""
    ends, least, most = {}, {}, {}
    for name in t.assumptions:
        a = ASSUMPTIONS[name]
        by_value = {v: _measure(plan, results, t.measure, {name: v}) for v in _ends(a)}
        ends[name] = by_value
        lo_v, hi_v = _ends(a)
        f_lo, f_hi = (favourability(t, by_value[v][0]) for v in (lo_v, hi_v))
        most[name], least[name] = (lo_v, hi_v) if f_lo >= f_hi else (hi_v, lo_v)
    return ends, least, most


def _scopes(s) -> set[str]:
    """Every scope a scenario's results have: all, case types, items, windows and department roles."""
    out = {"all"} | {f"case_type:{ct.id}" for ct in s.case_types} | {f"item:{it.id}" for it in s.items}
    out |= {f"station:{w.id}" for w in s.windows}
    out |= {f"station:{d.id}.{role}" for d in s.departments for role in d.staff}
    return out


def _check_scopes(plan: _Plan) -> None:
    """A misspelt scope is an error naming the experiment file and field, before anything runs."""
    from ..errors import Problem, ScenarioError

    problems = []
    for i, t in enumerate(plan.exp.tests):
        for m, where in ((t.measure, "measure"), (t.kept_by, "kept_by")):
            if m is None:
                continue
            for lab in m.scenarios:
                known = _scopes(plan.scenarios[lab])
                if m.scope not in known:
                    import difflib

                    close = difflib.get_close_matches(m.scope, sorted(known), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(Problem(f"tests[{i}].{where}.scope", f"scenario {lab!r} has no scope {m.scope!r}{hint}"))
    if problems:
        raise ScenarioError(problems, plan.exp.source)


def _run_experiment_tables(exp: Experiment, claims: dict[str, Claim], fast: bool, executor, progress):
    plan = _plan(exp, fast)
    _check_scopes(plan)
    _robust_keys(plan)
    if exp.charts.compare:
        for lab in exp.charts.compare[1:] if fast else exp.charts.compare:
            plan.key(lab, trace=True)
    results = run_jobs(dict(plan.jobs), progress=progress, executor=executor)
    # phase 2: corners
    corner_keys = {}
    for t in exp.tests:
        if t.measure is None or not t.assumptions:
            continue
        _, least, most = _corners(plan, t, results)
        corner_keys[t.claim] = (least, most)
        for setting in (least, most):
            for lab in t.measure.scenarios:
                plan.key(lab, setting)
    missing = {k: v for k, v in plan.jobs.items() if k not in results}
    if missing:
        results.update(run_jobs(missing, progress=progress, executor=executor))

    attribution = _attribution(plan, fast, executor, progress) if exp.charts.attribution is not None else None
    plan.attribution = attribution

    departures = "; ".join(
        f"{k} = {d.value} (seed {d.seed}: {d.quote})" for k, d in exp.departures.items()
    ) or "none"
    claim_rows, robust_rows = [], []
    for t in exp.tests:
        c = claims.get(t.claim)
        row = _claim_base(c, t.claim)
        row.update({
            "experiment": exp.name, "holds_if": t.holds_if,
            "claimed": t.claimed if not isinstance(t.claimed, tuple) else f"{t.claimed[0]:g}-{t.claimed[1]:g}",
            "unit": t.unit, "departures": departures,
        })
        if t.note:
            row["why"] = (row.get("why") or "") + (" " if row.get("why") else "") + t.note
        if t.limit is not None:
            v = _limit_value(plan, t.limit)
            lim = t.limit
            what = (f"declared {lim.basis} limits, 1 - after/before ({lim.reduction[0]} -> {lim.reduction[1]})"
                    if lim.reduction else f"declared promised vs statutory limits in {lim.below_statutory}")
            agrees = favourability(t, v) >= 0
            row.update({
                "kind": "limit", "measure": what, "simulated_mean": v, "ci_low": v, "ci_high": v,
                "verdict": "limit", "deciding": (
                    f"the declared limits give {v:.1%}: "
                    + ("in line with the claim" if agrees else "not what the report says")
                ),
            })
            if t.kept_by is not None:
                m, lo, hi = _measure(plan, results, t.kept_by, None)
                row["new_limits_kept"] = m
                row["deciding"] += f"; simulated government time keeps the limits in {m:.1%} [{lo:.1%}, {hi:.1%}] of items"
        else:
            default = _measure(plan, results, t.measure, None)
            ends, least_s, most_s = ({}, None, None)
            least = most = None
            if t.assumptions:
                ends, _, _ = _corners(plan, t, results)
                least_s, most_s = corner_keys[t.claim]
                least = _measure(plan, results, t.measure, least_s)
                most = _measure(plan, results, t.measure, most_s)
            verdict, deciding, flips = decide(t, default, ends, least, most)
            m = t.measure
            what = m.kpi + (f" [{m.scope}]" if m.scope != "all" else "")
            what += (f" in {m.scenario}" if m.scenario else
                     f", 1 - {m.reduction[1]}/{m.reduction[0]}" if m.reduction else f", {m.difference[0]} - {m.difference[1]}")
            row.update({
                "measure": what, "simulated_mean": default[0], "ci_low": default[1], "ci_high": default[2],
                "verdict": verdict, "deciding": deciding, "flips_in_range": flips,
                "least_favourable": least[0] if least else math.nan,
                "holds_least_favourable": holds(t, least[0]) if least else None,
                "most_favourable": most[0] if most else math.nan,
                "holds_most_favourable": holds(t, most[0]) if most else None,
            })
            for name in t.assumptions:
                a = ASSUMPTIONS[name]
                (lo_v, est_lo), (hi_v, est_hi) = ends[name].items()
                robust_rows.append({
                    "claim_id": t.claim, "experiment": exp.name, "assumption": name,
                    "label_en": a.en, "label_zh": a.zh, "low_value": lo_v, "high_value": hi_v,
                    "measure_low": est_lo[0], "measure_high": est_hi[0], "base": default[0],
                    "claimed": t.claimed if not isinstance(t.claimed, tuple) else math.nan,
                    "verdict_low": "holds" if favourability(t, est_lo[0]) >= 0 else "fails",
                    "verdict_high": "holds" if favourability(t, est_hi[0]) >= 0 else "fails",
                    "why": a.why,
                })
        row["verdict_zh"] = VERDICTS[row["verdict"]][1]
        claim_rows.append(row)
    return plan, results, claim_rows, robust_rows


def _claim_base(c: Claim | None, claim_id: str) -> dict:
    if c is None:
        return {"claim_id": claim_id, "claim": claim_id, "kind": "outcome"}
    return {
        "claim_id": c.id, "place": c.place, "seed": c.seed, "claim": c.claim_en, "claim_zh": c.claim_zh,
        "kind": c.kind, "quantity": c.quantity, "why": c.why.strip(),
    }


def _untested_rows(claims: dict[str, Claim], tested: set) -> list[dict]:
    rows = []
    for c in claims.values():
        if c.id in tested:
            continue
        row = _claim_base(c, c.id)
        if c.kind == "input":
            row["verdict"] = "input"
        elif c.kind == "limit":
            row["verdict"] = "limit"
            row["deciding"] = "a declared limit: arithmetic on the report's own yardsticks; no experiment declares it yet"
        elif c.kind == "not_testable":
            row["verdict"] = "not_testable"
        else:
            row["verdict"] = "not_testable"
            row["deciding"] = "no shipped scenario and experiment test this claim yet"
        row["verdict_zh"] = VERDICTS[row["verdict"]][1]
        rows.append(row)
    return rows


def _collect(exp: Experiment, root: Path, seen=()) -> list[Experiment]:
    out = [exp] if exp.tests or exp.scenarios else []
    for name in exp.includes:
        if name in seen:
            continue
        sub = load_experiment(root / f"{name}.yaml")
        out += _collect(sub, root, (*seen, exp.name, name))
    return out


def run_experiment(
    exp: Experiment | str | Path,
    *,
    fast: bool = False,
    out: str | Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
    charts: bool = True,
    executor=None,
) -> Path:
    """Run an experiment (a spec, or its name in ``experiments/``) and write its results folder.

    Replications run on ``executor`` (:mod:`sim.execution`), by default on
    ``workers`` local processes (every core if None); charts are drawn locally.
    """
    from ..execution import LocalExecutor
    from ..export import check_out_dir, staged_dir

    executor = executor or LocalExecutor(workers)

    root = experiments_dir()
    if not isinstance(exp, Experiment):
        p = Path(exp)
        if p.suffix not in (".yaml", ".yml"):
            p = root / f"{exp}.yaml"
            if not p.is_file():
                import difflib

                from ..errors import Problem, ScenarioError

                known = sorted(q.stem for q in root.glob("*.yaml") if is_experiment_file(q))
                close = difflib.get_close_matches(str(exp), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ScenarioError(
                    [Problem("experiment", f"unknown experiment {str(exp)!r}{hint}; known: {', '.join(known)}")],
                    str(root),
                )
        if p.name.startswith("optimise"):
            from ..errors import Problem, ScenarioError

            raise ScenarioError([Problem("experiment", f"{p.name} is an optimisation spec: run approval-sim optimise {p}")], str(p))
        exp = load_experiment(p)
        root = Path(exp.source).parent
    catalogue = root / "claims.yaml"
    claims = load_claims(catalogue) if catalogue.is_file() else {}
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    final = Path(out) if out else Path("results") / f"{exp.name}{'-fast' if fast else ''}-{stamp}"
    check_out_dir(final)

    parts = _collect(exp, root)
    claim_rows, robust_rows, summaries, plans = [], [], {}, []
    for sub in parts:
        plan, results, rows, rob = _run_experiment_tables(sub, claims, fast, executor, progress)
        claim_rows += rows
        robust_rows += rob
        plans.append((plan, results))
        for lab in sub.scenarios:
            r = results[plan.key(lab)]
            summaries[f"summary_{sub.name}_{lab}.csv"] = r.summary
        if plan.attribution is not None:
            summaries[f"attribution_{sub.name}.csv"] = plan.attribution
    if exp.includes or not exp.tests:  # a claims run: every claim of the catalogue, tested or not
        claim_rows += _untested_rows(claims, {r["claim_id"] for r in claim_rows})
    claims_table = pd.DataFrame(claim_rows).reindex(columns=CLAIM_COLUMNS)
    robustness = pd.DataFrame(robust_rows)

    with staged_dir(final) as tmp:  # renamed into place only when complete, with the user's usual permissions
        (tmp / "tables").mkdir()
        (tmp / "charts").mkdir()
        claims_table.to_csv(tmp / "tables" / "claims.csv", index=False)
        robustness.to_csv(tmp / "tables" / "robustness.csv", index=False)
        _assumptions_table(parts).to_csv(tmp / "tables" / "assumptions.csv", index=False)
        for name, df in summaries.items():
            df.to_csv(tmp / "tables" / name, index=False)
        if charts:
            from .figures import write_charts

            write_charts(tmp / "charts", parts, plans, claims_table, robustness, fast=fast, workers=workers)
        manifest = _manifest(exp, parts, plans, fast, command)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "notes.md").write_text(_notes(claims_table), encoding="utf-8")
        if charts:
            from ..charts import build_report

            build_report(tmp)
    return final


def _assumptions_table(parts) -> pd.DataFrame:
    rows = []
    for a in ASSUMPTIONS.values():
        deps = [f"{e.name}: {e.departures[a.id].value} (seed {e.departures[a.id].seed})" for e in parts if a.id in e.departures]
        rows.append({
            "assumption": a.id, "label_en": a.en, "label_zh": a.zh, "kind": a.kind, "default": a.default,
            "low": a.low, "high": a.high, "why": a.why, "departures": "; ".join(deps) or "none",
        })
    return pd.DataFrame(rows)


def _manifest(exp, parts, plans, fast, command) -> dict:
    scen = {}
    for sub, (plan, _) in zip(parts, plans):
        for lab in sub.scenarios:
            path = str(sub.scenario_path(lab))
            as_run = plan.jobs[plan.key(lab)][0]
            scen[path] = {"file_hash": plan.scenarios[lab].content_hash(), "as_run_hash": as_run.content_hash()}
    return {
        "experiment": exp.name,
        "title_en": exp.title_en, "title_zh": exp.title_zh,
        "description": exp.description,
        "command": command or " ".join(sys.argv),
        "package_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seed": exp.seed,
        "seeds": {sub.name: sub.seed for sub in parts},
        "replications": {sub.name: (sub.fast.replications if fast else sub.replications) for sub in parts},
        "fast": fast,
        "experiments": [sub.name for sub in parts],
        "scenarios": scen,
        "assumptions": {a.id: a.default for a in ASSUMPTIONS.values()},
        "departures": {sub.name: {k: d.model_dump() for k, d in sub.departures.items()} for sub in parts},
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _notes(claims: pd.DataFrame) -> str:
    """Counts of verdicts in this run (the meanings are in the report and in sim.experiments.verdicts)."""
    counts = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    lines = ["Verdicts in this run / 本次结论统计", ""]
    for k, (en, zh) in VERDICTS.items():
        lines.append(f"- {en} / {zh}: {counts.get(k, 0)}")
    flips = claims[claims["flips_in_range"] == True] if "flips_in_range" in claims else claims.iloc[0:0]  # noqa: E712
    if len(flips):
        lines += ["", "Claims whose verdict flips inside the plausible range / 结论在合理假设范围内翻转的声明", ""]
        lines += [f"- {r.claim_id}: {r.deciding}" for r in flips.itertuples()]
    return "\n".join(lines) + "\n"
