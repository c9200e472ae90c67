"""The optimisation part of the planners' page, without the web framework.

A planner either runs a shipped optimisation spec (``experiments/optimise*.yaml``)
or builds a staffing spec here on the scenario the page holds: one target (a
KPI of :mod:`sim.kpis` in a scope, at most or at least a threshold), the
window groups and back-office roles whose staffing may change (the
optimiser's field paths ``windows[ID].positions`` and
``departments[ID].staff.ROLE``), their bounds and the cost of one position a
year.  Either becomes an :class:`OptimisationRequest`: its ``key`` (what the
answer depends on) and ``call`` (``call(progress)`` runs :func:`sim.optimise.optimise`)
go to :meth:`sim.web.jobs.JobStore.run`, so a rerun of the page finds the same
job instead of starting another.

An optimisation spec names its scenario by path and :func:`~sim.optimise.optimise`
reads it from there.  The page's scenario may have been edited and has no
file, so a built request writes it to a temporary file for the run (checked
to load back to the same content) and removes it when the run ends.

The result views (:func:`chosen_view`, :func:`final_view`, :func:`statement`,
:func:`pareto_png`, :func:`downloads`) give the chosen design, its KPIs on
fresh replications, the confidence statement, the Pareto chart and the
files ``approval-sim optimise --out`` writes, in English or Chinese.
Bad input is a :class:`~sim.errors.ScenarioError` with the command line's
words, never a traceback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..errors import Problem, ScenarioError
from ..kpis import CASE_KPIS, ITEM_KPIS, KPIS, STATION_KPIS
from ..optimise.spec import OptimisationSpec
from ..scenario import Scenario

__all__ = ["TEXT", "OptimisationRequest", "StaffingField", "shipped_specs", "shipped_request", "staffing_fields",
           "target_scopes", "scope_kpis", "scope_label", "kpi_label", "target_lines", "default_threshold", "build_staffing_spec",
           "built_request", "space_size", "error_lines", "texts"]

ROOT = Path(__file__).resolve().parents[2]
PAGE_SCENARIO = "(the scenario on the page)"  # what a built spec names as its scenario until a run writes it to a file

TEXT = {  # every label of the optimisation section in both languages
    "title": ("Optimisation", "优化方案"),
    "intro": ("The cheapest staffing (or reform package) that meets the targets, judged by a sequential feasibility "
              "check with a stated confidence, and re-checked on fresh replications.",
              "满足目标的最低成本人员配置(或改革组合):以序贯可行性检验按给定置信度判定,并用新的独立重复复核。"),
    "source": ("What to optimise", "优化内容"),
    "source_shipped": ("A shipped optimisation spec", "内置优化方案"),
    "source_build": ("The staffing of this scenario, set here", "在此设定当前场景的人员配置"),
    "spec": ("Optimisation spec", "优化方案文件"),
    "spec_scenario": ("Scenario of the spec", "方案所用场景"),
    "targets": ("Targets (every one must hold)", "目标(须全部满足)"),
    "target": ("Target", "目标"),
    "scope": ("Where the target applies", "目标范围"),
    "kpi": ("KPI", "指标"),
    "side": ("The KPI must be", "指标要求"),
    "at_most": ("at most", "不超过"),
    "at_least": ("at least", "不低于"),
    "threshold": ("Threshold", "阈值"),
    "tolerance": ("Tolerance (blank: 5% of the threshold, 0.005 for shares)", "容差(留空:阈值的5%,比例为0.005)"),
    "tol": ("tolerance", "容差"),
    "share_note": ("Shares are written as fractions: 0.9 for 90%.", "比例以小数填写:90%填0.9。"),
    "variables": ("Staffing that may change", "可调整的人员配置"),
    "fewest": ("fewest", "最少"),
    "most": ("most", "最多"),
    "now": ("now", "现有"),
    "cost": ("Cost of one position or staff member a year (yuan)", "每个岗位(人员)每年成本(元)"),
    "cost_help": ("Your own figure: the default 80,000 is an illustrative assumption, not a sourced cost.",
                  "请填写实际成本:默认值80,000元仅为示例假设,并非有据成本。"),
    "space_exhaustive": ("{n} designs: every one judged, cheapest first", "共{n}个方案:按成本从低到高逐一判定"),
    "space_local": ("{n} designs, more than {m}: a local search from the queueing estimate",
                    "共{n}个方案,超过{m}个:从排队论估计出发局部搜索"),
    "fast": ("Quick look (--fast): shorter runs, fewer replications; not a result",
             "快速预览(--fast):缩短时长、减少重复次数;非正式结果"),
    "seed": ("Seed", "随机种子"),
    "run": ("Run the optimisation", "运行优化"),
    "running": ("Optimising: {done} simulation runs of at most {total}", "优化中:已完成{done}次模拟(上限{total}次)"),
    "bad": ("The optimisation spec has a problem", "优化方案有误"),
    "failed": ("The optimisation stopped", "优化未能完成"),
    "chosen": ("Chosen design", "所选方案"),
    "none": ("No design was shown to meet every target.", "没有方案被证明满足全部目标。"),
    "fast_result": ("--fast: a quick look, not a result.", "快速预览,非正式结果。"),
    "cost_line": ("Cost: {cost} yuan a year", "成本:每年{cost}元({wan}万元/年)"),
    "one_off": ("one-off {cost} yuan, spread over {years} years", "一次性{cost}元,分{years}年摊销"),
    "runs": ("{designs} designs met; {runs} simulation runs and {final} fresh replications",
             "考察{designs}个方案;模拟{runs}次,另独立复核{final}次"),
    "final": ("The chosen design on fresh replications the search never saw", "所选方案在搜索未用过的独立重复中的表现"),
    "statement": ("What is claimed", "结论说明"),
    "notes": ("Notes from the search (in English)", "搜索附注(英文)"),
    "decisions": ("Decisions", "判定结果"),
    "pareto": ("Cost against results of every design met", "各方案的成本与结果(帕累托图)"),
    "download_best": ("Download the chosen design (best_scenario.yaml)", "下载所选方案场景文件(best_scenario.yaml)"),
    "download_candidates": ("Download every design met (candidates.csv)", "下载全部考察方案(candidates.csv)"),
    "download_result": ("Download the result (result.json)", "下载结果(result.json)"),
    "download_chart": ("Download the chart (PNG)", "下载图表(PNG)"),
    # table heads and cells
    "col_variable": ("variable", "变量"),
    "col_value": ("value", "取值"),
    "col_label": ("what it is", "含义"),
    "col_kpi": ("KPI", "指标"),
    "col_scope": ("scope", "范围"),
    "col_target": ("target", "目标"),
    "col_mean": ("mean", "均值"),
    "col_ci": ("95% CI", "95%置信区间"),
    "col_unit": ("unit", "单位"),
    "col_n": ("replications", "重复次数"),
    "col_met": ("met", "是否达标"),
    "col_decision": ("decision", "判定"),
    "col_designs": ("designs", "方案数"),
    "met_yes": ("yes", "是"),
    "met_no": ("NO", "否"),
    "met_noise": ("within noise", "不确定"),
    "in_package": ("in the package", "纳入"),
    "not_in_package": ("not in the package", "不纳入"),
    "positions": ("positions at window group {name}", "窗口 {name} 的岗位数"),
    "staff": ("{role} staff of department {name}", "部门 {name} 的 {role} 岗人数"),
    "scope_all": ("all cases", "全部办件"),
    "scope_case_type": ("case type {id}", "办件类型 {id}"),
    "scope_item": ("item {id}", "事项 {id}"),
    "scope_window": ("window group {id}", "窗口 {id}"),
    "scope_role": ("back-office role {id}", "后台岗位 {id}"),
    "decision_feasible": ("feasible: meets every target", "满足全部目标"),
    "decision_infeasible": ("infeasible: misses a target", "未达标"),
    "decision_undecided": ("undecided", "未判定"),
    "decision_other": ("other: skipped, pilot, not built", "其他(跳过、试点、无法构建)"),
}

_UNITS_ZH = {
    "share": "%", "share of items": "%(事项)", "working days": "工作日", "working hours": "工作小时",
    "working minutes": "工作分钟", "minutes": "分钟", "calendar days": "自然日", "cases": "件",
    "cases per working day": "件/工作日", "visits per working day": "人次/工作日", "trips": "次", "visits": "次",
    "returns": "次", "yuan": "元", "materials": "份", "applications per working day": "件/工作日",
}


def texts(lang: str) -> dict[str, str]:
    """The labels of :data:`TEXT` in one language (``"en"`` or ``"zh"``)."""
    i = 1 if lang == "zh" else 0
    return {k: v[i] for k, v in TEXT.items()}


def error_lines(exc: BaseException) -> list[str]:
    """A failure as lines for the page: each problem of a ScenarioError with its place, else the message."""
    if isinstance(exc, ScenarioError):
        return str(exc).splitlines()
    return str(exc).splitlines() or [type(exc).__name__]


# -- shipped specs ------------------------------------------------------------------------------------------
def shipped_specs(root: Path | None = None) -> dict[str, Path]:
    """Name -> path of every optimisation spec shipped in ``experiments/`` (``optimise*.yaml``)."""
    folder = (root or ROOT) / "experiments"
    if not folder.is_dir():
        folder = Path.cwd() / "experiments"
    return {p.stem: p for p in sorted(folder.glob("optimise*.yaml"))}


# -- what the page can set ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaffingField:
    """A staffing number of the scenario the optimiser may set: its field path, station and current value."""

    field: str
    station: str  # the scope's id: a window group, or department.role
    current: int
    en: str
    zh: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def staffing_fields(base: Scenario) -> list[StaffingField]:
    """Every window group's positions and every back-office role's staff, as the optimiser's field paths."""
    out = []
    for w in base.windows:
        out.append(StaffingField(f"windows[{w.id}].positions", w.id, int(w.positions),
                                 TEXT["positions"][0].format(name=w.id), TEXT["positions"][1].format(name=w.id)))
    for d in base.departments:
        for role, n in d.staff.items():
            out.append(StaffingField(f"departments[{d.id}].staff.{role}", f"{d.id}.{role}", int(n),
                                     TEXT["staff"][0].format(role=role, name=d.id), TEXT["staff"][1].format(role=role, name=d.id)))
    return out


def target_scopes(base: Scenario) -> list[str]:
    """Scopes a target can name on ``base``: stations first (window groups, then roles), all, case types, items."""
    stations = [f"station:{f.station}" for f in staffing_fields(base)]
    return (stations + ["all"] + [f"case_type:{c.id}" for c in base.case_types]
            + [f"item:{i.id}" for i in base.items])


def _scope_kind(scope: str) -> str:
    return "all" if scope == "all" else scope.split(":", 1)[0]


# the KPIs each kind of scope measures (as the run's KPI table has them), the usual targets first
_FIRST = {"station": ["wait_minutes_p90", "wait_minutes_mean", "utilisation"],
          "all": ["lead_time_working_days_mean", "lead_time_working_days_p90", "government_time_working_days_mean"],
          "case_type": ["lead_time_working_days_mean", "lead_time_working_days_p90", "government_time_working_days_mean"],
          "item": ["government_time_working_days_mean", "government_time_working_days_p90", "on_time_statutory_rate"]}
_CATALOGUE_ONLY = {"items_at_most_one_trip_share", "immediate_same_day_share"}  # measured over the whole catalogue


def scope_kpis(scope: str) -> list[str]:
    """The KPIs measured in ``scope`` (``station:...``, ``all``, ``case_type:...``, ``item:...``), usual targets first."""
    kind = _scope_kind(scope)
    pool = {"station": STATION_KPIS, "item": ITEM_KPIS}.get(kind, CASE_KPIS)
    names = [k.name for k in pool if not (kind == "case_type" and k.name in _CATALOGUE_ONLY)]
    first = [n for n in _FIRST.get(kind, []) if n in names]
    return first + [n for n in names if n not in first]


def scope_label(scope: str, lang: str) -> str:
    """A scope in words: ``window group w``, ``all cases`` ..."""
    i = 1 if lang == "zh" else 0
    if scope == "all":
        return TEXT["scope_all"][i]
    kind, _, ident = scope.partition(":")
    if kind == "station":
        return TEXT["scope_role" if "." in ident else "scope_window"][i].format(id=ident)
    key = {"case_type": "scope_case_type", "item": "scope_item"}.get(kind)
    return TEXT[key][i].format(id=ident) if key else scope


def kpi_label(kpi: str, lang: str) -> str:
    k = KPIS.get(kpi)
    if k is None:
        return kpi
    return f"{k.zh if lang == 'zh' else k.en} ({kpi})"


def default_threshold(kpi: str) -> tuple[str, float]:
    """(``at_most`` or ``at_least``, a starting threshold) for a KPI: the planner types their own."""
    k = KPIS[kpi]
    side = "at_least" if k.higher_is_better else "at_most"
    if kpi == "utilisation":
        return side, 0.85
    if k.unit.startswith("share"):
        return side, 0.9 if k.higher_is_better else 0.05
    return side, {"working minutes": 15.0, "working days": 3.0, "working hours": 4.0, "minutes": 30.0}.get(k.unit, 1.0)


# -- building a staffing spec on the page -----------------------------------------------------------------
def _pareto_for(kpi: str, scope: str) -> list[str]:
    """The Pareto chart's KPIs for a built spec: the target's KPI (when less is better) and a companion in its scope."""
    names = scope_kpis(scope)
    lower = [n for n in _FIRST.get(_scope_kind(scope), []) + names if n in names and not KPIS[n].higher_is_better]
    out = [kpi] if kpi in KPIS and not KPIS[kpi].higher_is_better else []
    for n in lower:
        if len(out) == 2:
            break
        if n not in out:
            out.append(n)
    return out


def build_staffing_spec(
    base: Scenario,
    *,
    kpi: str,
    scope: str,
    side: str,
    threshold: Any,
    bounds: Mapping[str, tuple[Any, Any]],
    cost_yuan_per_year: Any,
    tolerance: Any = None,
    seed: Any = None,
    replications: Mapping[str, Any] | None = None,
    name: str = "page-staffing",
    source: str = "optimisation spec on the page",
) -> OptimisationSpec:
    """A staffing spec on ``base``: one target, the fields of ``bounds`` (field path -> (min, max)) priced alike.

    The spec names :data:`PAGE_SCENARIO` as its scenario: run it with
    :func:`built_request`, which writes ``base`` to a file for the run.
    Every problem comes back at once as a :class:`ScenarioError` whose
    messages are the command line's (``targets[0].scope: no scope ...``,
    ``staffing[0]: max (2) is below min (5)`` ...).
    """
    from pydantic import ValidationError

    from ..optimise.design import StaffingSpace
    from ..validation import problems_from_pydantic

    if side not in ("at_most", "at_least"):
        raise ScenarioError([Problem("targets[0]", f"give exactly one of at_most and at_least (got {side!r})")], source)
    target: dict[str, Any] = {"kpi": kpi, "scope": scope, side: threshold}
    if tolerance is not None:
        target["tolerance"] = tolerance
    data: dict[str, Any] = {
        "name": name,
        "description": f"staffing of {base.name} set on the planners' page",
        "scenario": PAGE_SCENARIO,
        "seed": int(base.run.seed) if seed is None else seed,
        "targets": [target],
        "staffing": [{"field": f, "min": lo, "max": hi, "cost_yuan_per_year": cost_yuan_per_year}
                     for f, (lo, hi) in bounds.items()],
        "pareto": _pareto_for(kpi, scope) or ["lead_time_working_days_mean"],
        "pareto_scope": scope if _pareto_for(kpi, scope) else "all",
    }
    if replications is not None:
        data["replications"] = dict(replications)
    try:
        spec = OptimisationSpec.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ScenarioError(problems_from_pydantic(exc, data, OptimisationSpec), source) from None
    problems = [Problem(f"staffing[{i}].field", why) for i, why in StaffingSpace(spec, base).check_fields()]
    scopes = target_scopes(base)
    if scope not in scopes:  # the optimiser's words (it checks on a first replication)
        near = [s for s in scopes if scope.split(":")[0] == s.split(":")[0]][:12]
        problems.append(Problem("targets[0].scope", f"no scope {scope!r} in this scenario (e.g. {', '.join(near or scopes[:12])})"))
    elif kpi not in scope_kpis(scope):
        problems.append(Problem("targets[0].kpi", f"{kpi!r} is not measured for scope {scope!r}"))
    if problems:
        raise ScenarioError(problems, source)
    return spec


def target_lines(spec, lang: str = "en") -> list[str]:
    """Each target of a spec in words: ``mean wait before service (wait_minutes_mean), window group w: at most 1.2 (tolerance 0.3)``."""
    t = texts(lang)
    out = []
    for tg in spec.targets:
        side = t["at_most"] if tg.is_at_most else t["at_least"]
        out.append(f"{kpi_label(tg.kpi, lang)}, {scope_label(tg.scope, lang)}: {side} {tg.threshold:g} "
                   f"({t['tol']} {tg.epsilon:g})")
    return out


def space_size(spec) -> int:
    """How many staffing designs the bounds allow (the search is exhaustive up to ``max_designs``)."""
    return math.prod(v.max - v.min + 1 for v in spec.staffing) if spec.staffing else 2 ** len(spec.reforms)


# -- requests: a job key and a call for the page's job store ----------------------------------------------
def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class OptimisationRequest:
    """An optimisation the page can run: a spec, its scenario (built specs: the page's), seed and ``fast``."""

    spec: OptimisationSpec
    seed: int
    fast: bool
    scenario_hash: str  # content hash of the scenario the run will read
    scenario: Scenario | None = field(default=None, repr=False)  # a built spec's scenario, written to a file for the run

    @property
    def key(self) -> tuple:
        """What the answer depends on: the spec's content, the scenario's content, seed and ``fast`` (not workers)."""
        data = self.spec.model_dump(mode="json", exclude={"source"})
        if self.scenario is not None:
            data.pop("scenario", None)  # a placeholder: the content hash names the scenario
        return ("optimise", _digest(data), self.scenario_hash, int(self.seed), bool(self.fast))

    @property
    def total(self) -> int:
        """The most simulation runs the job can take: the search's run budget and the fresh replications."""
        s = self.spec
        reps = s.fast.replications if self.fast else s.replications
        return int((s.fast.budget_runs if self.fast else s.budget_runs) + reps.final)

    def call(self, workers: int = 1) -> Callable[[Callable[[int, int], None]], Any]:
        """``call(progress)`` for :meth:`JobStore.run`: runs the optimisation, counting runs across its batches."""
        return lambda progress: self.run(progress, workers=workers)

    def run(self, progress: Callable[[int, int], None] | None = None, workers: int = 1):
        """The :class:`~sim.optimise.OptimisationResult` (``progress(done, total)`` over every batch)."""
        from ..loading import load_scenario
        from ..optimise import optimise

        total, state = self.total, {"base": 0}

        def batches(done: int, n: int) -> None:  # the optimiser reports each batch from 1: one running count
            if progress is not None:
                progress(state["base"] + done, max(total, state["base"] + done))
            if done >= n:
                state["base"] += n

        if self.scenario is None:
            return optimise(self.spec, self.seed, fast=self.fast, workers=workers, progress=batches)
        with tempfile.TemporaryDirectory(prefix="approval-sim-optimise-") as folder:
            path = Path(folder) / "scenario.yaml"
            path.write_text(yaml.safe_dump(self.scenario.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
            if load_scenario(path).content_hash() != self.scenario_hash:  # pragma: no cover - a guard, never seen
                raise ScenarioError([Problem("scenario", "the page's scenario did not load back the same from a file")],
                                    self.spec.source)
            res = optimise(self.spec.model_copy(update={"scenario": str(path)}), self.seed, fast=self.fast,
                           workers=workers, progress=batches)
        return dataclasses.replace(res, spec=self.spec)  # the spec as built, not the removed file


def shipped_request(path: str | Path, seed: int | None = None, fast: bool = True) -> OptimisationRequest:
    """A shipped (or any) spec file as a request; its problems as the command line's ScenarioError."""
    from ..loading import load_scenario
    from ..optimise import load_spec

    spec = load_spec(path)
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        raise ScenarioError([Problem("seed", f"must be a whole number greater than or equal to 0 (got {seed!r})")], str(path))
    scenario = load_scenario(spec.scenario_path())
    return OptimisationRequest(spec, spec.seed if seed is None else int(seed), bool(fast), scenario.content_hash())


def built_request(base: Scenario, *, seed: int | None = None, fast: bool = True, **target) -> OptimisationRequest:
    """A staffing spec built on ``base`` (:func:`build_staffing_spec`'s arguments) as a request."""
    spec = build_staffing_spec(base, seed=seed, **target)
    return OptimisationRequest(spec, int(spec.seed), bool(fast), base.content_hash(), base)


# -- result views ----------------------------------------------------------------------------------------
