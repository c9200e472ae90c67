"""Which assumptions matter most (a tornado chart of one-at-a-time sensitivity).

Each bar is one assumption (e.g. the share of incomplete applications, the
intermediary's report time) moved from the shared default to the low and to
the high end of its plausible range, with everything else at the default.
The bar spans the simulated measure at the two ends; the solid vertical line
is the measure at the shared default, the dashed one the claimed value.
Bars are sorted by swing (the distance between the two ends), largest on
top: the assumptions at the top are the ones a claim's verdict depends on.
The assumption's range is written under its name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import measure_label, text, wrap
from .style import BLACK, BLUE, ORANGE, style

COLUMNS = ["assumption", "label_en", "label_zh", "low_value", "high_value", "measure_low", "measure_high", "base"]


def tornado_table(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """The rows drawn, largest swing first (rows without both ends dropped)."""
    check_table(sensitivity, COLUMNS, "sensitivity")
    df = sensitivity[COLUMNS].copy()
    for c in ("measure_low", "measure_high", "base"):
        df[c] = numeric(df[c])
    df = df[np.isfinite(df["measure_low"]) & np.isfinite(df["measure_high"])]
    if df.empty:
        raise ValueError("sensitivity: no assumption with both measure_low and measure_high (empty table or all NaN)")
    if not np.isfinite(df["base"]).any():
        raise ValueError("sensitivity: base is missing (NaN) in every row")
    df["swing"] = (df["measure_high"] - df["measure_low"]).abs()
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def _value(v) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


def tornado(
    sensitivity: pd.DataFrame,
    claimed: float | None = None,
    *,
    measure: str | None = None,
    lang: str = "en",
    ax=None,
):
    """Horizontal bars of the measure at each assumption's low and high end, sorted by swing.

    ``measure`` (a KPI or column name) labels the axis and title; ``claimed``
    adds a dashed line at the claimed value.
    """
    check_lang(lang)
    df = tornado_table(sensitivity)
    if claimed is not None and not np.isfinite(float(claimed)):
        claimed = None
    base = float(df["base"].dropna().mean())
    n = len(df)
    size = (10.0, float(np.clip(0.55 * n + 2.2, 5.6, 20.0)))
    with style():
        own = ax is None
        fig, ax = new_axes(ax, size)
        y = np.arange(n)
        ax.barh(y, df["measure_low"] - base, left=base, height=0.6, color=BLUE)
        ax.barh(y, df["measure_high"] - base, left=base, height=0.6, color=ORANGE)
        ax.axvline(base, color=BLACK, linewidth=1.5)
        handles = [Patch(color=BLUE, label=text("at_low", lang)), Patch(color=ORANGE, label=text("at_high", lang)),
                   Line2D([], [], color=BLACK, linewidth=1.5, label=f"{text('base', lang)}: {base:.3g}")]
        if claimed is not None:
            ax.axvline(float(claimed), color=BLACK, linestyle="--", linewidth=1.5)
            handles.append(Line2D([], [], color=BLACK, linestyle="--", linewidth=1.5,
                                  label=f"{text('claimed', lang)}: {float(claimed):.3g}"))
        name_col = "label_zh" if lang == "zh" else "label_en"
        labels = []
        for r in df.itertuples(index=False):
            name = getattr(r, name_col)
            name = str(name) if isinstance(name, str) and name.strip() else str(r.assumption)
            rng = f"({_value(r.low_value)} – {_value(r.high_value)})"
            labels.append(f"{wrap(name, 28, max_lines=2)}\n{rng}")
        ax.set_yticks(y, labels, fontsize=11)
        ax.set_ylim(n - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        mname = measure_label(measure, lang) if measure else text("simulated_value", lang)
        ax.set_xlabel(mname)
        ax.set_title(text("tornado_title", lang, measure=mname))
        if own:  # below the plot, clear of the bars
            fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=11)
        else:
            ax.legend(handles=handles, loc="best", fontsize=11)
        finish(fig)
    return fig
