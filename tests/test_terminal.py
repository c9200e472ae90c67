"""Terminal output: widths, numbers, tables, progress, and what each command prints.

Layout is measured the way a terminal shows it: in display columns, with
Chinese characters two columns wide.
"""

from __future__ import annotations

import glob
import io
import re

import pandas as pd
import pytest

from sim import load_scenario, run
from sim.bottlenecks import CATEGORY_ZH, category_zh, decompose_runs
from sim.calendar import clock_for
from sim.kpis import CASE_KPIS
from sim.reforms import REFORMS
from sim.terminal import RULE, Progress, Span, decimals, interval, num, table, width, wrap
from sim.views import attribution_text, bottlenecks_text, compare_text, reforms_text, summary_text

NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")


def cols(line: str, start: int, stop: int | None = None) -> str:
    """The characters of ``line`` shown in display columns [start, stop)."""
    out, x = [], 0
    for ch in line:
        w = width(ch)
        if x >= start and (stop is None or x + w <= stop):
            out.append(ch)
        x += w
    return "".join(out)


def col_of(line: str, text: str) -> int:
    """Display column where ``text`` starts in ``line``."""
    return width(line[: line.index(text)])


def column_starts(header: str, rule: str) -> list[int]:
    """Display columns where each column starts, from the rule of dashes under the header."""
    return [m.start() for m in re.finditer(r"-+", rule)]


# -- primitives ------------------------------------------------------------------------------
def test_width_counts_chinese_twice_and_wrap_breaks_at_natural_points():
    assert width("abc") == 3 and width("平均办理时长") == 12 and width("90%分位") == 7
    lines = wrap("平均外部时间(中介/公示/会议,工作日)", 16)
    assert all(width(x) <= 16 for x in lines) and "".join(lines) == "平均外部时间(中介/公示/会议,工作日)"
    assert lines[0] == "平均外部时间"  # before the parenthesis, not inside a word
    assert wrap("windows move to one site; travel between them disappears", 30) == [
        "windows move to one site;", "travel between them disappears"]


def test_numbers_have_no_thousands_commas_one_decimals_per_quantity_and_no_minus_zero():
    assert num(12345.678, 0) == "12346" and "," not in num(1234567.0, 1)
    assert interval(1943.2, 2033.9, 0) == "[1943; 2034]"
    assert interval(0.0418, 0.0439, 4) == "[0.0418; 0.0439]"
    assert num(-0.0001, 2) == "0.00" and num(float("nan"), 2) == "n/a" and interval(1.0, float("nan"), 1) == "n/a"
    assert decimals([1988.0]) == 0 and decimals([32.71]) == 1 and decimals([3.82]) == 2 and decimals([0.0428]) == 4
    assert decimals([0.0, float("nan")]) == 0 and decimals([1e-9]) == 4


def test_table_aligns_columns_in_display_width_and_numbers_on_the_point():
    rows = [
        ["KPI", "mean", "指标"],
        ["cases", "2008", "办件量"],
        ["lead_time", "2.20", "平均办理时长(工作日)"],
        ["government_time", "0.0425", "平均办结时间"],
        ["within_target", "n/a", "达标率"],
        Span({0: "  a note that may run on", 2: "x"}),
        RULE,
        ["total", "12.5", "合计"],
    ]
    text = table(rows, "l.l")
    lines = text.splitlines()
    starts = column_starts(lines[0], lines[1])
    grid = [ln for ln in lines[2:] if not ln.startswith(" ") and not ln.startswith("-")]
    for ln in [lines[0]] + grid:
        assert col_of(ln, ln.split()[-1]) == starts[2], ln  # the Chinese column starts at one display column
    points = {col_of(ln, ".") for ln in grid if "." in ln.split()[1]}
    assert len(points) == 1, text  # decimal points line up
    ends = {col_of(ln, ln.split()[1]) + width(ln.split()[1]) for ln in grid if "." not in ln.split()[1]}
    assert max(ends) <= starts[1] + width(max((r[1] for r in rows[1:5]), key=width)) + 5
    assert lines[-2].startswith("-") and lines[-1].startswith("total")


def test_a_fill_column_wraps_to_fit_the_width():
    rows = [["reform", "改革", "what it changes"], ["one_window", "一窗受理 / 综合窗口 / 无差别受理", "word " * 40]]
    text = table(rows, "lll", limits={1: 20}, fill=2, max_width=80)
    assert all(width(ln) <= 80 for ln in text.splitlines())
    assert len(text.splitlines()) > 3


# -- progress ---------------------------------------------------------------------------------------
class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_on_a_pipe_is_a_plain_line_every_few_seconds():
    clock, out = Clock(), io.StringIO()
    with Progress(100, stream=out, tty=False, clock=clock) as bar:
        for i in range(1, 101):
            clock.t = i * 0.2  # 20 s in all
            bar.update(i)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("replications: 10 of 100 (10%), 0:02 elapsed, 5 a second, about 0:18 left")
    assert len(lines) == 5  # at 2, 7, 12, 17 s and the last line
    assert lines[-1] == "replications: 100 of 100 done in 0:20"


def test_progress_stays_quiet_for_quick_work_and_says_when_it_stopped():
    clock, out = Clock(), io.StringIO()
    with Progress(3, stream=out, tty=False, clock=clock) as bar:
        clock.t = 1.0
        bar.update(3)
    assert out.getvalue() == ""
    clock, out = Clock(), io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with Progress(10, "runs", stream=out, tty=False, clock=clock) as bar:
            clock.t = 3.0
            bar.update(4)
            raise KeyboardInterrupt
    assert out.getvalue().splitlines() == ["runs: 4 of 10 (40%), 0:03 elapsed, 1.33 a second, about 0:04 left",
                                           "runs: 4 of 10 done when stopped after 0:03"]


def test_progress_on_a_terminal_redraws_one_line_and_erases_it():
    clock, out = Clock(), io.StringIO()
    with Progress(4, stream=out, tty=True, clock=clock) as bar:
        for i in range(1, 5):
            clock.t = i
            bar.update(i)
    s = out.getvalue()
    assert s.startswith("\rreplications: 0 of 4 (0%), 0:00 elapsed\x1b[K")
    assert s.count("\r") == 6 and "\n" not in s and s.endswith("\r\x1b[K")


# -- what the commands print ------------------------------------------------------------------------
def _short(path, **run):
    return load_scenario(path).evolve(run={"horizon_working_days": 1, "warmup_working_days": 0, "replications": 2, **run})


def test_run_output_of_every_shipped_scenario_fits_in_100_columns():
    for path in sorted(glob.glob("scenarios/*.yaml")):
        text = summary_text(run(_short(path)))
        wide = [ln for ln in text.splitlines() if width(ln) > 100]
        assert not wide, (path, wide[:3])


@pytest.fixture(scope="module")
def county():
    return run(_short("scenarios/county_before_reform.yaml", horizon_working_days=3, warmup_working_days=1))


def _kpi_block(text: str, title: str) -> list[str]:
    block = text.split("\n" + title + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return block


def test_kpi_tables_one_decimals_per_kpi_units_and_n_a_rows(county):
    text = summary_text(county)
    assert text.splitlines()[1] == (
        f"2 replications, seed {county.seed}; horizon 3 working days after a warm-up of 1 working day")
    assert not re.search(r"\d,\d", text)  # no thousands commas anywhere
    block = _kpi_block(text, "All cases / 全部办件")
    header, rule, rows = block[0], block[1], [ln for ln in block[2:] if not ln.startswith(" ")]
    assert header.split()[:4] == ["KPI", "mean", "95%", "CI"]
    assert [r.split()[0] for r in rows] == [k.name for k in CASE_KPIS]
    for r in rows:
        parts = r.split()
        if parts[1] == "n/a":
            continue
        mean, lo, hi = parts[1], parts[2].strip("[;"), parts[3].strip("]")
        decs = {len(x.split(".")[1]) if "." in x else 0 for x in (mean, lo, hi)}
        assert len(decs) == 1, r  # a value and its interval: the same decimals
        assert len(parts) >= 5  # a unit beside the numbers
    # a row one case type lacks is there, marked n/a: individual businesses have no statutory limit
    indiv = _kpi_block(text, "Case type individual_business / 个体工商户登记")
    statutory = next(ln for ln in indiv if ln.startswith("on_time_statutory_rate"))
    assert statutory.split()[1:3] == ["n/a", "%"]
    kinds = [[ln.split()[0] for ln in _kpi_block(text, t)[2:] if not ln.startswith(" ")] for t in (
        "Case type enterprise_opening / 企业开办", "Case type individual_business / 个体工商户登记",
        "Case type property_transfer / 二手房转移登记")]
    assert kinds[0] == kinds[1] == kinds[2]  # the same rows in every case type's table


def test_station_table_fits_and_keeps_one_decimals_per_column(county):
    text = summary_text(county)
    block = text.split("窗口与后台岗位 (means over replications)\n", 1)[1].splitlines()
    assert block[0].split()[:3] == ["station", "staff", "utilisation"] and block[3].startswith("-")
    rows = [ln for ln in block[4:] if ln.startswith("  ")]
    assert {r.split()[0] for r in rows} == set(county.stations["station"])
    for j in range(2, 7):
        decs = {len(r.split()[j].split(".")[1]) for r in rows if r.split()[j] != "n/a"}
        assert len(decs) == 1, (j, decs)
    assert all(width(ln) <= 100 for ln in block)


def test_compare_text_fits_and_puts_chinese_names_and_units_under_each_kpi(county):
    before = county
    after = run(_short("scenarios/county_after_reform.yaml", horizon_working_days=3, warmup_working_days=1))
    from sim.compare import comparison_table

    text = compare_text([before, after], comparison_table([before, after]), ["all", "station:tax_window"])
    assert all(width(ln) <= 100 for ln in text.splitlines()), max(text.splitlines(), key=width)
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("lead_time_working_days_mean"))
    assert lines[i + 1].split() == ["平均办理时长(工作日)", "work", "days"]
    assert re.search(r"-?\d+\.\d+ \[-?\d+\.\d+; -?\d+\.\d+\]", lines[i])
    assert "(no station:tax_window in this scenario)" in text  # pooled into the comprehensive window


def test_bottleneck_total_is_the_mean_lead_time_and_every_category_has_a_chinese_name():
    s = _short("scenarios/county_before_reform.yaml", horizon_working_days=4, warmup_working_days=1)
    d = decompose_runs(s, 2, 5, "property_transfer", total=True)
    kpi = run(s, 2, 5).estimate("lead_time_working_days_mean", "case_type:property_transfer")[0]
    day = clock_for(s.calendar).day_minutes
    total = d[d["category"] == "total"].iloc[0]
    assert total.working_minutes_per_case / day == pytest.approx(kpi, rel=1e-9)
    assert d.loc[d["category"] != "total", "working_minutes_per_case"].sum() == pytest.approx(total.working_minutes_per_case)
    text = bottlenecks_text(d, s, "property_transfer", 2, 5, day)
    assert all(width(ln) <= 100 for ln in text.splitlines())
    row = next(ln for ln in text.splitlines() if ln.startswith("total = mean lead time"))
    assert row.split()[5:7] == ["合计", f"{total.working_minutes_per_case:.1f}"]
    assert f"{kpi:.2f} working days" in text.splitlines()[-1]
    for cat in d["category"]:
        assert category_zh(cat), cat
    assert {"queue", "service", "handoff", "travel", "other", "total"} <= set(CATEGORY_ZH)


def test_attribution_text_decimals_units_and_total():
    t = pd.DataFrame({
        "kpi": "lead_time_working_days_mean", "scope": "all",
        "reform": ["centralise", "one_window", "total"],
        "shapley_mean": [-0.03684, -0.5406, -0.5774], "ci_low": [-0.0441, -0.6, -0.68], "ci_high": [-0.0296, -0.48, -0.47],
        "share_of_total": [0.064, 0.936, 1.0], "alone_mean": [-0.0364, -0.55, -0.5774], "last_mean": [-0.0376, -0.53, -0.5774],
        "sampling_se": [0.0, 0.0, 0.0], "method": "exact", "n": 5,
    })
    text = attribution_text(t, "after.yaml", "all")
    lines = text.splitlines()
    assert all(width(ln) <= 100 for ln in lines)
    assert lines[5].split() == ["work", "days", "%", "of", "total", "work", "days", "work", "days"]
    row = next(ln for ln in lines if ln.startswith("centralise"))
    assert row.split()[1] == "三集中" and "-0.037 [-0.044; -0.030]" in row
    assert "sampling se" not in text  # exact values: no sampling error column
    assert lines[-1].startswith("total") and "合计" in lines[-1]


def test_reform_catalogue_is_aligned_and_fits():
    text = reforms_text()
    lines = text.splitlines()
    starts = column_starts(lines[0], lines[1])
    assert all(width(ln) <= 100 for ln in lines)
    assert [ln.split()[0] for ln in lines[2:] if not ln.startswith(" ")] == list(REFORMS)
    for ln in (line + " " * 100 for line in lines[2:]):  # lines end without trailing spaces
        third = cols(ln, starts[2])
        assert not third.strip() or not third.startswith(" "), ln  # the third column starts at one display column
        assert cols(ln, starts[1] - 2, starts[1]) == "  " and cols(ln, starts[2] - 2, starts[2]) == "  ", ln
    assert all(cols(ln, starts[2]).strip() for ln in lines[2:] if not ln.startswith(" "))


def test_batches_one_after_another_make_one_running_count():
    """Executors report (done, total) from 1 up per batch; an optimiser or experiment runs batches one after
    another, some of a single task.  The count must add them all: 1, 2 | 1 | 1 | 1, 2, 3 -> 1..7 of 7."""
    from sim.cli import running_count

    seen = []
    progress = running_count(lambda done, total: seen.append((done, total)))
    for batch in (2, 1, 1, 3):
        for done in range(1, batch + 1):
            progress(done, batch)
    assert seen == [(1, 2), (2, 2), (3, 3), (4, 4), (5, 7), (6, 7), (7, 7)]
