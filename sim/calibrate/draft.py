"""A draft scenario calibrated from an event log, with everything the log cannot show listed, never invented silently.

What is estimated from the log (the *fitting period*: cases arriving before
the held-out tail):

* the working calendar (:mod:`sim.calibrate.calendar_fit`);
* arrivals per working day, their over-dispersion from day to day and, when
  the log has clock times, their hourly profile;
* the missing-documents loop (补正): the share of cases with a loop activity,
  the applicant's turnaround (from the loop event to the case's next event,
  calendar days), how often a second loop follows a first;
* the stages between arrival and decision (:mod:`sim.calibrate.stages`):
  the activities most cases pass, which come one after another and which
  side by side, and the working days each takes without the applicant's
  turnarounds, fitted by :func:`sim.calibrate.fit.fit_duration`; a log with
  no such activities (only acceptance and decision times) gets one review
  step for the whole government time.

What it becomes: one case type applying for one back-office item at one
window (one of each per item or case type with ``by``); the item's steps
are the stages, with ``after`` where the log shows them side by side, and
a last step up to the decision.  A log records when things happened, not who was free: it
cannot show window positions, staff, intake minutes, travel or fees.  Those
get *placeholders* (staff high enough that nothing queues, a 15-minute
intake) and are listed in ``placeholders`` and at the top of the written
file, for the user to fill in.  Cases that never reach a decision (and are
not merely still open at the log's end) are counted and left out of the
model, which says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..eventlog.measures import case_table, working_days_between
from ..eventlog.read import EventLog
from ..scenario import Scenario
from .calendar_fit import CalendarFit, fit_calendar
from .exits import loops, stopped_cases
from .fit import Fit, fit_duration
from .stages import Stages, discover_stages, stage_sequences

__all__ = ["Calibration", "calibrate", "CalibrationError"]

INTAKE_MINUTES = 15.0  # placeholder: a log seldom times the intake itself


class CalibrationError(ValueError):
    """The log cannot be calibrated as asked (message names the option or what is missing)."""


@dataclass
class Calibration:
    scenario: dict  # plain scenario data (validated)
    split: pd.Timestamp  # cases arriving from here on are held out
    log_end: pd.Timestamp
    calendar: CalendarFit
    fits: dict[str, Fit]
    estimates: pd.DataFrame  # quantity, value, unit, from
    placeholders: list[tuple[str, str]]  # (field path, why it is a placeholder)
    notes: list[str] = field(default_factory=list)
    cases: pd.DataFrame | None = field(default=None, repr=False)  # the log's case table (with loop and period flags)
    stages: dict[str, Stages] = field(default_factory=dict)  # per group with stages: what the log shows between arrival and decision

    def stage_table(self) -> pd.DataFrame:
        """One row per step of each group's item: the log's activities behind it, what it waits for, its fitted duration."""
        rows = []
        for gid, found in self.stages.items():
            key = "government_time" if len(self.scenario["items"]) == 1 else f"government_time_{gid}"
            entries = [(st.id, " + ".join(st.activities), st.share, st.after or ("arrival",), st.median_working_days)
                       for st in found.stages]
            entries.append(("decision", "the decision", 1.0, found.sinks, math.nan))
            for sid, acts, share, after, median in entries:
                f = self.fits[f"{key}:{sid}"]
                rows.append({"group": gid, "step": sid, "log_activities": acts, "share_of_decided_cases": share,
                             "waits_for": ", ".join(after), "median_working_days_from_arrival": median,
                             "mean_working_days": f.mean, "fitted": f.describe(), "cases_fitted": f.n,
                             "out_of_order_cases": found.out_of_order.get(sid, 0)})
        return pd.DataFrame(rows)

    def yaml_text(self, log_name: str) -> str:
        import yaml

        head = [f"# Draft scenario calibrated from {log_name} by `approval-sim calibrate`.",
                "# PLACEHOLDERS: the log cannot show these; fill them in before using the file for staffing:"]
        head += [f"#   {path}: {why}" for path, why in self.placeholders]
        for gid, found in self.stages.items():
            head.append(f"# STAGES of {gid} (steps from the log's activities; 'after' where the log shows them side by side):")
            head += [f"#   {st.id}: {' + '.join(st.activities)} (in {st.share:.0%} of decided cases)" for st in found.stages]
            folded = int((found.activities["stage"] == "").sum())
            if folded:
                head.append(f"#   {folded} other activities fold into the time between stages")
        head += [f"# NOTE: {n}" for n in self.notes]
        return "\n".join(head) + "\n" + yaml.safe_dump(self.scenario, allow_unicode=True, sort_keys=False)


def _scaled(dist, k: float):
    """A fitted distribution (scenario data) in units ``k`` times larger: working days to working minutes."""
    if not isinstance(dist, dict):
        return round(float(dist) * k, 4)
    if dist.get("dist") == "mixture":
        return {**dist, "components": [_scaled(c, k) for c in dist["components"]]}
    out = dict(dist)
    for key in ("mean", "value"):
        if key in out:
            out[key] = round(float(out[key]) * k, 4)
    return out


def _slug(text: str, k: int) -> str:
    ascii_part = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_")[:24]
    return f"g{k}_{ascii_part}" if ascii_part else f"g{k}"


def _groups(fit_cases: pd.DataFrame, by: str | None, min_cases: int) -> list[tuple[str, str]]:
    """(id, label) of each group: values of ``by`` with ``min_cases`` decided cases, most cases first; then 'other'."""
    if by is None:
        return [("cases", "all cases")]
    col = fit_cases[by].astype("string")
    decided = col[fit_cases["decided"]].value_counts()
    big = [v for v, n in decided.items() if n >= min_cases]
    if not big:
        return [("cases", "all cases")]
    out = [(_slug(v, k + 1), str(v)) for k, v in enumerate(big)]
    if (~col.isin(big) | col.isna()).any():
        out.append(("other", f"other {by}s"))
    return out


def _group_of(cases: pd.DataFrame, by: str | None, groups: list[tuple[str, str]]) -> np.ndarray:
    if by is None or groups == [("cases", "all cases")]:
        return np.full(len(cases), groups[0][0], dtype=object)
    ids = {label: gid for gid, label in groups if gid != "other"}
    col = cases[by].astype("string")
    return np.array([ids.get(v, "other") if isinstance(v, str) else "other" for v in col], dtype=object)


class _Estimates(list):
    """The table of what was estimated: group, quantity, value, unit, from."""

    def add(self, quantity, value, unit, source, group="all"):
        self.append({"group": group, "quantity": quantity, "value": value, "unit": unit, "from": source})


def _check_options(log: EventLog, decided_by, loop, loop_until, hold_out, by, stage_share) -> None:
    if by not in (None, "item", "case_type"):
        raise CalibrationError(f"--by: expected item or case_type, got {by!r}")
    if by is not None and log.events[by].isna().all():
        raise CalibrationError(f"--by {by}: the log has no {by} column (name it with --map {by}=COLUMN)")
    if not decided_by:
        raise CalibrationError("--decided-by: name the activity (or activities) that record the decision")
    acts = set(log.events["activity"].dropna().unique())
    if loop_until and not loop:
        raise CalibrationError("--loop-until: give the loop activity too (--loop)")
    for opt, names in (("--decided-by", decided_by), ("--loop", loop), ("--loop-until", loop_until)):
        unknown = [a for a in names if a not in acts]
        if unknown:
            raise CalibrationError(f"{opt}: no activity {unknown[0]!r} in the log ({len(acts)} activities)")
    if not 0 <= hold_out < 1:
        raise CalibrationError(f"--hold-out: expected a share from 0 to below 1, got {hold_out}")
    if not 0 < stage_share <= 1:
        raise CalibrationError(f"--stage-share: expected a share above 0 and up to 1, got {stage_share}")


def _since(log: EventLog, first: pd.DataFrame, since, split: pd.Timestamp, notes: list[str]) -> tuple[EventLog, pd.Timestamp]:
    """The log without the cases arriving before ``since``, and its first arrival."""
    from dataclasses import replace

    try:
        when = pd.Timestamp(since)
    except (ValueError, TypeError):
        raise CalibrationError(f"--fit-since: not a date: {since!r} (e.g. 2013-01-01)") from None
    if when.tzinfo is not None:
        when = when.tz_localize(None)
    if when >= split:
        raise CalibrationError(f"--fit-since: {when:%Y-%m-%d} is not before the held-out tail, which starts {split:%Y-%m-%d}")
    kept = first.loc[first["arrival"] >= when, "case_id"]
    dropped = len(first) - len(kept)
    notes.append(f"--fit-since {when:%Y-%m-%d}: {dropped} cases arriving earlier are left out of the estimates and the "
                 "fit report; the held-out tail is where the whole log puts it")
    cut = replace(log, events=log.events[log.events["case_id"].isin(kept)].reset_index(drop=True))
    return cut, first.loc[first["arrival"] >= when, "arrival"].min()


def _log_end(log: EventLog, notes: list[str]) -> pd.Timestamp:
    """The observation ends with the log's events, not with a stray one dated far later (a planned date keyed in)."""
    times = log.events["local"].sort_values()
    end = times.iloc[min(len(times) - 1, int(math.ceil(0.999 * len(times))))]
    late = int((times > end).sum())
    if late:
        notes.append(f"the log is taken to end at {end:%Y-%m-%d} (the 99.9th percentile of event times); {late} events "
                     f"dated later, up to {times.iloc[-1]:%Y-%m-%d}, are treated as stray dates")
    return end


def _working_days(fit_cases: pd.DataFrame, split: pd.Timestamp, cal: CalendarFit) -> list[pd.Timestamp]:
    days = pd.date_range(fit_cases["arrival"].min().normalize(), split.normalize() - pd.Timedelta(days=1), freq="D")
    hol = set(cal.holidays)
    return [d for d in days if d.strftime("%a").lower()[:3] in cal.working_weekdays and d.strftime("%Y-%m-%d") not in hol]


def _arrivals(sub: pd.DataFrame, work_days, cal: CalendarFit, est: _Estimates, group: str) -> dict:
    """Arrivals per working day, their day-to-day over-dispersion and (with clock times) hourly profile."""
    daily = sub["arrival"].dt.normalize().value_counts().reindex(work_days, fill_value=0).to_numpy(dtype=float)
    per_day = float(daily.mean())
    var = float(daily.var(ddof=1)) if len(daily) > 1 else 0.0
    cv = math.sqrt(max(0.0, var - per_day)) / per_day if per_day > 0 else 0.0
    est.add("arrivals per working day", per_day, "cases / working day", f"{len(sub)} cases over {len(work_days)} working days", group)
    est.add("day-to-day cv of the arrival rate", cv, "", "variance of daily counts beyond Poisson", group)
    out = {"per_day": round(max(per_day, 1e-4), 4), "day_to_day_cv": round(min(cv, 5.0), 4)}
    timed = sub["arrival"][(sub["arrival"].dt.hour != 0) | (sub["arrival"].dt.minute != 0)]
    if cal.office_hours is not None and len(timed) >= 50:
        prof = timed.dt.hour.value_counts(normalize=True).sort_index()
        out["hourly_profile"] = {str(h): round(float(v) * 24, 4) for h, v in prof.items()}
        est.add("hourly profile", len(prof), "hours with arrivals", f"{len(timed)} timed arrivals", group)
    return out


def _steps(log: EventLog, decided: pd.DataFrame, exclude, cal: CalendarFit, spans, day_minutes: float, stage_share: float,
           max_stages: int, fits: dict, est: _Estimates, key: str, gid: str) -> tuple[list[dict], Stages | None, float]:
    """(the item's steps, the stages found or None, mean working days a case keeps its steps busy in all).

    Steps are the stages the log shows, each with its fitted duration; without
    stages, one review step for the government time to decision.
    """
    found = discover_stages(log, decided, exclude, cal.working_weekdays, cal.holidays, spans,
                            min_share=stage_share, max_stages=max_stages)
    if not found.stages:
        turn_wd = working_days_between(decided["arrival"], decided["arrival"] + pd.to_timedelta(decided["turnaround_days"], unit="D"),
                                       cal.working_weekdays, cal.holidays)
        review = np.maximum(0.0, decided["lead_working_days"].to_numpy(dtype=float) - np.nan_to_num(turn_wd))
        fits[key] = g = fit_duration(review)
        est.add("government time to decision without the applicant's turnarounds", g.mean, "working days",
                f"{len(review)} decided cases ({g.describe()}); the log shows no activity between arrival and decision "
                f"in {stage_share:.0%} of them", gid)
        return [{"id": "review", "role": "reviewer", "minutes": _scaled(g.distribution, day_minutes)}], None, g.mean
    steps = []
    names = [st.id for st in found.stages] + ["decision"]
    afters = [list(st.after) for st in found.stages] + [list(found.sinks)]
    for j, (sid, after) in enumerate(zip(names, afters)):
        values = found.durations[sid].dropna().to_numpy()
        fits[f"{key}:{sid}"] = g = fit_duration(values)
        what = "the last stage to the decision" if sid == "decision" else (
            f"{', '.join(after) or 'arrival'} to {' + '.join(found.stages[j].activities)}")
        late = found.out_of_order.get(sid, 0)
        est.add(f"working days, {what}", g.mean, "working days",
                f"{len(values)} decided cases ({g.describe()})" + (f"; {late} out of order, counted as 0" if late else ""), gid)
        step = {"id": sid, "role": "reviewer", "minutes": _scaled(g.distribution, day_minutes)}
        if after != ([names[j - 1]] if j else []):
            step["after"] = after
        steps.append(step)
    side = found.pairs[found.pairs["relation"] == "side by side"] if len(found.pairs) else found.pairs
    est.add("stages between arrival and decision", len(found.stages), "stages",
            f"activities in {stage_share:.0%}+ of decided cases; {len(side)} pairs side by side", gid)
    own, mixed = found.independence_check()
    est.add("government time along the stages, median of the log's cases", float(np.median(own)), "working days",
            f"{len(own)} decided cases", gid)
    est.add("the same with each stage drawn independently (as the model does)", float(np.median(mixed)), "working days",
            "each stage resampled from its own values; a gap from the line above is dependence between stages "
            "the model leaves out (--max-stages 0 keeps the whole time as one step)", gid)
    return steps, found, sum(float(np.nanmean(found.durations[c])) for c in found.durations)


def calibrate(log: EventLog, decided_by: Sequence[str], loop: Sequence[str] = (), hold_out: float = 0.2,
              name: str | None = None, replications: int = 10, seed: int = 12345, loop_until: Sequence[str] = (),
              by: str | None = None, min_cases: int = 30, stage_share: float = 0.8, max_stages: int = 12,
              fit_since=None) -> Calibration:
    """A draft scenario from ``log``: decisions are events of ``decided_by``; ``loop`` names missing-documents
    requests, ``loop_until`` the events that end the applicant's turnaround (default: the case's next event);
    ``by`` ("item" or "case_type") calibrates each value with ``min_cases`` decided cases as its own case type;
    activities in ``stage_share`` of decided cases (at most ``max_stages``) become the item's steps;
    ``fit_since`` (a date) leaves out cases arriving before it, the held-out tail staying where the whole log puts it."""
    _check_options(log, decided_by, loop, loop_until, hold_out, by, stage_share)
    notes: list[str] = list(log.notes)
    first = case_table(log, decided_by)
    t0, t1 = first["arrival"].min(), first["arrival"].max()
    if not t1 > t0:
        raise CalibrationError(f"every case arrives at {t0}: a log needs arrivals spread over time to calibrate from")
    split = t0 + (t1 - t0) * (1 - hold_out) if hold_out > 0 else t1 + pd.Timedelta(days=1)
    log_end = _log_end(log, notes)
    if fit_since is not None:
        log, t0 = _since(log, first, fit_since, split, notes)
    cal = fit_calendar(log, end=split)
    notes += cal.notes
    cases = case_table(log, decided_by, cal.working_weekdays, cal.holidays)
    cases["fitting"] = cases["arrival"] < split
    if int(cases["fitting"].sum()) < 20:
        raise CalibrationError(f"only {int(cases['fitting'].sum())} cases arrive in the fitting period: too few to calibrate")
    est = _Estimates()
    work_days = _working_days(cases[cases["fitting"]], split, cal)
    outside = int((~cases.loc[cases["fitting"], "arrival"].dt.normalize().isin(work_days)).sum())
    if outside:
        notes.append(f"{outside} cases arrived on days taken as non-working; they count in the daily rate of no day")

    # the missing-documents loop: the applicant's side is pooled over every case
    fits: dict[str, Fit] = {}
    applicants: dict = {"abandon_probability": [0.0]}
    spans = None
    cases["loops"], cases["turnaround_days"] = 0, 0.0
    if loop:
        n_loops, turn_days, gaps, spans = loops(log, cases, loop, loop_until)
        cases["loops"] = n_loops.to_numpy()
        cases["turnaround_days"] = turn_days.to_numpy()
        fit_cases = cases[cases["fitting"]]
        looped = int((fit_cases["loops"] > 0).sum())
        again = float((fit_cases["loops"] > 1).sum() / max(1, looped))
        p_all = looped / len(fit_cases)
        repeat = min(1.0, again / p_all) if p_all > 0 else 0.0
        est.add("repeat factor of a second loop", repeat, "", f"{again:.1%} of looped cases loop again")
        if gaps:
            fits["applicant_turnaround"] = f = fit_duration(gaps)
            applicants["fix_calendar_days"] = f.distribution
            applicants["repeat_incomplete_factor"] = round(repeat, 4)
            to = f"the first later {', '.join(loop_until)}" if loop_until else "the case's next event"
            est.add("applicant turnaround", f.mean, "calendar days", f"{len(gaps)} loops: loop event to {to} ({f.describe()})")

    # groups: one case type and item per value of --by with enough decided cases, the rest together
    fit_cases = cases[cases["fitting"]]
    groups = _groups(fit_cases, by, min_cases)
    if by is None:
        have = [r for r in ("item", "case_type") if fit_cases[r].notna().any() and fit_cases[r].nunique() > 1]
        if have:
            notes.append(f"the log names {have[0]}s ({fit_cases[have[0]].nunique()} distinct): --by {have[0]} "
                         "calibrates each separately")
    elif len(groups) == 1:
        notes.append(f"--by {by}: no value has {min_cases} decided cases in the fitting period; calibrated together")
    cases["group"] = _group_of(cases, by, groups)
    fit_cases = cases[cases["fitting"]]
    from ..calendar import Calendar, clock_for

    calendar = cal.scenario_calendar()
    day_minutes = clock_for(Calendar(**calendar)).day_minutes
    exclude = set(decided_by) | set(loop) | set(loop_until)
    plans, stages = [], {}
    for gid, label in groups:
        sub = fit_cases[fit_cases["group"] == gid]
        decided = sub[sub["decided"]]
        p_loop = float((sub["loops"] > 0).mean()) if loop else 0.0
        if loop:
            est.add("share of cases with a missing-documents loop", p_loop, "", f"activities {', '.join(loop)}", gid)
        if len(decided) == 0 and gid == "other" and len(groups) > 1:
            notes.append(f"{len(sub)} cases of other {by}s reach no decision in the fitting period: left out of the model")
            continue
        if len(decided) == 0:
            raise CalibrationError(f"no case{' of ' + label if len(groups) > 1 else ''} reaches a decision in the fitting "
                                   "period: check --decided-by")
        key = "government_time" if len(groups) == 1 else f"government_time_{gid}"
        steps, found, busy_days = _steps(log, decided, exclude, cal, spans, day_minutes, stage_share, max_stages, fits, est, key, gid)
        if found is not None:
            stages[gid] = found
        plans.append({"id": gid, "label": label, "arrivals": _arrivals(sub, work_days, cal, est, gid), "p_loop": p_loop,
                      "steps": steps, "busy_days": busy_days})
    if stages:  # the order each decided case passed its stages, fitting and held-out alike (for the fit report)
        order = pd.concat([stage_sequences(log, cases[cases["group"] == gid], found) for gid, found in stages.items()])
        cases["stage_order"] = cases["case_id"].map(order)
    if not any("hourly_profile" in p["arrivals"] for p in plans):
        notes.append("arrivals are spread evenly over office hours (the log has no clock times for them)")
    stopped_cases(log, cases, loop, loop_until, log_end, applicants, est, notes, cal)
    scenario, placeholders = _draft(log, name, cal, calendar, day_minutes, plans, applicants, t0, t1, log_end,
                                    replications, seed)
    return Calibration(scenario, split, log_end, cal, fits, pd.DataFrame(est), placeholders, notes, cases, stages)


def _draft(log, name, cal: CalendarFit, calendar: dict, day_minutes: float, plans: list[dict], applicants: dict,
           t0, t1, log_end, replications: int, seed: int) -> tuple[dict, list[tuple[str, str]]]:
    """The draft scenario data, and its placeholders (field path, why)."""
    load = sum(p["arrivals"]["per_day"] * (1 + 3 * max(p["arrivals"]["day_to_day_cv"], 0.3)) * p["busy_days"] for p in plans)
    staff = int(math.ceil(load * 2)) + 5
    per_day_all = sum(p["arrivals"]["per_day"] * (1 + p["p_loop"]) for p in plans)
    positions = max(1, int(math.ceil(per_day_all * INTAKE_MINUTES / day_minutes * 3)) + 1)
    mask = " ".join(d.capitalize() for d in cal.working_weekdays)
    horizon = len(pd.bdate_range(t0.normalize(), t1.normalize(), freq="C", weekmask=mask, holidays=list(cal.holidays)))
    drain = len(pd.bdate_range(t1.normalize() + pd.Timedelta(days=1), log_end.normalize(), freq="C", weekmask=mask,
                               holidays=list(cal.holidays))) if log_end > t1 else 0
    items = [{
        "id": p["id"], "name": p["label"], "department": "back_office", "kind": "back_office",
        "intake_minutes": {"dist": "lognormal", "mean": INTAKE_MINUTES, "cv": 0.5},
        "steps": p["steps"], "incomplete_probability": round(p["p_loop"], 4), "result_delivery": "electronic",
    } for p in plans]
    scenario = {
        "name": name or f"Calibrated from {log.source}",
        "description": "A draft calibrated from an event log; fields marked as placeholders are not from the log.",
        "calendar": calendar,
        "sites": [{"id": "office", "name": "placeholder site"}],
        "departments": [{"id": "back_office", "site": "office", "staff": {"reviewer": staff}}],
        "windows": [{"id": "intake_window", "site": "office", "positions": positions, "items": [p["id"] for p in plans]}],
        "items": items,
        "case_types": [{"id": p["id"], "name": p["label"], "arrivals": p["arrivals"], "flow": [{"item": p["id"]}]}
                       for p in plans],
        "applicants": applicants,
        "run": {"horizon_working_days": max(1, horizon), "warmup_working_days": 0, "drain_working_days": max(0, drain),
                "replications": replications, "seed": seed},
    }
    Scenario.from_dict(scenario)  # the draft must load
    placeholders = [
        ("windows[intake_window].positions", f"{positions}: enough that nothing queues at intake (the log has no intake staff)"),
        ("departments[back_office].staff.reviewer", f"{staff}: enough that no file waits for a reviewer, so each step "
                                                    "is its fitted delay; the log cannot show staff or their workload"),
        ("items[*].intake_minutes", f"{INTAKE_MINUTES:g} minutes (the log does not time the intake)"),
        ("items[*].steps[*].role", "one role for every step: the log's stages are delays, not who works on them"),
        ("sites, travel", "one site, no travel (the log has no trips)"),
        ("items[*].materials, fee_yuan; case_types[*].channels", "not in the log"),
    ]
    if cal.office_hours is None:
        placeholders.append(("calendar.office_hours", "the format's default hours (the log has no clock times)"))
    return scenario, placeholders
