"""Reforms: named, parameterised functions from scenario to scenario.

Each reform takes a scenario and keyword parameters and returns a new,
re-validated scenario; the input is never changed.  ``REFORMS`` lists them
with their English and Chinese names.  (First slice of the catalogue: more
reforms, comparison and attribution build on this.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from .errors import Problem, ScenarioError
from .scenario import Scenario

__all__ = ["Reform", "REFORMS", "apply_reform"]


@dataclass(frozen=True)
class Reform:
    name: str
    zh: str
    mechanism: str
    function: Callable[..., Scenario]


def _data(s: Scenario) -> dict:
    return copy.deepcopy(s.to_dict())


def _bad(field: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(field, message)], "reform")


def centralise(s: Scenario, departments: list[str] | None = None, site: str = "service_hall", site_name: str = "政务服务中心") -> Scenario:
    """三集中 / 只进一扇门: the windows of the chosen departments (default all) move to one hall.

    Mechanism: window sites change to one site, so travel between those windows disappears.
    """
    d = _data(s)
    owner = {it["id"]: it["department"] for it in d["items"]}
    chosen = set(departments) if departments is not None else {x["id"] for x in d["departments"]}
    unknown = chosen - {x["id"] for x in d["departments"]}
    if unknown:
        raise _bad("departments", f"no department with id {sorted(unknown)[0]!r}")
    if site not in {x["id"] for x in d["sites"]}:
        d["sites"].append({"id": site, "name": site_name})
    for w in d["windows"]:
        if all(owner[i] in chosen for i in w["items"]):
            w["site"] = site
    return Scenario.from_dict(d)


def one_window(s: Scenario, windows: list[str] | None = None, id: str = "comprehensive_window", name: str = "综合窗口") -> Scenario:
    """一窗受理 / 综合窗口: the chosen window groups (default all) become one pooled queue.

    Mechanism: one window group with the summed positions accepts all their items
    (resource pooling); it sits at the first chosen window's site.
    """
    d = _data(s)
    names = set(windows) if windows is not None else {w["id"] for w in d["windows"]}
    merged = [w for w in d["windows"] if w["id"] in names]
    if len(merged) < 2:
        raise _bad("windows", "one_window needs at least two existing window groups to merge")
    items: list[str] = []
    for w in merged:
        items += [i for i in w["items"] if i not in items]
    pooled = {"id": id, "name": name, "site": merged[0]["site"], "positions": sum(w["positions"] for w in merged), "items": items}
    d["windows"] = [w for w in d["windows"] if w["id"] not in names] + [pooled]
    return Scenario.from_dict(d)


def chief_representative(s: Scenario, items: list[str] | None = None, decision_minutes: float = 10.0) -> Scenario:
    """首席代表 / 充分授权: chosen back-office items (default all) are decided at the window.

    Mechanism: sign-off steps and the window-back office hand-offs are removed;
    intake time grows by ``decision_minutes`` on average (same shape, scaled).
    """
    d = _data(s)
    chosen = set(items) if items is not None else {it.id for it in s.items}
    for raw, it in zip(d["items"], s.items):
        if it.id in chosen and it.kind == "back_office":
            factor = (it.intake_minutes.mean + decision_minutes) / it.intake_minutes.mean if it.intake_minutes.mean > 0 else 1.0
            raw["intake_minutes"] = it.intake_minutes.scaled(factor).model_dump(mode="json")
            raw["kind"] = "immediate"
            raw["steps"] = []
            raw.pop("handoff", None)
    return Scenario.from_dict(d)


def tolerance_acceptance(s: Scenario, items: list[str] | None = None, share_tolerated: float = 0.8) -> Scenario:
    """容缺受理: applications missing only non-essential materials are accepted.

    Mechanism: the chance of being returned for 补正 falls by ``share_tolerated``
    (the share of incomplete applications whose gaps are non-essential).
    """
    if not 0 <= share_tolerated <= 1:
        raise _bad("share_tolerated", f"must be between 0 and 1 (got {share_tolerated})")
    d = _data(s)
    chosen = set(items) if items is not None else {it.id for it in s.items}
    for raw in d["items"]:
        if raw["id"] in chosen:
            raw["incomplete_probability"] = raw.get("incomplete_probability", 0.0) * (1 - share_tolerated)
    return Scenario.from_dict(d)


def parallel_approval(s: Scenario, case_type: str, items: list[str]) -> Scenario:
    """并联审批: chosen serial applications of a case type run in parallel and join.

    Mechanism: top-level sequence blocks applying for ``items`` become one
    parallel block placed where the first of them was.
    """
    d = _data(s)
    ct = next((c for c in d["case_types"] if c["id"] == case_type), None)
    if ct is None:
        raise _bad("case_type", f"no case type with id {case_type!r}")
    seq = ct["flow"].get("sequence")
    if seq is None:
        raise _bad("case_type", f"the flow of {case_type!r} is not a sequence")
    picked = [b for b in seq if b.get("item") in items]
    if len(picked) < 2:
        raise _bad("items", "parallel_approval needs at least two applications of the sequence")
    first = seq.index(picked[0])
    rest = [b for b in seq if b not in picked]
    rest.insert(first, {"parallel": picked})
    ct["flow"] = {"sequence": rest}
    return Scenario.from_dict(d)


REFORMS: dict[str, Reform] = {
    r.name: r
    for r in (
        Reform("centralise", "三集中 / 只进一扇门", "windows move to one site; travel between them disappears", centralise),
        Reform("one_window", "一窗受理 / 综合窗口", "window groups pool into one queue with shared staff", one_window),
        Reform("chief_representative", "首席代表 / 充分授权", "decided at the window; sign-off steps and hand-offs removed", chief_representative),
        Reform("tolerance_acceptance", "容缺受理", "fewer returns for non-essential missing materials", tolerance_acceptance),
        Reform("parallel_approval", "并联审批", "serial applications run in parallel and join", parallel_approval),
    )
}


def apply_reform(s: Scenario, name: str, **params) -> Scenario:
    """Apply the reform called ``name`` with its parameters."""
    if name not in REFORMS:
        raise _bad("reform", f"unknown reform {name!r}; known: {', '.join(REFORMS)}")
    return REFORMS[name].function(s, **params)
