"""Checks on scenarios beyond field types: references, precedence cycles, coverage.

Field-level problems come from pydantic and are rewritten here into the
project's one message format (path + reason); cross-reference problems are
found by :func:`check_references`.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Iterable, Mapping, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from .calendar import parse_clock
from .errors import Problem, format_path, parse_path
from .flow import Apply, ExternalStep, precedence_edges, walk

__all__ = ["problems_from_pydantic", "check_references", "validate_scenario", "validate_changes", "validate_revision", "user_path"]


def _models_in(annotation: Any) -> list[tuple[str | None, type]]:
    """(tag, model class) pairs a field of this type can hold (through tuples, unions, tags)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        tag = next((m.tag for m in meta if isinstance(m, Tag)), None)
        return [(tag or t, m) for t, m in _models_in(inner)]
    if origin is not None:
        return [pair for a in get_args(annotation) if a is not Ellipsis for pair in _models_in(a)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(None, annotation)]
    return []


def _fields_at(loc: Iterable[Any], root: type | None = None) -> set[str]:
    """Field names of the object at pydantic location ``loc`` (tags included) of a ``root`` model (a scenario)."""
    if root is None:
        from .scenario import Scenario as root

    pairs: list[tuple[str | None, type]] = [(None, root)]
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(part, str) and part.startswith("[") and part.endswith("]"):
            pairs = [(t, m) for t, m in pairs if t == part]
            continue
        pairs = [pair for _, m in pairs if part in m.model_fields for pair in _models_in(m.model_fields[part].annotation)]
    return {f.alias or name for _, m in pairs for name, f in m.model_fields.items()}


def _strip(loc: Iterable[Any]) -> list[Any]:
    return [p for p in loc if not (isinstance(p, str) and p.startswith("[") and p.endswith("]"))]


def _lookup(data: Any, loc: list[Any]) -> Any:
    cur = data
    for p in loc:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, (list, tuple)) and isinstance(p, int) and 0 <= p < len(cur):
            cur = cur[p]
        else:
            return None
    return cur


def user_path(loc: Iterable[Any], data: Any) -> list[Any]:
    """A model location as the user wrote it: a flow written as a plain list has no 'sequence' key.

    ``("case_types", 0, "flow", "sequence", 1)`` becomes ``("case_types", 0, "flow", 1)``
    when the file's flow is a list.
    """
    out: list[Any] = []
    cur = data
    for part in loc:
        if part == "sequence" and isinstance(cur, (list, tuple)):
            continue
        out.append(part)
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, (list, tuple)) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            cur = None
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from_pydantic(exc: ValidationError, data: Any = None, root: type | None = None) -> list[Problem]:
    """Rewrite pydantic's errors as problems with our paths and wording.

    ``root`` is the model validated (default: a scenario); unknown fields get
    suggestions from the fields of the object they were written in.
    """
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    errors = exc.errors(include_url=False)
    # how many errors lie at or inside each location (one pass, not a scan per error)
    inside: dict[tuple, int] = {}
    for e in errors:
        at = tuple(_strip(e["loc"]))
        for n in range(len(at) + 1):
            inside[at[:n]] = inside.get(at[:n], 0) + 1
    vocabs: dict[tuple, list[str]] = {}
    for err in errors:
        loc = _strip(err["loc"])
        kind = err["type"]
        if kind == "too_short" and inside.get(tuple(loc), 0) > 1:
            continue  # elements were invalid; pydantic then counts them as missing
        msg = err["msg"]
        given = err.get("input")
        if loc and loc[-1] == "value" and isinstance(_lookup(data, user_path(loc[:-1], data)), (int, float)):
            loc = loc[:-1]  # a bare number written for a distribution
        if kind == "extra_forbidden":
            name = loc[-1] if loc else "?"
            where = tuple(p for p in err["loc"][:-1] if not isinstance(p, int))  # the same fields at every index
            if where not in vocabs:
                vocabs[where] = sorted(_fields_at(where, root))
            close = difflib.get_close_matches(str(name), vocabs[where], n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out_loc, text = loc[:-1], f"unknown field '{name}'{hint}"
            key = (format_path(user_path(out_loc, data)), text)
            if key not in seen:
                seen.add(key)
                out.append(Problem(*key, key=str(name)))
            continue
        elif kind == "missing":
            out_loc, text = loc, "required field is missing"
        elif kind == "too_short":
            n = (err.get("ctx") or {}).get("min_length", 1)
            out_loc, text = loc, f"must have at least {n} entr{'y' if n == 1 else 'ies'}"
        elif kind == "string_pattern_mismatch":
            out_loc, text = loc, f"an id may not contain spaces, '.', '[' or ']' (got {_show(given)})"
        else:
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            elif msg.startswith("Assertion failed, "):
                msg = msg[len("Assertion failed, "):]
            msg = msg.replace("Input should be", "must be").replace("Input should have", "must have")
            if kind.endswith("_type") or kind.startswith(("greater", "less", "literal", "int_", "float_", "bool", "date", "string_", "too_")):
                if not isinstance(given, (dict, list)):
                    msg += f" (got {_show(given)})"
            out_loc, text = loc, msg
        key = (format_path(user_path(out_loc, data)), text)
        if key not in seen:
            seen.add(key)
            out.append(Problem(*key))
    return out


def _duplicates(things, what: str, path: str) -> list[Problem]:
    out, seen = [], set()
    for i, t in enumerate(things):
        if t.id in seen:
            out.append(Problem(f"{path}[{i}].id", f"duplicate {what} id {t.id!r}"))
        seen.add(t.id)
    return out


SUGGESTION_BUDGET = 20_000
"""Most ids compared for did-you-mean hints in one check (later unknown references get no hint).

A hint compares the unknown id with every known one; thousands of unknown
references among thousands of ids would otherwise take minutes.
"""


class _Hints:
    """Did-you-mean suggestions for unknown ids, within :data:`SUGGESTION_BUDGET` comparisons."""

    def __init__(self, budget: int = SUGGESTION_BUDGET):
        self.budget = budget
        self._sorted: dict[int, tuple[Any, list[str]]] = {}

    def unknown(self, ref: str, known, what: str) -> str:
        hint = ""
        if len(known) <= self.budget:
            self.budget -= len(known)
            cached = self._sorted.get(id(known))
            if cached is None or cached[0] is not known:
                cached = self._sorted[id(known)] = (known, sorted(known))
            close = difflib.get_close_matches(ref, cached[1], n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        else:
            self.budget = 0
        return f"no {what} with id {ref!r}{hint}"


def _unknown(ref: str, known, what: str) -> str:
    return _Hints().unknown(ref, known, what)


def _staff_problems(path: str, department: str | None, role: str, item_department: str, depts, invalid=(), unknown=_unknown) -> list[Problem]:
    """Work done by ``role`` of ``department`` (default: the item's): both must exist."""
    dept_id = department or item_department
    if dept_id in invalid:
        return []
    if department is not None and department not in depts:
        return [Problem(f"{path}.department", unknown(department, depts, "department"))]
    if dept_id in depts and role not in depts[dept_id].staff:
        roles = ", ".join(depts[dept_id].staff) or "none"
        return [Problem(f"{path}.role", f"department {dept_id!r} has no staff in role {role!r} (its roles: {roles})")]
    return []


def check_references(s, invalid: Mapping[str, set] | None = None) -> list[Problem]:
    """Every cross-reference problem in a structurally valid scenario.

    ``invalid`` names, per collection (``sites``, ``items`` ...), ids of
    entries that were left out because their own fields are invalid: a
    reference to them is not reported as unknown, and checks that need every
    entry of that collection are skipped.
    """
    invalid = invalid or {}
    bad_sites, bad_depts, bad_items = invalid.get("sites", set()), invalid.get("departments", set()), invalid.get("items", set())
    bad_windows, bad_externals = invalid.get("windows", set()), invalid.get("externals", set())
    all_windows = "windows" not in invalid
    unknown = _Hints().unknown
    P: list[Problem] = []
    P += _duplicates(s.sites, "site", "sites")
    P += _duplicates(s.departments, "department", "departments")
    P += _duplicates(s.windows, "window", "windows")
    P += _duplicates(s.items, "item", "items")
    P += _duplicates(s.externals, "external", "externals")
    P += _duplicates(s.case_types, "case type", "case_types")

    sites = {x.id for x in s.sites}
    depts = {d.id: d for d in s.departments}
    items = {i.id: i for i in s.items}
    externals = {e.id: e for e in s.externals}
    windows = {w.id: w for w in s.windows}
    window_items = {w.id: set(w.items) for w in s.windows}  # last of a duplicated id, as ``windows``
    accepting: dict[str, set[int]] = {}  # item -> positions of the windows that accept it
    for k, w in enumerate(s.windows):
        for it in w.items:
            accepting.setdefault(it, set()).add(k)

    sites_or_home = sites | {"home"}
    for i, r in enumerate(s.travel.routes):
        for j, end in enumerate(r.between):
            if end != "home" and end not in sites and end not in bad_sites:
                P.append(Problem(f"travel.routes[{i}].between[{j}]", unknown(end, sites_or_home, "site")))
        if r.between[0] == r.between[1]:
            P.append(Problem(f"travel.routes[{i}].between", "a route needs two different sites"))
    for i, d in enumerate(s.departments):
        if d.site not in sites and d.site not in bad_sites:
            P.append(Problem(f"departments[{i}].site", unknown(d.site, sites, "site")))
    accepted: set[str] = set()
    for i, w in enumerate(s.windows):
        if w.site not in sites and w.site not in bad_sites:
            P.append(Problem(f"windows[{i}].site", unknown(w.site, sites, "site")))
        for j, it in enumerate(w.items):
            if it not in items and it not in bad_items:
                P.append(Problem(f"windows[{i}].items[{j}]", unknown(it, items, "item")))
        accepted.update(w.items)
    for i, it in enumerate(s.items):
        p = f"items[{i}]"
        if it.department not in depts and it.department not in bad_depts:
            P.append(Problem(f"{p}.department", unknown(it.department, depts, "department")))
        if it.id not in accepted and all_windows:
            P.append(Problem(f"{p}", f"no window accepts item {it.id!r}: add it to some window's items"))
        for j, st in enumerate(it.steps):
            P += _staff_problems(f"{p}.steps[{j}]", st.department, st.role, it.department, depts, bad_depts, unknown)
        if it.inspection is not None:
            ins = it.inspection
            P += _staff_problems(f"{p}.inspection", ins.department, ins.role, it.department, depts, bad_depts, unknown)
        step_keys: set[str] = set()
        for j, st in enumerate(it.steps):
            if st.key in step_keys:
                P.append(Problem(f"{p}.steps[{j}]", f"two steps share the name {st.key!r}: give each an 'id'"))
            for k, dep in enumerate(st.after or ()):
                if dep in step_keys:
                    continue
                if any(dep == o.key for o in it.steps[j:]):
                    why = f"{dep!r} is not listed before this step: list the steps a step waits for first"
                else:
                    why = f"{dep!r} is not a step of this item" + (
                        f" (earlier steps: {', '.join(sorted(step_keys))})" if step_keys else "")
                P.append(Problem(f"{p}.steps[{j}].after[{k}]", why))
            step_keys.add(st.key)
        for j, dep in enumerate(it.issued_after):
            if dep in bad_items:
                continue
            if dep not in items:
                P.append(Problem(f"{p}.issued_after[{j}]", unknown(dep, items, "item")))
            elif dep == it.id:
                P.append(Problem(f"{p}.issued_after[{j}]", f"item {it.id!r} cannot wait for its own result"))
    P += _issue_cycles(s.items)

    P += _run_fits_the_calendar(s)
    open_spans = s.calendar.spans
    for i, e in enumerate(s.externals):
        if e.kind == "meeting":
            at = parse_clock(e.at)
            if not any(a <= at < b for a, b in open_spans):
                P.append(Problem(f"externals[{i}].at", f"meeting time {e.at} is outside office hours"))

    for c, ct in enumerate(s.case_types):
        base = f"case_types[{c}].flow"
        if not s.calendar.always_open and ct.arrivals.hourly_profile:
            open_hours = {h for a, b in open_spans for h in range(a // 60, (b + 59) // 60)}
            if sum(ct.arrivals.weight(h) for h in open_hours) <= 0:
                P.append(Problem(f"case_types[{c}].arrivals.hourly_profile", "all office hours have weight 0"))
        for node, loc in walk(ct.flow):
            here = base + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
            if isinstance(node, Apply):
                field = "item" if node.item is not None else "items"
                missing = False
                for k, it in enumerate(node.item_ids):
                    if it in bad_items:
                        missing = True
                    elif it not in items:
                        missing = True
                        sub = f"{here}.item" if node.item is not None else f"{here}.items[{k}]"
                        P.append(Problem(sub, unknown(it, items, "item")))
                for k, w in enumerate(node.windows or ()):
                    if w in bad_windows:
                        continue
                    if w not in windows:
                        P.append(Problem(f"{here}.windows[{k}]", unknown(w, windows, "window")))
                    elif not missing:
                        refused = [i for i in node.item_ids if i not in window_items[w]]
                        if refused:
                            P.append(
                                Problem(f"{here}.windows[{k}]", f"window {w!r} does not accept {', '.join(refused)}")
                            )
                if not missing and all_windows and node.windows is None and not _any_accepts(accepting, node.item_ids, windows):
                    P.append(
                        Problem(
                            f"{here}.{field}",
                            f"no window accepts all of {', '.join(node.item_ids)} in one application",
                        )
                    )
                if not missing and node.shared_materials:
                    counts = [items[i].materials for i in node.item_ids]
                    most = sum(counts) - max(counts)
                    if node.shared_materials > most:
                        P.append(
                            Problem(
                                f"{here}.shared_materials",
                                f"{node.shared_materials} shared materials, but the items ask for "
                                f"{'+'.join(str(c) for c in counts)}: at most {most} can be shared",
                            )
                        )
            elif isinstance(node, ExternalStep) and node.external not in externals and node.external not in bad_externals:
                P.append(Problem(f"{here}.external", unknown(node.external, externals, "external")))
        preds, keys = precedence_edges(ct.flow)
        nodes = [(n, loc) for n, loc in walk(ct.flow)]
        for k, idx in keys.items():
            if len(idx) > 1:
                n, loc = nodes[idx[1]]
                here = base + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
                P.append(Problem(here, f"two blocks share the id {k!r}: give each an 'id' of its own"))
        for n, loc in nodes:
            here = base + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
            for j, ref in enumerate(n.after):
                if ref not in keys:
                    P.append(Problem(f"{here}.after[{j}]", unknown(ref, keys, "flow block")))
        try:
            TopologicalSorter(preds).prepare()
        except CycleError as err:
            cyc = err.args[1]
            names = [nodes[i][0].key or type(nodes[i][0]).__name__.lower() for i in cyc]
            P.append(Problem(f"{base}", "precedence cycle: " + " -> ".join(str(x) for x in names) + _cycle_cause(nodes, keys, set(cyc))))
    return P


def _any_accepts(accepting: Mapping[str, set[int]], item_ids, windows) -> bool:
    """Whether some window accepts every one of ``item_ids`` (as ``Scenario.windows_for``, by index)."""
    ids = list(item_ids)
    if not ids:
        return bool(windows)
    common = accepting.get(ids[0], set())
    for i in ids[1:]:
        if not common:
            break
        common = common & accepting.get(i, set())
    return bool(common)


def _run_fits_the_calendar(s) -> list[Problem]:
    """The run must end before the year 9999 (the last date the calendar can count)."""
    cal, run = s.calendar, s.run
    per_week = 7 if cal.always_open else len(cal.working_weekdays)
    days = (run.warmup_working_days + run.horizon_working_days + run.drain_working_days) * 7 / per_week
    days += len(cal.holidays) + 366  # every holiday may fall on a working day; a year's margin
    if cal.start_date.toordinal() + days >= _dt.date(9999, 1, 1).toordinal():
        return [Problem("run", f"warm-up, horizon and drain from {cal.start_date} run past the year 9999: "
                               "start earlier or shorten them")]
    return []


def _cycle_cause(nodes, keys, cycle: set[int]) -> str:
    """The blocks whose 'after' closes a cycle, e.g. a block that waits for a block inside it."""
    index = {id(n): i for i, (n, _) in enumerate(nodes)}
    causes = []
    for n, loc in nodes:
        inside = {index[id(d)] for d, _ in walk(n)}
        for ref in n.after:
            if any(j in cycle for j in keys.get(ref, [])) and inside & cycle:
                who = n.key or format_path(loc) or "the flow"
                within = " (a block inside it)" if any(j in inside for j in keys.get(ref, [])) else ""
                causes.append(f"block {who!r} waits for {ref!r}{within}")
    return f"; {', '.join(causes)}" if causes else ""


def _issue_cycles(items) -> list[Problem]:
    """Items that wait for each other's results (issued_after) would never be issued."""
    known = {it.id for it in items}
    waits = {it.id: deps for it in items if (deps := [d for d in it.issued_after if d in known and d != it.id])}
    try:  # a cycle needs items that wait: look among those first (most items wait for none)
        TopologicalSorter(waits).prepare()
    except CycleError:
        pass
    else:
        return []
    graph = {it.id: [d for d in it.issued_after if d in known and d != it.id] for it in items}
    try:  # the whole graph, so the cycle named is the one it always was
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        loop = list(e.args[1])
        index = {it.id: i for i, it in enumerate(items)}
        return [Problem(
            f"items[{index[loop[0]]}].issued_after",
            "items wait for each other's results and would never be issued: " + " -> ".join(loop),
        )]
    return []


_COLLECTIONS = ("sites", "departments", "windows", "items", "externals", "case_types")
_ID = re.compile(r"^[^\s\[\].]+$")


class _SetAside(set):
    """Ids of entries set aside for invalid fields; ``ANY`` if one had no usable id."""

    ANY = "\0any"

    def __contains__(self, ident) -> bool:
        return set.__contains__(self, self.ANY) or set.__contains__(self, ident)


def validate_scenario(data: Any):
    """Validate plain data into a :class:`~sim.scenario.Scenario`, or raise with every problem.

    Field problems and reference problems come out together: entries whose
    own fields are invalid are set aside, the rest is validated again and its
    references checked (a reference to a set-aside entry is not reported).
    Paths are written as in the data (a flow written as a list has no
    ``sequence`` key).
    """
    from .errors import ScenarioError
    from .scenario import Scenario

    if not isinstance(data, dict):
        raise ScenarioError([Problem("(top level)", f"expected a mapping of scenario fields, got {type(data).__name__}")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc, data)
        problems += _references_of_the_rest(data, exc)
        raise ScenarioError(problems) from None
    problems = check_references(scenario)
    if problems:
        raise ScenarioError([_as_written(p, data, {}) for p in problems])
    return scenario


def _as_written(p: Problem, data: Any, kept: Mapping[str, list[int]]) -> Problem:
    """A reference problem's path in the user's data (original indices, no implied 'sequence')."""
    loc = list(parse_path(p.path))
    if len(loc) > 1 and loc[0] in kept and isinstance(loc[1], int):
        loc[1] = kept[loc[0]][loc[1]]
    return Problem(format_path(user_path(loc, data)), p.message)


def _set_aside(data: dict, errors, kept: dict[str, list[int]], invalid: dict[str, set]) -> dict | None:
    """``data`` without the entries (or top-level settings) the errors are in; None if that cannot be done."""
    out = dict(data)
    drop: dict[str, set[int]] = {}
    for err in errors:
        loc = err["loc"]
        if not loc:
            return None
        head = loc[0]
        if head in _COLLECTIONS:
            if not (isinstance(out.get(head), list) and len(loc) > 1 and isinstance(loc[1], int)):
                return None  # the list itself is wrong: its entries cannot be checked
            drop.setdefault(head, set()).add(loc[1])
        elif head == "name":
            out["name"] = "-"
        else:
            out.pop(head, None)  # use the default (calendar, run ...)
            invalid.setdefault(str(head), _SetAside())
    for head, idx in drop.items():
        ids = invalid.setdefault(head, _SetAside())
        for i in idx:
            entry = out[head][i]
            ident = entry.get("id") if isinstance(entry, dict) else None
            # an entry without a usable id may be what any unknown reference meant
            ids.add(ident if isinstance(ident, str) and _ID.match(ident) else _SetAside.ANY)
        out[head] = [v for i, v in enumerate(out[head]) if i not in idx]
        kept[head] = [k for i, k in enumerate(kept[head]) if i not in idx]
    return out


def _references_of_the_rest(data: dict, exc: ValidationError) -> list[Problem]:
    from .scenario import Scenario

    kept = {h: list(range(len(data[h]))) for h in _COLLECTIONS if isinstance(data.get(h), list)}
    invalid: dict[str, set] = {}
    rest: dict | None = data
    errors = exc.errors(include_url=False)
    for _ in range(4):
        rest = _set_aside(rest, errors, kept, invalid)
        if rest is None:
            return []
        try:
            scenario = Scenario.model_validate(rest)
        except ValidationError as again:
            errors = again.errors(include_url=False)
            continue
        return [_as_written(p, data, kept) for p in check_references(scenario, invalid)]
    return []


# -- scenarios made from other scenarios (reforms, evolve) ---------------------------------------
def _same(a: Any, b: Any) -> bool:
    """Equal and written alike: validation tells ``true`` from ``1``, ``1`` from ``1.0`` and keeps key order."""
    try:
        return bool(a == b) and repr(a) == repr(b)
    except Exception:  # e.g. an array in data built by a program: not the same, validate it
        return False


def _checked(fields: dict):
    """The scenario of ``fields`` (plain data or typed values) if it is valid, else None.

    Typed values (``Site``, ``Item`` ... objects) are taken as they are: they
    were validated when they were made and cannot change since.
    """
    from .scenario import Scenario

    try:
        scenario = Scenario.model_validate(fields)
    except ValidationError:
        return None
    return None if check_references(scenario) else scenario


def validate_changes(base, changes: Mapping[str, Any]):
    """``base`` with top-level fields replaced by ``changes`` (see :meth:`Scenario.evolve`)."""
    from .scenario import Scenario, _plain

    fields = {name: getattr(base, name) for name in type(base).model_fields}
    fields.update(changes)
    scenario = _checked(fields)
    if scenario is not None:
        return scenario
    # something is wrong: validate it all as plain data, for the usual messages and paths
    data = base.model_dump(mode="python")
    data.update(changes)
    return Scenario.from_dict(_plain(data))


def _kept_entries(new: list, old: list, objects: tuple) -> list:
    """``new`` entries (plain data) with each one equal to an ``old`` entry replaced by its object."""
    if len(old) != len(objects):  # not the plain form of these objects: keep nothing
        return new
    by_id: dict[str, int] | None = None
    out = []
    for i, entry in enumerate(new):
        j = i if i < len(old) and _same(entry, old[i]) else None
        if j is None and isinstance(entry, dict) and isinstance(entry.get("id"), str):
            if by_id is None:  # entries moved, were added or removed: find them by id
                by_id = {}
                for k, o in enumerate(old):
                    if isinstance(o, dict) and isinstance(o.get("id"), str):
                        by_id.setdefault(o["id"], k)
            k = by_id.get(entry["id"])
            if k is not None and _same(entry, old[k]):
                j = k
        out.append(entry if j is None else objects[j])
    return out


def validate_revision(base, data: Any, unedited: Mapping[str, Any] | None = None, kept: Iterable[str] = ()):
    """The scenario of ``data``, an edited ``base.to_dict()`` (see :meth:`Scenario.revised`).

    Top-level fields named in ``kept`` (left alone by the edit: their values
    in ``data`` are not looked at), and fields and entries of the
    collections (sites, items ...) equal to what they were
    (``unedited[name]``, else dumped from ``base``) are taken from ``base``;
    the rest is validated, then every reference of the result is checked.
    If anything is wrong the whole of ``data`` is validated as
    :func:`validate_scenario` does, so the problems and their paths are
    exactly those of a scenario written out in full.
    """
    if not isinstance(data, dict) or any(not isinstance(k, str) for k in data):
        return validate_scenario(data)
    fields = type(base).model_fields
    kept = set(kept)
    mixed: dict[str, Any] = {}
    for name, new in data.items():
        if name not in fields:
            mixed[name] = new
            continue
        if name in kept:
            mixed[name] = getattr(base, name)
            continue
        if unedited is not None and name in unedited:
            old = unedited[name]
        else:
            old = base.model_dump(mode="json", exclude_none=True, include={name}).get(name)
        if old is None:
            mixed[name] = new
        elif _same(new, old):
            mixed[name] = getattr(base, name)
        elif name in _COLLECTIONS and isinstance(new, list) and isinstance(old, list):
            mixed[name] = _kept_entries(new, old, getattr(base, name))
        else:
            mixed[name] = new
    scenario = _checked(mixed)
    if scenario is not None:
        return scenario
    kept &= set(data)
    if kept:  # the fields left alone, as plain data
        dumped = base.model_dump(mode="json", exclude_none=True, include=kept)
        data = {k: dumped.get(k) if k in kept else v for k, v in data.items()}
    return validate_scenario(data)
