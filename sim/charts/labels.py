"""Every chart text in English and Chinese, in one table.

``text(key, lang, **values)`` looks a label up and fills in its ``{fields}``;
``measure_label`` names a column or KPI (falling back to ``sim.kpis.label``
and then to the name itself); ``reform_name`` gives a reform's display name
from the catalogue (the id when the reform is unknown, e.g. a group label).
"""

from __future__ import annotations

import re
import unicodedata

from ._check import check_lang
from ..experiments.verdicts import VERDICTS as _VERDICT_NAMES

LABELS: dict[str, dict[str, str]] = {
    # per-case measures (columns of the engine's cases table)
    "lead_time_working_days": {"en": "Lead time (working days)", "zh": "办理时长(工作日)"},
    "lead_time_working_hours": {"en": "Lead time (working hours)", "zh": "办理时长(工作小时)"},
    "lead_time_calendar_days": {"en": "Lead time (calendar days)", "zh": "办理时长(自然日)"},
    "government_time_working_days": {"en": "Government time (working days)", "zh": "政府办理用时(工作日)"},
    "government_time_working_hours": {"en": "Government time (working hours)", "zh": "政府办理用时(工作小时)"},
    "applicant_time_working_days": {"en": "Applicant time (working days)", "zh": "申请人用时(工作日)"},
    "external_time_working_days": {"en": "External time (working days)", "zh": "外部环节用时(工作日)"},
    "trips": {"en": "Trips to offices", "zh": "跑动次数"},
    # station measures
    "utilisation": {"en": "Utilisation", "zh": "利用率"},
    "queue_length_mean": {"en": "Mean queue length (cases)", "zh": "平均队长(件)"},
    "queue_length_max": {"en": "Largest queue (cases)", "zh": "最大队长(件)"},
    # distribution_before_after
    "ecdf_title": {"en": "{measure}: before and after", "zh": "{measure}：改革前后对比"},
    "ecdf_y": {"en": "Share of completed cases at or below", "zh": "不超过该时长的办结件占比"},
    "n_cases": {"en": "{label} (n = {n:,})", "zh": "{label} (n = {n:,})"},
    # waterfall
    "waterfall_title": {"en": "What each reform contributes: {kpi}", "zh": "各项改革的贡献：{kpi}"},
    "before": {"en": "Before", "zh": "改革前"},
    "after": {"en": "After", "zh": "改革后"},
    "not_split": {"en": "Not split", "zh": "未分解部分"},
    "ci95": {"en": "95% CI", "zh": "95%置信区间"},
    "better": {"en": "Improves the measure", "zh": "改善"},
    "worse": {"en": "Worsens the measure", "zh": "恶化"},
    # case_gantt
    "gantt_title": {"en": "Case {case}: where the time goes", "zh": "办件{case}的时间构成"},
    "gantt_title_type": {"en": "Case {case} ({case_type}): where the time goes", "zh": "办件{case}({case_type})的时间构成"},
    "since_start_days": {"en": "Calendar days since the case's first event", "zh": "自首个环节起的自然日"},
    "since_start_hours": {"en": "Calendar hours since the case's first event", "zh": "自首个环节起的小时数"},
    "queueing": {"en": "Queueing", "zh": "排队等候"},
    "work": {"en": "Work: window, back office, hand-offs", "zh": "窗口与后台办理、流转"},
    "travel": {"en": "Travel", "zh": "路途"},
    "applicant": {"en": "Applicant: fixes, supplements, waits", "zh": "申请人补正与等待"},
    "external": {"en": "External: intermediaries, notices, meetings, mail", "zh": "外部环节：中介、公示、会议、寄递"},
    "inspection": {"en": "Inspection (off the case's path)", "zh": "现场核查(不在办件路径上)"},
    "other": {"en": "Other", "zh": "其他"},
    # station_heatmap
    "heatmap_title": {"en": "{value} by window or role and clock hour", "zh": "各窗口与岗位分时段{value}"},
    "station": {"en": "Window or back-office role", "zh": "窗口/后台岗位"},
    "hour": {"en": "Clock hour", "zh": "时段"},
    # trips_before_after
    "trips_title": {"en": "Trips per case: before and after", "zh": "每件跑动次数：改革前后对比"},
    "share_of_cases": {"en": "Share of cases", "zh": "办件占比"},
    "at_most_one_trip": {"en": "At most one trip (最多跑一次)", "zh": "最多跑一次"},
    "at_most_one_share": {"en": "{label}: {share:.0%} at most one trip", "zh": "{label}：最多跑一次占{share:.0%}"},
    # claims_figure
    "claims_title": {"en": "Claims and what the simulation says", "zh": "改革成效声明与仿真结果"},
    "simulated": {"en": "Simulated mean and 95% CI", "zh": "模拟均值及95%置信区间"},
    "claimed": {"en": "Claimed value", "zh": "声称值"},
    "robustness": {"en": "Range under other assumptions", "zh": "其他假设下的范围"},
    "no_number": {"en": "no number to compare", "zh": "无可比较的数值"},
    "claimed_short": {"en": "claimed", "zh": "声称"},
    "simulated_short": {"en": "simulated", "zh": "模拟"},
    "verdict": {"en": "Verdict", "zh": "结论"},
    # tornado
    "tornado_title": {"en": "Which assumptions matter: {measure}", "zh": "假设敏感性：{measure}"},
    "simulated_value": {"en": "Simulated value", "zh": "模拟值"},
    "at_low": {"en": "Assumption at its low end", "zh": "假设取下限"},
    "at_high": {"en": "Assumption at its high end", "zh": "假设取上限"},
    "base": {"en": "Shared default", "zh": "基准假设"},
}

# verdict names have one definition, next to the rules that decide them
LABELS.update({k: {"en": en, "zh": zh} for k, (en, zh) in _VERDICT_NAMES.items()})
VERDICTS = tuple(_VERDICT_NAMES)


def text(key: str, lang: str, **values) -> str:
    """The label ``key`` in ``lang`` ("en" or "zh"), with ``{fields}`` filled from ``values``."""
    check_lang(lang)
    return LABELS[key][lang].format(**values)


def measure_label(name: str, lang: str) -> str:
    """Display name of a column or KPI: this table, then ``sim.kpis.label``, then the name itself."""
    check_lang(lang)
    if name in LABELS:
        return LABELS[name][lang]
    from ..kpis import KPIS, label

    return label(name, lang) if name in KPIS else str(name)


def reform_name(reform_id: str, lang: str) -> str:
    """A reform's short display name: "一窗受理" / "one window"; the id itself if it is not in the catalogue."""
    check_lang(lang)
    from ..reforms import REFORMS

    r = REFORMS.get(reform_id)
    if r is None:
        return str(reform_id)
    if lang == "zh":
        return r.zh.split(" / ")[0]
    return r.name.replace("_", " ")


def verdict_label(verdict: str, lang: str) -> str:
    """Display name of a claim verdict (the raw value when unknown)."""
    check_lang(lang)
    return LABELS[verdict][lang] if verdict in VERDICTS else str(verdict)


_TOKENS = re.compile(r"\s+|[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def wrap(label: str, columns: int, max_lines: int = 3) -> str:
    """Break ``label`` into lines of at most ``columns`` (a hanzi counts 2): Latin words stay whole, hanzi break anywhere."""
    lines, cur = [], ""
    for tok in _TOKENS.findall(str(label)):
        if tok.isspace():
            cur += " " if cur else ""
            continue
        if cur and _width(cur.rstrip()) + _width(tok) > columns and _width(cur.rstrip()) > 0:
            lines.append(cur.rstrip())
            cur = ""
        cur += tok
    if cur.strip():
        lines.append(cur.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return "\n".join(lines)
