"""One self-contained HTML report of an experiment's results directory.

``build_report(results_dir)`` reads the directory the experiment runner
writes::

    RESULTS_DIR/
      manifest.json     experiment, description, command, package_version, created,
                        seed, replications, fast, scenarios {path: hash}, assumptions
      tables/*.csv      claims.csv first (verdicts coloured; with it, a guide to the verdicts),
                        robustness.csv, fit.csv (a calibration's fit), the others
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

import html
import json
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from ._html import CSS, CSS_FAMILY, IMAGE_TYPES, assumptions_html, font_face, image, manifest_html, notes_html, table_html
from .claims import VERDICT_COLOURS, VERDICT_TEXT
from .labels import VERDICTS
from .report_text import READING, VERDICT_MEANING, Text

__all__ = ["build_report", "ReportInputError"]

REPORT_NAME = "report.html"
LANGS = ("en", "zh", "both")


class ReportInputError(ValueError):
    """The results directory cannot be reported on; the message starts with the directory."""


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
    first = {"claims.csv": 0, "robustness.csv": 1, "fit.csv": 2}
    return sorted(paths, key=lambda p: (first.get(p.name, 2), p.name))


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise ReportInputError(f"{path}: cannot read the table: {exc}") from None


# -- rendering -------------------------------------------------------------------------


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
        figs = "".join(f"<figure>{image(p, alt)}<figcaption>{html.escape(p.name)}</figcaption></figure>" for p, alt in imgs)
        out.append(f'<section class="chart"><h3>{html.escape(title)}</h3>{figs}</section>')
    return "\n".join(out)


def _render(d: Path, m: dict, lang: str) -> tuple[str, str]:
    t = Text(lang)
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
        parts += [f"<h2>{html.escape(t.heading('notes'))}</h2>", notes_html(notes.read_text(encoding="utf-8", errors="replace"))]

    tables = _tables(d)
    claims = [p for p in tables if p.name == "claims.csv"]
    if claims:  # a directory without claims (a fit report, an optimisation) gets no guide to verdicts it has not
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
        parts.append(f"<h2>{html.escape(t.heading('claims'))}</h2>")
        parts.append(table_html(_read_csv(claims[0]), t, "tables/claims.csv", verdicts=True))

    parts.append(f"<h2>{html.escape(t.heading('charts'))}</h2>")
    charts = _charts(d)
    parts.append(_charts_html(charts, lang) if charts else f"<p>{html.escape(t.heading('no_charts'))}</p>")

    others = [p for p in tables if p.name != "claims.csv"]
    if others:
        parts.append(f"<h2>{html.escape(t.heading('tables' if claims else 'all_tables'))}</h2>")
        for p in others:
            rel = f"tables/{p.name}"
            parts.append(f"<h3>{html.escape(p.stem)}</h3>")
            parts.append(table_html(_read_csv(p), t, rel, verdicts="verdict" in p.stem or p.name == "robustness.csv"))

    parts.append(f"<h2>{html.escape(t.heading('assumptions'))}</h2>")
    parts.append(assumptions_html(m.get("assumptions"), t))
    parts.append(f"<h2>{html.escape(t.heading('manifest'))}</h2>")
    parts.append(manifest_html(m))
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
    font = font_face(set(body) | set(title))
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
