"""Key performance indicators: definitions (with units and Chinese names) and computation.

Every KPI is computed per replication from the tidy per-case and per-station
tables, so the same code serves one run, a comparison and an optimiser.
Lead times count only completed cases; trips and shares count every case
that arrived after the warm-up (abandoned ones included).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["KPI", "CASE_KPIS", "ITEM_KPIS", "STATION_KPIS", "KPIS", "case_kpis", "case_columns", "label"]


@dataclass(frozen=True)
class KPI:
    name: str
    unit: str
    zh: str
    en: str
    higher_is_better: bool = False


CASE_KPIS: tuple[KPI, ...] = (
    KPI("cases", "cases", "办件量", "cases arrived after warm-up", True),
    KPI("throughput_per_day", "cases per working day", "日均办结量", "completed cases per working day", True),
    KPI("completed_share", "share", "办结率", "share of cases completed", True),
    KPI("abandoned_share", "share", "放弃率", "share of cases ended undecided: given up after a return, or withdrawn"),
    KPI("unfinished_share", "share", "未办结率", "share still open at the end of the run"),
    KPI("lead_time_working_days_mean", "working days", "平均办理时长(工作日)", "mean lead time, working days"),
    KPI("lead_time_working_days_p90", "working days", "90%分位办理时长(工作日)", "90th percentile lead time, working days"),
    KPI("lead_time_working_hours_mean", "working hours", "平均办理时长(工作小时)", "mean lead time, working hours"),
    KPI("lead_time_calendar_days_mean", "calendar days", "平均办理时长(自然日)", "mean lead time, calendar days"),
    KPI("government_time_working_days_mean", "working days", "平均办结时间(受理至办结,工作日)",
        "mean government time, acceptance to decision (受理->办结), working days"),
    KPI("government_time_working_days_p90", "working days", "90%分位办结时间(工作日)",
        "90th percentile government time, working days"),
    KPI("government_time_working_hours_mean", "working hours", "平均办结时间(工作小时)",
        "mean government time, working hours"),
    KPI("external_time_working_days_mean", "working days", "平均外部时间(中介/公示/会议,工作日)",
        "mean external time (intermediaries, notices, meetings) outside government time, working days"),
    KPI("applicant_time_working_days_mean", "working days", "平均申请人侧时间(工作日)",
        "mean applicant-side time (queues before acceptance, travel, fixing, supplements, pickup), working days"),
    KPI("queue_wait_minutes_mean", "working minutes", "平均排队等候(分钟)", "mean time queueing, windows and back office"),
    KPI("window_wait_minutes_mean", "working minutes", "窗口排队等候(分钟)", "mean time queueing at windows"),
    KPI("back_office_wait_minutes_mean", "working minutes", "后台排队等候(分钟)", "mean time queueing in back offices"),
    KPI("trips_mean", "trips", "平均跑动次数", "mean trips (visits to any site)"),
    KPI("at_most_one_trip_share", "share", "最多跑一次比例", "share of cases with at most one trip", True),
    KPI("zero_trip_share", "share", "零跑腿比例", "share of cases with no trip", True),
    KPI("window_visits_mean", "visits", "平均窗口次数", "mean window visits"),
    KPI("returns_mean", "returns", "平均补正次数", "mean returns for incomplete materials"),
    KPI("travel_minutes_mean", "minutes", "平均路途时间(分钟)", "mean applicant travel time"),
    KPI("on_time_promised_rate", "share", "承诺时限按期办结率", "items decided within the promised limit", True),
    KPI("on_time_statutory_rate", "share", "法定时限按期办结率", "items decided within the statutory limit", True),
    KPI("items_at_most_one_trip_share", "share of items", "最多跑一次事项比例",
        "share of catalogue items (each once) whose median application takes at most one trip", True),
    KPI("immediate_same_day_share", "share", "即办件当日办结比例",
        "immediate items (即办件) decided within the working day they were taken in", True),
    KPI("within_target_share", "share", "达标率", "cases completed within the case type's target", True),
    KPI("fee_yuan_mean", "yuan", "平均收费(元)", "mean fees per case"),
    KPI("materials_mean", "materials", "平均申请材料数", "mean materials handed in per case (each application once)"),
)

STATION_KPIS: tuple[KPI, ...] = (
    KPI("utilisation", "share", "利用率", "busy share of staffed positions"),
    KPI("queue_length_mean", "cases", "平均队长", "time-average number waiting"),
    KPI("queue_length_max", "cases", "最大队长", "largest number waiting"),
    KPI("wait_minutes_mean", "working minutes", "平均等候(分钟)", "mean wait before service"),
    KPI("wait_minutes_p90", "working minutes", "90%分位等候(分钟)", "90th percentile wait before service (within 0.5%)"),
    KPI("visits_per_day", "visits per working day", "日均服务量", "services started per working day", True),
)

ITEM_KPIS: tuple[KPI, ...] = (
    KPI("applications_per_day", "applications per working day", "日均申请量", "applications decided per working day", True),
    KPI("government_time_working_days_mean", "working days", "平均办结时间(工作日)", "mean government time, working days"),
    KPI("government_time_working_days_p90", "working days", "90%分位办结时间(工作日)", "90th percentile government time"),
    KPI("government_time_working_hours_mean", "working hours", "平均办结时间(工作小时)", "mean government time, working hours"),
    KPI("same_day_share", "share", "当日办结比例", "decided (result issued) within the working day it was taken in", True),
    KPI("trips_per_application_mean", "trips", "每件平均跑动次数", "trips per application (visits and pickup)"),
    KPI("at_most_one_trip_share", "share", "最多跑一次比例", "applications with at most one trip", True),
    KPI("on_time_promised_rate", "share", "承诺时限按期办结率", "decided within the promised limit", True),
    KPI("on_time_statutory_rate", "share", "法定时限按期办结率", "decided within the statutory limit", True),
)

KPIS = {k.name: k for k in ITEM_KPIS + CASE_KPIS + STATION_KPIS}


def label(name: str, lang: str = "en") -> str:
    """Display label of a KPI: ``"zh"``, ``"en"`` or ``"both"``."""
    k = KPIS.get(name)
    if k is None:
        return name
    if lang == "zh":
        return k.zh
    if lang == "both":
        return f"{k.zh} / {k.en}"
    return k.en


_STATUS = ("completed", "abandoned", "unfinished")


def case_kpis(cases: pd.DataFrame, horizon_days: float, target_days: float | None) -> dict[str, float]:
    """KPIs of one group of cases (a replication, or one case type in it); see ``sim.summaries.CaseTotals``."""
    from .summaries import CaseTotals

    totals = CaseTotals(target_days, exact=True)
    totals.add(case_columns(cases))
    return totals.kpis(horizon_days)


def case_columns(cases: pd.DataFrame) -> dict:
    """The columns of a cases table as arrays, with ``status`` as codes (0 completed, 1 abandoned, 2 unfinished)."""
    cols = {c: cases[c].to_numpy() for c in cases.columns if c not in ("status", "case_type", "channel")}
    status = cases["status"]
    if isinstance(status.dtype, pd.CategoricalDtype) and list(status.cat.categories) == list(_STATUS):
        cols["status"] = status.cat.codes.to_numpy()
    else:
        cols["status"] = status.map({k: i for i, k in enumerate(_STATUS)}).to_numpy()
    return cols
