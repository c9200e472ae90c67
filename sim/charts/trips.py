"""Trips per case before and after a reform (最多跑一次, "at most one trip").

For each scenario, bars give the share of cases that needed 0, 1, 2, 3 and 4
or more trips to an office (each scenario's bars add up to 100%).  The shaded
band covers 0 and 1 trip: the 最多跑一次 target.  The legend gives each
scenario's share within the band.  Every case counts, abandoned and
unfinished ones too, as in the ``at_most_one_trip_share`` KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import text
from .style import GREEN, PALETTE, style

BINS = ("0", "1", "2", "3", "4+")


def trip_shares(cases: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of cases with 0, 1, 2, 3, 4+ trips: one row per scenario label, one column per bin."""
    if not isinstance(cases, dict) or not cases:
        raise ValueError("cases: expected a non-empty dict {scenario label: cases table}")
    rows = {}
    for label, df in cases.items():
        check_table(df, ["trips"], f"cases[{label!r}]")
        t = numeric(df["trips"]).to_numpy()
        t = t[np.isfinite(t)]
        if t.size == 0:
            raise ValueError(f"cases[{label!r}]: no case with a number of trips (empty table or all NaN)")
        if (t < 0).any():
            raise ValueError(f"cases[{label!r}]: trips must be >= 0, got {t.min():g}")
        counts = np.bincount(np.minimum(t.astype(int), 4), minlength=5)
        rows[str(label)] = counts / t.size
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(BINS))


def trips_before_after(cases: dict[str, pd.DataFrame], *, lang: str = "en", ax=None):
    """Grouped bars of the share of cases by number of trips, one colour per scenario."""
    check_lang(lang)
    shares = trip_shares(cases)
    k = len(shares)
    width = 0.8 / k
    x = np.arange(len(BINS))
    with style():
        fig, ax = new_axes(ax)
        ax.axvspan(-0.5, 1.5, color=GREEN, alpha=0.12, linewidth=0)
        ax.text(0.5, 1.0, text("at_most_one_trip", lang), transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=13, color=GREEN)
        for i, (label, row) in enumerate(shares.iterrows()):
            pos = x - 0.4 + width * (i + 0.5)
            at_most_one = row["0"] + row["1"]
            bars = ax.bar(pos, row.to_numpy(), width=width * 0.95, color=PALETTE[i % len(PALETTE)],
                          label=text("at_most_one_share", lang, label=label, share=at_most_one))
            if k <= 4:
                ax.bar_label(bars, labels=[f"{v:.0%}" if v >= 0.005 else "" for v in row], fontsize=10, padding=2)
        ax.set_xticks(x, list(BINS))
        ax.set_xlim(-0.5, len(BINS) - 0.5)
        top = max(float(shares.to_numpy().max()), 0.05) * 1.18  # room for the bar labels
        ax.set_ylim(0, top)
        ax.set_yticks([v for v in ax.get_yticks() if -1e-9 <= v <= min(1.0, top) + 1e-9])
        ax.grid(axis="x", visible=False)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel(text("trips", lang))
        ax.set_ylabel(text("share_of_cases", lang))
        ax.set_title(text("trips_title", lang), pad=24)
        ax.legend(loc="upper right")
        finish(fig)
    return fig
