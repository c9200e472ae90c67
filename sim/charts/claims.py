"""Published claims against the simulation (a dot-and-whisker chart, one row per claim).

Each row is one claim (e.g. "办理时限压缩至3个工作日").  Claims are in different
units, so every row has its own horizontal scale, starting at zero; the
numbers are written out beside it.  The dot is the simulated mean and its
whisker the 95% confidence interval over replications; the open diamond is
the claimed value; the grey band is the range of the simulated value under
the other plausible assumptions (least to most favourable to the claim).
The colour and the label on the right give the verdict: reproduced,
reproduced only under some assumptions, not reproduced, refuted, or not
testable.  Claims without numbers are listed with their verdict only.
An optional ``claim_zh`` column gives the claim's Chinese wording for
``lang="zh"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import VERDICTS, text, verdict_label, wrap
from .style import BLUE, GREEN, GREY, LIGHT_GREY, ORANGE, VERMILLION, style

COLUMNS = [
    "claim_id", "claim", "kind", "claimed", "simulated_mean", "ci_low", "ci_high",
    "unit", "verdict", "least_favourable", "most_favourable",
]
VERDICT_COLOURS = {
    "reproduced": GREEN,
    "reproduced_under_assumptions": BLUE,
    "not_reproduced": ORANGE,
    "refuted": VERMILLION,
    "not_testable": GREY,
    "limit": GREY,
    "input": GREY,
}
VERDICT_TEXT = {"not_reproduced": "black", "not_testable": "black", "limit": "black", "input": "black"}  # dark text on the light colours
UNITS_ZH = {
    "working days": "工作日", "working hours": "工作小时", "calendar days": "自然日", "days": "天",
    "hours": "小时", "minutes": "分钟", "working minutes": "工作分钟", "trips": "次", "cases": "件",
    "visits": "次", "returns": "次", "materials": "份", "yuan": "元",
    "share of items": "(事项占比)", "share of immediate items": "(即办件占比)", "share of cases": "(办件占比)",
}
NUMBERS = ["claimed", "simulated_mean", "ci_low", "ci_high", "least_favourable", "most_favourable"]
TRACK = (0.02, 0.56)  # where each row's own scale is drawn, in axes-width units


def _fmt(v: float, unit: str) -> str:
    if str(unit).startswith("share"):
        return f"{100 * v:.3g}%"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _unit(unit: str, lang: str) -> str:
    if unit in ("", "share", "nan"):
        return ""
    if lang == "zh":
        return " " + UNITS_ZH.get(unit, unit)
    return f" ({unit.removeprefix('share ')})" if unit.startswith("share ") else " " + unit


def _rows(claims: pd.DataFrame, lang: str) -> pd.DataFrame:
    check_table(claims, COLUMNS, "claims")
    if claims.empty:
        raise ValueError("claims: the table has no rows")
    out = claims[COLUMNS].copy().reset_index(drop=True)
    for c in NUMBERS:
        out[c] = numeric(out[c])
    for c in ("claim_id", "claim", "kind", "unit", "verdict"):
        out[c] = out[c].fillna("").astype(str)
    if lang == "zh" and "claim_zh" in claims:  # the source's own words, where given
        zh = claims["claim_zh"].reset_index(drop=True).fillna("").astype(str).str.strip()
        out["claim"] = zh.where(zh.str.len() > 0, out["claim"])
    return out


def _numbers_text(r, lang: str) -> str:
    unit = _unit(r.unit, lang)
    parts = []
    if np.isfinite(r.simulated_mean):
        ci = f" [{_fmt(r.ci_low, r.unit)}, {_fmt(r.ci_high, r.unit)}]" if np.isfinite(r.ci_low) and np.isfinite(r.ci_high) else ""
        parts.append(f"{text('simulated_short', lang)} {_fmt(r.simulated_mean, r.unit)}{ci}")
    if np.isfinite(r.claimed):
        parts.append(f"{text('claimed_short', lang)} {_fmt(r.claimed, r.unit)}")
    return (" · ".join(parts) + unit) if parts else text("no_number", lang)


def claims_figure(claims: pd.DataFrame, *, lang: str = "en", ax=None):
    """One row per claim: simulated mean with 95% CI, claimed value, robustness range, verdict."""
    check_lang(lang)
    rows = _rows(claims, lang)
    n = len(rows)
    size = (10.0, float(np.clip(0.7 * n + 2.4, 3.4, 20.0)))
    lo_x, hi_x = TRACK
    with style():
        fig, ax = new_axes(ax, size)
        used = []
        for y, r in enumerate(rows.itertuples(index=False)):
            colour = VERDICT_COLOURS.get(r.verdict, GREY)
            if r.verdict not in used:
                used.append(r.verdict)
            vals = np.array([getattr(r, c) for c in NUMBERS], dtype=float)
            vals = vals[np.isfinite(vals)]
            if vals.size:
                lo = min(0.0, vals.min())
                hi = vals.max() * 1.05 if vals.max() > 0 else 0.0
                if hi <= lo:
                    hi = lo + 1.0

                def pos(v, lo=lo, hi=hi):
                    return lo_x + (hi_x - lo_x) * (v - lo) / (hi - lo)

                t = y - 0.12  # the row's scale sits just above its numbers (the y axis points down)
                ax.plot([lo_x, hi_x], [t, t], color=LIGHT_GREY, linewidth=1, zorder=1)
                ax.plot([pos(0.0)] * 2, [t - 0.12, t + 0.12], color=GREY, linewidth=1, zorder=1)  # the row's zero
                if np.isfinite(r.least_favourable) and np.isfinite(r.most_favourable):
                    a, b = sorted((pos(r.least_favourable), pos(r.most_favourable)))
                    ax.barh(t, max(b - a, 0.004), left=a, height=0.3, color=LIGHT_GREY, zorder=2)
                if np.isfinite(r.simulated_mean):
                    if np.isfinite(r.ci_low) and np.isfinite(r.ci_high):
                        ax.plot([pos(r.ci_low), pos(r.ci_high)], [t, t], color=colour, linewidth=3, zorder=3,
                                solid_capstyle="butt")
                    ax.plot(pos(r.simulated_mean), t, "o", color=colour, markersize=10, zorder=4)
                if np.isfinite(r.claimed):
                    ax.plot(pos(r.claimed), t, "D", markerfacecolor="white", markeredgecolor="black",
                            markeredgewidth=1.6, markersize=9, zorder=5)
                ax.text(lo_x, y + 0.1, _numbers_text(r, lang), ha="left", va="top", fontsize=10, color="#333333")
            else:
                ax.text(lo_x, y, _numbers_text(r, lang), ha="left", va="center", fontsize=10, color=GREY)
            ax.text(1.0, y, verdict_label(r.verdict, lang), ha="right", va="center", fontsize=11,
                    color=VERDICT_TEXT.get(r.verdict, "white"), bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": "none"})
        labels = [wrap(f"{r.claim_id}  {r.claim}".strip(), 34) for r in rows.itertuples(index=False)]
        ax.set_yticks(np.arange(n), labels, fontsize=11)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, 1.0)
        ax.set_xticks([])
        ax.grid(False)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(text("claims_title", lang))
        handles = [
            Line2D([], [], color=GREY, marker="o", markersize=9, linewidth=3, label=text("simulated", lang)),
            Line2D([], [], color="none", marker="D", markerfacecolor="white", markeredgecolor="black",
                   markersize=8, label=text("claimed", lang)),
            Patch(color=LIGHT_GREY, label=text("robustness", lang)),
        ] + [Patch(color=VERDICT_COLOURS.get(v, GREY), label=verdict_label(v, lang))
             for v in VERDICTS + tuple(u for u in used if u not in VERDICTS) if v in used]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncols=3, fontsize=11)
        finish(fig)
    return fig
