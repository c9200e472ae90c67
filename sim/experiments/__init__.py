"""Reproducible experiments: declarative specs in ``experiments/``, claims, robustness, charts, report.

``run_experiment("seed-claims", fast=True)`` runs a spec and writes a new
results folder; ``list_experiments()`` lists the specs.  The shared
assumption set lives in :mod:`sim.experiments.assumptions`, the verdict
rules in :mod:`sim.experiments.verdicts`.
"""

from .assumptions import ASSUMPTIONS, apply_assumptions
from .catalogue import load_claims
from .runner import experiments_dir, list_experiments, run_experiment
from .spec import Experiment, load_experiment

__all__ = [
    "ASSUMPTIONS", "apply_assumptions", "load_claims", "experiments_dir", "list_experiments",
    "run_experiment", "Experiment", "load_experiment",
]
