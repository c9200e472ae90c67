"""Reading scenario files (YAML) into :class:`~sim.scenario.Scenario` objects.

This is the only place the library reads scenario files; the engine works on
objects.  YAML syntax errors and duplicate keys are reported with the file,
line and column; everything else with the field path.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, ScenarioError
from .scenario import Scenario

__all__ = ["load_scenario", "read_yaml", "reform_plan", "attribution_plan"]


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys instead of keeping the last."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: str | os.PathLike) -> Any:
    """Parse a YAML file, turning syntax errors into a :class:`ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem("(file)", "file not found")], str(p)) from None
    except IsADirectoryError:
        raise ScenarioError([Problem("(file)", "is a directory, not a scenario file")], str(p)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem("(file)", f"not UTF-8 text ({exc.reason})")], str(p)) from None
    except OSError as exc:
        raise ScenarioError([Problem("(file)", exc.strerror or str(exc))], str(p)) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError([Problem(where, f"YAML syntax: {reason}")], str(p)) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("(file)", f"YAML syntax: {exc}")], str(p)) from None


def load_scenario(path: str | os.PathLike, _seen: tuple = ()) -> Scenario:
    """Load and validate a scenario file.

    A file may instead name a ``base`` file (path relative to it) and a list of
    ``reforms`` to apply to it, plus top-level fields that replace the base's
    (``name``, ``description``, ``run`` ...)::

        base: county_before_reform.yaml
        name: County after reform
        reforms:
          - {reform: centralise}
          - {reform: tolerance_acceptance, share_tolerated: 0.8}

    Raises :class:`ScenarioError` naming the file, every field path at fault and
    what is wrong with it.
    """
    data = read_yaml(path)
    if data is None:
        raise ScenarioError([Problem("(top level)", "the file is empty")], str(path))
    if isinstance(data, dict) and "base" in data:
        return _load_reformed(Path(path), data, _seen)
    return Scenario.from_dict(data, source=str(path))


def reform_plan(path: str | os.PathLike) -> tuple[Scenario, list[tuple[str, dict]]]:
    """(base scenario with the file's overrides, [(reform, params), ...]) of a reformed file."""
    scenario, plan, _ = attribution_plan(path)
    return scenario, plan


def _plan(path: Path, data: dict, seen: tuple) -> tuple[Scenario, list[tuple[str, dict]], list[str | None]]:
    src = str(path)
    data = dict(data)
    base_ref = data.pop("base")
    reforms = data.pop("reforms", [])
    if not isinstance(base_ref, str):
        raise ScenarioError([Problem("base", "must be the path of a scenario file")], src)
    base_path = (path.parent / base_ref).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ScenarioError([Problem("base", f"files name each other as base: {base_ref}")], src)
    try:
        base = load_scenario(base_path, seen + (path.resolve(),))
    except ScenarioError as exc:
        raise ScenarioError([Problem("base", f"{base_ref}: {p}") for p in exc.problems], src) from None
    if not isinstance(reforms, list):
        raise ScenarioError([Problem("reforms", "must be a list of {reform: name, ...parameters}")], src)
    fields = set(Scenario.model_fields) | {"reforms"}
    for k in data:
        if k not in fields:
            close = difflib.get_close_matches(str(k), sorted(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError([Problem(str(k), f"unknown field of a reformed scenario{hint}")], src)
    try:
        scenario = base.evolve(**data) if data else base
    except ScenarioError as exc:
        raise exc.with_source(src) from None
    plan, groups = [], []
    for i, spec in enumerate(reforms):
        if not isinstance(spec, dict) or "reform" not in spec:
            raise ScenarioError([Problem(f"reforms[{i}]", "expected a mapping with 'reform: <name>' and its parameters")], src)
        group = spec.get("group")
        if group is not None and not isinstance(group, str):
            raise ScenarioError([Problem(f"reforms[{i}].group", "must be a name (text)")], src)
        plan.append((spec["reform"], {k: v for k, v in spec.items() if k not in ("reform", "group")}))
        groups.append(group)
    return scenario, plan, groups


def attribution_plan(path: str | os.PathLike) -> tuple[Scenario, list[tuple[str, dict]], list[str | None]]:
    """Like :func:`reform_plan`, plus each reform's ``group`` (None if it has none).

    Reforms sharing a group are one player in the attribution: they are
    switched on together (e.g. a window that a later reform needs).
    """
    p = Path(path)
    data = read_yaml(p)
    if not isinstance(data, dict) or "base" not in data:
        raise ScenarioError([Problem("base", "this file names no base scenario and reforms")], str(p))
    return _plan(p, data, ())


def _load_reformed(path: Path, data: dict, seen: tuple) -> Scenario:
    from .reforms import apply_reform, call_problems

    src = str(path)
    scenario, plan, _ = _plan(path, data, seen)
    # names and parameters of every entry first, so a file's mistakes come out together
    early = [Problem(f"reforms[{i}].{p.path}", p.message) for i, (name, params) in enumerate(plan) for p in call_problems(name, params)]
    if early:
        raise ScenarioError(early, src)
    for i, (name, params) in enumerate(plan):
        try:
            scenario = apply_reform(scenario, name, **params)
        except ScenarioError as exc:
            raise ScenarioError([Problem(f"reforms[{i}].{p.path}", p.message) for p in exc.problems], src) from None
    return scenario
