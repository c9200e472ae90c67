"""How well a calibrated scenario fits its log: perspective by perspective, on the fitting period and the held-out tail.

The calibrated scenario is simulated over the log's own span (arrivals from
its first to its last case, then on to the log's last event, so a case the
log could not see decided is not decided in the simulation either).  The
same measures are taken from each replication as from the log, with a 95%
CI over replications:

* time to decision of decided cases: median, 90th percentile (working days,
  counted by dates as the log allows) and the Wasserstein distance to the
  log's;
* the share of cases decided by the log's end, the share with a
  missing-documents loop;
* arrivals per working day and their weekday shares (total variation);
* activities and control flow, when the draft has the log's stages: how
  often each stage occurs (shares of all stages passed) and the order in
  which each decided case passed them (bigram shares), each as a total
  variation from the log's; the order beside a chain running every stage
  in rank order (what modelling stages side by side adds);
* decisions per week and cases in progress at the end of each week.

Beside the model, a naive baseline that knows no process: the held-out
tail's lead times predicted by resampling the fitting period's.  A row
passes when the log's value is within ``tolerance`` (15%) of the model's
mean, or inside its CI.  Finally the loop is switched off in the calibrated
scenario: its median should move toward that of the log's cases without a
loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..eventlog.measures import WEEKDAYS, lead_time_distance, ngram_shares, total_variation, working_days_between
from ..scenario import Scenario
from ..stats import mean_ci
from .draft import Calibration
from .stages import model_sequences

__all__ = ["FitReport", "fit_report", "simulated_cases"]

PERIODS = ("fitting", "held_out")


@dataclass
class FitReport:
    table: pd.DataFrame  # period, measure, unit, log, model_mean, model_ci_low, model_ci_high, baseline, rel_error, passes
    loop_check: pd.DataFrame | None
    replications: int
    seed: int
    sim_cases: pd.DataFrame | None = None  # the simulated cases (all replications) as a case table
    by_year: pd.DataFrame | None = None  # time to decision by arrival year: log against model (drift shows here)
    stages: pd.DataFrame | None = None  # per stage: mean working days in the log and the model (fitting period)


def simulated_cases(result, scenario: Scenario) -> pd.DataFrame:
    """The simulated cases as the log's case table: arrival and end as wall-clock times, decided, lead working days."""
    c = result.cases
    origin = pd.Timestamp(scenario.calendar.start_date)
    out = pd.DataFrame({
        "replication": c["replication"].to_numpy(),
        "case": c["case"].to_numpy(),
        "arrival": origin + pd.to_timedelta(c["arrival_minute"].to_numpy(), unit="min"),
        "decided": (c["status"] == "completed").to_numpy(),
        "loops": c["returns"].to_numpy(),
        "group": c["case_type"].astype(str).to_numpy(),
    })
    end = pd.Series(origin + pd.to_timedelta(c["end_minute"].to_numpy(), unit="min"))
    out["end"] = end.where(out["decided"])
    out["left"] = end.where((c["status"] != "unfinished").to_numpy())  # decided, given up or withdrawn
    cal = scenario.calendar
    out["lead_working_days"] = working_days_between(out["arrival"], out["end"], cal.working_weekdays,
                                                    [d.isoformat() for d in cal.holidays])
    return out


def _period(cases: pd.DataFrame, split: pd.Timestamp, period: str) -> pd.DataFrame:
    return cases[cases["arrival"] < split] if period == "fitting" else cases[cases["arrival"] >= split]


def _weekday_shares(arrivals: pd.Series) -> pd.Series:
    d = arrivals.dt.day_of_week.value_counts(normalize=True).reindex(range(7), fill_value=0.0)
    d.index = list(WEEKDAYS)
    return d


def _variants(cases: pd.DataFrame) -> pd.Series:
    """Shares of the trace variants the model can tell apart: loops (0, 1, 2 or more) x decided by the log's end."""
    loops = np.minimum(cases["loops"].to_numpy(), 2) if "loops" in cases else np.zeros(len(cases), int)
    keys = [f"{'2+' if n >= 2 else n} loop(s), {'decided' if d else 'not decided'}" for n, d in zip(loops, cases["decided"])]
    return pd.Series(keys, dtype=object).value_counts(normalize=True)


def _hour_shares(arrivals: pd.Series) -> pd.Series:
    return arrivals.dt.hour.value_counts(normalize=True).reindex(range(24), fill_value=0.0)


def _weekly(cases: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, float]:
    """(decisions per week, cases in progress at week ends), averaged over the weeks from start to end."""
    weeks = pd.date_range(start.normalize(), end, freq="W-SUN")
    if len(weeks) == 0:
        return math.nan, math.nan
    ends = np.sort(cases["end"].dropna().to_numpy())
    left = np.sort(cases["left" if "left" in cases else "end"].dropna().to_numpy())
    arr = np.sort(cases["arrival"].to_numpy())
    g = (weeks + pd.Timedelta(days=1)).to_numpy()
    done = np.searchsorted(ends, g) - np.searchsorted(ends, (weeks - pd.Timedelta(days=6)).to_numpy())
    wip = np.searchsorted(arr, g) - np.searchsorted(left, g)
    return float(done.mean()), float(wip.mean())


def _measures(cases: pd.DataFrame, split, t0, t1, log_lead: dict | None = None, groups: Sequence[str] = ()) -> dict:
    """Every measure of one set of cases (the log, or one replication), per period."""
    out = {}
    for period in PERIODS:
        p = _period(cases, split, period)
        lead = p.loc[p["decided"], "lead_working_days"].to_numpy(dtype=float)
        lead = lead[~np.isnan(lead)]
        start, end = (t0, split) if period == "fitting" else (split, t1)
        days = max(1, len(pd.bdate_range(start.normalize(), end.normalize())))
        tp, wip = _weekly(p, start, end)
        out[period] = {
            ("time to decision, median", "working days"): float(np.median(lead)) if len(lead) else math.nan,
            ("time to decision, 90th percentile", "working days"): float(np.percentile(lead, 90)) if len(lead) else math.nan,
            ("share decided by the log's end", ""): float(p["decided"].mean()) if len(p) else math.nan,
            ("share with a missing-documents loop", ""): float((p["loops"] > 0).mean()) if "loops" in p and len(p) else math.nan,
            ("arrivals per weekday (mon-fri)", "cases / day"): len(p) / days,
            ("decisions per week", "cases"): tp,
            ("cases in progress at week ends (stopped cases leave at their last event)", "cases"): wip,
        }
        if len(groups) > 1:
            for gid in groups:
                gl = p.loc[p["decided"] & (p["group"] == gid), "lead_working_days"].dropna()
                out[period][(f"time to decision, median: {gid}", "working days")] = float(gl.median()) if len(gl) else math.nan
        if log_lead is not None:
            out[period][("Wasserstein distance of time to decision to the log's", "working days")] = \
                lead_time_distance(lead, log_lead[period])
            out[period][("total variation of weekday shares from the log's", "")] = \
                total_variation(_weekday_shares(p["arrival"]), log_lead[f"{period}_weekdays"])
            out[period][("total variation of trace variants (loops x decided) from the log's", "")] = \
                total_variation(_variants(p), log_lead[f"{period}_variants"])
            if log_lead.get(f"{period}_hours") is not None:
                out[period][("total variation of arrival clock hours from the log's", "")] = \
                    total_variation(_hour_shares(p["arrival"]), log_lead[f"{period}_hours"])
    return out


def fit_report(cal: Calibration, replications: int = 10, seed: int | None = None, workers: int | None = 1,
               tolerance: float = 0.15, executor=None, progress=None) -> FitReport:
    """Simulate the calibrated scenario and compare it with its log (see the module's description)."""
    from ..runner import run

    scenario = Scenario.from_dict(cal.scenario)
    seed = scenario.run.seed if seed is None else seed
    log_cases = cal.cases.copy()
    if "loops" not in log_cases:
        log_cases["loops"] = 0
    split, t0, t1 = cal.split, log_cases["arrival"].min(), cal.log_end
    log_lead = {"groups": sorted(log_cases["group"].unique()) if "group" in log_cases else []}
    for period in PERIODS:
        p = _period(log_cases, split, period)
        log_lead[period] = p.loc[p["decided"], "lead_working_days"].dropna().to_numpy(dtype=float)
        log_lead[f"{period}_weekdays"] = _weekday_shares(p["arrival"])
        log_lead[f"{period}_variants"] = _variants(p)
        timed = p["arrival"][(p["arrival"].dt.hour != 0) | (p["arrival"].dt.minute != 0)]
        log_lead[f"{period}_hours"] = _hour_shares(timed) if len(timed) >= 0.5 * max(1, len(p)) else None
    groups = log_lead["groups"]
    log_m = _measures(log_cases, split, t0, t1, groups=groups)
    staged = bool(cal.stages) and "stage_order" in log_cases
    result = run(scenario, replications, seed, workers=workers, executor=executor, progress=progress, trace=staged)
    sim = simulated_cases(result, scenario)
    reps = [_measures(sim[sim["replication"] == r], split, t0, t1, log_lead, groups) for r in range(replications)]
    fit_lead = log_lead["fitting"]
    rng = np.random.default_rng(seed)
    rows = []
    for period in PERIODS:
        for (measure, unit) in reps[0][period]:
            vals = np.array([r[period][(measure, unit)] for r in reps], dtype=float)
            m, lo, hi, _, _ = mean_ci(vals[~np.isnan(vals)]) if (~np.isnan(vals)).any() else (math.nan,) * 5
            log_v = log_m[period].get((measure, unit), 0.0 if "distance" in measure or "variation" in measure else math.nan)
            base = math.nan
            if period == "held_out" and measure.startswith("time to decision") and len(fit_lead):
                q = 50 if "median" in measure else 90
                n = max(1, len(log_lead["held_out"]))
                base = float(np.mean([np.percentile(rng.choice(fit_lead, n), q) for _ in range(200)]))
            rel = abs(m - log_v) / abs(log_v) if log_v and not math.isnan(log_v) and not math.isnan(m) else math.nan
            inside = not math.isnan(lo) and lo <= log_v <= hi
            passes = (rel <= tolerance or inside) if not math.isnan(rel) else None
            if "distance" in measure or "variation" in measure:
                passes, rel, lo = None, math.nan, max(0.0, lo)  # a distance is never below 0
            rows.append({"period": period, "measure": measure, "unit": unit, "log": log_v, "model_mean": m,
                         "model_ci_low": lo, "model_ci_high": hi, "naive_baseline": base, "rel_error": rel,
                         "passes": passes})
    stage_table = None
    if staged:
        rows += _stage_order_rows(cal, log_cases, sim, model_sequences(result.trace, cal.stages), replications)
        stage_table = _stage_days(cal, result.trace, sim, scenario, replications)
    table = pd.DataFrame(rows)
    loop_check = None
    if (log_cases["loops"] > 0).any() and any(it.incomplete_probability > 0 for it in scenario.items):
        no_loop = scenario.evolve(items=[{**it.model_dump(mode="json", exclude_none=True), "incomplete_probability": 0.0}
                                         for it in scenario.items])
        off = simulated_cases(run(no_loop, replications, seed, workers=workers, executor=executor), no_loop)
        fit_cases = _period(log_cases, split, "fitting")
        with_loop = [float(np.nanmedian(_period(sim[sim["replication"] == r], split, "fitting").query("decided")
                                        ["lead_working_days"])) for r in range(replications)]
        without = [float(np.nanmedian(_period(off[off["replication"] == r], split, "fitting").query("decided")
                                      ["lead_working_days"])) for r in range(replications)]
        dec = fit_cases[fit_cases["decided"]]
        loop_check = pd.DataFrame([
            {"what": "log, every decided case", "median_working_days": float(dec["lead_working_days"].median())},
            {"what": "log, decided cases without a loop",
             "median_working_days": float(dec.loc[dec["loops"] == 0, "lead_working_days"].median())},
            {"what": "model as calibrated", "median_working_days": float(np.mean(with_loop))},
            {"what": "model with the loop switched off", "median_working_days": float(np.mean(without))},
        ])
    return FitReport(table, loop_check, replications, seed, sim, _by_year(log_cases, sim, replications), stage_table)


def _stage_order_rows(cal: Calibration, log_cases: pd.DataFrame, sim: pd.DataFrame, model_order: pd.Series,
                      replications: int) -> list[dict]:
    """Control flow: how far the order of stages in the model's cases is from the log's (bigrams of stages, total
    variation), per period, beside a chain that runs every stage in rank order (what the side-by-side steps add)."""
    chain = {gid: tuple(st.id for st in f.stages) for gid, f in cal.stages.items()}
    rows = []
    for period in PERIODS:
        lg = _period(log_cases, cal.split, period)
        lg = lg[lg["decided"] & lg["stage_order"].notna()]
        if lg.empty:
            continue
        log_order, log_freq = ngram_shares(lg["stage_order"], 2), _stage_frequencies(lg["stage_order"])
        chained = [chain[g] for g in lg["group"] if g in chain]
        baseline = {"order": total_variation(ngram_shares(chained, 2), log_order),
                    "frequency": total_variation(_stage_frequencies(chained), log_freq)}
        vals: dict[str, list[float]] = {"order": [], "frequency": []}
        for r in range(replications):
            p = _period(sim[(sim["replication"] == r) & sim["decided"]], cal.split, period)
            keys = pd.MultiIndex.from_arrays([p["replication"].to_numpy(), p["case"].to_numpy()])
            traces = model_order.reindex(keys).dropna()
            vals["order"].append(total_variation(ngram_shares(traces, 2), log_order) if len(traces) else math.nan)
            vals["frequency"].append(total_variation(_stage_frequencies(traces), log_freq) if len(traces) else math.nan)
        for what, measure in (("frequency", "total variation of stage frequencies (stages per case) from the log's"),
                              ("order", "total variation of stage-order bigrams from the log's (baseline: every stage in one chain)")):
            v = np.array(vals[what], dtype=float)
            m, lo, hi, _, _ = mean_ci(v[~np.isnan(v)]) if (~np.isnan(v)).any() else (math.nan,) * 5
            rows.append({"period": period, "measure": measure, "unit": "", "log": 0.0, "model_mean": m,
                         "model_ci_low": max(0.0, lo), "model_ci_high": hi,  # a distance is never below 0
                         "naive_baseline": baseline[what] if what == "order" else math.nan, "rel_error": math.nan,
                         "passes": None})
    return rows


def _stage_days(cal: Calibration, trace: pd.DataFrame, sim: pd.DataFrame, scenario: Scenario, replications: int) -> pd.DataFrame:
    """Each stage's mean working days over the fitting period's decided cases: the log's (as fitted) beside the
    model's steps (queue and work, start of the wait to the end), with a 95% CI over replications."""
    from ..calendar import clock_for

    clock = clock_for(scenario.calendar)
    steps = trace[trace["kind"] == "step"]
    key = steps["activity"].astype(str).str.split(":", n=1).str[1].to_numpy()
    days = (clock.working_array(steps["end_minute"].to_numpy()) - clock.working_array(steps["enabled_minute"].to_numpy())) \
        / clock.day_minutes
    fitting = sim[sim["decided"] & (sim["arrival"] < cal.split)]
    keep = pd.MultiIndex.from_arrays([steps["replication"].to_numpy(), steps["case"].to_numpy()]).isin(
        pd.MultiIndex.from_arrays([fitting["replication"].to_numpy(), fitting["case"].to_numpy()]))
    per = pd.DataFrame({"stage": key[keep], "rep": steps["replication"].to_numpy()[keep], "days": days[keep]})
    by_rep = per.groupby(["stage", "rep"])["days"].mean()
    rows = []
    for gid, found in cal.stages.items():
        for sid in [st.id for st in found.stages] + ["decision"]:
            vals = by_rep[sid].to_numpy() if sid in by_rep.index.get_level_values(0) else np.array([])
            m, lo, hi, _, _ = mean_ci(vals) if len(vals) else (math.nan,) * 5
            label = sid if len(cal.stages) == 1 else f"{gid}: {sid}"
            rows.append({"stage": label, "log_mean": float(np.nanmean(found.durations[sid])), "model_mean": m,
                         "model_ci_low": lo, "model_ci_high": hi})
    return pd.DataFrame(rows)


def _stage_frequencies(orders) -> pd.Series:
    """Each stage's share of all the stages the cases passed (a stage a log often skips has a smaller share)."""
    counts = pd.Series([s for order in orders for s in order], dtype=object).value_counts()
    return counts / counts.sum() if counts.sum() else counts.astype(float)


def _by_year(log_cases: pd.DataFrame, sim: pd.DataFrame, replications: int) -> pd.DataFrame:
    """Median and 90th percentile of time to decision by arrival year, log beside model (replications pooled).

    The model is stationary: a log whose years differ much more than the
    model's is drifting, and the held-out tail shows it.
    """
    rows = []
    for year in sorted(log_cases["arrival"].dt.year.unique()):
        lg = log_cases[(log_cases["arrival"].dt.year == year) & log_cases["decided"]]["lead_working_days"].dropna()
        md = sim[(sim["arrival"].dt.year == year) & sim["decided"]]["lead_working_days"].dropna()
        rows.append({"arrival_year": int(year), "log_cases": len(lg), "log_median": lg.median() if len(lg) else math.nan,
                     "log_p90": lg.quantile(0.9) if len(lg) else math.nan,
                     "model_cases_per_replication": len(md) / replications,
                     "model_median": md.median() if len(md) else math.nan, "model_p90": md.quantile(0.9) if len(md) else math.nan})
    return pd.DataFrame(rows)


def _wip_by_week(cases: pd.DataFrame, weeks: pd.DatetimeIndex) -> np.ndarray:
    g = (weeks + pd.Timedelta(days=1)).to_numpy()
    arr = np.sort(cases["arrival"].to_numpy())
    ends = np.sort(cases["left" if "left" in cases else "end"].dropna().to_numpy())
    return np.searchsorted(arr, g) - np.searchsorted(ends, g)


def fit_series(cal: Calibration, fit: FitReport) -> dict:
    """The series the fit report draws: cases in progress at each week's end (log; model mean and 95% CI)
    and arrival shares by weekday (log; model, all replications pooled)."""
    log_cases, sim = cal.cases, fit.sim_cases
    weeks = pd.date_range(log_cases["arrival"].min().normalize(), cal.log_end, freq="W-SUN")
    log_wip = pd.Series(_wip_by_week(log_cases, weeks), index=weeks)
    per_rep = np.array([_wip_by_week(sim[sim["replication"] == r], weeks) for r in range(fit.replications)], dtype=float)
    rows = [mean_ci(per_rep[:, j])[:3] for j in range(len(weeks))]
    model_wip = pd.DataFrame(rows, index=weeks, columns=["mean", "ci_low", "ci_high"])
    return {"wip_log": log_wip, "wip_model": model_wip, "weekday_log": _weekday_shares(log_cases["arrival"]),
            "weekday_model": _weekday_shares(sim["arrival"])}
