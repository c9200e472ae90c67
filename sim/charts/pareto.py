"""What each design the optimiser met costs and achieves (a Pareto chart per KPI).

One panel per KPI, side by side.  Each design is a point at its annual cost
(in 10,000 yuan, 万元/年) and its estimated KPI mean, with the 95% CI as a
vertical error bar, coloured and marked by the optimiser's decision:
feasible (meets every target), infeasible (misses a target), undecided, or
other (not judged, the pilot design, ...) in a light grey.  Designs without an
estimate of the KPI (skipped, invalid) are not drawn.  The black step line
joins the designs on the cost-against-KPI Pareto front (the table's
``front_{kpi}`` column) in order of cost; the star is the chosen design; the
dashed line is the KPI's target when ``thresholds`` has one.

The input is the optimiser's ``candidates`` table (one row per design met):
``design``, ``cost_yuan_per_year``, ``decision``, ``chosen`` and, for every
KPI ``k`` drawn, ``{k}_mean``, ``{k}_ci_low``, ``{k}_ci_high`` and
``front_{k}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import LABELS, measure_label, text, wrap
from .style import BLACK, GREEN, GREY, LIGHT_GREY, ORANGE, VERMILLION, style

BASE_COLUMNS = ["design", "cost_yuan_per_year", "decision", "chosen"]
WAN = 1e4  # yuan in one 万 (the x axis unit)

# decision group -> (label key, colour, marker); drawn in this order, "other" underneath
GROUPS = {
    "other": ("pareto_other", LIGHT_GREY, "s"),
    "undecided": ("pareto_undecided", ORANGE, "D"),
    "infeasible": ("pareto_infeasible", VERMILLION, "X"),
    "feasible": ("pareto_feasible", GREEN, "o"),
}
LEGEND_ORDER = ("feasible", "infeasible", "undecided", "other")

_LABELS = {
    "pareto_title": {"en": "Cost against {kpi}", "zh": "成本与{kpi}"},
    "pareto_suptitle": {"en": "Cost and results of the designs evaluated", "zh": "各方案的成本与结果"},
    "pareto_cost": {"en": "Annual cost (10,000 yuan per year)", "zh": "年度成本(万元/年)"},
    "pareto_feasible": {"en": "Feasible: meets every target", "zh": "满足全部目标"},
    "pareto_infeasible": {"en": "Infeasible: misses a target", "zh": "未达标"},
    "pareto_undecided": {"en": "Undecided", "zh": "未判定"},
    "pareto_other": {"en": "Other: not judged, pilot", "zh": "其他(未评判、试点)"},
    "pareto_front": {"en": "Pareto front", "zh": "帕累托前沿"},
    "pareto_chosen": {"en": "Chosen design", "zh": "所选方案"},
    "pareto_target": {"en": "Target", "zh": "目标"},
}
# every chart text lives in the one table of labels.py; these are the Pareto chart's
LABELS.update(_LABELS)


def decision_group(decision) -> str:
    """``feasible``, ``infeasible``, ``undecided`` or ``other`` (not judged, pilot, skipped, invalid, ...)."""
    d = str(decision).strip().lower()
    return d if d in ("feasible", "infeasible", "undecided") else "other"


def _kpi_list(kpis) -> list[str]:
    if isinstance(kpis, str):
        kpis = [kpis]
    try:
        out = [str(k) for k in kpis]
    except TypeError:
        raise ValueError(f"kpis: expected a sequence of KPI names, got {type(kpis).__name__}") from None
    if not out:
        raise ValueError("kpis: expected at least one KPI name, got none")
    dup = sorted({k for k in out if out.count(k) > 1})
    if dup:
        raise ValueError(f"kpis: each KPI once, got {', '.join(dup)} more than once")
    return out


def _thresholds(thresholds, kpis: list[str]) -> dict[str, float]:
    if thresholds is None:
        return {}
    if not isinstance(thresholds, Mapping):
        raise ValueError(f"thresholds: expected a mapping of KPI name to number, got {type(thresholds).__name__}")
    out = {}
    for k in kpis:
        if k not in thresholds or thresholds[k] is None:
            continue
        try:
            v = float(thresholds[k])
        except (TypeError, ValueError):
            raise ValueError(f"thresholds[{k!r}]: expected a number, got {thresholds[k]!r}") from None
        if not np.isfinite(v):
            raise ValueError(f"thresholds[{k!r}]: expected a finite number, got {thresholds[k]!r}")
        out[k] = v
    return out


def _flag(series: pd.Series) -> np.ndarray:
    """A true/false column as booleans (missing values are false)."""
    return series.eq(True).to_numpy(bool)


def pareto_table(candidates: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """The points drawn for ``kpi``: design, cost (万元/年), mean, CI, group, front, chosen; sorted by cost."""
    cols = [f"{kpi}_mean", f"{kpi}_ci_low", f"{kpi}_ci_high", f"front_{kpi}"]
    check_table(candidates, BASE_COLUMNS + cols, "candidates")
    df = pd.DataFrame({
        "design": candidates["design"].astype(str).to_numpy(),
        "cost": numeric(candidates["cost_yuan_per_year"]).to_numpy() / WAN,
        "mean": numeric(candidates[f"{kpi}_mean"]).to_numpy(),
        "ci_low": numeric(candidates[f"{kpi}_ci_low"]).to_numpy(),
        "ci_high": numeric(candidates[f"{kpi}_ci_high"]).to_numpy(),
        "group": [decision_group(d) for d in candidates["decision"]],
        "front": _flag(candidates[f"front_{kpi}"]),
        "chosen": _flag(candidates["chosen"]),
    })
    df = df[np.isfinite(df["cost"]) & np.isfinite(df["mean"])]
    return df.sort_values(["cost", "mean"], kind="stable").reset_index(drop=True)


def _axis_label(kpi: str, lang: str) -> str:
    from ..kpis import KPIS

    name = measure_label(kpi, lang)
    unit = KPIS[kpi].unit if kpi in KPIS else ""
    if lang == "en":
        name = name[:1].upper() + name[1:]
        if unit and unit not in name:
            name = f"{name} ({unit})"
    return name


def pareto_chart(
    candidates: pd.DataFrame,
    kpis: Sequence[str],
    *,
    lang: str = "en",
    thresholds: Mapping[str, float] | None = None,
    ax=None,
) -> Figure:
    """Cost (万元/年) against each KPI for every design the optimiser met, one panel per KPI.

    ``kpis`` names the KPIs (keys of ``sim.kpis.KPIS``; one name alone is
    accepted too); ``thresholds`` maps a KPI to its target, drawn as a dashed
    line.  With ``ax`` the chart is drawn into that axes, which allows one
    KPI only.
    """
    check_lang(lang)
    kpis = _kpi_list(kpis)
    if ax is not None and len(kpis) > 1:
        raise ValueError(f"ax: a given axes holds one KPI's panel, got {len(kpis)} KPIs ({', '.join(kpis)}); "
                         "pass one KPI or leave ax out")
    required = BASE_COLUMNS + [f"{k}_{s}" for k in kpis for s in ("mean", "ci_low", "ci_high")] + [f"front_{k}" for k in kpis]
    check_table(candidates, required, "candidates")
    if candidates.empty:
        raise ValueError("candidates: no rows (the optimiser met no design)")
    n_chosen = int(_flag(candidates["chosen"]).sum())
    if n_chosen > 1:
        names = candidates.loc[_flag(candidates["chosen"]), "design"].astype(str)
        raise ValueError(f"candidates: at most one design may be chosen, got {n_chosen} ({', '.join(names)})")
    targets = _thresholds(thresholds, kpis)
    tables = {k: pareto_table(candidates, k) for k in kpis}
    empty = [k for k, t in tables.items() if t.empty]
    if empty:
        raise ValueError(f"candidates: no design has both a cost and an estimate of {', '.join(empty)} (all NaN)")

    n = len(kpis)
    with style():
        own = ax is None
        if own:
            fig = Figure(figsize=(float(min(max(10.0, 5.2 * n), 20.0)), 5.8), layout="constrained")
            axes = list(np.atleast_1d(fig.subplots(1, n, squeeze=False)[0]))
        else:
            fig, ax = new_axes(ax)
            axes = [ax]
        present: set[str] = set()
        drawn = {"ci": False, "front": False, "chosen": False}
        for a, k in zip(axes, kpis):
            panel = _panel(a, tables[k], k, lang, targets.get(k), wrap_title=n > 1)
            present |= panel.pop("groups")
            drawn = {key: drawn[key] or panel[key] for key in drawn}
        handles = _legend_handles(lang, present, target=bool(targets), **drawn)
        if own:
            if n > 1:
                fig.suptitle(text("pareto_suptitle", lang))
            fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=11)
        else:
            ax.legend(handles=handles, loc="best", fontsize=10)
        finish(fig)
    return fig


def _panel(ax, df: pd.DataFrame, kpi: str, lang: str, target: float | None, wrap_title: bool) -> dict:
    groups, has_ci = set(), False
    for g, (_, colour, marker) in GROUPS.items():
        part = df[df["group"] == g]
        if part.empty:
            continue
        groups.add(g)
        edge = GREY if g == "other" else colour
        ci = part[np.isfinite(part["ci_low"]) & np.isfinite(part["ci_high"])]
        if not ci.empty:
            has_ci = True
            lo = np.maximum(ci["mean"] - ci["ci_low"], 0.0)
            hi = np.maximum(ci["ci_high"] - ci["mean"], 0.0)
            ax.errorbar(ci["cost"], ci["mean"], yerr=[lo, hi], fmt="none", ecolor=edge, elinewidth=1.2,
                        capsize=3, alpha=0.8, zorder=2)
        ax.scatter(part["cost"], part["mean"], s=46, c=colour, marker=marker, edgecolors=edge, linewidths=0.8,
                   zorder=3, gid=f"pareto-{g}", label=text(GROUPS[g][0], lang))

    front = df[df["front"]]
    if not front.empty:
        ax.plot(front["cost"], front["mean"], drawstyle="steps-post", color=BLACK, linewidth=1.4, zorder=2.5,
                gid="pareto-front", label=text("pareto_front", lang))

    if target is not None:
        ax.axhline(target, color=BLACK, linestyle="--", linewidth=1.3, zorder=1.5, gid="pareto-target")
        ax.annotate(f"{text('pareto_target', lang)}: {target:.3g}", xy=(1.0, target), xycoords=("axes fraction", "data"),
                    xytext=(-2, 3), textcoords="offset points", ha="right", va="bottom", fontsize=10)

    chosen = df[df["chosen"]]
    has_chosen = not chosen.empty
    if has_chosen:
        row = chosen.iloc[0]
        g = row["group"]
        ax.scatter([row["cost"]], [row["mean"]], s=320, marker="*", c=GROUPS[g][1], edgecolors=BLACK, linewidths=1.0,
                   zorder=4, gid="pareto-chosen", label=text("pareto_chosen", lang))

    ax.set_xlabel(text("pareto_cost", lang))
    ylabel = _axis_label(kpi, lang)
    ax.set_ylabel(wrap(ylabel, 40, max_lines=2))
    title = text("pareto_title", lang, kpi=measure_label(kpi, lang))
    ax.set_title(wrap(title, 44, max_lines=2) if wrap_title else title)
    ax.margins(x=0.08, y=0.1)

    if has_chosen:  # after the limits are known: annotate towards the middle of the panel
        lo, hi = ax.get_xlim()
        right = row["cost"] > (lo + hi) / 2
        ax.annotate(wrap(f"{text('pareto_chosen', lang)}: {row['design']}", 30, max_lines=2),
                    xy=(row["cost"], row["mean"]), xytext=(-14 if right else 14, 16), textcoords="offset points",
                    ha="right" if right else "left", va="bottom", fontsize=10, zorder=6,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "color": BLACK, "linewidth": 0.8})
    return {"groups": groups, "ci": has_ci, "front": not front.empty, "chosen": has_chosen}


def _legend_handles(lang: str, groups: set[str], *, ci: bool, front: bool, chosen: bool, target: bool) -> list:
    handles = []
    for g in LEGEND_ORDER:
        if g in groups:
            key, colour, marker = GROUPS[g]
            handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=8, markerfacecolor=colour,
                                  markeredgecolor=GREY if g == "other" else colour, label=text(key, lang)))
    if front:
        handles.append(Line2D([], [], color=BLACK, linewidth=1.4, label=text("pareto_front", lang)))
    if chosen:
        handles.append(Line2D([], [], linestyle="none", marker="*", markersize=15, markerfacecolor="white",
                              markeredgecolor=BLACK, label=text("pareto_chosen", lang)))
    if target:
        handles.append(Line2D([], [], color=BLACK, linestyle="--", linewidth=1.3, label=text("pareto_target", lang)))
    if ci:
        handles.append(Line2D([], [], color=GREY, marker="_", markersize=10, linewidth=1.2, label=text("ci95", lang)))
    return handles
