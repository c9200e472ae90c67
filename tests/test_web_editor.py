"""The page's scenario editor: fields generated from the schema, edits applied back, problems beside their fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import ScenarioError, load_scenario
from sim.scenario import Scenario
from sim.web.editor import apply_edits, entries, problems_by_field, scenario_yaml, value_text
from sim.web.page import reformed, reformed_file

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county_before_reform.yaml"
YUMEN = ROOT / "scenarios" / "yumen_citizen_centre_before.yaml"


def _fields(s):
    return [f for e in entries(s) for f in e.fields]


def test_the_fields_come_from_the_schema_and_cover_staff_windows_arrivals_and_limits():
    s = load_scenario(COUNTY)
    keys = {f.key: f for f in _fields(s)}
    for i, w in enumerate(s.windows):
        assert keys[f"windows[{i}].positions"].value == w.positions and keys[f"windows[{i}].positions"].kind == "integer"
    for i, d in enumerate(s.departments):
        for role, n in d.staff.items():
            assert keys[f"departments[{i}].staff.{role}"].value == n
    for i, ct in enumerate(s.case_types):
        assert keys[f"case_types[{i}].arrivals.per_day"].value == ct.arrivals.per_day
    for i, it in enumerate(s.items):
        f = keys[f"items[{i}].statutory_limit_days"]
        assert f.value == it.statutory_limit_days and f.optional and f.kind == "number"
        assert keys[f"items[{i}].kind"].choices == ("immediate", "back_office")
        for j, _ in enumerate(it.steps):  # nested lists of models: each step's duration parameters
            assert any(k.startswith(f"items[{i}].steps[{j}].minutes.") for k in keys)
    assert keys["run.horizon_working_days"].value == s.run.horizon_working_days
    # structure is not offered: identifiers, names, flows, a distribution's tag
    assert not [k for k in keys if k.endswith((".id", ".name", ".dist")) or ".flow" in k]


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_field_typed_back_as_shown_leaves_the_scenario_unchanged(path):
    """The editor's path and spelling of each value address the field it came from."""
    s = load_scenario(path)
    fields = _fields(s)
    edits = {f.path: (f.value if f.kind in ("flag", "choice") else value_text(f.value)) for f in fields}
    assert apply_edits(s, edits).model_hash() == s.model_hash()
    again = Scenario.from_dict(yaml.safe_load(scenario_yaml(s)))
    assert again == s and again.model_hash() == s.model_hash()


def test_an_edit_changes_that_field_only():
    s = load_scenario(COUNTY)
    e = apply_edits(s, {("windows", 1, "positions"): "7", ("items", 0, "promised_limit_days"): ""})
    assert e.windows[1].positions == 7 and e.items[0].promised_limit_days is None
    d0, d1 = s.to_dict(), e.to_dict()
    d0["windows"][1]["positions"] = 7
    d0["items"][0].pop("promised_limit_days", None)
    assert d0 == d1


def test_a_negative_staff_count_is_a_problem_beside_its_field_in_the_command_lines_words():
    s = load_scenario(YUMEN)
    role = next(iter(s.departments[0].staff))
    with pytest.raises(ScenarioError) as info:
        apply_edits(s, {("departments", 0, "staff", role): "-2", ("items", 3, "intake_minutes", "mean"): "ten"},
                    source="yumen.yaml")
    text = str(info.value)
    assert "yumen.yaml" in text
    assert f"departments[0].staff.{role}: must be greater than or equal to 1 (got -2)" in text
    beside, rest = problems_by_field(info.value, _fields(s))
    assert beside[f"departments[0].staff.{role}"] == ["must be greater than or equal to 1 (got -2)"]
    assert "unable to parse string as a number" in beside["items[3].intake_minutes.mean"][0]
    assert rest == []
    # the base scenario is untouched: immutable data, nothing saved changes
    assert load_scenario(YUMEN) == s


def test_an_edited_file_and_a_reformed_file_naming_it_load_back_as_the_page_built_them(tmp_path):
    s = load_scenario(YUMEN)
    edited = apply_edits(s, {("windows", 0, "positions"): "9", ("case_types", 0, "arrivals", "per_day"): "60"})
    (tmp_path / "yumen_edited.yaml").write_text(scenario_yaml(edited), encoding="utf-8")
    plan = [("one_window", {})]
    (tmp_path / "reformed.yaml").write_text(reformed_file("yumen_edited.yaml", plan, "x"), encoding="utf-8")
    assert load_scenario(tmp_path / "yumen_edited.yaml").model_hash() == edited.model_hash()
    assert load_scenario(tmp_path / "reformed.yaml").model_hash() == reformed(edited, plan).model_hash()


_COUNTY = load_scenario(COUNTY)
_FIELDS = _fields(_COUNTY)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_FIELDS) - 1),
                          st.one_of(st.text(max_size=8), st.integers(-5, 10**6).map(str), st.floats().map(str),
                                    st.sampled_from(["", "-1", "1e400", "nan", "[1, 2]", "{a: 1}", "true", "0"]))),
                max_size=4))
def test_any_typed_text_gives_a_scenario_or_problems_naming_fields(changes):
    edits = {_FIELDS[i].path: text for i, text in changes}
    try:
        e = apply_edits(_COUNTY, edits)
    except ScenarioError as exc:
        assert exc.problems and all(p.path and p.message for p in exc.problems)
        return
    assert isinstance(e, Scenario)
