"""Fuzzing the scenario files (issue 13): no input may crash or hang the command line.

Every mutant of a shipped scenario (see ``fuzz_mutations.py``) must either be
refused - exit status 2 with ``file: field.path: reason`` (or
``file:L:C: field.path: reason``) on stderr - or validate and then run (with
a short run, capped by ``RUN_CAPS``) with exit status 0 or 2.  Never an
exception escaping ``sim.cli.main``, never a traceback on stderr, never more
than ``TIME_LIMIT_S`` seconds for a command (a SIGALRM stops a hang).

Property tests draw mutants with Hypothesis (profile ``ci`` by default, see
``conftest.py``); the regression tests below are fixed hostile files, one per
kind the issue lists, each refused with exit 2 and a message naming the field.
The ``fuzz_long`` test runs thousands of mutants: ``pytest -m fuzz_long``.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, note, settings

import tests.fuzz_mutations as fm
from tests.fuzz_mutations import MESSAGE_LINE, Mutant, check_file, copy_shipped, outcome_failures, run_main

_counter = itertools.count()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    """A folder holding copies of the shipped scenarios, where mutants are written."""
    return copy_shipped(tmp_path_factory.mktemp("fuzz"))


def check_mutant(m: Mutant, folder: Path) -> None:
    stem = f"m{next(_counter):05d}"
    path = m.write(folder, stem)
    note(f"mutant file: {path}")
    fails, _ = check_file(path)
    assert not fails, f"{m!r}\nfile: {path}\n" + "\n".join(fails)
    for p in m.paths(folder, stem) + [path.with_name(stem + "__capped.yaml")]:  # keep only failing files
        p.unlink(missing_ok=True)


# -- properties -------------------------------------------------------------------------
@given(m=fm.data_mutants())
def test_parsed_data_mutants_fail_cleanly_or_run(m, fuzz_dir):
    check_mutant(m, fuzz_dir)


@given(m=fm.text_mutants())
def test_yaml_text_mutants_fail_cleanly_or_run(m, fuzz_dir):
    check_mutant(m, fuzz_dir)


@given(m=fm.kind_mutants())
def test_hostile_kinds_at_drawn_sizes_fail_cleanly_or_run(m, fuzz_dir):
    check_mutant(m, fuzz_dir)


@pytest.mark.fuzz_long
@settings(settings.get_profile("long"))
@given(m=fm.all_mutants)
def test_thousands_of_mutants(m, fuzz_dir):
    check_mutant(m, fuzz_dir)


# -- regression tests: one fixed hostile file per kind -----------------------------------------
def refused(m: Mutant, folder: Path, field: str, *words: str) -> str:
    """Validate ``m``: exit 2 within the time limit, a message line whose field path contains ``field``."""
    path = m.write(folder, f"r{next(_counter):05d}")
    res = run_main(["validate", str(path)])
    fails = outcome_failures(res, path)
    assert not fails, f"{m!r}\n" + "\n".join(fails)
    assert res.rc == 2, f"{m!r}: accepted, expected exit 2 naming {field}\n{res.out}"
    fields = [mm.group("field") for mm in MESSAGE_LINE.finditer(res.err)]
    assert any(field in f for f in fields), f"{m!r}: no message about {field!r}:\n{res.err}"
    for w in words:
        assert w.lower() in res.err.lower(), f"{m!r}: message lacks {w!r}:\n{res.err}"
    return res.err


@pytest.mark.parametrize(
    "mutant, field",
    [
        pytest.param(fm.wrong_reform_name(), "reforms[0].reform", id="reform-as-list"),
        pytest.param(fm.wrong_dist_name(), "items[0].intake_minutes", id="dist-as-list"),
        pytest.param(fm.set_field(("items", 0, "materials"), "eight"), "items[0].materials", id="string-for-int"),
        pytest.param(fm.set_field(("items", 0, "incomplete_probability"), "often"), "items[0].incomplete_probability",
                     id="word-for-float"),  # a quoted number ("0.3") is read as the number on purpose
        pytest.param(fm.set_field(("case_types", 0, "arrivals"), 6), "case_types[0].arrivals", id="number-for-mapping"),
        pytest.param(fm.set_field(("departments", 0, "staff"), 3), "departments[0].staff", id="number-for-staff"),
        pytest.param(fm.set_field(("sites",), {"id": "x"}), "sites", id="mapping-for-list"),
        pytest.param(fm.set_field(("items", 0, "name"), ["a", "b"]), "items[0].name", id="list-for-text"),
        pytest.param(fm.set_field(("windows", 0, "site"), {"market_bureau": 1}), "windows[0].site", id="mapping-for-id"),
    ],
)
def test_wrong_types_are_refused(mutant, field, fuzz_dir):
    refused(mutant, fuzz_dir, field)


def _deleted(path, name="county_before_reform.yaml") -> Mutant:
    return fm.apply_data_mutation(name, path, "delete")


@pytest.mark.parametrize(
    "mutant, field",
    [
        pytest.param(_deleted(("items", 0, "department")), "items[0].department", id="item-department"),
        pytest.param(_deleted(("case_types", 0, "flow")), "case_types[0].flow", id="flow"),
        pytest.param(_deleted(("sites",)), "sites", id="sites"),
        pytest.param(_deleted(("name",)), "name", id="name"),
        pytest.param(_deleted(("base",), "county_after_reform.yaml"), "sites", id="base-of-reformed-file"),
    ],
)
def test_deleted_required_keys_are_refused(mutant, field, fuzz_dir):
    refused(mutant, fuzz_dir, field)


@pytest.mark.parametrize(
    "name, path, key, field",
    [
        ("county_before_reform.yaml", ("items", 0), "nmae", "items[0]"),
        ("county_before_reform.yaml", ("run",), "horizon_days", "run"),
        ("county_before_reform.yaml", (), "zz_unknown", ""),
        ("county_after_reform.yaml", ("reforms", 0), "sharre", "reforms[0]"),
    ],
)
def test_unknown_keys_are_refused(name, path, key, field, fuzz_dir):
    refused(fm.apply_data_mutation(name, path, "unknown_key", key), fuzz_dir, field, key)


@pytest.mark.parametrize(
    "path, field",
    [
        (("items", 0, "department"), "items[0].department"),
        (("windows", 0, "site"), "windows[0].site"),
        (("case_types", 0, "flow", 0, "item"), "case_types[0].flow"),
        (("items", 0, "steps", 0, "role"), "items[0].steps[0].role"),
    ],
)
def test_dangling_references_are_refused(path, field, fuzz_dir):
    refused(fm.apply_data_mutation("county_before_reform.yaml", path, "rename_ref"), fuzz_dir, field, "_renamed")


def test_renamed_department_leaves_its_items_dangling(fuzz_dir):
    m = fm.apply_data_mutation("county_before_reform.yaml", ("departments", 0, "id"), "replace", "market_renamed")
    refused(m, fuzz_dir, "items[0].department", "market")


@pytest.mark.parametrize(
    "path, value, field",
    [
        (("run", "horizon_working_days"), math.nan, "run.horizon_working_days"),
        (("run", "horizon_working_days"), math.inf, "run.horizon_working_days"),
        (("run", "horizon_working_days"), -0.0, "run.horizon_working_days"),
        (("items", 0, "intake_minutes", "mean"), math.inf, "items[0].intake_minutes"),
        (("items", 0, "intake_minutes", "cv"), math.nan, "items[0].intake_minutes"),
        (("case_types", 0, "arrivals", "per_day"), 1e308, "case_types[0].arrivals.per_day"),
        (("travel", "default_minutes"), 1e308, "travel.default_minutes"),
        (("windows", 0, "positions"), 1e30, "windows[0].positions"),
        (("departments", 0, "staff", "clerk"), 10**30, "departments[0].staff"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, tuple) else fm.show_path(v),
)
def test_special_floats_are_refused(path, value, field, fuzz_dir):
    refused(fm.set_field(path, value, "special_float"), fuzz_dir, field)


@pytest.mark.parametrize(
    "mutant, field",
    [
        pytest.param(fm.run_field("horizon_working_days", 1e12), "run.horizon_working_days", id="horizon-1e12"),
        pytest.param(fm.run_field("warmup_working_days", 1e12), "run.warmup_working_days", id="warmup-1e12"),
        pytest.param(fm.run_field("drain_working_days", 1e12), "run.drain_working_days", id="drain-1e12"),
        pytest.param(fm.run_field("replications", 10**30), "run.replications", id="replications-1e30"),
        pytest.param(fm.set_field(("windows", 0, "positions"), 10**30), "windows[0].positions", id="positions-10**30"),
        pytest.param(fm.set_field(("case_types", 0, "arrivals", "day_to_day_cv"), 5e-324),
                     "case_types[0].arrivals", id="day_to_day_cv-5e-324"),
        pytest.param(fm.set_field(("case_types", 0, "arrivals", "per_day"), 1e30), "case_types[0].arrivals.per_day",
                     id="per_day-1e30"),
        pytest.param(fm.Mutant("huge_int", "materials: 5000 digits", fm._enc(
            fm.shipped_text("county_before_reform.yaml").replace("materials: 8", "materials: " + "9" * 5000, 1))),
            "items[0].materials", id="int-of-5000-digits"),
    ],
)
def test_huge_numbers_are_refused(mutant, field, fuzz_dir):
    refused(mutant, fuzz_dir, field)


@pytest.mark.parametrize("date", ["2025-02-29", "2025-13-01", "0000-01-01"])
@pytest.mark.parametrize("where", ["start_date", "holidays"])
def test_impossible_dates_are_refused(date, where, fuzz_dir):
    raw = date if where == "start_date" else f"[2025-04-04, {date}]"  # unquoted: YAML reads them as dates
    refused(fm.calendar_field(where, raw), fuzz_dir, f"calendar.{where}", date)


@pytest.mark.parametrize("key", ["9:99", "25", "-1", "nine"])
def test_bad_hourly_profile_keys_are_refused(key, fuzz_dir):
    refused(fm.hourly_key(key), fuzz_dir, "hourly_profile", key)


@pytest.mark.parametrize("clock", ["9:99", "25:00-26:00", "12:00-09:00"])
def test_bad_office_hours_are_refused(clock, fuzz_dir):
    refused(fm.calendar_field("office_hours", f"['{clock}']"), fuzz_dir, "calendar.office_hours")


@pytest.mark.parametrize(
    "junk", [b"\x00", b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\x1b[2J"],
    ids=["NUL", "FFFE", "overlong", "surrogate", "escape"],
)
def test_binary_junk_is_refused(junk, fuzz_dir):
    err = refused(fm.junk_bytes(junk), fuzz_dir, "")
    assert re.search(r"utf-?8|character|control|byte", err, re.I), err


@pytest.mark.parametrize(
    "text", ['name: "\\0 nul"', 'name: "\\uD800"', "name: \U0001f600\u202e名字"], ids=["NUL-escape", "lone-surrogate", "emoji"]
)
def test_unicode_names_fail_cleanly_or_run(text, fuzz_dir):
    src = fm.shipped_text("county_before_reform.yaml")
    m = Mutant("unicode", text, fm._enc(re.sub(r"^name: .*$", lambda _: text, src, count=1, flags=re.M)))
    path = m.write(fuzz_dir, f"r{next(_counter):05d}")
    fails, _ = check_file(path)
    assert not fails, "\n".join(fails)


@pytest.mark.parametrize("tagged", ["materials: !!int abc", "materials: !!float abc", "materials: !!bool 30",
                                    "fee_yuan: !!timestamp 2025-13-01", "fee_yuan: !!timestamp x", "materials: !!set x",
                                    "materials: {[a, b]: 1}"])
def test_yaml_tags_and_complex_keys_are_refused(tagged, fuzz_dir):
    src = fm.shipped_text("county_before_reform.yaml").replace("materials: 8", tagged, 1)
    refused(Mutant("tag", tagged, fm._enc(src)), fuzz_dir, "")


def test_alias_bomb_is_refused(fuzz_dir):
    m = fm.alias_bomb(9, 6)  # ~7 KB, 10 million blocks once expanded
    assert len(m.main) < 10_000
    refused(m, fuzz_dir, "")


def test_alias_bomb_of_mappings_is_refused(fuzz_dir):
    d = fm.county()
    d["case_types"][0]["arrivals"]["hourly_profile"] = "BOMB"
    refused(fm.from_data("alias_bomb", "hourly_profile", d, {"BOMB": fm.alias_bomb_mapping_text(9, 6)}), fuzz_dir, "")


@pytest.mark.parametrize("depth", [200, 500, 2000])
@pytest.mark.parametrize("key", ["parallel", "sequence"])
def test_deeply_nested_flow_is_refused(depth, key, fuzz_dir):
    refused(fm.deep_flow(depth, key), fuzz_dir, "")


@pytest.mark.parametrize("path", [("sites",), ("case_types", 0, "flow"), ("name",)], ids=fm.show_path)
def test_deeply_nested_list_is_refused(path, fuzz_dir):
    refused(fm.deep_list(5000, path), fuzz_dir, "")


def test_base_naming_itself_is_refused(fuzz_dir):
    refused(fm.base_self_loop(), fuzz_dir, "base")


@pytest.mark.parametrize("n", [2, 3, 40])
def test_base_loop_is_refused(n, fuzz_dir):
    refused(fm.base_loop(n), fuzz_dir, "base")


def test_chain_of_hundreds_of_base_files_is_refused_or_loads(fuzz_dir):
    """300 valid links: either loaded quickly or refused (naming the file given and base)."""
    refused(fm.base_chain(300), fuzz_dir, "base")


def test_nul_byte_in_base_path_is_refused(fuzz_dir):
    refused(fm.base_nul(), fuzz_dir, "base")


@pytest.mark.parametrize(
    "base", ["", ".", "/dev/null", "missing.yaml", "x" * 5000 + ".yaml", 5, ["county_before_reform.yaml"]],
    ids=lambda b: repr(b) if len(repr(b)) < 40 else "name-of-5000-chars",
)
def test_bad_base_values_are_refused(base, fuzz_dir):
    d = fm.reformed(base)
    refused(fm.from_data("base", f"base = {base!r}", d), fuzz_dir, "base")


def test_tens_of_thousands_of_unused_sites(fuzz_dir):
    """Unused sites are allowed, but 30,000 of them must still validate and run within the limit (or be refused)."""
    m = fm.many_sites(30_000)
    path = m.write(fuzz_dir, f"r{next(_counter):05d}")
    fails, outs = check_file(path)
    assert not fails, "\n".join(fails)
    if outs[0].rc == 2:
        assert any("sites" in mm.group("field") for mm in MESSAGE_LINE.finditer(outs[0].err)), outs[0].err


def test_calendar_with_no_working_day_is_refused(fuzz_dir):
    refused(fm.no_working_day(), fuzz_dir, "calendar")


def test_start_date_near_year_9999_is_refused(fuzz_dir):
    refused(fm.calendar_field("start_date", "9999-12-31"), fuzz_dir, "")


# -- the harness itself --------------------------------------------------------------------------
def test_shipped_scenarios_pass_the_harness(fuzz_dir):
    """The unmutated files validate and run within the limits (else every property would fail)."""
    for name in fm.SHIPPED[:2]:
        fails, outs = check_file(fuzz_dir / name)
        assert not fails and [o.rc for o in outs] == [0, 0], "\n".join(fails)


@pytest.mark.parametrize(
    "err, ok",
    [
        ("f.yaml: 1 problem\nf.yaml: run.horizon_working_days: must be > 0\n", True),
        ("f.yaml:12:3: calendar.start_date: not a date\n", True),
        ("f.yaml:3: (file): not UTF-8 text\n", True),
        ("f.yaml: 1 problem\n", False),
        ("Traceback (most recent call last):\nValueError: x\n", False),
        ("", False),
    ],
)
def test_message_check(err, ok):
    assert (fm.message_problem(err, Path("/tmp/f.yaml")) is None) == ok


def test_harness_stops_a_hang_and_reports_an_escaping_exception(monkeypatch):
    import sim.cli

    def hang(argv):
        while True:
            pass

    monkeypatch.setattr(sim.cli, "main", hang)
    res = run_main(["validate", "x.yaml"], limit=0.5)
    assert res.timed_out and res.elapsed < 5
    monkeypatch.setattr(sim.cli, "main", lambda argv: int("x"))
    res = run_main(["validate", "x.yaml"], limit=5)
    assert res.exc.startswith("ValueError") and "Traceback" in res.tb
    assert outcome_failures(res, Path("x.yaml"))
