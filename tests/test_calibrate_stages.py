"""Stages found in a log: which activities, in what order or side by side, and how long each takes.

The known process (working days, whole days so the log's date counts are the truth):
registration (收件) opens the case; acceptance (受理) 2 days later on average;
then the technical review (技术审查, lognormal mean 7, cv 0.5) and the fire
review (消防审查, gamma mean 6, cv 0.5) side by side, so either can end
first; approval (审批, mean 3) after both; the decision (办结) the same day
in 60% of cases, else 1-3 days later.  An expert hearing (专家论证) in 10%
of cases is too rare to be a stage.  10% of the cases are withdrawn right after
acceptance.  About 2,000 cases.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario
from sim.calibrate import calibrate, fit_report
from sim.eventlog.read import read_log
from sim.scenario import Scenario, step_predecessors
from tests.helpers import approval_sim, write_chinese_log

TECH_MEAN, FIRE_MEAN, ACCEPT_MEAN, APPROVE_MEAN, SAME_DAY, WITHDRAWN = 7.0, 6.0, 2.0, 3.0, 0.6, 0.1


def _days(rng, dist: str, mean: float, cv: float = 0.5) -> int:
    if dist == "lognormal":
        s2 = math.log(1 + cv * cv)
        return int(round(rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2))))
    k = 1 / cv ** 2
    return int(round(rng.gamma(k, mean / k)))


def _log(path: Path, days: int = 250, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    k = 0

    def at(day, lo=9.0, hi=17.0):
        return day + pd.Timedelta(hours=float(rng.uniform(lo, hi)))

    for d in pd.bdate_range("2024-01-01", periods=days):
        for _ in range(rng.poisson(8)):
            k += 1
            case = f"p{k}"
            t0 = at(d, 9, 12)
            rows.append((case, "收件", t0))
            acc = d + pd.offsets.BDay(_days(rng, "gamma", ACCEPT_MEAN))
            rows.append((case, "受理", at(acc)))
            if rng.random() < WITHDRAWN:  # withdrawn after acceptance: nothing more happens
                continue
            tech = acc + pd.offsets.BDay(_days(rng, "lognormal", TECH_MEAN))
            fire = acc + pd.offsets.BDay(_days(rng, "gamma", FIRE_MEAN))
            rows += [(case, "技术审查", at(tech)), (case, "消防审查", at(fire))]
            if rng.random() < 0.1:
                rows.append((case, "专家论证", at(acc)))
            appr = max(tech, fire) + pd.offsets.BDay(_days(rng, "gamma", APPROVE_MEAN))
            rows.append((case, "审批", at(appr, 9, 12)))
            dec = appr if rng.random() < SAME_DAY else appr + pd.offsets.BDay(int(rng.integers(1, 4)))
            rows.append((case, "办结", at(dec, 13, 17) if dec == appr else at(dec)))
    write_chinese_log(rows, path)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    f = tmp_path_factory.mktemp("log") / "permits.csv"
    _log(f)
    return read_log(f)


def test_stages_their_order_and_durations_are_recovered(staged):
    cal = calibrate(staged, ["办结"])
    found = cal.stages["cases"]
    assert [st.activities for st in found.stages][0] == ("受理",)
    by = {st.activities[0]: st for st in found.stages}
    assert set(by) == {"受理", "技术审查", "消防审查", "审批"}
    assert by["技术审查"].after == by["消防审查"].after == (by["受理"].id,)  # side by side after acceptance
    assert set(by["审批"].after) == {by["技术审查"].id, by["消防审查"].id}
    why = found.activities.set_index("activity")["why"]
    assert why["收件"] == "recorded with the arrival" and "below 80%" in why["专家论证"]
    # about 1,600 decided cases in the fitting period: the means' standard errors are 1-2%; the tolerance is 6%
    # plus rounding to whole days
    fits = {a: cal.fits[f"government_time:{st.id}"] for a, st in by.items()}
    assert fits["受理"].mean == pytest.approx(ACCEPT_MEAN, rel=0.08)
    assert fits["审批"].mean == pytest.approx(APPROVE_MEAN, rel=0.08)
    # each review is timed from acceptance, so its own duration is recovered even though they overlap
    assert fits["技术审查"].mean == pytest.approx(TECH_MEAN, rel=0.06)
    assert fits["消防审查"].mean == pytest.approx(FIRE_MEAN, rel=0.06)
    decision = cal.fits["government_time:decision"]
    assert decision.zero_share == pytest.approx(SAME_DAY, abs=0.03)  # binomial sd about 1.2 points
    s = Scenario.from_dict(cal.scenario)
    keys = [st.key for st in s.items[0].steps]
    waits = {keys[j]: {keys[i] for i in p} for j, p in enumerate(step_predecessors(s.items[0].steps))}
    assert waits[by["消防审查"].id] == waits[by["技术审查"].id] == {by["受理"].id}
    assert waits[by["审批"].id] == {by["消防审查"].id, by["技术审查"].id}
    assert keys[-1] == "decision" and waits["decision"] == {by["审批"].id}


def test_the_draft_simulates_the_logs_time_and_its_order_better_than_a_chain(staged):
    """The model's median and 90th percentile of time to decision are within 15% of the log's, and the order in
    which its cases pass the stages is closer to the log's than a chain of every stage in one order."""
    cal = calibrate(staged, ["办结"])
    rep = fit_report(cal, replications=3, seed=5)
    t = rep.table.set_index(["period", "measure"])
    for period in ("fitting", "held_out"):
        for m in ("time to decision, median", "time to decision, 90th percentile", "share decided by the log's end"):
            assert t.loc[(period, m), "passes"], (period, m, t.loc[(period, m)].to_dict())
        order = t.loc[(period, "total variation of stage-order bigrams from the log's (baseline: every stage in one chain)")]
        assert order["model_ci_high"] < order["naive_baseline"], order.to_dict()
    days = rep.stages.set_index("stage")  # each stage's mean working days: the model's steps reproduce the log's
    assert list(days.index)[-1] == "decision" and len(days) == 5
    np.testing.assert_allclose(days["model_mean"], days["log_mean"], rtol=0.1)
    assert ((days["model_ci_low"] <= days["model_mean"]) & (days["model_mean"] <= days["model_ci_high"])).all()
    est = cal.estimates.set_index("quantity")["value"]
    # about 1,600 cases in the fitting period: the withdrawn share's standard error is 0.75 points
    assert est["share of cases withdrawn or terminated without a decision"] == pytest.approx(WITHDRAWN, abs=0.025)
    assert est["working days from arrival to the withdrawal"] == pytest.approx(ACCEPT_MEAN, rel=0.1)
    along = est["government time along the stages, median of the log's cases"]
    assert est["the same with each stage drawn independently (as the model does)"] == pytest.approx(along, rel=0.1)


def test_without_stages_one_review_step_keeps_the_whole_time(staged):
    cal = calibrate(staged, ["办结"], max_stages=0)
    assert cal.stages == {} and [st["id"] for st in cal.scenario["items"][0]["steps"]] == ["review"]
    assert "government_time" in cal.fits


def test_overlapping_start_and_end_times_are_side_by_side(tmp_path):
    """B always ends after A, but starts before A ends: a log with start times shows them overlapping,
    so they run side by side; without start times they are one after the other."""
    rng = np.random.default_rng(3)
    rows = []
    for k, d in enumerate(pd.bdate_range("2024-03-01", periods=160).repeat(3)):
        t = d + pd.Timedelta(hours=9)
        a_end = t + pd.offsets.BDay(int(rng.integers(2, 5)))
        b_end = a_end + pd.offsets.BDay(int(rng.integers(1, 3)))
        rows += [(f"c{k}", "apply", t, t), (f"c{k}", "A", t + pd.Timedelta(hours=1), a_end),
                 (f"c{k}", "B", t + pd.Timedelta(hours=2), b_end), (f"c{k}", "decide", b_end, b_end + pd.offsets.BDay(1))]
    df = pd.DataFrame(rows, columns=["case", "activity", "start", "end"])
    for c in ("start", "end"):
        df[c] = df[c].dt.strftime("%Y-%m-%d %H:%M")
    with_start = tmp_path / "with_start.csv"
    df.to_csv(with_start, index=False)
    cal = calibrate(read_log(with_start, {"timestamp": "end", "start": "start"}), ["decide"], hold_out=0)
    found = cal.stages["cases"]
    ids = {st.activities[0]: st for st in found.stages}
    assert ids["B"].after == () and ids["A"].after == ()
    pair = found.pairs.iloc[0]
    assert pair["relation"] == "side by side" and pair["overlapping"] == 1.0 and pair["later_first"] == 0.0
    no_start = tmp_path / "no_start.csv"
    df.drop(columns="start").to_csv(no_start, index=False)
    serial = calibrate(read_log(no_start, {"timestamp": "end"}), ["decide"], hold_out=0).stages["cases"]
    assert {st.activities[0]: st.after for st in serial.stages}["B"] == (ids["A"].id,)


def test_the_command_shows_and_writes_the_stages(tmp_path):
    log = tmp_path / "permits.csv"
    _log(log, days=60)
    out, rep = tmp_path / "draft.yaml", tmp_path / "fit"
    r = approval_sim("calibrate", log, "--decided-by", "办结", "--out", out, "--report", rep, "--reps", 1, "--workers", 1)
    assert r.returncode == 0, r.stderr
    assert "stages between arrival and decision / 受理至办结的办理环节" in r.stdout and "技术审查" in r.stdout
    text = out.read_text(encoding="utf-8")
    assert "# STAGES of cases" in text and "#   技术审查: 技术审查" in text
    s = load_scenario(out)
    assert any(st.after is not None for st in s.items[0].steps)
    stages = pd.read_csv(rep / "tables" / "stages.csv")
    assert list(stages["step"])[-1] == "decision" and "技术审查" in set(stages["log_activities"])
    assert (rep / "tables" / "stage_order.csv").is_file() and (rep / "tables" / "activities.csv").is_file()
    import matplotlib.image as mpimg

    zh, en = (mpimg.imread(rep / "charts" / f"working_days_per_stage.{lg}.png")[..., :3].mean(axis=2) for lg in ("zh", "en"))
    assert (zh < 0.9).mean() > 0.01 and zh.shape == en.shape and (zh != en).any()  # drawn, and labelled per language
    assert (rep / "tables" / "working_days_per_stage.csv").is_file()
    html = (rep / "report.html").read_text(encoding="utf-8")
    assert "技术审查" in html and "How to read the claims table" not in html  # a fit report has no claims to read
    assert html.index("<h3>fit</h3>") < html.index("<h3>stages</h3>")  # the fit table leads the tables
    # about 380 cases in the 48 working days fitted: the withdrawn share's standard error is 1.5 points
    assert s.applicants.withdraw_probability == pytest.approx(WITHDRAWN, abs=0.05)
    bad = approval_sim("calibrate", log, "--decided-by", "办结", "--out", tmp_path / "x.yaml", "--stage-share", 1.5)
    assert bad.returncode == 2 and "--stage-share" in bad.stderr and not (tmp_path / "x.yaml").exists()
