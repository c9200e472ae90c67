"""Helpers shared by the reforms: plain scenario data, parameter types, checks."""

from __future__ import annotations

import difflib
import functools
from typing import Annotated, Iterable

from pydantic import Field, TypeAdapter

from ..distributions import Distribution, _Dist
from ..errors import Problem, ScenarioError
from ..flow_edit import item_ids, walk
from ..scenario import Scenario, kept_steps

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


_UNREAD = object()  # a field not dumped yet


class Draft(dict):
    """Plain data of a scenario for a reform to edit, each top-level field dumped when first reached.

    A field the reform never reaches (say ``departments``, for a reform of
    items) is not dumped at all, and :func:`revised` takes it from the
    scenario as it is.  Every way to read or replace a value reaches its
    field first (``d[k]``, ``get``, ``setdefault``, ``pop``, ``items()``,
    ``values()``, ``==`` ...; ``{**d}`` and ``dict(d)`` go through ``keys()``
    and ``d[k]`` because ``__iter__`` is overridden).
    """

    __slots__ = ("scenario", "reached")

    def __init__(self, s: Scenario):
        super().__init__((k, _UNREAD) for k in type(s).model_fields if getattr(s, k) is not None)  # as to_dict
        self.scenario = s
        self.reached: set = set()

    def _value(self, key):
        self.reached.add(key)
        value = dict.__getitem__(self, key)
        if value is _UNREAD:  # fresh containers: nothing shared with the scenario
            value = self.scenario.model_dump(mode="json", exclude_none=True, include={key})[key]
            dict.__setitem__(self, key, value)
        return value

    def _all(self) -> None:
        for key in dict.keys(self):
            self._value(key)

    def plain(self) -> dict:
        """The data as a plain dict, fields never reached left as placeholders (see :func:`revised`)."""
        return dict(dict.items(self))

    def __getitem__(self, key):
        self.reached.add(key)
        return self._value(key) if dict.__contains__(self, key) else dict.__getitem__(self, key)

    def __setitem__(self, key, value):
        self.reached.add(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self.reached.add(key)
        dict.__delitem__(self, key)

    def __iter__(self):
        return dict.__iter__(self)

    def get(self, key, default=None):
        self.reached.add(key)
        return self._value(key) if dict.__contains__(self, key) else default

    def setdefault(self, key, default=None):
        self.reached.add(key)
        return self._value(key) if dict.__contains__(self, key) else dict.setdefault(self, key, default)

    def pop(self, key, *default):
        self.reached.add(key)
        if dict.__contains__(self, key):
            self._value(key)
        return dict.pop(self, key, *default)

    def values(self):
        self._all()
        return dict.values(self)

    def items(self):
        self._all()
        return dict.items(self)

    def popitem(self):
        self._all()
        return dict.popitem(self)

    def update(self, *args, **kwargs):
        self._all()
        dict.update(self, *args, **kwargs)

    def clear(self):
        self._all()
        dict.clear(self)

    def copy(self):
        self._all()
        return dict(dict.items(self))

    def __eq__(self, other):
        self._all()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        self._all()
        return dict.__ne__(self, other)

    __hash__ = None

    def __repr__(self):
        self._all()
        return dict.__repr__(self)

    def __or__(self, other):
        return self.copy() | other

    def __ror__(self, other):
        return other | self.copy()

    def __ior__(self, other):
        self.update(other)
        return self

    def __reduce_ex__(self, protocol):
        return (dict, (self.copy(),))


def data(s: Scenario) -> Draft:
    """The scenario's plain data for a reform to edit; :func:`revised` makes the result a scenario."""
    return Draft(s)


def revised(s: Scenario, d: dict) -> Scenario:
    """The scenario of ``d`` (edited :func:`data` of ``s``), validated as :meth:`Scenario.from_dict` does.

    Only what the reform changed is validated again (see :meth:`Scenario.revised`);
    the result is the same, and so are the problems when it is not valid.
    """
    if isinstance(d, Draft) and d.scenario is s:
        return s.revised(d.plain(), kept=[k for k in dict.keys(d) if k not in d.reached])
    return s.revised(d)


def bad(field: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(field, message)], "reform")


def pick(field: str, given: Iterable[str] | None, known: Iterable[str], what: str) -> list[str]:
    """The ids named in parameter ``field`` (all of ``known`` when None), each checked to exist."""
    known = list(known)
    if given is None:
        return known
    ids = set(known)
    out: dict[str, None] = {}
    for i, g in enumerate(given):
        if g not in ids:
            close = difflib.get_close_matches(g, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(f"{field}[{i}]", f"no {what} with id {g!r}{hint}")
        out[g] = None
    return list(out)


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
    ids = set(pick(field, given, [c["id"] for c in d["case_types"]], "case type"))
    return [c for c in d["case_types"] if c["id"] in ids]


def items_applied_for(ct: dict) -> list[str]:
    """Item ids a case type applies for anywhere in its flow."""
    return list(dict.fromkeys(i for n in walk(ct["flow"]) for i in item_ids(n)))


def item_map(d: dict) -> dict[str, dict]:
    return {it["id"]: it for it in d["items"]}


def specs(s: Scenario) -> dict:
    """The scenario's items by id (one look-up each, instead of ``s.item`` scanning them all)."""
    return {it.id: it for it in reversed(s.items)}  # the first of an id, as ``s.item``


def windows_accepting(s: Scenario):
    """A function ``ids -> tuple of windows`` equal to ``s.windows_for``, from an index made once."""
    accepting: dict[str, set[int]] = {}
    for k, w in enumerate(s.windows):
        for i in w.items:
            accepting.setdefault(i, set()).add(k)

    def windows_for(ids) -> tuple:
        ids = list(ids)
        if not ids:
            return tuple(s.windows)
        common = set(accepting.get(ids[0], ()))
        for i in ids[1:]:
            common &= accepting.get(i, set())
        return tuple(s.windows[k] for k in sorted(common))

    return windows_for


@functools.cache
def _distribution_adapter() -> TypeAdapter:
    return TypeAdapter(Distribution)  # made once: building an adapter costs far more than using it


def scaled(dist, factor: float) -> dict:
    """A distribution (model or plain data) scaled by ``factor``, as plain data."""
    if not isinstance(dist, _Dist):
        dist = _distribution_adapter().validate_python(dist)
    return dist.scaled(factor).model_dump(mode="json")


def scaled_handoff(spec, factor: float) -> dict:
    """An item's hand-off times scaled by ``factor``, as plain data."""
    return {
        "to_back_office_minutes": scaled(spec.handoff.to_back_office_minutes, factor),
        "to_window_minutes": scaled(spec.handoff.to_window_minutes, factor),
    }


def window_decides(it: dict, decision_minutes: float, keep_steps: list[str], handoff_factor: float, spec) -> None:
    """Turn back-office item data ``it`` (of item ``spec``) into an item decided at the window (in place).

    Intake grows by ``decision_minutes`` on average (same shape, scaled);
    steps named in ``keep_steps`` (by id or role) stay, with hand-offs scaled
    by ``handoff_factor``; with none kept the item becomes immediate.
    """
    kept = [j for j, st in enumerate(spec.steps) if st.key in keep_steps or st.role in keep_steps]
    mean = spec.intake_minutes.mean
    it["intake_minutes"] = scaled(spec.intake_minutes, (mean + decision_minutes) / mean if mean > 0 else 1.0)
    if kept:
        it["steps"] = kept_steps([st.model_dump(mode="json", exclude_none=True) for st in spec.steps], spec.steps, set(kept))
        it["handoff"] = scaled_handoff(spec, handoff_factor)
    else:
        it["kind"] = "immediate"
        it["steps"] = []
        it.pop("handoff", None)
