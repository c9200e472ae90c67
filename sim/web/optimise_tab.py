"""The optimisation section of the planners' page (Streamlit): ``render(lang, store, base, base_ref)``.

Run a shipped optimisation spec, or build a staffing spec on the page's
scenario, in the background (:class:`sim.web.jobs.JobStore`), and show the
chosen design, its KPIs on fresh replications, the confidence statement, the
Pareto chart and the command line's files to download.  The logic lives in
:mod:`sim.web.optimisation`; this module only lays it out.  Importing it
draws nothing: the page calls :func:`render` where the section belongs.

Every widget key starts with ``opt.``.  Tables with Chinese text are
``st.table`` (HTML, drawn in the bundled font the section adds for its own
words), never the data grid, whose canvas does not use the page's font.
"""

from __future__ import annotations

import hashlib
import re
import time

import streamlit as st

from ..errors import ScenarioError
from ..kpis import KPIS
from ..scenario import Scenario
from . import optimisation as opt
from . import optimisation_views as ov

__all__ = ["render"]

CONTAINER = "opt.section"


@st.cache_resource(max_entries=8, show_spinner=False)
def _pareto(key: tuple, lang: str, _res) -> bytes | None:  # one chart per finished job and language
    return ov.pareto_png(_res, lang)


@st.cache_resource(max_entries=8, show_spinner=False)
def _files(key: tuple, _res) -> dict[str, bytes]:
    return ov.downloads(_res)


def _md(text: str) -> str:
    """Plain text for ``st.markdown``: no emphasis, links, HTML or math made of it."""
    return re.sub(r"([\\`*_\[\]<>#$|~])", r"\\\1", str(text))


def _problems(st_error, head: str, exc: BaseException) -> None:
    st_error(f"{head}:\n\n" + "\n".join(f"- {_md(line)}" for line in opt.error_lines(exc)))


class _Kept:
    """The section's inputs, kept across a language switch and across runs that do not draw them.

    Streamlit sends a choice back as its label; when the labels change
    language, the browser's labels no longer match and the choice falls back
    to its default.  And a widget not drawn in a run (the form of the other
    source) is forgotten.  So every input is also kept here, and set again
    before its widget is drawn after a language switch or when it comes back.
    """

    KEPT, LANG = "opt.kept", "opt.kept_lang"

    def __init__(self, lang: str):
        state = st.session_state
        self.switched = state.get(self.LANG, lang) != lang
        state[self.LANG] = lang
        self.kept = state.setdefault(self.KEPT, {})

    def __call__(self, draw, label: str, options: list | None = None, *, key: str, default_arg: str, default, **kw):
        """``draw(label[, options], key=key, <default_arg>=default, **kw)``, with the kept value if it was lost."""
        old = self.kept.get(key)
        valid = old is not None and (options is None or all(o in options for o in (old if isinstance(old, list) else [old])))
        if valid and (self.switched or key not in st.session_state):
            st.session_state[key] = old
            if default_arg != "value":
                default = None  # the restored choice stands; no default index or selection beside it
        args = (label,) if options is None else (label, options)
        value = draw(*args, key=key, **{default_arg: default}, **kw)
        self.kept[key] = value
        return value


def render(lang: str, store, base: Scenario, base_ref: str) -> None:
    """Draw the optimisation section for ``base`` (the page's scenario, named ``base_ref``) in ``lang``.

    ``store`` is the page's :class:`~sim.web.jobs.JobStore`: a run is a job
    keyed by what its answer depends on, so a rerun or another visitor finds
    it instead of starting it again.  While it runs the section shows its
    progress and reruns the page every second.
    """
    shown: list[str] = [base.name, base_ref]
    keep = _Kept(lang)
    with st.container(key=CONTAINER):
        again = _section(lang, store, base, base_ref, shown, keep)
        st.markdown(ov.section_css(ov.section_chars(*shown), CONTAINER), unsafe_allow_html=True)
    if again:
        time.sleep(1.0)
        st.rerun()


def _section(lang: str, store, base: Scenario, base_ref: str, shown: list[str], keep: "_Kept") -> bool:
    """The section's widgets and results; True while a job runs (the page should rerun)."""
    t = opt.texts(lang)
    st.header(t["title"])
    st.caption(t["intro"])
    source = keep(st.radio, t["source"], ["build", "shipped"], key="opt.source", default_arg="index", default=0,
                  format_func=lambda x: t[f"source_{x}"], horizontal=True)
    try:
        if source == "shipped":
            make = _shipped_form(t, lang, shown, keep)
        else:
            make = _build_form(t, lang, base, base_ref, shown, keep)
    except ScenarioError as exc:
        _problems(st.error, t["bad"], exc)
        return False
    if make is None:
        return False
    seed_default, seed_key, build = make
    c1, c2 = st.columns(2)
    fast = keep(c1.checkbox, t["fast"], key="opt.fast", default_arg="value", default=True)
    seed = keep(c2.number_input, t["seed"], key=f"opt.seed.{seed_key}", default_arg="value", default=int(seed_default),
                min_value=0, step=1)
    clicked = st.button(t["run"], type="primary", key="opt.run")
    try:
        request = build(int(seed), bool(fast))
    except ScenarioError as exc:
        _problems(st.error, t["bad"], exc)
        return False
    if request.spec.staffing:
        n, m = opt.space_size(request.spec), request.spec.max_designs
        st.caption(t["space_exhaustive"].format(n=f"{n:,}") if n <= m else t["space_local"].format(n=f"{n:,}", m=m))

    job = store.run(request.key, request.total, request.call()) if clicked else store.get(request.key)
    if job is None:
        return False
    if not job.finished:
        total = max(1, int(job.total))
        st.progress(min(1.0, job.done / total), text=t["running"].format(done=job.done, total=total))
        return True
    try:
        res = job.result()
    except Exception as exc:  # the run failed: say why, keep the page usable
        _problems(st.error, t["failed"], exc)
        return False
    _results(t, lang, request.key, res, shown)
    return False


def _shipped_form(t: dict, lang: str, shown: list[str], keep: "_Kept"):
    """Choose a shipped spec; (default seed, seed widget key, request builder), or None if none are shipped."""
    from ..optimise import load_spec

    specs = opt.shipped_specs()
    if not specs:
        st.info(t["spec"] + ": -")
        return None
    name = keep(st.selectbox, t["spec"], list(specs), key="opt.spec", default_arg="index", default=0)
    spec = load_spec(specs[name])
    if spec.description:
        st.caption(spec.description)
        shown.append(spec.description)
    st.markdown(f"**{_md(t['spec_scenario'])}**: {_md(spec.scenario_path().name)}")
    lines = opt.target_lines(spec, lang)
    shown.extend(lines)
    st.markdown(f"**{_md(t['targets'])}**\n\n" + "\n".join(f"- {_md(line)}" for line in lines))
    return spec.seed, f"shipped.{name}", lambda seed, fast: opt.shipped_request(specs[name], seed=seed, fast=fast)


def _build_form(t: dict, lang: str, base: Scenario, base_ref: str, shown: list[str], keep: "_Kept"):
    """A target and the staffing that may change; (default seed, seed widget key, request builder)."""
    fields = opt.staffing_fields(base)
    if not fields:
        st.info(t["variables"] + ": -")
        return None
    by_field = {f.field: f for f in fields}
    shown.extend(f.label(lang) for f in fields)
    # widgets keyed by the scenario's stations: another scenario's stations start a fresh form
    sig = hashlib.sha256("|".join(by_field).encode("utf-8")).hexdigest()[:8]
    scopes = opt.target_scopes(base)
    c1, c2 = st.columns(2)
    scope = keep(c1.selectbox, t["scope"], scopes, key=f"opt.scope.{sig}", default_arg="index", default=0,
                 format_func=lambda s: opt.scope_label(s, lang))
    kpis = opt.scope_kpis(scope)
    kpi = keep(c2.selectbox, t["kpi"], kpis, key=f"opt.kpi.{sig}.{scope.split(':')[0]}", default_arg="index", default=0,
               format_func=lambda k: opt.kpi_label(k, lang))
    side0, threshold0 = opt.default_threshold(kpi)
    c3, c4, c5 = st.columns(3)
    side = keep(c3.radio, t["side"], ["at_most", "at_least"], key=f"opt.side.{kpi}", default_arg="index",
                default=0 if side0 == "at_most" else 1, format_func=lambda s: t[s], horizontal=True)
    share = KPIS[kpi].unit.startswith("share")
    threshold = keep(c4.number_input, t["threshold"], key=f"opt.threshold.{kpi}", default_arg="value",
                     default=float(threshold0), step=0.01 if share else 0.5, format="%g")
    tolerance = keep(c5.number_input, t["tolerance"], key=f"opt.tolerance.{kpi}", default_arg="value", default=None,
                     step=0.005 if share else 0.1, format="%g")
    if share:
        st.caption(t["share_note"])
    first = scopes[0].split(":", 1)[-1]
    default = [f.field for f in fields if f.station == first] or [fields[0].field]
    chosen = keep(st.multiselect, t["variables"], list(by_field), key=f"opt.fields.{sig}", default_arg="default",
                  default=default, format_func=lambda f: f"{by_field[f].label(lang)} ({t['now']} {by_field[f].current})")
    bounds = {}
    for f in chosen:
        cur = by_field[f].current
        a, b = st.columns(2)
        lo = keep(a.number_input, f"{by_field[f].label(lang)}: {t['fewest']}", key=f"opt.min.{f}", default_arg="value",
                  default=1, min_value=0, step=1)
        hi = keep(b.number_input, f"{by_field[f].label(lang)}: {t['most']}", key=f"opt.max.{f}", default_arg="value",
                  default=max(2 * cur, cur + 3), min_value=0, step=1)
        bounds[f] = (int(lo), int(hi))
    cost = keep(st.number_input, t["cost"], key="opt.cost", default_arg="value", default=80_000.0, min_value=0.0,
                step=10_000.0, format="%.0f", help=t["cost_help"])
    st.caption(t["cost_help"])

    def build(seed: int, fast: bool):
        return opt.built_request(base, seed=seed, fast=fast, kpi=kpi, scope=scope, side=side, threshold=threshold,
                                 tolerance=tolerance, bounds=bounds, cost_yuan_per_year=cost,
                                 source=f"optimisation spec on the page ({base_ref})")

    return int(base.run.seed), "build", build


def _results(t: dict, lang: str, key: tuple, res, shown: list[str]) -> None:
    shown.extend([res.statement_zh, res.chosen.label if res.chosen is not None else ""])
    st.subheader(t["chosen"])
    if res.fast:
        st.warning(t["fast_result"])
    if res.chosen is None:
        st.warning(t["none"])
    else:
        st.markdown(f"**{_md(res.chosen.label)}**  \n{_md(ov.cost_text(res, lang))}")
        view = ov.chosen_view(res, lang)
        shown.extend(str(v) for v in view.iloc[:, 2])
        st.table(view, hide_index=True)
    st.caption(t["runs"].format(designs=len(res.candidates), runs=res.runs, final=res.final_runs))
    if len(res.final):
        st.subheader(t["final"])
        st.table(ov.final_view(res, lang), hide_index=True)
    st.subheader(t["statement"])
    st.markdown(_md(ov.statement(res, lang)))
    if res.notes:
        with st.expander(t["notes"]):
            st.markdown("\n".join(f"- {_md(n)}" for n in res.notes))
    if len(res.candidates):
        st.subheader(t["decisions"])
        st.table(ov.decisions_view(res, lang), hide_index=True)
    png = _pareto(key, lang, res)
    if png:
        st.subheader(t["pareto"])
        st.image(png)
        st.download_button(t["download_chart"], png, file_name=f"pareto_{lang}.png", mime="image/png", key="opt.download.chart")
    files = _files(key, res)
    if "best_scenario.yaml" in files:
        st.download_button(t["download_best"], files["best_scenario.yaml"], file_name="best_scenario.yaml",
                           mime="text/yaml", key="opt.download.best")
    st.download_button(t["download_candidates"], files["candidates.csv"], file_name="candidates.csv", mime="text/csv",
                       key="opt.download.candidates")
    st.download_button(t["download_result"], files["result.json"], file_name="result.json", mime="application/json",
                       key="opt.download.result")
