"""Log perspectives against hand-computed answers: working days, case table, shares, n-grams, distances, WIP."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.eventlog.measures import (activity_frequencies, arrivals_by_weekday, case_table, lead_time_distance, ngram_shares,
                                   throughput_per_week, total_variation, variant_shares, work_in_progress,
                                   working_days_between)
from sim.eventlog.read import read_log

LOG = """case,activity,timestamp
a,submit,2025-03-03 09:00
a,review,2025-03-04 10:00
a,decide,2025-03-07 16:00
b,submit,2025-03-07 11:00
b,review,2025-03-10 09:00
b,decide,2025-03-10 15:00
c,submit,2025-03-10 10:00
c,review,2025-03-11 10:00
"""


@pytest.fixture()
def log(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text(LOG, encoding="utf-8")
    return read_log(f)


def test_working_days_count_from_the_day_after_to_the_end_day_on_the_working_week():
    s = pd.Series(pd.to_datetime(["2025-03-03 09:00", "2025-03-07 11:00", "2025-03-07 11:00", "2025-03-03 00:00"]))
    e = pd.Series(pd.to_datetime(["2025-03-07 16:00", "2025-03-10 15:00", "2025-03-10 15:00", None]))
    assert list(working_days_between(s[:2], e[:2])) == [4, 1]  # Mon -> Fri; Fri -> Mon over the weekend
    assert working_days_between(s[2:3], e[2:3], holidays=["2025-03-10"])[0] == 0  # the Monday is a holiday
    assert working_days_between(s[2:3], e[2:3], working_weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))[0] == 3
    assert pd.isna(working_days_between(s[3:], e[3:])[0])


def test_the_case_table_knows_arrivals_ends_open_cases_and_traces(log):
    c = case_table(log, end_activities=["decide"]).set_index("case_id")
    assert list(c["decided"]) == [True, True, False]  # c has no decision yet
    assert c.loc["a", "lead_working_days"] == 4 and c.loc["b", "lead_working_days"] == 1
    assert c.loc["a", "lead_calendar_days"] == pytest.approx(4 + 7 / 24)
    assert c.loc["b", "trace"] == ("submit", "review", "decide")
    assert pd.isna(c.loc["c", "lead_working_days"])
    last = case_table(log).set_index("case_id")  # no end activities: the last event ends a case
    assert last.loc["c", "end"] == pd.Timestamp("2025-03-11 10:00")


def test_shares_and_distances_by_hand(log):
    c = case_table(log, ["decide"])
    wd = arrivals_by_weekday(c)
    assert wd["mon"] == pytest.approx(2 / 3) and wd["fri"] == pytest.approx(1 / 3) and wd.sum() == pytest.approx(1)
    assert activity_frequencies(log)["decide"] == pytest.approx(2 / 3)
    bi = ngram_shares(c["trace"], 2)  # 11 bigrams: ^submit x3, submit-review x3, review-decide x2, decide-$ x2, review-$ x1
    assert bi[("^", "submit")] == pytest.approx(3 / 11) and bi[("review", "$")] == pytest.approx(1 / 11)
    v = variant_shares(c["trace"])
    assert v.iloc[0] == pytest.approx(2 / 3)
    p, q = pd.Series({"x": 0.5, "y": 0.5}), pd.Series({"y": 0.25, "z": 0.75})
    assert total_variation(p, q) == pytest.approx(0.75) and total_variation(p, p) == 0
    assert lead_time_distance([1, 2, 3], [2, 3, 4]) == pytest.approx(1.0)


def test_throughput_and_work_in_progress_by_week(log):
    c = case_table(log, ["decide"])
    tp = throughput_per_week(c)
    assert list(tp.to_numpy()) == [1, 1]  # a decided in the week of 3 March, b in the week of 10 March
    w = work_in_progress(c)
    assert list(w.to_numpy()) == [1, 1]  # end of week 1: b open; end of week 2: c open
