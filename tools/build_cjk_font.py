"""Build the bundled Chinese chart font ``sim/charts/fonts/NotoSansSC-Subset.otf``.

The charts must draw Chinese (办理时长, 最多跑一次 ...) on a machine without
any CJK system font, so the package ships a subset of Noto Sans CJK SC
(SIL Open Font License 1.1).  This script makes it reproducibly from the
Debian package ``fonts-noto-cjk``::

    apt-get install -y fonts-noto-cjk
    .venv/bin/python tools/build_cjk_font.py

It takes the Simplified Chinese face out of ``NotoSansCJK-Regular.ttc``,
keeps ASCII, Latin-1, general punctuation, CJK symbols and punctuation,
half- and full-width forms, arrows, mathematical operators and every
character of GB2312 (all 6,763 hanzi and its symbols), renames the family to
"Noto Sans SC Subset" (so it can never be confused with a system copy of the
full font), and writes the licence text next to it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
COPYRIGHT_FILE = Path("/usr/share/doc/fonts-noto-cjk/copyright")
OUT_DIR = Path(__file__).resolve().parent.parent / "sim" / "charts" / "fonts"
FONT_NAME = "NotoSansSC-Subset.otf"
FAMILY = "Noto Sans SC Subset"
POSTSCRIPT = "NotoSansSCSubset-Regular"
FACE = "Noto Sans CJK SC"

RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2000, 0x206F),  # general punctuation
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators (≤ ≥ − × ± ...)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # half-width and full-width forms
]
EXTRA = "≤≥−×±→←↑↓·…—–‘’“”℃№"


def gb2312_characters() -> set[str]:
    """Every character of GB2312: decode each double-byte code (rows and cells 0xA1-0xFE)."""
    out = set()
    for hi in range(0xA1, 0xFF):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def wanted_codepoints() -> set[int]:
    cps = {c for lo, hi in RANGES for c in range(lo, hi + 1)}
    cps |= {ord(c) for c in EXTRA}
    cps |= {ord(c) for c in gb2312_characters()}
    return cps


def sc_face(collection: TTCollection):
    """The Simplified Chinese face of the collection, found by its family name."""
    for font in collection.fonts:
        if font["name"].getDebugName(1) == FACE:
            return font
    names = [f["name"].getDebugName(1) for f in collection.fonts]
    raise SystemExit(f"{SOURCE}: no face named {FACE!r}; faces: {names}")


def rename(font) -> None:
    """Give the subset its own family name, so it is never mistaken for (or resolved to) a system copy of the full font."""
    names = {
        1: FAMILY, 2: "Regular", 3: f"{POSTSCRIPT};subset for approval-sim", 4: f"{FAMILY} Regular",
        6: POSTSCRIPT, 16: FAMILY, 17: "Regular",
    }
    table = font["name"]
    for rec in list(table.names):
        if rec.nameID in names:
            table.removeNames(nameID=rec.nameID)
    for nid, text in names.items():
        table.setName(text, nid, 3, 1, 0x409)
        table.setName(text, nid, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames[0] = POSTSCRIPT
        top = cff.topDictIndex[0]
        top.FamilyName = FAMILY
        top.FullName = f"{FAMILY} Regular"


def write_licence(out_dir: Path, copyright_line: str) -> None:
    """OFL.txt: the font's copyright line and the SIL OFL 1.1 text from the Debian copyright file."""
    text = COPYRIGHT_FILE.read_text(encoding="utf-8")
    start = text.index("License: SIL-1.1\n", text.index("Files: debian/*"))
    body = []
    for line in text[start:].splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    header = [
        f"Copyright: {copyright_line} Noto is a trademark of Google Inc.",
        "Noto Sans CJK (https://github.com/notofonts/noto-cjk); this file covers the",
        f"subset {FONT_NAME} built from it (family renamed to \"{FAMILY}\").",
        "",
    ]
    (out_dir / "OFL.txt").write_text("\n".join(header + body).rstrip() + "\n", encoding="utf-8")


def build(source: Path = SOURCE, out_dir: Path = OUT_DIR) -> Path:
    collection = TTCollection(str(source), lazy=False)
    font = sc_face(collection)
    copyright_line = font["name"].getDebugName(0)
    options = subset.Options()
    options.layout_features = ["kern", "ccmp", "liga"]  # not locl: it pulls in the JP, KR and TC glyph variants
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True  # keep the box drawn for characters the subset lacks
    options.hinting = False
    options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    cps = wanted_codepoints() & set(font.getBestCmap())
    subsetter.populate(unicodes=cps)
    subsetter.subset(font)
    rename(font)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / FONT_NAME
    tmp = out.with_suffix(".tmp")
    font.recalcTimestamp = False  # keep the source's dates: the same input gives the same bytes
    font.save(str(tmp))
    tmp.replace(out)
    write_licence(out_dir, copyright_line)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, default=SOURCE, help="NotoSansCJK-Regular.ttc")
    p.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    for path in (args.source, COPYRIGHT_FILE):
        if not path.exists():
            print(f"{path}: not found; install the Debian package fonts-noto-cjk", file=sys.stderr)
            return 2
    out = build(args.source, args.out_dir)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
