"""Yumen engineering-project approval (seeds 000 and 001) before and after reform.

Claims: whole-process approval "from 190 days to 35-70 working days", "regional assessment of 11
evaluations saves firms 40 working days" and approval limits 74% shorter (seed 000); social-
investment projects within 30 (13-30) working days, government-investment 10-55 (seed 001).

Each claim is checked on the measure it speaks of (DOMAIN.md, "How the reports count time"):
审批 time is the government's time, from acceptance (受理) to decision (government_time_*, the
engine's count: time when some item of the project is accepted and not yet decided); what the
firm lives through is the lead time (first application to completion filing, with intermediaries,
notices, meetings, fixing and trips); a declared limit cut is arithmetic on the limits, and the
on-time rate says whether the reformed process keeps them.

The pair runs with common random numbers (same seed, paired replications), 4 replications
instead of the files' 20.  Bounds are the seeds' ranges, checked against 95% CIs; where a claim is
a single figure ("40 working days") the band is stated next to the test.

What the model reproduces and what not (see the scenario headers):
* "190 天" reads as the whole journey in working days (lead time 241, 27% above 190; not
  calibrated to it); the government's own time before the reform is about 41 working days;
* seed 001's "within 30" (social) and "10-55" (government) hold on government time after the
  reform (about 12 and 11 days), not on the whole journey; government projects were already
  inside 10-55 on government time before the reform;
* "35-70" holds on the whole journey for social-investment projects only (about 69);
* regional assessment saves a project inside the park about 40 working days inside the reformed
  package (the claim), and more (~70) when switched on alone in the serial before state.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import load_scenario
from sim.compare import compare
from sim.loading import attribution_plan, reform_plan
from sim.reforms import apply_reform

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BEFORE = SCENARIOS / "yumen_engineering_project_before.yaml"
AFTER = SCENARIOS / "yumen_engineering_project_after.yaml"

# the files' own horizon (200 working days, ~100 projects, after 40 of warm-up: shorter runs end before the
# monthly planning committee's backlog settles and read the after-reform times ~25% low) with 4 paired
# replications instead of 20; the drain stays long so that no before-reform journey is cut off
REPS = 4

ELEVEN = {  # the regional assessment's 11 evaluations
    "geological_hazard_assessment", "mining_overlay_assessment", "climate_feasibility",  # named in seed 000
    "eia_report", "energy_assessment", "soil_water_plan", "flood_impact_assessment",
    "water_resources_assessment", "seismic_safety_assessment", "lightning_risk_assessment", "archaeology_survey",
}
SOCIAL, GOVERNMENT = "case_type:social_investment", "case_type:government_investment"
LEAD = "lead_time_working_days_mean"
GOV = "government_time_working_days_mean"


def short(path):
    s = load_scenario(path)
    return s.evolve(run={**s.run.model_dump(), "replications": REPS})


def row(table, index, scope, kpi):
    t = table[(table["index"] == index) & (table["scope"] == scope) & (table["kpi"] == kpi)]
    assert len(t) == 1, (index, scope, kpi)
    return t.iloc[0]


@pytest.fixture(scope="module")
def pair():
    _, table = compare([short(BEFORE), short(AFTER)])
    return table


@pytest.fixture(scope="module")
def plan():
    return reform_plan(AFTER)


def test_both_files_validate_with_four_stages_and_the_eleven_evaluations():
    before, after = load_scenario(BEFORE), load_scenario(AFTER)
    assert {c.id for c in before.case_types} == {"social_investment", "government_investment"}
    ext = {e.id: e for e in before.externals}
    assert ELEVEN <= set(ext) and all(ext[e].kind == "intermediary" for e in ELEVEN)
    assert {e.kind for e in before.externals} == {"intermediary", "meeting", "fixed_period"}
    for ct in before.case_types:  # the four stages of the national scheme, in order, as top-level blocks
        assert [b.id for b in ct.flow.sequence] == [
            "stage1_land_planning", "stage2_construction_engineering", "stage3_construction_permit", "stage4_completion"]
    assert after.content_hash() != before.content_hash()
    assert after.calendar == before.calendar  # the county file's office calendar in both


def test_after_file_applies_the_reforms_the_seeds_describe(plan):
    base, reforms = plan
    before = load_scenario(BEFORE)
    assert base.evolve(name=before.name, description=before.description) == before  # the base is the before file
    names = [n for n, _ in reforms]
    assert names == ["chief_representative", "regional_assessment", "parallel_approval", "parallel_approval",
                     "simulated_approval", "reduce_materials", "tolerance_acceptance", "commitment_approval",
                     "agency_service", "reduce_time_limits"]
    params = [p for _, p in reforms]
    ra = params[1]
    assert set(ra["externals"]) == ELEVEN and len(ra["externals"]) == 11  # SEED 000: 11 evaluations
    assert ra["case_types"] == ["social_investment"]
    assert {params[2]["case_type"], params[3]["case_type"]} == {"social_investment", "government_investment"}
    assert all("stage2_reports" in p["items"] and "design_scheme" in p["items"] for p in params[2:4])
    assert params[4]["stage"] == "stage2_construction_engineering"  # 拿地即开工: stage 2 during the land listing
    assert params[5]["share"] == pytest.approx(1 - 162 / 256, abs=0.005)  # SEED 001: materials 256 -> 162
    assert params[6]["share_tolerated"] == pytest.approx(53 / 162, abs=0.005)  # SEED 001: 53 tolerable of 162
    assert not params[6].get("decide_before_supplement", False)  # shared assumption: the result waits for it
    assert params[9]["share"] == 0.74  # SEED 000: 审批时限较改革前压缩74%
    # attribution players: the two parallel approvals are one, so are the one-table notice's two halves (8 players)
    _, _, groups = attribution_plan(AFTER)
    assert groups[2] == groups[3] == "parallel_approval" and groups[5] == groups[6] == "one_table_notice"
    assert len({g or f"#{i}" for i, g in enumerate(groups)}) == 8


def test_declared_limits_are_74_percent_shorter():
    """SEED 000 "审批时限较改革前压缩74%": arithmetic on the declared limits (promise, or the statutory
    limit where there was no promise), whole days kept whole."""
    before, after = load_scenario(BEFORE), load_scenario(AFTER)
    old = {it.id: it.promised_limit_days if it.promised_limit_days is not None else it.statutory_limit_days
           for it in before.items}
    new = {it.id: it.promised_limit_days for it in after.items}
    assert all(v is not None for v in old.values())
    assert new == {i: math.floor(v * 0.26 + 0.5) for i, v in old.items()}
    cut = 1 - sum(new.values()) / sum(old.values())
    assert abs(cut - 0.74) < 0.01, cut  # 453 -> 117 working days in all


def test_shorter_limits_are_kept_on_government_time(pair):
    """The on-time rate counts government time (受理 -> 办结) against the cut limits."""
    for scope in ("all", SOCIAL, GOVERNMENT):
        assert row(pair, 1, scope, "on_time_promised_rate")["ci_low"] > 0.97, scope  # measured 99.5%


def test_lead_time_falls_for_both_kinds_of_project(pair):
    for scope, at_least in (("all", 0.40), (SOCIAL, 0.60), (GOVERNMENT, 0.30)):
        r = row(pair, 1, scope, LEAD)
        assert r["diff_ci_high"] < 0, scope
        # measured (20 replications): 49% overall, 68% social, 37% government; bounds sit below the CIs
        assert r["compression_ci_low"] >= at_least, (scope, r["compression_ci_low"])
    assert row(pair, 1, "all", "returns_mean")["diff_ci_high"] < 0  # tolerance, fewer materials, agents
    assert row(pair, 1, "all", "trips_mean")["diff_ci_high"] < 0
    assert row(pair, 1, "all", "unfinished_share")["mean"] == 0  # the drain is long enough
    assert row(pair, 0, "all", "unfinished_share")["mean"] == 0


def test_190_days_reads_as_the_whole_journey_in_working_days(pair):
    working = row(pair, 0, "all", LEAD)
    calendar = row(pair, 0, "all", "lead_time_calendar_days_mean")
    # the seed's "190 天" sits near the model's working days, far from its calendar days
    assert abs(working["mean"] - 190) < abs(calendar["mean"] - 190)
    assert calendar["ci_low"] > 1.5 * 190
    # not calibrated: the before state is within -20%..+50% of 190 working days (measured +27%)
    assert 0.8 * 190 <= working["ci_low"] and working["ci_high"] <= 1.5 * 190
    # and it is not government time: the government's own time before the reform is ~41 working days
    gov = row(pair, 0, "all", GOV)
    assert 25 <= gov["ci_low"] and gov["ci_high"] <= 60, (gov["mean"], gov["ci_low"], gov["ci_high"])


def test_35_to_70_holds_on_the_journey_for_social_projects_only(pair):
    """SEED 000 "全流程审批由190天压缩到35至70个工作日", read like its "190" (the whole journey)."""
    social = row(pair, 1, SOCIAL, LEAD)
    government = row(pair, 1, GOVERNMENT, LEAD)
    assert 35 <= social["mean"] <= 70, social["mean"]  # measured 68.7 [67.5, 69.9] (20 reps): at the upper end
    assert government["ci_low"] > 70 * 1.5  # measured 168: the reports, tendering and notices of public works
    # read as government time instead, the after state is far below the range (measured ~11.5)
    assert row(pair, 1, "all", GOV)["ci_high"] < 35


def test_seed_001_limits_hold_on_government_time_not_on_the_whole_journey(pair):
    """SEED 001: social-investment projects "审批时间压缩至30个工作日内" (13-30), government-investment
    10-55 working days: 审批 times, so government time.  Measured (20 reps): social 39.6 -> 11.6,
    government 42.8 -> 11.3 working days; whole journeys 69 and 168."""
    for scope, (low, high) in ((SOCIAL, (13, 30)), (GOVERNMENT, (10, 55))):
        gov = row(pair, 1, scope, GOV)
        assert gov["ci_high"] <= high, (scope, gov["mean"])  # within the claimed limit
        assert gov["diff_ci_high"] < 0 and gov["compression_ci_low"] > 0.6, scope  # measured 71% / 74%
        assert row(pair, 1, scope, LEAD)["ci_low"] > high  # the whole journey stays above it
    # social projects are faster on government time than the claimed range's lower end (13) on the
    # mean (20 reps: 11.6 [11.2, 12.1]; 4 reps give a wider interval): the commitment and window
    # decisions leave little in government hands
    assert row(pair, 1, SOCIAL, GOV)["mean"] < 13
    # government projects were already inside 10-55 on government time BEFORE the reform: on that
    # measure the claim does not tell the reformed process from the old one
    assert row(pair, 0, GOVERNMENT, GOV)["ci_high"] < 55


def _regional_assessment_saving(base, reforms, with_others: bool):
    """Paired saving (social projects, working days) of regional assessment for projects inside the park."""
    ra = next(p for n, p in reforms if n == "regional_assessment")
    inside = dict(ra, in_park_share=1.0)
    without = base
    if with_others:
        for name, params in reforms:
            if name != "regional_assessment":
                without = apply_reform(without, name, **params)
    with_ra = apply_reform(without, "regional_assessment", **inside)
    _, table = compare([without, with_ra])
    return row(table, 1, SOCIAL, LEAD)


def test_regional_assessment_saves_a_park_project_of_the_order_of_40_working_days(plan):
    base, reforms = plan
    base = base.evolve(run={**base.run.model_dump(), "replications": REPS})
    last = _regional_assessment_saving(base, reforms, with_others=True)
    # SEED 000: "为企业节省40个工作日".  Inside the reformed package (the other reforms on) the saving for a
    # park project is 40 +- 12 working days: the CI half-width at 4 replications is ~6 and the seed's figure
    # is a round number (measured -39.0 [-44.7, -33.4])
    assert -52 <= last["diff_ci_low"] and last["diff_ci_high"] <= -28, (last["diff_mean"], last["diff_ci_low"], last["diff_ci_high"])
    alone = _regional_assessment_saving(base, reforms, with_others=False)
    # alone, in the serial before state, it saves more (measured -67.9 [-78.7, -57.0]): there every report
    # of stage 2 is on the critical path; parallel and simulated approval later hide part of that time
    assert -100 <= alone["diff_ci_low"] and alone["diff_ci_high"] <= -40, (alone["diff_mean"], alone["diff_ci_low"], alone["diff_ci_high"])
    assert last["diff_mean"] > alone["diff_mean"] + 15
