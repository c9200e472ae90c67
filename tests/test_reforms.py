"""Each reform changes its mechanism in the expected direction.

Direction checks run the base and the reformed scenario with the same seed
and replications (common random numbers) and require the 95% CI of the
paired difference to lie on the expected side of zero.  Where a reform's
effect can be worked out by hand (deterministic toy scenarios, formulas for
materials and probabilities), the test checks the exact answer instead.
"""

import math

import pytest

from sim import Scenario, ScenarioError, load_scenario, run, simulate
from sim.compare import comparison_table
from sim.flow import Apply, Choice, Parallel
from sim.queueing import erlang_c_wait
from sim.reforms import REFORMS, apply_reform
from tests.helpers import assert_matches, batch_means, sample_mean_check

SHORT = {"horizon_working_days": 15, "warmup_working_days": 2, "drain_working_days": 200, "replications": 3, "seed": 11}
OPENING = ["company_registration", "seal_carving", "bank_account", "invoice_application", "social_insurance"]
TESTED: set[str] = set()  # reforms with a direction test below (checked by test_every_reform_is_tested)


def covers(*names):
    TESTED.update(names)
    return lambda f: f


@pytest.fixture(scope="module")
def base():
    return load_scenario("scenarios/county_before_reform.yaml").evolve(run=SHORT)


@pytest.fixture(scope="module")
def base_result(base):
    return run(base)


def _mean(res, kpi, scope="all"):
    return res.estimate(kpi, scope)[0]


def paired(before, after, kpi, scope="all"):
    """(base mean, new mean, diff CI low, diff CI high) over replications paired by index."""
    table = comparison_table([before, after])
    row = table[(table["index"] == 1) & (table["scope"] == scope) & (table["kpi"] == kpi)].iloc[0]
    b = table[(table["index"] == 0) & (table["scope"] == scope) & (table["kpi"] == kpi)]["mean"].iloc[0]
    return b, row["mean"], row["diff_ci_low"], row["diff_ci_high"]


def falls(before, after, kpi, scope="all"):
    b, a, lo, hi = paired(before, after, kpi, scope)
    assert hi < 0, f"{kpi} ({scope}) should fall: {b:.4g} -> {a:.4g}, paired diff CI [{lo:.4g}, {hi:.4g}]"


def rises(before, after, kpi, scope="all"):
    b, a, lo, hi = paired(before, after, kpi, scope)
    assert lo > 0, f"{kpi} ({scope}) should rise: {b:.4g} -> {a:.4g}, paired diff CI [{lo:.4g}, {hi:.4g}]"


def toy(flow, *, externals=(), items=None, windows=None, departments=None, run_days=40, per_day=2.0, seed=5, reps=2):
    """A deterministic always-open system: one hall, fixed durations, ample staff."""
    items = items or [
        {"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 10,
         "steps": [{"role": "clerk", "minutes": 5 * 1440}], "result_delivery": "electronic"},
        {"id": "filing", "department": "d", "kind": "immediate", "intake_minutes": 10},
    ]
    return Scenario.from_dict({
        "name": "toy",
        "sites": [{"id": "hall"}],
        "departments": departments or [{"id": "d", "site": "hall", "staff": {"clerk": 200}}],
        "windows": windows or [{"id": "w", "site": "hall", "positions": 50, "items": [i["id"] for i in items]}],
        "items": items,
        "externals": list(externals),
        "case_types": [{"id": "project", "arrivals": {"per_day": per_day}, "flow": flow}],
        "run": {"horizon_working_days": run_days, "warmup_working_days": 0, "replications": reps, "seed": seed},
    })


def completed_lead_days(scenario, seed=5):
    cases = simulate(scenario, seed=seed).cases
    return cases[cases["status"] == "completed"]["lead_time_working_days"].to_numpy()


# -- catalogue ------------------------------------------------------------------
def test_catalogue_has_bilingual_names_docs_and_parameter_descriptions():
    assert len(REFORMS) >= 19
    for r in REFORMS.values():
        assert r.name.isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in r.zh)
        assert "Mechanism" in r.function.__doc__, r.name
        for p in r.parameters:
            assert p.description, f"{r.name}.{p.name} has no description"


def test_reforms_do_not_mutate_input(base):
    before = base.content_hash()
    examples = {
        "centralise": {}, "one_window": {}, "chief_representative": {}, "tolerance_acceptance": {},
        "reduce_materials": {"share": 0.5}, "fully_online": {}, "agency_service": {},
        "one_thing_done_once": {"case_type": "enterprise_opening", "items": ["invoice_application", "social_insurance"], "window": "tax_window"},
    }
    for name, params in examples.items():
        assert apply_reform(base, name, **params).content_hash() != before, name
    assert base.content_hash() == before


# -- organisation -----------------------------------------------------------------
@covers("centralise")
def test_centralise_removes_travel_between_windows(base, base_result):
    reformed = apply_reform(base, "centralise")
    assert {w.site for w in reformed.windows} == {"service_hall"}
    out = run(reformed)
    falls(base_result, out, "travel_minutes_mean")
    falls(base_result, out, "trips_mean", "case_type:enterprise_opening")


@covers("one_window")
def test_one_window_pools_two_mm2_queues_into_one_mm4(base):
    """Two M/M/2 window groups at load 0.6 become one M/M/4: waits follow Erlang C before and after."""
    lam, mean = 0.12, 10.0  # per minute per window group; minutes of intake (load 0.6)
    items = [{"id": x, "department": "d", "kind": "immediate", "intake_minutes": {"dist": "exponential", "mean": mean}} for x in ("a", "b")]
    before = Scenario.from_dict({
        "name": "two queues", "sites": [{"id": "hall"}], "departments": [{"id": "d", "site": "hall"}],
        "windows": [{"id": "wa", "site": "hall", "positions": 2, "items": ["a"]}, {"id": "wb", "site": "hall", "positions": 2, "items": ["b"]}],
        "items": items,
        "case_types": [{"id": x, "arrivals": {"per_day": lam * 1440}, "flow": [{"item": x}]} for x in ("a", "b")],
        "run": {"horizon_working_days": 120, "warmup_working_days": 2},
    })
    after = apply_reform(before, "one_window")
    assert [(w.id, w.positions) for w in after.windows] == [("comprehensive_window", 4)]
    for scenario, expected in ((before, erlang_c_wait(lam, 1 / mean, 2)), (after, erlang_c_wait(2 * lam, 1 / mean, 4))):
        cases = simulate(scenario, seed=3).cases.sort_values("arrival_minute")
        est, se, df = batch_means(cases["window_wait_minutes"].to_numpy(), batches=20)
        # ~41,000 customers; the band is the run's own 99.9% batch-means interval
        assert_matches(est, se, df, expected, max_rel_half_width=0.25, what=scenario.name)
    assert erlang_c_wait(2 * lam, 1 / mean, 4) < 0.5 * erlang_c_wait(lam, 1 / mean, 2)  # the pooling gain
    named = apply_reform(base, "one_window", windows=["market_window", "tax_window"], id="zone_a", name="A区 综合窗口")
    assert [(w.id, w.name) for w in named.windows if w.id == "zone_a"] == [("zone_a", "A区 综合窗口")]
    kept = apply_reform(base, "one_window", windows=["market_window", "tax_window"], keep_positions={"tax_window": 1})
    w = {x.id: x for x in kept.windows}
    assert w["comprehensive_window"].positions == 3 and w["tax_window"].positions == 1
    assert set(w["comprehensive_window"].items) == {"company_registration", "individual_business", "invoice_application", "deed_tax"}
    assert set(w["tax_window"].items) == {"invoice_application", "deed_tax"}
    with pytest.raises(ScenarioError, match=r"keep_positions\.tax_window: keeps 2 of its 2 positions"):
        apply_reform(base, "one_window", windows=["market_window", "tax_window"], keep_positions={"tax_window": 2})


@covers("chief_representative")
def test_chief_representative_cuts_lead_time(base, base_result):
    out = run(apply_reform(base, "chief_representative", items=["property_registration"]))
    scope = "case_type:property_transfer"
    falls(base_result, out, "lead_time_working_days_mean", scope)
    assert _mean(out, "back_office_wait_minutes_mean", scope) == 0
    kept = apply_reform(base, "chief_representative", items=["property_registration"], keep_steps=["certificate"], handoff_factor=0.5)
    item = kept.item("property_registration")
    assert item.kind == "back_office" and [s.key for s in item.steps] == ["certificate"]
    assert item.handoff.to_back_office_minutes.mean == pytest.approx(0.5 * 210)
    assert item.intake_minutes.mean == pytest.approx(30 + 10)


@covers("cross_authorisation")
def test_cross_authorisation_moves_items_to_the_host_window(base, base_result):
    reformed = apply_reform(base, "cross_authorisation", assign={"police": "market_window"})
    windows = {w.id: w for w in reformed.windows}
    assert "police_window" not in windows  # its only item moved: the window closes
    assert "seal_carving" in windows["market_window"].items and windows["market_window"].positions == 3
    assert reformed.item("seal_carving").kind == "immediate"
    freed = apply_reform(base, "cross_authorisation", assign={"police": "market_window"}, keep_positions=False)
    assert {w.id: w.positions for w in freed.windows}["market_window"] == 2
    out = run(reformed)
    scope = "case_type:enterprise_opening"
    falls(base_result, out, "lead_time_working_days_mean", scope)
    falls(base_result, out, "trips_mean", scope)
    with pytest.raises(ScenarioError, match=r"assign\.police: no window with id 'nope'"):
        apply_reform(base, "cross_authorisation", assign={"police": "nope"})


@covers("decentralise")
def test_decentralise_shortens_travel_for_the_share_living_near_a_centre(base, base_result):
    reformed = apply_reform(base, "decentralise", items=["individual_business"], share=0.5, from_home_minutes=5)
    ct = [c for c in reformed.case_types if c.id == "individual_business"][0]
    node = ct.flow.sequence[0]
    assert isinstance(node, Choice) and node.draw == "near_township_centres"
    out = run(reformed, trace=True)
    scope = "case_type:individual_business"
    falls(base_result, out, "travel_minutes_mean", scope)
    intakes = out.trace[(out.trace["case_type"] == "individual_business") & (out.trace["kind"] == "intake")]
    local = intakes.groupby(["replication", "case"])["resource"].agg(lambda r: "township_centres_window" in set(r))
    assert abs(local.mean() - 0.5) < 4 * math.sqrt(0.25 / len(local))  # binomial, 4 sigma


# -- process ----------------------------------------------------------------------
@covers("parallel_approval")
def test_parallel_approval_builds_a_parallel_block_and_cuts_lead_time(base, base_result):
    reformed = apply_reform(base, "parallel_approval", case_type="enterprise_opening", items=["seal_carving", "bank_account", "invoice_application"])
    flow = reformed.case_types[0].flow
    assert [type(b).__name__ for b in flow.sequence] == ["Apply", "Parallel", "Apply"]
    assert [b.item for b in flow.sequence[1].parallel] == ["seal_carving", "bank_account", "invoice_application"]
    with pytest.raises(ScenarioError, match="items: the blocks are not next to each other: invoice_application lie"):
        apply_reform(base, "parallel_approval", case_type="enterprise_opening", items=["bank_account", "social_insurance"])
    falls(base_result, run(reformed), "lead_time_working_days_mean", "case_type:enterprise_opening")
    with pytest.raises(ScenarioError, match=r"items: no block 'nope' in the flow of 'enterprise_opening'"):
        apply_reform(base, "parallel_approval", case_type="enterprise_opening", items=["seal_carving", "nope"])


@covers("one_thing_done_once")
def test_one_thing_done_once_is_one_visit_with_one_set_of_materials(base, base_result):
    bundle = ["invoice_application", "social_insurance"]
    reformed = apply_reform(base, "one_thing_done_once", case_type="enterprise_opening", items=bundle, window="tax_window", shared_materials_share=0.2)
    joint = reformed.case_types[0].flow.sequence[3]
    assert isinstance(joint, Apply) and joint.items == tuple(bundle) and joint.id == "one_thing"
    assert joint.shared_materials == round(0.2 * (5 + 4))
    assert len(reformed.case_types[0].flow.sequence) == 4
    out = run(reformed)
    scope = "case_type:enterprise_opening"
    falls(base_result, out, "window_visits_mean", scope)
    falls(base_result, out, "materials_mean", scope)
    # every case that got as far hands in 2 materials fewer; 26 in all before
    cases = out.cases[(out.cases["case_type"] == "enterprise_opening") & (out.cases["status"] == "completed")]
    assert set(cases["materials"]) == {26 - 2}
    with pytest.raises(ScenarioError, match="window: no window accepts all of invoice_application, social_insurance"):
        apply_reform(base, "one_thing_done_once", case_type="enterprise_opening", items=bundle)


@covers("simulated_approval")
def test_simulated_approval_overlaps_the_permit_with_the_notice_period():
    notice = {"kind": "fixed_period", "id": "listing_notice", "duration_working_days": 10}
    before = toy([{"external": "listing_notice"}, {"item": "permit"}], externals=[notice])
    after = apply_reform(before, "simulated_approval", case_type="project", stage="permit")
    assert isinstance(after.case_types[0].flow.sequence[0], Parallel)
    # deterministic: notice 10 days, then intake 10 minutes + review 5 days -> max(10, 5 + intake)
    assert completed_lead_days(before) == pytest.approx(10 + 5 + 10 / 1440)
    assert completed_lead_days(after) == pytest.approx(10)
    late = apply_reform(before, "simulated_approval", case_type="project", stage="permit", start_after="listing_notice")
    assert completed_lead_days(late) == pytest.approx(10 + 5 + 10 / 1440)  # waits for the notice: no gain
    with pytest.raises(ScenarioError, match="stage: 'listing_notice' is the first block of its sequence"):
        apply_reform(before, "simulated_approval", case_type="project", stage="listing_notice")


@covers("regional_assessment")
def test_regional_assessment_skips_every_assessed_report_for_projects_in_the_park():
    reports = [
        {"kind": "intermediary", "id": "geology", "duration_working_days": 20},
        {"kind": "intermediary", "id": "climate", "duration_working_days": 10},
        {"kind": "intermediary", "id": "eia", "duration_working_days": 3},
    ]
    flow = [{"external": "geology"}, {"external": "climate"}, {"external": "eia"}, {"item": "permit", "after": ["climate"]}]
    before = toy(flow, externals=reports, per_day=5)
    full = 20 + 10 + 3 + 5 + 10 / 1440
    assert completed_lead_days(before) == pytest.approx(full)
    all_in = apply_reform(before, "regional_assessment", externals=["geology", "climate"])
    assert completed_lead_days(all_in) == pytest.approx(full - 30)
    half = apply_reform(before, "regional_assessment", externals=["geology", "climate"], in_park_share=0.4)
    lead = completed_lead_days(half)
    # one draw per project: it skips both reports or neither, never one of them
    assert set(lead.round(6)) == {round(full, 6), round(full - 30, 6)}
    inside = (lead < full - 1).mean()
    assert abs(inside - 0.4) < 4 * math.sqrt(0.24 / lead.size)  # binomial, 4 sigma


@covers("electronic_circulation")
def test_electronic_circulation_shrinks_hand_offs_by_the_factor():
    items = [{"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 10,
              "handoff": {"to_back_office_minutes": 120, "to_window_minutes": 240},
              "steps": [{"role": "clerk", "minutes": 60}], "result_delivery": "electronic"}]
    before = toy([{"item": "permit"}], items=items)
    after = apply_reform(before, "electronic_circulation", factor=0.1)
    assert after.item("permit").handoff.to_window_minutes.mean == pytest.approx(24)
    # fixed times, ample staff: 10 + 120 + 60 + 240 before, 10 + 12 + 60 + 24 after
    assert completed_lead_days(before) == pytest.approx(430 / 1440)
    assert completed_lead_days(after) == pytest.approx(106 / 1440)


@covers("more_frequent_meetings")
def test_more_frequent_meetings_cut_the_wait_for_a_sitting():
    """Poisson arrivals wait for the next sitting: on average half the interval (uniform wait)."""
    meeting = {"kind": "meeting", "id": "joint_review", "every_working_days": 10, "at": "09:00"}
    before = toy([{"external": "joint_review"}], externals=[meeting], per_day=3, run_days=200)
    after = apply_reform(before, "more_frequent_meetings", every_working_days=2)
    assert after.externals[0].every_working_days == 2
    for scenario, interval in ((before, 10), (after, 2)):
        lead = completed_lead_days(scenario)
        # ~600 cases; the wait is uniform on [0, interval): mean interval/2, sd interval/sqrt(12)
        sample_mean_check(lead, interval / 2, max_rel_half_width=0.15, what=f"every {interval} days")
    with pytest.raises(ScenarioError, match="meetings: the scenario has no meetings"):
        apply_reform(toy([{"item": "filing"}]), "more_frequent_meetings", every_working_days=2)


@covers("intermediary_market")
def test_intermediary_market_shortens_reports_and_can_add_capacity():
    reports = [{"kind": "intermediary", "id": "eia", "duration_working_days": 20, "capacity": 1}]
    before = toy([{"external": "eia"}, {"item": "permit"}], externals=reports, per_day=0.02, run_days=400)
    after = apply_reform(before, "intermediary_market", factor=0.5, capacity=3)
    e = after.externals[0]
    assert e.duration_working_days.mean == 10 and e.capacity == 3
    lead_b, lead_a = completed_lead_days(before), completed_lead_days(after)
    assert lead_b.size == lead_a.size and (lead_b - lead_a >= 10 - 1e-9).all()  # 10 days less, or more (less queueing)


# -- requirements -------------------------------------------------------------------
@covers("tolerance_acceptance")
def test_tolerance_acceptance_cuts_returns_and_lead_time(base, base_result):
    reformed = apply_reform(base, "tolerance_acceptance", share_tolerated=0.8)
    assert reformed.item("company_registration").incomplete_probability == 0.35
    assert reformed.item("company_registration").tolerated_share == 0.8
    out = run(reformed)
    assert _mean(out, "returns_mean") < 0.5 * _mean(base_result, "returns_mean")
    falls(base_result, out, "lead_time_working_days_mean")
    falls(base_result, out, "trips_mean")


@covers("reduce_materials")
def test_reduce_materials_follows_the_independent_gaps_formula(base, base_result):
    reformed = apply_reform(base, "reduce_materials", share=0.5, items=["company_registration", "property_registration"])
    reg = reformed.item("company_registration")
    assert reg.materials == 4
    assert reg.incomplete_probability == pytest.approx(1 - (1 - 0.35) ** 0.5)
    assert reformed.item("property_registration").materials == 5
    assert reformed.item("seal_carving").materials == 3  # not chosen
    out = run(reformed)
    falls(base_result, out, "returns_mean")
    falls(base_result, out, "materials_mean")


@covers("reduce_steps")
def test_reduce_steps_removes_middle_levels_first_and_never_all(base):
    chain = [{"id": k, "role": "clerk", "minutes": m} for k, m in (("review", 60), ("check", 120), ("approve", 30), ("seal", 45))]
    items = [{"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 10, "steps": chain, "result_delivery": "electronic"}]
    before = toy([{"item": "permit"}], items=items)
    half = apply_reform(before, "reduce_steps", share=0.5)
    assert [s.key for s in half.item("permit").steps] == ["review", "seal"]
    # ample staff, fixed times: the lead time falls by exactly the removed 120 + 30 minutes
    assert completed_lead_days(before) - completed_lead_days(half) == pytest.approx(150 / 1440)
    most = apply_reform(before, "reduce_steps", share=1.0)
    assert [s.key for s in most.item("permit").steps] == ["review"]
    named = apply_reform(base, "reduce_steps", steps=["property_registration.check", "leader"])
    assert [s.key for s in named.item("property_registration").steps] == ["review", "certificate"]
    assert [s.key for s in named.item("company_registration").steps] == ["clerk", "section_chief"]
    with pytest.raises(ScenarioError, match="steps: no chosen back-office item has a step 'nope'"):
        apply_reform(base, "reduce_steps", steps=["nope"])


@covers("reduce_items")
def test_reduce_items_drops_applications_and_keeps_precedence():
    before = toy([{"external": "report"}, {"item": "filing", "after": ["report"]}, {"item": "permit", "after": ["filing"]}],
                 externals=[{"kind": "intermediary", "id": "report", "duration_working_days": 2}])
    after = apply_reform(before, "reduce_items", items=["filing"])
    seq = after.case_types[0].flow.sequence
    # the permit waited for the filing: an empty block keeps the filing's place and key
    assert [b.key for b in seq] == ["report", "filing", "permit"] and seq[1].sequence == ()
    assert not any(isinstance(n, Apply) and n.item == "filing" for n in seq)
    assert completed_lead_days(after) == pytest.approx(2 + 5 + 10 / 1440)
    assert completed_lead_days(before) == pytest.approx(2 + 5 + 20 / 1440)
    free = apply_reform(before, "reduce_items", items=["filing"], keep_precedence=False)
    assert [b.key for b in free.case_types[0].flow.sequence] == ["report", "permit"]
    assert free.case_types[0].flow.sequence[1].after == ()  # it waits for the report by its place only
    with pytest.raises(ScenarioError, match="items: this would leave the journey of 'project' empty"):
        apply_reform(toy([{"item": "filing"}]), "reduce_items", items=["filing"])


def test_removing_a_block_keeps_what_it_waited_for_by_its_place_in_a_sequence():
    """y waits for eia, which came after the notice in its sequence: without eia, y still waits for the notice."""
    blocks = [{"kind": "fixed_period", "id": "notice", "duration_working_days": 10},
              {"kind": "intermediary", "id": "eia", "duration_working_days": 3}]
    flow = [{"parallel": [[{"external": "notice"}, {"external": "eia"}], [{"item": "permit", "after": ["eia"]}]]}]
    before = toy(flow, externals=blocks)
    assert completed_lead_days(before) == pytest.approx(10 + 3 + 5 + 10 / 1440)
    for name, params in (("regional_assessment", {"externals": ["eia"]}), ("reduce_items", {"items": ["permit"]})):
        after = apply_reform(before, name, **params)
        expected = 10 + 5 + 10 / 1440 if name == "regional_assessment" else 10 + 3
        assert completed_lead_days(after) == pytest.approx(expected), name


@covers("reduce_time_limits")
def test_reduce_time_limits_moves_the_yardstick_not_the_work(base, base_result):
    reformed = apply_reform(base, "reduce_time_limits", share=0.67)
    assert reformed.item("company_registration").promised_limit_days == 1  # 3 -> 0.99 -> 1
    assert reformed.item("property_registration").promised_limit_days == 2  # 5 -> 1.65 -> 2
    assert reformed.item("bank_account").promised_limit_days == 1
    assert reformed.item("seal_carving").promised_limit_days == 0  # 1 -> 0.33 -> 0: the same day
    out = run(reformed)
    assert out.cases["lead_time_working_days"].equals(base_result.cases["lead_time_working_days"])
    falls(base_result, out, "on_time_promised_rate")
    half_day = toy([{"item": "filing"}], items=[
        {"id": "filing", "department": "d", "kind": "immediate", "intake_minutes": 10, "promised_limit_days": 0.5, "statutory_limit_days": 2.5}])
    assert apply_reform(half_day, "reduce_time_limits", share=0.2).item("filing").promised_limit_days == pytest.approx(0.4)
    no_promise = apply_reform(half_day, "reduce_time_limits", share=0.0, items=["filing"])
    assert no_promise.item("filing").promised_limit_days == 0.5  # fractional limits stay fractional


@covers("reduce_fees")
def test_reduce_fees_waives_fees_only(base, base_result):
    out = run(apply_reform(base, "reduce_fees"))
    assert _mean(base_result, "fee_yuan_mean") > 0 and _mean(out, "fee_yuan_mean") == 0
    assert out.cases["lead_time_working_days"].equals(base_result.cases["lead_time_working_days"])


@covers("commitment_approval")
def test_commitment_approval_decides_on_a_pledge_and_inspects_later(base, base_result):
    reformed = apply_reform(base, "commitment_approval", items=["property_registration"], inspection_share=0.3, inspection_minutes=60)
    item = reformed.item("property_registration")
    assert item.kind == "immediate" and item.inspection.role == "clerk" and item.inspection.share == 0.3
    assert item.materials == 5 and item.incomplete_probability == pytest.approx(1 - 0.75**0.5)
    out = run(reformed, trace=True)
    scope = "case_type:property_transfer"
    falls(base_result, out, "lead_time_working_days_mean", scope)
    inspections = out.trace[out.trace["kind"] == "inspection"]
    decided = (out.trace["activity"] == "intake:property_registration").sum()
    assert 0 < len(inspections) < decided and set(inspections["resource"]) == {"land.clerk"}


# -- channels -----------------------------------------------------------------------
@covers("fully_online")
def test_fully_online_moves_a_share_of_cases_to_zero_trips(base, base_result):
    reformed = apply_reform(base, "fully_online", online_share=0.6, case_types=["individual_business"])
    ct = {c.id: c for c in reformed.case_types}
    assert ct["individual_business"].channels.online == 0.6 and ct["property_transfer"].channels.online == 0
    out = run(reformed)
    scope = "case_type:individual_business"
    zero = _mean(out, "zero_trip_share", scope)
    n = _mean(out, "cases", scope) * out.replications
    assert abs(zero - 0.6) < 4 * math.sqrt(0.24 / n)  # binomial, 4 sigma
    falls(base_result, out, "trips_mean", scope)


@covers("electronic_certificates")
def test_electronic_certificates_drop_proofs_and_pickup_trips(base, base_result):
    reformed = apply_reform(base, "electronic_certificates", proofs=["deed_tax"], items=["property_registration"])
    flow = [c for c in reformed.case_types if c.id == "property_transfer"][0].flow
    assert [b.item for b in flow.sequence] == ["property_registration"]
    assert reformed.item("property_registration").result_delivery == "electronic"
    out = run(reformed)
    falls(base_result, out, "trips_mean", "case_type:property_transfer")


@covers("agency_service")
def test_agency_service_cuts_trips_and_gaps(base, base_result):
    reformed = apply_reform(base, "agency_service", share=0.5, case_types=["property_transfer"], incomplete_factor=0.2)
    ct = {c.id: c for c in reformed.case_types}
    assert ct["property_transfer"].channels.assisted == 0.5 and reformed.agency.incomplete_factor == 0.2
    out = run(reformed)
    scope = "case_type:property_transfer"
    falls(base_result, out, "trips_mean", scope)
    falls(base_result, out, "returns_mean", scope)
    assisted = out.cases[out.cases["channel"] == "assisted"]
    assert len(assisted) and set(assisted["trips"]) == {1} and assisted["travel_minutes"].max() == 0


@covers("mail_delivery")
def test_mail_delivery_replaces_pickup_trips_by_post(base, base_result):
    reformed = apply_reform(base, "mail_delivery", items=["property_registration"], mail_calendar_days=2)
    item = reformed.item("property_registration")
    assert item.result_delivery == "mail" and item.mail_calendar_days.mean == 2
    assert reformed.item("company_registration").result_delivery == "pickup"
    out = run(reformed)
    falls(base_result, out, "trips_mean", "case_type:property_transfer")
    assert {i.id for i in apply_reform(base, "mail_delivery").items if i.result_delivery == "mail"} == {
        "company_registration", "seal_carving", "bank_account", "property_registration"}


def test_every_reform_is_tested():
    assert set(REFORMS) == TESTED


# -- parameters and files -------------------------------------------------------------
def test_unknown_reform_and_bad_parameters_are_reported(base):
    with pytest.raises(ScenarioError, match="unknown reform 'merge'"):
        apply_reform(base, "merge")
    with pytest.raises(ScenarioError, match=r"departments\[0\]: no department with id 'nope'"):
        apply_reform(base, "centralise", departments=["nope"])
    with pytest.raises(ScenarioError, match=r"reform: share_tolerated: must be less than or equal to 1 \(got 1.5\)"):
        apply_reform(base, "tolerance_acceptance", share_tolerated=1.5)
    with pytest.raises(ScenarioError, match=r"reform: share_tolerated: must be a valid number \(got True\)"):
        apply_reform(base, "tolerance_acceptance", share_tolerated=True)  # YAML 'yes' is not a share
    with pytest.raises(ScenarioError, match=r"shares: unknown parameter of reduce_materials; its parameters: share, items"):
        apply_reform(base, "reduce_materials", shares=0.5)
    with pytest.raises(ScenarioError, match="share: required parameter of reduce_materials is missing"):
        apply_reform(base, "reduce_materials")
    with pytest.raises(ScenarioError, match=r"case_type: no case type with id 'enterprise_openin' \(did you mean 'enterprise_opening'\?\)"):
        apply_reform(base, "parallel_approval", case_type="enterprise_openin", items=["seal_carving", "bank_account"])


def test_cli_lists_and_explains_reforms(capsys):
    from sim.cli import main

    assert main(["reforms"]) == 0
    out = capsys.readouterr().out.splitlines()
    starts = [line.split()[0] for line in out[2:] if not line.startswith(" ")]  # a row may wrap onto more lines
    assert starts == list(REFORMS) and out[2].startswith("centralise") and "三集中" in out[2]
    assert main(["reforms", "tolerance_acceptance"]) == 0
    text = capsys.readouterr().out
    assert "容缺受理" in text and "share_tolerated: default 0.8 - share of incomplete applications" in text
    assert main(["reforms", "nope"]) == 2
    assert "unknown reform 'nope'" in capsys.readouterr().err


def test_scenario_file_with_base_and_reforms(tmp_path):
    after = load_scenario("scenarios/county_after_reform.yaml")
    before = load_scenario("scenarios/county_before_reform.yaml")
    assert after.name.startswith("County after reform")
    assert {w.site for w in after.windows} == {"service_hall"}
    assert after.item("company_registration").kind == "immediate"
    assert after.run == before.run
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {(tmp_path.parent / 'none.yaml').as_posix()}\nreforms: []\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="base: no such file: "):
        load_scenario(bad)
    base_path = (__import__("pathlib").Path("scenarios/county_before_reform.yaml")).resolve()
    bad.write_text(f"base: {base_path}\nreforms:\n  - {{reform: centralise, departments: [nope]}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"reforms\[0\]\.departments\[0\]: no department with id 'nope'"):
        load_scenario(bad)
    bad.write_text(f"base: {base_path}\nreform:\n  - {{reform: reduce_fees}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad.yaml:2:1: \(top level\): unknown field 'reform' of a reformed scenario \(did you mean 'reforms'\?\)"):
        load_scenario(bad)
    bad.write_text(f"base: {base_path}\nreforms:\n  - {{reform: reduce_fees, share: lots}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad.yaml:3:34: reforms\[0\]\.share: must be a valid number"):
        load_scenario(bad)


def test_cli_reports_a_bad_reform_parameter_without_traceback(tmp_path, capsys):
    from sim.cli import main

    base_path = (__import__("pathlib").Path("scenarios/county_before_reform.yaml")).resolve()
    f = tmp_path / "after.yaml"
    f.write_text(f"base: {base_path}\nreforms:\n  - {{reform: one_window, windowz: [a]}}\n", encoding="utf-8")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "reforms[0].windowz: unknown parameter of one_window" in err and "Traceback" not in err
    f.write_text(f"base: {base_path}\nreforms:\n  - {{reform: one_windw}}\n  - {{reform: reduce_materials}}\n", encoding="utf-8")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err.splitlines()  # both entries' mistakes at once
    assert err[0].endswith("after.yaml: 2 problems")
    assert err[1].endswith("reforms[0].reform: unknown reform 'one_windw' (did you mean 'one_window'?)")
    assert err[2].endswith("reforms[1].share: required parameter of reduce_materials is missing")


def test_reforms_that_add_choices_keep_every_other_draw_of_a_case():
    """Common random numbers across flow surgery: a choice elsewhere keeps its branch, and
    applications that stay at the hall keep their gaps, case by case."""
    items = [
        {"id": "y", "department": "d", "kind": "immediate", "intake_minutes": 10, "incomplete_probability": 0.4},
        {"id": "z", "department": "d", "kind": "immediate", "intake_minutes": 10, "incomplete_probability": 0.4},
    ]
    flow = [{"item": "y"}, {"choice": [{"probability": 0.5, "flow": {"external": "eia"}}, {"probability": 0.5, "flow": []}]},
            {"item": "z"}]
    before = toy(flow, items=items, externals=[{"kind": "intermediary", "id": "eia", "duration_working_days": 3}], per_day=20)
    after = apply_reform(before, "decentralise", items=["y"], share=0.5)
    b = simulate(before, seed=2, trace=True)
    a = simulate(after, seed=2, trace=True)

    def per_case(rep, pred):
        t = rep.trace
        return t[pred(t)].groupby("case").size().reindex(rep.cases["case"], fill_value=0).to_numpy()

    eia = lambda t: t["kind"] == "intermediary"  # noqa: E731
    assert (per_case(b, eia) == per_case(a, eia)).all()  # the choice's branch did not move
    fixes_z = lambda t: t["activity"] == "fix:z"  # noqa: E731
    assert (per_case(b, fixes_z) == per_case(a, fixes_z)).all()  # z's gaps did not move
    hall = per_case(a, lambda t: (t["kind"] == "intake") & (t["resource"] != "township_centres_window")) > 0
    fixes_y_before = b.trace[b.trace["activity"] == "fix:y"].groupby("case").size()
    fixes_y_after = a.trace[a.trace["activity"].str.startswith("fix:y")].groupby("case").size()
    cases = a.cases["case"].to_numpy()
    yb = fixes_y_before.reindex(cases, fill_value=0).to_numpy()
    ya = fixes_y_after.reindex(cases, fill_value=0).to_numpy()
    assert hall.any() and (yb == ya).all()  # y's gaps are the case's own, wherever it applies


def test_reforms_compose_in_either_order_and_keep_their_targets(base):
    """Review cases: share 0 and restricted journeys of decentralise, re-pinned windows, channel
    shares that add up, misspelt step names."""
    none = apply_reform(base, "decentralise", items=["individual_business"], share=0.0)
    assert run(none.evolve(run={**SHORT, "replications": 1})).stations.set_index("station").loc[
        "township_centres_window", "visits_per_day"] == 0  # nobody is sent to the centres
    only = apply_reform(base, "decentralise", items=["deed_tax"], case_types=["property_transfer"], share=1.0)
    ct = {c.id: c for c in only.case_types}
    assert ct["property_transfer"].flow.sequence[0].windows == ("township_centres_window",)
    # then pooling the tax window keeps the hall applications valid (re-pinned to the pooled window)
    both = apply_reform(apply_reform(base, "decentralise", items=["deed_tax"], share=0.5), "one_window", windows=["tax_window", "market_window"])
    hall = [b.flow for b in {c.id: c for c in both.case_types}["property_transfer"].flow.sequence[0].choice][1]
    assert hall.windows == ("comprehensive_window",)
    # cross-authorisation into a host leaves a mixed (comprehensive) window accepting the items
    pooled = apply_reform(base, "one_window", windows=["police_window", "hrss_window"], id="mixed")
    moved = apply_reform(pooled, "cross_authorisation", assign={"police": "market_window"})
    assert "seal_carving" in {w.id: w for w in moved.windows}["mixed"].items
    # channel shares stay a partition whatever the order
    for a, o in ((0.3, 1.0), (0.7, 0.4)):
        s1 = apply_reform(apply_reform(base, "agency_service", share=a), "fully_online", online_share=o)
        ch = s1.case_types[0].channels
        assert ch.online == o and min(ch.counter, ch.assisted) >= 0 and ch.counter + ch.online + ch.assisted == pytest.approx(1)
    with pytest.raises(ScenarioError, match=r"keep_steps\[0\]: no chosen back-office item has a step or role 'aprove'"):
        apply_reform(base, "chief_representative", items=["property_registration"], keep_steps=["aprove"])
    with pytest.raises(ScenarioError, match="items: no back-office items are left to approve on a pledge"):
        apply_reform(apply_reform(base, "chief_representative"), "commitment_approval")
