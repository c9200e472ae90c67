"""The report's fixed text in English and Chinese: how to read the claims, what each verdict means, headings."""

from __future__ import annotations

import html

from ..experiments.verdicts import MEANINGS as _MEANINGS
from .labels import VERDICTS, verdict_label

READING = {
    "en": [
        "Each row of the claims table is one published claim about a reform (a lead time, a share of cases "
        "handled in one trip, a time limit ...). <b>claimed</b> is the number in the source, "
        "<b>simulated_mean</b> and its 95% confidence interval (<b>ci_low</b>, <b>ci_high</b>) what the "
        "simulation gives with the shared default assumptions, and <b>least_favourable</b> / "
        "<b>most_favourable</b> the simulated value when every assumption is moved to the end of its "
        "plausible range that is worst / best for the claim. <b>kind</b> says what sort of claim it is: "
        "an outcome (a measured result), a limit (a promised time limit), an input (a number the scenario "
        "takes from the source, so not a test) or not testable.",
        "The experiment's notes and description give the exact rule behind each verdict.",
    ],
    "zh": [
        "声明核验表的每一行是一条公开的改革成效声明（办理时长、最多跑一次比例、承诺时限等）。"
        "<b>claimed</b> 为原文中的数值；<b>simulated_mean</b> 及其95%置信区间（<b>ci_low</b>、<b>ci_high</b>）"
        "为采用统一默认假设时的仿真结果；<b>least_favourable</b> / <b>most_favourable</b> 为把所有假设都取到"
        "对该声明最不利 / 最有利的一端时的仿真值。<b>kind</b> 为声明类型：outcome（成效结果）、limit（承诺时限）、"
        "input（情景直接取自原文的参数，不构成检验）、not_testable（无法检验）。",
        "各项结论的具体判定规则见本实验的说明与备注。",
    ],
}
# one definition of each verdict: the rules that decide them (sim.experiments.verdicts)
VERDICT_MEANING = {k: {"en": en, "zh": zh} for k, (en, zh) in _MEANINGS.items()}
HEADINGS = {
    "reading": ("How to read the claims table", "如何阅读声明核验表"),
    "verdicts": ("What each verdict means", "各项结论的含义"),
    "claims": ("Claims", "声明核验"),
    "charts": ("Charts", "图表"),
    "tables": ("Other tables", "其他数据表"),
    "all_tables": ("Tables", "数据表"),
    "notes": ("Notes", "备注"),
    "assumptions": ("Assumptions", "假设"),
    "manifest": ("How these results were made", "运行信息"),
    "description": ("Description", "说明"),
    "no_charts": ("No charts in this directory.", "本目录中没有图表。"),
    "no_assumptions": ("The manifest lists no assumptions.", "运行信息中未列出假设。"),
    "fast": ("Fast run: fewer replications, for checking the pipeline only; do not quote these numbers.",
             "快速运行：重复次数较少，仅用于检查流程，请勿引用这些数值。"),
    "truncated": ("Showing the first {shown} of {total} rows; the full table is {path}.",
                  "仅显示前{shown}行（共{total}行），完整数据见 {path}。"),
}


class Text:
    """Headings and paragraphs in one language or both."""

    def __init__(self, lang: str):
        self.lang = lang

    def heading(self, key: str, **fmt) -> str:
        en, zh = (s.format(**fmt) for s in HEADINGS[key])
        return {"en": en, "zh": zh}.get(self.lang, f"{en} / {zh}")

    def paragraphs(self, by_lang: dict[str, str | list[str]], raw: bool = False) -> str:
        out = []
        for lg in (("en", "zh") if self.lang == "both" else (self.lang,)):
            items = by_lang[lg] if isinstance(by_lang[lg], list) else [by_lang[lg]]
            for p in items:
                body = p if raw else html.escape(p)
                out.append(f'<p lang="{"zh-CN" if lg == "zh" else "en"}">{body}</p>')
        return "\n".join(out)

    def verdict(self, v: str) -> str:
        if self.lang == "both":
            return f"{verdict_label(v, 'en')} / {verdict_label(v, 'zh')}" if v in VERDICTS else v
        return verdict_label(v, self.lang)
