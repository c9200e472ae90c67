"""The bundled Chinese font (a GB2312 subset of Noto Sans CJK SC) and its registration.

The charts never rely on system fonts: the font file ships inside the package
(``sim/charts/fonts/``, SIL Open Font License) and is added to matplotlib's
font manager by name, so Chinese and Latin text both render from it on a
fresh machine.
"""

from __future__ import annotations

from pathlib import Path

FAMILY = "Noto Sans SC Subset"
FONT_PATH = Path(__file__).resolve().with_name("fonts") / "NotoSansSC-Subset.otf"
# Matplotlib's own DejaVu Sans (shipped with matplotlib, not a system font) is the
# fallback for the few symbols outside the subset.
FAMILIES = [FAMILY, "DejaVu Sans"]


def register() -> None:
    """Add the bundled font to matplotlib's font manager (once) and prefer it for sans-serif text."""
    import matplotlib
    from matplotlib import font_manager

    if not FONT_PATH.is_file():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"{FONT_PATH}: the bundled chart font is missing; reinstall approval-sim")
    if not any(Path(f.fname) == FONT_PATH for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(FONT_PATH))
    sans = matplotlib.rcParams["font.sans-serif"]
    if not sans or sans[0] != FAMILY:
        matplotlib.rcParams["font.sans-serif"] = [FAMILY] + [f for f in sans if f != FAMILY]
