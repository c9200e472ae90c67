"""Case and item KPIs from running totals: one definition for per-case tables and summary-only runs.

Every case and item KPI is a ratio of sums (means, shares, rates) or a
quantile.  :class:`CaseTotals` and :class:`ItemTotals` keep those sums for a
group of cases (a replication, or one case type) and add chunks of records as
they come, so a run can keep its per-case tables or fold each chunk of 8,192
records into the totals and drop it (``simulate(..., per_case=False)``).

Quantiles are exact when the values are kept (``exact=True``, the per-case
tables); in summary-only runs they come from a :class:`QuantileSketch`, a
fixed log-bucket histogram whose answers are within 0.5% (relative) of the
order statistic they estimate, whatever the number of cases.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["QuantileSketch", "ExactQuantiles", "CaseTotals", "ItemTotals", "RELATIVE_ACCURACY"]

RELATIVE_ACCURACY = 0.005
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_SMALLEST = 1e-9  # values at or below count as zero
_LO = math.floor(math.log(_SMALLEST) / _LOG_GAMMA)
_HI = math.ceil(math.log(1e13) / _LOG_GAMMA)  # beyond any duration a run can produce


class QuantileSketch:
    """Counts of non-negative values in buckets ``(g^(i-1), g^i]``, g = (1+a)/(1-a).

    Only the buckets that received a value are kept (at most about 5,000 for
    any durations a run can produce), so a sketch per station or per group
    costs little when most of them see few distinct magnitudes.
    """

    def __init__(self):
        self.zero = 0
        self.counts: dict[int, int] = {}

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        small = x <= _SMALLEST
        self.zero += int(small.sum())
        i = np.clip(np.ceil(np.log(x[~small]) / _LOG_GAMMA).astype(np.int64), _LO, _HI)
        if i.size:
            keys, n = np.unique(i, return_counts=True)
            counts = self.counts
            for k, c in zip(keys.tolist(), n.tolist()):
                counts[k] = counts.get(k, 0) + c

    @property
    def n(self) -> int:
        return self.zero + sum(self.counts.values())

    def quantile(self, q: float) -> float:
        """As ``np.quantile`` (linear between the two order statistics around rank q(n-1)), each within the accuracy."""
        n = self.n
        if n == 0:
            return float("nan")
        keys = np.array(sorted(self.counts), dtype=np.int64)
        cum = np.cumsum([self.counts[k] for k in keys.tolist()], dtype=np.int64) + self.zero
        rank = q * (n - 1)
        j = math.floor(rank)
        lo = self._order_statistic(j, keys, cum)
        if rank == j:
            return lo
        return lo + (rank - j) * (self._order_statistic(j + 1, keys, cum) - lo)

    def _order_statistic(self, j: int, keys: np.ndarray, cum: np.ndarray) -> float:
        """The bucket's representative value of the j-th smallest value (0-based)."""
        if j < self.zero:
            return 0.0
        i = int(np.searchsorted(cum, j, side="right"))
        return 2.0 * _GAMMA ** int(keys[i]) / (_GAMMA + 1.0)


class ExactQuantiles:
    """The values themselves: ``np.quantile`` on all of them."""

    def __init__(self):
        self.parts: list[np.ndarray] = []

    def add(self, x: np.ndarray) -> None:
        self.parts.append(x[np.isfinite(x)])

    @property
    def n(self) -> int:
        return sum(p.size for p in self.parts)

    def quantile(self, q: float) -> float:
        if not self.parts:
            return float("nan")
        x = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        return float(np.quantile(x, q)) if x.size else float("nan")


def _quantiles(exact: bool):
    return ExactQuantiles() if exact else QuantileSketch()


_DONE_MEANS = (  # KPI <- column, over completed cases
    ("lead_time_working_days_mean", "lead_time_working_days"),
    ("lead_time_working_hours_mean", "lead_time_working_hours"),
    ("lead_time_calendar_days_mean", "lead_time_calendar_days"),
    ("government_time_working_days_mean", "government_time_working_days"),
    ("government_time_working_hours_mean", "government_time_working_hours"),
    ("external_time_working_days_mean", "external_time_working_days"),
    ("applicant_time_working_days_mean", "applicant_time_working_days"),
)
_ALL_MEANS = (  # KPI <- column, over every case
    ("queue_wait_minutes_mean", "queue_wait_minutes"),
    ("window_wait_minutes_mean", "window_wait_minutes"),
    ("back_office_wait_minutes_mean", "back_office_wait_minutes"),
    ("trips_mean", "trips"),
    ("window_visits_mean", "window_visits"),
    ("returns_mean", "returns"),
    ("travel_minutes_mean", "travel_minutes"),
    ("fee_yuan_mean", "fee_yuan"),
    ("materials_mean", "materials"),
)
_COUNTS = ("items_on_time_promised", "items_with_promised_limit", "items_on_time_statutory", "items_with_statutory_limit")
COMPLETED, ABANDONED, UNFINISHED = 0, 1, 2  # status codes (sim.engine.records)


class CaseTotals:
    """Sums over a group of cases from which every case KPI follows (see ``sim.kpis.CASE_KPIS``).

    ``add`` takes columns named as in ``Replication.cases``, with ``status``
    as codes (0 completed, 1 abandoned, 2 unfinished).
    """

    def __init__(self, target_days: float | None = None, exact: bool = True):
        self.target = target_days
        self.n = 0
        self.status = np.zeros(3, dtype=np.int64)
        self.sums = dict.fromkeys([c for _, c in _DONE_MEANS + _ALL_MEANS] + list(_COUNTS), 0.0)
        self.done_n = dict.fromkeys([c for _, c in _DONE_MEANS], 0)
        self.at_most_one_trip = self.zero_trip = self.within = 0
        self.lead_q = _quantiles(exact)
        self.gov_q = _quantiles(exact)

    def add(self, cols) -> None:
        status = np.asarray(cols["status"])
        n = status.size
        if n == 0:
            return
        self.n += n
        self.status += np.bincount(status.astype(np.int64), minlength=3)[:3]
        done = status == COMPLETED
        whole = bool(done.all())
        for _, c in _DONE_MEANS:
            x = np.asarray(cols[c])
            x = x if whole else x[done]
            self.sums[c] += float(x.sum())
            self.done_n[c] += x.size
        for _, c in _ALL_MEANS:
            self.sums[c] += float(np.asarray(cols[c]).sum(dtype=np.float64))
        for c in _COUNTS:
            self.sums[c] += float(np.asarray(cols[c]).sum())
        trips = np.asarray(cols["trips"])
        self.at_most_one_trip += int((trips <= 1).sum())
        self.zero_trip += int((trips == 0).sum())
        lt = np.asarray(cols["lead_time_working_days"])
        gov = np.asarray(cols["government_time_working_days"])
        self.lead_q.add(lt if whole else lt[done])
        self.gov_q.add(gov if whole else gov[done])
        if self.target is not None:
            self.within += int((done & (lt <= self.target + 1e-9)).sum())

    def kpis(self, horizon_days: float) -> dict[str, float]:
        nan = float("nan")
        n = self.n
        done = int(self.status[COMPLETED])

        def share(k):
            return k / n if n else nan

        out = {
            "cases": float(n),
            "throughput_per_day": done / horizon_days,
            "completed_share": share(done),
            "abandoned_share": share(int(self.status[ABANDONED])),
            "unfinished_share": share(int(self.status[UNFINISHED])),
        }
        for kpi, c in _DONE_MEANS:
            out[kpi] = self.sums[c] / self.done_n[c] if self.done_n[c] else nan
            if kpi == "lead_time_working_days_mean":
                out["lead_time_working_days_p90"] = self.lead_q.quantile(0.9)
            if kpi == "government_time_working_days_mean":
                out["government_time_working_days_p90"] = self.gov_q.quantile(0.9)
        for kpi, c in _ALL_MEANS:
            if kpi == "fee_yuan_mean":
                break
            out[kpi] = self.sums[c] / n if n else nan
            if kpi == "trips_mean":
                out["at_most_one_trip_share"] = share(self.at_most_one_trip)
                out["zero_trip_share"] = share(self.zero_trip)
        pn, sn = self.sums["items_with_promised_limit"], self.sums["items_with_statutory_limit"]
        out["on_time_promised_rate"] = self.sums["items_on_time_promised"] / pn if pn else nan
        out["on_time_statutory_rate"] = self.sums["items_on_time_statutory"] / sn if sn else nan
        out["within_target_share"] = share(self.within) if self.target is not None else nan
        out["fee_yuan_mean"] = self.sums["fee_yuan"] / n if n else nan
        out["materials_mean"] = self.sums["materials"] / n if n else nan
        return out


class _OneItem:
    def __init__(self, exact: bool):
        self.n = 0
        self.gov_days = self.gov_hours = 0.0
        self.gov_q = _quantiles(exact)
        self.same_day = 0
        self.trips = np.zeros(0, dtype=np.int64)  # count of applications by number of trips
        self.promised = [0, 0]  # on time, with a limit
        self.statutory = [0, 0]


class ItemTotals:
    """Sums per catalogue item from which the item KPIs follow (see ``sim.kpis.ITEM_KPIS``).

    ``add`` takes columns named as in ``Replication.items`` with ``item`` as
    the item's index in the scenario and on-time flags as 1, 0 or -1 (no limit).
    """

    def __init__(self, item_ids, immediate, exact: bool = True):
        self.ids = list(item_ids)
        self.immediate = np.asarray(immediate, dtype=bool)
        self.items = [_OneItem(exact) for _ in self.ids]
        self.immediate_n = self.immediate_same_day = 0

    def add(self, cols) -> None:
        item = np.asarray(cols["item"]).astype(np.int64)
        if item.size == 0:
            return
        same = np.asarray(cols["decided_same_working_day"], dtype=bool)
        imm = self.immediate[item]
        self.immediate_n += int(imm.sum())
        self.immediate_same_day += int((same & imm).sum())
        gov_d = np.asarray(cols["government_time_working_days"])
        gov_h = np.asarray(cols["government_time_working_hours"])
        trips = np.asarray(cols["trips"]).astype(np.int64)
        on_p = np.asarray(cols["on_time_promised"])
        on_s = np.asarray(cols["on_time_statutory"])
        order = np.argsort(item, kind="stable")
        bounds = np.flatnonzero(np.diff(item[order])) + 1
        for sel in np.split(order, bounds):
            t = self.items[int(item[sel[0]])]
            t.n += sel.size
            g = gov_d[sel]
            t.gov_days += float(g.sum())
            t.gov_hours += float(gov_h[sel].sum())
            t.gov_q.add(g)
            t.same_day += int(same[sel].sum())
            counts = np.bincount(trips[sel])
            if counts.size > t.trips.size:
                counts[: t.trips.size] += t.trips
                t.trips = counts
            else:
                t.trips[: counts.size] += counts
            for flags, acc in ((on_p[sel], t.promised), (on_s[sel], t.statutory)):
                known = flags >= 0
                acc[0] += int((flags[known] > 0).sum())
                acc[1] += int(known.sum())

    def rows(self, horizon_days: float) -> list[tuple]:
        """KPI rows of scope ``item:<id>`` and the catalogue-level item KPIs of scope ``all``.

        ``items_at_most_one_trip_share`` counts catalogue items (事项), each once,
        whose median application took at most one trip (a visit to apply plus a
        pickup counts two): the reports' "92% of items in one trip" reading, as
        opposed to the share of cases.
        """
        nan = float("nan")
        rows, one_trip = [], []
        for item_id, t in zip(self.ids, self.items):
            if t.n == 0:
                continue
            trips = np.arange(t.trips.size)
            one_trip.append(_median_of_counts(t.trips) <= 1)
            sc = f"item:{item_id}"
            rows += [
                (sc, "applications_per_day", t.n / horizon_days),
                (sc, "government_time_working_days_mean", t.gov_days / t.n),
                (sc, "government_time_working_days_p90", t.gov_q.quantile(0.9)),
                (sc, "government_time_working_hours_mean", t.gov_hours / t.n),
                (sc, "same_day_share", t.same_day / t.n),
                (sc, "trips_per_application_mean", float((trips * t.trips).sum()) / t.n),
                (sc, "at_most_one_trip_share", float(t.trips[:2].sum()) / t.n),
                (sc, "on_time_promised_rate", t.promised[0] / t.promised[1] if t.promised[1] else nan),
                (sc, "on_time_statutory_rate", t.statutory[0] / t.statutory[1] if t.statutory[1] else nan),
            ]
        if not one_trip:
            return rows
        rows.append(("all", "items_at_most_one_trip_share", float(np.mean(one_trip))))
        if self.immediate_n:
            rows.append(("all", "immediate_same_day_share", self.immediate_same_day / self.immediate_n))
        return rows


def _median_of_counts(counts: np.ndarray) -> float:
    """Median (as ``np.median``) of integers 0, 1, 2, ... given how often each occurs."""
    n = int(counts.sum())
    cum = np.cumsum(counts)
    lo = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
    hi = int(np.searchsorted(cum, n // 2, side="right"))
    return (lo + hi) / 2
