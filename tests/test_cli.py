"""The command line's bad-input contract and its outputs.

Bad input (scenario file, options, output directory) gives ``file: path:
message`` lines on stderr, exit status 2 and never a traceback; good input
gives a KPI summary (text or JSON) and, with ``--out``, a new directory of
tables.  Most tests call :func:`sim.cli.main` in-process; a few run the
installed program in a subprocess to check the real exit status and streams.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import load_scenario
from sim.cli import main

# A tiny, fast scenario: 2 working days after 1 warm-up day, 2 replications.
TINY = """\
name: tiny cli scenario
calendar:
  office_hours: ["09:00-12:00", "13:00-17:00"]
sites: [{id: hall}, {id: annex}]
travel: {default_minutes: 10}
departments:
  - {id: market, site: hall, staff: {clerk: 2, chief: 1}}
  - {id: tax, site: annex, staff: {clerk: 1}}
windows:
  - {id: w_market, site: hall, positions: 2, items: [licence, seal]}
  - {id: w_tax, site: annex, items: [invoice]}
items:
  - id: licence
    department: market
    kind: back_office
    intake_minutes: {dist: exponential, mean: 10}
    statutory_limit_days: 10
    promised_limit_days: 3
    incomplete_probability: 0.1
    steps:
      - {role: clerk, minutes: {dist: lognormal, mean: 20, cv: 0.5}}
      - {role: chief, minutes: {dist: triangular, low: 5, mode: 10, high: 20}}
  - {id: seal, department: market, kind: immediate, intake_minutes: 8}
  - {id: invoice, department: tax, kind: immediate, intake_minutes: {dist: uniform, low: 5, high: 15}}
externals:
  - {kind: fixed_period, id: notice, duration_working_days: 1}
case_types:
  - id: opening
    arrivals: {per_day: 4}
    flow:
      - item: licence
      - parallel: [{item: seal}, {item: invoice}]
      - external: notice
run: {horizon_working_days: 2, warmup_working_days: 1, replications: 2, seed: 7}
"""

# Two problems: a negative duration (a field problem, reported first) and a
# misspelt department (a reference problem, reported once the fields are valid).
BAD = TINY.replace("department: market\n    kind: back_office", "department: markt\n    kind: back_office").replace(
    "intake_minutes: 8", "intake_minutes: -8"
)

OUTPUT_FILES = {
    "summary.json",
    "summary.csv",
    "cases.csv",
    "items.csv",
    "stations.csv",
    "stations_by_hour.csv",
    "replications.csv",
    "scenario.yaml",
}


@pytest.fixture
def good(tmp_path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY, encoding="utf-8")
    return p


@pytest.fixture
def bad(tmp_path) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(BAD, encoding="utf-8")
    return p


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``main`` in-process; usage errors (argparse) surface as SystemExit."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_bad_input(rc: int, out: str, err: str) -> None:
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip(), "the reason must be printed on stderr"


def snapshot(d: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(d.iterdir())}


# -- validate -------------------------------------------------------------------------------
def test_validate_good_file(capsys, good):
    rc, out, err = cli(capsys, "validate", good)
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{good}: ok")
    assert "'tiny cli scenario'" in lines[0]
    assert "3 items" in lines[0]
    assert err == ""


def test_validate_bad_file_lists_every_problem(capsys, bad):
    rc, out, err = cli(capsys, "validate", bad)
    assert_bad_input(rc, out, err)
    assert out == ""
    # field and reference problems together, in file order, each at its line and column
    assert err.splitlines() == [
        f"{bad}: 2 problems",
        f"{bad}:14:17: items[0].department: no department with id 'markt' (did you mean 'market'?)",
        f"{bad}:23:69: items[1].intake_minutes: must be greater than or equal to 0 (got -8)",
    ]
    bad.write_text(BAD.replace("intake_minutes: -8", "intake_minutes: 8"), encoding="utf-8")
    rc, out, err = cli(capsys, "validate", bad)
    assert_bad_input(rc, out, err)
    assert err.splitlines() == [
        f"{bad}: 1 problem",
        f"{bad}:14:17: items[0].department: no department with id 'markt' (did you mean 'market'?)",
    ]


def test_validate_several_problems_one_line_each(capsys, tmp_path):
    p = tmp_path / "two.yaml"
    p.write_text(
        TINY.replace("intake_minutes: 8", "intake_minutes: -8").replace("incomplete_probability: 0.1", "incomplete_probability: 1.1"),
        encoding="utf-8",
    )
    rc, out, err = cli(capsys, "validate", p)
    assert_bad_input(rc, out, err)
    lines = err.splitlines()
    assert lines[0] == f"{p}: 2 problems"
    assert lines[1:] == [
        f"{p}:19:29: items[0].incomplete_probability: must be less than or equal to 1 (got 1.1)",
        f"{p}:23:69: items[1].intake_minutes: must be greater than or equal to 0 (got -8)",
    ]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_file(capsys, tmp_path, command):
    p = tmp_path / "nope.yaml"
    rc, out, err = cli(capsys, command, p)
    assert_bad_input(rc, out, err)
    assert out == ""
    assert err.splitlines()[-1] == f"{p}: (file): file not found"


def test_yaml_syntax_error(capsys, tmp_path):
    p = tmp_path / "syntax.yaml"
    p.write_text("name: x\ndescription: a: b\n", encoding="utf-8")
    rc, out, err = cli(capsys, "validate", p)
    assert_bad_input(rc, out, err)
    assert f"{p}:2:15: (file): YAML syntax: mapping values are not allowed here" in err


def test_empty_file(capsys, tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("", encoding="utf-8")
    rc, out, err = cli(capsys, "run", p)
    assert_bad_input(rc, out, err)
    assert f"{p}: (top level): the file is empty" in err


# -- bad options ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--reps", "0", "must be at least 1, got 0"),
        ("--reps", "-3", "must be at least 1, got -3"),
        ("--reps", "abc", "expected a whole number, got 'abc'"),
        ("--reps", "1.5", "expected a whole number, got '1.5'"),
        ("--seed", "-1", "must be >= 0, got -1"),
        ("--seed", "x", "expected a whole number, got 'x'"),
    ],
)
def test_bad_option(capsys, good, option, value, words):
    rc, out, err = cli(capsys, "run", good, option, value)
    assert_bad_input(rc, out, err)
    assert out == ""
    assert f"error: argument {option}: {words}" in err


@pytest.mark.parametrize("args", [[], ["frob"], ["run"], ["validate", "a.yaml", "b.yaml"]], ids=["none", "unknown", "no-file", "two-files"])
def test_usage_errors(capsys, args):
    rc, out, err = cli(capsys, *args)
    assert_bad_input(rc, out, err)
    assert "usage:" in err and "error:" in err


# -- run: stdout -------------------------------------------------------------------------------
def test_run_json(capsys, good):
    rc, out, err = cli(capsys, "run", good, "--json", "--reps", "2", "--seed", "3")
    assert rc == 0, err
    assert "Traceback" not in err
    d = json.loads(out)  # the whole of stdout is one JSON document
    assert d["replications"] == 2
    assert d["seed"] == 3
    assert d["scenario"] == "tiny cli scenario"
    assert d["scenario_hash"] == load_scenario(good).content_hash()
    assert d["confidence_level"] == 0.95
    assert d["kpis"], "no KPIs"
    for block in [d["kpis"], *d["case_types"].values(), *d["stations"].values()]:
        for name, kpi in block.items():
            assert {"mean", "ci_low", "ci_high"} <= set(kpi), name
    assert {"lead_time_working_days_mean", "throughput_per_day", "cases"} <= set(d["kpis"])
    assert d["kpis"]["throughput_per_day"]["mean"] > 0
    lt = d["kpis"]["lead_time_working_days_mean"]
    assert lt["ci_low"] <= lt["mean"] <= lt["ci_high"]
    assert set(d["case_types"]) == {"opening"}
    assert {"w_market", "w_tax"} <= set(d["stations"])


def test_run_json_is_reproducible(capsys, good):
    _, first, _ = cli(capsys, "run", good, "--json", "--seed", "5")
    _, second, _ = cli(capsys, "run", good, "--json", "--seed", "5")
    assert json.loads(first) == json.loads(second)


def test_run_text_summary(capsys, good):
    rc, out, err = cli(capsys, "run", good)
    assert rc == 0, err
    assert out.startswith("tiny cli scenario: 2 replication(s), seed 7")
    assert "lead_time_working_days_mean" in out
    assert "w_market" in out


def test_run_bad_file_prints_nothing_on_stdout(capsys, bad):
    rc, out, err = cli(capsys, "run", bad, "--json")
    assert_bad_input(rc, out, err)
    assert out == ""
    assert f"{bad}:23:69: items[1].intake_minutes:" in err


# -- run --out -----------------------------------------------------------------------------------
def test_run_out_writes_all_tables(capsys, good, tmp_path):
    out_dir = tmp_path / "results"
    rc, out, err = cli(capsys, "run", good, "--out", out_dir, "--reps", "2")
    assert rc == 0, err
    assert {p.name for p in out_dir.iterdir()} == OUTPUT_FILES
    assert f"wrote {len(OUTPUT_FILES)} files to {out_dir}" in err
    assert "tiny cli scenario" in out
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["replications"] == 2
    for name in OUTPUT_FILES - {"summary.json", "scenario.yaml"}:
        lines = (out_dir / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) >= 2, f"{name} has no rows"
    assert (out_dir / "replications.csv").read_text(encoding="utf-8").startswith("replication,")
    # the written scenario is the one that ran
    again = load_scenario(out_dir / "scenario.yaml")
    assert again.content_hash() == load_scenario(good).content_hash()
    assert again.content_hash() == summary["scenario_hash"]
    # no temporary directories are left next to the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "tiny.yaml"]


def test_run_out_with_json(capsys, good, tmp_path):
    out_dir = tmp_path / "results"
    rc, out, err = cli(capsys, "run", good, "--out", out_dir, "--json")
    assert rc == 0, err
    assert json.loads(out) == json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))


def test_run_out_into_existing_empty_directory(capsys, good, tmp_path):
    out_dir = tmp_path / "empty"
    out_dir.mkdir()
    rc, _, err = cli(capsys, "run", good, "--out", out_dir)
    assert rc == 0, err
    assert {p.name for p in out_dir.iterdir()} == OUTPUT_FILES


def test_run_out_refuses_non_empty_directory(capsys, good, tmp_path):
    out_dir = tmp_path / "previous"
    out_dir.mkdir()
    (out_dir / "summary.json").write_text('{"old": true}', encoding="utf-8")
    (out_dir / "notes.txt").write_text("keep me", encoding="utf-8")
    os.utime(out_dir / "notes.txt", ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(out_dir)
    dir_mtime = out_dir.stat().st_mtime_ns
    parent_before = sorted(p.name for p in tmp_path.iterdir())

    rc, out, err = cli(capsys, "run", good, "--out", out_dir)
    assert_bad_input(rc, out, err)
    assert out == ""
    assert str(out_dir) in err and "not empty" in err
    assert snapshot(out_dir) == before
    assert out_dir.stat().st_mtime_ns == dir_mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == parent_before


def test_run_out_refuses_a_file(capsys, good, tmp_path):
    target = tmp_path / "results"
    target.write_text("not a directory", encoding="utf-8")
    mtime = target.stat().st_mtime_ns
    rc, out, err = cli(capsys, "run", good, "--out", target)
    assert_bad_input(rc, out, err)
    assert "not a directory" in err
    assert target.read_text(encoding="utf-8") == "not a directory"
    assert target.stat().st_mtime_ns == mtime


def test_run_out_writes_nothing_for_a_bad_scenario(capsys, bad, tmp_path):
    out_dir = tmp_path / "results"
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, out, err = cli(capsys, "run", bad, "--out", out_dir)
    assert_bad_input(rc, out, err)
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_run_out_writes_nothing_for_a_missing_scenario(capsys, tmp_path):
    out_dir = tmp_path / "results"
    rc, out, err = cli(capsys, "run", tmp_path / "nope.yaml", "--out", out_dir)
    assert_bad_input(rc, out, err)
    assert not out_dir.exists()


def test_run_trace_adds_activities(capsys, good, tmp_path):
    out_dir = tmp_path / "traced"
    rc, _, err = cli(capsys, "run", good, "--out", out_dir, "--trace", "--reps", "2")
    assert rc == 0, err
    assert {p.name for p in out_dir.iterdir()} == OUTPUT_FILES | {"activities.csv"}
    lines = (out_dir / "activities.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("replication,case,")
    assert len(lines) > 1


# -- as a real program ---------------------------------------------------------------------------
def _program() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m sim``."""
    exe = shutil.which("approval-sim", path=str(Path(sys.executable).parent)) or shutil.which("approval-sim")
    return [exe] if exe else [sys.executable, "-m", "sim"]


def test_subprocess_bad_scenario(bad):
    # one subprocess only: importing sim (pandas, scipy) takes most of a second and a half
    proc = subprocess.run(_program() + ["run", str(bad), "--reps", "2"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"{bad}: 2 problems",
        f"{bad}:14:17: items[0].department: no department with id 'markt' (did you mean 'market'?)",
        f"{bad}:23:69: items[1].intake_minutes: must be greater than or equal to 0 (got -8)",
    ]
