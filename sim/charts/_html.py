"""HTML pieces of the report: tables, notes, key-value lists, embedded images and the embedded font.

Every text that comes from a file goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from pathlib import Path

import pandas as pd

from ._font import FONT_PATH
from .claims import VERDICT_COLOURS, VERDICT_TEXT
from .report_text import Text

MAX_ROWS = 200  # rows shown per table; the CSV has them all
CSS_FAMILY = "approval-sim Sans SC"
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):d}"
        return f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def table_html(df: pd.DataFrame, t: Text, rel: str, verdicts: bool = False) -> str:
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
                cells.append(f"<td>{html.escape(cell(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if len(df) > MAX_ROWS:
        note = f'<p class="note">{html.escape(t.heading("truncated", shown=MAX_ROWS, total=len(df), path=rel))}</p>'
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{note}'


def notes_html(text: str) -> str:
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


def value_html(v) -> str:
    if isinstance(v, (dict, list)):
        return f"<code>{html.escape(json.dumps(v, ensure_ascii=False))}</code>"
    return html.escape(cell(v) if isinstance(v, float) else str(v))


def assumptions_html(a, t: Text) -> str:
    if not a:
        return f"<p>{html.escape(t.heading('no_assumptions'))}</p>"
    if isinstance(a, dict) and all(isinstance(v, dict) for v in a.values()):
        cols = list(dict.fromkeys(k for v in a.values() for k in v))
        head = "<th>id</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            f"<tr><td>{html.escape(str(k))}</td>" + "".join(f"<td>{value_html(v.get(c, ''))}</td>" for c in cols) + "</tr>"
            for k, v in a.items()
        )
        return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    if isinstance(a, dict):
        return kv_table(a)
    return f"<p>{value_html(a)}</p>"


def kv_table(d: dict) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{value_html(v)}</td></tr>" for k, v in d.items())
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def manifest_html(m: dict) -> str:
    rest = {k: v for k, v in m.items() if k not in ("assumptions", "scenarios", "description")}
    parts = []
    if "command" in rest:
        parts.append(f"<pre>{html.escape(str(rest.pop('command')))}</pre>")
    parts.append(kv_table(rest))
    scen = m.get("scenarios")
    if isinstance(scen, dict) and scen:
        body = "".join(f"<tr><td>{html.escape(str(p))}</td><td><code>{html.escape(str(h))}</code></td></tr>" for p, h in scen.items())
        parts.append(f"<table><thead><tr><th>scenario</th><th>content hash</th></tr></thead><tbody>{body}</tbody></table>")
    elif scen:
        parts.append(f"<p>scenarios: {value_html(scen)}</p>")
    return "\n".join(parts)


def image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = IMAGE_TYPES[path.suffix.lower()]
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'


def font_face(chars: set[str]) -> str:
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
