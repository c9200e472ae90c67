"""Terminal output: display widths, numbers, tables and progress.

Everything the command line prints goes through here, so the rules hold
everywhere:

* widths are display columns (Chinese characters count two), and tables fit
  in :data:`WIDTH` columns: a column of labels wraps at natural breaks
  instead of pushing the line wider;
* one quantity keeps one number of decimals: a value and its interval, and
  every value down a column of one KPI, get the same decimals (three
  significant digits of the largest), shares are percent with one decimal;
* intervals are written ``[low; high]`` (no thousands commas, so the
  separator cannot be mistaken for one), a value that does not exist in a
  scope is ``n/a``, and every number has its unit beside it (a unit column,
  a unit line under a KPI, or the column header);
* progress goes to stderr: a bar redrawn in place on a terminal, a plain
  line every few seconds when stderr is a file or a pipe.
"""

from __future__ import annotations

import math
import os
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence, TextIO

__all__ = [
    "WIDTH", "NA", "width", "pad", "wrap", "hanging", "duration", "decimals", "num", "interval", "unit_text",
    "is_share", "Span", "RULE", "table", "Progress",
]

WIDTH = 100  # display columns every table fits in
NA = "n/a"


# -- text ------------------------------------------------------------------------------------
def width(text: str) -> int:
    """Display columns of ``text``: East Asian wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cols: int, align: str = "l") -> str:
    """``text`` padded with spaces to ``cols`` display columns (``align`` ``l`` or ``r``)."""
    fill = " " * max(0, cols - width(text))
    return fill + text if align == "r" else text + fill


_BREAK_AFTER = " /,，、)）;:"
_BREAK_BEFORE = "(（"


def wrap(text: str, cols: int) -> list[str]:
    """``text`` cut into lines of at most ``cols`` display columns.

    Lines break after a space, slash, comma or closing parenthesis, or before
    an opening one; a run with no break in reach is cut where it must be.
    """
    cols = max(cols, 2)
    lines: list[str] = []
    rest = text
    while width(rest) > cols:
        best, used = 0, 0
        for i, ch in enumerate(rest):
            if used + width(ch) > cols:
                break
            used += width(ch)
            if ch in _BREAK_AFTER:
                best = i + 1
            elif ch in _BREAK_BEFORE and i > 0:
                best = i
        if best == 0:  # no break in reach: cut at the width
            used = 0
            for i, ch in enumerate(rest):
                if used + width(ch) > cols:
                    best = i
                    break
                used += width(ch)
        lines.append(rest[:best].rstrip())
        rest = rest[best:].lstrip()
    lines.append(rest)
    return lines


def hanging(text: str, cols: int, indent: int) -> list[str]:
    """``text`` wrapped to ``cols`` columns, lines after the first indented by ``indent`` spaces."""
    first = wrap(text, cols)[0]
    rest = text[len(first):].strip()
    return [first] + ([" " * indent + x for x in wrap(rest, cols - indent)] if rest else [])


def duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    s = int(round(seconds))
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# -- numbers ------------------------------------------------------------------------------------
def _finite(values: Iterable[float]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def decimals(values: Iterable[float], sig: int = 3, most: int = 4) -> int:
    """Decimals that give the largest of ``values`` ``sig`` significant digits (0 to ``most``)."""
    ref = max((abs(v) for v in _finite(values)), default=0.0)
    if ref == 0:
        return 0
    return int(min(most, max(0, sig - 1 - math.floor(math.log10(ref)))))


def num(value: float, dec: int) -> str:
    """``value`` with ``dec`` decimals, no thousands separator; ``n/a`` for NaN; never ``-0``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return NA
    if not math.isfinite(v):
        return NA
    s = f"{v:.{dec}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def interval(low: float, high: float, dec: int) -> str:
    """``[low; high]`` with ``dec`` decimals, or ``n/a`` when there is no interval."""
    lo, hi = num(low, dec), num(high, dec)
    return NA if NA in (lo, hi) else f"[{lo}; {hi}]"


_UNITS = {
    "share": "%",
    "share of items": "% of items",
    "working days": "work days",
    "working hours": "work hours",
    "working minutes": "work min",
    "minutes": "min",
    "calendar days": "cal. days",
    "cases per working day": "per work day",
    "visits per working day": "per work day",
    "applications per working day": "per work day",
}


def unit_text(unit: str) -> str:
    """The short form of a KPI unit printed beside its numbers (``share`` is ``%``)."""
    return _UNITS.get(unit, unit)


def is_share(unit: str) -> bool:
    return unit.startswith("share")


# -- tables ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A row of free text placed at column starts: ``{column index: text}``; it may run past its column."""

    cells: dict = field(default_factory=dict)


RULE = "rule"  # a row of dashes under every column


def _split_decimal(cell: str) -> tuple[str, str]:
    """(integer part, rest from the decimal point) of a number; other text is all integer part."""
    head = cell.split(" ", 1)[0]
    try:
        float(head)
    except ValueError:
        return cell, ""
    k = cell.find(".")
    return (cell, "") if k < 0 else (cell[:k], cell[k:])


def table(
    rows: Sequence,
    align: str,
    *,
    header: int = 1,
    max_width: int = WIDTH,
    fill: int | None = None,
    limits: dict[int, int] | None = None,
    sep: str = "  ",
) -> str:
    """Rows of cells as aligned text, ``header`` rows then a rule of dashes.

    ``align`` has one letter per column: ``l`` left, ``r`` right, ``.`` on
    the decimal point (right for text).  Cells of column ``fill`` wrap to
    whatever is left of ``max_width``; cells of a column in ``limits`` wrap
    at that many columns.  A row may also be a :class:`Span` or
    :data:`RULE`.
    """
    limits = dict(limits or {})
    grid = [r for r in rows if not isinstance(r, Span) and r != RULE]
    ncol = len(align)
    body = grid[header:]
    # decimal-aligned columns: widest integer part and widest fraction among the body's numbers
    int_w = [0] * ncol
    frac_w = [0] * ncol
    for j, a in enumerate(align):
        if a == ".":
            for r in body:
                i, f = _split_decimal(r[j])
                if f or _is_number(r[j]):
                    int_w[j] = max(int_w[j], width(i))
                    frac_w[j] = max(frac_w[j], width(f))

    def natural(j: int) -> int:
        w = max((width(r[j]) for r in grid), default=0)
        if align[j] == ".":
            w = max(w, int_w[j] + frac_w[j])
        return w

    widths = [natural(j) for j in range(ncol)]
    for j, lim in limits.items():
        widths[j] = min(widths[j], lim)
    if fill is not None:
        others = sum(w for j, w in enumerate(widths) if j != fill) + len(sep) * (ncol - 1)
        widths[fill] = max(min(widths[fill], max_width - others), 8)
        limits[fill] = widths[fill]

    def cell(j: int, text: str, is_head: bool) -> str:
        a = align[j]
        if a == "." and not is_head:
            i, f = _split_decimal(text)
            if f or _is_number(text):
                return pad(pad(i, int_w[j], "r") + pad(f, frac_w[j]), widths[j], "r")
            return pad(text, widths[j], "r")
        if a == ".":
            a = "r"
        return pad(text, widths[j], a)

    starts = []
    x = 0
    for w in widths:
        starts.append(x)
        x += w + len(sep)
    lines: list[str] = []
    k = 0
    for r in rows:
        if r == RULE:
            lines.append(sep.join("-" * w for w in widths))
            continue
        if isinstance(r, Span):
            line = ""
            for j in sorted(r.cells):
                text = r.cells[j]
                at = starts[j]
                gap = at - width(line) if width(line) <= at else len(sep)
                line += " " * gap + text if line else " " * at + text
            lines.append(line.rstrip())
            continue
        is_head = k < header
        parts = [wrap(c, limits[j]) if j in limits and not is_head else [c] for j, c in enumerate(r)]
        for m in range(max(len(p) for p in parts)):
            line = sep.join(cell(j, p[m] if m < len(p) else "", is_head) for j, p in enumerate(parts))
            lines.append(line.rstrip())
        k += 1
        if k == header:
            lines.append(sep.join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- progress --------------------------------------------------------------------------------------
class Progress:
    """Progress of ``total`` steps on stderr, for commands that take more than a moment.

    On a terminal one line (done, total, elapsed, time left) is redrawn in
    place and erased at the end.  When stderr is a file or a pipe a plain
    line is written every ``PIPE_INTERVAL`` seconds (the first after
    ``PIPE_DELAY``: quick commands stay quiet), and a last line with the
    total time if any line was written, so a log shows how far the run got.
    ``total`` may grow (batches planned as they come) or be unknown (None).
    """

    PIPE_DELAY = 2.0
    PIPE_INTERVAL = 5.0

    def __init__(self, total: int | None, label: str = "replications", *, stream: TextIO | None = None,
                 tty: bool | None = None, clock=time.monotonic, growing: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        self.tty = tty
        self.total = total
        self.label = label
        self.growing = growing
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.shown = False  # anything written
        self.last = -math.inf  # time of the last line or redraw
        self.closed = False
        if self.tty and total:  # on a terminal the count is there from the start
            self._write("\r" + self.text() + "\x1b[K")
            self.last = self.start

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
            self.shown = True
        except (OSError, ValueError):  # stderr closed: progress is not worth failing for
            self.closed = True

    def text(self) -> str:
        elapsed = self.clock() - self.start
        if self.total:
            so_far = " planned so far" if self.growing else ""
            s = f"{self.label}: {self.done} of {self.total}{so_far} ({100 * self.done / self.total:.0f}%), {duration(elapsed)} elapsed"
            if 0 < self.done and elapsed > 0:
                per_min = 60 * self.done / elapsed
                s += f", {per_min:.3g} a minute" if per_min < 60 else f", {per_min / 60:.3g} a second"
            if 0 < self.done < self.total and not self.growing:
                s += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
            return s
        return f"{self.label}: {self.done} done, {duration(elapsed)} elapsed"

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` steps finished (of ``total``, if it changed)."""
        if self.closed:
            return
        self.done = done
        if total is not None:
            self.total = total
        now = self.clock()
        since = now - self.start
        if self.tty:
            if now - self.last >= 0.1 or done == self.total:
                self._write("\r" + self.text() + "\x1b[K")
                self.last = now
        elif (since >= self.PIPE_DELAY and now - self.last >= self.PIPE_INTERVAL
              and (self.growing or done != self.total)):
            self._write(self.text() + "\n")
            self.last = now

    def note(self, text: str) -> None:
        """A line of its own above the bar (a stage of the work); the bar is drawn again below it on a terminal."""
        if self.closed:
            return
        if self.tty:
            self._write("\r\x1b[K" + text + "\n" + (self.text() + "\x1b[K" if self.total else ""))
        else:
            self._write(text + "\n")

    def close(self, finished: bool = True) -> None:
        """Erase the bar, or write the last line (``finished`` False: the work stopped early)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.tty and self.shown:
                self.stream.write("\r\x1b[K")
            elif self.shown:
                total = f" of {self.total}" if self.total else ""
                took = duration(self.clock() - self.start)
                how = f"done in {took}" if finished else f"done when stopped after {took}"
                self.stream.write(f"{self.label}: {self.done}{total} {how}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(finished=exc_type is None)
