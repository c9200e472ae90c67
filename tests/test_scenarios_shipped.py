"""Every scenario shipped in ``scenarios/`` loads, validates and runs.

The files are globbed, so a scenario added later is covered without editing
this test.  Runs are shortened (a few working days, 2 replications) by
replacing the run settings with :meth:`Scenario.evolve`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import Scenario, load_scenario, run
from sim.cli import main

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))

SHORT_RUN = {"horizon_working_days": 5, "warmup_working_days": 1, "replications": 2}


def test_there_are_shipped_scenarios():
    assert SCENARIOS, f"no scenarios found in {SCENARIO_DIR}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_validates(path, capsys):
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: ok") and err == ""


def _arrivals_per_day(s: Scenario, ct) -> float:
    a = ct.arrivals
    day = s.calendar.day_minutes
    if a.per_day is not None:
        return a.per_day
    if a.per_hour is not None:
        return a.per_hour * day / 60
    return day / a.interarrival_minutes.mean


def _short_horizon(s: Scenario) -> float:
    """At least 5 working days, and long enough for every case type to expect 12 arrivals.

    Engineering projects arrive a few a week: 5 days would often give a case
    type no case at all (P(no arrival) = exp(-12) ~ 6e-6 per replication here).
    """
    slowest = min(_arrivals_per_day(s, ct) for ct in s.case_types)
    return max(5.0, math.ceil(12 / slowest))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_runs_short(path):
    s = load_scenario(path)
    assert isinstance(s, Scenario)
    horizon = _short_horizon(s)
    short = s.evolve(run={**s.run.model_dump(), **SHORT_RUN, "horizon_working_days": horizon})
    assert short.run.horizon_working_days == horizon and short.run.replications == 2
    # only the run settings changed
    assert short.to_dict() | {"run": None} == s.to_dict() | {"run": None}

    result = run(short)
    assert result.replications == 2
    lead, lo, hi = result.estimate("lead_time_working_days_mean")
    assert math.isfinite(lead) and lead > 0
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= lead <= hi
    throughput, _, _ = result.estimate("throughput_per_day")
    assert math.isfinite(throughput) and throughput > 0
    cases, _, _ = result.estimate("cases")
    assert cases > 0
    # every case type produced completed cases
    for ct in short.case_types:
        ct_lead, _, _ = result.estimate("lead_time_working_days_mean", scope=f"case_type:{ct.id}")
        assert math.isfinite(ct_lead), ct.id
