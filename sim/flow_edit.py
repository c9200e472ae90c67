"""Editing flows as plain data, for reforms.

Reforms work on ``Scenario.to_dict()`` data and re-validate the result, so
these helpers take and return flow blocks as plain dicts (the YAML form):
``{"item": ...}``, ``{"items": [...]}``, ``{"external": ...}``,
``{"sequence": [...]}``, ``{"parallel": [...]}``, ``{"choice": [{"probability":
p, "flow": ...}]}``.  They keep ``after`` references valid: when a block goes,
blocks that waited for it wait for what it waited for instead.
"""

from __future__ import annotations

from typing import Callable, Iterator

__all__ = [
    "key_of",
    "kids",
    "walk",
    "item_ids",
    "remove_leaves",
    "replace_refs",
    "find_in_sequence",
    "keys_in",
]

Node = dict


def item_ids(node: Node) -> list[str]:
    """Item ids of an application block (empty for other blocks)."""
    if "item" in node:
        return [node["item"]]
    return list(node.get("items") or [])


def key_of(node: Node) -> str | None:
    """The id other blocks use in ``after`` (see :attr:`sim.flow.Apply.key`)."""
    if node.get("id"):
        return node["id"]
    if "item" in node or "items" in node:
        return "+".join(item_ids(node))
    if "external" in node:
        return node["external"]
    return None


def kids(node: Node) -> list[Node]:
    """Child blocks of a block, in order."""
    if "sequence" in node:
        return list(node["sequence"])
    if "parallel" in node:
        return list(node["parallel"])
    if "choice" in node:
        return [b["flow"] for b in node["choice"]]
    return []


def walk(node: Node) -> Iterator[Node]:
    """Every block, depth first."""
    yield node
    for c in kids(node):
        yield from walk(c)


def keys_in(node: Node) -> set[str]:
    return {k for n in walk(node) if (k := key_of(n)) is not None}


def _with_kids(node: Node, new: list[Node]) -> Node:
    out = dict(node)
    if "sequence" in node:
        out["sequence"] = new
    elif "parallel" in node:
        if new:
            out["parallel"] = new
        else:  # an empty parallel block is an empty sequence (keeps its id and after)
            del out["parallel"]
            out["sequence"] = []
    elif "choice" in node:
        out["choice"] = [dict(b, flow=f if f is not None else {"sequence": []}) for b, f in zip(node["choice"], new)]
    return out


def _edit(node: Node, fn: Callable[[Node], Node | None], removed: dict[str, list[str]]) -> Node | None:
    if "sequence" in node or "parallel" in node or "choice" in node:
        sub = [_edit(c, fn, removed) for c in kids(node)]
        if "choice" in node:
            node = _with_kids(node, sub)
        else:
            node = _with_kids(node, [c for c in sub if c is not None])
        return node
    new = fn(node)
    if new is None:
        k = key_of(node)
        if k is not None:
            removed[k] = list(node.get("after") or [])
    return new


def replace_refs(node: Node, mapping: dict[str, list[str]]) -> Node:
    """Rewrite every ``after`` list: a reference to ``k`` becomes ``mapping[k]`` (resolved transitively)."""

    def resolve(ref: str, seen: tuple = ()) -> list[str]:
        if ref not in mapping or ref in seen:
            return [ref]
        out: list[str] = []
        for r in mapping[ref]:
            out += resolve(r, seen + (ref,))
        return out

    def fix(n: Node) -> Node:
        out = dict(n)
        if n.get("after"):
            refs: list[str] = []
            for r in n["after"]:
                for x in resolve(r):
                    if x not in refs and x != key_of(n):
                        refs.append(x)
            out["after"] = refs
        if "sequence" in n:
            out["sequence"] = [fix(c) for c in n["sequence"]]
        elif "parallel" in n:
            out["parallel"] = [fix(c) for c in n["parallel"]]
        elif "choice" in n:
            out["choice"] = [dict(b, flow=fix(b["flow"])) for b in n["choice"]]
        return out

    return fix(node)


def remove_leaves(
    node: Node, fn: Callable[[Node], Node | None], redirect: dict[str, list[str]] | None = None
) -> tuple[Node, dict[str, list[str]]]:
    """Apply ``fn`` to every leaf (application or external); ``None`` removes the leaf.

    Returns (new flow, {removed key: its after list}).  References to a
    removed block become references to what it waited for, or to
    ``redirect[key]`` when ``fn`` filled that in (e.g. the bundle that absorbed
    it).  A leaf that ``fn`` changes should keep its key (give it an explicit
    ``id`` if its items change).
    """
    removed: dict[str, list[str]] = {}
    out = _edit(node, fn, removed)
    if out is None:
        out = {"sequence": []}
    mapping = {**removed, **(redirect or {})}
    if mapping:
        out = replace_refs(out, mapping)
    return out, removed


def find_in_sequence(node: Node, keys: list[str]) -> tuple[Node, list[int]] | None:
    """The sequence block that directly holds blocks with all of ``keys``, and their positions."""
    for n in walk(node):
        if "sequence" in n:
            pos = [i for i, c in enumerate(n["sequence"]) if key_of(c) in keys]
            if len(pos) == len(keys):
                return n, pos
    return None
