"""Reforms of where and by whom applications are handled: halls, windows, authority."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..flow_edit import choice_between, item_ids, key_of, remove_leaves
from ..scenario import Scenario
from ._common import NonNegative, Share, bad, data, pick, revised, select_case_types, specs, window_decides, windows_accepting
from ._registry import reform


@reform("centralise", "三集中 / 只进一扇门", "windows move to one site; travel between them disappears")
def centralise(
    s: Scenario,
    departments: Annotated[list[str] | None, Field(description="departments whose windows move (default: all)")] = None,
    site: Annotated[str, Field(description="id of the hall (added if it is not a site yet)")] = "service_hall",
    site_name: Annotated[str, Field(description="name of a new hall")] = "政务服务中心",
) -> Scenario:
    """三集中 / 只进一扇门 (centralise into one hall): scattered windows move into one service hall.

    Mechanism: every window group whose items all belong to the chosen
    departments moves to ``site``.  Applicants going from one of those windows
    to the next stay in the hall (no new trip, no travel); back offices stay
    where they are.
    """
    d = data(s)
    owner = {it["id"]: it["department"] for it in d["items"]}
    chosen = set(pick("departments", departments, [x["id"] for x in d["departments"]], "department"))
    if site not in {x["id"] for x in d["sites"]}:
        d["sites"].append({"id": site, "name": site_name})
    for w in d["windows"]:
        if all(owner[i] in chosen for i in w["items"]):
            w["site"] = site
    return revised(s, d)


@reform("one_window", "一窗受理 / 综合窗口 / 无差别受理", "window groups pool into one queue with shared staff")
def one_window(
    s: Scenario,
    windows: Annotated[list[str] | None, Field(description="window groups to pool (default: all)")] = None,
    id: Annotated[str, Field(description="id of the comprehensive window")] = "comprehensive_window",
    name: Annotated[str, Field(description="its name")] = "综合窗口",
    keep_positions: Annotated[
        dict[str, Annotated[int, Field(ge=1)]],
        Field(description="window -> positions kept as a specialised window for its own items (taken from the pool)"),
    ] = {},
) -> Scenario:
    """一窗受理 / 综合窗口 / 无差别受理 (one-window acceptance): several queues become one.

    Mechanism: the chosen window groups are replaced by one comprehensive
    window with their summed positions that accepts all their items (resource
    pooling: one queue, shared staff).  ``keep_positions`` keeps some positions
    of a window as a specialised window for its own items, taken out of the
    pool; applicants go to whichever is nearer, then less busy.  The pooled
    window sits at the site of the first chosen window.
    """
    d = data(s)
    names = set(pick("windows", windows, [w["id"] for w in d["windows"]], "window"))
    merged = [w for w in d["windows"] if w["id"] in names]
    if len(merged) < 2:
        raise bad("windows", "one_window needs at least two existing window groups to merge")
    if id in {w["id"] for w in d["windows"]} - names:
        raise bad("id", f"a window with id {id!r} exists already and is not merged")
    items = list(dict.fromkeys(i for w in merged for i in w["items"]))
    kept = []
    for wid, n in keep_positions.items():
        w = next((w for w in merged if w["id"] == wid), None)
        if w is None:
            raise bad(f"keep_positions.{wid}", f"{wid!r} is not one of the pooled windows")
        if n >= w["positions"]:
            raise bad(f"keep_positions.{wid}", f"keeps {n} of its {w['positions']} positions: nothing left to pool")
        kept.append(dict(w, positions=n))
    positions = sum(w["positions"] for w in merged) - sum(keep_positions.values())
    pooled = {"id": id, "name": name, "site": merged[0]["site"], "positions": positions, "items": items}
    d["windows"] = [w for w in d["windows"] if w["id"] not in names] + [pooled] + kept
    # applications limited to a pooled window go to the comprehensive one (or stay at a kept one)
    _repin(d, lambda n, w: w if w not in names or w in keep_positions else id)
    return revised(s, d)


@reform("chief_representative", "首席代表 / 充分授权", "decided at the window; sign-off steps and hand-offs removed")
def chief_representative(
    s: Scenario,
    items: Annotated[list[str] | None, Field(description="items decided at the window (default: all back-office items)")] = None,
    decision_minutes: Annotated[NonNegative, Field(description="extra window minutes to decide and seal")] = 10.0,
    keep_steps: Annotated[
        list[str], Field(description="step ids (or roles) that stay in the back office, e.g. a site inspection")
    ] = [],
    handoff_factor: Annotated[Share, Field(description="hand-off time left for items that keep steps (0: none)")] = 0.0,
) -> Scenario:
    """首席代表 / 充分授权 (chief representative): the window officer holds final signing power.

    Mechanism: the chosen back-office items lose their sign-off chain and the
    window <-> back-office hand-off (the window is no longer a mail room,
    收发室); their intake grows by ``decision_minutes`` on average (same shape,
    scaled) and they become immediate items.  Steps named in ``keep_steps``
    stay (e.g. a technical review), with hand-offs scaled by ``handoff_factor``.
    """
    d = data(s)
    chosen = set(pick("items", items, [it.id for it in s.items], "item"))
    targets = [it for it in d["items"] if it["id"] in chosen and it["kind"] == "back_office"]
    spec = specs(s)
    _check_steps(spec, [it["id"] for it in targets], keep_steps)
    for it in targets:
        window_decides(it, decision_minutes, keep_steps, handoff_factor, spec[it["id"]])
    return revised(s, d)


@reform("cross_authorisation", "交叉授权", "low-volume departments' items handled and decided at another department's window")
def cross_authorisation(
    s: Scenario,
    assign: Annotated[dict[str, str], Field(description="department -> window group that takes over its items")],
    decide_at_window: Annotated[bool, Field(description="the host window also decides (else it accepts and forwards)")] = True,
    decision_minutes: Annotated[NonNegative, Field(description="extra window minutes to decide")] = 10.0,
    keep_positions: Annotated[bool, Field(description="positions of closed windows move to the host (else they are freed)")] = True,
    keep_steps: Annotated[
        list[str], Field(description="step ids (or roles) that stay in the owning department's back office")
    ] = [],
) -> Scenario:
    """交叉授权 (cross-authorisation): a department authorises a window of similar function.

    Mechanism: every item of each department in ``assign`` is taken off its
    own windows and accepted at the named host window; with
    ``decide_at_window`` it is decided there (sign-off chain and hand-offs
    removed, ``decision_minutes`` added to intake; steps named in
    ``keep_steps`` stay with the owning department).  Windows left with no
    items close; their positions join the host (``keep_positions``) or are
    freed.  Fewer idle windows, pooled staff, no signature chasing across town
    (Yumen: 5 departments, 21 items).
    """
    d = data(s)
    depts = [x["id"] for x in d["departments"]]
    windows = {w["id"]: w for w in d["windows"]}
    pick("assign", list(assign), depts, "department")
    owned: dict[str, list[str]] = {}
    for it in d["items"]:
        owned.setdefault(it["department"], []).append(it["id"])
    moved_to: dict[str, str] = {}
    for dept, host in assign.items():
        if host not in windows:
            raise bad(f"assign.{dept}", f"no window with id {host!r}")
        for i in owned.get(dept, ()):
            moved_to[i] = host
    if not moved_to:
        raise bad("assign", "the named departments own no items")
    if decide_at_window:
        kept = [it for it in d["items"] if it["id"] in moved_to and it["kind"] == "back_office"]
        spec = specs(s)
        _check_steps(spec, [it["id"] for it in kept], keep_steps)
        for it in kept:
            window_decides(it, decision_minutes, keep_steps, 0.0, spec[it["id"]])
    hosts = set(assign.values())
    # the departments' own windows (every item they take moves) close; mixed windows keep accepting
    closed = {w["id"]: w for w in d["windows"] if w["id"] not in hosts and all(i in moved_to for i in w["items"])}
    for w in d["windows"]:
        if w["id"] in hosts:
            has = set(w["items"])
            w["items"] = w["items"] + [i for i, h in moved_to.items() if h == w["id"] and i not in has]
            if keep_positions:
                w["positions"] += sum(c["positions"] for c in closed.values() if moved_to[c["items"][0]] == w["id"])
    d["windows"] = [w for w in d["windows"] if w["id"] not in closed]
    _repin(d, lambda n, w: moved_to[item_ids(n)[0]] if w in closed else w)
    return revised(s, d)


def _repin(d: dict, where) -> None:
    """Rewrite applications limited to windows: each listed window w becomes ``where(application, w)``."""
    def fix(n):
        if not n.get("windows"):
            return n
        return dict(n, windows=list(dict.fromkeys(where(n, w) for w in n["windows"])))

    for ct in d["case_types"]:
        ct["flow"], _ = remove_leaves(ct["flow"], fix)


def _check_steps(spec: dict, items: list[str], keep_steps: list[str]) -> None:
    """Every name in ``keep_steps`` must be a step id or role of one of ``items`` (``spec``: items by id)."""
    names = {x for i in items for st in spec[i].steps for x in (st.key, st.role)}
    for j, k in enumerate(keep_steps):
        if k not in names:
            raise bad(f"keep_steps[{j}]", f"no chosen back-office item has a step or role {k!r} (they have: {', '.join(sorted(names)) or 'none'})")


@reform("decentralise", "下放乡镇 / 15分钟政务服务圈", "items handled at township centres closer to applicants")
def decentralise(
    s: Scenario,
    items: Annotated[list[str], Field(description="items devolved to the township centres")],
    share: Annotated[Share, Field(description="share of applicants who live nearer a township centre and use it")] = 1.0,
    site: Annotated[str, Field(description="id of the township centres (one aggregate site)")] = "township_centres",
    site_name: Annotated[str, Field(description="its name")] = "乡镇便民服务中心",
    from_home_minutes: Annotated[NonNegative, Field(description="applicants' travel from home to their centre")] = 10.0,
    positions: Annotated[int, Field(ge=1, description="window positions at the centres, all together")] = 2,
    case_types: Annotated[list[str] | None, Field(description="journeys that may use the centres (default: all)")] = None,
) -> Scenario:
    """下放乡镇 (decentralise to towns): items handled at local centres near applicants.

    Mechanism: a site for the township centres (one aggregate site, travel
    ``from_home_minutes``) with a window group of ``positions`` accepting the
    devolved items.  Applications made only of devolved items go there for a
    ``share`` of cases (those living nearer a centre; one draw per case, shared
    by all its applications) and to the original windows otherwise.  Back-office
    work stays with the county department (hand-off times unchanged: the files
    travel electronically).
    """
    d = data(s)
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item"))
    selected = {ct["id"] for ct in select_case_types(d, "case_types", case_types)}
    if site in {x["id"] for x in d["sites"]}:
        raise bad("site", f"a site with id {site!r} exists already")
    d["sites"].append({"id": site, "name": site_name, "from_home_minutes": from_home_minutes})
    local = f"{site}_window"
    d["windows"].append({"id": local, "name": site_name, "site": site, "positions": positions, "items": sorted(chosen)})
    touched = False
    windows_for = windows_accepting(s)
    for ct in d["case_types"]:
        def route(n):
            nonlocal touched
            ids = item_ids(n)
            if not ids or not set(ids) <= chosen:
                return n
            hall = n.get("windows") or [w.id for w in windows_for(ids)]  # where it went before
            if ct["id"] not in selected or share <= 0:
                return dict(n, windows=hall)  # the centres are not for these applicants
            touched = True
            if share >= 1:
                return dict(n, windows=[local])
            key = key_of(n)
            near = dict(n, id=f"{key}@{site}", windows=[local], after=[])
            far = dict(n, id=f"{key}@hall", windows=hall, after=[])
            return choice_between(key, n.get("after", []), f"near_{site}", [(share, near), (1 - share, far)])

        ct["flow"], _ = remove_leaves(ct["flow"], route)
    if share > 0 and not touched:
        raise bad("items", "no chosen journey applies for these items alone (a joint application with other items stays put)")
    return revised(s, d)
