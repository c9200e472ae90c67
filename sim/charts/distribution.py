"""Distribution of a per-case measure before and after a reform (ECDF).

One step line per scenario: at each value x on the horizontal axis, the
height is the share of completed cases whose measure (lead time in working
days by default) is at or below x.  A line further left and higher is
faster; where two lines cross, the reform helps some cases and not others.
Each line ends at 1.0 at the slowest case.  Vertical dashed lines mark time
limits (承诺时限, 法定时限): where a line meets one is the share of cases
finished within that limit.  Only completed cases count (abandoned and
unfinished ones have no lead time); the legend gives their number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import measure_label, text
from .style import BLACK, GREY, PALETTE, style

LIMIT_STYLES = ["--", ":", "-."]


def _values(cases: dict, measure: str) -> dict[str, np.ndarray]:
    if not isinstance(cases, dict) or not cases:
        raise ValueError("cases: expected a non-empty dict {scenario label: cases table}")
    out = {}
    for label, df in cases.items():
        check_table(df, ["status", measure], f"cases[{label!r}]")
        done = df[df["status"] == "completed"]
        x = numeric(done[measure]).to_numpy()
        out[str(label)] = np.sort(x[np.isfinite(x)])
    if not any(v.size for v in out.values()):
        raise ValueError(f"cases: no completed case has a value of {measure!r} in any scenario ({', '.join(out)})")
    return out


def distribution_before_after(
    cases: dict[str, pd.DataFrame],
    measure: str = "lead_time_working_days",
    limits: dict[str, float] | None = None,
    *,
    lang: str = "en",
    ax=None,
):
    """ECDF of ``measure`` over completed cases, one line per scenario (the dict key is the legend label).

    ``limits`` maps a limit's name to working days (or the measure's unit) and
    draws a labelled vertical line for each.  Returns the figure.
    """
    check_lang(lang)
    values = _values(cases, measure)
    limits = dict(limits or {})
    for name, v in limits.items():
        try:
            ok = np.isfinite(float(v))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"limits[{name!r}]: expected a finite number of working days, got {v!r}")
    with style():
        fig, ax = new_axes(ax)
        lo = min(v[0] for v in values.values() if v.size)
        for k, (label, x) in enumerate(values.items()):
            color = PALETTE[k % len(PALETTE)]
            shown = text("n_cases", lang, label=label, n=x.size)
            if x.size == 0:
                ax.plot([], [], color=color, label=shown)
                continue
            xs = np.concatenate([[min(lo, x[0])], x])
            ys = np.concatenate([[0.0], np.arange(1, x.size + 1) / x.size])
            ax.step(xs, ys, where="post", color=color, label=shown)
        for k, (name, v) in enumerate(limits.items()):
            ax.axvline(float(v), color=BLACK if k == 0 else GREY, linestyle=LIMIT_STYLES[k % 3], linewidth=1.5)
            ax.annotate(
                f"{name}: {float(v):g}", xy=(float(v), 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -4 - 18 * k), textcoords="offset points", ha="left", va="top", fontsize=11, color=BLACK,
            )
        ax.set_ylim(0, 1.04)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        name = measure_label(measure, lang)
        ax.set_xlabel(name)
        ax.set_ylabel(text("ecdf_y", lang))
        ax.set_title(text("ecdf_title", lang, measure=name))
        ax.legend(loc="lower right")
        finish(fig)
    return fig
