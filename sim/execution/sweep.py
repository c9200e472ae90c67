"""Sweeps: a grid (or list) of parameter values x scenarios x replications, resumable.

A sweep file::

    name: county-market-window
    scenarios: [../scenarios/county_before_reform.yaml]   # paths relative to this file
    replications: 20
    seed: 2025
    grid:                                   # every combination of these values
      windows[market_window].positions: [1, 2, 3]
      case_types[enterprise_opening].arrivals.per_day: [4, 6]
    kpis: [lead_time_working_days_mean, queue_wait_minutes_mean]   # default: every KPI
    scopes: [all]                           # default: every scope

A parameter is a field path into the scenario: ``.name`` for a field,
``[id]`` for the entry of a list with that id, ``[3]`` for an entry by
position (``departments[market].staff.clerk``, ``run.horizon_working_days``).
``points:`` lists parameter sets instead of (or as well as) a grid.

Each finished replication is written at once to a SQLite store keyed by the
model hash, the seed and the replication index (:mod:`sim.execution.store`),
so a killed sweep, run again with the same command, runs only what is
missing and gives the same table.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ..errors import Problem, ScenarioError
from ..stats import summarise
from .executors import Executor, LocalExecutor
from .jobs import _replication
from .store import ReplicationStore

__all__ = ["Sweep", "load_sweep", "run_sweep", "set_field"]

_PART = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


class Sweep(BaseModel):
    """A sweep file, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[^\s/\\]+$")
    description: str = ""
    scenarios: tuple[str, ...] = Field(min_length=1)
    replications: int = Field(ge=1, le=100_000)
    seed: int = Field(default=12345, ge=0)
    grid: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    points: tuple[dict[str, Any], ...] = ()
    kpis: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    source: str = ""

    def parameter_points(self) -> list[dict[str, Any]]:
        """Every parameter set: the grid's combinations, then the listed points (one empty set if neither)."""
        names = list(self.grid)
        grid = [dict(zip(names, combo)) for combo in itertools.product(*(self.grid[n] for n in names))] if names else []
        return grid + [dict(p) for p in self.points] or [{}]

    def scenario_path(self, ref: str) -> Path:
        return (Path(self.source).parent / ref).resolve()


def set_field(data: dict, path: str, value: Any) -> dict:
    """A copy of scenario data with the field at ``path`` set (``windows[market].positions``)."""
    out = copy.deepcopy(data)
    parts = [m.group(1) if m.group(1) is not None else f"[{m.group(2)}]" for m in _PART.finditer(path)]
    if not parts:
        raise KeyError("an empty field path")
    cur: Any = out
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part.startswith("["):
            key = part[1:-1]
            if not isinstance(cur, list):
                raise KeyError(f"{part}: not a list here")
            if key.lstrip("-").isdigit():
                idx = int(key)
                if not -len(cur) <= idx < len(cur):
                    raise KeyError(f"{part}: the list has {len(cur)} entries")
            else:
                found = [i for i, e in enumerate(cur) if isinstance(e, dict) and e.get("id") == key]
                if not found:
                    ids = ", ".join(str(e.get("id")) for e in cur if isinstance(e, dict))
                    raise KeyError(f"{part}: no entry with id {key!r} (ids: {ids})")
                idx = found[0]
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        else:
            if not isinstance(cur, dict):
                raise KeyError(f"{part}: not a mapping here")
            if last:
                cur[part] = value
            else:
                cur = cur.setdefault(part, {})
    return out


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (every problem with its line and column)."""
    from ..loading import read_spec

    def missing(sweep: Sweep) -> list[Problem]:
        return [Problem(f"scenarios[{i}]", f"file not found: {sweep.scenario_path(ref)}")
                for i, ref in enumerate(sweep.scenarios) if not sweep.scenario_path(ref).is_file()]

    return read_spec(path, Sweep, "a sweep file", missing)


def _where(sweep: Sweep, *names: str) -> str:
    return "grid" if all(n in sweep.grid for n in names) else "points"


def _models(sweep: Sweep) -> list[tuple[str, dict, Any]]:
    """(scenario label, point, scenario) for every scenario x point, validated before anything runs."""
    from ..loading import load_scenario
    from ..scenario import Scenario

    out, problems = [], []
    for ref in sweep.scenarios:
        base = load_scenario(sweep.scenario_path(ref))
        data = base.to_dict()
        for point in sweep.parameter_points():
            d = data
            try:
                for name, value in point.items():
                    d = set_field(d, name, value)
                s = Scenario.from_dict(d)
            except KeyError as exc:
                problems.append(Problem(f"{_where(sweep, name)}.{name}", f"{ref}: {exc.args[0]}"))
                continue
            except ScenarioError as exc:
                problems += [Problem(_where(sweep, *point), f"{ref} at {point}: {q}") for q in exc.problems]
                continue
            out.append((ref, point, s))
    if problems:
        raise ScenarioError(problems, sweep.source)
    return out


def run_sweep(
    sweep: Sweep,
    store: str | Path,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run what the store lacks, then return the tidy table of every point.

    Columns: scenario, the parameters, scope, kpi, mean, ci_low, ci_high,
    std, n (replications).  The same numbers whatever was stored before and
    whatever executor ran them.
    """
    models = _models(sweep)
    executor = executor or LocalExecutor(1)
    with ReplicationStore(store) as db:
        tasks, owners = [], []
        for ref, point, s in models:
            h = s.model_hash()
            db.register(h, ref, point)
            have = db.finished(h, sweep.seed)
            data = s.to_dict()
            for r in range(sweep.replications):
                if r not in have:
                    tasks.append((data, s.content_hash(), sweep.seed, r, False, False))
                    owners.append(h)

        def keep(i: int, rep) -> None:  # written as it finishes: a kill loses only unfinished work
            k = rep.kpis
            if sweep.kpis:
                k = k[k["kpi"].isin(sweep.kpis)]
            if sweep.scopes:
                k = k[k["scope"].isin(sweep.scopes)]
            db.add(owners[i], sweep.seed, rep.replication, k)

        if tasks:
            executor.map(_replication, tasks, progress, each=keep)
        hashes = [s.model_hash() for _, _, s in models]
        rows = db.kpis(hashes, sweep.seed)
    rows = rows[rows["replication"] < sweep.replications]
    table = summarise(rows, by=("model_hash", "scope", "kpi"))
    labels = {s.model_hash(): (ref, point) for ref, point, s in models}
    params = list(dict.fromkeys(k for _, p, _ in models for k in p))
    table.insert(0, "scenario", [labels[h][0] for h in table["model_hash"]])
    for j, name in enumerate(params, 1):
        table.insert(j, name, [labels[h][1].get(name) for h in table["model_hash"]])
    order = {h: i for i, h in enumerate(hashes)}
    table = table.sort_values(["model_hash", "scope", "kpi"], key=lambda c: c.map(order) if c.name == "model_hash" else c)
    return table.reset_index(drop=True)
