"""The optimisation section's results for the page: tables in either language, the Pareto chart, the files to download, the section's font.

Split from :mod:`sim.web.optimisation` (what the form builds and runs) so
each module holds one concept.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pandas as pd

from ..kpis import KPIS
from .optimisation import _UNITS_ZH, TEXT, kpi_label, scope_label, texts

__all__ = ["cost_text", "chosen_view", "final_view", "decisions_view", "statement", "pareto_png", "downloads",
           "section_chars", "section_css"]

def cost_text(res, lang: str) -> str:
    """The chosen design's cost a year (and one-off costs, for packages) in words."""
    t = texts(lang)
    c = res.chosen
    if c is None:
        return ""
    out = t["cost_line"].format(cost=f"{c.cost_yuan_per_year:,.0f}", wan=f"{c.cost_yuan_per_year / 1e4:,.1f}")
    if c.cost_one_off_yuan:
        out += "; " + t["one_off"].format(cost=f"{c.cost_one_off_yuan:,.0f}", years=f"{res.spec.amortise_years:g}")
    return out


def chosen_view(res, lang: str = "en") -> pd.DataFrame:
    """The chosen design, one row per variable (staffing) or reform (package): variable, value, what it is.

    Empty (with the columns) when no design was found.
    """
    from ..charts.labels import reform_name
    from ..optimise.design import station_of

    t = texts(lang)
    cols = [t["col_variable"], t["col_value"], t["col_label"]]
    if res.chosen is None:
        return pd.DataFrame(columns=cols)
    rows = []
    if res.kind == "staffing":
        for v, k in zip(res.spec.staffing, res.chosen.key):
            st = station_of(v.field)
            if v.label:
                what = v.label
            elif st is not None and "." in st:
                dept, role = st.split(".", 1)
                what = t["staff"].format(role=role, name=dept)
            elif st is not None:
                what = t["positions"].format(name=st)
            else:
                what = v.field
            rows.append([v.field, int(k), what])
    else:
        for o, on in zip(res.spec.reforms, res.chosen.key):
            rows.append([o.name, t["in_package"] if on else t["not_in_package"], reform_name(o.reform, lang)])
    return pd.DataFrame(rows, columns=cols)


def _target_text(target: str, share: bool) -> str:
    """``<= 15`` as in the final table, in percent for shares."""
    if not target:
        return ""
    op, _, value = target.partition(" ")
    try:
        v = float(value)
    except ValueError:
        return target
    return f"{op} {100 * v:g}" if share else f"{op} {v:g}"


def final_view(res, lang: str = "en") -> pd.DataFrame:
    """The chosen design on fresh replications: KPI, scope, target, mean, 95% CI, unit, replications, met.

    Numbers are formatted as on the command line (three significant digits,
    shares in percent with one decimal).
    """
    from ..terminal import decimals, interval, is_share, num, unit_text

    t = texts(lang)
    cols = [t["col_kpi"], t["col_scope"], t["col_target"], t["col_mean"], t["col_ci"], t["col_unit"], t["col_n"], t["col_met"]]
    met = {"yes": t["met_yes"], "no": t["met_no"], "within noise": t["met_noise"]}
    rows = []
    for d in res.final.to_dict("records"):
        k = KPIS.get(d["kpi"])
        unit = k.unit if k else ""
        vals = [float(d["mean"]), float(d["ci_low"]), float(d["ci_high"])]
        if is_share(unit):
            vals, dec = [100 * v for v in vals], 1
        else:
            dec = decimals(vals)
        rows.append([kpi_label(d["kpi"], lang), scope_label(d["scope"], lang), _target_text(str(d["target"]), is_share(unit)),
                     num(vals[0], dec), interval(vals[1], vals[2], dec),
                     _UNITS_ZH.get(unit, unit) if lang == "zh" else unit_text(unit), int(d["n"]), met.get(d["met"], "")])
    return pd.DataFrame(rows, columns=cols)


def decisions_view(res, lang: str = "en") -> pd.DataFrame:
    """How many designs met were feasible, infeasible, undecided or other (skipped, pilot ...)."""
    from ..charts.pareto import decision_group

    t = texts(lang)
    groups = [decision_group(d) for d in res.candidates["decision"]] if len(res.candidates) else []
    rows = [[t[f"decision_{g}"], groups.count(g)] for g in ("feasible", "infeasible", "undecided", "other") if g in groups]
    return pd.DataFrame(rows, columns=[t["col_decision"], t["col_designs"]])


def statement(res, lang: str = "en") -> str:
    """The confidence statement in ``lang`` (the optimiser writes one in English and one in Chinese)."""
    return res.statement_zh if lang == "zh" else res.statement_en


def _thresholds(res) -> dict[str, float]:
    return {t.kpi: t.threshold for t in res.spec.targets if t.scope == res.spec.pareto_scope}


def pareto_png(res, lang: str = "en", dpi: float = 150) -> bytes | None:
    """The Pareto chart of the command line (bundled CJK font) as PNG bytes; None if no design has an estimate."""
    import io

    from ..charts import pareto_chart
    from ..charts.style import style

    if not len(res.candidates):
        return None
    try:
        fig = pareto_chart(res.candidates, list(res.spec.pareto), lang=lang, thresholds=_thresholds(res))
    except ValueError:  # no design with both a cost and an estimate
        return None
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def downloads(res) -> dict[str, bytes]:
    """The files ``approval-sim optimise --out`` writes (charts aside): best_scenario.yaml, candidates.csv ...

    Written by the command line's own writer into a temporary folder and read
    back, so the page offers the same files.
    """
    from ..export import write_optimisation

    with tempfile.TemporaryDirectory(prefix="approval-sim-optimise-out-") as folder:
        out = Path(folder) / "out"
        write_optimisation(res, out, charts=False)
        return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


# -- the bundled font for the section's own words -----------------------------------------------------------
FONT_FAMILY = "approval-sim Sans SC optimisation"


def section_chars(*more: str) -> str:
    """Every non-ASCII character the section may show: its labels, KPI and reform names, and ``more``, sorted."""
    from ..reforms import REFORMS

    pool = [v[1] for v in TEXT.values()] + [k.zh for k in KPIS.values()] + [r.zh for r in REFORMS.values()]
    pool += list(_UNITS_ZH.values()) + list(more)
    return "".join(sorted({c for s in pool for c in str(s) if ord(c) > 0x7E}))


@functools.lru_cache(maxsize=16)
def section_css(chars: str, container: str = "opt.section") -> str:
    """A style block giving the section (the container keyed ``container``) the bundled font cut down to ``chars``.

    The page's own style block covers its own words; this one adds the
    section's, and the cells of ``st.table`` tables.
    """
    import re

    from ..charts._html import CSS_FAMILY, font_face

    face = font_face(set(chars)).replace(f'"{CSS_FAMILY}"', f'"{FONT_FAMILY}"', 1)
    cls = ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", container.strip())
    family = f'"{FONT_FAMILY}", "{CSS_FAMILY}", "Source Sans Pro", sans-serif'
    targets = ", ".join(f"{cls} {s}" for s in ("h1", "h2", "h3", "h4", "p", "li", "label", "td", "th", ".stMarkdown",
                                                "[data-testid='stWidgetLabel']", "[data-testid='stCaptionContainer']",
                                                "[data-baseweb='select'] span", "button p"))
    return f"<style>{face}\n{targets} {{ font-family: {family} !important; }}</style>"
