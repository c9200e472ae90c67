"""Designs: a point of the decision space, its scenario and its cost.

A staffing design is one integer per variable (positions of a window group,
staff of a back-office role ...); a package design is one yes/no per reform,
applied in the order the spec lists them.  A design that cannot be built
(a reform that does not apply to the scenario it meets) carries the reason.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ScenarioError
from ..execution.sweep import set_field
from ..scenario import Scenario
from .spec import OptimisationSpec

__all__ = ["Design", "StaffingSpace", "PackageSpace", "get_field", "station_of"]

_PART = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


@dataclass(frozen=True, eq=False)
class Design:
    key: tuple
    label: str
    cost_yuan_per_year: float  # what is minimised: yearly costs plus one-off costs spread over the years
    cost_one_off_yuan: float
    scenario: Scenario | None
    problem: str = ""


def get_field(data: dict, path: str) -> Any:
    """The value at a field path (``windows[market].positions``) of plain scenario data (KeyError if none)."""
    cur: Any = data
    for m in _PART.finditer(path):
        name, key = m.group(1), m.group(2)
        if name is not None:
            if not isinstance(cur, dict) or name not in cur:
                raise KeyError(f"{name}: no such field here")
            cur = cur[name]
        else:
            if not isinstance(cur, list):
                raise KeyError(f"[{key}]: not a list here")
            if key.lstrip("-").isdigit():
                cur = cur[int(key)]
            else:
                found = [e for e in cur if isinstance(e, dict) and e.get("id") == key]
                if not found:
                    raise KeyError(f"[{key}]: no entry with id {key!r}")
                cur = found[0]
    return cur


def station_of(path: str) -> str | None:
    """The station a variable staffs: ``windows[w].positions`` -> ``w``; ``departments[d].staff.r`` -> ``d.r``."""
    m = re.fullmatch(r"windows\[([^\]]+)\]\.positions", path)
    if m:
        return m.group(1)
    m = re.fullmatch(r"departments\[([^\]]+)\]\.staff\.([^.\[\]]+)", path)
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    return None


def variable_name(v) -> str:
    """A variable's short name: its label, else the station it staffs, else its field path."""
    return v.label or station_of(v.field) or v.field


class StaffingSpace:
    """Integer staffing variables over a base scenario."""

    def __init__(self, spec: OptimisationSpec, base: Scenario):
        self.spec, self.base = spec, base
        self.variables = spec.staffing
        self._data = base.to_dict()
        self._built: dict[tuple, Design] = {}

    def names(self) -> list[str]:
        return [variable_name(v) for v in self.variables]

    def check_fields(self) -> list[tuple[int, str]]:
        """(index, problem) for every variable whose field is not an integer field of the scenario."""
        out = []
        for i, v in enumerate(self.variables):
            try:
                value = get_field(self._data, v.field)
            except (KeyError, IndexError) as exc:
                if re.fullmatch(r"departments\[[^\]]+\]\.staff\.[^.\[\]]+", v.field):
                    try:  # a role the department does not have yet is a staff count of 0
                        get_field(self._data, v.field.rsplit(".", 1)[0])
                        continue
                    except (KeyError, IndexError):
                        pass
                out.append((i, f"{v.field}: {exc.args[0] if exc.args else exc}"))
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                out.append((i, f"{v.field} is {value!r}, not a whole number"))
        return out

    def current(self) -> tuple[int, ...]:
        """The base scenario's values, each kept within its variable's bounds."""
        out = []
        for v in self.variables:
            try:
                x = int(get_field(self._data, v.field))
            except (KeyError, IndexError):
                x = v.min
            out.append(min(max(x, v.min), v.max))
        return tuple(out)

    def cost(self, x) -> float:
        return float(sum(v.cost_yuan_per_year * int(k) for v, k in zip(self.variables, x)))

    def within_limits(self, x) -> bool:
        """Whether ``x`` respects every limit of the spec."""
        index = {v.field: i for i, v in enumerate(self.variables)}
        return all(lim.allows(sum(int(x[index[f]]) for f in lim.fields)) for lim in self.spec.limits)

    def label(self, x) -> str:
        return " ".join(f"{variable_name(v)}={int(k)}" for v, k in zip(self.variables, x))

    def design(self, x) -> Design:
        x = tuple(int(k) for k in x)
        if x not in self._built:
            data = copy.deepcopy(self._data)
            for v, k in zip(self.variables, x):
                data = _set(data, v.field, k)
            try:
                s, problem = self.base.revised(data), ""
            except ScenarioError as exc:
                s, problem = None, "; ".join(str(p) for p in exc.problems[:3])
            self._built[x] = Design(x, self.label(x), self.cost(x), 0.0, s, problem)
        return self._built[x]


def _set(data: dict, path: str, value: int) -> dict:
    """``set_field`` that removes a staff role set to 0 (a role with no staff is a role the department lacks)."""
    m = re.fullmatch(r"(departments\[[^\]]+\]\.staff)\.([^.\[\]]+)", path)
    if m and value == 0:
        staff = dict(get_field(data, m.group(1)))
        staff.pop(m.group(2), None)
        return set_field(data, m.group(1), staff)
    return set_field(data, path, value)


class PackageSpace:
    """Reform packages over a base scenario: one yes/no per reform of the spec, applied in its order."""

    def __init__(self, spec: OptimisationSpec, base: Scenario):
        self.spec, self.base = spec, base
        self.options = spec.reforms
        self._built: dict[tuple, Design] = {}

    def names(self) -> list[str]:
        return [o.name for o in self.options]

    def cost(self, mask) -> tuple[float, float]:
        """(annual cost with one-off costs spread over the years, one-off cost)."""
        on = [o for o, b in zip(self.options, mask) if b]
        one_off = sum(o.cost_one_off_yuan for o in on)
        return sum(o.cost_yuan_per_year for o in on) + one_off / self.spec.amortise_years, one_off

    def label(self, mask) -> str:
        on = [o.name for o, b in zip(self.options, mask) if b]
        return " + ".join(on) if on else "(no reform)"

    def design(self, mask) -> Design:
        from ..reforms import apply_reform

        mask = tuple(bool(b) for b in mask)
        if mask not in self._built:
            s, problem = self.base, ""
            for o, b in zip(self.options, mask):
                if not b:
                    continue
                try:
                    s = apply_reform(s, o.reform, **o.params)
                except ScenarioError as exc:
                    s, problem = None, f"{o.name}: " + "; ".join(str(p) for p in exc.problems[:3])
                    break
            annual, one_off = self.cost(mask)
            self._built[mask] = Design(mask, self.label(mask), annual, one_off, s, problem)
        return self._built[mask]
