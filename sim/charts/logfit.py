"""Charts of a calibration's fit: the log against the model over time, and shares side by side.

* ``over_time``: a measure by period (e.g. cases in progress at week ends),
  the log as a line, the model's mean with its 95% band over replications,
  the start of the held-out tail marked;
* ``shares_side_by_side``: the log's and the model's shares of a category
  (arrivals by weekday or clock hour) as paired bars;
* ``stage_durations``: each stage's mean working days in the log and in the
  model (with its 95% interval over replications), one row per stage.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.ticker import PercentFormatter

from ._check import check_lang
from ._figure import finish, new_axes
from .style import PALETTE, style

LABELS = {
    "log": {"en": "log", "zh": "日志"},
    "model": {"en": "model (mean, 95% band)", "zh": "模型(均值与95%区间)"},
    "model_bar": {"en": "model", "zh": "模型"},
    "held_out": {"en": "held out from here", "zh": "留出期起点"},
    "wip": {"en": "Cases in progress at week ends", "zh": "每周末在办案件数"},
    "decisions": {"en": "Decisions per week", "zh": "每周办结件数"},
    "cases": {"en": "cases", "zh": "件"},
    "weekday": {"en": "Arrivals by weekday", "zh": "按星期的到达分布"},
    "hour": {"en": "Arrivals by clock hour", "zh": "按时段的到达分布"},
    "share": {"en": "share of cases", "zh": "案件占比"},
    "stages": {"en": "Working days per stage: log and model", "zh": "各办理环节的工作日:日志与模型"},
    "stage_days": {"en": "mean working days (model: 95% interval)", "zh": "平均工作日(模型:95%区间)"},
    "model_ci": {"en": "model (mean, 95% interval)", "zh": "模型(均值与95%区间)"},
    "decision": {"en": "to the decision", "zh": "至办结"},
}


def _t(key: str, lang: str) -> str:
    return LABELS[key][lang]


def over_time(log: pd.Series, model: pd.DataFrame, title: str, split=None, *, lang: str = "en", ax=None):
    """``log``: values by time; ``model``: columns mean, ci_low, ci_high on the same index; ``title`` a LABELS key."""
    check_lang(lang)
    with style():
        fig, ax = new_axes(ax)
        ax.fill_between(model.index, model["ci_low"], model["ci_high"], color=PALETTE[1], alpha=0.25, linewidth=0)
        ax.plot(model.index, model["mean"], color=PALETTE[1], label=_t("model", lang))
        ax.plot(log.index, log.to_numpy(), color=PALETTE[0], label=_t("log", lang))
        if split is not None:
            ax.axvline(split, color="0.3", linestyle="--", linewidth=1)
            ax.text(split, 1.0, " " + _t("held_out", lang), transform=ax.get_xaxis_transform(), va="bottom", fontsize=11)
        ax.set_title(_t(title, lang))
        ax.set_ylabel(_t("cases", lang))
        ax.legend(loc="upper left")
        return finish(fig)


def shares_side_by_side(log: pd.Series, model: pd.Series, title: str, *, lang: str = "en", ax=None):
    """Paired bars of two share tables over the same categories (the log's index order)."""
    check_lang(lang)
    keys = list(log.index.union(model.index, sort=False))
    lv, mv = log.reindex(keys, fill_value=0.0), model.reindex(keys, fill_value=0.0)
    with style():
        fig, ax = new_axes(ax)
        x = range(len(keys))
        ax.bar([i - 0.2 for i in x], lv.to_numpy(), width=0.4, color=PALETTE[0], label=_t("log", lang))
        ax.bar([i + 0.2 for i in x], mv.to_numpy(), width=0.4, color=PALETTE[1], label=_t("model_bar", lang))
        ax.set_xticks(list(x), [str(k) for k in keys])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(_t(title, lang))
        ax.set_ylabel(_t("share", lang))
        ax.legend()
        return finish(fig)


def stage_durations(table: pd.DataFrame, *, lang: str = "en", ax=None):
    """``table``: one row per stage in order, columns stage, log_mean, model_mean, model_ci_low, model_ci_high."""
    check_lang(lang)
    with style():
        fig, ax = new_axes(ax)
        y = list(range(len(table)))[::-1]
        ax.barh([v + 0.2 for v in y], table["log_mean"].to_numpy(), height=0.4, color=PALETTE[0], label=_t("log", lang))
        mean = table["model_mean"].to_numpy()
        err = [mean - table["model_ci_low"].to_numpy(), table["model_ci_high"].to_numpy() - mean]
        ax.barh([v - 0.2 for v in y], mean, height=0.4, color=PALETTE[1], xerr=err, capsize=3,
                label=_t("model_ci", lang))
        ax.set_yticks(y, [_t("decision", lang) if s == "decision" else str(s) for s in table["stage"]])
        ax.set_title(_t("stages", lang))
        ax.set_xlabel(_t("stage_days", lang))
        ax.legend(loc="lower right")
        return finish(fig)
