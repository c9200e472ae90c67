"""The optimisation section of the planners' page: its logic against known answers, and the section itself, headless.

1. A staffing spec built on the page's scenario, edited after loading (fewer
   arrivals than its file: offered load 3 instead of 4), finds the Erlang C
   optimum of the edited scenario, not of the file; the run counts every
   simulation run in its progress and leaves no temporary file behind.
2. Bad input comes back as the command line's messages, before anything runs;
   a target the scenario does not measure fails the job with the optimiser's
   message.
3. Shipped specs are listed and keyed by what their answer depends on.
4. A reform package on the same queue (online applications make zero-trip
   cases): the views, the statement, the chart and the files to download.
5. The section in Streamlit's test harness: a bad bound and a failed job
   show messages; a look at the shipped specs and back keeps what was typed;
   a fast run shows the design ``optimise()`` chooses for the same spec file
   and seed; switching to Chinese shows the finished job again without a new
   run.

The M/M/c hall is the shared ``mmc_file`` (1 arrival a minute, 4-minute
services, about 1,500 customers a replication).  Every optimiser run has a
fixed seed; thresholds sit at least 1.3 tolerances from the Erlang C values
of the designs next to the optimum, as in ``test_optimise_known.py``.  The
whole file takes about 20 s on 2 cores (18-19 s measured, load average 1.5-2).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from sim import Scenario, ScenarioError, load_scenario  # noqa: E402
from sim.optimise import optimise  # noqa: E402
from sim.queueing import erlang_c_wait  # noqa: E402
from sim.web import optimisation as opt  # noqa: E402
from sim.web import optimisation_views as ov  # noqa: E402
from tests.helpers import LEVEL  # noqa: E402

TARGET = {"kpi": "wait_minutes_mean", "scope": "station:w", "side": "at_most", "threshold": 1.2, "tolerance": 0.3}
BOUNDS = {"windows[w].positions": (1, 9)}
COST = 100_000
MU = 0.25  # services of 4 minutes


def _edited(path: Path, per_minute: float) -> Scenario:
    """The file's scenario with its arrivals changed, as the page may have edited it (no file holds it)."""
    data = load_scenario(path).to_dict()
    data["case_types"][0]["arrivals"]["per_day"] = per_minute * 1440  # open around the clock
    data["name"] = "edited on the page"
    return Scenario.from_dict(data)


def _with_positions(s: Scenario, c: int) -> Scenario:
    data = s.to_dict()
    data["windows"][0]["positions"] = c
    return Scenario.from_dict(data)


# == 1. a staffing spec built on the page ==========================================================
def test_a_spec_built_on_the_edited_scenario_finds_its_erlang_c_optimum(mmc_file, tmp_path, monkeypatch):
    lam, (q, eps) = 0.75, (TARGET["threshold"], TARGET["tolerance"])
    c_star = next(c for c in range(4, 20) if erlang_c_wait(lam, MU, c) <= q)
    assert c_star == 5  # the file's own load (1 a minute) would need 6
    assert erlang_c_wait(lam, MU, c_star - 1) >= q + 1.3 * eps and erlang_c_wait(lam, MU, c_star) <= q - 1.3 * eps
    edited = _edited(mmc_file, lam)

    req = opt.built_request(edited, seed=11, fast=False, bounds=BOUNDS, cost_yuan_per_year=COST,
                            replications={"first": 10, "most": 30, "final": 8}, **TARGET)
    assert req.spec.scenario == opt.PAGE_SCENARIO and req.spec.staffing[0].field == "windows[w].positions"
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the run writes the page's scenario
    seen: list[tuple[int, int]] = []
    res = req.run(lambda done, total: seen.append((done, total)))
    assert list(tmp_path.iterdir()) == []  # the temporary scenario file is gone

    assert res.chosen is not None and res.chosen.key == (c_star,) and res.chosen.cost_yuan_per_year == c_star * COST
    cand = res.candidates
    cheaper = cand[cand["cost_yuan_per_year"] < res.chosen.cost_yuan_per_year]
    assert (cheaper["decision"].eq("infeasible") | cheaper["decision"].str.startswith("skipped")).all(), cheaper
    assert cand.loc[cand["chosen"], "decision"].item() == "feasible"
    # the ready-to-run design is the edited scenario (not the file) with c* positions; the spec is the page's
    assert res.best_scenario.model_hash() == _with_positions(edited, c_star).model_hash()
    assert res.spec.scenario == opt.PAGE_SCENARIO
    # the progress counted every run of every batch, in one rising count, against the most the job can take
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and dones[-1] == res.runs + res.final_runs
    assert seen[-1][1] == req.total == req.spec.budget_runs + 8
    # the fresh replications agree with Erlang C (99.9% Student-t band of their own spread)
    row = res.final[res.final["kpi"] == "wait_minutes_mean"].iloc[0]
    n = int(row["n"])
    se = (row["ci_high"] - row["ci_low"]) / (2 * stats.t.ppf(0.975, n - 1))
    exact = erlang_c_wait(lam, MU, c_star)
    assert n == 8 and abs(row["mean"] - exact) <= stats.t.ppf(0.5 + LEVEL / 2, n - 1) * se and se < exact
    # the page's tables say the same
    chosen = ov.chosen_view(res, "en")
    assert chosen.values.tolist() == [["windows[w].positions", c_star, "positions at window group w"]]
    assert ov.chosen_view(res, "zh").columns.tolist() == ["变量", "取值", "含义"]
    final = ov.final_view(res, "en").set_index("KPI")
    shown = final.loc["mean wait before service (wait_minutes_mean)"]
    dec = 3 - 1 - math.floor(math.log10(abs(row["mean"])))
    assert shown["mean"] == f"{row['mean']:.{dec}f}" and shown["target"] == "<= 1.2" and shown["met"] == "yes"
    assert ov.cost_text(res, "zh") == "成本:每年500,000元(50.0万元/年)"


def test_the_key_says_what_the_answer_depends_on(mmc_file):
    base = load_scenario(mmc_file)
    key = opt.built_request(base, seed=3, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET).key
    assert opt.built_request(base, seed=3, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET).key == key
    for other in (opt.built_request(base, seed=4, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET),
                  opt.built_request(base, seed=3, fast=False, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET),
                  opt.built_request(base, seed=3, bounds=BOUNDS, cost_yuan_per_year=COST, **{**TARGET, "threshold": 1.1}),
                  opt.built_request(base, seed=3, bounds={"windows[w].positions": (1, 8)}, cost_yuan_per_year=COST, **TARGET),
                  opt.built_request(_edited(mmc_file, 0.75), seed=3, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET)):
        assert other.key != key


# == 2. bad input =================================================================================
@pytest.mark.parametrize("change, where, words", [
    ({"kpi": "wait_minutes_mena"}, "targets[0]", "unknown KPI 'wait_minutes_mena'"),
    ({"scope": "station:x"}, "targets[0].scope", "no scope 'station:x' in this scenario (e.g. station:w)"),
    ({"kpi": "cases"}, "targets[0].kpi", "'cases' is not measured for scope 'station:w'"),
    ({"side": "below"}, "targets[0]", "give exactly one of at_most and at_least"),
    ({"threshold": float("nan")}, "targets[0].at_most", "must be a finite number"),
    ({"threshold": "abc"}, "targets[0].at_most", "must be a valid number"),
    ({"tolerance": 0}, "targets[0].tolerance", "must be greater than 0"),
    ({"bounds": {"windows[v].positions": (1, 9)}}, "staffing[0].field", "no entry with id 'v'"),
    ({"bounds": {"windows[w].positions": (5, 2)}}, "staffing[0]", "max (2) is below min (5)"),
    ({"bounds": {}}, "(top level)", "give either staffing (variables to set) or reforms"),
    ({"cost_yuan_per_year": -1}, "staffing[0].cost_yuan_per_year", "must be greater than or equal to 0 (got -1)"),
    ({"seed": -3}, "seed", "must be greater than or equal to 0"),
])
def test_bad_input_is_the_command_lines_message(mmc_file, change, where, words):
    args = {**TARGET, "bounds": BOUNDS, "cost_yuan_per_year": COST, "source": "page", **change}
    with pytest.raises(ScenarioError) as info:
        opt.build_staffing_spec(load_scenario(mmc_file), **args)
    text = str(info.value)
    assert f"page: {where}: " in text and words in text, text
    assert "Traceback" not in text


def test_a_target_the_scenario_does_not_measure_fails_the_job_with_the_optimisers_message(mmc_file):
    # within_target_share is a case KPI, but this scenario's case type has no target: found on the first replication
    req = opt.built_request(load_scenario(mmc_file), bounds=BOUNDS, cost_yuan_per_year=COST, source="page",
                            **{**TARGET, "scope": "all", "kpi": "within_target_share", "side": "at_least", "threshold": 0.9})
    with pytest.raises(ScenarioError) as info:
        req.run()
    assert opt.error_lines(info.value) == ["page: 1 problem",
                                           "page: targets[0].kpi: 'within_target_share' is not measured for scope 'all'"]


def test_what_the_page_offers_to_set_comes_from_the_scenario(mmc_file):
    base = load_scenario(mmc_file)
    assert [(f.field, f.station, f.current) for f in opt.staffing_fields(base)] == [("windows[w].positions", "w", 3)]
    assert opt.target_scopes(base) == ["station:w", "all", "case_type:customer", "item:svc"]
    assert opt.scope_kpis("station:w")[:2] == ["wait_minutes_p90", "wait_minutes_mean"]
    assert set(opt.scope_kpis("station:w")) == {"utilisation", "queue_length_mean", "queue_length_max", "wait_minutes_mean",
                                                "wait_minutes_p90", "visits_per_day"}
    assert "items_at_most_one_trip_share" in opt.scope_kpis("all") and "items_at_most_one_trip_share" not in opt.scope_kpis("case_type:x")
    assert opt.default_threshold("zero_trip_share")[0] == "at_least" and opt.default_threshold("wait_minutes_p90") == ("at_most", 15.0)
    # roles of back offices are variables too, with the optimiser's field path
    county = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "county_before_reform.yaml")
    roles = [f for f in opt.staffing_fields(county) if f.field.startswith("departments[")]
    assert roles and all(f"station:{f.station}" in opt.target_scopes(county) for f in roles)
    d = county.departments[0]
    role, n = next(iter(d.staff.items()))
    assert (f"departments[{d.id}].staff.{role}", n) in [(f.field, f.current) for f in roles]


# == 3. shipped specs =============================================================================
def test_shipped_specs_are_listed_and_keyed_by_their_content(tmp_path):
    specs = opt.shipped_specs()
    assert {"optimise-yumen-staffing", "optimise-enterprise-opening-package"} <= set(specs)
    path = specs["optimise-enterprise-opening-package"]
    fast, full = opt.shipped_request(path), opt.shipped_request(path, fast=False)
    assert fast.seed == 2026 and fast.key == opt.shipped_request(path).key
    assert fast.key != full.key and fast.key != opt.shipped_request(path, seed=1).key
    assert fast.total == 800 + 5 and full.total == 3000 + 20  # the run budget and the fresh replications of each mode
    assert opt.target_lines(fast.spec, "zh") == [
        "平均办结时间(工作小时) (government_time_working_hours_mean), 办件类型 enterprise_opening: 不超过 4 (容差 0.4)"]
    assert opt.space_size(fast.spec) == 64
    # a copy of the spec with a different target is another job; a broken copy is the command line's message
    copy = tmp_path / path.name
    text = path.read_text(encoding="utf-8").replace("../scenarios/", f"{path.parent.parent / 'scenarios'}/")
    copy.write_text(text.replace("at_most: 4,", "at_most: 5,"), encoding="utf-8")
    assert opt.shipped_request(copy).key != fast.key
    copy.write_text(text.replace("at_most: 4,", "at_most: four,"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"optimise-enterprise-opening-package.yaml:\d+:\d+: targets\[0\].at_most: must be a valid number"):
        opt.shipped_request(copy)
    with pytest.raises(ScenarioError, match=r"seed: must be a whole number greater than or equal to 0 \(got -1\)"):
        opt.shipped_request(path, seed=-1)


# == 4. a reform package: views, statement, chart, downloads =======================================
def test_the_views_of_a_package_result(mmc_file, tmp_path):
    spec = tmp_path / "package.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "package", "scenario": str(mmc_file), "seed": 5,
        "targets": [{"kpi": "zero_trip_share", "at_least": 0.3}],
        "reforms": [{"reform": "fully_online", "params": {"online_share": 0.5}, "cost_yuan_per_year": 100},
                    {"reform": "reduce_fees", "params": {"share": 0.5}, "cost_yuan_per_year": 50}],
    }), encoding="utf-8")
    res = opt.shipped_request(spec, fast=True).run()
    # online applications are the only zero-trip cases: the cheapest package with half of them online is fully_online alone
    assert res.chosen.label == "fully_online"
    assert ov.chosen_view(res, "en").values.tolist() == [["fully_online", "in the package", "fully online"],
                                                          ["reduce_fees", "not in the package", "reduce fees"]]
    assert ov.chosen_view(res, "zh").values.tolist() == [["fully_online", "纳入", "全程网办"], ["reduce_fees", "不纳入", "减费用"]]
    assert ov.decisions_view(res, "en").values.tolist() == [["feasible: meets every target", 2], ["infeasible: misses a target", 2]]
    final = ov.final_view(res, "zh")
    assert final.iloc[0].tolist()[:3] == ["零跑腿比例 (zero_trip_share)", "全部办件", ">= 30"]  # a share: in percent
    assert final.iloc[0]["单位"] == "%" and final.iloc[0]["是否达标"] == "是"
    assert ov.statement(res, "zh") == res.statement_zh and ov.statement(res, "zh").startswith("在不低于95%的置信度下")
    assert ov.statement(res, "en").startswith("With confidence at least 95%")
    # the chart: PNG, drawn, different in the two languages
    import matplotlib.image as mpimg

    en, zh = ov.pareto_png(res, "en"), ov.pareto_png(res, "zh")
    assert zh[:8] == b"\x89PNG\r\n\x1a\n" and en[:8] == zh[:8] and en != zh
    img = mpimg.imread(io.BytesIO(zh))
    assert (img[..., :3].mean(axis=2) < 0.9).mean() > 0.01
    # the files are the command line's: the chosen design ready to run, every design met
    files = ov.downloads(res)
    assert set(files) == {"best_scenario.yaml", "candidates.csv", "estimates.csv", "final.csv", "result.json"}
    best = tmp_path / "best.yaml"
    best.write_bytes(files["best_scenario.yaml"])
    assert load_scenario(best).model_hash() == res.best_scenario.model_hash() != load_scenario(mmc_file).model_hash()
    cand = pd.read_csv(io.BytesIO(files["candidates.csv"]))
    assert cand["design"].tolist() == res.candidates["design"].tolist() and cand["chosen"].sum() == 1


def test_the_section_font_holds_every_character_it_shows():
    import base64
    import re

    from fontTools.ttLib import TTFont

    extra = "在不低于95%的置信度下:所选方案满足全部目标"
    chars = ov.section_chars(extra)
    css = ov.section_css(chars)
    assert ".st-key-opt-section td" in css and f'font-family: "{ov.FONT_FAMILY}"' in css
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", css).group(1))
    cmap = TTFont(io.BytesIO(data)).getBestCmap()
    wanted = {c for v in opt.TEXT.values() for c in v[1] if ord(c) > 0x7E} | set(extra) - set(" ")
    assert {c for c in wanted if ord(c) not in cmap} == set()


# == 5. the section, headless ======================================================================
def _page(scenario_path: str):
    import streamlit as st

    from sim.loading import load_scenario
    from sim.web.jobs import JobStore
    from sim.web.optimise_tab import render

    lang = st.radio("Language", ["en", "zh"], key="lang")
    if "store" not in st.session_state:
        st.session_state["store"] = JobStore(threads=1)
    render(lang, st.session_state["store"], load_scenario(scenario_path), "mmc.yaml")


def _keyed(widgets, prefix: str):
    found = [w for w in widgets if (w.key or "").startswith(prefix)]
    assert len(found) == 1, [w.key for w in widgets]
    return found[0]


def _plain(markdown: str) -> str:
    return markdown.replace("\\", "")


def test_the_section_runs_a_fast_optimisation_and_shows_the_design_optimise_chooses(mmc_file, tmp_path):
    at = AppTest.from_function(_page, kwargs={"scenario_path": str(mmc_file)}, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.radio(key="opt.source").value == "build" and at.checkbox(key="opt.fast").value is True
    assert _keyed(at.selectbox, "opt.scope.").value == "station:w"
    store = at.session_state["store"]

    # a bound the wrong way round: the command line's message, nothing runs
    at.number_input(key="opt.min.windows[w].positions").set_value(5)
    at.number_input(key="opt.max.windows[w].positions").set_value(2)
    at.button(key="opt.run").click().run()
    assert "staffing[0]: max (2) is below min (5)" in _plain(at.error[0].value) and not at.table

    # a KPI this scenario does not measure: the job fails and says why, without a traceback
    at.number_input(key="opt.min.windows[w].positions").set_value(1)
    at.number_input(key="opt.max.windows[w].positions").set_value(9)
    _keyed(at.selectbox, "opt.scope.").set_value("all").run()
    _keyed(at.selectbox, "opt.kpi.").set_value("within_target_share")
    at.button(key="opt.run").click().run(timeout=120)
    assert not at.exception
    message = _plain(at.error[0].value)
    assert "The optimisation stopped" in message and "'within_target_share' is not measured for scope 'all'" in message
    assert "Traceback" not in message

    # a look at the shipped specs and back: what was typed in the form is still there
    at.radio(key="opt.source").set_value("shipped").run()
    assert not at.error and at.selectbox(key="opt.spec").value in opt.shipped_specs()
    assert any("Targets (every one must hold)" in m.value for m in at.markdown)
    at.radio(key="opt.source").set_value("build").run()
    assert _keyed(at.selectbox, "opt.scope.").value == "all" and _keyed(at.selectbox, "opt.kpi.").value == "within_target_share"
    assert at.number_input(key="opt.max.windows[w].positions").value == 9  # not the default 6

    # the Erlang C target, fast, seed 3
    _keyed(at.selectbox, "opt.scope.").set_value("station:w").run()
    _keyed(at.selectbox, "opt.kpi.").set_value("wait_minutes_mean").run()
    at.number_input(key="opt.threshold.wait_minutes_mean").set_value(1.2)
    at.number_input(key="opt.tolerance.wait_minutes_mean").set_value(0.3)
    at.number_input(key="opt.cost").set_value(float(COST))
    at.number_input(key="opt.seed.build").set_value(3)
    at.button(key="opt.run").click().run(timeout=180)  # the section reruns the page until the job is done
    assert not at.exception and not at.error

    # the same optimisation as a spec file, run directly as the command line would
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "page-staffing", "scenario": str(mmc_file), "seed": 3,
        "targets": [{"kpi": "wait_minutes_mean", "scope": "station:w", "at_most": 1.2, "tolerance": 0.3}],
        "staffing": [{"field": "windows[w].positions", "min": 1, "max": 9, "cost_yuan_per_year": COST}],
        "pareto": ["wait_minutes_mean", "wait_minutes_p90"], "pareto_scope": "station:w",  # the page charts the target's KPI
    }), encoding="utf-8")
    direct = optimise(spec, seed=3, fast=True)
    assert direct.chosen.key == (6,)  # Erlang C: 5 positions wait 2.22 minutes, 6 wait 0.57
    shown = at.table[0].value
    assert shown["variable"].tolist() == ["windows[w].positions"]
    assert shown["value"].astype(int).tolist() == list(direct.chosen.key)
    assert any(_plain(m.value).startswith(f"**{direct.chosen.label}**") for m in at.markdown)
    assert "600,000 yuan a year" in " ".join(_plain(m.value) for m in at.markdown)
    assert [h.value for h in at.subheader][:2] == ["Chosen design", "The chosen design on fresh replications the search never saw"]
    assert at.image and len(at.download_button) == 4
    # the job behind the page: the same designs and decisions as the direct run
    key = opt.built_request(load_scenario(mmc_file), seed=3, fast=True, bounds=BOUNDS, cost_yuan_per_year=COST, **TARGET).key
    job = store.get(key)
    res = job.result()
    pd.testing.assert_frame_equal(res.candidates, direct.candidates)
    assert res.statement_en == direct.statement_en and job.done == res.runs + res.final_runs

    # Chinese: the finished job again, not a new run
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception and store.get(key) is job and not at.get("progress")
    assert at.table[0].value.columns.tolist() == ["变量", "取值", "含义"]
    assert at.table[0].value["含义"].tolist() == ["窗口 w 的岗位数"]
    assert any(_plain(m.value) == direct.statement_zh for m in at.markdown)
    assert at.header[0].value == "优化方案"
