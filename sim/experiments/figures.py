"""The charts of an experiment, in English and Chinese, from its result tables."""

from __future__ import annotations

import json
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import pandas as pd

__all__ = ["write_charts"]

LANGS = ("en", "zh")


def _claims_chart(table: pd.DataFrame, lang: str):
    from ..charts import claims_figure

    t = table.copy()
    if lang == "zh" and "claim_zh" in t:  # the report's own words for Chinese slides
        zh = t["claim_zh"].fillna("").astype(str)
        t["claim"] = zh.where(zh.str.len() > 0, t["claim"])
    return claims_figure(t, lang=lang)


def _render(task) -> None:
    """Draw one chart in one language and save it (runs in a worker process)."""
    draw, path, lang, formats, dpi = task
    from ..charts import save

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        save(draw(lang=lang), path, formats=formats, dpi=dpi)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")


def write_charts(folder: Path, parts, plans, claims: pd.DataFrame, robustness: pd.DataFrame,
                 fast: bool = False, workers: int | None = None) -> list[dict]:
    """Draw every chart of the experiment into ``folder`` and list them in ``charts.json``.

    Full runs write PNG (200 dpi) and SVG; ``fast`` runs PNG at 100 dpi and
    leave out the before-reform Gantt chart, for quick looks.
    """
    from .. import charts as ch

    index: list[dict] = []
    tasks: list[tuple] = []
    formats, dpi = (("png",), 100) if fast else (("png", "svg"), 200)

    def emit(stem: str, title_en: str, title_zh: str, draw):
        """``draw(lang=...)`` makes the figure; it is a picklable partial of a chart function."""
        for lang in LANGS:
            tasks.append((draw, folder / f"{stem}.{lang}", lang, formats, dpi))
        index.append({"file_stem": stem, "title_en": title_en, "title_zh": title_zh})

    testable = claims[claims["verdict"].isin(["reproduced", "reproduced_under_assumptions", "not_reproduced", "refuted"])]
    if len(testable):
        emit("claims", "Claims against the simulation", "报道结论与仿真结果对照", partial(_claims_chart, testable))

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
                 partial(ch.distribution_before_after, pair, "lead_time_working_days", limits))
            emit(f"{exp.name}_government_time", f"{exp.name}: government time (受理->办结) before and after",
                 f"{exp.name}: 改革前后办结时间(受理至办结)",
                 partial(ch.distribution_before_after, pair, "government_time_working_days", limits))
            emit(f"{exp.name}_trips", f"{exp.name}: trips per case", f"{exp.name}: 每件跑动次数",
                 partial(ch.trips_before_after, pair))
            for lab in ((b,) if fast else (a, b)):
                tr = results[plan.key(lab, trace=True)].trace
                if tr is not None and len(tr):
                    if ct:
                        tr = tr[tr["case_type"] == ct]
                    if len(tr):
                        emit(f"{exp.name}_gantt_{lab}", f"{exp.name}: a typical case ({lab})",
                             f"{exp.name}: 典型办件甘特图({lab})",
                             partial(ch.case_gantt, tr, replication=0))
            if plan.attribution is not None:
                att = exp.charts.attribution
                table = plan.attribution
                total = table[table["reform"] == "total"]
                steps = table[table["reform"] != "total"]
                before = float(ra.estimate(att.kpi, att.scope)[0])
                after = before + float(total["shapley_mean"].iloc[0])
                emit(f"{exp.name}_waterfall", f"{exp.name}: what each reform buys (Shapley)",
                     f"{exp.name}: 各项改革的贡献(Shapley分解)",
                     partial(ch.waterfall, steps, before, after, att.kpi))
            sbh = rb.stations_by_hour
            if sbh is not None and len(sbh):
                emit(f"{exp.name}_utilisation_{b}", f"{exp.name}: utilisation by hour ({b})",
                     f"{exp.name}: 各窗口/岗位分时利用率({b})",
                     partial(ch.station_heatmap, sbh, "utilisation"))
                emit(f"{exp.name}_queue_{b}", f"{exp.name}: queue length by hour ({b})",
                     f"{exp.name}: 各窗口/岗位分时排队长度({b})",
                     partial(ch.station_heatmap, sbh, "queue_length_mean"))
    if len(robustness):
        for claim_id, sens in robustness.groupby("claim_id", sort=False):
            claimed = sens["claimed"].iloc[0]
            kpi = claims.loc[claims["claim_id"] == claim_id, "measure"].astype(str).str.split().str[0]
            kpi = kpi.iloc[0] if len(kpi) else None
            claimed = None if pd.isna(claimed) else float(claimed)
            emit(f"tornado_{_slug(claim_id)}", f"Robustness: {claim_id}", f"稳健性: {claim_id}",
                 partial(ch.tornado, sens, claimed, measure=kpi))
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    if workers <= 1:
        for t in tasks:
            _render(t)
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            try:
                list(ex.map(_render, tasks))
            except BaseException:  # Ctrl-C, SIGTERM, an error: drop the charts not started yet
                ex.shutdown(wait=False, cancel_futures=True)
                raise
    (folder / "charts.json").write_text(json.dumps(index, ensure_ascii=False, indent=2), encoding="utf-8")
    return index
