"""The bad-input contract of scenarios.

A bad scenario raises :class:`sim.ScenarioError`; its ``.problems`` are
``Problem(path, message)`` with field paths such as
``items[0].steps[1].minutes.mean``.  Each test breaks one thing in a small
valid scenario and pins the exact path and the key words of the message.

Tests marked ``xfail(strict=True)`` describe how a rule *should* behave but
does not yet (a missing check or an unclear message); they start failing
(XPASS) as soon as the gap is fixed, so the mark can then be removed.
"""

from __future__ import annotations

import copy
import math
import pickle
from pathlib import Path
from typing import Any, Callable

import pytest

import sim
from sim import Problem, Scenario, ScenarioError, load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))

# A small scenario that uses most features: office hours, two sites with a
# route, two departments, a back-office item with a sign-off chain, two
# immediate items, a meeting, a fixed period, a flow with a sequence, a
# parallel block and a choice, and channels.
BASE: dict[str, Any] = {
    "name": "tiny",
    "calendar": {
        "office_hours": ["09:00-12:00", "13:00-17:00"],
        "working_weekdays": ["mon", "tue", "wed", "thu", "fri"],
    },
    "sites": [{"id": "hall"}, {"id": "annex"}],
    "travel": {"default_minutes": 10, "routes": [{"between": ["hall", "annex"], "minutes": 5}]},
    "departments": [
        {"id": "market", "site": "hall", "staff": {"clerk": 2, "chief": 1}},
        {"id": "tax", "site": "annex", "staff": {"clerk": 1}},
    ],
    "windows": [
        {"id": "w_market", "site": "hall", "positions": 2, "items": ["licence", "seal"]},
        {"id": "w_tax", "site": "annex", "items": ["invoice"]},
    ],
    "items": [
        {
            "id": "licence",
            "department": "market",
            "kind": "back_office",
            "intake_minutes": {"dist": "exponential", "mean": 10},
            "statutory_limit_days": 10,
            "promised_limit_days": 3,
            "incomplete_probability": 0.1,
            "steps": [
                {"role": "clerk", "minutes": {"dist": "lognormal", "mean": 20, "cv": 0.5}},
                {"role": "chief", "minutes": {"dist": "triangular", "low": 5, "mode": 10, "high": 20}},
            ],
        },
        {"id": "seal", "department": "market", "kind": "immediate", "intake_minutes": 8},
        {
            "id": "invoice",
            "department": "tax",
            "kind": "immediate",
            "intake_minutes": {"dist": "uniform", "low": 5, "high": 15},
        },
    ],
    "externals": [
        {"kind": "meeting", "id": "board", "every_working_days": 2, "at": "10:00"},
        {"kind": "fixed_period", "id": "notice", "duration_working_days": 1},
    ],
    "case_types": [
        {
            "id": "opening",
            "arrivals": {"per_day": 4},
            "channels": {"counter": 0.8, "online": 0.2},
            "flow": [
                {"item": "licence"},
                {"parallel": [{"item": "seal"}, {"item": "invoice"}]},
                {
                    "choice": [
                        {"probability": 0.3, "flow": {"external": "board"}},
                        {"probability": 0.7, "flow": []},
                    ]
                },
                {"external": "notice"},
            ],
        }
    ],
    "run": {"horizon_working_days": 3, "warmup_working_days": 1, "replications": 2, "seed": 7},
}

FLOW = "case_types[0].flow"


# -- helpers -------------------------------------------------------------------
def base() -> dict:
    return copy.deepcopy(BASE)


def _walk(d: Any, path: tuple) -> tuple[Any, Any]:
    cur = d
    for p in path[:-1]:
        cur = cur[p]
    return cur, path[-1]


def setting(*path_and_value: Any) -> Callable[[dict], None]:
    """A change that sets ``d[p0][p1]...[pn] = value``."""
    *path, value = path_and_value

    def change(d: dict) -> None:
        parent, key = _walk(d, tuple(path))
        parent[key] = copy.deepcopy(value)

    return change


def deleting(*path: Any) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        parent, key = _walk(d, tuple(path))
        del parent[key]

    return change


def problems_of(*changes: Callable[[dict], None]) -> tuple[Problem, ...]:
    """Apply changes to a copy of BASE and return the problems it is refused with."""
    d = base()
    for change in changes:
        change(d)
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(d)
    probs = info.value.problems
    assert probs, "a ScenarioError must carry at least one problem"
    assert all(isinstance(p, Problem) for p in probs)
    return probs


def only_problem(*changes: Callable[[dict], None]) -> Problem:
    """The single problem one broken thing causes (no follow-on noise)."""
    probs = problems_of(*changes)
    assert len(probs) == 1, f"expected exactly one problem, got {probs}"
    return probs[0]


def check(problem: Problem, path: str, *words: str) -> None:
    assert problem.path == path, f"path {problem.path!r} != {path!r} ({problem.message})"
    for w in words:
        assert w in problem.message, f"{w!r} not in message {problem.message!r}"


def accepts(*changes: Callable[[dict], None]) -> Scenario:
    d = base()
    for change in changes:
        change(d)
    return Scenario.from_dict(d)


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- the base is valid ----------------------------------------------------------
def test_base_scenario_is_valid():
    s = Scenario.from_dict(base())
    assert s.name == "tiny"
    assert [i.id for i in s.items] == ["licence", "seal", "invoice"]


def test_error_text_names_source_path_and_message():
    d = base()
    d["items"][0]["department"] = "markt"
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(d, source="my.yaml")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.source == "my.yaml"
    assert str(err).splitlines() == [
        "my.yaml: 1 problem",
        "my.yaml: items[0].department: no department with id 'markt' (did you mean 'market'?)",
    ]
    assert str(err.problems[0]) == "items[0].department: no department with id 'markt' (did you mean 'market'?)"
    assert err.with_source("other.yaml").source == "other.yaml"
    again = pickle.loads(pickle.dumps(err))
    assert again.problems == err.problems and again.source == "my.yaml"


# -- file level -------------------------------------------------------------------
def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    p = write(tmp_path, "name: x\ndescription: a: b\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    err = info.value
    assert err.source == str(p)
    (prob,) = err.problems
    check(prob, "(file)", "YAML syntax", "mapping values are not allowed")
    assert (prob.line, prob.column) == (2, 15)
    assert f"{p}:2:15: (file): YAML syntax" in str(err)


def test_yaml_unclosed_bracket_is_a_syntax_error(tmp_path):
    p = write(tmp_path, "name: x\nsites:\n  - id: a\n  - [b\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(file)", "YAML syntax", "expected ',' or ']'")
    assert (prob.line, prob.column) == (5, 1)


def test_yaml_duplicate_top_level_key(tmp_path):
    p = write(tmp_path, "name: x\nsites:\n  - id: a\nname: y\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(file)", "duplicate key 'name'")
    assert (prob.line, prob.column) == (4, 1)
    assert info.value.source == str(p)


def test_yaml_duplicate_nested_key(tmp_path):
    p = write(tmp_path, "name: x\nsites:\n  - {id: a, id: b}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(file)", "duplicate key 'id'")
    assert (prob.line, prob.column) == (3, 13)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file(tmp_path, text):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(top level)", "empty")
    assert info.value.source == str(p)


def test_file_not_found(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(file)", "file not found")
    assert info.value.source == str(p)
    assert str(info.value).splitlines()[-1] == f"{p}: (file): file not found"


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    (prob,) = info.value.problems
    check(prob, "(file)", "directory")


@pytest.mark.parametrize(
    "text, kind", [("- a\n- b\n", "list"), ("just text\n", "str"), ("42\n", "int")], ids=["list", "string", "number"]
)
def test_top_level_not_a_mapping_in_file(tmp_path, text, kind):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    (prob,) = info.value.problems
    check(prob, "(top level)", "expected a mapping", f"got {kind}")


@pytest.mark.parametrize("data", [[1, 2], "name: x", None, 3.5])
def test_top_level_not_a_mapping_from_dict(data):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    (prob,) = info.value.problems
    check(prob, "(top level)", "expected a mapping of scenario fields", type(data).__name__)


# -- unknown keys -------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, path, name, suggestion",
    [
        (setting("nmae", "x"), "(top level)", "nmae", "name"),
        (setting("items", 0, "intake_minute", 3), "items[0]", "intake_minute", "intake_minutes"),
        (setting("items", 0, "steps", 1, "minuts", 3), "items[0].steps[1]", "minuts", "minutes"),
        (setting("items", 0, "steps", 0, "minutes", "mea", 3), "items[0].steps[0].minutes", "mea", "mean"),
        (setting("externals", 0, "every_working_day", 2), "externals[0]", "every_working_day", "every_working_days"),
        (setting("case_types", 0, "flow", 3, "afer", ["seal"]), f"{FLOW}[3]", "afer", "after"),
        (
            setting("case_types", 0, "flow", 2, "choice", 0, "probabilty", 0.3),
            f"{FLOW}[2].choice[0]",
            "probabilty",
            "probability",
        ),
        (setting("calendar", "office_hour", ["09:00-17:00"]), "calendar", "office_hour", "office_hours"),
    ],
    ids=["top", "item", "step", "distribution", "external", "flow-block", "choice-branch", "calendar"],
)
def test_unknown_field_with_suggestion(change, path, name, suggestion):
    check(only_problem(change), path, f"unknown field '{name}'", f"did you mean '{suggestion}'?")


@pytest.mark.parametrize("name, wrong", [("sites", "sites"), ("capacity_", "capacity")])
def test_unknown_field_suggests_only_fields_of_that_object(name, wrong):
    prob = only_problem(setting("items", 0, name, 1))
    check(prob, "items[0]", f"unknown field '{name}'")
    assert f"did you mean '{wrong}'" not in prob.message


def test_unknown_field_without_close_match_has_no_suggestion():
    prob = only_problem(setting("items", 0, "zzzqqq", 3))
    check(prob, "items[0]", "unknown field 'zzzqqq'")
    assert "did you mean" not in prob.message


# -- missing required fields ----------------------------------------------------------
@pytest.mark.parametrize(
    "change, path",
    [
        (deleting("name"), "name"),
        (deleting("sites"), "sites"),
        (deleting("items", 1, "department"), "items[1].department"),
        (deleting("items", 1, "kind"), "items[1].kind"),
        (deleting("items", 1, "intake_minutes"), "items[1].intake_minutes"),
        (deleting("items", 0, "steps", 1, "role"), "items[0].steps[1].role"),
        (deleting("items", 0, "steps", 0, "minutes", "mean"), "items[0].steps[0].minutes.mean"),
        (deleting("departments", 0, "site"), "departments[0].site"),
        (deleting("case_types", 0, "flow"), "case_types[0].flow"),
        (deleting("externals", 0, "every_working_days"), "externals[0].every_working_days"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_missing_required_field(change, path):
    check(only_problem(change), path, "required field is missing")


# -- wrong types ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, path, words",
    [
        (
            setting("items", 0, "steps", 1, "minutes", "mode", "ten"),
            "items[0].steps[1].minutes.mode",
            ("must be a valid number", "(got 'ten')"),
        ),
        (setting("run", "replications", "many"), "run.replications", ("must be a valid integer", "(got 'many')")),
        (setting("travel", "default_minutes", "ten"), "travel.default_minutes", ("must be a valid number", "'ten'")),
        (
            setting("items", 0, "incomplete_probability", "often"),
            "items[0].incomplete_probability",
            ("must be a valid number", "'often'"),
        ),
        (setting("items", 1, "intake_minutes", "eight"), "items[1].intake_minutes", ("expected a number",)),
        (setting("name", 5), "name", ("must be a valid string", "(got 5)")),
        (setting("items", "licence"), "items", ("must be a valid tuple",)),
        (
            setting("calendar", "start_date", "2025-13-01"),
            "calendar.start_date",
            ("must be a valid date", "'2025-13-01'"),
        ),
    ],
    ids=["dist-param", "int", "plain-number", "probability", "distribution", "string", "list", "date"],
)
def test_wrong_type(change, path, words):
    check(only_problem(change), path, *words)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_non_finite_numbers(bad):
    check(only_problem(setting("items", 0, "intake_minutes", "mean", bad)), "items[0].intake_minutes.mean")
    check(only_problem(setting("items", 1, "intake_minutes", bad)), "items[1].intake_minutes")


@pytest.mark.parametrize(
    "change, path",
    [
        (setting("travel", "default_minutes", True), "travel.default_minutes"),
        (setting("items", 0, "incomplete_probability", True), "items[0].incomplete_probability"),
        (setting("run", "replications", True), "run.replications"),
        (setting("case_types", 0, "arrivals", "per_day", True), "case_types[0].arrivals.per_day"),
    ],
    ids=["minutes", "probability", "count", "rate"],
)
def test_boolean_is_not_a_number(change, path):
    check(only_problem(change), path, "number")


def test_boolean_is_not_a_distribution():
    check(only_problem(setting("items", 1, "intake_minutes", True)), "items[1].intake_minutes", "expected a number")


# -- negative durations -----------------------------------------------------------------
@pytest.mark.parametrize(
    "change, path, words",
    [
        (setting("items", 1, "intake_minutes", -3), "items[1].intake_minutes", ("greater than or equal to 0", "(got -3)")),
        (
            setting("items", 0, "steps", 0, "minutes", "mean", -20),
            "items[0].steps[0].minutes.mean",
            ("greater than 0", "(got -20)"),
        ),
        (setting("items", 0, "intake_minutes", "mean", -1), "items[0].intake_minutes.mean", ("greater than 0",)),
        (
            setting("items", 0, "steps", 1, "minutes", "low", -5),
            "items[0].steps[1].minutes.low",
            ("greater than or equal to 0", "(got -5)"),
        ),
        (
            setting("items", 2, "intake_minutes", "low", -1),
            "items[2].intake_minutes.low",
            ("greater than or equal to 0",),
        ),
        (
            setting("items", 0, "handoff", {"to_back_office_minutes": -5}),
            "items[0].handoff.to_back_office_minutes",
            ("greater than or equal to 0",),
        ),
        (setting("travel", "default_minutes", -1), "travel.default_minutes", ("greater than or equal to 0",)),
        (
            setting("travel", "routes", 0, "minutes", -2),
            "travel.routes[0].minutes",
            ("greater than or equal to 0",),
        ),
        (
            setting("externals", 1, "duration_working_days", -1),
            "externals[1].duration_working_days",
            ("greater than or equal to 0",),
        ),
        (
            setting("items", 0, "statutory_limit_days", -1),
            "items[0].statutory_limit_days",
            ("greater than or equal to 0",),
        ),
    ],
    ids=[
        "plain-number",
        "lognormal-mean",
        "exponential-mean",
        "triangular-low",
        "uniform-low",
        "handoff",
        "travel",
        "route",
        "external",
        "limit",
    ],
)
def test_negative_duration(change, path, words):
    check(only_problem(change), path, *words)


# -- probabilities ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, words", [(1.5, ("less than or equal to 1", "(got 1.5)")), (-0.1, ("greater than or equal to 0", "(got -0.1)"))]
)
def test_incomplete_probability_outside_0_1(value, words):
    check(only_problem(setting("items", 0, "incomplete_probability", value)), "items[0].incomplete_probability", *words)


def test_choice_branch_probability_above_1():
    # one branch > 1 is reported at the branch; the sum is then not checked again
    prob = only_problem(setting("case_types", 0, "flow", 2, "choice", 0, "probability", 1.3))
    check(prob, f"{FLOW}[2].choice[0].probability", "less than or equal to 1", "(got 1.3)")


def test_choice_branch_probability_negative():
    probs = problems_of(setting("case_types", 0, "flow", 2, "choice", 0, "probability", -0.3))
    check(probs[0], f"{FLOW}[2].choice[0].probability", "greater than or equal to 0", "(got -0.3)")


def test_channels_outside_0_1():
    probs = problems_of(setting("case_types", 0, "channels", {"counter": 1.2, "online": -0.2}))
    assert len(probs) == 2
    check(probs[0], "case_types[0].channels.counter", "less than or equal to 1", "(got 1.2)")
    check(probs[1], "case_types[0].channels.online", "greater than or equal to 0", "(got -0.2)")


def test_abandon_probability_element_outside_0_1():
    prob = only_problem(setting("applicants", {"abandon_probability": [0.1, 1.5]}))
    check(prob, "applicants.abandon_probability[1]", "less than or equal to 1", "(got 1.5)")


def test_choice_probabilities_must_sum_to_1():
    prob = only_problem(setting("case_types", 0, "flow", 2, "choice", 0, "probability", 0.5))
    check(prob, f"{FLOW}[2].choice", "branch probabilities must sum to 1", "1.2")


def test_channels_must_sum_to_1():
    prob = only_problem(setting("case_types", 0, "channels", {"counter": 0.5, "online": 0.2}))
    check(prob, "case_types[0].channels", "counter + online must be 1", "0.7")


# -- distributions --------------------------------------------------------------------------
def test_unknown_distribution_name():
    prob = only_problem(setting("items", 0, "intake_minutes", {"dist": "weibull", "mean": 3}))
    check(prob, "items[0].intake_minutes", "'dist' one of", "exponential", "triangular", "lognormal")


def test_distribution_mapping_without_dist():
    prob = only_problem(setting("items", 0, "intake_minutes", {"mean": 3}))
    check(prob, "items[0].intake_minutes", "'dist' one of")


def test_triangular_low_above_mode():
    bad = {"dist": "triangular", "low": 15, "mode": 10, "high": 20}
    prob = only_problem(setting("items", 0, "steps", 1, "minutes", bad))
    check(prob, "items[0].steps[1].minutes", "low <= mode <= high", "low=15", "mode=10")


def test_triangular_mode_above_high():
    bad = {"dist": "triangular", "low": 1, "mode": 30, "high": 20}
    check(only_problem(setting("items", 0, "steps", 1, "minutes", bad)), "items[0].steps[1].minutes", "low <= mode <= high")


def test_uniform_high_below_low():
    prob = only_problem(setting("items", 2, "intake_minutes", {"dist": "uniform", "low": 5, "high": 1}))
    check(prob, "items[2].intake_minutes", "high (1.0) must be >= low (5.0)")


def test_empirical_weights_length():
    bad = {"dist": "empirical", "values": [1, 2], "weights": [1]}
    check(only_problem(setting("items", 1, "intake_minutes", bad)), "items[1].intake_minutes", "weights has 1", "values has 2")


# -- references ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, path, words",
    [
        (
            setting("windows", 0, "items", ["licence", "seal", "lisence"]),
            "windows[0].items[2]",
            ("no item with id 'lisence'", "did you mean 'licence'?"),
        ),
        (
            setting("items", 0, "department", "markt"),
            "items[0].department",
            ("no department with id 'markt'", "did you mean 'market'?"),
        ),
        (
            setting("items", 0, "steps", 1, "role", "boss"),
            "items[0].steps[1].role",
            ("department 'market' has no staff in role 'boss'", "clerk, chief"),
        ),
        (
            setting("items", 0, "steps", 1, "department", "taxx"),
            "items[0].steps[1].department",
            ("no department with id 'taxx'", "did you mean 'tax'?"),
        ),
        (
            # the role is looked up in the step's own department
            setting("items", 0, "steps", 1, {"role": "chief", "department": "tax", "minutes": 3}),
            "items[0].steps[1].role",
            ("department 'tax' has no staff in role 'chief'", "its roles: clerk"),
        ),
        (
            setting("departments", 1, "site", "anex"),
            "departments[1].site",
            ("no site with id 'anex'", "did you mean 'annex'?"),
        ),
        (setting("windows", 1, "site", "nowhere"), "windows[1].site", ("no site with id 'nowhere'",)),
        (
            setting("travel", "routes", 0, "between", ["hall", "moon"]),
            "travel.routes[0].between[1]",
            ("no site with id 'moon'",),
        ),
        (
            setting("travel", "routes", 0, "between", ["hall", "hall"]),
            "travel.routes[0].between",
            ("two different sites",),
        ),
        (
            setting("case_types", 0, "flow", 0, {"item": "license"}),
            f"{FLOW}[0].item",
            ("no item with id 'license'", "did you mean 'licence'?"),
        ),
        (
            setting("case_types", 0, "flow", 1, "parallel", 1, {"item": "invoce"}),
            f"{FLOW}[1].parallel[1].item",
            ("no item with id 'invoce'", "did you mean 'invoice'?"),
        ),
        (
            setting("case_types", 0, "flow", 1, {"items": ["seal", "licnce"]}),
            f"{FLOW}[1].items[1]",
            ("no item with id 'licnce'",),
        ),
        (
            setting("case_types", 0, "flow", 3, {"external": "notise"}),
            f"{FLOW}[3].external",
            ("no external with id 'notise'", "did you mean 'notice'?"),
        ),
        (
            setting("case_types", 0, "flow", 2, "choice", 0, "flow", {"external": "bored"}),
            f"{FLOW}[2].choice[0].flow.external",
            ("no external with id 'bored'", "did you mean 'board'?"),
        ),
        (
            setting("case_types", 0, "flow", 3, {"external": "notice", "after": ["sael"]}),
            f"{FLOW}[3].after[0]",
            ("no flow block with id 'sael'", "did you mean 'seal'?"),
        ),
    ],
    ids=[
        "windows.items",
        "items.department",
        "steps.role",
        "steps.department",
        "steps.role-in-step-department",
        "departments.site",
        "windows.site",
        "travel.routes",
        "travel.routes-same-site",
        "flow-item",
        "flow-item-nested",
        "flow-joint-items",
        "flow-external",
        "flow-external-in-choice",
        "flow-after",
    ],
)
def test_undefined_reference(change, path, words):
    check(only_problem(change), path, *words)


def test_after_may_name_a_block_in_a_choice_branch():
    accepts(setting("case_types", 0, "flow", 3, {"external": "notice", "after": ["board"]}))


# -- duplicate ids -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, path, words",
    [
        (lambda d: d["sites"].append({"id": "hall"}), "sites[2].id", ("duplicate site id 'hall'",)),
        (
            lambda d: d["departments"].append({"id": "tax", "site": "hall", "staff": {"clerk": 1}}),
            "departments[2].id",
            ("duplicate department id 'tax'",),
        ),
        (setting("windows", 1, "id", "w_market"), "windows[1].id", ("duplicate window id 'w_market'",)),
        (lambda d: d["items"].append(copy.deepcopy(d["items"][1])), "items[3].id", ("duplicate item id 'seal'",)),
        (
            lambda d: d["externals"].append({"kind": "fixed_period", "id": "board", "duration_calendar_days": 2}),
            "externals[2].id",
            ("duplicate external id 'board'",),
        ),
        (
            lambda d: d["case_types"].append(copy.deepcopy(d["case_types"][0])),
            "case_types[1].id",
            ("duplicate case type id 'opening'",),
        ),
        (setting("items", 0, "steps", 1, "role", "clerk"), "items[0].steps[1]", ("two steps share the name 'clerk'", "'id'")),
        (
            lambda d: d["case_types"][0]["flow"].append({"item": "seal"}),
            f"{FLOW}[4]",
            ("two blocks share the id 'seal'",),
        ),
    ],
    ids=["site", "department", "window", "item", "external", "case-type", "step", "flow-block"],
)
def test_duplicate_id(change, path, words):
    check(only_problem(change), path, *words)


def test_two_steps_with_the_same_role_are_fine_with_ids():
    def change(d):
        d["items"][0]["steps"][1] = {"id": "second_look", "role": "clerk", "minutes": 5}

    accepts(change)


def test_same_item_listed_twice_in_a_window():
    check(only_problem(setting("windows", 0, "items", ["licence", "seal", "seal"])), "windows[0].items", "'seal' is listed twice")


def test_same_item_twice_in_one_joint_application():
    prob = only_problem(setting("case_types", 0, "flow", 1, {"items": ["seal", "seal"]}))
    check(prob, f"{FLOW}[1].items", "listed twice")


# -- precedence cycles ---------------------------------------------------------------------------
def test_cycle_between_siblings():
    flow = [{"item": "seal", "after": ["invoice"]}, {"item": "invoice", "after": ["seal"]}]
    prob = only_problem(setting("case_types", 0, "flow", 1, "parallel", flow))
    check(prob, FLOW, "precedence cycle", "seal -> invoice -> seal")


def test_after_pointing_to_a_later_block_in_the_same_sequence():
    prob = only_problem(setting("case_types", 0, "flow", 0, {"item": "licence", "after": ["notice"]}))
    check(prob, FLOW, "precedence cycle", "notice", "licence")


def test_block_waiting_for_itself():
    prob = only_problem(setting("case_types", 0, "flow", 3, {"external": "notice", "after": ["notice"]}))
    check(prob, FLOW, "precedence cycle", "notice -> notice")


def _waits_for_own_child(d):
    d["case_types"][0]["flow"][1] = {
        "id": "both",
        "parallel": [{"item": "seal"}, {"item": "invoice"}],
        "after": ["seal"],
    }


def test_block_waiting_for_its_own_descendant():
    check(only_problem(_waits_for_own_child), FLOW, "precedence cycle", "seal")


def test_block_waiting_for_its_own_descendant_names_the_waiting_block():
    check(only_problem(_waits_for_own_child), FLOW, "precedence cycle", "both")


# -- coverage: windows --------------------------------------------------------------------------
def test_item_no_window_accepts():
    def change(d):
        d["items"].append({"id": "extra", "department": "tax", "kind": "immediate", "intake_minutes": 3})

    check(only_problem(change), "items[3]", "no window accepts item 'extra'")


def test_joint_application_no_single_window_accepts():
    prob = only_problem(setting("case_types", 0, "flow", 1, {"items": ["seal", "invoice"]}))
    check(prob, f"{FLOW}[1].items", "no window accepts all of seal, invoice in one application")


def test_joint_application_one_window_accepts():
    s = accepts(setting("case_types", 0, "flow", 1, {"items": ["seal", "licence"]}))
    assert [w.id for w in s.windows_for(["seal", "licence"])] == ["w_market"]


def test_flow_block_needs_item_or_items_not_both():
    prob = only_problem(setting("case_types", 0, "flow", 0, {"item": "licence", "items": ["seal"]}))
    check(prob, f"{FLOW}[0]", "exactly one of 'item' or 'items'")


def test_flow_block_of_unknown_shape():
    prob = only_problem(setting("case_types", 0, "flow", 3, {"extern": "notice"}))
    check(prob, f"{FLOW}[3]", "expected a flow block")


# -- arrivals ------------------------------------------------------------------------------------
def test_arrivals_per_day_and_per_hour():
    prob = only_problem(setting("case_types", 0, "arrivals", {"per_day": 4, "per_hour": 1}))
    check(prob, "case_types[0].arrivals", "exactly one of per_day, per_hour or interarrival_minutes", "got per_day, per_hour")


def test_arrivals_without_any_rate():
    check(only_problem(setting("case_types", 0, "arrivals", {})), "case_types[0].arrivals", "exactly one of per_day")


def test_arrivals_zero_rate():
    prob = only_problem(setting("case_types", 0, "arrivals", "per_day", 0))
    check(prob, "case_types[0].arrivals.per_day", "greater than 0")


def test_arrivals_hour_out_of_range():
    prob = only_problem(setting("case_types", 0, "arrivals", "hourly_profile", {"25": 1}))
    check(prob, "case_types[0].arrivals.hourly_profile", "hour '25' is not a clock hour")


def test_arrivals_profile_zero_in_all_office_hours():
    profile = {h: 0 for h in range(9, 17)} | {20: 1}
    prob = only_problem(setting("case_types", 0, "arrivals", "hourly_profile", profile))
    check(prob, "case_types[0].arrivals.hourly_profile", "all office hours have weight 0")


# -- items ---------------------------------------------------------------------------------------
def test_immediate_item_with_steps():
    prob = only_problem(setting("items", 1, "steps", [{"role": "clerk", "minutes": 3}]))
    check(prob, "items[1]", "immediate item", "no back-office steps")


@pytest.mark.parametrize("change", [deleting("items", 0, "steps"), setting("items", 0, "steps", [])], ids=["missing", "empty"])
def test_back_office_item_without_steps(change):
    check(only_problem(change), "items[0]", "back_office item needs at least one step")


def test_promised_limit_above_statutory_limit():
    prob = only_problem(setting("items", 0, "promised_limit_days", 12))
    check(prob, "items[0]", "promised_limit_days (12) exceeds statutory_limit_days (10)")


def test_promised_limit_equal_to_statutory_limit_is_fine():
    accepts(setting("items", 0, "promised_limit_days", 10))


# -- externals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("at", ["12:30", "07:00", "17:00", "23:59"], ids=["lunch", "early", "at-closing", "night"])
def test_meeting_time_outside_office_hours(at):
    prob = only_problem(setting("externals", 0, "at", at))
    check(prob, "externals[0].at", f"meeting time {at} is outside office hours")


@pytest.mark.parametrize("at", ["09:00", "13:00", "16:59"])
def test_meeting_time_inside_office_hours(at):
    accepts(setting("externals", 0, "at", at))


def test_meeting_time_not_a_clock_time():
    check(only_problem(setting("externals", 0, "at", "10h")), "externals[0].at", "expected a time as HH:MM", "'10h'")


def test_external_unknown_kind():
    check(only_problem(setting("externals", 0, "kind", "meting")), "externals[0]", "'kind' must be one of", "meeting")


def test_external_both_durations():
    def change(d):
        d["externals"][1]["duration_calendar_days"] = 3

    check(only_problem(change), "externals[1]", "not both")


def test_external_without_duration():
    check(only_problem(deleting("externals", 1, "duration_working_days")), "externals[1]", "needs duration_working_days")


# -- calendar --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "hours, words",
    [
        (["9-12"], ("expected a time as HH:MM", "'9'")),
        (["09:00 to 12:00"], ("expected 'HH:MM-HH:MM'", "'09:00 to 12:00'")),
        (["09:00-12:00-13:00"], ("expected 'HH:MM-HH:MM'",)),
        (["09:00-25:00"], ("not a time of day", "'25:00'")),
        (["09:60-12:00"], ("not a time of day", "'09:60'")),
    ],
    ids=["no-minutes", "words", "three-times", "hour-25", "minute-60"],
)
def test_office_hours_bad_format(hours, words):
    check(only_problem(setting("calendar", "office_hours", hours)), "calendar.office_hours", *words)


@pytest.mark.parametrize("span", ["12:00-09:00", "09:00-09:00"], ids=["reversed", "zero-length"])
def test_office_hours_closing_not_after_opening(span):
    prob = only_problem(setting("calendar", "office_hours", [span]))
    check(prob, "calendar.office_hours", "closing time must be after opening time", repr(span))


def test_office_hours_overlapping_spans():
    prob = only_problem(setting("calendar", "office_hours", ["09:00-12:00", "11:00-17:00"]))
    check(prob, "calendar.office_hours", "office-hours spans overlap")


def test_office_hours_touching_spans_are_fine():
    accepts(setting("calendar", "office_hours", ["09:00-12:00", "12:00-17:00"]))


def test_office_hours_empty():
    check(only_problem(setting("calendar", "office_hours", [])), "calendar.office_hours", "at least one office-hours span")


def test_office_hours_not_a_list():
    prob = only_problem(setting("calendar", "office_hours", "09:00-17:00"))
    check(prob, "calendar.office_hours", "must be a valid tuple", "'09:00-17:00'")


@pytest.mark.parametrize("day", ["tues", "Mon", "monday"])
def test_unknown_weekday(day):
    prob = only_problem(setting("calendar", "working_weekdays", ["mon", day]))
    check(prob, "calendar.working_weekdays", f"unknown weekday {day!r}", "mon, tue, wed")


def test_no_working_weekday():
    prob = only_problem(setting("calendar", "working_weekdays", []))
    check(prob, "calendar.working_weekdays", "at least one working weekday")


@pytest.mark.parametrize(
    "extra",
    [
        {"office_hours": ["08:00-12:00"]},
        {"working_weekdays": ["mon", "tue"]},
        {"holidays": ["2025-05-01"]},
    ],
    ids=["office_hours", "weekdays", "holidays"],
)
def test_always_open_combined_with_office_calendar(extra):
    prob = only_problem(setting("calendar", {"always_open": True, **extra}))
    check(prob, "calendar", "always_open cannot be combined with office_hours")


def test_always_open_shorthand_is_fine():
    s = accepts(setting("calendar", "always_open"))
    assert s.calendar.always_open


@pytest.mark.parametrize(
    "extra",
    [
        {"office_hours": ["09:00-12:00", "13:30-17:30"]},
        {"working_weekdays": ["mon", "tue", "wed", "thu", "fri"]},
    ],
    ids=["default-office_hours", "default-weekdays"],
)
def test_always_open_combined_with_default_valued_fields(extra):
    prob = only_problem(setting("calendar", {"always_open": True, **extra}))
    check(prob, "calendar", "always_open cannot be combined")


# -- wording of pydantic's own messages ---------------------------------------------------------------
def test_empty_list_message_is_in_project_wording():
    prob = only_problem(setting("windows", 0, "items", []))
    check(prob, "windows[0].items", "at least 1")
    assert not prob.message.startswith("Tuple should")
    assert "after validation" not in prob.message


def test_bad_id_message_explains_the_rule_without_a_regex():
    prob = only_problem(setting("sites", 0, "id", "main hall"))
    check(prob, "sites[0].id", "'main hall'")
    assert "^[" not in prob.message
    assert "space" in prob.message


# -- several problems at once -------------------------------------------------------------------------
def test_several_field_problems_are_all_reported():
    probs = problems_of(
        setting("nmae", "x"),
        setting("items", 1, "intake_minutes", -3),
        setting("items", 0, "steps", 1, "minutes", "mode", "ten"),
        setting("case_types", 0, "channels", "counter", 1.5),
        deleting("departments", 0, "site"),
    )
    paths = {p.path for p in probs}
    assert paths == {
        "(top level)",
        "items[1].intake_minutes",
        "items[0].steps[1].minutes.mode",
        "case_types[0].channels.counter",
        "departments[0].site",
    }


def test_several_reference_problems_are_all_reported():
    probs = problems_of(
        setting("items", 0, "department", "markt"),
        setting("windows", 1, "site", "nowhere"),
        setting("externals", 0, "at", "12:30"),
        setting("case_types", 0, "flow", 3, {"external": "notise"}),
        setting("items", 0, "promised_limit_days", 3),
    )
    assert {p.path for p in probs} == {
        "items[0].department",
        "windows[1].site",
        "externals[0].at",
        f"{FLOW}[3].external",
    }


def test_several_problems_in_one_file_are_all_listed(tmp_path):
    text = """\
name: broken
sites: [{id: hall}]
departments: [{id: market, site: hall, staff: {clerk: 1}}]
windows: [{id: w, site: hall, items: [a]}]
items:
  - {id: a, department: market, kind: immediate, intake_minutes: -1, incomplete_probability: 2}
case_types:
  - {id: c, arrivals: {per_day: 1, per_hour: 2}, flow: [{item: a}], channels: {counter: 0.5}}
"""
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    err = info.value
    assert [x.path for x in err.problems] == [
        "items[0].intake_minutes",
        "items[0].incomplete_probability",
        "case_types[0].arrivals",
        "case_types[0].channels",
    ]
    lines = str(err).splitlines()
    assert lines[0] == f"{p}: 4 problems"
    assert [(x.line, x.column) for x in err.problems] == [(6, 66), (6, 94), (8, 23), (8, 79)]
    assert lines[1:] == [f"{p}:{x.line}:{x.column}: {x.path}: {x.message}" for x in err.problems]


def test_field_and_reference_problems_are_reported_together():
    probs = problems_of(setting("items", 1, "intake_minutes", -3), setting("items", 0, "department", "markt"))
    assert {p.path for p in probs} == {"items[1].intake_minutes", "items[0].department"}


# -- round trip ------------------------------------------------------------------------------------------
def test_base_round_trip():
    s = Scenario.from_dict(base())
    again = Scenario.from_dict(s.to_dict())
    assert again == s
    assert again.content_hash() == s.content_hash()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_round_trip(path):
    s = load_scenario(path)
    again = Scenario.from_dict(s.to_dict())
    assert again == s
    assert again.content_hash() == s.content_hash()


def test_shipped_scenarios_exist():
    assert any(p.name == "county_before_reform.yaml" for p in SCENARIOS)


def test_evolve_unknown_field():
    s = Scenario.from_dict(base())
    with pytest.raises(ScenarioError) as info:
        s.evolve(runs={"replications": 1})
    (prob,) = info.value.problems
    check(prob, "runs", "unknown scenario field")


def test_evolve_revalidates():
    s = Scenario.from_dict(base())
    with pytest.raises(ScenarioError) as info:
        s.evolve(run={"replications": 0})
    (prob,) = info.value.problems
    check(prob, "run.replications", "greater than or equal to 1")


def test_public_names():
    assert sim.ScenarioError is ScenarioError and sim.Problem is Problem
