"""The flow of a case type: which applications and external steps happen, in what order.

A flow is a tree of blocks, written in YAML as::

    flow:                           # a list is a sequence
      - item: name_check            # apply for one item at a window
      - parallel:                   # AND: all branches run, then join
          - item: seal
          - [ {item: invoice}, {item: tax_registration} ]
      - choice:                     # XOR: one branch, by probability
          - {probability: 0.3, flow: {external: fire_review}}
          - {probability: 0.7, flow: []}
      - items: [a, b, c]            # one joint application for several items
      - {external: public_notice, after: [seal]}   # precedence across branches

Every block may carry an ``id`` (leaves default to their item or external
id) and ``after``: ids of blocks that must have finished before it starts.
A block listed in ``after`` that a case does not run (a branch not chosen)
does not hold it up.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterator, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator

from .distributions import not_bool

__all__ = [
    "Apply",
    "ExternalStep",
    "Sequence",
    "Parallel",
    "Choice",
    "Branch",
    "FlowNode",
    "walk",
    "leaf_items",
]

Id = Annotated[str, Field(min_length=1, pattern=r"^[^\s\[\].]+$")]
_Prob = Annotated[float, BeforeValidator(lambda v: not_bool(v)), Field(ge=0, le=1, allow_inf_nan=False)]


def _as_node(v: Any) -> Any:
    """A bare list in a flow position is a sequence."""
    if isinstance(v, (list, tuple)):
        return {"sequence": list(v)}
    return v


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id | None = None
    name: str = ""
    after: tuple[Id, ...] = ()

    @property
    def key(self) -> str | None:
        """The id other blocks use to refer to this one."""
        return self.id

    def children(self) -> tuple["_Node", ...]:
        return ()


class Apply(_Node):
    """The applicant applies at a window for one item (``item``) or several together (``items``).

    ``windows`` limits where the application can be made (default: any window
    group that accepts all the items); among them the applicant picks the
    nearest, then the shortest queue per position.
    ``shared_materials`` counts materials that several items of a joint
    application would each ask for and that are handed in once (one set of
    materials, 一套材料): fewer materials to bring, fewer chances to be incomplete.
    """

    item: Id | None = None
    items: tuple[Id, ...] | None = Field(default=None, min_length=1)
    windows: tuple[Id, ...] | None = Field(default=None, min_length=1)
    shared_materials: Annotated[int, BeforeValidator(lambda v: not_bool(v)), Field(ge=0, le=100_000)] = 0

    @field_validator("items")
    @classmethod
    def _distinct(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("an item is listed twice in one application")
        return v

    def model_post_init(self, _ctx) -> None:
        if (self.item is None) == (self.items is None):
            raise ValueError("give exactly one of 'item' or 'items'")

    @property
    def item_ids(self) -> tuple[str, ...]:
        return (self.item,) if self.item is not None else tuple(self.items or ())

    @property
    def key(self) -> str:
        return self.id or "+".join(self.item_ids)


class ExternalStep(_Node):
    """Time spent outside the government offices: intermediary report, fixed period, meeting."""

    external: Id

    @property
    def key(self) -> str:
        return self.id or self.external


class Sequence(_Node):
    """Blocks one after another."""

    sequence: tuple["FlowNode", ...]

    @field_validator("sequence", mode="before")
    @classmethod
    def _nodes(cls, v):
        return [_as_node(x) for x in v] if isinstance(v, (list, tuple)) else v

    def children(self):
        return self.sequence


class Parallel(_Node):
    """Branches that start together; the block ends when all have ended (AND-join)."""

    parallel: tuple["FlowNode", ...] = Field(min_length=1)

    @field_validator("parallel", mode="before")
    @classmethod
    def _nodes(cls, v):
        return [_as_node(x) for x in v] if isinstance(v, (list, tuple)) else v

    def children(self):
        return self.parallel


class Branch(BaseModel):
    """One branch of a choice, taken with ``probability``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    probability: _Prob
    flow: "FlowNode"

    @field_validator("flow", mode="before")
    @classmethod
    def _node(cls, v):
        return _as_node(v)


class Choice(_Node):
    """Exactly one branch is taken (XOR), drawn when the case arrives.

    Choices that name the same ``draw`` use one random number per case, so
    they agree: a project inside an assessed park (区域评估) skips every
    assessed report, not a random half of them.  Their branches should then
    list the same probabilities in the same order.
    """

    choice: tuple[Branch, ...] = Field(min_length=1)
    draw: Id | None = None

    @field_validator("choice")
    @classmethod
    def _sum(cls, v):
        total = sum(b.probability for b in v)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"branch probabilities must sum to 1 (they sum to {total:g})")
        return v

    def children(self):
        return tuple(b.flow for b in self.choice)


_KEYS = {"item": "[apply]", "items": "[apply]", "external": "[external]", "sequence": "[sequence]", "parallel": "[parallel]", "choice": "[choice]"}


def _node_tag(v: Any) -> str | None:
    if isinstance(v, _Node):
        return {Apply: "[apply]", ExternalStep: "[external]", Sequence: "[sequence]", Parallel: "[parallel]", Choice: "[choice]"}[type(v)]
    if isinstance(v, dict):
        for k, tag in _KEYS.items():
            if k in v:
                return tag
    return None


FlowNode = Annotated[
    Union[
        Annotated[Apply, Tag("[apply]")],
        Annotated[ExternalStep, Tag("[external]")],
        Annotated[Sequence, Tag("[sequence]")],
        Annotated[Parallel, Tag("[parallel]")],
        Annotated[Choice, Tag("[choice]")],
    ],
    Discriminator(
        _node_tag,
        custom_error_type="flow_block",
        custom_error_message=(
            "expected a flow block: a list (sequence) or a mapping with one of "
            "'item', 'items', 'external', 'sequence', 'parallel', 'choice'"
        ),
    ),
]

for _cls in (Sequence, Parallel, Branch, Choice):
    _cls.model_rebuild()


def as_flow(v: Any) -> Any:
    """Pre-validation hook for a flow field: a bare list is a sequence."""
    return _as_node(v)


def walk(node: _Node, path: tuple = ()) -> Iterator[tuple[_Node, tuple]]:
    """Every block of a flow with its location (for messages), depth first."""
    yield node, path
    if isinstance(node, Sequence):
        for i, c in enumerate(node.sequence):
            yield from walk(c, path + ("sequence", i))
    elif isinstance(node, Parallel):
        for i, c in enumerate(node.parallel):
            yield from walk(c, path + ("parallel", i))
    elif isinstance(node, Choice):
        for i, b in enumerate(node.choice):
            yield from walk(b.flow, path + ("choice", i, "flow"))


def leaf_items(node: _Node) -> list[str]:
    """Item ids applied for anywhere in a flow."""
    out: list[str] = []
    for n, _ in walk(node):
        if isinstance(n, Apply):
            out.extend(n.item_ids)
    return out


def precedence_edges(node: _Node) -> tuple[dict[int, set[int]], dict[str, list[int]]]:
    """Finish-before-start edges between the blocks of a flow, for cycle checks.

    Blocks are numbered in :func:`walk` order.  A block depends on the blocks
    before it in its sequence, its enclosing block's own dependencies, and the
    blocks named in ``after``.  Returns (predecessors by block number, block
    numbers by key).
    """
    nodes = [n for n, _ in walk(node)]
    index = {id(n): i for i, n in enumerate(nodes)}
    preds: dict[int, set[int]] = {i: set() for i in range(len(nodes))}
    keys: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        if n.key is not None:
            keys.setdefault(n.key, []).append(i)

    def descendants(n: _Node) -> list[int]:
        return [index[id(d)] for d, _ in walk(n)]

    def link(n: _Node) -> None:
        i = index[id(n)]
        kids = n.children()
        for c in kids:
            # a child belongs to its parent: the parent ends only after the child
            preds[i].add(index[id(c)])
            link(c)
        if isinstance(n, Sequence):
            for a, b in zip(kids, kids[1:]):
                for d in descendants(b):
                    preds[d].add(index[id(a)])

    link(node)
    for i, n in enumerate(nodes):
        for ref in n.after:
            for j in keys.get(ref, []):
                for d in descendants(n):
                    preds[d].add(j)
    return preds, keys
