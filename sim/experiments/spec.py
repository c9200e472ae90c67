"""Experiment specifications: declarative YAML files in ``experiments/``.

An experiment names scenario files, the claims it tests (ids from
``experiments/claims.yaml``), for each claim the like-for-like measure, the
direction in which the claim holds and the assumptions that decide it, plus
replications, seed and a reduced ``fast`` version.  ``load_experiment`` turns
a file into a validated, immutable :class:`Experiment`; problems are reported
as ``file: field: reason`` (:class:`~sim.errors.ScenarioError`).

Example::

    name: enterprise-opening
    description: Yumen enterprise opening, 5 serial steps -> 5 in parallel (seed 001)
    seed: 2025
    replications: 10
    fast: {replications: 2, horizon_scale: 0.5}
    scenarios:
      before: ../scenarios/yumen_enterprise_opening_before.yaml
      after: ../scenarios/yumen_enterprise_opening_after.yaml
    tests:
      - claim: yumen_enterprise_opening_4h
        measure: {kpi: government_time_working_hours_mean, scenario: after,
                  scope: case_type:enterprise_opening}
        holds_if: "<="
        claimed: 4
        assumptions: [incomplete_scale, fix_time_scale, review_scale]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import Problem
from ..kpis import KPIS
from ..loading import read_spec
from .assumptions import ASSUMPTIONS

__all__ = ["Experiment", "ClaimTest", "Measure", "LimitMeasure", "load_experiment", "Departure"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measure(BaseModel):
    """A simulated quantity: a KPI of one scenario, or a paired reduction/difference of two."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kpi: str
    scope: str = "all"
    scenario: str | None = None
    reduction: tuple[str, str] | None = Field(default=None, description="1 - second/first, per replication (paired)")
    difference: tuple[str, str] | None = Field(default=None, description="first - second, per replication (paired)")

    @model_validator(mode="after")
    def _one(self):
        given = sum(x is not None for x in (self.scenario, self.reduction, self.difference))
        if given != 1:
            raise ValueError("give exactly one of 'scenario', 'reduction' or 'difference'")
        if self.kpi not in KPIS:
            raise ValueError(f"unknown KPI {self.kpi!r}")
        return self

    @property
    def scenarios(self) -> tuple[str, ...]:
        return (self.scenario,) if self.scenario else tuple(self.reduction or self.difference)


class LimitMeasure(BaseModel):
    """Arithmetic on declared limits (时限): a yardstick, not a measured time."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    basis: Literal["promised", "statutory"] = "promised"
    reduction: tuple[str, str] | None = Field(default=None, description="1 - sum(after limits)/sum(before limits)")
    below_statutory: str | None = Field(default=None, description="1 - sum(promised)/sum(statutory) in one scenario")
    items: tuple[str, ...] | None = Field(default=None, description="only these items (default: every item with a limit)")

    @model_validator(mode="after")
    def _one(self):
        if (self.reduction is None) == (self.below_statutory is None):
            raise ValueError("give exactly one of 'reduction' or 'below_statutory'")
        return self

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(self.reduction) if self.reduction else (self.below_statutory,)


class ClaimTest(_Spec):
    """How one claim is tested."""

    claim: str
    measure: Measure | None = None
    limit: LimitMeasure | None = None
    holds_if: Literal["<=", ">=", "approx", "between"] = "approx"
    claimed: float | tuple[float, float]
    tolerance: float | None = Field(default=None, ge=0, description="for approx: allowed distance, in the measure's unit")
    unit: str = ""
    assumptions: tuple[str, ...] = Field(default=(), max_length=4)
    kept_by: Measure | None = Field(
        default=None, description="for a limit claim: the simulated on-time rate that tests whether the new limits are kept"
    )
    note: str = ""

    @model_validator(mode="after")
    def _check(self):
        if (self.measure is None) == (self.limit is None):
            raise ValueError("give exactly one of 'measure' (an outcome) or 'limit' (declared limits)")
        if self.holds_if == "between":
            if not isinstance(self.claimed, tuple) or self.claimed[0] > self.claimed[1]:
                raise ValueError("holds_if 'between' needs claimed: [low, high]")
        elif isinstance(self.claimed, tuple):
            raise ValueError("a range [low, high] needs holds_if: between")
        if self.holds_if == "approx" and self.tolerance is None:
            raise ValueError("holds_if 'approx' needs a tolerance (in the measure's unit)")
        for a in self.assumptions:
            if a not in ASSUMPTIONS:
                raise ValueError(f"unknown assumption {a!r}; known: {', '.join(ASSUMPTIONS)}")
        if self.limit is not None and self.assumptions:
            raise ValueError("a limit claim is arithmetic on declared limits: it has no deciding assumptions")
        return self


class Departure(_Spec):
    """A departure from the shared assumption set, allowed only with a seed quote."""

    value: Any
    seed: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class ScenarioRef(_Spec):
    """A reformed scenario file run without some of its reforms, or with some reform parameters changed.

    ``without`` isolates what one reform buys; ``set`` changes a reform's
    parameters (e.g. every project inside the assessed park).
    """

    file: str
    without: tuple[str, ...] = Field(default=(), description="reform names of the file's list to leave out")
    set: dict[str, dict[str, Any]] = Field(default_factory=dict, description="reform name -> parameters to change")

    @model_validator(mode="after")
    def _some(self):
        if not self.without and not self.set:
            raise ValueError("give 'without' or 'set' (or write the file's path alone)")
        return self


class Fast(_Spec):
    """The reduced version (``--fast``): fewer replications, horizon and warm-up scaled down."""

    replications: int = Field(default=2, ge=2)
    horizon_scale: float = Field(default=0.5, gt=0, le=1)


class Attribution(_Spec):
    """What each reform of a reformed file buys (Shapley values), drawn as a waterfall."""

    scenario: str  # a label whose file is a reformed file (base + reforms)
    kpi: str = "lead_time_working_days_mean"
    scope: str = "all"


class Charts(_Spec):
    compare: tuple[str, str] | None = None  # before/after labels for the distribution and trips charts
    attribution: Attribution | None = None
    case_type: str | None = None  # the journey shown in the Gantt chart
    limit_working_days: float | None = None  # a limit line on the distribution chart


class Experiment(_Spec):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title_en: str = ""
    title_zh: str = ""
    description: str
    seed: int = Field(default=2025, ge=0)
    replications: int = Field(default=10, ge=2)
    fast: Fast = Fast()
    scenarios: dict[str, str | ScenarioRef] = Field(default_factory=dict)
    departures: dict[str, Departure] = Field(default_factory=dict)
    tests: tuple[ClaimTest, ...] = ()
    charts: Charts = Charts()
    includes: tuple[str, ...] = Field(default=(), description="other experiments run as part of this one")
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _refs(self):
        problems = []
        for i, t in enumerate(self.tests):
            for m, where in ((t.measure, "measure"), (t.limit, "limit"), (t.kept_by, "kept_by")):
                if m is None:
                    continue
                for sc in m.scenarios:
                    if sc not in self.scenarios:
                        problems.append(f"tests[{i}].{where}: unknown scenario {sc!r} (known: {', '.join(self.scenarios)})")
        for a in self.departures:
            if a not in ASSUMPTIONS:
                problems.append(f"departures.{a}: unknown assumption (known: {', '.join(ASSUMPTIONS)})")
        if self.charts.attribution is not None:
            a = self.charts.attribution
            if a.scenario not in self.scenarios:
                problems.append(f"charts.attribution.scenario: unknown scenario {a.scenario!r}")
            if a.kpi not in KPIS:
                problems.append(f"charts.attribution.kpi: unknown KPI {a.kpi!r}")
            if not self.charts.compare:
                problems.append("charts.attribution: needs charts.compare (the before level of the waterfall)")
        for k in ("compare",):
            labels = getattr(self.charts, k)
            for lab in labels or ():
                if lab not in self.scenarios:
                    problems.append(f"charts.{k}: unknown scenario {lab!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def scenario_path(self, label: str) -> Path:
        ref = self.scenarios[label]
        return (Path(self.source).parent / (ref.file if isinstance(ref, ScenarioRef) else ref)).resolve()

    def variant(self, label: str) -> ScenarioRef | None:
        ref = self.scenarios[label]
        return ref if isinstance(ref, ScenarioRef) else None


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate one experiment file."""

    def missing(exp: Experiment) -> list[Problem]:
        return [Problem(f"scenarios.{lab}", f"file not found: {exp.scenario_path(lab)}")
                for lab in exp.scenarios if not exp.scenario_path(lab).is_file()]

    return read_spec(path, Experiment, "an experiment file", missing)
