"""Shared helpers for the verification tests: small scenario builders and statistics.

Scenarios are built in Python as plain dicts and validated with
:meth:`sim.Scenario.from_dict`, so every test states its model in full.

Statistical checks compare an estimate with a known answer at a stated
confidence level.  The standard error comes either from batch means over one
long run (customers in arrival order, cut into equal batches much longer than
the queue's relaxation time) or from independent replications.  Seeds are
fixed, so every test is deterministic; the 99.9% level only says how wide the
allowed band is relative to the run's own noise.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy import stats

from sim import Scenario
from sim.calendar import Calendar, parse_clock

ALWAYS_OPEN = "always_open"
# the county scenario's office hours (Gansu summer schedule), used by calendar checks
COUNTY_CALENDAR = {
    "start_date": "2025-03-03",  # a Monday
    "working_weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "office_hours": ["08:30-12:00", "14:30-18:00"],
    "holidays": ["2025-04-04", "2025-05-01", "2025-05-02", "2025-05-05"],
    "extra_working_days": ["2025-04-27"],
}
LEVEL = 0.999  # confidence level of every statistical band in the verification tests


def day_minutes(calendar) -> float:
    """Working minutes per working day of a calendar given as scenario data."""
    return Calendar.model_validate(calendar).day_minutes


def scenario(
    *,
    items: list[dict],
    case_types: list[dict],
    windows: list[dict] | None = None,
    departments: list[dict] | None = None,
    externals: list[dict] | None = None,
    calendar=ALWAYS_OPEN,
    run: dict | None = None,
    applicants: dict | None = None,
    travel: dict | None = None,
    sites: list[dict] | None = None,
    name: str = "verification",
) -> Scenario:
    """A validated scenario at one site ``hall``.

    Defaults: one department ``d`` (no staff) and one window ``w`` with one
    position that accepts every item; no warm-up, 500 days of drain.
    """
    data = {
        "name": name,
        "calendar": calendar,
        "sites": sites or [{"id": "hall"}],
        "departments": departments or [{"id": "d", "site": "hall"}],
        "windows": windows or [{"id": "w", "site": "hall", "positions": 1, "items": [i["id"] for i in items]}],
        "items": items,
        "case_types": case_types,
        "run": {"horizon_working_days": 10, "warmup_working_days": 0, **(run or {})},
    }
    if externals:
        data["externals"] = externals
    if applicants:
        data["applicants"] = applicants
    if travel:
        data["travel"] = travel
    return Scenario.from_dict(data)


def single_station(
    service,
    *,
    rate_per_minute: float,
    customers: float,
    positions: int = 1,
    warmup_customers: float = 1000,
    calendar=ALWAYS_OPEN,
) -> Scenario:
    """One window group with ``positions`` servers and Poisson arrivals: an M/G/c queue.

    ``service`` is the intake distribution (scenario form); the horizon is
    chosen so about ``customers`` arrive after a warm-up of about
    ``warmup_customers`` arrivals.  Rates are per *working* minute.
    """
    day = day_minutes(calendar)
    per_day = rate_per_minute * day
    return scenario(
        calendar=calendar,
        items=[{"id": "svc", "department": "d", "kind": "immediate", "intake_minutes": service}],
        windows=[{"id": "w", "site": "hall", "positions": positions, "items": ["svc"]}],
        case_types=[{"id": "customer", "arrivals": {"per_day": per_day}, "flow": [{"item": "svc"}]}],
        run={"horizon_working_days": customers / per_day, "warmup_working_days": warmup_customers / per_day},
    )


def batch_means(x, batches: int = 20) -> tuple[float, float, int]:
    """(grand mean, standard error, degrees of freedom) by non-overlapping batch means.

    ``x`` must be in time order (e.g. customers by arrival).  The tail that
    does not fill a batch is dropped.
    """
    x = np.asarray(x, dtype=float)
    size = len(x) // batches
    if size < 1:
        raise ValueError("too few observations for the batches")
    b = x[: size * batches].reshape(batches, size).mean(axis=1)
    return float(b.mean()), float(b.std(ddof=1) / math.sqrt(batches)), batches - 1


def half_width(se: float, df: int | None, level: float = LEVEL) -> float:
    """Half-width of a two-sided interval: Student-t with ``df`` degrees of freedom, or normal if None."""
    q = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    return float(q * se)


def assert_matches(
    estimate: float,
    se: float,
    df: int | None,
    expected: float,
    *,
    max_rel_half_width: float,
    what: str = "",
    level: float = LEVEL,
) -> None:
    """``expected`` lies in the ``level`` interval around ``estimate``, and the interval is narrow.

    The second condition keeps the test honest: a run so short that its
    interval would accept anything fails instead of passing.
    """
    h = half_width(se, df, level)
    assert h <= max_rel_half_width * abs(expected), (
        f"{what}: run too short, half-width {h:.4g} > {max_rel_half_width:.0%} of {expected:.4g}"
    )
    assert abs(estimate - expected) <= h, (
        f"{what}: estimate {estimate:.5g} vs exact {expected:.5g} "
        f"(diff {estimate - expected:+.4g}, allowed +-{h:.4g} = {level:.1%} band, se {se:.3g})"
    )


def sample_mean_check(x, expected: float, *, max_rel_half_width: float, what: str = "") -> None:
    """Mean of i.i.d. values against ``expected`` with a normal band from the sample std."""
    x = np.asarray(x, dtype=float)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    assert_matches(float(x.mean()), se, None, expected, max_rel_half_width=max_rel_half_width, what=what)


def binomial_check(successes: int, n: int, p: float, what: str = "", level: float = LEVEL) -> None:
    """Observed frequency ``successes / n`` against probability ``p`` (normal approximation)."""
    se = math.sqrt(p * (1 - p) / n)
    h = half_width(se, None, level)
    f = successes / n
    assert abs(f - p) <= h, f"{what}: frequency {f:.4f} vs probability {p:.4f} (allowed +-{h:.4f}, n={n})"


def replication_values(result, kpi: str, scope: str = "all") -> np.ndarray:
    """Per-replication values of one KPI from a :class:`sim.RunResult`, in replication order."""
    k = result.kpis
    sub = k[(k["scope"] == scope) & (k["kpi"] == kpi)].sort_values("replication")
    return sub["value"].to_numpy(dtype=float)


def minute_of(calendar_start: str | dt.date, when: str) -> float:
    """Engine minute of ``"YYYY-MM-DD HH:MM"`` for a calendar starting at ``calendar_start``."""
    start = dt.date.fromisoformat(str(calendar_start))
    date_s, time_s = when.split()
    days = (dt.date.fromisoformat(date_s) - start).days
    return float(days * 1440 + parse_clock(time_s))


def approval_sim(*args, timeout: float = 600):
    """Run the installed ``approval-sim`` command as a user would (a new process); returns the CompletedProcess."""
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "approval-sim"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def write_chinese_log(rows, path) -> None:
    """Write (case, activity, time) rows as an approval system's CSV export with Chinese headers."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=["办件编号", "环节名称", "完成时间"])
    df["完成时间"] = df["完成时间"].dt.strftime("%Y-%m-%d %H:%M:%S")
    df.to_csv(path, index=False)


def run_main(capsys, *args) -> tuple[int, str, str]:
    """Run the command's ``main`` in this process: (exit status, stdout, stderr); argparse errors are SystemExit."""
    from sim.cli import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err
