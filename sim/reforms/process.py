"""Reforms of the order of work: parallel steps, bundles, overlapping stages, park-wide assessments."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from ..flow_edit import choice_between, find_in_sequence, item_ids, key_of, keys_in, remove_leaves, walk, without_items
from ..scenario import Scenario
from ._common import Share, bad, data, find_case_type, item_map, pick, revised, scaled, scaled_handoff, select_case_types
from ._registry import reform


@reform("parallel_approval", "并联审批", "serial steps run at the same time and join")
def parallel_approval(
    s: Scenario,
    case_type: Annotated[str, Field(description="the case type whose flow changes")],
    items: Annotated[
        list[str], Field(description="ids of blocks of one sequence (an item id names its application)", min_length=2)
    ],
) -> Scenario:
    """并联审批 (parallel approval): steps that ran one after another run at the same time.

    Mechanism: the named blocks, next to each other in one sequence of the
    case type's flow (an application is named by its item id, an external
    step by its external id, any block by its ``id``), become one parallel
    block (AND-join) in their place; the rest of the sequence keeps its order.  The
    applicant still makes one visit at a time.
    """
    d = data(s)
    ct = find_case_type(d, "case_type", case_type)
    found = find_in_sequence(ct["flow"], items)
    if found is None:
        known = sorted(keys_in(ct["flow"]))
        missing = [k for k in items if k not in known]
        if missing:
            raise bad("items", f"no block {missing[0]!r} in the flow of {case_type!r} (its blocks: {', '.join(known)})")
        raise bad("items", f"the blocks {', '.join(items)} are not in one sequence of {case_type!r}")
    seq, pos = found
    blocks = seq["sequence"]
    if pos != list(range(pos[0], pos[0] + len(pos))):
        between = [key_of(blocks[i]) or "(a block)" for i in range(pos[0], pos[-1] + 1) if i not in pos]
        raise bad("items", f"the blocks are not next to each other: {', '.join(between)} lie between them; "
                  "list those too, or run parallel_approval on neighbours only")
    picked = [blocks[i] for i in pos]
    rest = [b for i, b in enumerate(blocks) if i not in pos]
    rest.insert(pos[0], {"parallel": picked})
    seq["sequence"] = rest
    return revised(s, d)


@reform("one_thing_done_once", "一件事一次办", "several items become one application: one visit, one set of materials, one pickup")
def one_thing_done_once(
    s: Scenario,
    case_type: Annotated[str, Field(description="the journey that becomes one thing")],
    items: Annotated[list[str], Field(description="items bundled into one application", min_length=2)],
    shared_materials_share: Annotated[
        Share, Field(description="share of the items' materials that repeat across them and are handed in once")
    ] = 0.15,
    window: Annotated[str | None, Field(description="window group that accepts the bundle (its items are extended)")] = None,
    id: Annotated[str, Field(description="id of the bundled application in the flow")] = "one_thing",
) -> Scenario:
    """一件事一次办 (one thing done once): items of different departments become one application.

    Mechanism: the case type's applications for the bundled items are removed
    and one joint application (``items: [...]``) takes the place of the first:
    one window visit, one set of materials (``shared_materials_share`` of the
    total is not handed in twice, so fewer chances of a gap), back-office
    routing of all items in parallel, one pickup.  The bundle goes to
    ``window`` (which then accepts all the items, for every journey) or to a
    window that already accepts them all.  Blocks that waited for any bundled
    application wait for the bundle.  Items applied for in different branches
    of a choice cannot be bundled (no case needs them all).
    """
    d = data(s)
    ct = find_case_type(d, "case_type", case_type)
    applied = [i for n in walk(ct["flow"]) for i in item_ids(n)]
    pick("items", items, applied, f"item applied for by {case_type!r}")
    if id in keys_in(ct["flow"]):
        raise bad("id", f"the flow of {case_type!r} already has a block {id!r}")
    if window is not None:
        w = next((w for w in d["windows"] if w["id"] == window), None)
        if w is None:
            raise bad("window", f"no window with id {window!r}")
        has = set(w["items"])
        w["items"] = w["items"] + [i for i in items if i not in has]
    elif not s.windows_for(items):
        raise bad("window", f"no window accepts all of {', '.join(items)}: name one in 'window', or pool windows first (one_window)")
    bundle = set(items)
    for n in walk(ct["flow"]):
        if "choice" in n:
            holding = [b for b in n["choice"] if bundle & {i for x in walk(b["flow"]) for i in item_ids(x)}]
            if len(holding) > 1:
                raise bad("items", f"the items are applied for in different branches of a choice in {case_type!r}: "
                          "a case never needs them all, so they cannot be one application")
    # the first application holding a bundled item becomes the bundle; the others lose those items
    placed = False
    absorbed: dict[str, list[str]] = {}  # whole applications now inside the bundle

    def edit(n):
        nonlocal placed
        ids = item_ids(n)
        if not ids or not bundle & set(ids):
            return n
        rest = without_items(n, bundle)
        if rest is None:
            absorbed[key_of(n)] = [id]
        if not placed:
            placed = True
            joint = {"id": id, "items": list(items), "after": list(n.get("after") or [])}
            return joint if rest is None else {"sequence": [joint, dict(rest, after=[])]}
        return rest

    ct["flow"], _ = remove_leaves(ct["flow"], edit, redirect=absorbed)
    by_id = item_map(d)
    total = sum(by_id[i].get("materials", 0) for i in items)
    most = total - max(by_id[i].get("materials", 0) for i in items)
    shared = min(most, int(math.floor(shared_materials_share * total + 0.5)))  # rounded half up, as reduce_materials
    for n in walk(ct["flow"]):
        if n.get("id") == id and "items" in n:
            n["shared_materials"] = shared
    return revised(s, d)


@reform("simulated_approval", "模拟审批 / 拿地即开工", "a stage starts before the previous one has finished")
def simulated_approval(
    s: Scenario,
    case_type: Annotated[str, Field(description="the case type whose flow changes")],
    stage: Annotated[str, Field(description="id of the block that may start early")],
    start_after: Annotated[
        str | None, Field(description="block inside the previous stage it still waits for (default: none)")
    ] = None,
) -> Scenario:
    """模拟审批 / 拿地即开工 (simulated approval, land-and-start): stages overlap.

    Mechanism: in the sequence that holds ``stage``, the block just before it
    and ``stage`` run side by side (the rest of the sequence waits for both);
    ``stage`` starts at once, or when ``start_after`` (a block of the previous
    stage, e.g. the land listing) has finished.  Approval work done during a
    land listing's notice period is the typical case: permits are ready when
    the land is.
    """
    d = data(s)
    ct = find_case_type(d, "case_type", case_type)
    found = find_in_sequence(ct["flow"], [stage])
    if found is None:
        raise bad("stage", f"no block {stage!r} in a sequence of {case_type!r} (its blocks: {', '.join(sorted(keys_in(ct['flow'])))})")
    seq, (i,) = found
    if i == 0:
        raise bad("stage", f"{stage!r} is the first block of its sequence: nothing to overlap with")
    blocks = seq["sequence"]
    prev, cur = blocks[i - 1], dict(blocks[i])
    if start_after is not None:
        if start_after not in keys_in(prev):
            raise bad("start_after", f"{start_after!r} is not a block of the previous stage {key_of(prev) or ''!r}".replace(" ''", ""))
        cur["after"] = list(dict.fromkeys(list(cur.get("after") or []) + [start_after]))
    blocks[i - 1 : i + 1] = [{"parallel": [prev, cur]}]
    return revised(s, d)


@reform("regional_assessment", "区域评估", "park-wide evaluations replace projects' own intermediary reports")
def regional_assessment(
    s: Scenario,
    externals: Annotated[list[str], Field(description="evaluations done once for the whole park", min_length=1)],
    in_park_share: Annotated[Share, Field(description="share of projects inside the assessed park")] = 1.0,
    case_types: Annotated[list[str] | None, Field(description="case types concerned (default: all)")] = None,
) -> Scenario:
    """区域评估 (regional assessment): the government evaluates a whole park once.

    Mechanism: projects inside the park (``in_park_share`` of cases, one draw
    per case so a project is inside or outside for every evaluation) skip the
    named external steps (intermediary reports such as geological hazard,
    mining overlay, climate feasibility); projects outside still need them.
    Blocks that waited for a skipped report wait for what it waited for.
    """
    d = data(s)
    pick("externals", externals, [e["id"] for e in d["externals"]], "external")
    wanted = set(externals)
    touched = False
    for ct in select_case_types(d, "case_types", case_types):
        def skip(n):
            nonlocal touched
            if n.get("external") not in wanted:
                return n
            touched = True
            if in_park_share >= 1:
                return None
            if in_park_share <= 0:
                return n
            key = key_of(n)
            outside = dict(n, id=f"{key}@outside_park", after=[])
            return choice_between(key, n.get("after", []), "in_assessed_park",
                                  [(in_park_share, {"sequence": []}), (1 - in_park_share, outside)])

        ct["flow"], _ = remove_leaves(ct["flow"], skip)
    if not touched:
        raise bad("externals", "no case type's flow uses these externals")
    return revised(s, d)


@reform("electronic_circulation", "网上流转 / 电子化流转", "files move between window and back office electronically: hand-offs shrink")
def electronic_circulation(
    s: Scenario,
    factor: Annotated[Share, Field(description="hand-off time left (0: instant, 0.1: a tenth)")] = 0.1,
    items: Annotated[list[str] | None, Field(description="items concerned (default: all back-office items)")] = None,
) -> Scenario:
    """网上流转 (electronic circulation): the paper shuttle between window and back office goes.

    Mechanism: both hand-off times of the chosen back-office items are scaled
    by ``factor`` (same shape).  The sign-off steps and their queues stay:
    files no longer wait in a tray for the next collection, but reviewers
    still take their time.
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    for it, spec in zip(d["items"], s.items):
        if it["id"] in chosen and spec.kind == "back_office":
            it["handoff"] = scaled_handoff(spec, factor)
    return revised(s, d)


@reform("more_frequent_meetings", "联审会加密 / 即时联审", "joint reviews sit more often: less waiting for the next sitting")
def more_frequent_meetings(
    s: Scenario,
    every_working_days: Annotated[int, Field(ge=1, description="the meetings sit every this many working days")],
    meetings: Annotated[list[str] | None, Field(description="meetings concerned (default: all)")] = None,
    capacity_per_sitting: Annotated[int | None, Field(ge=1, description="cases heard per sitting (default: unchanged)")] = None,
) -> Scenario:
    """联审会加密 (more frequent joint reviews): periodic meetings sit more often.

    Mechanism: the chosen meetings (externals of kind meeting) sit every
    ``every_working_days`` working days; a case waits for the next sitting, so
    the mean wait falls roughly in proportion.  ``capacity_per_sitting``
    changes how many cases one sitting hears.
    """
    d = data(s)
    known = [e["id"] for e in d["externals"] if e["kind"] == "meeting"]
    if not known:
        raise bad("meetings", "the scenario has no meetings (externals of kind meeting)")
    chosen = set(pick("meetings", meetings, known, "meeting"))
    for e in d["externals"]:
        if e["id"] in chosen:
            e["every_working_days"] = every_working_days
            if capacity_per_sitting is not None:
                e["capacity_per_sitting"] = capacity_per_sitting
    return revised(s, d)


@reform("intermediary_market", "中介超市 / 中介服务限时", "intermediary reports faster (time limits, competition) or with more capacity")
def intermediary_market(
    s: Scenario,
    factor: Annotated[Share, Field(description="share of each report's duration left")] = 0.7,
    intermediaries: Annotated[list[str] | None, Field(description="intermediaries concerned (default: all)")] = None,
    capacity: Annotated[int | None, Field(ge=1, description="jobs at once per intermediary (default: unchanged)")] = None,
) -> Scenario:
    """中介超市 (intermediary market): outside firms compete and work to published time limits.

    Mechanism: the chosen intermediaries' durations are scaled by ``factor``
    (same shape) and, if given, their capacity is set to ``capacity``.  Seed
    000: an intermediary market with star ratings of 191 firms "to solve long
    service times and poor quality".
    """
    d = data(s)
    known = [e["id"] for e in d["externals"] if e["kind"] == "intermediary"]
    if not known:
        raise bad("intermediaries", "the scenario has no intermediaries (externals of kind intermediary)")
    chosen = set(pick("intermediaries", intermediaries, known, "intermediary"))
    for e in d["externals"]:
        if e["id"] in chosen:
            for key in ("duration_working_days", "duration_calendar_days"):
                if key in e:
                    e[key] = scaled(e[key], factor)
            if capacity is not None:
                e["capacity"] = capacity
    return revised(s, d)
