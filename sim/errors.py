"""The one error type for bad scenarios.

Every problem names the field path (``items[3].steps[1].minutes.mean``) and
what is wrong; the error as a whole names the file it came from.  The command
line turns it into a message and exit status 2; a web form can show each
problem beside its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["Problem", "ScenarioError", "format_path"]


def format_path(loc: Sequence[str | int]) -> str:
    """Render a location tuple as ``items[3].steps[1].minutes``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used, with every problem found in it."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        head = self.source or "scenario"
        n = len(self.problems)
        lines = [f"{head}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"{head}: {p}" for p in self.problems]
        return "\n".join(lines)

    def with_source(self, source: str) -> "ScenarioError":
        return ScenarioError(self.problems, source)

    def __reduce__(self):  # keep picklable for worker processes
        return (ScenarioError, (self.problems, self.source))
