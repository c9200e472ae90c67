"""Reforms of how applicants reach the offices: online service, electronic certificates, agents."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..scenario import Scenario
from ._common import NonNegative, Share, bad, data, items_applied_for, pick, revised, select_case_types
from ._registry import reform
from .requirements import _drop_applications


def _move_to(channels: dict, name: str, target: float) -> dict:
    """Channel shares with ``name`` raised to ``target``, taken from the counter first, then the other."""
    ch = {"counter": channels.get("counter", 1.0), "online": channels.get("online", 0.0), "assisted": channels.get("assisted", 0.0)}
    need = target - ch[name]
    if need <= 0:
        return ch
    other = "assisted" if name == "online" else "online"
    take = min(need, ch["counter"])
    ch[other] = max(0.0, ch[other] - (need - take))
    ch[name] = target
    ch["counter"] = 0.0
    ch["counter"] = max(0.0, 1.0 - ch["online"] - ch["assisted"])  # what is left; no rounding below 0
    return {k: round(v, 12) for k, v in ch.items()}


@reform("fully_online", "全程网办 / 一网通办", "a share of cases applies online with zero trips")
def fully_online(
    s: Scenario,
    online_share: Annotated[Share, Field(description="share of cases that apply online after the reform")] = 0.5,
    case_types: Annotated[list[str] | None, Field(description="case types concerned (default: all)")] = None,
) -> Scenario:
    """全程网办 / 一网通办 (fully online): cases are applied for and followed online.

    Mechanism: every item the case types apply for can be applied for online
    (``online: true``), and the online share of those case types rises to
    ``online_share`` (taken from the counter first).  Online cases make no
    trips: the same window staff handle them from the same queue, fixes are
    online and results are issued electronically.  One uniform per case
    decides its channel, so cases online before stay online.
    """
    d = data(s)
    cts = select_case_types(d, "case_types", case_types)
    used = {i for ct in cts for i in items_applied_for(ct)}
    for it in d["items"]:
        if it["id"] in used:
            it["online"] = True
    for ct in cts:
        ct["channels"] = _move_to(ct.get("channels", {}), "online", online_share)
    return revised(s, d)


@reform("electronic_certificates", "电子证照 / 取消证明", "proofs are looked up electronically; results issued as e-licences")
def electronic_certificates(
    s: Scenario,
    proofs: Annotated[list[str], Field(description="items that only fetch a paper proof from another office; they drop out")] = [],
    items: Annotated[
        list[str] | None, Field(description="items whose result is issued electronically (default: all, unless proofs are given)")
    ] = None,
    case_types: Annotated[list[str] | None, Field(description="case types concerned by the proofs (default: all)")] = None,
) -> Scenario:
    """电子证照 (electronic certificates): paper proofs and paper results give way to data.

    Mechanism: applications for the ``proofs`` items (certificates fetched
    from another office only to be shown here) disappear from the journeys,
    as the office verifies the data itself; the chosen items' results are
    issued electronically (``result_delivery: electronic``), so there is no
    pickup trip.
    """
    d = data(s)
    gone = set(pick("proofs", proofs, [it["id"] for it in d["items"]], "item"))
    chosen = set(pick("items", [] if items is None and gone else items, [it["id"] for it in d["items"]], "item"))
    if gone and not _drop_applications(select_case_types(d, "case_types", case_types), gone, "proofs"):
        raise bad("proofs", "no journey applies for these items")
    for it in d["items"]:
        if it["id"] in chosen:
            it["result_delivery"] = "electronic"
    return revised(s, d)


@reform("agency_service", "帮办代办", "an agent prepares and carries the paperwork: fewer gaps, fewer trips")
def agency_service(
    s: Scenario,
    share: Annotated[Share, Field(description="share of cases served by an agent after the reform")] = 0.3,
    case_types: Annotated[list[str] | None, Field(description="case types offered the service (default: all)")] = None,
    incomplete_factor: Annotated[Share | None, Field(description="multiplies incomplete probabilities of assisted cases")] = None,
    fix_factor: Annotated[NonNegative | None, Field(description="multiplies the time to fix materials")] = None,
    applicant_trips: Annotated[int | None, Field(ge=0, description="trips the applicant still makes to hand over")] = None,
) -> Scenario:
    """帮办代办 (agency service): an agent prepares the materials and carries the case.

    Mechanism: ``share`` of the case types' cases move to the ``assisted``
    channel (taken from the counter first).  The agent, based in the hall,
    makes every visit (queueing and intake as usual, no applicant trips or
    travel); the applicant makes ``applicant_trips`` to hand over.  Agents'
    applications are incomplete less often (``incomplete_factor``) and gaps
    are fixed faster (``fix_factor``).  Unset factors keep the scenario's
    ``agency`` settings.
    """
    d = data(s)
    for ct in select_case_types(d, "case_types", case_types):
        ct["channels"] = _move_to(ct.get("channels", {}), "assisted", share)
    agency = d.setdefault("agency", {})
    for k, v in (("incomplete_factor", incomplete_factor), ("fix_factor", fix_factor), ("applicant_trips", applicant_trips)):
        if v is not None:
            agency[k] = v
    return revised(s, d)


@reform("mail_delivery", "免费寄递 / 邮寄送达", "results are mailed: no trip to collect them")
def mail_delivery(
    s: Scenario,
    items: Annotated[list[str] | None, Field(description="items whose results are mailed (default: back-office items collected in person)")] = None,
    mail_calendar_days: Annotated[NonNegative, Field(description="calendar days from decision to delivery")] = 1.0,
) -> Scenario:
    """免费寄递 / EMS 邮寄送达 (results by post): the applicant no longer comes back to collect.

    Mechanism: the chosen items' results (default: every back-office item
    collected in person) are mailed (``result_delivery: mail``); the case ends when the
    post arrives, ``mail_calendar_days`` after the decision, with no pickup
    trip or queue.
    """
    d = data(s)
    default = [it["id"] for it in d["items"] if it["kind"] == "back_office" and it.get("result_delivery", "pickup") == "pickup"]
    chosen = set(pick("items", items, [it["id"] for it in d["items"]], "item")) if items is not None else set(default)
    for it in d["items"]:
        if it["id"] in chosen:
            it["result_delivery"] = "mail"
            it["mail_calendar_days"] = mail_calendar_days
    return revised(s, d)
