"""The Pareto chart of the optimiser's designs: what it draws, that its Chinese renders, and bad input.

A hand-made candidates table of eight designs (two without any estimate,
one without an estimate of the second KPI, one estimate without a CI) is
drawn and read back: one panel per KPI, the number of points per decision
group (the offsets of the scatter collections), the step line of the Pareto
front through the front designs' costs in 万元 in order of cost, the star on
the chosen design and the dashed target line.  The Chinese chart is checked
the way ``test_charts.py`` checks every chart: no missing-glyph warning, and
its title, axis label and legend text drawn as real hanzi, i.e. with plenty of
ink and pixels unlike the same text with each hanzi replaced by an empty
"tofu" box (the Latin letters and brackets kept in place, so a chart drawn
without the font would match exactly), both alone and inside the chart.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont

import sim.charts as charts
from sim.charts import pareto_chart
from sim.charts.labels import LABELS
from tests.test_charts import TOFU, crop, draw, ink, no_font_problems, text_alone  # noqa: F401 (fixture)

A, B = "lead_time_working_days_mean", "lead_time_working_days_p90"
NAN = np.nan

# design, cost (yuan/year), decision, chosen, A mean/low/high, front A, B mean/low/high, front B
ROWS = [
    ("w=3 c=3", 300_000, "not judged: costlier than the chosen design", False, 5.2, 4.9, 5.5, False, 7.0, NAN, NAN, True),
    ("w=1 c=1", 100_000, "skipped: fewer servers than the offered load", False, NAN, NAN, NAN, False, NAN, NAN, NAN, False),
    ("w=2 c=1", 150_000, "infeasible", False, 9.0, 8.5, 9.5, True, 14.0, 13.0, 15.0, True),
    ("w=3 c=2", 250_000, "feasible", True, 5.0, 4.6, 5.4, True, 8.0, 7.5, 8.5, True),
    ("w=2 c=2", 200_000, "undecided", False, 6.5, 5.0, 8.0, True, 11.0, 9.0, 13.0, True),
    ("w=2 c=3", 260_000, "infeasible", False, 7.0, 6.5, 7.5, False, NAN, NAN, NAN, False),
    ("w=4 c=4", 400_000, "pilot: station loads measured (not judged)", False, 4.0, 3.8, 4.2, True, 6.8, 6.5, 7.1, True),
    ("w=4 c=1", 220_000, "invalid", False, NAN, NAN, NAN, False, NAN, NAN, NAN, False),
]
CANDIDATES = pd.DataFrame(ROWS, columns=[
    "design", "cost_yuan_per_year", "decision", "chosen",
    f"{A}_mean", f"{A}_ci_low", f"{A}_ci_high", f"front_{A}",
    f"{B}_mean", f"{B}_ci_low", f"{B}_ci_high", f"front_{B}",
])
THRESHOLDS = {A: 5.5, "trips_mean": 1.0}  # a target of a KPI not drawn is ignored

# points per decision group in each panel (NaN means are not drawn)
EXPECTED = {
    A: {"feasible": 1, "infeasible": 2, "undecided": 1, "other": 2},  # w=3 c=3 and the pilot are "other"
    B: {"feasible": 1, "infeasible": 1, "undecided": 1, "other": 2},  # w=2 c=3 has no estimate of B
}
FRONT_X = {A: [15.0, 20.0, 25.0, 40.0], B: [15.0, 20.0, 25.0, 30.0, 40.0]}  # 万元/年, in order of cost


def scatter(ax, gid: str) -> np.ndarray:
    found = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_gid() == gid]
    assert len(found) <= 1, gid
    return np.asarray(found[0].get_offsets(), dtype=float) if found else np.empty((0, 2))


def lines(ax, gid: str) -> list:
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


# -- what is drawn --------------------------------------------------------------------------------


def test_one_panel_per_kpi_with_points_by_decision_front_star_and_target():
    fig = pareto_chart(CANDIDATES, [A, B], lang="en", thresholds=THRESHOLDS)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert fig.get_suptitle() == LABELS["pareto_suptitle"]["en"]
    for ax, kpi in zip(fig.axes, (A, B)):
        counts = {g: len(scatter(ax, f"pareto-{g}")) for g in ("feasible", "infeasible", "undecided", "other")}
        assert counts == EXPECTED[kpi], kpi
        # the points sit at cost / 10,000 and the KPI mean
        drawn = CANDIDATES[np.isfinite(CANDIDATES[f"{kpi}_mean"])]
        points = np.concatenate([scatter(ax, f"pareto-{g}") for g in counts])
        expected = np.column_stack([drawn["cost_yuan_per_year"] / 1e4, drawn[f"{kpi}_mean"]])
        np.testing.assert_allclose(points[np.lexsort(points.T[::-1])], expected[np.lexsort(expected.T[::-1])])

        (front,) = lines(ax, "pareto-front")
        np.testing.assert_allclose(np.asarray(front.get_xdata(), dtype=float), FRONT_X[kpi])
        on_front = CANDIDATES[CANDIDATES[f"front_{kpi}"]].sort_values("cost_yuan_per_year")
        np.testing.assert_allclose(np.asarray(front.get_ydata(), dtype=float), on_front[f"{kpi}_mean"])
        assert front.get_drawstyle() == "steps-post"

        np.testing.assert_allclose(scatter(ax, "pareto-chosen"), [[25.0, {A: 5.0, B: 8.0}[kpi]]])
        assert f"{LABELS['pareto_chosen']['en']}: w=3 c=2" in [t.get_text() for t in ax.texts]
        # one vertical error bar per drawn design with a CI (w=3 c=3 has no CI of B)
        bars = sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))
        assert bars == {A: 6, B: 4}[kpi]
        assert ax.get_xlabel() == LABELS["pareto_cost"]["en"]

    target = lines(fig.axes[0], "pareto-target")
    assert len(target) == 1 and np.allclose(target[0].get_ydata(), 5.5) and target[0].get_linestyle() == "--"
    assert lines(fig.axes[1], "pareto-target") == []
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [LABELS[k]["en"] for k in ("pareto_feasible", "pareto_infeasible", "pareto_undecided",
                                                  "pareto_other", "pareto_front", "pareto_chosen", "pareto_target",
                                                  "ci95")]


def test_one_kpi_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    out = pareto_chart(CANDIDATES, [B], lang="zh", ax=right)
    assert out is fig and left.get_title() == "" and not left.collections
    assert right.get_title() == "成本与90%分位办理时长(工作日)"
    assert right.get_xlabel() == "年度成本(万元/年)"
    assert LABELS["pareto_front"]["zh"] in [t.get_text() for t in right.get_legend().get_texts()]
    assert lines(right, "pareto-target") == []  # no thresholds given


def test_no_chosen_design_and_no_front_draw_neither():
    t = CANDIDATES.assign(chosen=False, **{f"front_{A}": False})
    ax = pareto_chart(t, A).axes[0]
    assert len(scatter(ax, "pareto-chosen")) == 0 and lines(ax, "pareto-front") == []
    assert ax.get_title() == "Cost against mean lead time, working days"


# -- Chinese: real hanzi, not tofu -------------------------------------------------------------------


def check_not_tofu(fig: Figure, artist, chart_pixels: np.ndarray) -> None:
    """``artist`` (a Text of the chart) is drawn with the bundled font as real hanzi, not as empty boxes."""
    s, font, dpi = artist.get_text(), artist.get_fontproperties(), fig.dpi
    assert any("\u4e00" <= c <= "\u9fff" for c in s), s
    assert Path(findfont(font)) == charts.FONT_PATH

    # alone: plenty of ink, and a pattern unlike the same text with every hanzi an empty box (other
    # characters kept in place, so that a chart without the font would give exactly the same pixels)
    boxed_s = "".join(TOFU if ord(c) >= 0x2E80 else c for c in s)
    alone = crop(text_alone(s, font, dpi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing glyph is the point here
        boxes = crop(text_alone(boxed_s, font, dpi))
    assert alone.sum() > 15 * len(s), s
    h, w = min(alone.shape[0], boxes.shape[0]), min(alone.shape[1], boxes.shape[1])
    assert (alone[:h, :w] ^ boxes[:h, :w]).sum() > 0.4 * max(alone.sum(), boxes.sum()), s

    # inside the chart: the same text swapped for boxes changes its region's pixels a lot
    renderer = fig.canvas.get_renderer()
    bb_real = artist.get_window_extent(renderer)
    artist.set_text(boxed_s)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the missing glyph is the point here
            boxed_pixels = draw(fig)
            bb_box = artist.get_window_extent(renderer)
    finally:
        artist.set_text(s)
    height = chart_pixels.shape[0]
    x0, x1 = int(min(bb_real.x0, bb_box.x0)) - 2, int(max(bb_real.x1, bb_box.x1)) + 3
    y0, y1 = int(height - max(bb_real.y1, bb_box.y1)) - 2, int(height - min(bb_real.y0, bb_box.y0)) + 3
    real = ink(chart_pixels[max(y0, 0): y1, max(x0, 0): x1])
    boxed = ink(boxed_pixels[max(y0, 0): y1, max(x0, 0): x1])
    assert real.sum() > 15 * len(s), s
    assert (real ^ boxed).sum() > 0.4 * max(real.sum(), boxed.sum()), s


def test_chinese_chart_renders_hanzi_not_tofu(no_font_problems):
    fig = pareto_chart(CANDIDATES, [A], lang="zh", thresholds=THRESHOLDS)
    pixels = draw(fig)
    assert ink(pixels).mean() > 0.005
    ax = fig.axes[0]
    assert ax.get_title() == "成本与平均办理时长(工作日)"
    legend = {t.get_text(): t for t in fig.legends[0].get_texts()}
    assert {LABELS[k]["zh"] for k in ("pareto_feasible", "pareto_front", "pareto_chosen", "pareto_target")} <= set(legend)
    for artist in (ax.title, ax.xaxis.label, legend[LABELS["pareto_front"]["zh"]]):
        check_not_tofu(fig, artist, pixels)
        pixels = draw(fig)  # the text is back: the next region is compared with the chart as drawn
    # the English chart differs (other text), so the Chinese one is not an English chart with boxes
    en = draw(pareto_chart(CANDIDATES, [A], lang="en", thresholds=THRESHOLDS))
    assert en.shape == pixels.shape and (ink(en) ^ ink(pixels)).sum() > 500


# -- bad input: one clear ValueError ------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pareto_chart(CANDIDATES.drop(columns=f"front_{B}"), [A, B]), rf"missing column\(s\) front_{B}"),
        (lambda: pareto_chart(CANDIDATES.drop(columns=["chosen", f"{A}_ci_low"]), [A]),
         rf"missing column\(s\) chosen, {A}_ci_low"),
        (lambda: pareto_chart(CANDIDATES, [A], lang="fr"), "lang: expected 'en' or 'zh', got 'fr'"),
        (lambda: pareto_chart(CANDIDATES, [A, B], ax=Figure().add_subplot()), "ax: .*one KPI.*got 2 KPIs"),
        (lambda: pareto_chart(CANDIDATES, []), "kpis: expected at least one"),
        (lambda: pareto_chart(CANDIDATES, [A, A]), "more than once"),
        (lambda: pareto_chart(CANDIDATES.assign(chosen=True), [A]), "at most one design may be chosen, got 8"),
        (lambda: pareto_chart(CANDIDATES.iloc[0:0], [A]), "candidates: no rows"),
        (lambda: pareto_chart(CANDIDATES.assign(**{f"{B}_mean": NAN}), [A, B]), f"estimate of {B}"),
        (lambda: pareto_chart(CANDIDATES, [A], thresholds={A: NAN}), r"thresholds\['lead_time_working_days_mean'\]"),
        (lambda: pareto_chart(CANDIDATES.to_dict(), [A]), "expected a pandas DataFrame"),
    ],
)
def test_bad_input_gives_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
