"""Optimisation spec files: what to decide, what it costs, which targets it must meet.

A staffing spec::

    name: yumen-hall-staffing
    scenario: ../scenarios/yumen_citizen_centre_after.yaml   # relative to this file
    seed: 2026
    targets:                            # every one must hold (KPI scope as in the tables)
      - {kpi: wait_minutes_p90, scope: "station:medins_window", at_most: 15}
      - {kpi: on_time_statutory_rate, at_least: 0.99, tolerance: 0.005}
    staffing:                           # integer decision variables: field paths, bounds, cost per unit
      - {field: "windows[medins_window].positions", min: 1, max: 8, cost_yuan_per_year: 90000}
      - {field: "departments[hrss].staff.clerk", min: 1, max: 6, cost_yuan_per_year: 100000}

A reform-package spec lists ``reforms`` instead, each with its parameters and
its cost, one-off and per year (one-off costs are spread over
``amortise_years`` in the annual cost that is minimised)::

    reforms:
      - {reform: one_window, cost_one_off_yuan: 200000, cost_yuan_per_year: 50000}
      - {reform: fully_online, params: {online_share: 0.6}, cost_one_off_yuan: 800000}

With ``objective: {minimise: KPI, scope: ..., budget_yuan_per_year: N}`` the
search looks instead for the lowest KPI within the budget (the targets, if
any, must still hold).

``limits`` cap or floor sums of staffing variables (the positions a site has
room for: ``{fields: [windows[a].positions, windows[b].positions], at_most: 12}``);
designs outside them are never simulated.

Replications: ``first`` per design before any decision (n0 of the
feasibility check), at most ``most`` per design, ``final`` fresh ones for
the chosen design.  ``budget_runs`` caps the simulation runs of the search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import Problem
from ..kpis import KPIS
from ..loading import read_spec

__all__ = ["Target", "Objective", "Variable", "Limit", "ReformOption", "Replications", "Fast", "OptimisationSpec", "load_spec", "spec_problems"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Money = float


class Target(_Spec):
    """A KPI that must stay at most (``at_most``) or at least (``at_least``) a threshold."""

    kpi: str
    scope: str = "all"
    at_most: float | None = Field(default=None, allow_inf_nan=False)
    at_least: float | None = Field(default=None, allow_inf_nan=False)
    tolerance: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="values within this distance of the threshold count as meeting it or not, either way "
        "(default: 5% of the threshold; 0.005 for shares)",
    )

    @model_validator(mode="after")
    def _one_side(self):
        if self.kpi not in KPIS:
            raise ValueError(f"unknown KPI {self.kpi!r} (known: {', '.join(KPIS)})")
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one of at_most and at_least")
        return self

    @property
    def threshold(self) -> float:
        return float(self.at_most if self.at_most is not None else self.at_least)

    @property
    def is_at_most(self) -> bool:
        return self.at_most is not None

    @property
    def epsilon(self) -> float:
        if self.tolerance is not None:
            return float(self.tolerance)
        if KPIS[self.kpi].unit.startswith("share"):
            return 0.005
        return max(0.05 * abs(self.threshold), 1e-6)

    def describe(self) -> str:
        sign = "<=" if self.is_at_most else ">="
        scope = "" if self.scope == "all" else f" [{self.scope}]"
        return f"{self.kpi}{scope} {sign} {self.threshold:g} (tolerance {self.epsilon:g})"


class Variable(_Spec):
    """An integer the search may set: a field path into the scenario, its bounds and its cost per unit."""

    field: str = Field(min_length=1)
    min: int = Field(ge=0)
    max: int = Field(ge=0, le=10_000)
    cost_yuan_per_year: Money = Field(ge=0, allow_inf_nan=False, description="cost of one unit (a position, a staff member) a year")
    label: str = ""

    @model_validator(mode="after")
    def _bounds(self):
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class ReformOption(_Spec):
    """A reform that may be in the package, with its parameters and costs."""

    reform: str
    params: dict[str, Any] = Field(default_factory=dict)
    cost_one_off_yuan: Money = Field(default=0.0, ge=0, allow_inf_nan=False)
    cost_yuan_per_year: Money = Field(default=0.0, ge=0, allow_inf_nan=False)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.reform


class Objective(_Spec):
    """The best KPI within a budget, instead of the cheapest design meeting the targets."""

    minimise: str
    scope: str = "all"
    budget_yuan_per_year: Money = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _kpi(self):
        k = KPIS.get(self.minimise)
        if k is None:
            raise ValueError(f"unknown KPI {self.minimise!r} (known: {', '.join(KPIS)})")
        if k.higher_is_better:
            raise ValueError(f"{self.minimise} is better when higher: choose a KPI where less is better (a time, a wait, trips)")
        return self


class Limit(_Spec):
    """A cap (or floor) on the sum of some staffing variables: positions a site has room for, a department's staff."""

    fields: tuple[str, ...] = Field(min_length=1)
    at_most: int | None = Field(default=None, ge=0)
    at_least: int | None = Field(default=None, ge=0)
    label: str = ""

    @model_validator(mode="after")
    def _side(self):
        if self.at_most is None and self.at_least is None:
            raise ValueError("give at_most, at_least or both")
        return self

    def allows(self, total: int) -> bool:
        return (self.at_most is None or total <= self.at_most) and (self.at_least is None or total >= self.at_least)


class Replications(_Spec):
    first: int = Field(default=10, ge=2, le=1000, description="per design before any decision (n0)")
    most: int = Field(default=50, ge=2, le=100_000, description="per design at most; a design still undecided then is reported so")
    final: int = Field(default=20, ge=2, le=100_000, description="fresh replications of the chosen design")

    @model_validator(mode="after")
    def _order(self):
        if self.most < self.first:
            raise ValueError(f"most ({self.most}) is below first ({self.first})")
        return self


class Fast(_Spec):
    """``--fast``: fewer replications, a shorter horizon, a smaller budget (a quick look, not a result)."""

    replications: Replications = Replications(first=8, most=16, final=5)
    horizon_scale: float = Field(default=0.5, gt=0, le=1)
    budget_runs: int = Field(default=400, ge=1)


class OptimisationSpec(_Spec):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    description: str = ""
    scenario: str
    seed: int = Field(default=2026, ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    targets: tuple[Target, ...] = ()
    objective: Objective | None = Field(default=None, description="the lowest KPI within a budget (the targets, if any, must hold too)")
    staffing: tuple[Variable, ...] = ()
    limits: tuple[Limit, ...] = Field(default=(), description="caps or floors on sums of staffing variables")
    reforms: tuple[ReformOption, ...] = ()
    amortise_years: float = Field(default=5.0, gt=0, allow_inf_nan=False, description="one-off costs are spread over this many years")
    replications: Replications = Replications()
    budget_runs: int = Field(default=3000, ge=1, description="simulation runs the search may use (the final check is extra)")
    max_designs: int = Field(default=200, ge=1, le=100_000, description="designs the search may evaluate (the confidence is split over them)")
    assume_monotone: bool = Field(
        default=True,
        description="staffing: more staff never makes a target worse, so a design below one that misses a target misses it too",
    )
    pareto: tuple[str, ...] = Field(default=("lead_time_working_days_mean", "lead_time_working_days_p90"), min_length=1)
    pareto_scope: str = "all"
    fast: Fast = Fast()
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _what(self):
        if not self.targets and self.objective is None:
            raise ValueError("give targets (the cheapest design that meets them) or an objective (the lowest KPI within a budget)")
        if bool(self.staffing) == bool(self.reforms):
            raise ValueError("give either staffing (variables to set) or reforms (a package to choose), not both or neither")
        fields = [v.field for v in self.staffing]
        dup = sorted({f for f in fields if fields.count(f) > 1})
        if dup:
            raise ValueError(f"staffing: a field is listed twice: {', '.join(dup)}")
        for i, lim in enumerate(self.limits):
            stray = [f for f in lim.fields if f not in fields]
            if stray:
                raise ValueError(f"limits[{i}]: {stray[0]!r} is not one of the staffing fields")
        unknown = [k for k in self.pareto if k not in KPIS]
        if unknown:
            raise ValueError(f"pareto: unknown KPI {unknown[0]!r}")
        return self

    @property
    def kind(self) -> str:
        return "staffing" if self.staffing else "package"

    def scenario_path(self) -> Path:
        return (Path(self.source).parent / self.scenario).resolve()


def spec_problems(spec: OptimisationSpec) -> list[Problem]:
    """What validation of the fields alone cannot see: the scenario file, reform names and parameters."""
    from ..reforms import call_problems

    out = []
    if spec.source or not Path(spec.scenario).is_absolute():
        p = spec.scenario_path()
        if not p.is_file():
            out.append(Problem("scenario", f"file not found: {p}"))
    for i, o in enumerate(spec.reforms):
        for q in call_problems(o.reform, dict(o.params)):
            where = f"reforms[{i}].reform" if q.path == "reform" else f"reforms[{i}].params.{q.path}"
            out.append(Problem(where, q.message))
    return out


def load_spec(path: str | Path) -> OptimisationSpec:
    """Read and validate an optimisation spec (every problem with its line and column)."""
    return read_spec(path, OptimisationSpec, "an optimisation spec", spec_problems)
