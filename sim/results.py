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
* ``trace``: every activity (only when asked for).

Queue length and utilisation are time averages over *working* time (closed
hours do not count), computed exactly from the visit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .engine.output import RunOutput
from .engine.records import CHANNELS, ITEM_FIELDS, RECORD_FIELDS, STATUS
from .kpis import case_kpis
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


def build_replication(
    model: RunOutput, seed: int, replication: int, stations: StationSummaries | None = None
) -> Replication:
    """Tables and KPIs from a finished engine run.

    ``stations`` holds the stations' visit logs already folded during the run;
    without it, the whole logs in ``model.stations`` are folded here.
    """
    s = model.scenario
    clock = model.clock
    day = clock.day_minutes
    table = model.cases
    order = np.argsort(table["idx"], kind="stable")
    arrival = table["arrival"][order]
    keep = order[(arrival >= model.t_warm) & (arrival < model.t_end)]  # in case order, after the warm-up
    rec = {k: table[k][keep] for k in RECORD_FIELDS}
    del table
    w_arr = clock.working_array(rec["arrival"])
    w_end = clock.working_array(rec["end"])
    open_ = rec["status"] == 2  # unfinished: no lead time
    w_end = np.where(open_, np.nan, w_end)
    cal_end = np.where(open_, np.nan, rec["end"])
    ct_ids = [ct.id for ct in s.case_types]
    status = pd.Categorical.from_codes(rec["status"].astype(np.int8), categories=_STATUS)
    cases = pd.DataFrame(
        {
            "case": rec["idx"].astype(np.int64),
            "case_type": pd.Categorical.from_codes(rec["case_type"].astype(np.int32), categories=ct_ids),
            "channel": pd.Categorical.from_codes(rec["channel"].astype(np.int8), categories=_CHANNELS),
            "status": status,
            "arrival_minute": rec["arrival"],
            "end_minute": rec["end"],
            "lead_time_working_days": (w_end - w_arr) / day,
            "lead_time_working_hours": (w_end - w_arr) / 60.0,
            "lead_time_calendar_days": (cal_end - rec["arrival"]) / 1440.0,
            "government_time_working_days": np.where(open_, np.nan, rec["government"]) / day,
            "government_time_working_hours": np.where(open_, np.nan, rec["government"]) / 60.0,
            "external_time_working_days": np.where(open_, np.nan, rec["external"]) / day,
            "applicant_time_working_days": (w_end - w_arr - rec["government"] - rec["external"]) / day,
            "queue_wait_minutes": rec["window_wait"] + rec["office_wait"],
            "window_wait_minutes": rec["window_wait"],
            "back_office_wait_minutes": rec["office_wait"],
            "trips": rec["trips"].astype(np.int64),
            "window_visits": rec["window_visits"].astype(np.int64),
            "returns": rec["returns"].astype(np.int64),
            "travel_minutes": rec["travel"],
            "items": rec["items"].astype(np.int64),
            "items_on_time_promised": rec["promised_ok"].astype(np.int64),
            "items_with_promised_limit": rec["promised_n"].astype(np.int64),
            "items_on_time_statutory": rec["statutory_ok"].astype(np.int64),
            "items_with_statutory_limit": rec["statutory_n"].astype(np.int64),
            "fee_yuan": rec["fee"],
            "materials": rec["materials"].astype(np.int64),
        },
        copy=False,  # the columns are fresh arrays: no need to copy them into blocks
    )

    items = _items_table(model, rec["idx"], cases, day)
    horizon = s.run.horizon_working_days
    rows = []
    single = len(s.case_types) == 1
    overall = case_kpis(cases, horizon, s.case_types[0].target_working_days if single else None)
    for k, v in overall.items():
        if k != "within_target_share":
            rows.append(("all", k, v))
    targets = [ct.target_working_days for ct in s.case_types]

    def of_type(ct_id):
        return cases if single else cases[cases["case_type"] == ct_id]

    if any(t is not None for t in targets):
        within = []
        for ct in s.case_types:
            if ct.target_working_days is not None:
                sub = of_type(ct.id)
                within.append(
                    (sub["status"].eq("completed") & (sub["lead_time_working_days"] <= ct.target_working_days + 1e-9)).to_numpy()
                )
        allw = np.concatenate(within) if within else np.empty(0)
        rows.append(("all", "within_target_share", float(allw.mean()) if allw.size else float("nan")))
    for ct in s.case_types:
        kp = overall if single else case_kpis(of_type(ct.id), horizon, ct.target_working_days)
        for k, v in kp.items():
            if k == "within_target_share" and ct.target_working_days is None:
                continue
            rows.append((f"case_type:{ct.id}", k, v))

    for r in item_kpi_rows(items, s, horizon):
        rows.append(r)

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
        for k in ("utilisation", "queue_length_mean", "queue_length_max", "wait_minutes_mean", "visits_per_day"):
            rows.append((f"station:{st.id}", k, summ[k]))
    station_table = pd.DataFrame(st_rows)
    stations_by_hour = pd.concat(hour_frames, ignore_index=True) if hour_frames else pd.DataFrame()
    kpis = pd.DataFrame(rows, columns=["scope", "kpi", "value"])

    trace = None
    if model.trace is not None:
        trace = pd.DataFrame(
            model.trace,
            columns=["case", "case_type", "activity", "kind", "resource", "enabled_minute", "start_minute", "end_minute"],
        )
        trace["case_type"] = pd.Categorical.from_codes(trace["case_type"].to_numpy(dtype=np.int32), categories=ct_ids)
    for df in (cases, items, station_table, stations_by_hour, kpis):
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


def _items_table(model, kept_cases: np.ndarray, cases: pd.DataFrame, day: float) -> pd.DataFrame:
    """One row per item decided in a kept case (after the warm-up, before the horizon's end)."""
    s = model.scenario
    clock = model.clock
    t = model.items
    rec = {k: t[k] for k in ITEM_FIELDS}
    keep = np.isin(rec["case"], kept_cases)
    rec = {k: v[keep] for k, v in rec.items()}
    order = np.lexsort((rec["accepted"], rec["case"]))
    rec = {k: v[order] for k, v in rec.items()}
    w_acc = clock.working_array(rec["accepted"])
    w_gov = clock.working_array(rec["government_end"])
    w_dec = clock.working_array(rec["decided"])
    immediate = np.array([it.kind == "immediate" for it in s.items], dtype=bool)
    ids = [it.id for it in s.items]
    case_pos = np.searchsorted(cases["case"].to_numpy(), rec["case"].astype(np.int64))
    ct = cases["case_type"].to_numpy()[case_pos] if len(cases) else np.empty(0, dtype=object)
    ch = cases["channel"].to_numpy()[case_pos] if len(cases) else np.empty(0, dtype=object)
    on_p, on_s = rec["on_time_promised"], rec["on_time_statutory"]
    return pd.DataFrame(
        {
            "case": rec["case"].astype(np.int64),
            "case_type": pd.Categorical(ct, categories=[c.id for c in s.case_types]),
            "channel": pd.Categorical(ch, categories=_CHANNELS),
            "item": pd.Categorical.from_codes(rec["item"].astype(np.int32), categories=ids),
            "accepted_minute": rec["accepted"],
            "decided_minute": rec["decided"],
            "government_time_working_days": (w_gov - w_acc) / day,
            "government_time_working_hours": (w_gov - w_acc) / 60.0,
            "immediate": immediate[rec["item"].astype(np.int64)] if len(rec["item"]) else np.zeros(0, bool),
            # 当日办结 / 即办: the decision (result issued, after any wait for a supplement) falls
            # within the working day on which the application was taken
            "decided_same_working_day": (w_dec <= (np.floor(w_acc / day) + 1) * day + 1e-9),
            "trips": rec["trips"].astype(np.int64),
            "returns": rec["returns"].astype(np.int64),
            "on_time_promised": np.where(on_p < 0, np.nan, on_p),
            "on_time_statutory": np.where(on_s < 0, np.nan, on_s),
        },
        copy=False,
    )


def item_kpi_rows(items: pd.DataFrame, s, horizon: float) -> list[tuple]:
    """KPI rows of scope ``item:<id>`` and the catalogue-level item KPIs of scope ``all``.

    ``items_at_most_one_trip_share`` counts catalogue items (事项), each once,
    whose median application took at most one trip (a visit to apply plus a
    pickup counts two): the reports' "92% of items in one trip" reading, as
    opposed to the share of cases.
    """
    rows = []
    if items is None or items.empty:
        return rows
    one_trip = []
    for item_id, g in items.groupby("item", observed=True):
        gov = g["government_time_working_days"].to_numpy()
        trips = g["trips"].to_numpy()
        med = float(np.median(trips))
        one_trip.append(med <= 1)
        sc = f"item:{item_id}"
        rows += [
            (sc, "applications_per_day", len(g) / horizon),
            (sc, "government_time_working_days_mean", float(gov.mean())),
            (sc, "government_time_working_days_p90", float(np.quantile(gov, 0.9))),
            (sc, "government_time_working_hours_mean", float(g["government_time_working_hours"].mean())),
            (sc, "same_day_share", float(g["decided_same_working_day"].mean())),
            (sc, "trips_per_application_mean", float(trips.mean())),
            (sc, "at_most_one_trip_share", float((trips <= 1).mean())),
            (sc, "on_time_promised_rate", _rate(g["on_time_promised"])),
            (sc, "on_time_statutory_rate", _rate(g["on_time_statutory"])),
        ]
    rows.append(("all", "items_at_most_one_trip_share", float(np.mean(one_trip))))
    imm = items["immediate"].to_numpy(dtype=bool)
    if imm.any():
        rows.append(("all", "immediate_same_day_share", float(items["decided_same_working_day"].to_numpy()[imm].mean())))
    return rows


def _rate(x: pd.Series) -> float:
    v = x.dropna().to_numpy()
    return float(v.mean()) if v.size else float("nan")

