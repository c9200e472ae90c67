"""The charts of an experiment, in English and Chinese, from its result tables."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

__all__ = ["write_charts"]

LANGS = ("en", "zh")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")


def write_charts(folder: Path, parts, plans, claims: pd.DataFrame, robustness: pd.DataFrame) -> list[dict]:
    """Draw every chart of the experiment into ``folder`` and list them in ``charts.json``."""
    from .. import charts as ch

    index: list[dict] = []

    def emit(stem: str, title_en: str, title_zh: str, draw):
        for lang in LANGS:
            fig = draw(lang)
            ch.save(fig, folder / f"{stem}.{lang}")
        index.append({"file_stem": stem, "title_en": title_en, "title_zh": title_zh})

    testable = claims[claims["verdict"].isin(["reproduced", "reproduced_under_assumptions", "not_reproduced", "refuted"])]
    if len(testable):
        emit("claims", "Claims against the simulation", "报道结论与仿真结果对照",
             lambda lang: ch.claims_figure(testable, lang=lang))

    for exp, (plan, results) in zip(parts, plans):
        if exp.charts.compare:
            a, b = exp.charts.compare
            ra, rb = results[plan.key(a)], results[plan.key(b)]
            ct = exp.charts.case_type

            def cases(r):
                c = r.cases
                return c[c["case_type"] == ct] if ct else c

            pair = {a: cases(ra), b: cases(rb)}
            limits = {"limit": exp.charts.limit_working_days} if exp.charts.limit_working_days else None
            emit(f"{exp.name}_lead_time", f"{exp.name}: lead time before and after",
                 f"{exp.name}: 改革前后办理时长",
                 lambda lang: ch.distribution_before_after(pair, "lead_time_working_days", limits, lang=lang))
            emit(f"{exp.name}_government_time", f"{exp.name}: government time (受理->办结) before and after",
                 f"{exp.name}: 改革前后办结时间(受理至办结)",
                 lambda lang: ch.distribution_before_after(pair, "government_time_working_days", limits, lang=lang))
            emit(f"{exp.name}_trips", f"{exp.name}: trips per case", f"{exp.name}: 每件跑动次数",
                 lambda lang: ch.trips_before_after(pair, lang=lang))
            for lab in (a, b):
                tr = results[plan.key(lab, trace=True)].trace
                if tr is not None and len(tr):
                    if ct:
                        tr = tr[tr["case_type"] == ct]
                    if len(tr):
                        emit(f"{exp.name}_gantt_{lab}", f"{exp.name}: a typical case ({lab})",
                             f"{exp.name}: 典型办件甘特图({lab})",
                             lambda lang, tr=tr: ch.case_gantt(tr, lang=lang))
            sbh = rb.stations_by_hour
            if sbh is not None and len(sbh):
                emit(f"{exp.name}_utilisation_{b}", f"{exp.name}: utilisation by hour ({b})",
                     f"{exp.name}: 各窗口/岗位分时利用率({b})",
                     lambda lang: ch.station_heatmap(sbh, "utilisation", lang=lang))
    if len(robustness):
        for claim_id, sens in robustness.groupby("claim_id", sort=False):
            claimed = sens["claimed"].iloc[0]
            claimed = None if pd.isna(claimed) else float(claimed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                emit(f"tornado_{_slug(claim_id)}", f"Robustness: {claim_id}", f"稳健性: {claim_id}",
                     lambda lang, sens=sens, claimed=claimed: ch.tornado(sens, claimed, lang=lang))
    (folder / "charts.json").write_text(json.dumps(index, ensure_ascii=False, indent=2), encoding="utf-8")
    return index
