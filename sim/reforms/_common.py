"""Helpers shared by the reforms: plain scenario data, parameter types, checks."""

from __future__ import annotations

import copy
import difflib
from typing import Annotated, Iterable

from pydantic import Field

from ..errors import Problem, ScenarioError
from ..flow_edit import item_ids, walk
from ..scenario import Scenario

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def data(s: Scenario) -> dict:
    """A deep, plain copy of the scenario to edit."""
    return copy.deepcopy(s.to_dict())


def bad(field: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(field, message)], "reform")


def pick(field: str, given: Iterable[str] | None, known: Iterable[str], what: str) -> list[str]:
    """The ids named in parameter ``field`` (all of ``known`` when None), each checked to exist."""
    known = list(known)
    if given is None:
        return known
    out = []
    for i, g in enumerate(given):
        if g not in known:
            close = difflib.get_close_matches(g, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(f"{field}[{i}]", f"no {what} with id {g!r}{hint}")
        if g not in out:
            out.append(g)
    return out


def find_case_type(d: dict, field: str, ct_id: str) -> dict:
    """The case type ``ct_id`` (named by parameter ``field``)."""
    for ct in d["case_types"]:
        if ct["id"] == ct_id:
            return ct
    ids = [c["id"] for c in d["case_types"]]
    close = difflib.get_close_matches(ct_id, ids, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise bad(field, f"no case type with id {ct_id!r}{hint}")


def select_case_types(d: dict, field: str, given: list[str] | None) -> list[dict]:
    ids = pick(field, given, [c["id"] for c in d["case_types"]], "case type")
    return [c for c in d["case_types"] if c["id"] in ids]


def items_applied_for(ct: dict) -> list[str]:
    """Item ids a case type applies for anywhere in its flow."""
    out: list[str] = []
    for n in walk(ct["flow"]):
        out += [i for i in item_ids(n) if i not in out]
    return out


def item_map(d: dict) -> dict[str, dict]:
    return {it["id"]: it for it in d["items"]}


def scaled(dist, factor: float) -> dict:
    """A distribution (model or plain data) scaled by ``factor``, as plain data."""
    from ..distributions import as_distribution

    return as_distribution(dist).scaled(factor).model_dump(mode="json")


def scaled_handoff(spec, factor: float) -> dict:
    """An item's hand-off times scaled by ``factor``, as plain data."""
    return {
        "to_back_office_minutes": scaled(spec.handoff.to_back_office_minutes, factor),
        "to_window_minutes": scaled(spec.handoff.to_window_minutes, factor),
    }


def window_decides(it: dict, decision_minutes: float, keep_steps: list[str], handoff_factor: float, s: Scenario) -> None:
    """Turn back-office item data ``it`` into an item decided at the window (in place).

    Intake grows by ``decision_minutes`` on average (same shape, scaled);
    steps named in ``keep_steps`` (by id or role) stay, with hand-offs scaled
    by ``handoff_factor``; with none kept the item becomes immediate.
    """
    spec = s.item(it["id"])
    kept = [st for st in spec.steps if st.key in keep_steps or st.role in keep_steps]
    mean = spec.intake_minutes.mean
    it["intake_minutes"] = scaled(spec.intake_minutes, (mean + decision_minutes) / mean if mean > 0 else 1.0)
    if kept:
        it["steps"] = [st.model_dump(mode="json", exclude_none=True) for st in kept]
        it["handoff"] = scaled_handoff(spec, handoff_factor)
    else:
        it["kind"] = "immediate"
        it["steps"] = []
        it.pop("handoff", None)
