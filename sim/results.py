"""Results of one replication as tidy tables.

* ``cases``: one row per case that arrived after the warm-up and before the
  end of the horizon, with its lead time split into government time
  (受理 -> 办结: some item accepted and not yet decided), external time
  (intermediaries, notices, meetings outside it) and the applicant's side
  (queues before acceptance, travel, fixing, supplements, pickup, post);
* ``items``: one row per item decided in those cases: acceptance, decision,
  government time in working days, the trips and returns its application
  took, on time against the promised and statutory limits;
* ``stations``: one row per staffed resource (window group or department
  role) with utilisation, queue length and waiting over the horizon;
* ``stations_by_hour``: the same by clock hour of the day;
* ``kpis``: long table (scope, kpi, value); scope is ``all``,
  ``case_type:<id>`` or ``station:<id>``;
* ``trace``: every activity (only when asked for; ``item`` names the item,
  or an application's items joined by ``+``).

Queue length and utilisation are time averages over *working* time (closed
hours do not count), computed exactly from the visit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .engine.output import RunOutput
from .engine.records import CASE_DTYPE, CHANNELS, ITEM_FIELDS, RECORD_FIELDS, STATUS, TRACE_COLUMNS
from .kpis import STATION_KPIS
from .summaries import CaseTotals, ItemTotals
from .station_summary import StationSummaries, open_minutes_by_hour

__all__ = ["Replication", "build_replication", "ITEM_FIELDS", "RECORD_FIELDS"]

_STATUS = list(STATUS)
_CHANNELS = list(CHANNELS)


@dataclass(frozen=True)
class Replication:
    """Everything one replication produced."""

    scenario: str
    scenario_hash: str
    seed: int
    replication: int
    cases: pd.DataFrame
    stations: pd.DataFrame
    stations_by_hour: pd.DataFrame
    kpis: pd.DataFrame
    trace: pd.DataFrame | None = field(default=None, repr=False)
    items: pd.DataFrame | None = field(default=None, repr=False)

    def kpi(self, name: str, scope: str = "all") -> float:
        """One KPI value, e.g. ``rep.kpi("utilisation", "station:tax_window")``."""
        k = self.kpis
        row = k[(k["scope"] == scope) & (k["kpi"] == name)]
        if row.empty:
            raise KeyError(f"no KPI {name!r} in scope {scope!r}")
        return float(row["value"].iloc[0])


def case_record_columns(rec, clock, day: float) -> dict[str, np.ndarray]:
    """Columns of the cases table from case records (codes for ``status``, ``case_type`` and ``channel``)."""
    w_arr = clock.working_array(rec["arrival"])
    w_end = clock.working_array(rec["end"])
    open_ = rec["status"] == 2  # unfinished: no lead time
    w_end = np.where(open_, np.nan, w_end)
    cal_end = np.where(open_, np.nan, rec["end"])
    gov = np.where(open_, np.nan, rec["government"])
    return {
        "case": rec["idx"].astype(np.int64),
        "case_type": rec["case_type"],
        "channel": rec["channel"],
        "status": rec["status"],
        "arrival_minute": rec["arrival"],
        "end_minute": rec["end"],
        "lead_time_working_days": (w_end - w_arr) / day,
        "lead_time_working_hours": (w_end - w_arr) / 60.0,
        "lead_time_calendar_days": (cal_end - rec["arrival"]) / 1440.0,
        "government_time_working_days": gov / day,
        "government_time_working_hours": gov / 60.0,
        "external_time_working_days": np.where(open_, np.nan, rec["external"]) / day,
        "applicant_time_working_days": (w_end - w_arr - rec["government"] - rec["external"]) / day,
        "queue_wait_minutes": rec["window_wait"] + rec["office_wait"],
        "window_wait_minutes": rec["window_wait"],
        "back_office_wait_minutes": rec["office_wait"],
        "trips": rec["trips"],
        "window_visits": rec["window_visits"],
        "returns": rec["returns"],
        "travel_minutes": rec["travel"],
        "items": rec["items"],
        "items_on_time_promised": rec["promised_ok"],
        "items_with_promised_limit": rec["promised_n"],
        "items_on_time_statutory": rec["statutory_ok"],
        "items_with_statutory_limit": rec["statutory_n"],
        "fee_yuan": rec["fee"],
        "materials": rec["materials"],
    }


def item_record_columns(rec, clock, day: float) -> dict[str, np.ndarray]:
    """Columns of the items table from item records (``item`` as its index; on-time flags 1, 0 or -1)."""
    w_acc = clock.working_array(rec["accepted"])
    w_gov = clock.working_array(rec["government_end"])
    w_dec = clock.working_array(rec["decided"])
    return {
        "case": rec["case"].astype(np.int64),
        "item": rec["item"],
        "accepted_minute": rec["accepted"],
        "decided_minute": rec["decided"],
        "government_time_working_days": (w_gov - w_acc) / day,
        "government_time_working_hours": (w_gov - w_acc) / 60.0,
        # 当日办结 / 即办: the decision (result issued, after any wait for a supplement) falls
        # within the working day on which the application was taken
        "decided_same_working_day": (w_dec <= (np.floor(w_acc / day) + 1) * day + 1e-9),
        "trips": rec["trips"],
        "returns": rec["returns"],
        "on_time_promised": rec["on_time_promised"],
        "on_time_statutory": rec["on_time_statutory"],
    }


class RunTotals:
    """Case and item totals of one run: all cases, each case type, each item.

    The recorder's sinks in a summary-only run (``add_cases``/``add_items``
    take packed record chunks and keep only the cases that arrived in the
    horizon); built from the whole tables otherwise.
    """

    def __init__(self, scenario, clock, t_warm: float, t_end: float, exact: bool, first_counted_case: int = 0):
        self.s = scenario
        self.clock, self.day = clock, clock.day_minutes
        self.t_warm, self.t_end = t_warm, t_end
        self.first_counted_case = first_counted_case  # cases are numbered in order of arrival
        cts = scenario.case_types
        self.single = len(cts) == 1
        self.by_type = [CaseTotals(ct.target_working_days, exact) for ct in cts]
        self.all = self.by_type[0] if self.single else CaseTotals(None, exact)
        self.items = ItemTotals([it.id for it in scenario.items], [it.kind == "immediate" for it in scenario.items], exact)

    def add_case_columns(self, cols) -> None:
        if not self.single:
            self.all.add(cols)
            types = cols["case_type"]
            for c in np.unique(types):
                sel = types == c
                self.by_type[int(c)].add({k: v[sel] for k, v in cols.items()})
        else:
            self.all.add(cols)

    def add_cases(self, chunk: np.ndarray) -> None:
        chunk = chunk[(chunk["arrival"] >= self.t_warm) & (chunk["arrival"] < self.t_end)]
        if chunk.size:
            self.add_case_columns(case_record_columns(chunk, self.clock, self.day))

    def add_items(self, chunk: np.ndarray) -> None:
        chunk = chunk[chunk["case"] >= self.first_counted_case]
        if chunk.size:
            self.items.add(item_record_columns(chunk, self.clock, self.day))

    def kpi_rows(self, horizon: float) -> list[tuple]:
        rows = [("all", k, v) for k, v in self.all.kpis(horizon).items() if k != "within_target_share"]
        with_target = [t for t in self.by_type if t.target is not None]
        if with_target:
            n = sum(t.n for t in with_target)
            rows.append(("all", "within_target_share", sum(t.within for t in with_target) / n if n else float("nan")))
        for ct, totals in zip(self.s.case_types, self.by_type):
            for k, v in totals.kpis(horizon).items():
                if k == "within_target_share" and ct.target_working_days is None:
                    continue
                rows.append((f"case_type:{ct.id}", k, v))
        return rows + self.items.rows(horizon)


def build_replication(
    model: RunOutput,
    seed: int,
    replication: int,
    stations: StationSummaries | None = None,
    totals: RunTotals | None = None,
) -> Replication:
    """Tables and KPIs from a finished engine run.

    ``stations`` holds the stations' visit logs already folded during the run;
    without it, the whole logs in ``model.stations`` are folded here.
    ``totals`` holds the case and item records folded during a summary-only
    run (``model.cases`` is then ``None``): the KPIs come from them and the
    cases table is empty.
    """
    s = model.scenario
    clock = model.clock
    day = clock.day_minutes
    ct_ids = [ct.id for ct in s.case_types]
    if model.cases is not None:  # in order of case number, that is of arrival: the counted ones from the warm-up on
        rec = model.cases[model.first_counted_case:]  # a view: no copy
    else:
        rec = np.empty(0, CASE_DTYPE)
    cols = case_record_columns(rec, clock, day)
    cases = _cases_frame(cols, ct_ids)
    if totals is None:
        totals = RunTotals(s, clock, model.t_warm, model.t_end, exact=True)
        totals.add_case_columns(cols)
        items = _items_table(model, cases, day)
        totals.items.add(_item_totals_columns(items))
    else:
        items = None
    del rec, cols
    horizon = s.run.horizon_working_days
    rows = totals.kpi_rows(horizon)

    if stations is None:
        stations = StationSummaries(clock, model.t_warm, model.t_end, [st.capacity for st in model.stations])
        for i, st in enumerate(model.stations):
            stations.add(i, st.enter, st.start, st.end, 0.0, model.t_stop, len(st.enter))
    open_by_hour = open_minutes_by_hour(clock, model.t_warm, model.t_end)
    st_rows, hour_frames = [], []
    for i, st in enumerate(model.stations):
        summ, by_hour = stations.result(i, open_by_hour)
        summ["visits_per_day"] = summ.pop("visits") / horizon
        st_rows.append({"station": st.id, "kind": st.kind, "site": st.site, "capacity": st.capacity, **summ})
        by_hour.insert(0, "station", st.id)
        hour_frames.append(by_hour)
        for k in (kpi.name for kpi in STATION_KPIS):
            rows.append((f"station:{st.id}", k, summ[k]))
    station_table = pd.DataFrame(st_rows)
    stations_by_hour = pd.concat(hour_frames, ignore_index=True) if hour_frames else pd.DataFrame()
    kpis = pd.DataFrame(rows, columns=["scope", "kpi", "value"])

    trace = None
    if model.trace is not None:
        trace = pd.DataFrame(model.trace, columns=list(TRACE_COLUMNS))
        trace["case_type"] = pd.Categorical.from_codes(trace["case_type"].to_numpy(dtype=np.int32), categories=ct_ids)
    for df in (cases, items, station_table, stations_by_hour, kpis):
        if df is not None:
            df.insert(0, "replication", replication)
    if trace is not None:
        trace.insert(0, "replication", replication)
    return Replication(
        scenario=s.name,
        scenario_hash=s.content_hash(),
        seed=seed,
        replication=replication,
        cases=cases,
        stations=station_table,
        stations_by_hour=stations_by_hour,
        kpis=kpis,
        trace=trace,
        items=items,
    )


def _cases_frame(cols: dict, ct_ids: list[str]) -> pd.DataFrame:
    out = dict(cols)
    out["case_type"] = pd.Categorical.from_codes(cols["case_type"].astype(np.int32), categories=ct_ids)
    out["channel"] = pd.Categorical.from_codes(cols["channel"].astype(np.int8), categories=_CHANNELS)
    out["status"] = pd.Categorical.from_codes(cols["status"].astype(np.int8), categories=_STATUS)
    order = ["case", "case_type", "channel", "status"] + [k for k in cols if k not in ("case", "case_type", "channel", "status")]
    return pd.DataFrame({k: out[k] for k in order}, copy=False)  # fresh arrays: no need to copy them into blocks


def _items_table(model, cases: pd.DataFrame, day: float) -> pd.DataFrame:
    """One row per item decided in a counted case (arrived after the warm-up, before the horizon's end)."""
    s = model.scenario
    t = model.items
    t = t[t["case"] >= model.first_counted_case]
    t = t[np.lexsort((t["accepted"], t["case"]))]
    cols = item_record_columns(t, model.clock, day)
    immediate = np.array([it.kind == "immediate" for it in s.items], dtype=bool)
    ids = [it.id for it in s.items]
    case_pos = np.searchsorted(cases["case"].to_numpy(), cols["case"])
    ct = cases["case_type"].to_numpy()[case_pos] if len(cases) else np.empty(0, dtype=object)
    ch = cases["channel"].to_numpy()[case_pos] if len(cases) else np.empty(0, dtype=object)
    on_p, on_s = cols["on_time_promised"], cols["on_time_statutory"]
    return pd.DataFrame(
        {
            "case": cols["case"],
            "case_type": pd.Categorical(ct, categories=[c.id for c in s.case_types]),
            "channel": pd.Categorical(ch, categories=_CHANNELS),
            "item": pd.Categorical.from_codes(cols["item"].astype(np.int32), categories=ids),
            "accepted_minute": cols["accepted_minute"],
            "decided_minute": cols["decided_minute"],
            "government_time_working_days": cols["government_time_working_days"],
            "government_time_working_hours": cols["government_time_working_hours"],
            "immediate": immediate[cols["item"].astype(np.int64)] if len(cols["item"]) else np.zeros(0, bool),
            "decided_same_working_day": cols["decided_same_working_day"],
            "trips": cols["trips"],
            "returns": cols["returns"],
            "on_time_promised": np.where(on_p < 0, np.nan, on_p),
            "on_time_statutory": np.where(on_s < 0, np.nan, on_s),
        },
        copy=False,
    )


def _item_totals_columns(items: pd.DataFrame) -> dict:
    cols = {c: items[c].to_numpy() for c in ("government_time_working_days", "government_time_working_hours",
                                            "decided_same_working_day", "trips")}
    cols["item"] = items["item"].cat.codes.to_numpy()
    for c in ("on_time_promised", "on_time_statutory"):
        cols[c] = np.nan_to_num(items[c].to_numpy(dtype=float), nan=-1.0)
    return cols


def item_kpi_rows(items: pd.DataFrame | None, s, horizon: float) -> list[tuple]:
    """KPI rows of scope ``item:<id>`` and the catalogue-level item KPIs of scope ``all`` (see ``ItemTotals.rows``)."""
    if items is None or items.empty:
        return []
    totals = ItemTotals([it.id for it in s.items], [it.kind == "immediate" for it in s.items], exact=True)
    totals.add(_item_totals_columns(items))
    return totals.rows(horizon)
