"""approval-sim: simulate and optimise the redesign of government approval processes.

Public API::

    from sim import load_scenario, simulate, run
    scenario = load_scenario("scenarios/county_before_reform.yaml")
    rep = simulate(scenario, seed=1)                 # one replication
    result = run(scenario, replications=10, seed=1)  # summary with 95% CIs
"""

from .engine import simulate
from .errors import Problem, ScenarioError
from .loading import load_scenario
from .runner import RunResult, run
from .scenario import Scenario

__all__ = ["Scenario", "ScenarioError", "Problem", "RunResult", "load_scenario", "simulate", "run"]
__version__ = "0.1.0"
