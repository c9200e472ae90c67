"""What the page derives from a comparison: the verdict on a target, the attribution, the charts, the HTML report."""

from __future__ import annotations

import base64
import io
import re

import matplotlib.image as mpimg
import pandas as pd
import pytest

from sim import ScenarioError
from sim.attribution import shapley
from sim.compare import compare
from sim.reforms import apply_reform
from sim.web.jobs import JobStore
from sim.web.results import attribution_call, attribution_key, charts, png, report_html
from sim.web.verdict import Target, verdict_call, verdict_key, verdict_table
from tests.helpers import single_station

# M/M/5, one arrival a minute, 4-minute services: Erlang C gives a mean wait of 2.22 minutes
MMC = single_station({"dist": "exponential", "mean": 4.0}, rate_per_minute=1.0, customers=1500, warmup_customers=200,
                     positions=5)
REPS, SEED = 4, 11


@pytest.fixture(scope="module")
def judged():
    def judge(value, holds_if="<="):
        calls = []
        target = Target("window_wait_minutes_mean", holds_if, value)
        out = verdict_call(MMC, target, REPS, SEED)(lambda d, t: calls.append((d, t)))
        return out, calls

    return judge


def test_a_target_far_from_the_erlang_c_wait_is_reproduced_or_refuted_whatever_the_assumptions(judged):
    (verdict, deciding, table), calls = judged(4.0)
    # M/M/5 waits 2.22 min (Erlang C); 4 replications of ~1,300 counted customers put the mean within about
    # +-0.6 min, so 4 min is met at every setting and 0.8 min missed by the whole 95% CI at the most favourable one
    assert verdict == "reproduced", deciding
    assert table["mean"].between(2.22 - 0.6, 2.22 + 0.6).all()
    (verdict, deciding, table), _ = judged(0.8)
    assert verdict == "refuted", deciding
    (verdict, _, _), _ = judged(1.0, ">=")
    assert verdict == "reproduced"
    # the shared assumptions touch nothing in a hall with complete materials and no back office: each distinct
    # model runs once (defaults, the two value assumptions' ends, both corners), and progress counts those runs
    assert calls[-1][0] == calls[-1][1] and calls[-1][1] % REPS == 0 and calls[-1][1] < REPS * 21


def test_a_bad_target_is_a_message_naming_the_field():
    with pytest.raises(ScenarioError, match="target.kpi: unknown KPI"):
        Target("speed", "<=", 1.0)
    with pytest.raises(ScenarioError, match="target.holds_if"):
        Target("window_wait_minutes_mean", "==", 1.0)


def test_jobs_are_kept_by_what_they_judge():
    store = JobStore(threads=1)
    t = Target("window_wait_minutes_mean", "<=", 4.0)
    key = verdict_key(MMC, t, 2, SEED)
    job = store.run(key, 0, verdict_call(MMC, t, 2, SEED))
    assert store.run(key, 0, lambda p: 1 / 0) is job  # found, not run again
    assert verdict_key(MMC, Target("window_wait_minutes_mean", "<=", 5.0), 2, SEED) != key
    assert job.future.result(timeout=300)[0] == "reproduced"


PLAN = [("fully_online", {"online_share": 0.3}), ("agency_service", {"share": 0.2})]


@pytest.fixture(scope="module")
def compared():
    base = MMC.evolve(run={**MMC.run.model_dump(), "horizon_working_days": 0.4, "warmup_working_days": 0.05})
    a = base
    for name, params in PLAN:
        a = apply_reform(a, name, **params)
    return base, a, *compare([base, a], 2, SEED)


def test_the_report_holds_the_tables_the_verdict_the_charts_in_both_languages_and_the_plan(compared):
    base, after, results, table = compared
    t = Target("window_wait_minutes_mean", "<=", 4.0)
    v, d, est = verdict_call(after, t, 2, SEED)(lambda *_: None)
    html = report_html(results, table, "mmc.yaml", PLAN, edits={"windows[0].positions": "5"},
                       verdict=verdict_table(t, v, d, est), verdict_text="target text")
    assert html.startswith("<!DOCTYPE html>") and "@font-face" in html
    assert base.content_hash() in html and after.content_hash() in html  # the manifest names both models
    assert "fully_online" in html and "agency_service" in html and "windows[0].positions" in html and "target text" in html
    assert 'class="verdict"' in html and "page_target" in html
    assert "lead_time_working_days_mean" in html  # the comparison table
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) == 2 * len(charts(results))  # every chart, English and Chinese
    ink = mpimg.imread(io.BytesIO(base64.b64decode(imgs[0])))
    assert (ink[..., :3].mean(axis=2) < 0.9).mean() > 0.01


def test_the_attribution_job_equals_the_library_split_and_adds_the_waterfall(compared):
    base, _, results, _ = compared
    plan = PLAN
    key = attribution_key(base, plan, "lead_time_working_days_mean", 2, SEED)
    assert key == attribution_key(base, plan, "lead_time_working_days_mean", 2, SEED)
    got = attribution_call(base, plan, "lead_time_working_days_mean", 2, SEED)(lambda *_: None)
    pd.testing.assert_frame_equal(got, shapley(base, plan, kpi="lead_time_working_days_mean", replications=2, seed=SEED))
    stems = [c.stem for c in charts(results, got)]
    assert stems[-1] == "attribution" and "attribution" not in [c.stem for c in charts(results)]
    assert png(charts(results, got)[-1].draw(lang="zh"))[:4] == b"\x89PNG"


def test_where_the_time_goes_before_and_after_adds_up_to_the_mm5_lead_time():
    """M/M/5: on the critical path a case queues (Erlang C: 2.22 min) and is served (4 min); the rows add to the total."""
    from sim.web.results import bottlenecks_call, bottlenecks_key

    after = apply_reform(MMC, *PLAN[0][:1], **PLAN[0][1])
    calls = []
    t = bottlenecks_call(MMC, after, REPS, SEED)(lambda d, n: calls.append((d, n)))
    assert calls[-1] == (2 * REPS, 2 * REPS)
    rows = t.set_index("category")
    assert rows.loc["queue:w", "working_minutes_per_case_base"] == pytest.approx(2.22, abs=0.6)
    assert rows.loc["service:w", "working_minutes_per_case_base"] == pytest.approx(4.0, abs=0.25)
    parts = rows.drop(index="total")
    for col in ("working_minutes_per_case_base", "working_minutes_per_case_reformed"):
        assert parts[col].sum() == pytest.approx(rows.loc["total", col], rel=1e-9)
    assert (t["change_minutes"] == t["working_minutes_per_case_reformed"] - t["working_minutes_per_case_base"]).all()
    assert rows.loc["queue:w", "category_zh"] == "排队等候" and t["category"].iloc[-1] == "total"
    assert bottlenecks_key(MMC, after, REPS, SEED) != bottlenecks_key(MMC, MMC, REPS, SEED)
