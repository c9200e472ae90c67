"""What the web page does, without the web framework: scenarios, reform forms, reformed files, result tables.

The Streamlit script (:mod:`sim.web.app`) only lays these out, so the page's
logic is tested like the rest of the library.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import Problem, ScenarioError
from ..kpis import KPIS
from ..reforms import REFORMS, apply_reform
from ..scenario import Scenario

__all__ = ["distribution_png", "shipped_scenarios", "load_upload", "reform_fields", "parse_params", "reformed", "reformed_file",
           "comparison_view", "TEXT"]

ROOT = Path(__file__).resolve().parents[2]

TEXT = {  # every label of the page in both languages
    "title": ("Approval-process reform simulator", "审批流程再造仿真"),
    "scenario": ("Scenario", "场景"),
    "shipped": ("A shipped place", "内置案例"),
    "upload": ("Upload a scenario file (YAML)", "上传场景文件(YAML)"),
    "reforms": ("Reforms to switch on", "启用的改革措施"),
    "params": ("Parameters of", "参数:"),
    "reps": ("Replications", "重复次数"),
    "seed": ("Seed", "随机种子"),
    "run": ("Run the comparison", "运行对比"),
    "running": ("Running", "运行中"),
    "results": ("Base against reformed, paired (common random numbers), 95% CIs", "改革前后对比(共同随机数配对,95%置信区间)"),
    "download_file": ("Download the reformed file (YAML)", "下载改革后场景文件(YAML)"),
    "download_table": ("Download the table (CSV)", "下载结果表(CSV)"),
    "bad": ("The scenario or a reform has a problem", "场景或改革措施有误"),
    "chart": ("Lead time of completed cases, base and reformed", "已办结案件的办理时长:改革前后"),
    "download_chart": ("Download the chart (PNG)", "下载图表(PNG)"),
    "base": ("base", "改革前"),
    "reformed": ("reformed", "改革后"),
    "tab_compare": ("Compare reforms", "改革对比"),
    "tab_optimise": ("Optimise staffing or reforms", "优化配置"),
    "edit": ("Edit the numbers of this scenario", "修改场景参数"),
    "edit_section": ("Part of the scenario", "场景组成部分"),
    "edit_entry": ("Entry", "条目"),
    "edits": ("Changed on this page", "本页已修改"),
    "edit_reset": ("Undo every change", "撤销全部修改"),
    "edit_bad": ("Fix the fields marked in red: until then nothing runs and nothing already saved changes",
                 "请修正标红的字段:修正前不会运行,已保存的结果不受影响"),
    "edit_other": ("Problems in fields not shown", "未显示字段中的问题"),
    "download_edited": ("Download the edited scenario (YAML)", "下载修改后的场景文件(YAML)"),
    "edited_note": ("The reformed file names the edited file as its base: save both in one folder.",
                    "改革后场景文件以修改后的场景为基础:请将两个文件保存在同一文件夹。"),
    "workers": ("Worker processes", "并行进程数"),
    "verdict": ("Does the reformed scenario reach a target?", "改革后能否达到目标?"),
    "verdict_kpi": ("Measure", "指标"),
    "verdict_dir": ("Target", "目标"),
    "at_most": ("at most", "不超过"),
    "at_least": ("at least", "不低于"),
    "verdict_value": ("Target value", "目标值"),
    "verdict_run": ("Judge the target across the shared assumptions", "在共享假设范围内检验目标"),
    "verdict_note": ("Judged as the experiments judge reported claims: at the project's shared assumption defaults (the "
                     "values of repeat_incomplete_factor, tolerated_share and decide_before_supplement in this file are "
                     "replaced by the shared defaults), each assumption alone at both ends of its plausible range, and all "
                     "of them at their least and most favourable ends together, with the same seed and replications.",
                     "与实验检验报道结论的方法相同:采用项目共享假设的默认值(本文件中的 repeat_incomplete_factor、"
                     "tolerated_share、decide_before_supplement 取共享默认值),逐一将每个假设取其合理范围两端,"
                     "再将全部假设同时取最不利与最有利值,均使用相同的随机种子与重复次数。"),
    "as_it_stands": ("The reformed scenario as it stands (its own values)", "改革后场景原值(文件自身取值)"),
    "attribute": ("Split the change among the reforms (Shapley values)", "将变化分解到各项改革(Shapley值)"),
    "attribution": ("What each reform buys", "各项改革的贡献"),
    "charts": ("Charts", "图表"),
    "bottlenecks": ("Where the lead time goes, before and after (critical paths)", "办理时长构成:改革前后(关键路径)"),
    "bottlenecks_head": ("Working minutes per completed case on its critical path", "每件已办结案件关键路径上的工作分钟"),
    "report": ("Build the HTML report", "生成HTML报告"),
    "download_report": ("Download the HTML report", "下载HTML报告"),
    "download_png": ("Download (PNG)", "下载(PNG)"),
}

SECTIONS = {  # the scenario schema's top-level parts, for the editor's list
    "sites": ("Sites", "办事地点"),
    "travel": ("Travel", "路途"),
    "departments": ("Departments and back-office staff", "部门与后台人员"),
    "windows": ("Window groups", "窗口组"),
    "items": ("Items (事项)", "事项"),
    "externals": ("External steps", "外部环节"),
    "case_types": ("Case types and arrivals", "办件类型与到达"),
    "calendar": ("Working calendar", "工作日历"),
    "applicants": ("Applicants", "申请人"),
    "agency": ("Assisted service (帮办代办)", "帮办代办"),
    "run": ("Run settings", "运行设置"),
}


def shipped_scenarios(root: Path | None = None) -> dict[str, Path]:
    """Name -> path of every scenario file in ``scenarios/``."""
    folder = (root or ROOT) / "scenarios"
    if not folder.is_dir():
        folder = Path.cwd() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_upload(data: bytes, name: str = "upload.yaml") -> Scenario:
    """A scenario from an uploaded file's bytes; problems as :class:`ScenarioError` naming the file."""
    from ..errors import format_path
    from ..loading import with_positions
    from ..yaml_source import YamlProblem, parse_yaml

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem("(file)", "not UTF-8 text")], name) from None
    try:
        parsed, positions = parse_yaml(text)
    except YamlProblem as exc:
        where = format_path(exc.path) if exc.path else "(file)"
        raise ScenarioError([Problem(where, exc.reason, exc.line, exc.column)], name) from None
    if isinstance(parsed, dict) and "base" in parsed:
        raise ScenarioError([Problem("base", "a reformed file names its base file: upload the base scenario and "
                                             "switch its reforms on here")], name)
    try:
        return Scenario.from_dict(parsed)
    except ScenarioError as exc:
        raise with_positions(exc, positions, name) from None


def reform_fields(name: str) -> list[tuple[str, str, str, bool]]:
    """(parameter, default as YAML text, description, required) for each parameter of a reform: the form's fields."""
    out = []
    for p in REFORMS[name].parameters:
        required = p.default is inspect.Parameter.empty
        default = "" if required else yaml.safe_dump(p.default, default_flow_style=True, allow_unicode=True).strip()
        if default.endswith("\n..."):
            default = default[:-4].strip()
        out.append((p.name, default.removesuffix("...").strip(), p.description, required))
    return out


def parse_params(name: str, texts: dict[str, str]) -> dict[str, Any]:
    """The parameters typed into a reform's form (YAML values); empty optional fields keep their defaults."""
    params, problems = {}, []
    required = {f[0] for f in reform_fields(name) if f[3]}
    for key, text in texts.items():
        if not text.strip():
            if key in required:
                problems.append(Problem(f"{name}.{key}", "required: type a value"))
            continue
        try:
            params[key] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(Problem(f"{name}.{key}", f"not a YAML value ({str(exc).splitlines()[0]})"))
    if problems:
        raise ScenarioError(problems, "reforms")
    return params


def reformed(base: Scenario, plan: list[tuple[str, dict]]) -> Scenario:
    """The base with the reforms applied in order (a ScenarioError names the reform that failed)."""
    s = base
    for name, params in plan:
        try:
            s = apply_reform(s, name, **params)
        except ScenarioError as exc:
            raise ScenarioError([Problem(f"{name}.{p.path}", p.message) for p in exc.problems], "reforms") from None
    return s


def reformed_file(base_ref: str, plan: list[tuple[str, dict]], name: str) -> str:
    """A reformed scenario file (``base:`` + ``reforms:``) that loads back to the same scenario."""
    doc = {"base": base_ref, "name": name, "reforms": [{"reform": r, **p} for r, p in plan]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _interval(lo: float, hi: float) -> str:
    """A 95% CI as text; empty when it is undefined (a KPI with no variation or no base value)."""
    return "" if lo != lo or hi != hi else f"[{lo:.3g}; {hi:.3g}]"


def comparison_view(table: pd.DataFrame, lang: str = "en", scope: str = "all") -> pd.DataFrame:
    """The comparison table for the page: KPI in the chosen language, base and reformed means, 压缩率 with CI."""
    t = table[table["scope"] == scope]
    base = t[t["index"] == 0].set_index("kpi")
    new = t[t["index"] == 1].set_index("kpi")
    rows = []
    for kpi in new.index:
        k = KPIS.get(kpi)
        label = (k.zh if lang == "zh" else k.en) if k else kpi
        b, r = base.loc[kpi], new.loc[kpi]
        rows.append({
            ("指标" if lang == "zh" else "KPI"): f"{label} ({kpi})",
            ("改革前" if lang == "zh" else "base"): b["mean"],
            ("改革后" if lang == "zh" else "reformed"): r["mean"],
            ("95%置信区间" if lang == "zh" else "95% CI"): _interval(r["ci_low"], r["ci_high"]),
            ("压缩率" if lang == "zh" else "compression"): r["compression_mean"],
            ("压缩率区间" if lang == "zh" else "compression CI"): _interval(r["compression_ci_low"], r["compression_ci_high"]),
        })
    return pd.DataFrame(rows)


def distribution_png(results, lang: str = "en") -> bytes:
    """The before/after lead-time distribution chart (the CLI's), as PNG bytes, labels in ``lang`` (bundled CJK font)."""
    import io

    import matplotlib.pyplot as plt

    from ..charts import distribution_before_after

    i = 1 if lang == "zh" else 0
    fig = distribution_before_after({TEXT["base"][i]: results[0].cases, TEXT["reformed"][i]: results[1].cases}, lang=lang)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return buf.getvalue()


def page_chars(*texts: str) -> str:
    """Every non-ASCII character the page may show: its labels, KPI and reform names, and ``texts``, sorted."""
    from ..experiments.verdicts import MEANINGS, VERDICTS
    from .optimisation import TEXT as OPT_TEXT

    pool = [v[1] for d in (TEXT, SECTIONS, OPT_TEXT, VERDICTS, MEANINGS) for v in d.values()]
    pool += [k.zh for k in KPIS.values()] + [r.zh for r in REFORMS.values()]
    pool += ["中文", "语言", "指标", "改革前", "改革后", "95%置信区间", "压缩率", "压缩率区间", *texts]
    return "".join(sorted({c for t in pool for c in t if ord(c) > 0x7E}))


def font_css(chars: str) -> str:
    """A style block: the bundled CJK font (cut down to ``chars``) for the page's text, so Chinese renders on any machine."""
    from ..charts._html import CSS_FAMILY, font_face

    family = f'"{CSS_FAMILY}", "Source Sans Pro", sans-serif'
    targets = "h1, h2, h3, h4, p, li, label, table, th, td, .stMarkdown, [data-testid='stTable'], [data-testid='stWidgetLabel'], [data-testid='stCaptionContainer'], " \
              "[data-baseweb='select'] span, [data-testid='stExpander'] summary, button p"
    return f"<style>{font_face(set(chars))}\n{targets} {{ font-family: {family} !important; }}</style>"
