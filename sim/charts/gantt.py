"""One case's journey as a Gantt chart (from the engine's trace table).

Each row is one activity of the case, in the order it became possible, top to
bottom; the horizontal axis is calendar time since the case's first event
(hours for a short case, days for a long one; nights, weekends and holidays
are included, so gaps between bars are often closed offices).  Colours say
whose time it is: queueing (the case waits for a window or back-office role
after it could start), work (served at a window or in the back office, and
hand-offs between them), travel, the applicant's own time (fixing or
supplementing materials 补正, waiting for an office to open), and external
time (intermediaries 中介, fixed periods such as a notice 公示, joint-review
meetings 联审会, mail).  Inspections run beside the case and are not on its
path: they are hatched and faded.  Without ``case``, the chart shows the case
with the median span, a typical rather than an extreme journey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import text
from .style import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, style

COLUMNS = ["case", "activity", "kind", "resource", "enabled_minute", "start_minute", "end_minute"]
CATEGORY = {
    "intake": "work", "step": "work", "pickup": "work", "handoff": "work",
    "travel": "travel",
    "fix": "applicant", "supplement": "applicant", "wait_applicant": "applicant", "wait_open": "applicant",
    "intermediary": "external", "fixed": "external", "meeting": "external", "mail": "external",
    "inspection": "inspection",
    "wait_result": "queueing",  # waiting for another item's result inside the office
}
QUEUE_KINDS = {"intake", "step", "pickup", "handoff"}  # waiting before these is queueing for a window or role
COLOURS = {
    "queueing": VERMILLION, "work": BLUE, "travel": PURPLE, "applicant": ORANGE,
    "external": GREEN, "inspection": SKY, "other": GREY,
}
ORDER = ["queueing", "work", "travel", "applicant", "external", "inspection", "other"]
MINUTES_PER_DAY = 24 * 60


def _spans(trace: pd.DataFrame) -> pd.Series:
    g = trace.groupby("case")
    return (g["end_minute"].max() - g["enabled_minute"].min()).dropna()


def _case_rows(trace: pd.DataFrame, case, replication) -> tuple[object, pd.DataFrame]:
    check_table(trace, COLUMNS, "trace")
    t = trace.copy()
    for c in ("enabled_minute", "start_minute", "end_minute"):
        t[c] = numeric(t[c])
    t = t.dropna(subset=["enabled_minute", "start_minute", "end_minute"])
    if t.empty:
        raise ValueError("trace: no activity with enabled, start and end times (the table is empty or all NaN)")
    if "replication" in t:  # case numbers restart in every replication: keep one
        if replication is None:
            reps = t.loc[t["case"] == case, "replication"] if case is not None else t["replication"]
            replication = reps.min() if len(reps) else t["replication"].min()
        t = t[t["replication"] == replication]
        if t.empty:
            raise ValueError(f"replication: no activity in replication {replication!r} of the trace")
    elif replication is not None:
        raise ValueError("replication: the trace has no replication column")
    if case is None:
        spans = _spans(t).sort_values(kind="stable")
        case = spans.index[(len(spans) - 1) // 2]
    rows = t[t["case"] == case]
    if rows.empty:
        known = sorted(t["case"].unique().tolist())
        shown = ", ".join(map(str, known[:10])) + (" ..." if len(known) > 10 else "")
        raise ValueError(f"case: no activity of case {case!r} in the trace; its cases: {shown}")
    return case, rows.sort_values(["enabled_minute", "start_minute", "end_minute"], kind="stable").reset_index(drop=True)


def _short(label: str, width: int = 30) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _bar(ax, y: float, start: float, end: float, cat: str, faded: bool = False) -> None:
    if cat == "inspection":  # beside the case, not on its path: hatched outline
        ax.barh(y, end - start, left=start, height=0.6, facecolor="none", edgecolor=COLOURS[cat], hatch="///",
                linewidth=1.2, alpha=0.45 if faded else 0.8)
    else:
        ax.barh(y, end - start, left=start, height=0.6, color=COLOURS[cat])


def case_gantt(trace: pd.DataFrame, case: int | None = None, *, replication: int | None = None, lang: str = "en", ax=None):
    """Gantt chart of one case's activities coloured by whose time it is.

    ``case=None``: the case with the median span.  Case numbers restart in
    every replication: with a ``replication`` column the chart uses
    ``replication`` (default: the first one that has the case).
    """
    check_lang(lang)
    case, rows = _case_rows(trace, case, replication)
    t0 = rows["enabled_minute"].min()
    span = rows["end_minute"].max() - t0
    days = span >= 2 * MINUTES_PER_DAY
    unit = MINUTES_PER_DAY if days else 60.0
    n = len(rows)
    tiny = span / unit * 0.004  # narrower than this a bar is invisible: drawn as a tick instead
    size = (10.0, float(np.clip(0.3 * n + 2.0, 5.6, 20.0)))
    with style():
        fig, ax = new_axes(ax, size)
        used = set()
        for y, r in enumerate(rows.itertuples(index=False)):
            kind = str(r.kind)
            cat = CATEGORY.get(kind, "other")
            e, s, f = ((v - t0) / unit for v in (r.enabled_minute, r.start_minute, r.end_minute))
            if s > e:  # waiting to start
                wait_cat = "queueing" if kind in QUEUE_KINDS else cat
                _bar(ax, y, e, s, wait_cat, faded=True)
                used.add(wait_cat)
            if f >= s:
                _bar(ax, y, s, f, cat)
                if f - s < tiny:  # an instant or a few minutes: a tick so the row is not empty
                    ax.plot([s, s], [y - 0.3, y + 0.3], color=COLOURS[cat], linewidth=2)
                used.add(cat)
        ax.set_yticks(np.arange(n), [_short(str(a)) for a in rows["activity"]], fontsize=12 if n <= 16 else 10)
        ax.set_ylim(n - 0.4, -0.6)
        ax.set_xlim(0, span / unit * 1.02 if span > 0 else 1.0)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(text("since_start_days" if days else "since_start_hours", lang))
        ctype = rows["case_type"].iloc[0] if "case_type" in rows else None
        if ctype is not None and ctype == ctype:
            ax.set_title(text("gantt_title_type", lang, case=case, case_type=ctype))
        else:
            ax.set_title(text("gantt_title", lang, case=case))
        handles = [
            Patch(facecolor="none", edgecolor=COLOURS[c], hatch="///", label=text(c, lang)) if c == "inspection"
            else Patch(color=COLOURS[c], label=text(c, lang))
            for c in ORDER if c in used
        ]
        ax.legend(handles=handles, loc="best", fontsize=11)
        finish(fig)
    return fig
