"""How cases leave the process other than by a decision, as a log shows it: the missing-documents loop (补正)
and its turnarounds, giving up after a request, and withdrawal or termination (撤回/终止) at the last event."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..eventlog.measures import working_days_between
from ..eventlog.read import EventLog
from .calendar_fit import CalendarFit
from .fit import fit_duration

__all__ = ["loops", "no_return_after_last_loop", "stopped_cases"]


def loops(log: EventLog, cases: pd.DataFrame, loop: Sequence[str], until: Sequence[str] = ()
           ) -> tuple[pd.Series, pd.Series, list[float], pd.DataFrame]:
    """(loops per case, applicant turnaround days per case, every turnaround in calendar days, the turnarounds as
    spans: case_id, begin, end).

    A turnaround runs from a loop event to the case's first later event of
    ``until`` (e.g. the missing documents received), or without ``until`` to
    the case's next event; a loop with no such event (the case stopped, or
    is still open) has none.
    """
    ev = log.events[["case_id", "activity", "local"]].reset_index(drop=True)
    is_loop = ev["activity"].isin(list(loop)).to_numpy()
    if until:
        back = ev["local"].where(ev["activity"].isin(list(until)))
        # the first 'until' time at or after each event, within its case: a backward fill inside each case
        nxt = back.groupby(ev["case_id"]).bfill()
        nxt = nxt.where(nxt >= ev["local"])
    else:
        nxt = ev.groupby("case_id")["local"].shift(-1)
    gaps = ((nxt - ev["local"]).dt.total_seconds() / 86400.0)[is_loop]
    case_of = ev.loc[is_loop, "case_id"]
    per_case = case_of.value_counts().reindex(cases["case_id"], fill_value=0)
    turn = gaps.fillna(0.0).groupby(case_of.to_numpy()).sum().reindex(cases["case_id"], fill_value=0.0)
    spans = pd.DataFrame({"case_id": case_of.to_numpy(), "begin": ev.loc[is_loop, "local"].to_numpy(),
                          "end": nxt[is_loop].to_numpy()}).dropna()
    return per_case, turn, [float(g) for g in gaps.dropna()], spans


def no_return_after_last_loop(log: EventLog, cases: pd.DataFrame, loop: Sequence[str], until: Sequence[str]) -> np.ndarray:
    """Per case: it had a loop and nothing came back after its last one (no ``until`` event, or no event at all)."""
    ev = log.events[["case_id", "activity", "local"]]
    last_loop = ev[ev["activity"].isin(list(loop))].groupby("case_id")["local"].max()
    after = ev[ev["activity"].isin(list(until))] if until else ev
    last_after = after.groupby("case_id")["local"].max()
    ll = last_loop.reindex(cases["case_id"])
    la = last_after.reindex(cases["case_id"])
    came_back = (la > ll).fillna(False).to_numpy(dtype=bool)
    return ll.notna().to_numpy() & ~came_back


def stopped_cases(log: EventLog, cases: pd.DataFrame, loop, loop_until, log_end, applicants: dict, est, notes: list[str],
                  cal: CalendarFit) -> None:
    """Cases that never reach a decision: after a loop, the applicants' giving up; otherwise withdrawn (撤回/终止)
    at the time of their last event.  Sets ``applicants``' fields, adds to the estimates ``est`` and the ``notes``,
    and gives ``cases`` the column ``left`` (when each case left the process)."""
    p95 = float(np.nanpercentile(cases.loc[cases["decided"], "lead_calendar_days"], 95)) if cases["decided"].any() else 0.0
    last_event = log.events.groupby("case_id")["local"].max().reindex(cases["case_id"]).to_numpy()
    stopped = (~cases["decided"]).to_numpy() & (last_event < (log_end - pd.Timedelta(days=p95)).to_datetime64())
    share_stopped = float(stopped[cases["fitting"].to_numpy()].mean())
    # when each case left the process: its decision, or the last event of a case that stopped without one
    cases["left"] = cases["end"].where(~stopped, cases["last_event"])
    # a case that stops after a missing-documents request, the documents never coming back, gave up at a
    # return: the model's abandonment (补正后放弃); other stops have no mechanism in the model
    gave_up = np.zeros(len(cases), dtype=bool)
    if loop:
        gave_up = stopped & no_return_after_last_loop(log, cases, loop, loop_until)
    fit_mask = cases["fitting"].to_numpy()
    looped = (cases["loops"].to_numpy() > 0) & fit_mask
    p_give_up = float(gave_up[fit_mask].sum() / looped.sum()) if looped.any() else 0.0
    if loop:
        applicants["abandon_probability"] = [round(min(p_give_up, 1.0), 4)]
        est.add("share of looped cases giving up (documents never back, no decision)", p_give_up, "",
                f"{int(gave_up[fit_mask].sum())} of {int(looped.sum())} looped cases")
    withdrawn = (stopped & ~gave_up) & fit_mask
    other = float(withdrawn[fit_mask].mean())
    if other > 0:
        sub = cases[withdrawn]
        days = working_days_between(sub["arrival"], sub["last_event"], cal.working_weekdays, cal.holidays)
        f = fit_duration(days)
        applicants["withdraw_probability"] = round(other, 4)
        applicants["withdraw_after_working_days"] = f.distribution
        est.add("share of cases withdrawn or terminated without a decision", other, "",
                f"{int(withdrawn.sum())} cases whose last event is more than {p95:.0f} days (the 95th percentile of "
                "time to decision) before the log ends, not after a missing-documents request")
        est.add("working days from arrival to the withdrawal", f.mean, "working days",
                f"arrival to the case's last event ({f.describe()})")
    est.add("cases stopping without a decision", share_stopped, "",
            "after a loop: giving up at the return; otherwise withdrawn at the last event" if loop else
            "withdrawn at the last event")
