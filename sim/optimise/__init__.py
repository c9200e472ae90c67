"""Optimisation: the cheapest staffing or reform package that meets targets, with evidence.

``optimise(spec, seed=...)`` reads an optimisation spec (:mod:`.spec`),
searches (:mod:`.search`), judges each design with a sequential feasibility
check (:mod:`.feasibility`) on common random numbers (:mod:`.evaluate`), and
re-estimates the chosen design on fresh replications.
"""

from .feasibility import FeasibilityCheck, eta
from .optimiser import OptimisationResult, optimise
from .spec import OptimisationSpec, load_spec

__all__ = ["optimise", "OptimisationResult", "OptimisationSpec", "load_spec", "FeasibilityCheck", "eta"]
