"""Charts and the HTML report for slides and publications, in English and Chinese.

Every chart is a function taking tidy tables (pandas DataFrames), with
``lang="en"`` or ``"zh"`` and an optional ``ax`` to draw into; it returns a
:class:`matplotlib.figure.Figure` built without pyplot (no display, no global
figure state) and never shows it.  :func:`save` writes PNG and SVG at slide
resolution.  :func:`build_report` turns an experiment's results directory
into one self-contained HTML file.

Importing this package registers the bundled Chinese font (a GB2312 subset of
Noto Sans CJK SC, SIL Open Font License) with matplotlib and puts it first in
the sans-serif family list, so Chinese renders on a machine without CJK
system fonts.

* ``distribution_before_after``: ECDF of a per-case measure per scenario, with time limits
* ``waterfall``: Shapley split of a KPI's change by reform, with 95% CIs
* ``case_gantt``: one case's activities, coloured by whose time it is
* ``station_heatmap``: utilisation or queue length by station and clock hour
* ``trips_before_after``: share of cases by number of trips (最多跑一次)
* ``claims_figure``: published claims against simulated values, with verdicts
* ``tornado``: one-at-a-time sensitivity of a measure to the shared assumptions
* ``pareto_chart``: cost against KPIs of the designs an optimiser met, with the Pareto front
"""

from ._font import FAMILY, FONT_PATH, register

register()

from ._figure import save  # noqa: E402
from .claims import claims_figure  # noqa: E402
from .distribution import distribution_before_after  # noqa: E402
from .gantt import case_gantt  # noqa: E402
from .heatmap import station_heatmap  # noqa: E402
from .pareto import pareto_chart  # noqa: E402
from .report import build_report  # noqa: E402
from .tornado import tornado  # noqa: E402
from .trips import trips_before_after  # noqa: E402
from .waterfall import waterfall  # noqa: E402

__all__ = [
    "FAMILY", "FONT_PATH", "save", "distribution_before_after", "waterfall", "case_gantt",
    "station_heatmap", "trips_before_after", "claims_figure", "tornado", "pareto_chart",
    "build_report",
]
