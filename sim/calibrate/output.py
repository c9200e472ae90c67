"""Writing a calibration: the draft scenario file and the fit report (tables, charts, HTML), never over existing files."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..export import OutputExists
from .draft import Calibration
from .report import FitReport

__all__ = ["write_scenario", "write_report"]


def write_scenario(cal: Calibration, path: str | os.PathLike, log_name: str) -> Path:
    """The draft scenario as YAML at ``path`` (refused if it exists; written to a temporary name and renamed)."""
    p = Path(path)
    if p.exists():
        raise OutputExists(f"{p}: already exists; choose another --out (nothing was written)")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cal.yaml_text(log_name))
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _lead_chart(cal: Calibration, sim_cases: pd.DataFrame, lang: str):
    from ..charts import distribution_before_after

    def table(c):
        held = c[(c["arrival"] >= cal.split) & c["decided"]]
        return pd.DataFrame({"status": "completed", "lead_time_working_days": held["lead_working_days"].to_numpy(float)})

    names = {"en": ("log (held out)", "model"), "zh": ("日志(留出期)", "模型")}[lang]
    fig = distribution_before_after({names[0]: table(cal.cases), names[1]: table(sim_cases)}, "lead_time_working_days",
                                    lang=lang)
    ax = fig.axes[0]  # the chart's own title and axis speak of before and after a reform: say what this is
    ax.set_title({"en": "Time to decision of held-out cases: log and model", "zh": "留出期案件的办结用时:日志与模型"}[lang],
                 fontproperties=ax.title.get_fontproperties(), fontsize=ax.title.get_fontsize())
    ax.set_xlabel({"en": "Time to decision (working days, counted by dates)", "zh": "办结用时(工作日,按日期计)"}[lang],
                  fontproperties=ax.xaxis.label.get_fontproperties(), fontsize=ax.xaxis.label.get_fontsize())
    return fig


def write_report(cal: Calibration, fit: FitReport, sim_cases: pd.DataFrame, out: str | os.PathLike, log_name: str,
                 command: str = "") -> Path:
    """The fit report in a new directory ``out``: tables, charts (English and Chinese), notes and ``report.html``."""
    from .. import __version__
    from ..charts import build_report, save
    from ..export import check_out_dir, staged_dir

    check_out_dir(out)
    with staged_dir(out) as tmp:
        (tmp / "tables").mkdir()
        (tmp / "charts").mkdir()
        fit.table.to_csv(tmp / "tables" / "fit.csv", index=False)
        cal.estimates.to_csv(tmp / "tables" / "estimates.csv", index=False)
        pd.DataFrame(cal.placeholders, columns=["field", "placeholder"]).to_csv(tmp / "tables" / "placeholders.csv", index=False)
        for name, f in cal.fits.items():
            f.candidates.to_csv(tmp / "tables" / f"distribution_{name.replace(':', '__')}.csv", index=False)
        if cal.stages:
            cal.stage_table().to_csv(tmp / "tables" / "stages.csv", index=False)
            pd.concat([f.activities.assign(group=g) for g, f in cal.stages.items()]).to_csv(
                tmp / "tables" / "activities.csv", index=False)
            pd.concat([f.pairs.assign(group=g) for g, f in cal.stages.items()]).to_csv(
                tmp / "tables" / "stage_order.csv", index=False)
        if fit.loop_check is not None:
            fit.loop_check.to_csv(tmp / "tables" / "loop_switched_off.csv", index=False)
        if fit.by_year is not None:
            fit.by_year.to_csv(tmp / "tables" / "time_to_decision_by_year.csv", index=False)
        if fit.stages is not None:
            fit.stages.to_csv(tmp / "tables" / "working_days_per_stage.csv", index=False)
        from ..charts.logfit import over_time, shares_side_by_side, stage_durations
        from .report import fit_series

        series = fit_series(cal, fit)
        series["wip_model"].to_csv(tmp / "tables" / "work_in_progress_model.csv", index_label="week_end")
        series["wip_log"].rename("cases").to_csv(tmp / "tables" / "work_in_progress_log.csv", index_label="week_end")
        charts = [
            ("time_to_decision_held_out", "Time to decision of held-out cases: log and model", "留出期案件的办结用时:日志与模型",
             lambda lang: _lead_chart(cal, sim_cases, lang)),
            ("work_in_progress", "Cases in progress at week ends: log and model", "每周末在办案件数:日志与模型",
             lambda lang: over_time(series["wip_log"], series["wip_model"], "wip", cal.split, lang=lang)),
            ("arrivals_by_weekday", "Arrivals by weekday: log and model", "按星期的到达分布:日志与模型",
             lambda lang: shares_side_by_side(series["weekday_log"], series["weekday_model"], "weekday", lang=lang)),
        ]
        if fit.stages is not None:
            charts.append(("working_days_per_stage", "Working days per stage: log and model", "各办理环节的工作日:日志与模型",
                           lambda lang: stage_durations(fit.stages, lang=lang)))
        for stem, _en, _zh, draw in charts:
            for lang in ("en", "zh"):
                save(draw(lang), tmp / "charts" / f"{stem}.{lang}", formats=("png",), dpi=110)
        (tmp / "charts" / "charts.json").write_text(json.dumps(
            [{"file_stem": stem, "title_en": en, "title_zh": zh} for stem, en, zh, _ in charts], ensure_ascii=False),
            encoding="utf-8")
        passed = fit.table["passes"].dropna()
        manifest = {
            "experiment": f"Fit of a scenario calibrated from {log_name}",
            "description": "Each measure from the log beside the calibrated model's mean and 95% CI over replications, "
                           "on the fitting period and the held-out tail; a naive baseline (held-out lead times "
                           "resampled from the fitting period) beside. 模型校准拟合报告。",
            "command": command, "package_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seed": int(fit.seed), "replications": int(fit.replications),
            "held_out_from": f"{cal.split:%Y-%m-%d}", "log_end": f"{cal.log_end:%Y-%m-%d}",
            "measures_within_tolerance": f"{int(passed.sum())} of {len(passed)}",
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        lines = ["The log cannot show these; the draft holds placeholders / 日志无法反映、草稿中为占位值的字段:", ""]
        lines += [f"- `{f}`: {why}" for f, why in cal.placeholders] + ["", "Notes / 说明:", ""]
        lines += [f"- {n}" for n in cal.notes]
        misses = fit.table[fit.table["passes"] == False]  # noqa: E712 - None means not judged
        if len(misses):
            lines += ["", "Measures the model does not reproduce within the tolerance / 未能在容差内复现的指标:", ""]
            lines += [f"- {r.period}: {r.measure}: log {r.log:.4g}, model {r.model_mean:.4g} "
                      f"[{r.model_ci_low:.4g}; {r.model_ci_high:.4g}]" for r in misses.itertuples()]
        (tmp / "notes.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        build_report(tmp, lang="both")
    return Path(out)
