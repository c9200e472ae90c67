"""One self-contained HTML report of an experiment's results directory.

``build_report(results_dir)`` reads the directory the experiment runner
writes::

    RESULTS_DIR/
      manifest.json     experiment, description, command, package_version, created,
                        seed, replications, fast, scenarios {path: hash}, assumptions
      tables/*.csv      claims.csv first (verdicts coloured), robustness.csv, the others
      charts/*.svg|png  NAME.en.svg, NAME.zh.svg ...; charts.json may list
                        [{"file_stem", "title_en", "title_zh"}] in display order
      notes.md          optional free text

and writes ``RESULTS_DIR/report.html``: one file that opens offline.  The CSS
is inline, the charts are embedded as base64 data (``<img>`` tags, so an SVG
cannot run scripts), and the bundled Chinese font is embedded as a base64
``@font-face``, cut down to the characters the page uses, so Chinese shows on
a machine without CJK fonts.  Every text taken from a file is HTML-escaped.
The file is written to a temporary file in the same directory and renamed,
and no other file is touched.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from ._font import FONT_PATH
from .claims import VERDICT_COLOURS, VERDICT_TEXT
from .labels import VERDICTS, verdict_label

__all__ = ["build_report", "ReportInputError"]

REPORT_NAME = "report.html"
MAX_ROWS = 200  # rows shown per table; the CSV has them all
CSS_FAMILY = "approval-sim Sans SC"
LANGS = ("en", "zh", "both")
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


class ReportInputError(ValueError):
    """The results directory cannot be reported on; the message starts with the directory."""


# -- bilingual text ----------------------------------------------------------------

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
VERDICT_MEANING = {
    "reproduced": {
        "en": "With the shared default assumptions the simulation gives the claimed value (within its 95% "
              "confidence interval, or within the claimed limit).",
        "zh": "采用统一默认假设时，仿真结果与声明一致（声明值落在95%置信区间内，或满足所声明的时限）。",
    },
    "reproduced_under_assumptions": {
        "en": "The claim is reached only for some plausible assumptions (inside the robustness range), not "
              "with the shared defaults; it holds if those assumptions hold.",
        "zh": "只有在部分合理假设下（稳健性范围之内）才能达到声明值，采用默认假设时达不到；声明成立与否取决于这些假设。",
    },
    "not_reproduced": {
        "en": "The simulation does not reach the claimed value with the defaults or across the plausible range "
              "tested; the claim may rest on something the scenario does not describe.",
        "zh": "无论采用默认假设还是在所测试的合理假设范围内，仿真都达不到声明值；该声明可能依赖情景未描述的因素。",
    },
    "refuted": {
        "en": "The claim is contradicted: even the assumptions most favourable to it leave the simulated value "
              "clearly on the other side, or the claim conflicts with the source's own numbers.",
        "zh": "声明不成立：即使取对其最有利的假设，仿真值仍明显落在另一侧，或声明与原文自身的数据相矛盾。",
    },
    "not_testable": {
        "en": "The model cannot speak to the claim (no number, or a quantity the simulation does not produce).",
        "zh": "模型无法检验该声明（没有数值，或仿真不产生相应的量）。",
    },
}
HEADINGS = {
    "reading": ("How to read the claims table", "如何阅读声明核验表"),
    "verdicts": ("What each verdict means", "各项结论的含义"),
    "claims": ("Claims", "声明核验"),
    "charts": ("Charts", "图表"),
    "tables": ("Other tables", "其他数据表"),
    "notes": ("Notes", "备注"),
    "assumptions": ("Assumptions", "假设"),
    "manifest": ("How these results were made", "运行信息"),
    "description": ("Description", "说明"),
    "no_charts": ("No charts in this directory.", "本目录中没有图表。"),
    "no_claims": ("No claims table (tables/claims.csv) in this directory.", "本目录中没有声明核验表（tables/claims.csv）。"),
    "no_assumptions": ("The manifest lists no assumptions.", "运行信息中未列出假设。"),
    "fast": ("Fast run: fewer replications, for checking the pipeline only; do not quote these numbers.",
             "快速运行：重复次数较少，仅用于检查流程，请勿引用这些数值。"),
    "truncated": ("Showing the first {shown} of {total} rows; the full table is {path}.",
                  "仅显示前{shown}行（共{total}行），完整数据见 {path}。"),
    "file": ("file", "文件"),
}


class _Text:
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


# -- reading the directory ---------------------------------------------------------------


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"{path}: {what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"{path}: cannot read {what}: {exc}") from None


def _manifest(d: Path) -> dict:
    if not d.exists():
        raise ReportInputError(f"{d}: no such directory")
    if not d.is_dir():
        raise ReportInputError(f"{d}: not a directory")
    path = d / "manifest.json"
    if not path.is_file():
        raise ReportInputError(f"{d}: no manifest.json; not an experiment results directory (expected manifest.json, tables/, charts/)")
    m = _read_json(path, "the manifest")
    if not isinstance(m, dict):
        raise ReportInputError(f"{path}: expected a JSON object, got {type(m).__name__}")
    return m


def _charts(d: Path) -> list[dict]:
    """Charts in display order: ``{"stem", "title_en", "title_zh", "files": {lang or "": path}}``."""
    cdir = d / "charts"
    if not cdir.is_dir():
        return []
    files: dict[str, dict[str, Path]] = {}
    for p in sorted(cdir.iterdir()):
        if p.suffix.lower() not in IMAGE_TYPES or not p.is_file():
            continue
        name = p.name[: -len(p.suffix)]
        m = re.fullmatch(r"(.+)\.(en|zh)", name)
        stem, lg = (m.group(1), m.group(2)) if m else (name, "")
        slot = files.setdefault(stem, {})
        if lg not in slot or p.suffix.lower() == ".svg":  # SVG (sharp at any size) before PNG
            slot[lg] = p
    listed = []
    index = cdir / "charts.json"
    if index.is_file():
        entries = _read_json(index, "the chart list")
        if not isinstance(entries, list):
            raise ReportInputError(f"{index}: expected a JSON list of {{file_stem, title_en, title_zh}}")
        for k, e in enumerate(entries):
            if not isinstance(e, dict) or not isinstance(e.get("file_stem"), str):
                raise ReportInputError(f"{index}: [{k}]: expected an object with a file_stem string")
            listed.append(e)
    out, seen = [], set()
    for e in listed:
        stem = e["file_stem"]
        if stem in files and stem not in seen:
            out.append({"stem": stem, "title_en": str(e.get("title_en") or stem),
                        "title_zh": str(e.get("title_zh") or e.get("title_en") or stem), "files": files[stem]})
            seen.add(stem)
    for stem in sorted(files):
        if stem not in seen:
            out.append({"stem": stem, "title_en": stem, "title_zh": stem, "files": files[stem]})
    return out


def _tables(d: Path) -> list[Path]:
    tdir = d / "tables"
    if not tdir.is_dir():
        return []
    paths = sorted(p for p in tdir.glob("*.csv") if p.is_file())
    first = {"claims.csv": 0, "robustness.csv": 1}
    return sorted(paths, key=lambda p: (first.get(p.name, 2), p.name))


# -- rendering -----------------------------------------------------------------------


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):d}"
        return f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise ReportInputError(f"{path}: cannot read the table: {exc}") from None


def _table_html(df: pd.DataFrame, t: _Text, rel: str, verdicts: bool = False) -> str:
    if df.empty and not len(df.columns):
        return "<p>(empty)</p>"
    rows = []
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    for rec in df.head(MAX_ROWS).itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, rec):
            if verdicts and col == "verdict" and isinstance(v, str):
                colour = VERDICT_COLOURS.get(v, "#8C8C8C")
                fg = VERDICT_TEXT.get(v, "white")
                cells.append(f'<td class="verdict" style="background:{colour};color:{fg}">{html.escape(t.verdict(v))}</td>')
            else:
                cells.append(f"<td>{html.escape(_cell(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if len(df) > MAX_ROWS:
        note = f'<p class="note">{html.escape(t.heading("truncated", shown=MAX_ROWS, total=len(df), path=rel))}</p>'
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{note}'


def _notes_html(text: str) -> str:
    """Markdown-ish notes: headings (#), bullet lists (- or *), paragraphs; everything escaped."""
    out, para, items = [], [], []

    def flush():
        if para:
            out.append(f"<p>{html.escape(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        s = line.strip()
        if not s:
            flush()
        elif s.startswith("#"):
            flush()
            out.append(f"<h3>{html.escape(s.lstrip('#').strip())}</h3>")
        elif re.match(r"[-*+] ", s):
            if para:
                flush()
            items.append(s[2:].strip())
        elif items and line[:1].isspace():  # continuation of a bullet
            items[-1] += " " + s
        else:
            if items:
                flush()
            para.append(s)
    flush()
    return "\n".join(out)


def _value_html(v) -> str:
    if isinstance(v, (dict, list)):
        return f"<code>{html.escape(json.dumps(v, ensure_ascii=False))}</code>"
    return html.escape(_cell(v) if isinstance(v, float) else str(v))


def _assumptions_html(a, t: _Text) -> str:
    if not a:
        return f"<p>{html.escape(t.heading('no_assumptions'))}</p>"
    if isinstance(a, dict) and all(isinstance(v, dict) for v in a.values()):
        cols = list(dict.fromkeys(k for v in a.values() for k in v))
        head = "<th>id</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            f"<tr><td>{html.escape(str(k))}</td>" + "".join(f"<td>{_value_html(v.get(c, ''))}</td>" for c in cols) + "</tr>"
            for k, v in a.items()
        )
        return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    if isinstance(a, dict):
        return _kv_table(a)
    return f"<p>{_value_html(a)}</p>"


def _kv_table(d: dict) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_value_html(v)}</td></tr>" for k, v in d.items())
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _manifest_html(m: dict) -> str:
    rest = {k: v for k, v in m.items() if k not in ("assumptions", "scenarios", "description")}
    parts = []
    if "command" in rest:
        parts.append(f"<pre>{html.escape(str(rest.pop('command')))}</pre>")
    parts.append(_kv_table(rest))
    scen = m.get("scenarios")
    if isinstance(scen, dict) and scen:
        body = "".join(f"<tr><td>{html.escape(str(p))}</td><td><code>{html.escape(str(h))}</code></td></tr>" for p, h in scen.items())
        parts.append(f"<table><thead><tr><th>scenario</th><th>content hash</th></tr></thead><tbody>{body}</tbody></table>")
    elif scen:
        parts.append(f"<p>scenarios: {_value_html(scen)}</p>")
    return "\n".join(parts)


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = IMAGE_TYPES[path.suffix.lower()]
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'


def _charts_html(charts: list[dict], lang: str) -> str:
    langs = ("en", "zh") if lang == "both" else (lang,)
    out = []
    for c in charts:
        files = c["files"]
        title = {"en": c["title_en"], "zh": c["title_zh"], "both": f"{c['title_en']} / {c['title_zh']}"}[lang]
        if c["title_en"] == c["title_zh"]:
            title = c["title_en"]
        imgs = [(files[lg], c[f"title_{lg}"]) for lg in langs if lg in files]
        if not imgs and "" in files:
            imgs = [(files[""], c["title_en"])]
        if not imgs:  # only the other language exists: show it rather than nothing
            imgs = [(p, c["title_en"]) for p in files.values()][:1]
        figs = "".join(f"<figure>{_image(p, alt)}<figcaption>{html.escape(p.name)}</figcaption></figure>" for p, alt in imgs)
        out.append(f'<section class="chart"><h3>{html.escape(title)}</h3>{figs}</section>')
    return "\n".join(out)


def _font_face(chars: set[str]) -> str:
    """A base64 ``@font-face`` with the bundled font cut down to ``chars``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONT_PATH))
    options = subset.Options()
    options.layout_features = ["kern", "liga"]
    options.name_IDs = ["*"]  # keep the copyright and licence names
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={ord(c) for c in chars} | set(range(0x20, 0x7F)))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "{CSS_FAMILY}"; font-style: normal; font-weight: 400; '
            f'src: url(data:font/otf;base64,{data}) format("opentype"); }}')


CSS = """
body { font-family: "%(family)s", sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1.2em;
       color: #1a1a1a; line-height: 1.5; }
h1 { font-size: 1.8em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: .9em; margin: .6em 0; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
thead th { background: #f2f2f2; position: sticky; top: 0; }
table.kv th { background: #f7f7f7; width: 12em; }
td.verdict { font-weight: 600; white-space: nowrap; }
.scroll { overflow-x: auto; max-height: 42em; overflow-y: auto; }
figure { margin: 1em 0; } figure img { max-width: 100%%; height: auto; border: 1px solid #eee; }
figcaption, .note { color: #666; font-size: .85em; }
.warning { background: #fff3cd; border: 1px solid #e6c200; padding: .5em .8em; }
dl.verdicts dt { font-weight: 600; margin-top: .6em; } dl.verdicts dd { margin-left: 1.2em; }
.swatch { display: inline-block; padding: 0 .5em; border-radius: .3em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
"""


def _render(d: Path, m: dict, lang: str) -> tuple[str, str]:
    t = _Text(lang)
    title = str(m.get("experiment") or d.name)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if m.get("description"):
        parts += [f"<p>{html.escape(str(m['description']))}</p>"]
    meta = [f"{k}: {m[k]}" for k in ("created", "package_version", "seed", "replications") if k in m]
    if meta:
        parts.append(f'<p class="note">{html.escape(" · ".join(map(str, meta)))}</p>')
    if m.get("fast") is True:
        parts.append(f'<p class="warning">{html.escape(t.heading("fast"))}</p>')
    notes = d / "notes.md"
    if notes.is_file():
        parts += [f"<h2>{html.escape(t.heading('notes'))}</h2>", _notes_html(notes.read_text(encoding="utf-8", errors="replace"))]

    parts.append(f"<h2>{html.escape(t.heading('reading'))}</h2>")
    parts.append(t.paragraphs(READING, raw=True))
    parts.append(f"<h3>{html.escape(t.heading('verdicts'))}</h3>")
    items = []
    for v in VERDICTS:
        colour, fg = VERDICT_COLOURS[v], VERDICT_TEXT.get(v, "white")
        items.append(f'<dt><span class="swatch" style="background:{colour};color:{fg}">{html.escape(t.verdict(v))}</span> '
                     f"<code>{v}</code></dt>")
        items.append("<dd>" + t.paragraphs(VERDICT_MEANING[v]) + "</dd>")
    parts.append('<dl class="verdicts">' + "".join(items) + "</dl>")

    tables = _tables(d)
    parts.append(f"<h2>{html.escape(t.heading('claims'))}</h2>")
    claims = [p for p in tables if p.name == "claims.csv"]
    if claims:
        parts.append(_table_html(_read_csv(claims[0]), t, "tables/claims.csv", verdicts=True))
    else:
        parts.append(f"<p>{html.escape(t.heading('no_claims'))}</p>")

    parts.append(f"<h2>{html.escape(t.heading('charts'))}</h2>")
    charts = _charts(d)
    parts.append(_charts_html(charts, lang) if charts else f"<p>{html.escape(t.heading('no_charts'))}</p>")

    others = [p for p in tables if p.name != "claims.csv"]
    if others:
        parts.append(f"<h2>{html.escape(t.heading('tables'))}</h2>")
        for p in others:
            rel = f"tables/{p.name}"
            parts.append(f"<h3>{html.escape(p.stem)}</h3>")
            parts.append(_table_html(_read_csv(p), t, rel, verdicts="verdict" in p.stem or p.name == "robustness.csv"))

    parts.append(f"<h2>{html.escape(t.heading('assumptions'))}</h2>")
    parts.append(_assumptions_html(m.get("assumptions"), t))
    parts.append(f"<h2>{html.escape(t.heading('manifest'))}</h2>")
    parts.append(_manifest_html(m))
    return title, "\n".join(parts)


def _write_atomic(target: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def build_report(results_dir, lang: str = "both") -> Path:
    """Write ``results_dir/report.html`` (one self-contained file) and return its path.

    ``lang``: "en", "zh" or "both" (headings, explanations and charts in
    both languages).  Raises :class:`ReportInputError` (a ValueError) naming
    the directory when it does not exist or has no ``manifest.json``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {', '.join(LANGS)}, got {lang!r}")
    d = Path(results_dir)
    m = _manifest(d)
    title, body = _render(d, m, lang)
    page_lang = "zh-CN" if lang == "zh" else "en"
    font = _font_face(set(body) | set(title))
    page = (
        f'<!DOCTYPE html>\n<html lang="{page_lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{font}\n{CSS % {'family': CSS_FAMILY}}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
    target = d / REPORT_NAME
    if target.is_dir():
        raise ReportInputError(f"{d}: {REPORT_NAME} is a directory; not replacing it")
    try:
        return _write_atomic(target, page)
    except OSError as exc:
        raise ReportInputError(f"{d}: cannot write {REPORT_NAME}: {exc.strerror or exc}") from None
