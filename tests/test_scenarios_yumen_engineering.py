"""Yumen engineering-project approval (seeds 000 and 001) before and after reform.

Claims: whole-process approval "from 190 days to 35-70 working days" and "regional assessment
of 11 evaluations saves firms 40 working days" (seed 000); social-investment projects
13-30 working days and government-investment projects 10-55 working days (seed 001).

The pair runs with common random numbers (same seed, paired replications), 4 replications
instead of the files' 20.  Bounds are the seeds' ranges,
checked against 95% CIs; where a claim is a single figure ("40 working days") the test asks
for its order (a factor of two either way), because the seed gives no basis for a tighter
band and the model's own CI is a few working days wide.

What the model reproduces and what not (see the scenario headers):
* "190 days" reads as working days: the model's before-state lies near it in working days and
  far from it in calendar days; it is 20-30% above 190, not calibrated to it;
* the seeds' after ranges hold for the government's own time on the critical path (the
  official way of counting 审批时间), not for the whole journey, which still holds the
  intermediaries' reports, land listing, tendering and notices;
* regional assessment saves a project inside the park about 40 working days inside the reformed
  package (the claim), and more (~70) when switched on alone in the serial before state.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario
from sim.bottlenecks import decompose
from sim.compare import compare
from sim.engine import simulate
from sim.loading import attribution_plan, reform_plan
from sim.reforms import apply_reform
from sim.stats import mean_ci

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
# critical-path categories that are not the government's own time: intermediaries' work and their queues,
# fixed periods (land listing, notices, tendering), the applicant fixing or supplying materials, travel
OUTSIDE_GOVERNMENT = ("intermediary", "fixed_period:", "applicant_", "travel", "waiting_for_opening")


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
                     "agency_service"]
    params = [p for _, p in reforms]
    ra = params[1]
    assert set(ra["externals"]) == ELEVEN and len(ra["externals"]) == 11  # SEED 000: 11 evaluations
    assert ra["case_types"] == ["social_investment"]
    assert {params[2]["case_type"], params[3]["case_type"]} == {"social_investment", "government_investment"}
    assert all("stage2_reports" in p["items"] and "design_scheme" in p["items"] for p in params[2:4])
    assert params[4]["stage"] == "stage2_construction_engineering"  # 拿地即开工: stage 2 during the land listing
    assert params[5]["share"] == pytest.approx(1 - 162 / 256, abs=0.005)  # SEED 001: materials 256 -> 162
    assert params[6]["share_tolerated"] == pytest.approx(53 / 162, abs=0.005)  # SEED 001: 53 tolerable of 162
    # attribution players: the two parallel approvals are one, so are the one-table notice's two halves (7 players)
    _, _, groups = attribution_plan(AFTER)
    assert groups[2] == groups[3] == "parallel_approval" and groups[5] == groups[6] == "one_table_notice"
    assert len({g or f"#{i}" for i, g in enumerate(groups)}) == 7


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


def test_190_days_reads_as_working_days_and_the_before_state_is_of_that_order(pair):
    working = row(pair, 0, "all", LEAD)
    calendar = row(pair, 0, "all", "lead_time_calendar_days_mean")
    # the seed's "190 天" sits near the model's working days, far from its calendar days
    assert abs(working["mean"] - 190) < abs(calendar["mean"] - 190)
    assert calendar["ci_low"] > 1.5 * 190
    # not calibrated: the uncalibrated before state is within -20%..+50% of 190 working days (measured +27%)
    assert 0.8 * 190 <= working["ci_low"] and working["ci_high"] <= 1.5 * 190


def _government_time(scenario, reps=REPS):
    """Per case type: per-replication (whole lead time, government's own time) in working days."""
    day = scenario.calendar.day_minutes  # working minutes per working day
    out: dict[str, list[tuple[float, float]]] = {}
    for r in range(reps):
        rep = simulate(scenario, seed=scenario.run.seed, replication=r, trace=True)
        for ct in scenario.case_types:
            cases = rep.cases[rep.cases["case_type"] == ct.id]
            sub = types.SimpleNamespace(cases=cases, trace=rep.trace[rep.trace["case"].isin(cases["case"])])
            d = decompose(sub, scenario)
            whole = d["working_minutes_per_case"].sum() / day
            own = d.loc[~d["category"].str.startswith(OUTSIDE_GOVERNMENT), "working_minutes_per_case"].sum() / day
            out.setdefault(ct.id, []).append((whole, own))
    return out


def test_seed_001_ranges_hold_for_government_time_not_for_the_whole_journey():
    after = short(AFTER)
    assert after.calendar.day_minutes == 420  # 08:30-12:00 + 14:30-18:00
    times = _government_time(after)
    for ct, (low, high) in (("social_investment", (13, 30)), ("government_investment", (10, 55))):
        whole = np.array([w for w, _ in times[ct]])
        own = np.array([g for _, g in times[ct]])
        m, lo, hi, _, _ = mean_ci(own)
        # SEED 001: social 13-30, government 10-55 working days (measured ~19 and ~39)
        assert low <= lo and hi <= high, (ct, m, lo, hi)
        assert whole.mean() > own.mean() + 25  # the rest is intermediaries, notices, listing, tendering
    # the whole journey of a government project stays far above the seed's 55 working days
    assert np.mean([w for w, _ in times["government_investment"]]) > 100


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
