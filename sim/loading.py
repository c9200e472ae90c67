"""Reading scenario files (YAML) into :class:`~sim.scenario.Scenario` objects.

This is the only place the library reads scenario files; the engine works on
objects.  Every problem is reported with the file, the line and column, and
(except YAML syntax) the field path: ``county.yaml:57:18: items[3].department:
no department with id 'markett' (did you mean 'market'?)``.
"""

from __future__ import annotations

import difflib
import gc
import os
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError, format_path, parse_path
from .scenario import Scenario
from .yaml_source import Positions, YamlProblem, parse_yaml

MAX_FILE_BYTES = 50 * 10**6
"""Largest scenario file read (the shipped ones are under 100 kB)."""

__all__ = ["load_scenario", "read_source", "read_spec", "read_yaml", "reform_plan", "attribution_plan", "with_positions"]


MAX_BASE_CHAIN = 32
"""Most files in a chain of ``base:`` references (a file, its base, the base's base ...)."""


def read_source(path: str | os.PathLike) -> tuple[Any, Positions]:
    """(data, positions) of a YAML file; any problem reading it becomes a :class:`ScenarioError`."""
    p = Path(path)
    src = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem("(file)", "file not found")], src) from None
    except IsADirectoryError:
        raise ScenarioError([Problem("(file)", "is a directory, not a scenario file")], src) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError([Problem("(file)", f"cannot be read: {reason}")], src) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [Problem("(file)", f"is {len(raw) / 1e6:.0f} MB; a scenario file may be at most {MAX_FILE_BYTES // 10**6} MB")],
            src,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem("(file)", f"not UTF-8 text (byte {raw[exc.start]:#04x})", line)], src) from None
    try:
        return parse_yaml(text)
    except YamlProblem as exc:
        where = format_path(exc.path) if exc.path else "(file)"
        raise ScenarioError([Problem(where, exc.reason, exc.line, exc.column)], src) from None


def read_spec(path: str | os.PathLike, model: type, what: str, check=None):
    """A spec file (experiment, sweep ...) validated into ``model`` (its ``source`` set to the path).

    ``check(spec)`` may return problems found after validation (e.g. missing
    files); every problem carries its line and column.
    """
    from pydantic import ValidationError

    from .validation import problems_from_pydantic

    p = Path(path)
    data, positions = read_source(p)
    if not isinstance(data, dict):
        raise ScenarioError([Problem("(file)", f"{what} is a mapping of fields")], str(p))
    try:
        spec = model.model_validate({**data, "source": str(p)})
    except ValidationError as exc:
        raise with_positions(ScenarioError(problems_from_pydantic(exc, data, model)), positions, str(p)) from None
    problems = check(spec) if check else []
    if problems:
        raise with_positions(ScenarioError(problems), positions, str(p))
    return spec


def read_yaml(path: str | os.PathLike) -> Any:
    """Parse a YAML file, turning any problem with it into a :class:`ScenarioError`."""
    return read_source(path)[0]


def with_positions(exc: ScenarioError, positions: Positions, src: str) -> ScenarioError:
    """The error with the line and column of each of its own file's problems."""
    out = []
    for p in exc.problems:
        if p.file is None and p.line is None and p.path != "(file)":
            at = positions.find(() if p.path.startswith("(") else parse_path(p.path), p.key)
            if at is not None:
                p = replace(p, line=at[0], column=at[1])
        out.append(p)
    out.sort(key=lambda p: (p.file is not None, p.file or "", p.line or 0, p.column or 0))  # in file order
    return ScenarioError(out, src)


@contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector while a file is read, validated and reformed.

    Reading builds hundreds of thousands of small containers that all stay
    alive; the collector would scan them over and over (half the time of a
    large file), finding nothing to free.  It is switched back on after.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


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
    src = str(path)
    with _no_cycle_collection():
        data, positions = read_source(path)
        if data is None:
            raise ScenarioError([Problem("(top level)", "the file is empty")], src)
        try:
            if isinstance(data, dict) and "base" in data:
                return _load_reformed(Path(path), data, _seen)
            return Scenario.from_dict(data, source=src)
        except ScenarioError as exc:
            raise with_positions(exc.with_source(src), positions, src) from None


def reform_plan(path: str | os.PathLike) -> tuple[Scenario, list[tuple[str, dict]]]:
    """(base scenario with the file's overrides, [(reform, params), ...]) of a reformed file."""
    scenario, plan, _ = attribution_plan(path)
    return scenario, plan


def _plan(path: Path, data: dict, seen: tuple) -> tuple[Scenario, list[tuple[str, dict]], list[str | None]]:
    src = str(path)
    data = dict(data)
    base_ref = data.pop("base")
    reforms = data.pop("reforms", [])
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise ScenarioError([Problem("base", "must be the path of a scenario file")], src)
    if "\0" in base_ref:
        raise ScenarioError([Problem("base", "a file path cannot contain a NUL character")], src)
    if len(seen) >= MAX_BASE_CHAIN:
        raise ScenarioError(
            [Problem("base", f"more than {MAX_BASE_CHAIN} files in a chain of base: references")], src
        )
    try:
        base_path = (path.parent / base_ref).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError([Problem("base", f"not a usable file path: {exc}")], src) from None
    try:
        found, is_dir = base_path.is_file(), base_path.is_dir()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise ScenarioError([Problem("base", f"not a usable file path: {exc.strerror or exc}")], src) from None
    if not found:
        what = "is a directory, not a scenario file" if is_dir else "no such file"
        raise ScenarioError([Problem("base", f"{what}: {base_ref}")], src)
    if base_path in seen or base_path == path.resolve():
        raise ScenarioError([Problem("base", f"files name each other as base: {base_ref}")], src)
    try:
        base = load_scenario(path.parent / base_ref, seen + (path.resolve(),))
    except ScenarioError as exc:
        # the base file's own problems, each with its file, line and column
        raise ScenarioError([p if p.file else replace(p, file=exc.source) for p in exc.problems], src) from None
    if not isinstance(reforms, list):
        raise ScenarioError([Problem("reforms", "must be a list of {reform: name, ...parameters}")], src)
    fields = set(Scenario.model_fields) | {"reforms"}
    unknown = []
    for k in data:
        if k not in fields:
            close = difflib.get_close_matches(str(k), sorted(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            unknown.append(Problem("(top level)", f"unknown field '{k}' of a reformed scenario{hint}", key=str(k)))
    if unknown:
        raise ScenarioError(unknown, src)
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
        plan.append((spec["reform"], {str(k): v for k, v in spec.items() if k not in ("reform", "group")}))
        groups.append(group)
    return scenario, plan, groups


def attribution_plan(path: str | os.PathLike) -> tuple[Scenario, list[tuple[str, dict]], list[str | None]]:
    """Like :func:`reform_plan`, plus each reform's ``group`` (None if it has none).

    Reforms sharing a group are one player in the attribution: they are
    switched on together (e.g. a window that a later reform needs).
    """
    p = Path(path)
    data, positions = read_source(p)
    if not isinstance(data, dict) or "base" not in data:
        raise ScenarioError([Problem("base", "this file names no base scenario and reforms")], str(p))
    try:
        return _plan(p, data, ())
    except ScenarioError as exc:
        raise with_positions(exc.with_source(str(p)), positions, str(p)) from None


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
