"""The one error type for bad scenarios.

Every problem names the field path (``items[3].steps[1].minutes.mean``) and
what is wrong; the error as a whole names the file it came from.  The command
line turns it into a message and exit status 2; a web form can show each
problem beside its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = ["Problem", "ScenarioError", "format_path", "parse_path"]


def format_path(loc: Sequence[str | int]) -> str:
    """Render a location tuple as ``items[3].steps[1].minutes``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_path(text: str) -> tuple[str | int, ...]:
    """Inverse of :func:`format_path`: ``items[3].steps[1]`` -> ("items", 3, "steps", 1)."""
    out: list[str | int] = []
    for part in text.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        for idx in rest.split("[") if rest else ():
            idx = idx.rstrip("]")
            out.append(int(idx) if idx.lstrip("-").isdigit() else idx)
    return tuple(out)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is and what is wrong.

    ``line`` and ``column`` (1-based) point into the file when it was read
    from one; ``file`` names another file than the error's own (a base file);
    ``key`` is a field written inside ``path`` that the problem is about (an
    unknown field), so the position can point at it.
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    file: str | None = None
    key: str | None = field(default=None, compare=False, repr=False)  # a field named inside path (unknown field)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def where(self, source: str | None) -> str:
        """``file:line:column`` (or ``file``) of the problem, for messages."""
        head = self.file or source or "scenario"
        if self.line is not None:
            head += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return head


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
        lines += [f"{p.where(self.source)}: {p}" for p in self.problems]
        return "\n".join(lines)

    def with_source(self, source: str) -> "ScenarioError":
        return ScenarioError(self.problems, source)

    def __reduce__(self):  # keep picklable for worker processes
        return (ScenarioError, (self.problems, self.source))
