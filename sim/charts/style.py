"""Slide style of the charts: colour-blind-safe palette, font sizes, figure size.

The palette is Okabe and Ito's (distinguishable with the common colour-vision
deficiencies).  Chart functions draw inside :func:`style`, a matplotlib
``rc_context``, so the style never leaks into the caller's other figures.
"""

from __future__ import annotations

from cycler import cycler
from matplotlib import rc_context

from ._font import FAMILIES

# Okabe-Ito, black last (used for reference lines)
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, BLACK = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000",
)
PALETTE = [BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW]
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"

FIGSIZE = (10.0, 5.6)  # inches, 16:9-friendly; 2000 x 1120 pixels at 200 dpi

RC = {
    "font.family": FAMILIES,
    "font.size": 13,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.title_fontsize": 12,
    "figure.titlesize": 17,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.unicode_minus": True,  # the bundled font has U+2212
    "legend.frameon": False,
    "lines.linewidth": 2.2,
    "svg.fonttype": "path",  # SVG text as outlines: no font needed to view it
    "svg.hashsalt": "approval-sim",  # stable element ids: same chart, same file
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}


def style():
    """Context manager applying the chart style (a ``matplotlib.rc_context``)."""
    return rc_context(RC)
