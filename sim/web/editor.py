"""The scenario editor's fields, generated from the scenario schema, and the edits applied back.

Nothing here is written per field: :func:`entries` walks the scenario's
pydantic models and offers every number, whole number, switch and choice
it finds, grouped by the entry they belong to (a window group, a
department, an item, a case type, the applicants, the run settings ...).
Nested models are followed (``items[2].intake_minutes.mean``,
``items[2].steps[0].minutes.cv``, ``case_types[0].arrivals.per_day``), and
so are maps of numbers (``departments[1].staff.clerk``).  Identifiers,
names, flows and lists of plain values are not offered: they are structure,
not the numbers a planner changes.

Edits are kept as text keyed by field path and applied to the scenario's
plain data; the result is validated like a file, so every problem comes back
with the path of the field it concerns, in the command line's words, and
the page shows it beside that field.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel

from ..errors import Problem, ScenarioError, format_path
from ..scenario import Scenario

__all__ = ["Field", "Entry", "entries", "apply_edits", "scenario_yaml", "problems_by_field", "value_text"]


@dataclass(frozen=True)
class Field:
    """One editable value: where it is, how to edit it, what it holds now."""

    path: tuple  # ("windows", 3, "positions")
    label: str  # the path inside its entry: "positions", "intake_minutes.mean", "staff.clerk"
    kind: str  # "number" | "integer" | "flag" | "choice"
    value: Any
    optional: bool = False  # may be left empty (not set)
    choices: tuple = ()
    description: str = ""

    @property
    def key(self) -> str:
        """The field path as the command line writes it (``windows[3].positions``)."""
        return format_path(self.path)


@dataclass(frozen=True)
class Entry:
    """The fields of one element of a scenario list (``collection``, ``index``), or of a single section."""

    collection: str
    index: int | None
    title: str
    fields: tuple[Field, ...]


def _strip(tp):
    """(base types, optional) of an annotation: Annotated and None taken off, unions split."""
    optional = False
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = []
        for a in typing.get_args(tp):
            if a is type(None):
                optional = True
            else:
                inner, opt = _strip(a)
                args += inner
                optional = optional or opt
        return args, optional
    return [tp], optional


def _kind(tp) -> tuple[str | None, bool, tuple]:
    """(kind, optional, choices) of a scalar annotation; kind None when it is not a scalar the editor offers."""
    args, optional = _strip(tp)
    if len(args) == 1 and typing.get_origin(args[0]) is Literal:
        choices = typing.get_args(args[0])
        return ("choice" if len(choices) > 1 else None), optional, choices  # one value: a union's tag, not a choice
    if args and all(a is bool for a in args):
        return "flag", optional, ()
    if args and all(a is int for a in args):
        return "integer", optional, ()
    if args and all(a in (int, float) for a in args):
        return "number", optional, ()
    return None, optional, ()


def _map_value_kind(tp) -> str | None:
    """The kind of a map's values (``staff: {role: count}``), or None when it is not a map of numbers."""
    args, _ = _strip(tp)
    for a in args:
        if typing.get_origin(a) is dict:
            k, _opt, _c = _kind(typing.get_args(a)[1])
            return k if k in ("integer", "number") else None
    return None


def _name(obj, index: int) -> str:
    ident = getattr(obj, "id", None) or getattr(obj, "role", None)
    return str(ident) if ident else str(index)


STRUCTURE = {"id", "flow"}
"""Fields never offered: identifiers and the flow of steps (the process's structure, edited in the file)."""


def _leaves(obj: BaseModel, path: tuple, label: str) -> list[Field]:
    out: list[Field] = []
    for name, info in type(obj).model_fields.items():
        if name in STRUCTURE:
            continue
        value = getattr(obj, name)
        here, lab = path + (name,), f"{label}.{name}" if label else name
        kind, optional, choices = _kind(info.annotation)
        if kind is not None:
            out.append(Field(here, lab, kind, value, optional, tuple(choices), info.description or ""))
        elif isinstance(value, BaseModel):
            out += _leaves(value, here, lab)
        elif isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, v in enumerate(value):
                out += _leaves(v, here + (i,), f"{lab}[{_name(v, i)}]")
        elif isinstance(value, Mapping):
            vk = _map_value_kind(info.annotation)
            if vk is not None:
                out += [Field(here + (k,), f"{lab}.{k}", vk, v, False, (), info.description or "") for k, v in value.items()]
    return out


def entries(scenario: Scenario) -> list[Entry]:
    """Every editable entry of the scenario, in the schema's order, each with its fields."""
    out = []
    for name in type(scenario).model_fields:
        value = getattr(scenario, name)
        if isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, v in enumerate(value):
                fields = tuple(_leaves(v, (name, i), ""))
                if fields:
                    ident = _name(v, i)
                    nice = getattr(v, "name", "")
                    out.append(Entry(name, i, f"{ident} ({nice})" if nice and nice != ident else ident, fields))
        elif isinstance(value, BaseModel):
            fields = tuple(_leaves(value, (name,), ""))
            if fields:
                out.append(Entry(name, None, name, fields))
    return out


def value_text(value: Any) -> str:
    """A value as the editor shows it: YAML's spelling, empty for not set."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _parse(text: Any) -> Any:
    """Typed text as a YAML scalar; text that is not one is handed on as it is (the validator names it)."""
    if not isinstance(text, str):
        return text
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return v if isinstance(v, (int, float, bool, str)) or v is None else text


def _set(data: Any, path: tuple, value: Any) -> None:
    cur = data
    for part in path[:-1]:
        if isinstance(cur, dict):
            cur = cur.setdefault(part, {})
        else:
            cur = cur[part]
    last = path[-1]
    if value is None and isinstance(cur, dict):
        cur.pop(last, None)
    else:
        cur[last] = value


def apply_edits(scenario: Scenario, edits: Mapping[tuple, Any], source: str = "edits") -> Scenario:
    """The scenario with ``edits`` ({field path: typed text or value}) applied, validated like a file.

    An empty text sets an optional field to not set.  Raises
    :class:`ScenarioError` (source ``source``) naming each problem's field path.
    """
    if not edits:
        return scenario
    data = scenario.to_dict()
    for path, text in edits.items():
        v = _parse(text)
        if isinstance(text, str) and not text.strip():
            v = None
        try:
            _set(data, tuple(path), v)
        except (KeyError, IndexError, TypeError):
            raise ScenarioError([Problem(format_path(path), "no such field in this scenario")], source) from None
    return Scenario.from_dict(data, source=source)


def problems_by_field(exc: ScenarioError, fields: list[Field]) -> tuple[dict[str, list[str]], list[Problem]]:
    """({field key: messages} for problems at or inside a shown field, the problems no shown field owns)."""
    keys = {f.key for f in fields}
    mine: dict[str, list[str]] = {}
    rest = []
    for p in exc.problems:
        if p.path in keys:
            mine.setdefault(p.path, []).append(p.message)
        else:
            rest.append(p)
    return mine, rest


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as a YAML file that loads back to the same scenario."""
    return yaml.safe_dump(scenario.to_dict(), allow_unicode=True, sort_keys=False)
