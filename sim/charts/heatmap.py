"""Station load by clock hour (a heat map of the engine's stations_by_hour table).

Rows are windows and back-office roles, columns the clock hours they are
open (9 = 9:00-10:00); the colour is the utilisation (busy share of staffed
positions) or the mean queue length in that hour, averaged over
replications.  Read across a row for a station's daily peak (the morning rush
at the window) and down a column for the hour when the whole centre is
stretched.  Blank cells are hours when the station is closed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ._check import check_lang, check_table, numeric
from ._figure import finish, new_axes
from .labels import measure_label, text
from .style import style

CMAP = "cividis"  # perceptually uniform and readable with colour-vision deficiencies


def heatmap_table(stations_by_hour: pd.DataFrame, value: str = "utilisation") -> pd.DataFrame:
    """The matrix drawn: one row per station (first-seen order), one column per clock hour, means over replications.

    Hours between the first and the last with data are all columns; NaN
    where a station is closed.
    """
    check_table(stations_by_hour, ["station", "hour", value], "stations_by_hour")
    df = stations_by_hour[["station", "hour", value]].copy()
    df[value] = numeric(df[value])
    df["hour"] = numeric(df["hour"])
    df = df.dropna(subset=["hour"])
    if df.empty or not np.isfinite(df[value]).any():
        raise ValueError(f"stations_by_hour: no finite {value!r} values (the table is empty or all NaN)")
    df["hour"] = df["hour"].astype(int)
    stations = list(dict.fromkeys(df["station"]))
    table = df.groupby(["station", "hour"], sort=False)[value].mean().unstack("hour")
    hours = range(int(min(table.columns)), int(max(table.columns)) + 1)  # closed hours (lunch) stay as blank columns
    return table.reindex(index=stations, columns=list(hours))


def station_heatmap(stations_by_hour: pd.DataFrame, value: str = "utilisation", *, lang: str = "en", ax=None):
    """Heat map of ``value`` (``utilisation`` or ``queue_length_mean``) by station and clock hour."""
    check_lang(lang)
    table = heatmap_table(stations_by_hour, value)
    data = np.ma.masked_invalid(table.to_numpy(dtype=float))
    share = value == "utilisation"
    nrow, ncol = data.shape
    with style():
        fig, ax = new_axes(ax)
        vmax = max(1.0, float(data.max())) if share else max(float(data.max()), 1e-9)
        im = ax.imshow(data, cmap=CMAP, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
        if nrow * ncol <= 240:
            for (i, j), v in np.ndenumerate(data.filled(np.nan)):
                if np.isfinite(v):
                    label = f"{v:.0%}" if share else f"{v:.1f}"
                    ax.text(j, i, label, ha="center", va="center", fontsize=10 if ncol <= 12 else 8,
                            color="black" if v / vmax > 0.55 else "white")
        ax.set_xticks(np.arange(ncol), [f"{h}:00" for h in table.columns])
        ax.set_yticks(np.arange(nrow), [str(s) for s in table.index])
        ax.grid(False)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(text("hour", lang))
        ax.set_ylabel(text("station", lang))
        name = measure_label(value, lang)
        ax.set_title(text("heatmap_title", lang, value=name))
        cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cbar.set_label(name)
        if share:
            cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        finish(fig)
    return fig
