"""Large reformed scenario files: the same scenario as before, without validating it again per reform.

Fuzzing found a reformed file (``base:`` plus ``reforms:``) whose base has
20,000 departments taking about 20 s to load: every reform re-validated the
whole scenario (and a few checks scanned every entry for every entry).  Now
a reform validates what it changed and keeps the entries it left alone, and
the reference checks use look-ups.  These tests check that the result is
exactly what validating everything gives (same scenario, same hashes, same
messages with file, line, column and field) and that untouched entries are
kept rather than validated again.  Timing is left to
``benchmarks/bench_load_large.py`` (20,000 entries; ``--check`` fails if
doubling the entries more than triples the time).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from sim import Scenario, ScenarioError, load_scenario
from sim.loading import read_yaml, reform_plan
from sim.reforms import apply_reform
from sim.scenario import _plain

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county_before_reform.yaml"

# the shipped county_after_reform.yaml list, then reforms that touch every item or other collections
REFORMS = [
    {"reform": "centralise"},
    {"reform": "one_window", "windows": ["market_window", "tax_window"]},
    {"reform": "chief_representative", "items": ["company_registration", "seal_carving"]},
    {"reform": "tolerance_acceptance", "share_tolerated": 0.8},
    {"reform": "parallel_approval", "case_type": "enterprise_opening",
     "items": ["seal_carving", "bank_account", "invoice_application", "social_insurance"]},
    {"reform": "reduce_fees", "share": 0.5},
    {"reform": "reduce_time_limits", "share": 0.3},
    {"reform": "fully_online", "online_share": 0.4},
]
MORE_REFORMS = [
    {"reform": "cross_authorisation", "assign": {"hrss": "tax_window"}},
    {"reform": "decentralise", "items": ["individual_business"], "share": 0.5},
    {"reform": "reduce_steps", "share": 0.5},
    {"reform": "commitment_approval", "items": ["property_registration"]},
    {"reform": "electronic_certificates"},
    {"reform": "mail_delivery"},
    {"reform": "agency_service", "share": 0.2},
    {"reform": "one_thing_done_once", "case_type": "enterprise_opening",
     "items": ["seal_carving", "bank_account"], "window": "police_window"},
    {"reform": "electronic_circulation"},
    {"reform": "reduce_materials", "share": 0.3},
    {"reform": "chief_representative"},
]


def large_base(n: int) -> dict:
    """The county file with ``n`` more departments, ``n`` more items (one window takes them all) and ``n`` more windows."""
    d = read_yaml(COUNTY)
    d["departments"] += [{"id": f"dept_{i}", "name": f"部门 {i}", "site": "market_bureau", "staff": {"clerk": 1 + i % 3}}
                         for i in range(n)]
    d["departments"].append({"id": "extra", "site": "market_bureau", "staff": {"clerk": 2, "chief": 1}})
    d["items"] += [{"id": f"item_{i}", "department": "extra", "kind": "back_office", "intake_minutes": 10 + i % 7,
                    "steps": [{"role": "clerk", "minutes": {"dist": "triangular", "low": 5, "mode": 10, "high": 20}},
                              {"role": "chief", "minutes": 5}],
                    "statutory_limit_days": 20, "promised_limit_days": 5, "fee_yuan": i % 50, "materials": 1 + i % 9,
                    "incomplete_probability": 0.1}
                   for i in range(n)]
    d["windows"].append({"id": "extra_window", "site": "market_bureau", "items": [f"item_{i}" for i in range(n)]})
    d["windows"] += [{"id": f"window_{i}", "site": "police_bureau", "items": ["seal_carving"]} for i in range(n)]
    return d


def write_large(folder: Path, n: int, reforms=REFORMS, base: dict | None = None, **top) -> Path:
    """A base file with ``n`` more entries of each kind and a reformed file applying ``reforms``; returns the latter."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(
        yaml.safe_dump(large_base(n) if base is None else base, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    after = folder / "after.yaml"
    after.write_text(yaml.safe_dump({"base": "base.yaml", "name": "large, reformed", **top, "reforms": reforms},
                                    allow_unicode=True, sort_keys=False), encoding="utf-8")
    return after


def _validate_everything(self, data, unedited=None, kept=()):
    whole = self.to_dict()  # the fields a reform left alone, as plain data
    return Scenario.from_dict({k: whole[k] if k in kept else v for k, v in data.items()})


def _evolve_everything(self, **changes):
    data = self.model_dump(mode="python")
    data.update(changes)
    return Scenario.from_dict(_plain(data))


@pytest.fixture
def validating_everything(monkeypatch):
    """Load as before: each reform's result (and each evolve) validated in full from plain data."""

    def load(path):
        with monkeypatch.context() as m:
            m.setattr(Scenario, "revised", _validate_everything)
            m.setattr(Scenario, "evolve", _evolve_everything)
            return load_scenario(path)

    return load


def outcome(load, path):
    try:
        s = load(path)
    except ScenarioError as exc:
        return "error", str(exc)
    return s.content_hash(), s.model_hash(), s


# -- the same scenario ---------------------------------------------------------------------------
@pytest.mark.parametrize("reforms", [REFORMS, MORE_REFORMS], ids=["county_reforms", "more_reforms"])
def test_large_reformed_file_gives_the_scenario_of_validating_everything(tmp_path, validating_everything, reforms):
    after = write_large(tmp_path, 150, reforms, run={"replications": 3, "horizon_working_days": 30})
    fast, slow = outcome(load_scenario, after), outcome(validating_everything, after)
    assert fast[:2] == slow[:2]
    assert fast[2] == slow[2]
    assert len(fast[2].departments) > 150 and fast[0] != load_scenario(tmp_path / "base.yaml").content_hash()


def test_untouched_entries_are_kept_not_validated_again(tmp_path):
    scenario, plan = reform_plan(write_large(tmp_path, 100))
    steps = [scenario]
    for name, params in plan:
        steps.append(apply_reform(steps[-1], name, **params))
    # no reform touches the departments
    assert all(a is b for a, b in zip(steps[-1].departments, scenario.departments))
    # centralise moves every window (new objects); one_window then merges two of them into a new one
    centralised, pooled = steps[1], steps[2]
    assert not {id(w) for w in centralised.windows} & {id(w) for w in scenario.windows}
    kept = {id(w) for w in centralised.windows}
    assert sum(id(w) in kept for w in pooled.windows) == len(centralised.windows) - 2 == len(pooled.windows) - 1
    # reduce_fees changed every item with a fee: those were validated again, the others kept
    fees = next(i for i, (name, _) in enumerate(plan) if name == "reduce_fees")
    before, after = steps[fees], steps[fees + 1]
    assert all((a is b) == (a.fee_yuan == 0) for a, b in zip(after.items, before.items))
    assert after.items[-1].fee_yuan == before.items[-1].fee_yuan / 2


def test_revised_is_from_dict_for_any_edit():
    d = load_scenario(COUNTY).to_dict()
    d["items"][0].update(materials=1, fee_yuan=1.0)
    s = Scenario.from_dict(d)
    edits = {
        "unchanged": lambda d: None,
        "entry changed": lambda d: d["items"][2].update(fee_yuan=12.5),
        "entry added": lambda d: d["sites"].append({"id": "hall"}),
        "entries moved": lambda d: d["windows"].reverse(),
        "entry removed": lambda d: d["departments"].pop(),  # its items' department is now unknown
        "duplicate id": lambda d: d["windows"].append(dict(d["windows"][0])),
        "unknown field in an entry": lambda d: d["items"][0].update(fee=3),
        "invalid entry": lambda d: d["departments"][1].update(staff={"clerk": 0}),
        "top level replaced": lambda d: d.update(run={"replications": 2}),
        "top level invalid": lambda d: d.update(travel=[]),
        "unknown top-level field": lambda d: d.update(reform="x"),
        "collection not a list": lambda d: d.update(items={"a": 1}),
        "id not text": lambda d: d["sites"].insert(0, {"id": ["x"]}),
        "true for a number equal to 1": lambda d: d["items"][0].update(materials=True),
        "true for 1.0": lambda d: d["items"][0].update(fee_yuan=True),
        "1 for 1.0": lambda d: d["items"][0].update(fee_yuan=1),
        "keys reordered": lambda d: d["departments"][0].update(staff=dict(reversed(d["departments"][0]["staff"].items()))),
    }
    for what, edit in edits.items():
        d = s.to_dict()
        edit(d)
        try:
            expected = Scenario.from_dict(d)
        except ScenarioError as exc:
            with pytest.raises(ScenarioError) as info:
                s.revised(d)
            assert info.value.problems == exc.problems, what
        else:
            got = s.revised(d)
            assert got == expected and got.content_hash() == expected.content_hash(), what
            assert json.dumps(got.to_dict(), ensure_ascii=False) == json.dumps(expected.to_dict(), ensure_ascii=False), what


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["departments"][0].update(site="bank_branch"),
        lambda d: d.get("departments")[0].update(site="bank_branch"),
        lambda d: {**d}["departments"][0].update(site="bank_branch"),
        lambda d: dict(d)["departments"][0].update(site="bank_branch"),
        lambda d: next(v for k, v in d.items() if k == "departments")[0].update(site="bank_branch"),
        lambda d: [v for v in d.values() if isinstance(v, list) and v and "staff" in v[0]][0][0].update(site="bank_branch"),
        lambda d: d.copy()["departments"][0].update(site="bank_branch"),
        lambda d: (d | {})["departments"][0].update(site="bank_branch"),
        lambda d: d.setdefault("departments", [])[0].update(site="bank_branch"),
        lambda d: d.update(departments=[dict(d["departments"][0], site="bank_branch")] + d["departments"][1:]),
        lambda d: d.__setitem__("departments", [dict(x, site="bank_branch") for x in d.pop("departments")]),
    ],
)
def test_a_reform_reaching_a_field_by_any_route_has_its_change_seen(edit):
    from sim.reforms._common import data, revised

    s = load_scenario(COUNTY)
    d = data(s)
    edit(d)
    expected = Scenario.from_dict(dict(d.items()))
    got = revised(s, d)
    assert got == expected and got.departments[0].site == "bank_branch"
    assert got.departments[0] is not s.departments[0] and got.items[0] is s.items[0]


def test_a_reforms_data_shares_nothing_with_the_scenario():
    from sim.reforms._common import data

    s = load_scenario(COUNTY)
    before = s.to_dict()
    d = data(s)

    def scramble(x):
        if isinstance(x, dict):
            for k in list(x):
                x[k] = scramble(x[k])
            x["scrambled"] = True
        elif isinstance(x, list):
            x[:] = [scramble(v) for v in x] + ["scrambled"]
        return x

    for k in list(d):
        scramble(d[k])
    assert s.to_dict() == before


def test_evolve_keeps_other_fields_and_still_checks_references():
    s = load_scenario(COUNTY)
    t = s.evolve(run={"replications": 2}, name="shorter")
    assert all(a is b for a, b in zip(t.items, s.items)) and t.run.replications == 2 and t.name == "shorter"
    assert t == _evolve_everything(s, run={"replications": 2}, name="shorter")
    with pytest.raises(ScenarioError) as info:
        s.evolve(sites=[{"id": "hall"}])  # every department and window now names an unknown site
    assert {p.path for p in info.value.problems} >= {"departments[0].site", "windows[0].site"}


# -- the same messages ---------------------------------------------------------------------------
def _broken_base(n: int) -> dict:
    d = large_base(n)
    d["items"][-3]["department"] = "extre"
    return d


@pytest.mark.parametrize(
    "reforms, base, top, file, field",
    [
        (REFORMS, _broken_base, {}, "base.yaml", "items[-3].department"),  # a mistake in the base file
        (REFORMS[:1] + [{"reform": "one_window", "windows": ["market_window", "tax_window"], "id": "a b"}], None, {},
         "after.yaml", "reforms[1].windows[-1].id"),  # the reform's result is invalid
        (REFORMS[:2] + [{"reform": "reduce_fees", "items": ["item_1", "item_x"]}], None, {},
         "after.yaml", "reforms[2].items[1]"),
        (REFORMS, None, {"run": {"replications": 0}}, "after.yaml", "run.replications"),
        (REFORMS, None, {"departments": []}, "after.yaml", "departments"),
    ],
    ids=["base", "reform_result", "reform_parameter", "override", "override_list"],
)
def test_large_reformed_file_problems_are_the_same_with_line_and_column(tmp_path, validating_everything, reforms, base, top,
                                                                        file, field):
    n = 150
    after = write_large(tmp_path, n, reforms, base=base(n) if base else None, **top)
    fast, slow = outcome(load_scenario, after), outcome(validating_everything, after)
    assert fast[0] == "error" and fast == slow
    # entries counted from the end of the lists in ``field``: their index in the file
    sizes = {"items": len(large_base(n)["items"]), "windows": len(large_base(n)["windows"]) - 1}
    field = re.sub(r"(\w+)\[(-\d+)\]", lambda m: f"{m[1]}[{sizes[m[1]] + int(m[2])}]" if m[1] in sizes else m[0], field)
    line = f"{tmp_path / file}:"
    found = [x for x in fast[1].splitlines() if x.startswith(line) and f": {field}: " in x]
    assert found and re.match(r"^.+?:\d+:\d+: ", found[0]), fast[1][:2000]


def test_many_unknown_references_get_hints_within_a_budget():
    from sim.validation import SUGGESTION_BUDGET

    n = 3000
    d = large_base(n)
    for it in d["items"][-n:]:
        it["department"] = "extre"  # every extra item names an unknown department
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(d)
    unknown = [p for p in info.value.problems if p.path.endswith(".department")]
    assert len(unknown) == n
    hinted = [p for p in unknown if "(did you mean 'extra'?)" in p.message]
    known = len(d["departments"])
    assert unknown[0] in hinted and len(hinted) == SUGGESTION_BUDGET // known
    assert all(p.message == "no department with id 'extre'" for p in unknown[len(hinted):])
