"""The claims catalogue: every quantitative claim in the seed reports (``experiments/claims.yaml``).

Each entry quotes its report verbatim and classifies the claim:

* ``outcome``: a simulated time, share or count can test it;
* ``limit``: arithmetic on declared limits (时限), a yardstick;
* ``input``: a number fed into a model (windows, items moved, materials removed);
* ``not_testable``: no process model can confirm or refute it (``why`` says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Problem, ScenarioError
from ..loading import read_source, with_positions
from ..validation import problems_from_pydantic

__all__ = ["Claim", "load_claims"]


class Claim(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    place: str
    seed: str
    quote: str
    claim_en: str
    claim_zh: str = ""
    numbers: dict | None = None
    kind: Literal["outcome", "limit", "input", "not_testable"]
    quantity: str = "other"
    why: str = ""
    ambiguous: bool = False
    scenario: str | None = None
    case_types: tuple[str, ...] = ()


def load_claims(path: str | Path) -> dict[str, Claim]:
    """Claims by id, validated; duplicate ids are refused."""
    p = Path(path)
    data, positions = read_source(p)
    if not isinstance(data, list):
        raise ScenarioError([Problem("(file)", "the claims catalogue is a list of claims")], str(p))
    out: dict[str, Claim] = {}
    problems = []
    for i, entry in enumerate(data):
        try:
            c = Claim.model_validate(entry)
        except ValidationError as exc:
            problems += [
                Problem(f"[{i}].{q.path}" if not q.path.startswith("(") else f"[{i}]", q.message, key=q.key)
                for q in problems_from_pydantic(exc, entry, Claim)
            ]
            continue
        if c.id in out:
            problems.append(Problem(f"[{i}].id", f"duplicate claim id {c.id!r}"))
        out[c.id] = c
    if problems:
        raise with_positions(ScenarioError(problems), positions, str(p))
    return out
