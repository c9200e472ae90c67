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
import threading
from pathlib import Path

import pytest

from sim import load_scenario
from tests.helpers import run_main as cli

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
    assert f"{p}:2:15: (file): YAML syntax: mapping values are not allowed" in err


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
    lines = out.splitlines()
    assert lines[0] == "tiny cli scenario"
    assert lines[1] == "2 replications, seed 7; horizon 2 working days after a warm-up of 1 working day"
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


# -- output folders: permissions -------------------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_output_folder_gets_the_usual_permissions(capsys, good, tmp_path, mask):
    old = os.umask(mask)
    try:
        rc, _, err = cli(capsys, "run", good, "--out", tmp_path / "results")
    finally:
        os.umask(old)
    assert rc == 0, err
    assert (tmp_path / "results").stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's 0o700


def test_staged_folder_is_renamed_only_when_complete(tmp_path):
    from sim.export import staged_dir

    with pytest.raises(RuntimeError):
        with staged_dir(tmp_path / "exp") as tmp:
            (tmp / "half.csv").write_text("x", encoding="utf-8")
            raise RuntimeError("failed while writing")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its hidden temporary
    old = os.umask(0o002)
    try:
        with staged_dir(tmp_path / "exp") as tmp:
            (tmp / "whole.csv").write_text("x", encoding="utf-8")
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["exp"] and (tmp_path / "exp").stat().st_mode & 0o777 == 0o775


# -- interrupts ------------------------------------------------------------------------------------
@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """SIGINT raises KeyboardInterrupt here, as in a terminal, even if the suite runs as a background job.

    A shell starts background jobs with SIGINT ignored, and Python then installs no handler for it.
    """
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("signame, code, how", [("SIGINT", 130, "interrupted (Ctrl-C)"), ("SIGTERM", 143, "terminated (SIGTERM)")])
def test_a_signal_while_writing_removes_the_temporary_folder(
    capsys, good, tmp_path, monkeypatch, signame, code, how, ctrl_c_as_in_a_terminal
):
    import signal
    import time

    import pandas as pd

    real = pd.DataFrame.to_csv

    def to_csv(self, path, *a, **k):  # the signal arrives while the tables are being written
        real(self, path, *a, **k)
        if str(path).endswith("cases.csv"):
            os.kill(os.getpid(), getattr(signal, signame))
            time.sleep(1)  # the handler raises here

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    before = signal.getsignal(signal.SIGTERM)
    rc, out, err = cli(capsys, "run", good, "--out", tmp_path / "results")
    assert rc == code
    assert err.strip().splitlines()[-1] == f"{how}: {tmp_path / 'results'} was not written (nothing half-written was left)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # no results, no hidden .results.xxxx
    assert out == "" and "Traceback" not in err
    assert signal.getsignal(signal.SIGTERM) == before  # main puts the handler back


def test_an_interrupt_after_the_folder_is_written_says_it_is_complete(capsys, good, tmp_path, monkeypatch):
    from sim import views

    def stop(result):
        raise KeyboardInterrupt

    monkeypatch.setattr(views, "summary_text", stop)
    rc, _, err = cli(capsys, "run", good, "--out", tmp_path / "results")
    assert rc == 130
    assert err.strip().splitlines()[-1] == (
        f"interrupted (Ctrl-C): {tmp_path / 'results'} is complete (it was written before the interrupt)")
    assert {p.name for p in (tmp_path / "results").iterdir()} == OUTPUT_FILES


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_subprocess_signal_mid_run_with_progress_on_a_pipe(tmp_path, signame, code):
    """A long run with stderr piped: plain progress lines appear; a signal mid-run leaves nothing behind."""
    import signal
    import time

    out_dir = tmp_path / "results"
    proc = subprocess.Popen(
        _program() + ["run", "scenarios/county_before_reform.yaml", "--reps", "60", "--out", str(out_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as in a terminal, even when the suite runs as a background job (SIGINT ignored there)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    guard = threading.Timer(90, proc.kill)  # never hang the suite
    guard.start()
    try:
        first = proc.stderr.readline()  # the first progress line: the run has been going for 2 seconds
        t0 = time.monotonic()
        proc.send_signal(getattr(signal, signame))
        out, rest = proc.communicate(timeout=60)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
    assert first.startswith("replications: ") and " of 60 (" in first and "elapsed" in first, first
    assert time.monotonic() - t0 < 10
    assert proc.returncode == code, rest
    how = "interrupted (Ctrl-C)" if signame == "SIGINT" else "terminated (SIGTERM)"
    assert rest.splitlines()[-1] == f"{how}: {out_dir} was not written (nothing half-written was left)"
    assert "Traceback" not in rest and out == ""
    assert list(tmp_path.iterdir()) == []


def test_program_exits_after_an_interrupt_even_if_a_thread_would_never_finish(tmp_path):
    """After Ctrl-C the program leaves at once: a pool thread stuck on a half-sent result cannot hold its exit."""
    script = (
        "import threading, sim.cli as cli\n"
        "threading.Thread(target=threading.Event().wait).start()  # a join that would never return\n"
        "def stopped(args):\n"
        "    raise KeyboardInterrupt\n"
        "cli.cmd_validate = stopped\n"
        "print('started', flush=True)\n"
        "cli.entry(['validate', 'scenarios/county_before_reform.yaml'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout == "started\n"  # streams are flushed before the exit
    assert proc.stderr.strip() == "interrupted (Ctrl-C): nothing was written"


# -- the other commands' text -------------------------------------------------------------------------
def test_attribute_announces_and_counts_its_runs(capsys, good, tmp_path):
    after = tmp_path / "after.yaml"
    after.write_text(f"base: {good.name}\nreforms:\n  - {{reform: centralise}}\n  - {{reform: reduce_fees}}\n", encoding="utf-8")
    rc, out, err = cli(capsys, "attribute", after, "--reps", "2", "--workers", "1")
    assert rc == 0, err
    assert err.splitlines()[0] == "attribute: 2 reforms; all 2^2 = 4 subsets x 2 replications = 8 runs on this process"
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines if ln.split() and ln.split()[0] in {"centralise", "reduce_fees", "total"}] == [
        "centralise", "reduce_fees", "total"]
    assert "三集中" in out and "合计" in out and all(len(ln) <= 100 for ln in lines)


def test_bottlenecks_text_and_json_total(capsys, good):
    rc, out, err = cli(capsys, "bottlenecks", good, "--reps", "2")
    assert rc == 0, err
    assert "handoff" not in out or "窗口与后台流转" in out
    total = next(ln for ln in out.splitlines() if ln.startswith("total = mean lead time"))
    assert "合计" in total and "100.0" in total
    rc, out, _ = cli(capsys, "bottlenecks", good, "--reps", "2", "--json")
    d = json.loads(out)
    assert d["total"]["working_minutes_per_case"] == pytest.approx(sum(r["working_minutes_per_case"] for r in d["rows"]))
    assert "total" not in {r["category"] for r in d["rows"]}
    lead = json.loads(cli(capsys, "run", good, "--reps", "2", "--json", "--seed", str(d["seed"]))[1])
    assert d["total"]["working_days_per_case"] == pytest.approx(lead["kpis"]["lead_time_working_days_mean"]["mean"])


def test_reform_parameters_without_a_default_say_none(capsys):
    rc, out, _ = cli(capsys, "reforms", "one_window")
    assert rc == 0
    assert "  windows: default none - window groups to pool (default: all)" in out.splitlines()
    assert "keep_positions: default none" in out and "None" not in out and "{}" not in out
