"""Checks on scenarios beyond field types: references, precedence cycles, coverage.

Field-level problems come from pydantic and are rewritten here into the
project's one message format (path + reason); cross-reference problems are
found by :func:`check_references`.
"""

from __future__ import annotations

import difflib
from graphlib import CycleError, TopologicalSorter
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from .calendar import parse_clock
from .errors import Problem, format_path
from .flow import Apply, ExternalStep, precedence_edges, walk

__all__ = ["problems_from_pydantic", "check_references"]


def _field_vocabulary() -> set[str]:
    from . import calendar, distributions, flow, scenario

    names: set[str] = set()
    for mod in (scenario, flow, distributions, calendar):
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
                for fname, f in obj.model_fields.items():
                    names.add(f.alias or fname)
    return names


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


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from_pydantic(exc: ValidationError, data: Any = None) -> list[Problem]:
    """Rewrite pydantic's errors as problems with our paths and wording."""
    vocab: set[str] | None = None
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    errors = exc.errors(include_url=False)
    for err in errors:
        loc = _strip(err["loc"])
        kind = err["type"]
        if kind == "too_short" and any(
            e is not err and tuple(_strip(e["loc"]))[: len(loc)] == tuple(loc) for e in errors
        ):
            continue  # elements were invalid; pydantic then counts them as missing
        msg = err["msg"]
        given = err.get("input")
        if loc and loc[-1] == "value" and isinstance(_lookup(data, loc[:-1]), (int, float)):
            loc = loc[:-1]  # a bare number written for a distribution
        if kind == "extra_forbidden":
            name = loc[-1] if loc else "?"
            vocab = vocab or _field_vocabulary()
            close = difflib.get_close_matches(str(name), sorted(vocab), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out_loc, text = loc[:-1], f"unknown field '{name}'{hint}"
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
        key = (format_path(out_loc), text)
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


def _unknown(ref: str, known, what: str) -> str:
    close = difflib.get_close_matches(ref, sorted(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"no {what} with id {ref!r}{hint}"


def _staff_problems(path: str, department: str | None, role: str, item_department: str, depts) -> list[Problem]:
    """Work done by ``role`` of ``department`` (default: the item's): both must exist."""
    dept_id = department or item_department
    if department is not None and department not in depts:
        return [Problem(f"{path}.department", _unknown(department, depts, "department"))]
    if dept_id in depts and role not in depts[dept_id].staff:
        roles = ", ".join(depts[dept_id].staff) or "none"
        return [Problem(f"{path}.role", f"department {dept_id!r} has no staff in role {role!r} (its roles: {roles})")]
    return []


def check_references(s) -> list[Problem]:
    """Every cross-reference problem in a structurally valid scenario."""
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

    for i, r in enumerate(s.travel.routes):
        for j, end in enumerate(r.between):
            if end != "home" and end not in sites:
                P.append(Problem(f"travel.routes[{i}].between[{j}]", _unknown(end, sites | {"home"}, "site")))
        if r.between[0] == r.between[1]:
            P.append(Problem(f"travel.routes[{i}].between", "a route needs two different sites"))
    for i, d in enumerate(s.departments):
        if d.site not in sites:
            P.append(Problem(f"departments[{i}].site", _unknown(d.site, sites, "site")))
    accepted: set[str] = set()
    for i, w in enumerate(s.windows):
        if w.site not in sites:
            P.append(Problem(f"windows[{i}].site", _unknown(w.site, sites, "site")))
        for j, it in enumerate(w.items):
            if it not in items:
                P.append(Problem(f"windows[{i}].items[{j}]", _unknown(it, items, "item")))
        accepted.update(w.items)
    for i, it in enumerate(s.items):
        p = f"items[{i}]"
        if it.department not in depts:
            P.append(Problem(f"{p}.department", _unknown(it.department, depts, "department")))
        if it.id not in accepted:
            P.append(Problem(f"{p}", f"no window accepts item {it.id!r}: add it to some window's items"))
        for j, st in enumerate(it.steps):
            P += _staff_problems(f"{p}.steps[{j}]", st.department, st.role, it.department, depts)
        if it.inspection is not None:
            ins = it.inspection
            P += _staff_problems(f"{p}.inspection", ins.department, ins.role, it.department, depts)
        keys = [st.key for st in it.steps]
        for j, k in enumerate(keys):
            if keys.index(k) != j:
                P.append(Problem(f"{p}.steps[{j}]", f"two steps share the name {k!r}: give each an 'id'"))
        for j, dep in enumerate(it.issued_after):
            if dep not in items:
                P.append(Problem(f"{p}.issued_after[{j}]", _unknown(dep, items, "item")))
            elif dep == it.id:
                P.append(Problem(f"{p}.issued_after[{j}]", f"item {it.id!r} cannot wait for its own result"))
    P += _issue_cycles(s.items)

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
                    if it not in items:
                        missing = True
                        sub = f"{here}.item" if node.item is not None else f"{here}.items[{k}]"
                        P.append(Problem(sub, _unknown(it, items, "item")))
                windows = {w.id: w for w in s.windows}
                for k, w in enumerate(node.windows or ()):
                    if w not in windows:
                        P.append(Problem(f"{here}.windows[{k}]", _unknown(w, windows, "window")))
                    elif not missing:
                        refused = [i for i in node.item_ids if i not in windows[w].items]
                        if refused:
                            P.append(
                                Problem(f"{here}.windows[{k}]", f"window {w!r} does not accept {', '.join(refused)}")
                            )
                if not missing and node.windows is None and not s.windows_for(node.item_ids):
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
            elif isinstance(node, ExternalStep) and node.external not in externals:
                P.append(Problem(f"{here}.external", _unknown(node.external, externals, "external")))
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
                    P.append(Problem(f"{here}.after[{j}]", _unknown(ref, keys, "flow block")))
        try:
            TopologicalSorter(preds).prepare()
        except CycleError as err:
            cyc = err.args[1]
            names = [nodes[i][0].key or type(nodes[i][0]).__name__.lower() for i in cyc]
            P.append(Problem(f"{base}", "precedence cycle: " + " -> ".join(str(x) for x in names)))
    return P


def _issue_cycles(items) -> list[Problem]:
    """Items that wait for each other's results (issued_after) would never be issued."""
    known = {it.id for it in items}
    graph = {it.id: [d for d in it.issued_after if d in known and d != it.id] for it in items}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        loop = list(e.args[1])
        index = {it.id: i for i, it in enumerate(items)}
        return [Problem(
            f"items[{index[loop[0]]}].issued_after",
            "items wait for each other's results and would never be issued: " + " -> ".join(loop),
        )]
    return []
