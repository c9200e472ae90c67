"""Sweeps: the grid's numbers equal plain runs of each point, and a killed sweep resumes without loss."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import ScenarioError, load_scenario
from sim.execution import LocalExecutor
from sim.execution.sweep import load_sweep, run_sweep, set_field
from sim.runner import run

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county_before_reform.yaml"


def _sweep_file(tmp_path: Path, reps: int = 3, extra: str = "") -> Path:
    f = tmp_path / "sweep.yaml"
    f.write_text(
        f"name: market\nscenarios: [{COUNTY}]\nreplications: {reps}\nseed: 7\n"
        "grid:\n  windows[market_window].positions: [1, 2]\n  run.horizon_working_days: [2]\n"
        "kpis: [lead_time_working_days_mean, queue_wait_minutes_mean]\nscopes: [all]\n" + extra,
        encoding="utf-8",
    )
    return f


def test_set_field_addresses_list_entries_by_id_or_position():
    d = {"windows": [{"id": "a", "positions": 1}, {"id": "b", "positions": 1}], "run": {}}
    assert set_field(d, "windows[b].positions", 3)["windows"][1]["positions"] == 3
    assert set_field(d, "windows[0].positions", 4)["windows"][0]["positions"] == 4
    assert set_field(d, "run.horizon_working_days", 9)["run"]["horizon_working_days"] == 9
    assert d["windows"][1]["positions"] == 1  # the input is not changed
    with pytest.raises(KeyError, match="no entry with id 'c'"):
        set_field(d, "windows[c].positions", 1)


def test_each_point_equals_a_plain_run_of_that_scenario(tmp_path):
    table = run_sweep(load_sweep(_sweep_file(tmp_path)), tmp_path / "s.sqlite", LocalExecutor(2))
    base = load_scenario(COUNTY)
    for positions in (1, 2):
        s = base.evolve(
            windows=[{**w.model_dump(), "positions": positions} if w.id == "market_window" else w.model_dump() for w in base.windows],
            run={**base.run.model_dump(), "horizon_working_days": 2},
        )
        direct = run(s, 3, seed=7)
        row = table[(table["windows[market_window].positions"] == positions) & (table["kpi"] == "lead_time_working_days_mean")]
        assert len(row) == 1 and int(row["n"].iloc[0]) == 3
        assert row["mean"].iloc[0] == direct.estimate("lead_time_working_days_mean")[0]


def test_a_sweep_killed_part_way_resumes_and_loses_nothing(tmp_path):
    f = _sweep_file(tmp_path, reps=6)
    store = tmp_path / "s.sqlite"
    cmd = [sys.executable, "-m", "sim", "sweep", str(f), "--store", str(store), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    done = db.execute("SELECT COUNT(*) FROM done").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if done >= 2:
                break
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with sqlite3.connect(store) as db:
        kept = db.execute("SELECT COUNT(*) FROM done").fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM kpis").fetchone()[0]
    assert 2 <= kept < 12 and rows == 2 * kept  # whole replications only: two KPI rows each
    ran = []
    resumed = run_sweep(load_sweep(f), store, progress=lambda d, t: ran.append(t))
    assert ran and ran[-1] == 12 - kept  # only the missing replications ran
    fresh = run_sweep(load_sweep(f), tmp_path / "fresh.sqlite")
    np.testing.assert_array_equal(resumed["mean"].to_numpy(), fresh["mean"].to_numpy())
    assert (resumed["n"] == 6).all()


def test_a_bad_parameter_is_named_before_anything_runs(tmp_path):
    f = _sweep_file(tmp_path, extra="points:\n  - windows[nope].positions: 2\n")
    with pytest.raises(ScenarioError, match=r"points\.windows\[nope\]\.positions: .*no entry with id 'nope'"):
        run_sweep(load_sweep(f), tmp_path / "s.sqlite")
    f.write_text(f.read_text().replace("positions: [1, 2]", "positions: [0]").replace("points:\n  - windows[nope].positions: 2\n", ""))
    with pytest.raises(ScenarioError, match="greater than or equal to 1"):
        run_sweep(load_sweep(f), tmp_path / "s2.sqlite")
    assert not (tmp_path / "s2.sqlite").exists()


def test_an_unusable_store_or_table_path_is_a_message(tmp_path, capsys):
    from sim.cli import main

    f = _sweep_file(tmp_path, reps=1)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database", encoding="utf-8")
    assert main(["sweep", str(f), "--store", str(junk), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{junk}: store: cannot be used as a replication store (file is not a database)" in err
    assert "Traceback" not in err and junk.read_text(encoding="utf-8") == "not a database"  # left as it was
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    store = tmp_path / "ok.sqlite"
    assert main(["sweep", str(f), "--store", str(store), "--out", str(blocker / "t.csv"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "--out: cannot write the table" in err and f"the finished replications are kept in {store}" in err
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM done").fetchone()[0] == 2  # both points' replication kept
