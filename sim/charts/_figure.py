"""Figure creation and saving shared by the charts: never pyplot, never a display."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from matplotlib.figure import Figure

from .style import FIGSIZE, style

FORMATS = ("png", "svg", "pdf")


def new_axes(ax=None, size: tuple[float, float] = FIGSIZE):
    """``(figure, axes)``: the given axes and its figure, or a new figure of ``size`` inches."""
    if ax is not None:
        try:
            return ax.get_figure(root=True), ax
        except TypeError:  # matplotlib < 3.10: no root argument
            return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def finish(fig: Figure) -> Figure:
    """Create the tick labels now, inside the chart style, so they keep its font when drawn later."""
    for a in fig.axes:
        for axis in (a.xaxis, a.yaxis):
            axis.get_major_ticks()
            axis.get_minor_ticks()
    return fig


def save(fig: Figure, path_stem, formats: Iterable[str] = ("png", "svg"), dpi: float = 200) -> list[Path]:
    """Write ``fig`` as ``path_stem.png``, ``path_stem.svg`` ...; returns the paths written.

    At the default size (10 x 5.6 inches) and 200 dpi a PNG is 2000 x 1120
    pixels, sharp on a 16:9 slide.  SVG text is stored as outlines, so it
    shows the same on machines without the font.  Parent directories are
    created; existing files of the same names are replaced.
    """
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats: expected some of {', '.join(FORMATS)}, got {list(formats)!r}")
    if not dpi > 0:
        raise ValueError(f"dpi: must be positive, got {dpi!r}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with style():
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            meta = {"Date": None} if fmt in ("svg", "pdf") else {}
            fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)
            paths.append(path)
    return paths
