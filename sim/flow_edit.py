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
    "choice_between",
    "without_items",
    "referenced_keys",
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


def _edit(node: Node, fn, removed: dict[str, list[str]], referenced: set[str], redirect: dict) -> Node | None:
    if "sequence" in node or "parallel" in node or "choice" in node:
        sub = [_edit(c, fn, removed, referenced, redirect) for c in kids(node)]
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
            if k in referenced and k not in redirect:
                # others wait for it: an empty block in its place keeps both what it waited
                # for (its after list and, in a sequence, the blocks before it) and its key
                return {"id": k, "sequence": [], "after": list(node.get("after") or [])}
    return new


def referenced_keys(node: Node) -> set[str]:
    """Keys named in some block's ``after``."""
    return {r for n in walk(node) for r in (n.get("after") or [])}


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

    Returns (new flow, {removed key: its after list}).  A removed block that
    others wait for leaves an empty block with its key in its place, so they
    still wait for everything it waited for (explicitly or by its place in a
    sequence); with ``redirect[key]`` filled in by ``fn`` (e.g. the bundle
    that absorbed it) they wait for those blocks instead.  A leaf that ``fn``
    changes should keep its key (give it an explicit ``id`` if its items
    change).
    """
    removed: dict[str, list[str]] = {}
    redirect = {} if redirect is None else redirect  # fn may fill it in as it goes
    out = _edit(node, fn, removed, referenced_keys(node), redirect)
    if out is None:
        out = {"sequence": []}
    if redirect:
        out = replace_refs(out, redirect)
    return out, removed


def without_items(node: Node, gone: set[str]) -> Node | None:
    """An application without the items in ``gone`` (None if nothing is left); its key is kept."""
    left = [i for i in item_ids(node) if i not in gone]
    if not left:
        return None
    out = dict(node, id=key_of(node), items=left)
    out.pop("item", None)
    return out


def choice_between(key: str, after: list[str], draw: str, branches: list[tuple[float, Node]]) -> Node:
    """A choice block with ``key`` and ``after`` standing where one block was; ``draw`` shares its random number."""
    return {"id": key, "after": list(after), "draw": draw,
            "choice": [{"probability": p, "flow": f} for p, f in branches]}


def find_in_sequence(node: Node, keys: list[str]) -> tuple[Node, list[int]] | None:
    """The sequence block that directly holds blocks with all of ``keys``, and their positions."""
    for n in walk(node):
        if "sequence" in n:
            pos = [i for i, c in enumerate(n["sequence"]) if key_of(c) in keys]
            if len(pos) == len(keys):
                return n, pos
    return None
