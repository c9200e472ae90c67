"""Scenario files as a person writes them: every problem with file, line, column and field.

The positions asserted here are found in the test file's own text (the line
and column where the offending value or key starts), so a test fails if a
message points anywhere else.  Limits on hostile files (alias bombs, deep
nesting, chains of base files) and on absurd numbers are checked to give a
message quickly instead of a hang or a crash in the run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from sim import ScenarioError, load_scenario, simulate
from sim.cli import main
from sim.yaml_source import MAX_DEPTH

ROOT = Path(__file__).resolve().parent.parent
COUNTY = (ROOT / "scenarios" / "county_before_reform.yaml").read_text(encoding="utf-8")


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column where ``needle`` starts (its n-th occurrence)."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def problems(path: Path) -> tuple:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


# -- line and column -----------------------------------------------------------------------------
def test_unknown_department_points_at_the_value(tmp_path, capsys):
    text = COUNTY.replace("department: police", "department: polise", 1)
    f = write(tmp_path, text, "county.yaml")
    line, col = position(text, "polise")
    code, err = run_cli(capsys, "validate", str(f))
    assert code == 2
    assert f"{f}:{line}:{col}: items[2].department: no department with id 'polise' (did you mean 'police'?)" in err


def test_unknown_field_points_at_the_key_and_suggests_a_field_of_that_object(tmp_path):
    text = COUNTY.replace("    department: tax\n", "    department: tax\n    intake_minute: 5\n", 1)
    f = write(tmp_path, text)
    (p,) = problems(f)
    assert (p.line, p.column) == position(text, "intake_minute: 5")
    assert p.path.startswith("items[") and "unknown field 'intake_minute' (did you mean 'intake_minutes'?)" in p.message


def test_field_and_reference_problems_come_out_together_each_at_its_line(tmp_path):
    text = COUNTY.replace("department: police", "department: polise", 1)
    text = text.replace("arrivals: {per_day: 12,", "arrivals: {per_day: -12,", 1)
    f = write(tmp_path, text)
    got = {p.path: (p.line, p.column) for p in problems(f)}
    line, col = position(text, "per_day: -12")
    assert got == {
        "items[2].department": position(text, "polise"),
        "case_types[1].arrivals.per_day": (line, col + len("per_day: ")),
    }


def test_flow_written_as_a_list_is_reported_as_written(tmp_path):
    text = COUNTY.replace("      - item: seal_carving\n", "      - item: seal_carvin\n", 1)
    f = write(tmp_path, text)
    (p,) = problems(f)
    assert p.path == "case_types[0].flow[1].item"
    assert (p.line, p.column) == position(text, "seal_carvin\n")
    assert "did you mean 'seal_carving'" in p.message


def test_missing_field_points_at_the_object_it_belongs_to(tmp_path):
    text = COUNTY.replace("    department: hrss\n", "", 1)
    f = write(tmp_path, text)
    (p,) = problems(f)
    assert p.message == "required field is missing" and p.path.endswith(".department")
    assert (p.line, p.column) == position(text, "id: social_insurance")


def test_base_file_problems_name_the_base_file_and_its_line(tmp_path):
    text = COUNTY.replace("positions: 2", "positions: 0", 1)
    write(tmp_path, text, "base.yaml")
    f = write(tmp_path, "base: base.yaml\nname: after\nreforms:\n  - {reform: centralise}\n", "after.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    (p,) = info.value.problems
    line, col = position(text, "positions: 0")
    assert p.file == str(tmp_path / "base.yaml") and (p.line, p.column) == (line, col + len("positions: "))
    assert str(info.value).splitlines()[1].startswith(f"{tmp_path / 'base.yaml'}:{p.line}:{p.column}: windows[")


def test_reform_parameter_problem_points_into_the_reformed_file(tmp_path):
    write(tmp_path, COUNTY, "base.yaml")
    text = "base: base.yaml\nreforms:\n  - reform: centralise\n  - reform: tolerance_acceptance\n    share_toleratd: 0.8\n"
    f = write(tmp_path, text, "after.yaml")
    ps = problems(f)
    assert any(p.path == "reforms[1].share_toleratd" and (p.line, p.column) == position(text, "0.8") for p in ps), ps


# -- hostile files: a message within seconds -------------------------------------------------------
def _fast_refusal(capsys, f: Path, *words: str) -> str:
    t0 = time.perf_counter()
    code, err = run_cli(capsys, "validate", str(f))
    assert time.perf_counter() - t0 < 5
    assert code == 2 and "Traceback" not in err
    for w in words:
        assert w in err, err
    return err


def test_alias_bomb_is_refused_with_its_line(tmp_path, capsys):
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh"):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    f = write(tmp_path, "\n".join(rows) + "\n")
    assert f.stat().st_size < 8000
    err = _fast_refusal(capsys, f, "aliases")
    assert re.search(rf"{re.escape(str(f))}:\d+:\d+: ", err)


def test_nesting_deeper_than_the_limit_is_refused(tmp_path, capsys):
    f = write(tmp_path, "name: " + "[" * 400 + "]" * 400 + "\n")
    _fast_refusal(capsys, f, f"nested more than {MAX_DEPTH} levels", f"{f}:1:")


def test_deep_flow_is_refused_not_a_recursion_error(tmp_path, capsys):
    flow = "{item: deed_tax}"
    for _ in range(300):
        flow = "{parallel: [" + flow + "]}"
    text = COUNTY.replace("    flow: [{item: individual_business}]", "    flow: [" + flow + "]", 1)
    _fast_refusal(capsys, write(tmp_path, text), "nested more than")


def test_chain_of_base_files_is_cut_with_a_message(tmp_path, capsys):
    write(tmp_path, COUNTY, "b200.yaml")
    for i in range(200):
        write(tmp_path, f"base: b{i + 1}.yaml\n", f"b{i}.yaml")
    _fast_refusal(capsys, tmp_path / "b0.yaml", "more than 32 files in a chain of base")


def test_base_files_naming_each_other(tmp_path, capsys):
    write(tmp_path, "base: two.yaml\n", "one.yaml")
    write(tmp_path, "base: one.yaml\n", "two.yaml")
    _fast_refusal(capsys, tmp_path / "one.yaml", "files name each other as base")


def test_nul_in_base_path_and_binary_junk(tmp_path, capsys):
    _fast_refusal(capsys, write(tmp_path, 'base: "county\\0.yaml"\n'), "base: a file path cannot contain a NUL character")
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"name: x\n\xff\xfe\x00junk")
    _fast_refusal(capsys, junk, f"{junk}:2: (file): not UTF-8 text")
    _fast_refusal(capsys, write(tmp_path, "name: a\x07b\n", "ctrl.yaml"), "ctrl.yaml:1:8:", "U+0007")


@pytest.mark.parametrize(
    "old, new, path, words",
    [
        ("start_date: 2025-03-03", "start_date: 2025-02-29", "calendar.start_date", "day value is outside"),
        ("start_date: 2025-03-03", "start_date: 0000-01-01", "calendar.start_date", "year 0"),
        ("2025-05-01", "2025-13-01", "calendar.holidays[1]", "month value"),
        ("horizon_working_days: 60", "horizon_working_days: 1.0e12", "run.horizon_working_days", "less than or equal to 25000"),
        ("positions: 2", "positions: 1000000000000000000000000000000", "positions", "less than or equal to 100000"),
        ("day_to_day_cv: 0.3", "day_to_day_cv: 5.0e-324", "case_types[0].arrivals", "day_to_day_cv must be 0 (none) or at least 0.001"),
        ("hourly_profile: {8: 1.5,", 'hourly_profile: {"9:99": 1.5,', "hourly_profile", "not a clock hour"),
    ],
)
def test_impossible_values_are_named_by_field(tmp_path, old, new, path, words):
    assert old in COUNTY
    text = COUNTY.replace(old, new, 1)
    ps = problems(write(tmp_path, text))
    assert len(ps) == 1 and path in ps[0].path and words in ps[0].message, ps
    assert ps[0].line == position(text, new.split(": ", 1)[1] if path != "calendar.holidays[1]" else "2025-13-01")[0]


def test_calendar_without_a_working_day_in_its_first_year(tmp_path):
    saturdays = [f"2025-03-{d:02d}" for d in (8, 15, 22, 29)]
    text = (
        "name: t\ncalendar: {start_date: 2025-03-03, working_weekdays: [sat], office_hours: ['09:00-17:00'], holidays: ["
        + ", ".join(saturdays + [f"2025-{m:02d}-{d:02d}" for m in range(4, 13) for d in range(1, 32) if _is_sat(2025, m, d)]
                    + [f"2026-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in range(1, 32) if _is_sat(2026, m, d)])
        + "]}\nsites: [{id: s}]\ndepartments: [{id: d, site: s}]\nwindows: [{id: w, site: s, items: [i]}]\n"
        "items: [{id: i, department: d, kind: immediate, intake_minutes: 5}]\n"
        "case_types: [{id: c, arrivals: {per_day: 3}, flow: [{item: i}]}]\n"
    )
    (p,) = problems(write(tmp_path, text))
    assert p.path == "calendar" and "no working day in the year from start_date" in p.message


def _is_sat(y: int, m: int, d: int) -> bool:
    import datetime as dt

    try:
        return dt.date(y, m, d).weekday() == 5
    except ValueError:
        return False


def test_run_past_the_last_date_is_refused(tmp_path):
    text = COUNTY.replace("start_date: 2025-03-03", "start_date: 9998-01-05", 1)
    (p,) = problems(write(tmp_path, text))
    assert p.path == "run" and "past the year 9999" in p.message


# -- numbers that validate must run ----------------------------------------------------------------
def _tiny(**flow_extra) -> dict:
    return {
        "name": "t",
        "calendar": {"start_date": "2025-03-03"},
        "sites": [{"id": "s"}],
        "departments": [{"id": "d", "site": "s", "staff": {"c": 1}}],
        "windows": [{"id": "w", "site": "s", "items": ["i"]}],
        "items": [{"id": "i", "department": "d", "kind": "back_office", "intake_minutes": 5,
                   "steps": [{"role": "c", "minutes": 10}]}],
        "externals": [{"id": "e", "kind": "intermediary", "duration_working_days": 1e9}],
        "case_types": [{"id": "c", "arrivals": {"per_day": 5}, "flow": [{"item": "i"}, {"external": "e"}]}],
        "run": {"horizon_working_days": 5, "drain_working_days": 5, "replications": 1},
    }


def test_a_billion_day_step_leaves_cases_unfinished_quickly():
    from sim import Scenario

    s = Scenario.from_dict(_tiny())
    t0 = time.perf_counter()
    rep = simulate(s, seed=1)
    assert time.perf_counter() - t0 < 5
    assert len(rep.cases) > 0 and rep.cases["status"].eq("unfinished").all()


def test_tens_of_thousands_of_unused_sites_cost_nothing():
    from sim import Scenario

    d = _tiny()
    d["externals"] = []
    d["case_types"][0]["flow"] = [{"item": "i"}]
    d["sites"] += [{"id": f"x{k}"} for k in range(30_000)]
    t0 = time.perf_counter()
    rep = simulate(Scenario.from_dict(d), seed=1)
    assert time.perf_counter() - t0 < 10
    assert rep.cases["status"].eq("completed").mean() > 0.9


@pytest.mark.parametrize(
    "value, words",
    [
        ("!!bool 30", "'30' cannot be read as bool"),
        ("!!timestamp x", "'x' cannot be read as timestamp"),
        ("9" * 5000, "more digits than can be read"),
    ],
    ids=["bool-tag", "timestamp-tag", "5000-digits"],
)
def test_unreadable_values_are_named_by_field_and_position(tmp_path, capsys, value, words):
    text = COUNTY.replace("    materials: 6\n", f"    materials: {value}\n", 1)
    assert text != COUNTY
    f = write(tmp_path, text)
    err = _fast_refusal(capsys, f, words)
    line, col = position(text, f"materials: {value}")
    assert f"{f}:{line}:{col + len('materials: ')}: items[3].materials: " in err


def test_a_base_name_longer_than_the_file_system_allows(tmp_path, capsys):
    _fast_refusal(capsys, write(tmp_path, "base: " + "x" * 5000 + ".yaml\n"), "base: not a usable file path")


def test_a_large_file_reads_in_seconds(tmp_path):
    """30,000 sites written out: libyaml scans, so reading stays well under the fuzz limit."""
    text = COUNTY.replace("sites:\n", "sites:\n" + "".join(f"  - {{id: extra{k}, name: x}}\n" for k in range(30_000)), 1)
    f = write(tmp_path, text)
    t0 = time.perf_counter()
    s = load_scenario(f)
    assert len(s.sites) > 30_000 and time.perf_counter() - t0 < 8


def test_a_flow_expanded_by_aliases_beyond_the_block_limit(tmp_path, capsys):
    """Aliases can make a flow of a hundred thousand blocks from a few lines: refused by count, quickly."""
    blk = "[" + ", ".join(["{item: deed_tax}"] * 5) + "]"
    defs = [f"&a0 {blk}"] + [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 5) + "]" for i in range(1, 7)]
    text = COUNTY.replace("    flow: [{item: individual_business}]\n", "    flow: [" + ", ".join(defs) + "]\n", 1)
    err = _fast_refusal(capsys, write(tmp_path, text), "case_types[1].flow: the flow has", "at most 2,000 are allowed")
    assert f":{position(text, 'flow: [&a0')[0]}:" in err


def test_a_set_tag_on_a_plain_value(tmp_path, capsys):
    text = COUNTY.replace("    materials: 6\n", "    materials: !!set x\n", 1)
    _fast_refusal(capsys, write(tmp_path, text), "(file): a value cannot be read", "!!set")
