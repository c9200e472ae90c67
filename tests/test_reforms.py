"""Each reform changes its mechanism in the expected direction (common random numbers)."""

import pytest

from sim import load_scenario, run
from sim.reforms import REFORMS, apply_reform

SHORT = {"horizon_working_days": 15, "warmup_working_days": 2, "drain_working_days": 200, "replications": 3, "seed": 11}


@pytest.fixture(scope="module")
def base():
    s = load_scenario("scenarios/county_before_reform.yaml")
    return s.evolve(run=SHORT)


@pytest.fixture(scope="module")
def base_result(base):
    return run(base)


def _mean(res, kpi, scope="all"):
    return res.estimate(kpi, scope)[0]


def test_reforms_do_not_mutate_input(base):
    before = base.content_hash()
    for name in ("centralise", "one_window", "chief_representative", "tolerance_acceptance"):
        out = apply_reform(base, name)
        assert out.content_hash() != before
    assert base.content_hash() == before


def test_centralise_removes_travel_between_windows(base, base_result):
    out = run(apply_reform(base, "centralise"))
    # every window at one site: only the trip from home remains, once per visit chain
    assert {w.site for w in apply_reform(base, "centralise").windows} == {"service_hall"}
    assert _mean(out, "travel_minutes_mean") < 0.8 * _mean(base_result, "travel_minutes_mean")


def test_one_window_pools_staff(base, base_result):
    reformed = apply_reform(base, "one_window", windows=["market_window", "tax_window"])
    pooled = [w for w in reformed.windows if w.id == "comprehensive_window"][0]
    assert pooled.positions == 4 and set(pooled.items) == {"company_registration", "individual_business", "invoice_application", "deed_tax"}
    out = run(reformed)
    assert _mean(out, "window_wait_minutes_mean", "case_type:individual_business") <= _mean(
        base_result, "window_wait_minutes_mean", "case_type:individual_business"
    )


def test_chief_representative_cuts_lead_time(base, base_result):
    out = run(apply_reform(base, "chief_representative", items=["property_registration"]))
    scope = "case_type:property_transfer"
    # returns for missing materials (fix time 0.5-4 days) remain, so the cut is partial
    assert _mean(out, "lead_time_working_days_mean", scope) < 0.8 * _mean(base_result, "lead_time_working_days_mean", scope)
    assert _mean(out, "back_office_wait_minutes_mean", scope) == 0


def test_tolerance_acceptance_cuts_returns(base, base_result):
    reformed = apply_reform(base, "tolerance_acceptance", share_tolerated=0.8)
    assert reformed.item("company_registration").incomplete_probability == 0.35
    assert reformed.item("company_registration").tolerated_share == 0.8
    out = run(reformed)
    assert _mean(out, "returns_mean") < 0.5 * _mean(base_result, "returns_mean")


def test_parallel_approval_builds_a_parallel_block(base):
    reformed = apply_reform(base, "parallel_approval", case_type="enterprise_opening", items=["seal_carving", "bank_account", "social_insurance"])
    flow = reformed.case_types[0].flow
    assert [type(b).__name__ for b in flow.sequence] == ["Apply", "Parallel", "Apply"]
    assert [b.item for b in flow.sequence[1].parallel] == ["seal_carving", "bank_account", "social_insurance"]


def test_catalogue_has_bilingual_names():
    for r in REFORMS.values():
        assert r.name.isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in r.zh)
        assert r.function.__doc__


def test_unknown_reform_and_bad_parameter_are_reported(base):
    from sim import ScenarioError

    with pytest.raises(ScenarioError, match="unknown reform 'merge'"):
        apply_reform(base, "merge")
    with pytest.raises(ScenarioError, match="no department with id 'nope'"):
        apply_reform(base, "centralise", departments=["nope"])


def test_cli_lists_and_explains_reforms(capsys):
    from sim.cli import main

    assert main(["reforms"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(REFORMS) and out[0].startswith("centralise") and "三集中" in out[0]
    assert main(["reforms", "tolerance_acceptance"]) == 0
    text = capsys.readouterr().out
    assert "容缺受理" in text and "share_tolerated: default 0.8" in text
    assert main(["reforms", "nope"]) == 2
    assert "unknown reform 'nope'" in capsys.readouterr().err


def test_scenario_file_with_base_and_reforms(tmp_path):
    from sim import ScenarioError

    after = load_scenario("scenarios/county_after_reform.yaml")
    before = load_scenario("scenarios/county_before_reform.yaml")
    assert after.name.startswith("County after reform")
    assert {w.site for w in after.windows} == {"service_hall"}
    assert after.item("company_registration").kind == "immediate"
    assert after.run == before.run
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"base: {(tmp_path.parent / 'none.yaml').as_posix()}\nreforms: []\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match="base: .*file not found"):
        load_scenario(bad)
    bad.write_text(
        "base: " + str((__import__('pathlib').Path('scenarios/county_before_reform.yaml')).resolve())
        + "\nreforms:\n  - {reform: centralise, departments: [nope]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"reforms\[0\]\.departments\[0\]: no department with id 'nope'"):
        load_scenario(bad)
