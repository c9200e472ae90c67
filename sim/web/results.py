"""What the page shows and offers after a comparison: charts, the attribution, the verdict, the HTML report.

The charts are the experiment runner's (lead time and government time
before and after, trips per case, utilisation by hour, the attribution
waterfall), drawn with the bundled CJK font.  The report is the project's
HTML report (:func:`sim.charts.build_report`) of a results directory this
module writes to a temporary folder: a manifest naming both scenarios by
hash, the seed and the replications, the tables, the charts in both
languages and notes listing every reform and edit.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from ..kpis import KPIS

__all__ = ["Chart", "charts", "attribution_call", "attribution_key", "bottlenecks_call", "bottlenecks_key", "report_html",
           "png"]

LANGS = ("en", "zh")


@dataclass(frozen=True)
class Chart:
    stem: str
    title_en: str
    title_zh: str
    draw: Callable  # draw(lang=...) -> Figure

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


def png(fig, dpi: int = 150) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _label(lang: str, key: str) -> str:
    from .page import TEXT

    return TEXT[key][1 if lang == "zh" else 0]


def charts(results, attribution: pd.DataFrame | None = None, kpi: str = "lead_time_working_days_mean") -> list[Chart]:
    """The comparison's charts, in display order (the waterfall only with an attribution table)."""
    from .. import charts as ch

    def pair(lang):
        return {_label(lang, "base"): results[0].cases, _label(lang, "reformed"): results[1].cases}

    out = [
        Chart("lead_time", "Lead time of completed cases, base and reformed", "已办结案件的办理时长:改革前后",
              lambda lang: ch.distribution_before_after(pair(lang), "lead_time_working_days", lang=lang)),
        Chart("government_time", "Government time (受理->办结), base and reformed", "政府办理用时(受理至办结):改革前后",
              lambda lang: ch.distribution_before_after(pair(lang), "government_time_working_days", lang=lang)),
        Chart("trips", "Trips per case, base and reformed", "每件跑动次数:改革前后",
              lambda lang: ch.trips_before_after(pair(lang), lang=lang)),
    ]
    sbh = results[1].stations_by_hour
    if sbh is not None and len(sbh):
        out.append(Chart("utilisation_reformed", "Utilisation by hour (reformed)", "各窗口/岗位分时利用率(改革后)",
                         lambda lang: ch.station_heatmap(sbh, "utilisation", lang=lang)))
    if attribution is not None and len(attribution):
        rows = attribution[attribution["kpi"] == kpi]
        total = rows[rows["reform"] == "total"]
        steps = rows[rows["reform"] != "total"]
        before = float(results[0].summary.set_index(["scope", "kpi"]).loc[("all", kpi), "mean"])
        after = before + float(total["shapley_mean"].iloc[0])
        out.append(Chart("attribution", "What each reform buys (Shapley split)", "各项改革的贡献(Shapley分解)",
                         lambda lang: ch.waterfall(steps, before, after, kpi, lang=lang)))
    return out


def attribution_key(base, plan, kpi: str, replications: int, seed: int) -> tuple:
    return ("attribute", base.model_hash(), json.dumps(plan, sort_keys=True, default=str), kpi, int(replications), int(seed))


def attribution_call(base, plan, kpi: str, replications: int, seed: int, workers: int = 1):
    """``call(progress)`` for the job store: the Shapley split of ``kpi``'s change over the plan's reforms."""
    from ..attribution import shapley
    from ..execution import run_jobs

    def call(progress):
        def run_many(jobs):
            return run_jobs(jobs, workers=workers, progress=progress)

        return shapley(base, plan, kpi=kpi, replications=replications, seed=seed, run_many=run_many)

    return call


def bottlenecks_key(base, reformed, replications: int, seed: int) -> tuple:
    return ("bottlenecks", base.model_hash(), reformed.model_hash(), int(replications), int(seed))


def bottlenecks_call(base, reformed, replications: int, seed: int):
    """``call(progress)`` for the job store: where the lead time goes, base against reformed.

    Each scenario's completed cases are decomposed along their critical paths
    (:func:`sim.bottlenecks.decompose_runs`, traced runs with the comparison's
    seed and replications).  Returns one row per category: working minutes
    per case before and after with 95% CIs, the change, and the shares.
    """
    from ..bottlenecks import category_zh, decompose_runs

    def call(progress):
        n = int(replications)
        b = decompose_runs(base, n, seed, total=True, progress=lambda d, _t: progress(d, 2 * n))
        a = decompose_runs(reformed, n, seed, total=True, progress=lambda d, _t: progress(n + d, 2 * n))
        cols = ["category", "working_minutes_per_case", "ci_low", "ci_high", "share"]
        m = b[cols].merge(a[cols], on="category", how="outer", suffixes=("_base", "_reformed")).fillna(
            {"working_minutes_per_case_base": 0.0, "working_minutes_per_case_reformed": 0.0, "share_base": 0.0,
             "share_reformed": 0.0})
        m["change_minutes"] = m["working_minutes_per_case_reformed"] - m["working_minutes_per_case_base"]
        m.insert(1, "category_zh", [category_zh(c) or ("合计" if c == "total" else "") for c in m["category"]])
        last = m["category"] == "total"
        return pd.concat([m[~last].sort_values("working_minutes_per_case_base", ascending=False), m[last]],
                         ignore_index=True)

    return call


def _notes(base_ref: str, plan, edits: dict, verdict_text: str | None) -> str:
    lines = [f"Base scenario / 基准场景: `{base_ref}`", ""]
    if edits:
        lines += ["Edited on the page / 页面修改:", ""] + [f"- `{k}`: {v}" for k, v in edits.items()] + [""]
    lines += ["Reforms, in order / 改革措施(按顺序):", ""]
    lines += [f"- `{r}` {json.dumps(p, ensure_ascii=False) if p else ''}" for r, p in plan] or ["- (none / 无)"]
    if verdict_text:
        lines += ["", verdict_text]
    return "\n".join(lines) + "\n"


def report_html(results, table: pd.DataFrame, base_ref: str, plan, edits: dict | None = None,
                attribution: pd.DataFrame | None = None, bottlenecks: pd.DataFrame | None = None,
                verdict: pd.DataFrame | None = None,
                verdict_text: str | None = None, lang: str = "both") -> str:
    """The comparison as one self-contained HTML report (the project's report of a results directory)."""
    from ..charts import build_report
    from .. import __version__

    base, after = results[0].scenario, results[1].scenario
    with tempfile.TemporaryDirectory(prefix="approval-sim-web-") as tmp:
        d = Path(tmp)
        (d / "tables").mkdir()
        (d / "charts").mkdir()
        manifest = {
            "experiment": f"{base.name}: {len(plan)} reform(s) / {len(plan)}项改革",
            "description": "A paired comparison run from the planners' page (common random numbers, 95% CIs). "
                           "页面运行的改革前后配对对比(共同随机数,95%置信区间)。",
            "command": "approval-sim web",
            "package_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seed": int(results[0].seed),
            "replications": int(results[0].replications),
            "scenarios": {"base": base.content_hash(), "reformed": after.content_hash()},
        }
        (d / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (d / "notes.md").write_text(_notes(base_ref, plan, edits or {}, verdict_text), encoding="utf-8")
        if verdict is not None and len(verdict):
            verdict.to_csv(d / "tables" / "claims.csv", index=False)
        table.to_csv(d / "tables" / "comparison.csv", index=False)
        if attribution is not None:
            attribution.to_csv(d / "tables" / "attribution.csv", index=False)
        if bottlenecks is not None:
            bottlenecks.to_csv(d / "tables" / "bottlenecks.csv", index=False)
        index = []
        for c in charts(results, attribution):
            for lg in LANGS:
                (d / "charts" / f"{c.stem}.{lg}.png").write_bytes(png(c.draw(lang=lg), dpi=110))
            index.append({"file_stem": c.stem, "title_en": c.title_en, "title_zh": c.title_zh})
        (d / "charts" / "charts.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
        return build_report(d, lang=lang).read_text(encoding="utf-8")


def kpi_choices(table: pd.DataFrame) -> list[str]:
    """KPIs of the comparison's ``all`` scope, in the catalogue's order."""
    have = set(table.loc[table["scope"] == "all", "kpi"])
    return [k for k in KPIS if k in have]
