"""What each reform contributes to a KPI's change (a waterfall of Shapley values).

The first bar is the KPI before the reforms, the last bar after all of them.
In between, each reform is a floating step from the running total: down for
a reform that lowers the KPI, up for one that raises it, coloured by whether
that is an improvement for this KPI.  The step's size is the reform's Shapley
value (its average marginal effect over every order in which the reforms
could be introduced, from :func:`sim.attribution.shapley`), and the black
whisker at its end is the value's 95% confidence interval.  The steps add up
to the total change; if the table's steps do not (a partial table), the gap
is drawn as a "not split" step so that the last bar still ends at the value
after the reforms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import measure_label, reform_name, text, wrap
from .style import BLACK, BLUE, GREY, VERMILLION, style

COLUMNS = ["reform", "shapley_mean", "ci_low", "ci_high"]
LIGHT = "#BBBBBB"  # the "not split" step


def _steps(attribution: pd.DataFrame) -> pd.DataFrame:
    check_table(attribution, COLUMNS, "attribution")
    steps = attribution[attribution["reform"].astype(str) != "total"]
    if "kpi" in steps and steps["kpi"].nunique() > 1:
        raise ValueError(f"attribution: rows of several KPIs ({', '.join(map(str, steps['kpi'].unique()))}); pass one KPI's rows")
    out = pd.DataFrame({
        "reform": steps["reform"].astype(str),
        "value": numeric(steps["shapley_mean"]),
        "ci_low": numeric(steps["ci_low"]),
        "ci_high": numeric(steps["ci_high"]),
    }).reset_index(drop=True)
    if out.empty:
        raise ValueError("attribution: no reform rows (only a total, or an empty table)")
    bad = out.loc[~np.isfinite(out["value"]), "reform"].tolist()
    if bad:
        raise ValueError(f"attribution: shapley_mean is missing (NaN) for {', '.join(bad)}")
    return out


def waterfall(
    attribution: pd.DataFrame,
    total_before: float,
    total_after: float,
    kpi: str,
    *,
    lang: str = "en",
    ax=None,
):
    """Bars from ``total_before`` to ``total_after`` with one step (and 95% CI whisker) per reform."""
    check_lang(lang)
    steps = _steps(attribution)
    before, after = float(total_before), float(total_after)
    if not (np.isfinite(before) and np.isfinite(after)):
        raise ValueError(f"total_before and total_after: expected finite numbers, got {total_before!r} and {total_after!r}")
    from ..kpis import KPIS

    higher_is_better = KPIS[kpi].higher_is_better if kpi in KPIS else False
    gap = (after - before) - steps["value"].sum()
    scale = max(abs(before), abs(after), float(steps["value"].abs().max()), 1e-12)
    if abs(gap) > 1e-9 * scale:
        steps.loc[len(steps)] = ["__not_split__", gap, np.nan, np.nan]
    names = [text("before", lang)] + [
        text("not_split", lang) if r == "__not_split__" else reform_name(r, lang) for r in steps["reform"]
    ] + [text("after", lang)]
    with style():
        fig, ax = new_axes(ax)
        x = np.arange(len(names))
        ax.bar(x[0], before, color=GREY, width=0.6)
        ax.bar(x[-1], after, color=GREY, width=0.6)
        running = before
        tops = [before]
        for i, row in enumerate(steps.itertuples(index=False), start=1):
            good = (row.value > 0) == higher_is_better
            color = LIGHT if row.reform == "__not_split__" else (BLUE if good else VERMILLION)
            ax.bar(x[i], row.value, bottom=running, color=color, width=0.6)
            end = running + row.value
            top = max(running, end)
            if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
                lo, hi = sorted((running + row.ci_low, running + row.ci_high))
                ax.errorbar(x[i], end, yerr=[[max(end - lo, 0.0)], [max(hi - end, 0.0)]], color=BLACK, capsize=5, linewidth=1.5)
                top = max(top, hi)
            ax.plot([x[i - 1] - 0.3, x[i] + 0.3], [running, running], color=BLACK, linewidth=0.8)
            ax.annotate(_fmt(row.value, signed=True), xy=(x[i], top), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=11)
            tops.append(top)
            running = end
        ax.plot([x[-2] - 0.3, x[-1] + 0.3], [running, running], color=BLACK, linewidth=0.8)
        for i, v in ((0, before), (len(names) - 1, after)):
            ax.annotate(_fmt(v), xy=(x[i], v), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=12)
        ax.set_xticks(x, [wrap(n, 14) for n in names])
        ax.grid(axis="x", visible=False)
        ylabel = measure_label(kpi, lang)
        unit = KPIS[kpi].unit if kpi in KPIS else ""
        ax.set_ylabel(f"{ylabel} ({unit})" if unit and unit not in ylabel and lang == "en" else ylabel)
        ax.set_title(text("waterfall_title", lang, kpi=ylabel))
        ax.legend(
            handles=[Patch(color=BLUE, label=text("better", lang)), Patch(color=VERMILLION, label=text("worse", lang)),
                     Line2D([], [], color=BLACK, marker="_", markersize=10, label=text("ci95", lang))],
            loc="best",
        )
        ax.set_ylim(min(0.0, *tops) * 1.08, max(0.0, before, after, *tops) * 1.12 or 1.0)
        finish(fig)
    return fig


def _fmt(v: float, signed: bool = False) -> str:
    s = f"{v:+.3g}" if signed else f"{v:.3g}"
    return s.replace("-", "\u2212")
