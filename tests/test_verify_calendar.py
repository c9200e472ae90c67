"""Verification of working-time arithmetic and of its use by the engine.

Unit checks of :class:`sim.calendar.WorkingClock` use hand-computed dates for
the county's office hours (08:30-12:00 and 14:30-18:00, 420 working minutes a
day) with the 2025 Qingming and May Day holidays and the Sunday 27 April
make-up day; they are exact (1e-9 minutes).

End-to-end checks run the engine under office hours and look at the activity
trace (no staff work while the office is closed; a task of d working minutes
spans exactly d working minutes), at lead times (a 1-working-day period is
exactly one working day however many nights or weekend days it spans) and at
a queue: with Poisson arrivals in working time an office-hours M/M/1 queue *is*
an M/M/1 queue on the working clock, path by path the always-open queue with
time scaled by 420/1440 (compared to 1e-9 relative), and its mean wait in
working minutes matches rho / (mu - lam) in a 99.9% batch-means band.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.helpers import (
    COUNTY_CALENDAR,
    assert_matches,
    batch_means,
    minute_of,
    scenario,
    single_station,
)
from sim import simulate
from sim.calendar import AlwaysOpenClock, Calendar, WorkingClock, clock_for, due_working_minutes
from sim.queueing import mm1_wait

START = COUNTY_CALENDAR["start_date"]  # Monday 2025-03-03
DAY = 420.0


@pytest.fixture(scope="module")
def clock() -> WorkingClock:
    return clock_for(Calendar.model_validate(COUNTY_CALENDAR))


def at(when: str) -> float:
    return minute_of(START, when)


# -- calendar arithmetic ----------------------------------------------------------------------
def test_clock_kind_and_day_length(clock):
    assert isinstance(clock, WorkingClock) and not isinstance(clock, AlwaysOpenClock)
    assert clock.day_minutes == DAY
    always = clock_for(Calendar.model_validate("always_open"))
    assert isinstance(always, AlwaysOpenClock) and always.day_minutes == 1440
    assert always.add(100.0, 50.0) == 150.0 and always.working(1234.5) == 1234.5


def test_two_hour_task_from_friday_1700_ends_monday_0930(clock):
    # 60 minutes until Friday's close at 18:00, the other 60 from Monday's 08:30
    assert clock.add(at("2025-03-07 17:00"), 120) == pytest.approx(at("2025-03-10 09:30"), abs=1e-9)


@pytest.mark.parametrize(
    "start, minutes, end",
    [
        ("2025-03-04 11:30", 60, "2025-03-04 15:00"),  # lunch pause 12:00-14:30
        ("2025-03-04 11:00", 60, "2025-03-04 12:00"),  # ends exactly at the lunch close
        ("2025-03-04 11:59", 2, "2025-03-04 14:31"),
        ("2025-03-04 07:00", 30, "2025-03-04 09:00"),  # started before opening: begins 08:30
        ("2025-03-04 12:30", 30, "2025-03-04 15:00"),  # started during lunch
        ("2025-03-08 10:00", 30, "2025-03-10 09:00"),  # started on a Saturday
        ("2025-03-04 08:30", 420, "2025-03-04 18:00"),  # one full working day
        ("2025-03-04 08:30", 421, "2025-03-05 08:31"),
        ("2025-03-07 17:00", 5 * 420, "2025-03-14 17:00"),  # a working week is Friday to Friday
        ("2025-04-03 17:30", 60, "2025-04-07 09:00"),  # Fri 4 April (Qingming) is a holiday
        ("2025-04-25 17:30", 60, "2025-04-27 09:00"),  # Sun 27 April is a make-up working day
        ("2025-04-30 17:00", 120, "2025-05-06 09:30"),  # May Day: 1, 2, 5 May holidays + weekend
    ],
)
def test_add_working_minutes(clock, start, minutes, end):
    assert clock.add(at(start), minutes) == pytest.approx(at(end), abs=1e-9)
    # and the working clock advanced by exactly that many minutes
    assert clock.working(at(end)) - clock.working(at(start)) == pytest.approx(minutes)


def test_working_dates_holidays_and_make_up_days(clock):
    cal = clock.calendar
    assert cal.is_working_date(dt.date(2025, 3, 7))  # Friday
    assert not cal.is_working_date(dt.date(2025, 3, 8))  # Saturday
    assert not cal.is_working_date(dt.date(2025, 4, 4))  # Qingming
    assert cal.is_working_date(dt.date(2025, 4, 27))  # Sunday make-up day
    # working minutes of a plain week, of March 2025 (21 weekdays) and of the May Day week
    assert clock.working(at("2025-03-10 00:00")) - clock.working(at("2025-03-03 00:00")) == 5 * DAY
    assert clock.working(at("2025-04-01 00:00")) - clock.working(at("2025-03-01 00:00")) == 21 * DAY
    # week of Mon 28 April: Mon-Wed work, Thu 1 + Fri 2 May holidays
    assert clock.working(at("2025-05-03 00:00")) - clock.working(at("2025-04-28 00:00")) == 3 * DAY
    # 27 April (Sunday) counts
    assert clock.working(at("2025-04-28 00:00")) - clock.working(at("2025-04-27 00:00")) == DAY


def test_next_open_and_is_open(clock):
    assert clock.next_open(at("2025-03-04 08:30")) == at("2025-03-04 08:30")
    assert clock.is_open(at("2025-03-04 11:59"))
    assert not clock.is_open(at("2025-03-04 12:00"))  # closing instant belongs to the closed spell
    assert clock.next_open(at("2025-03-04 12:00")) == at("2025-03-04 14:30")
    assert clock.next_open(at("2025-03-04 18:00")) == at("2025-03-05 08:30")
    assert clock.next_open(at("2025-03-07 18:30")) == at("2025-03-10 08:30")
    assert clock.next_open(at("2025-04-03 20:00")) == at("2025-04-07 08:30")
    assert clock.next_open(at("2025-04-26 09:00")) == at("2025-04-27 08:30")


def test_due_working_minutes_does_not_count_the_day_of_acceptance():
    # accepted 100 working minutes into working day 0
    assert due_working_minutes(100.0, 3, DAY) == pytest.approx(4 * DAY)  # close of day 3
    assert due_working_minutes(100.0, 0, DAY) == pytest.approx(1 * DAY)  # close of the same day
    assert due_working_minutes(100.0, 1, DAY) == pytest.approx(2 * DAY)
    # accepted late on day 2: still the close of day 2 + N
    assert due_working_minutes(2 * DAY + 400, 1, DAY) == pytest.approx(4 * DAY)
    # a fractional limit is elapsed working time
    assert due_working_minutes(100.0, 0.5, DAY) == pytest.approx(100 + 210)
    assert due_working_minutes(300.0, 1.5, DAY) == pytest.approx(300 + 630)
    # element-wise on arrays
    w = np.array([0.0, 100.0, 419.0, 500.0, 1000.0])
    n = np.array([3, 0, 1, 0.5, 2])
    expected = [4 * DAY, DAY, 2 * DAY, 500 + 210, 5 * DAY]
    np.testing.assert_allclose(due_working_minutes(w, n, DAY), expected)


def test_array_versions_agree_with_scalar_versions(clock):
    rng = np.random.default_rng(20250303)
    # calendar times over ~2 years (beyond the clock's first 366-day chunk), incl. closed spells
    t = np.concatenate([rng.uniform(0, 800 * 1440, 3000), [0.0, at("2025-03-04 12:00"), at("2025-04-04 10:00")]])
    w_arr = clock.working_array(t)
    np.testing.assert_allclose(w_arr, [clock.working(x) for x in t], rtol=0, atol=1e-7)
    w = np.concatenate([rng.uniform(0, clock.working(800 * 1440.0), 3000), [0.0, DAY, 2.5 * DAY]])
    t_arr = clock.at_working_array(w)
    np.testing.assert_allclose(t_arr, [clock.at_working(x) for x in w], rtol=0, atol=1e-7)
    # inverse relations: W(W^-1(w)) = w, and W^-1(W(t)) <= t with equality while open
    np.testing.assert_allclose(clock.working_array(t_arr), w, rtol=0, atol=1e-7)
    back = clock.at_working_array(w_arr)
    assert (back <= t + 1e-7).all()
    is_open = np.array([clock.is_open(x) for x in t])
    np.testing.assert_allclose(back[is_open & (t > 0)], t[is_open & (t > 0)], rtol=0, atol=1e-7)
    assert np.isnan(clock.working_array(np.array([np.inf]))[0])


# -- the engine on the working clock --------------------------------------------------------------
def test_engine_task_from_friday_1700_ends_monday_0930():
    """One case arrives at W = 4 days + 360 min = Friday 17:00 (renewal arrivals in
    working time); its single 120-minute back-office step ends Monday 09:30."""
    s = scenario(
        calendar=COUNTY_CALENDAR,
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 1}}],
        items=[
            {
                "id": "permit",
                "department": "d",
                "kind": "back_office",
                "intake_minutes": 0,
                "steps": [{"role": "clerk", "minutes": 120}],
                "result_delivery": "electronic",
            }
        ],
        case_types=[{"id": "x", "arrivals": {"interarrival_minutes": 4 * DAY + 360}, "flow": [{"item": "permit"}]}],
        run={"horizon_working_days": 5},
    )
    rep = simulate(s, seed=1, trace=True)
    assert len(rep.cases) == 1
    case = rep.cases.iloc[0]
    assert case["arrival_minute"] == pytest.approx(at("2025-03-07 17:00"))
    assert case["end_minute"] == pytest.approx(at("2025-03-10 09:30"))
    assert case["lead_time_working_hours"] == pytest.approx(2.0)
    step = rep.trace[rep.trace["kind"] == "step"].iloc[0]
    assert step["start_minute"] == pytest.approx(at("2025-03-07 17:00"))
    assert step["end_minute"] == pytest.approx(at("2025-03-10 09:30"))


def _busy_office(step_minutes):
    return scenario(
        calendar=COUNTY_CALENDAR,
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 2, "chief": 1}}],
        windows=[{"id": "w", "site": "hall", "positions": 2, "items": ["permit"]}],
        items=[
            {
                "id": "permit",
                "department": "d",
                "kind": "back_office",
                "intake_minutes": {"dist": "exponential", "mean": 40},
                "handoff": {"to_back_office_minutes": {"dist": "uniform", "low": 0, "high": 200}},
                "steps": [
                    {"role": "clerk", "minutes": {"dist": "lognormal", "mean": 60, "cv": 1.0}},
                    {"role": "chief", "minutes": step_minutes},
                ],
                "pickup_minutes": 5,
            }
        ],
        case_types=[{"id": "x", "arrivals": {"per_day": 12}, "flow": [{"item": "permit"}]}],
        run={"horizon_working_days": 60, "warmup_working_days": 5},
    )


def test_staff_never_work_outside_office_hours():
    """Every intake, step and pickup starts while the office is open and ends while
    it is open or exactly at a closing time; fixed 200-minute steps span
    exactly 200 working minutes although many span lunch or a night."""
    s = _busy_office(200)
    rep = simulate(s, seed=2, trace=True)
    clock = clock_for(s.calendar)
    tr = rep.trace
    work = tr[tr["kind"].isin(["intake", "step", "pickup"])]
    assert len(work) > 2000
    assert all(clock.is_open(x) for x in work["start_minute"])
    ends = work["end_minute"].to_numpy()
    # W rises just before the end: the office was open right up to it
    assert (clock.working_array(ends) - clock.working_array(ends - 1e-6) > 0).all()
    chief = work[work["resource"] == "d.chief"]
    spans = clock.working_array(chief["end_minute"].to_numpy()) - clock.working_array(chief["start_minute"].to_numpy())
    np.testing.assert_allclose(spans, 200.0, rtol=0, atol=1e-6)
    assert ((chief["end_minute"] - chief["start_minute"]) > 200 + 1).mean() > 0.3  # paused over lunch / nights
    # one chief: his tasks never overlap, in working time either
    st, en = np.sort(chief["start_minute"].to_numpy()), np.sort(chief["end_minute"].to_numpy())
    assert (st[1:] >= en[:-1] - 1e-9).all()
    # hand-offs also run on working time: they too end while open (or at a close)
    hand = tr[(tr["kind"] == "handoff")]["end_minute"].to_numpy()
    assert hand.size > 500
    assert (clock.working_array(hand) - clock.working_array(hand - 1e-6) > 0).all()
    for _, row in rep.stations.iterrows():
        assert 0 <= row["utilisation"] <= 1, row["station"]
    # queue waits are working minutes: each case's window and back-office waits are the
    # sums of W(start) - W(enter) over its visits, so nights and weekends in a queue are free
    tr = tr.assign(wait=clock.working_array(tr["start_minute"].to_numpy()) - clock.working_array(tr["enabled_minute"].to_numpy()))
    at_window = tr[tr["kind"].isin(["intake", "pickup"])].groupby("case")["wait"].sum()
    in_office = tr[tr["kind"] == "step"].groupby("case")["wait"].sum()
    c = rep.cases.set_index("case")
    np.testing.assert_allclose(c["window_wait_minutes"], at_window.reindex(c.index, fill_value=0), atol=1e-6)
    np.testing.assert_allclose(c["back_office_wait_minutes"], in_office.reindex(c.index, fill_value=0), atol=1e-6)
    calendar_wait = (tr["start_minute"] - tr["enabled_minute"])[tr["kind"].isin(["intake", "step", "pickup"])]
    assert (calendar_wait > tr.loc[calendar_wait.index, "wait"] + 60).any()  # some waited overnight


def test_one_working_day_period_is_exactly_one_working_day():
    """A fixed period of 1 working day ends at the same clock time on the next
    working date: lead time exactly 1 working day; 1 calendar day on a
    weekday, 3 from a Friday, 4 over Qingming, and 2 from Friday 25 April to the
    make-up Sunday.  A 2-calendar-day period is exactly 2 calendar days."""
    s = scenario(
        calendar=COUNTY_CALENDAR,
        items=[{"id": "unused", "department": "d", "kind": "immediate", "intake_minutes": 1}],
        externals=[
            {"kind": "fixed_period", "id": "one", "duration_working_days": 1},
            {"kind": "fixed_period", "id": "two_cal", "duration_calendar_days": 2},
        ],
        case_types=[
            {"id": "wd", "arrivals": {"per_day": 20}, "flow": [{"external": "one"}]},
            {"id": "cd", "arrivals": {"per_day": 20}, "flow": [{"external": "two_cal"}]},
        ],
        run={"horizon_working_days": 60},
    )
    c = simulate(s, seed=3).cases
    cal = Calendar.model_validate(COUNTY_CALENDAR)
    start = dt.date.fromisoformat(START)
    wd = c[c["case_type"] == "wd"]
    np.testing.assert_allclose(wd["lead_time_working_days"], 1.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(wd["lead_time_working_hours"], 7.0, rtol=0, atol=1e-9)
    for arr, end in zip(wd["arrival_minute"], wd["end_minute"]):
        d0 = start + dt.timedelta(days=int(arr // 1440))
        d1 = d0 + dt.timedelta(days=1)
        while not cal.is_working_date(d1):
            d1 += dt.timedelta(days=1)
        assert end == pytest.approx(arr + (d1 - d0).days * 1440, abs=1e-6)
    gaps = set(np.round(wd["lead_time_calendar_days"], 9))
    assert {1.0, 3.0, 4.0, 2.0} <= gaps  # weekday, Friday, Qingming Thursday, 25 April
    cd = c[c["case_type"] == "cd"]
    np.testing.assert_allclose(cd["lead_time_calendar_days"], 2.0, rtol=0, atol=1e-9)
    # ... which is 2 working days only when both following days are working days
    assert set(np.round(cd["lead_time_working_days"], 6)) >= {2.0}
    assert (cd["lead_time_working_days"] < 2 - 1e-6).any()


def test_office_hours_queue_is_the_always_open_queue_on_the_working_clock():
    """Poisson arrivals are spread uniformly over working time and work pauses
    while closed, so in working minutes the office-hours M/M/1 queue is the
    always-open one with every time scaled by 420/1440 (same random numbers,
    exponential service mean scaled by the same factor).  Waits, utilisation and
    queue length then agree to rounding, and the mean wait in working minutes is
    the M/M/1 value."""
    lam_day, customers = 0.7 * 1440, 20_000
    k = DAY / 1440
    base = single_station({"dist": "exponential", "mean": 1.0}, rate_per_minute=0.7, customers=customers)
    office = single_station(
        {"dist": "exponential", "mean": k}, rate_per_minute=0.7 / k, customers=customers, calendar=COUNTY_CALENDAR
    )
    assert office.case_types[0].arrivals.per_day == pytest.approx(lam_day)
    a, b = simulate(base, seed=4), simulate(office, seed=4)
    wa = a.cases.sort_values("case")["window_wait_minutes"].to_numpy()
    wb = b.cases.sort_values("case")["window_wait_minutes"].to_numpy()
    assert len(wa) == len(wb) > 19_000
    np.testing.assert_allclose(wb, wa * k, rtol=1e-9, atol=1e-9)
    for kpi in ("utilisation", "queue_length_mean"):
        assert b.kpi(kpi, "station:w") == pytest.approx(a.kpi(kpi, "station:w"), rel=1e-9)
    # lead times: the same in working days
    np.testing.assert_allclose(
        b.cases.sort_values("case")["lead_time_working_days"], a.cases.sort_values("case")["lead_time_working_days"], rtol=1e-9, atol=1e-10
    )
    # M/M/1 on the working clock: lam = 0.7/k per working minute, mu = 1/k
    mean, se, df = batch_means(wb)
    assert_matches(mean, se, df, mm1_wait(0.7 / k, 1 / k), max_rel_half_width=0.35, what="office-hours M/M/1")
    # Little's law on the working clock
    L = b.kpi("queue_length_mean", "station:w")
    lam_w = b.kpi("visits_per_day", "station:w") / DAY
    assert L == pytest.approx(lam_w * b.kpi("wait_minutes_mean", "station:w"), rel=0.01)
