"""Reforms of what is required: materials, steps, items, time limits, fees, proof (五减, 容缺, 承诺)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from ..flow_edit import item_ids, key_of, remove_leaves, walk, without_items
from ..scenario import Scenario, incomplete_with_fewer_materials, kept_steps
from ._common import NonNegative, Share, bad, data, pick, revised, select_case_types, specs, window_decides
from ._registry import reform


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


@reform("tolerance_acceptance", "容缺受理 / 容缺审批", "gaps in non-essential materials are supplied during review, not by a return trip")
def tolerance_acceptance(
    s: Scenario,
    items: Annotated[list[str] | None, Field(description="items accepted with gaps (default: all)")] = None,
    share_tolerated: Annotated[Share, Field(description="share of incomplete applications whose gaps are non-essential")] = 0.8,
    decide_before_supplement: Annotated[
        bool, Field(description="issue the decision without waiting for the supplement (容缺后补, checked afterwards)")
    ] = False,
) -> Scenario:
    """容缺受理 (tolerance acceptance): an application missing non-essential materials is accepted.

    Mechanism: sets the items' ``tolerated_share``.  Of the applications that
    would have been returned for 补正, that share is accepted at once: review
    starts, the applicant supplies the missing part meanwhile (their usual
    fixing time, no trip, no new queue) and the decision is issued when both
    are done, or at once with ``decide_before_supplement`` (the supplement is
    then followed up after the decision).  The rest are still returned.
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    for it in d["items"]:
        if it["id"] in chosen:
            it["tolerated_share"] = share_tolerated
            it["decide_before_supplement"] = decide_before_supplement
    return revised(s, d)


def _cut_materials(it: dict, share: float) -> None:
    m = it.get("materials", 0)
    if m > 0:
        left = m - _round(share * m)
        ratio = left / m
        it["materials"] = left
    else:
        ratio = 1.0 - share
    it["incomplete_probability"] = incomplete_with_fewer_materials(it.get("incomplete_probability", 0.0), ratio)


@reform("reduce_materials", "减材料", "fewer materials to hand in: fewer chances of a gap")
def reduce_materials(
    s: Scenario,
    share: Annotated[Share, Field(description="share of each item's materials removed")],
    items: Annotated[list[str] | None, Field(description="items concerned (default: all)")] = None,
) -> Scenario:
    """减材料 (reduce materials): a share of each item's materials is no longer required.

    Mechanism: ``materials`` falls by ``share`` (rounded); if each material
    is missing independently with the same chance, the incomplete probability
    becomes ``1 - (1 - p) ** (left / before)``.  Intake time is unchanged.
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    for it in d["items"]:
        if it["id"] in chosen:
            _cut_materials(it, share)
    return revised(s, d)


def _drop_order(n: int) -> list[int]:
    """Order in which sign-off levels go: the middle of the chain first, then the last, never the first."""
    return list(range(1, n - 1)) + ([n - 1] if n > 1 else [])


@reform("reduce_steps", "减环节", "fewer sign-off steps in the back office")
def reduce_steps(
    s: Scenario,
    share: Annotated[Share | None, Field(description="share of each item's steps removed (middle levels first)")] = None,
    steps: Annotated[list[str], Field(description="steps removed, as 'item.step' or a step id/role on every item")] = [],
    items: Annotated[list[str] | None, Field(description="items concerned (default: all)")] = None,
) -> Scenario:
    """减环节 (reduce steps): sign-off levels are removed from back-office chains.

    Mechanism: named ``steps`` go, and/or a ``share`` of each item's steps
    (rounded): the middle levels first (审核-复核-审批 becomes 审核-审批), then
    the last, never the first, so every back-office item keeps at least one
    step.  Use chief_representative to decide items at the window instead.
    """
    if share is None and not steps:
        raise bad("share", "give a share of steps to remove, or the steps to remove")
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    used = set()
    by_id = specs(s)
    for it in d["items"]:
        if it["id"] not in chosen or it["kind"] != "back_office":
            continue
        spec = by_id[it["id"]]
        keys = [st.key for st in spec.steps]
        drop = set()
        for name in steps:
            target = name.split(".", 1)
            if len(target) == 2 and target[0] != it["id"]:
                continue
            k = target[-1]
            for j, st in enumerate(spec.steps):
                if st.key == k or st.role == k:
                    drop.add(j)
                    used.add(name)
        if share is not None:
            want = _round(share * len(keys))
            for j in _drop_order(len(keys)):
                if len(drop) >= min(want, len(keys) - 1):
                    break
                drop.add(j)
        if len(drop) >= len(keys):
            raise bad("steps", f"this would remove every step of {it['id']!r}; use chief_representative to decide it at the window")
        it["steps"] = kept_steps(it["steps"], spec.steps, set(range(len(keys))) - drop)
    unused = [x for x in steps if x not in used]
    if unused:
        raise bad("steps", f"no chosen back-office item has a step {unused[0]!r}")
    return revised(s, d)


@reform("reduce_items", "减事项 / 取消前置审批", "pre-approval items are abolished and drop out of journeys")
def reduce_items(
    s: Scenario,
    items: Annotated[list[str], Field(description="items abolished", min_length=1)],
    case_types: Annotated[list[str] | None, Field(description="case types concerned (default: all)")] = None,
    keep_precedence: Annotated[
        bool,
        Field(description="blocks that waited for an abolished item wait for what it waited for (false: for nothing more)"),
    ] = True,
) -> Scenario:
    """减事项 (reduce items): pre-approval items and certificates are abolished.

    Mechanism: applications for these items disappear from the journeys (a
    joint application keeps its other items).  Blocks that waited for one
    still wait for what it waited for - explicitly or by its place in a
    sequence - unless ``keep_precedence`` is false: then they no longer wait
    on its account (e.g. 带方案出让: the design scheme is approved with the
    land sale, so drawing review need not wait for the land title).  The
    items stay in the catalogue, unused.
    """
    d = data(s)
    gone = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    touched = _drop_applications(select_case_types(d, "case_types", case_types), gone, keep_precedence=keep_precedence)
    if not touched:
        raise bad("items", "no journey applies for these items")
    return revised(s, d)


def _drop_applications(cts: list[dict], gone: set[str], field: str = "items", keep_precedence: bool = True) -> bool:
    """Remove the ``gone`` items from the journeys' applications; True if any journey changed."""
    touched = False
    for ct in cts:
        forget: dict[str, list[str]] = {}  # removed blocks that others stop waiting for

        def drop(n):
            nonlocal touched
            if not gone & set(item_ids(n)):
                return n
            touched = True
            out = without_items(n, gone)
            if out is None and not keep_precedence:
                forget[key_of(n)] = []
            return out

        ct["flow"], _ = remove_leaves(ct["flow"], drop, redirect=forget)
        if not any(item_ids(n) or "external" in n for n in walk(ct["flow"])):
            raise bad(field, f"this would leave the journey of {ct['id']!r} empty")
    return touched


@reform("reduce_time_limits", "减时间 / 压缩承诺时限", "promised time limits shortened (the yardstick, not the work)")
def reduce_time_limits(
    s: Scenario,
    share: Annotated[Share, Field(description="share cut from each promised limit (from the statutory limit if none)")],
    items: Annotated[list[str] | None, Field(description="items concerned (default: all with a limit)")] = None,
) -> Scenario:
    """减时间 (reduce time limits): promised limits (承诺时限) are cut below the statutory ones.

    Mechanism: ``promised_limit_days`` becomes (promised, or statutory if no
    promise) x (1 - share), rounded to whole working days when the limit was
    whole (a fractional limit stays fractional), never above the statutory
    limit.  Nothing in the
    work changes: on-time rates against the promise show whether the system
    can keep the shorter promise.  Pair it with reforms that change the work.
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    for it in d["items"]:
        if it["id"] not in chosen:
            continue
        base = it.get("promised_limit_days", it.get("statutory_limit_days"))
        if base is None:
            continue
        cut = base * (1 - share)
        if base == int(base):  # whole working days stay whole (0: the same day)
            cut = float(_round(cut))
        statutory = it.get("statutory_limit_days")
        it["promised_limit_days"] = min(cut, statutory) if statutory is not None else cut
    return revised(s, d)


@reform("reduce_fees", "减费用", "fees cut or waived")
def reduce_fees(
    s: Scenario,
    share: Annotated[Share, Field(description="share of each fee waived (1: free)")] = 1.0,
    items: Annotated[list[str] | None, Field(description="items concerned (default: all)")] = None,
) -> Scenario:
    """减费用 (reduce fees): fees are cut or waived (e.g. free seals, free copies).

    Mechanism: ``fee_yuan`` x (1 - share); the fee KPI changes, times do not.
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    for it in d["items"]:
        if it["id"] in chosen:
            it["fee_yuan"] = it.get("fee_yuan", 0.0) * (1 - share)
    return revised(s, d)


@reform("commitment_approval", "告知承诺制 / 承诺审批", "approved on the applicant's pledge; checks move after approval")
def commitment_approval(
    s: Scenario,
    items: Annotated[list[str] | None, Field(description="items approved on a pledge (default: all back-office items)")] = None,
    materials_replaced_share: Annotated[Share, Field(description="share of materials replaced by the written pledge")] = 0.5,
    decision_minutes: Annotated[NonNegative, Field(description="extra window minutes to take the pledge and decide")] = 5.0,
    inspection_share: Annotated[Share, Field(description="share of approvals inspected afterwards")] = 0.2,
    inspection_minutes: Annotated[NonNegative, Field(description="staff minutes per inspection")] = 120.0,
    inspection_role: Annotated[str | None, Field(description="department role that inspects (default: the first step's role)")] = None,
) -> Scenario:
    """告知承诺制 (commitment-based approval): decided on the applicant's written pledge.

    Mechanism: the items' review steps and hand-offs are removed and they are
    decided at the window (``decision_minutes`` added to intake); the pledge
    replaces ``materials_replaced_share`` of the materials (fewer gaps, see
    reduce_materials); ``inspection_share`` of approvals are inspected later
    (事中事后监管) for ``inspection_minutes`` by a department role: staff time
    that does not delay the applicant but competes with other work.
    """
    d = data(s)
    if items is None:
        chosen = {it.id for it in s.items if it.kind == "back_office"}
        if not chosen:
            raise bad("items", "no back-office items are left to approve on a pledge (decided at the window already?): name the items")
    else:
        chosen = set(pick("items", items, [it.id for it in s.items], "item"))
    by_id = specs(s)
    departments = {x.id: x for x in reversed(s.departments)}  # the first of an id, as a scan would find
    for it in d["items"]:
        if it["id"] not in chosen:
            continue
        spec = by_id[it["id"]]
        role = inspection_role or (spec.steps[0].role if spec.steps else None)
        dept = (spec.steps[0].department if spec.steps and inspection_role is None else None) or spec.department
        if role is None:
            raise bad("inspection_role", f"{it['id']!r} has no steps: name the role that inspects it")
        staff = departments[dept].staff
        if role not in staff:
            raise bad("inspection_role", f"department {dept!r} has no staff in role {role!r} (its roles: {', '.join(staff) or 'none'})")
        _cut_materials(it, materials_replaced_share)
        if it["kind"] == "back_office":
            window_decides(it, decision_minutes, [], 0.0, spec)
        if inspection_share > 0:
            ins = {"share": inspection_share, "role": role, "minutes": inspection_minutes}
            if dept != spec.department:
                ins["department"] = dept
            it["inspection"] = ins
    return revised(s, d)
