"""The reform catalogue: registration, parameter checks and application."""

from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ConfigDict, ValidationError, validate_call
from pydantic.fields import FieldInfo

from ..errors import Problem, ScenarioError, format_path
from ..scenario import Scenario

__all__ = ["Reform", "Parameter", "REFORMS", "reform", "apply_reform", "call_problems"]


@dataclass(frozen=True)
class Parameter:
    """One parameter of a reform, for listings and error messages."""

    name: str
    default: Any  # inspect.Parameter.empty when required
    description: str

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class Reform:
    """A named, parameterised transformation of a scenario."""

    name: str
    zh: str
    mechanism: str
    function: Callable[..., Scenario]
    checked: Callable[..., Scenario]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        hints = typing.get_type_hints(self.function, include_extras=True)
        out = []
        for p in list(inspect.signature(self.function).parameters.values())[1:]:
            desc = ""
            for meta in getattr(hints.get(p.name), "__metadata__", ()):
                if isinstance(meta, FieldInfo) and meta.description:
                    desc = meta.description
            out.append(Parameter(p.name, p.default, desc))
        return tuple(out)

    def __call__(self, scenario: Scenario, /, **params) -> Scenario:
        return apply_reform(scenario, self.name, **params)


REFORMS: dict[str, Reform] = {}


def reform(name: str, zh: str, mechanism: str):
    """Register a function ``(scenario, **params) -> scenario`` as a reform."""

    def register(fn):
        checked = validate_call(fn, config=ConfigDict(arbitrary_types_allowed=True, strict=True))
        REFORMS[name] = Reform(name, zh, mechanism, fn, checked)
        return fn

    return register


def _problems(exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        path = format_path(err["loc"])
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        if "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f" (got {err['input']!r})"
        out.append(Problem(path, msg))
    return out


def call_problems(name: str, params: dict) -> list[Problem]:
    """What is wrong with calling reform ``name`` with these parameter names (no scenario needed).

    An unknown reform, unknown parameters and missing required ones; value
    checks happen when the reform is applied.
    """
    if not isinstance(name, str):
        return [Problem("reform", f"must be the name of a reform (text), got {type(name).__name__}; known: {', '.join(REFORMS)}")]
    r = REFORMS.get(name)
    if r is None:
        close = difflib.get_close_matches(str(name), list(REFORMS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(REFORMS)}"
        return [Problem("reform", f"unknown reform {name!r}{hint}")]
    known = {p.name: p for p in r.parameters}
    problems = [
        Problem(str(k), f"unknown parameter of {name}; its parameters: {', '.join(known) or 'none'}")
        for k in params
        if k not in known
    ]
    problems += [Problem(p.name, f"required parameter of {name} is missing") for p in known.values() if p.required and p.name not in params]
    return problems


def apply_reform(scenario: Scenario, name: str, /, **params) -> Scenario:
    """Apply the reform called ``name`` with its parameters; returns a new, validated scenario.

    Unknown or missing parameters and values of the wrong type raise
    :class:`~sim.errors.ScenarioError` naming the parameter.
    """
    problems = call_problems(name, params)
    if problems:
        raise ScenarioError(problems, "reform")
    try:
        return REFORMS[name].checked(scenario, **params)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc), "reform") from None
