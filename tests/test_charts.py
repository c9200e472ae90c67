"""The charts: Chinese really renders (pixels, not tofu), and each chart draws what its table says.

Every chart is drawn in English and Chinese from small hand-made tables.  A
missing glyph (matplotlib's "Glyph ... missing from font(s)" warning) or a
font that is not found (a font-manager log message) fails the test.  For
the Chinese charts the title's pixels are compared with the same number of
"tofu" characters (a private-use character that no font has, drawn as the
empty .notdef box), both alone and in place of the title inside the chart:
real hanzi must carry plenty of ink and differ substantially from the boxes.
If the bundled font were not used, the hanzi would be boxes too and the
comparison would fail.  The semantic tests read the drawn artists back: ECDF lines end
at 1.0, the waterfall ends at the value after the reforms, the tornado is
sorted by swing, the heat map holds the means over replications, trip shares
add up to one, and saved PNGs have the requested size.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from PIL import Image

import sim.charts as charts
from sim.charts import (
    case_gantt, claims_figure, distribution_before_after, save, station_heatmap, tornado, trips_before_after, waterfall,
)
from sim.charts.labels import LABELS, wrap
from sim.charts.logfit import over_time, shares_side_by_side

TOFU = "\ue000"  # private use: in no font, drawn as the .notdef box

# -- small synthetic tables ------------------------------------------------------------


def cases_table(lead_times, status=None, trips=None) -> pd.DataFrame:
    n = len(lead_times)
    return pd.DataFrame({
        "status": status if status is not None else ["completed"] * n,
        "lead_time_working_days": lead_times,
        "lead_time_working_hours": [x * 8 for x in lead_times],
        "trips": trips if trips is not None else [1] * n,
    })


BEFORE = cases_table([4.0, 6.0, 9.0, np.nan, 30.0, 12.0], ["completed"] * 4 + ["abandoned", "completed"], [0, 1, 1, 2, 5, 7])
AFTER = cases_table([1.0, 2.0, 2.5, 3.0], trips=[0, 0, 1, 1])
CASES = {"改革前 before": BEFORE, "改革后 after": AFTER}

ATTRIBUTION = pd.DataFrame({
    "kpi": ["lead_time_working_days_mean"] * 4,
    "reform": ["centralise", "one_window", "parallel_approval", "total"],
    "shapley_mean": [-1.5, -0.5, -2.0, -4.0],
    "ci_low": [-1.9, -0.8, -2.6, -4.5],
    "ci_high": [-1.1, -0.2, -1.4, -3.5],
})

TRACE = pd.DataFrame(
    [
        # case, activity, kind, resource, enabled, start, end (calendar minutes)
        (1, "licence:intake", "intake", "market_window", 0, 30, 45),
        (1, "licence:review", "step", "market.clerk", 45, 600, 660),
        (1, "pickup", "pickup", "market_window", 660, 700, 710),
        (2, "travel", "travel", "hall", 0, 0, 40),
        (2, "licence:intake", "intake", "market_window", 40, 100, 120),
        (2, "handoff:licence", "handoff", "to_back_office", 120, 120, 300),
        (2, "licence:review", "step", "market.clerk", 300, 1500, 1560),
        (2, "site visit", "inspection", "market.inspector", 1560, 1600, 1700),
        (2, "fix:licence", "fix", "applicant", 1560, 1560, 4000),
        (2, "notice", "fixed", "notice", 4000, 4000, 8000),
        (2, "mail:licence", "mail", "post", 8000, 8000, 9000),
        (3, "licence:intake", "intake", "market_window", 0, 10, 20),
        (3, "licence:review", "step", "market.clerk", 20, 10000, 10100),
        (3, "wait", "wait_open", "applicant", 10100, 10100, 20000),
    ],
    columns=["case", "activity", "kind", "resource", "enabled_minute", "start_minute", "end_minute"],
)  # spans: case 1 710, case 2 9000, case 3 20000 minutes -> median is case 2

STATIONS_BY_HOUR = pd.DataFrame(
    [
        (0, "market_window", 9, 0.8, 2.0), (1, "market_window", 9, 0.6, 1.0),
        (0, "market_window", 10, 0.4, 0.5), (1, "market_window", 10, 0.2, 0.0),
        (0, "市场监管.clerk", 9, 0.1, 0.0), (1, "市场监管.clerk", 9, 0.3, 0.2),
        (0, "市场监管.clerk", 10, 0.9, 4.0), (1, "市场监管.clerk", 10, np.nan, np.nan),
    ],
    columns=["replication", "station", "hour", "utilisation", "queue_length_mean"],
)

CLAIMS = pd.DataFrame(
    [
        ("C1", "企业开办压缩至3个工作日", "limit", 3.0, 2.6, 2.3, 2.9, "working days", "reproduced", 3.4, 2.0),
        ("C2", "最多跑一次比例达到90%", "outcome", 0.9, 0.72, 0.70, 0.74, "share", "reproduced_under_assumptions", 0.6, 0.93),
        ("C3", "审批时间由45天减至15天", "outcome", 15.0, 24.0, 22.0, 26.0, "working days", "refuted", np.nan, np.nan),
        ("C4", "群众满意度显著提升", "not_testable", np.nan, np.nan, np.nan, np.nan, "", "not_testable", np.nan, np.nan),
    ],
    columns=["claim_id", "claim", "kind", "claimed", "simulated_mean", "ci_low", "ci_high", "unit", "verdict",
             "least_favourable", "most_favourable"],
)

SENSITIVITY = pd.DataFrame(
    [
        ("meeting", "Meeting interval", "联审会间隔", 5, 20, 2.5, 2.8, 2.6),           # swing 0.3
        ("gap_share", "Share of incomplete applications", "材料不全比例", 0.1, 0.4, 2.1, 3.5, 2.6),  # 1.4
        ("decide", "Decide before supplement", "补正前先行审批", "no", "yes", 2.9, 2.3, 2.6),  # 0.6
        ("unknown", "Not run", "未运行", 1, 2, np.nan, np.nan, 2.6),               # dropped
        ("fix_time", "Time to fix materials", "补正用时", "x0.5", "x2", 2.4, 3.3, 2.6),  # 0.9
    ],
    columns=["assumption", "label_en", "label_zh", "low_value", "high_value", "measure_low", "measure_high", "base"],
)

_WEEKS = pd.date_range("2024-01-07", periods=20, freq="W-SUN")
WIP_LOG = pd.Series(np.linspace(10, 40, 20), index=_WEEKS)
WIP_MODEL = pd.DataFrame({"mean": np.linspace(12, 38, 20), "ci_low": np.linspace(10, 35, 20),
                          "ci_high": np.linspace(14, 41, 20)}, index=_WEEKS)

CHARTS = {
    "distribution": lambda lang: distribution_before_after(CASES, limits={"承诺时限": 5, "法定时限": 20}, lang=lang),
    "waterfall": lambda lang: waterfall(ATTRIBUTION, 10.0, 6.0, "lead_time_working_days_mean", lang=lang),
    "gantt": lambda lang: case_gantt(TRACE, lang=lang),
    "heatmap": lambda lang: station_heatmap(STATIONS_BY_HOUR, lang=lang),
    "trips": lambda lang: trips_before_after(CASES, lang=lang),
    "claims": lambda lang: claims_figure(CLAIMS, lang=lang),
    "tornado": lambda lang: tornado(SENSITIVITY, claimed=2.0, measure="lead_time_working_days_mean", lang=lang),
    "fit_over_time": lambda lang: over_time(WIP_LOG, WIP_MODEL, "wip", pd.Timestamp("2024-03-04"), lang=lang),
    "fit_shares": lambda lang: shares_side_by_side(pd.Series([0.3, 0.7], index=["mon", "tue"]),
                                                   pd.Series([0.4, 0.6], index=["mon", "tue"]), "weekday", lang=lang),
}

# -- rendering helpers -------------------------------------------------------------------------


def draw(fig: Figure) -> np.ndarray:
    """Render on an Agg canvas; the RGB pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def ink(pixels: np.ndarray) -> np.ndarray:
    """Dark pixels (text is black on white)."""
    return pixels.mean(axis=2) < 140


def crop(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert rows.size and cols.size, "no ink at all"
    return mask[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def text_alone(s: str, font: FontProperties, dpi: float) -> np.ndarray:
    """Ink mask of ``s`` drawn alone in black with ``font``."""
    fig = Figure(figsize=(12, 1.2), dpi=dpi)
    fig.text(0.01, 0.5, s, fontproperties=font, va="center", color="black")
    return ink(draw(fig))


def tofu(n: int, font: FontProperties, dpi: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing glyph is the point here
        return text_alone(TOFU * n, font, dpi)


@pytest.fixture
def no_font_problems(caplog):
    """Fail on any missing-glyph warning or font-manager complaint while the test draws."""
    caplog.set_level(logging.WARNING, logger="matplotlib")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    font_warnings = [str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    assert not font_warnings, font_warnings
    font_logs = [r.getMessage() for r in caplog.records if "findfont" in r.getMessage() or "font" in r.name]
    assert not font_logs, font_logs


# -- the font ------------------------------------------------------------------------------------


def test_the_bundled_font_is_the_one_matplotlib_finds():
    assert charts.FONT_PATH.is_file() and charts.FONT_PATH.stat().st_size > 500_000
    found = findfont(FontProperties(family=charts.FAMILY), fallback_to_default=False)
    assert Path(found) == charts.FONT_PATH


def test_two_chinese_strings_give_different_pixels_and_neither_is_tofu():
    font = FontProperties(family=charts.FAMILY, size=20)
    a, b = text_alone("办理时长", font, 100), text_alone("跑动次数", font, 100)
    box = tofu(4, font, 100)
    assert (a ^ b).sum() > 0.3 * max(a.sum(), b.sum())
    for m in (a, b):
        assert (m ^ box).sum() > 0.3 * max(m.sum(), box.sum())


# -- every chart, both languages -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_renders_without_missing_glyphs(name, lang, no_font_problems):
    fig = CHARTS[name](lang)
    assert isinstance(fig, Figure)
    pixels = draw(fig)
    assert ink(pixels).mean() > 0.005  # something was drawn
    title = fig.axes[0].title
    s = title.get_text()
    assert any("\u4e00" <= c <= "\u9fff" for c in s) == (lang == "zh"), s
    if lang == "zh":
        check_hanzi_not_tofu(fig, pixels)


def check_hanzi_not_tofu(fig: Figure, chart_pixels: np.ndarray) -> None:
    """The chart's Chinese title is drawn with the bundled font as real hanzi, not as empty boxes."""
    title = fig.axes[0].title
    s, font, dpi = title.get_text(), title.get_fontproperties(), fig.dpi
    assert Path(findfont(font)) == charts.FONT_PATH

    # alone: plenty of ink, and a pattern unlike a row of as many empty boxes
    alone = crop(text_alone(s, font, dpi))
    boxes = crop(tofu(len(s), font, dpi))
    assert alone.sum() > 15 * len(s)
    h, w = min(alone.shape[0], boxes.shape[0]), min(alone.shape[1], boxes.shape[1])
    assert (alone[:h, :w] ^ boxes[:h, :w]).sum() > 0.4 * max(alone.sum(), boxes.sum())

    # inside the chart: the same title swapped for boxes changes the title's pixels a lot
    renderer = fig.canvas.get_renderer()
    bb_real = title.get_window_extent(renderer)
    title.set_text(TOFU * len(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boxed_pixels = draw(fig)
        bb_box = title.get_window_extent(renderer)
    height = chart_pixels.shape[0]
    x0, x1 = int(min(bb_real.x0, bb_box.x0)) - 2, int(max(bb_real.x1, bb_box.x1)) + 3
    y0, y1 = int(height - max(bb_real.y1, bb_box.y1)) - 2, int(height - min(bb_real.y0, bb_box.y0)) + 3
    real = ink(chart_pixels[max(y0, 0): y1, max(x0, 0): x1])
    boxed = ink(boxed_pixels[max(y0, 0): y1, max(x0, 0): x1])
    assert real.sum() > 15 * len(s)
    assert (real ^ boxed).sum() > 0.4 * max(real.sum(), boxed.sum())


def test_a_drawn_chinese_string_differs_from_another_in_a_chart():
    a = draw(trips_before_after(CASES, lang="zh"))
    b = draw(trips_before_after(CASES, lang="en"))
    assert a.shape == b.shape and (ink(a) ^ ink(b)).sum() > 500


# -- semantics ---------------------------------------------------------------------------------------


def test_ecdf_counts_completed_cases_only_and_ends_at_one():
    fig = distribution_before_after(CASES, lang="en")
    lines = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert len(lines) == 2
    for ln, df in zip(lines, CASES.values()):
        done = df[(df["status"] == "completed")]["lead_time_working_days"].dropna()
        y = np.asarray(ln.get_ydata())
        assert y[-1] == 1.0 and y[0] == 0.0 and np.all(np.diff(y) >= 0)
        assert np.asarray(ln.get_xdata())[-1] == done.max()  # the abandoned 30-day case is left out
        assert f"n = {len(done)}" in ln.get_label()


def test_ecdf_draws_one_labelled_line_per_limit():
    fig = distribution_before_after(CASES, limits={"承诺时限": 5, "法定时限": 20}, lang="zh")
    ax = fig.axes[0]
    vertical = [ln for ln in ax.get_lines() if len(set(np.asarray(ln.get_xdata(), dtype=float))) == 1]
    assert sorted(float(ln.get_xdata()[0]) for ln in vertical) == [5.0, 20.0]
    assert {"承诺时限: 5", "法定时限: 20"} <= {t.get_text() for t in ax.texts}
    assert ax.get_xlabel() == LABELS["lead_time_working_days"]["zh"]


def _bars_at(ax, x: float):
    return [p for p in ax.patches if abs(p.get_x() + p.get_width() / 2 - x) < 1e-9]


def test_waterfall_steps_from_before_to_after():
    fig = waterfall(ATTRIBUTION, 10.0, 6.0, "lead_time_working_days_mean", lang="zh")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["改革前", "三集中", "一窗受理", "并联审批", "改革后"]  # total row left out, names from the catalogue
    (first,) = _bars_at(ax, 0)
    (last,) = _bars_at(ax, 4)
    assert first.get_height() == 10.0 and last.get_y() == 0 and last.get_height() == 6.0
    running = 10.0
    for i, v in enumerate([-1.5, -0.5, -2.0], start=1):
        (bar,) = _bars_at(ax, i)
        assert bar.get_y() == pytest.approx(running) and bar.get_height() == pytest.approx(v)
        running += v
    assert running == pytest.approx(last.get_height())


def test_waterfall_shows_a_gap_the_table_does_not_split():
    partial = ATTRIBUTION[ATTRIBUTION["reform"] != "one_window"]
    fig = waterfall(partial, 10.0, 6.0, "lead_time_working_days_mean", lang="en")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-2] == LABELS["not_split"]["en"]
    (gap,) = _bars_at(ax, len(labels) - 2)
    assert gap.get_y() + gap.get_height() == pytest.approx(6.0)


def test_gantt_picks_the_median_case_and_colours_by_category():
    fig = case_gantt(TRACE, lang="en")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Case 2:")
    assert ax.get_xlabel() == LABELS["since_start_days"]["en"]  # 9,000 minutes: days
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "travel" and len(rows) == 8
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {LABELS[c]["en"] for c in ("queueing", "work", "travel", "applicant", "external", "inspection")} == legend
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert hatched and all(p.get_facecolor()[3] == 0 for p in hatched)  # inspections: outline only
    # case 2's review waited 1,200 minutes for the clerk: a queueing bar from 300 to 1,500 minutes
    review = rows.index("licence:review")
    bars = [p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - review) < 1e-9]
    lefts = sorted((round(p.get_x() * 1440), round(p.get_width() * 1440)) for p in bars)
    assert lefts == [(300, 1200), (1500, 60)]


def test_gantt_keeps_one_replication():
    two = pd.concat([TRACE.assign(replication=0), TRACE.assign(replication=1, start_minute=TRACE["start_minute"] + 5)])
    ax = case_gantt(two, case=2, replication=1).axes[0]
    assert len(ax.get_yticklabels()) == 8  # case 2 of replication 1 only, not both copies
    review = [t.get_text() for t in ax.get_yticklabels()].index("licence:review")
    bars = sorted((round(p.get_x() * 1440), round(p.get_width() * 1440)) for p in ax.patches
                  if abs(p.get_y() + p.get_height() / 2 - review) < 1e-9)
    assert bars == [(300, 1205), (1505, 55)]
    assert len(case_gantt(two, case=2).axes[0].get_yticklabels()) == 8  # default: the first replication
    with pytest.raises(ValueError, match="no activity in replication 5"):
        case_gantt(two, replication=5)


def test_gantt_short_case_in_hours_and_unknown_case_is_refused():
    fig = case_gantt(TRACE, case=1, lang="zh")
    assert fig.axes[0].get_xlabel() == LABELS["since_start_hours"]["zh"]
    with pytest.raises(ValueError, match="case: no activity of case 99"):
        case_gantt(TRACE, case=99)


def test_heatmap_holds_the_mean_over_replications():
    fig = station_heatmap(STATIONS_BY_HOUR, lang="en")
    data = fig.axes[0].images[0].get_array()
    expected = np.array([[0.7, 0.3], [0.2, 0.9]])  # NaN replication ignored in the mean
    np.testing.assert_allclose(data.filled(np.nan), expected)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["market_window", "市场监管.clerk"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["9:00", "10:00"]
    q = station_heatmap(STATIONS_BY_HOUR, value="queue_length_mean", lang="zh").axes[0].images[0].get_array()
    np.testing.assert_allclose(q.filled(np.nan), [[1.5, 0.25], [0.1, 4.0]])


def test_trip_shares_sum_to_one_per_scenario():
    fig = trips_before_after(CASES, lang="en")
    bars = fig.axes[0].containers
    assert len(bars) == 2
    heights = [np.array([p.get_height() for p in c]) for c in bars]
    for h in heights:
        assert h.sum() == pytest.approx(1.0)
    # before: trips 0, 1, 1, 2, 5, 7 -> 1/6, 2/6, 1/6, 0, 2/6 (5 and 7 are "4+")
    np.testing.assert_allclose(heights[0], [1 / 6, 2 / 6, 1 / 6, 0, 2 / 6])
    np.testing.assert_allclose(heights[1], [0.5, 0.5, 0, 0, 0])
    assert any(LABELS["at_most_one_trip"]["en"] == t.get_text() for t in fig.axes[0].texts)
    assert "100% at most one trip" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1]


def test_tornado_is_sorted_by_swing_and_marks_base_and_claim():
    fig = tornado(SENSITIVITY, claimed=2.0, lang="en")
    ax = fig.axes[0]
    low, high = ax.containers
    swings = [abs((h.get_x() + h.get_width()) - (lo.get_x() + lo.get_width())) for lo, h in zip(low, high)]
    ys = [p.get_y() for p in low]
    assert ys == sorted(ys)  # row 0 is on top (the y axis points down)
    assert swings == sorted(swings, reverse=True) and len(swings) == 4  # the NaN row is dropped
    assert [t.get_text().splitlines()[0] for t in ax.get_yticklabels()][0] == "Share of incomplete"
    verticals = {(float(ln.get_xdata()[0]), ln.get_linestyle()) for ln in ax.get_lines()}
    assert (2.6, "-") in verticals and (2.0, "--") in verticals


def test_claims_chart_lists_claims_without_numbers_with_their_verdict():
    fig = claims_figure(CLAIMS, lang="zh")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count(LABELS["no_number"]["zh"]) == 1
    for v in ("reproduced", "reproduced_under_assumptions", "refuted", "not_testable"):
        assert LABELS[v]["zh"] in texts
    assert any("模拟 72% [70%, 74%]" in t and "声称 90%" in t for t in texts)  # shares as percentages
    # on C1's own scale the claimed diamond (3) is to the right of the simulated dot (2.6)
    ax = fig.axes[0]
    markers = {ln.get_marker(): float(np.asarray(ln.get_xdata())[0]) for ln in ax.get_lines()
               if ln.get_marker() in ("o", "D") and abs(float(np.asarray(ln.get_ydata())[0]) - (0 - 0.12)) < 1e-9}
    assert markers["D"] > markers["o"]


def test_claims_chart_uses_the_chinese_wording_when_given():
    t = CLAIMS.assign(claim=["Opening in 3 days", "90% one trip", "45 to 15 days", "Satisfaction"],
                      claim_zh=["企业开办3天", "", None, "满意度"])
    zh = [x.get_text() for x in claims_figure(t, lang="zh").axes[0].get_yticklabels()]
    assert zh == ["C1 企业开办3天", "C2 90% one trip", "C3 45 to 15 days", "C4 满意度"]
    en = [x.get_text() for x in claims_figure(t, lang="en").axes[0].get_yticklabels()]
    assert en[0] == "C1 Opening in 3 days"


def test_charts_draw_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    out = trips_before_after(CASES, lang="zh", ax=right)
    assert out is fig and right.get_title() == LABELS["trips_title"]["zh"] and left.get_title() == ""


# -- saving -------------------------------------------------------------------------------------------


def test_save_writes_png_and_svg_at_the_requested_size(tmp_path):
    fig = trips_before_after(CASES, lang="zh")
    paths = save(fig, tmp_path / "sub" / "trips.zh", dpi=50)
    assert [p.name for p in paths] == ["trips.zh.png", "trips.zh.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    with Image.open(paths[0]) as im:
        assert im.size == (500, 280)  # 10 x 5.6 inches at 50 dpi
        assert tuple(round(v) for v in im.info["dpi"]) == (50, 50)
    svg = paths[1].read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<text" not in svg  # text as outlines: the SVG needs no font


def test_save_refuses_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="formats"):
        save(Figure(), tmp_path / "x", formats=("jpeg",))
    assert list(tmp_path.iterdir()) == []


# -- bad input: one clear ValueError ------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: distribution_before_after({}), "non-empty dict"),
        (lambda: distribution_before_after({"a": BEFORE.drop(columns="status")}), r"cases\['a'\]: missing column\(s\) status"),
        (lambda: distribution_before_after({"a": cases_table([np.nan, np.nan])}), "no completed case"),
        (lambda: distribution_before_after(CASES, lang="fr"), "lang: expected 'en' or 'zh'"),
        (lambda: waterfall(ATTRIBUTION[ATTRIBUTION["reform"] == "total"], 1, 2, "x"), "no reform rows"),
        (lambda: waterfall(ATTRIBUTION.assign(shapley_mean=np.nan), 1, 2, "x"), "NaN"),
        (lambda: waterfall(ATTRIBUTION, np.nan, 2, "x"), "finite"),
        (lambda: case_gantt(TRACE.iloc[0:0]), "empty or all NaN"),
        (lambda: case_gantt(TRACE.drop(columns="kind")), r"missing column\(s\) kind"),
        (lambda: station_heatmap(STATIONS_BY_HOUR.assign(utilisation=np.nan)), "no finite 'utilisation'"),
        (lambda: trips_before_after({"a": cases_table([1.0], trips=[np.nan])}), "no case with a number of trips"),
        (lambda: claims_figure(CLAIMS.iloc[0:0]), "no rows"),
        (lambda: claims_figure(CLAIMS.drop(columns="verdict")), r"missing column\(s\) verdict"),
        (lambda: tornado(SENSITIVITY.assign(measure_low=np.nan)), "no assumption with both"),
        (lambda: tornado([1, 2]), "expected a pandas DataFrame"),
    ],
)
def test_bad_input_gives_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_wrap_counts_hanzi_as_two_columns():
    assert wrap("一窗受理综合窗口无差别受理", 10) == "一窗受理综\n合窗口无差\n别受理"
    assert wrap("Share of incomplete applications", 20) == "Share of incomplete\napplications"
