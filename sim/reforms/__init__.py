"""Reforms: named, parameterised functions from scenario to scenario.

Each reform takes a scenario and keyword parameters and returns a new,
validated scenario (what the reform changed is validated, what it left
alone is kept, every reference is checked); the input is never changed.
``REFORMS`` is the catalogue, in a planner's order, with English and
Chinese names; every reform's docstring says which mechanism of the model
it changes::

    from sim.reforms import apply_reform
    after = apply_reform(before, "one_window", windows=["market_window", "tax_window"])

A scenario file can name a ``base`` file and a list of ``reforms`` to apply
(see :func:`sim.loading.load_scenario`).
"""

from ._registry import REFORMS, Parameter, Reform, apply_reform, call_problems, reform
from . import organisation, process, requirements, channels  # noqa: E402,F401  (registers the reforms)

__all__ = ["Reform", "Parameter", "REFORMS", "apply_reform", "call_problems", "reform"]
