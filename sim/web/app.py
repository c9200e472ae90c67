"""The planners' page (Streamlit): pick or upload a scenario, edit its numbers, switch reforms on, compare, judge, optimise.

Run with ``approval-sim web``.  The logic lives in :mod:`sim.web.page`,
:mod:`sim.web.editor`, :mod:`sim.web.results`, :mod:`sim.web.verdict` and
:mod:`sim.web.optimisation`; the background runs in :mod:`sim.web.jobs`.
This script only lays them out.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from sim.charts.labels import reform_name
from sim.errors import ScenarioError
from sim.loading import load_scenario
from sim.reforms import REFORMS
from sim.web import optimise_tab
from sim.web.editor import apply_edits, entries, problems_by_field, scenario_yaml, value_text
from sim.web.jobs import JobStore, job_key
from sim.web.page import (SECTIONS, TEXT, comparison_view, font_css, load_upload, page_chars, parse_params, reform_fields,
                          reformed, reformed_file, shipped_scenarios)
from sim.web.results import (attribution_call, attribution_key, bottlenecks_call, bottlenecks_key, charts, kpi_choices, png,
                             report_html)
from sim.web.verdict import Target, verdict_call, verdict_key, verdict_table, verdict_words


@st.cache_data(max_entries=32)
def _font_css(chars: str) -> str:
    return font_css(chars)


@st.cache_resource
def _store() -> JobStore:  # one per server: every visitor and every rerun sees the same jobs
    return JobStore()


def _problems(t, exc: ScenarioError) -> None:
    st.error(f"{t['bad']}:\n\n" + "\n".join(f"- {line}" for line in str(exc).splitlines()))


def _wait(job, t) -> bool:
    """True when the job is finished; else show its progress and rerun in a second."""
    if job.finished:
        return True
    st.progress(min(1.0, job.done / max(1, job.total)), text=f"{t['running']}: {job.done} / {job.total}")
    st.session_state["_poll"] = True  # the page reruns once drawn (main), so other parts still show meanwhile
    return False


def _result(job, t):
    """The job's result, or None after showing why it failed (no traceback on the page)."""
    try:
        return job.result()
    except Exception as exc:  # noqa: BLE001 - the page shows any failure and stays usable
        st.error(f"{t['bad']}: {exc}")
        return None


def _scenario(t):
    """(base scenario, how the reformed file names it), or None after showing the upload's problems."""
    shipped = shipped_scenarios()
    names = [n for n in shipped if not n.endswith("_after")] or list(shipped)
    default = "yumen_citizen_centre_before"
    choice = st.selectbox(t["shipped"], names, index=names.index(default) if default in names else 0, key="scenario")
    upload = st.file_uploader(t["upload"], type=["yaml", "yml"], key="upload")
    try:
        if upload is not None:
            return load_upload(upload.getvalue(), upload.name), upload.name
        return load_scenario(shipped[choice]), shipped[choice].name
    except ScenarioError as exc:
        _problems(t, exc)
        return None


def _editor(base, base_ref: str, t, lang: str):
    """The edited scenario (the base when nothing changed), or None while a changed field has a problem."""
    ident = base.model_hash()[:16]
    edits = st.session_state.setdefault("edits", {}).setdefault(ident, {})
    prefix = f"edit.{ident}."
    ents = entries(base)
    try:
        edited, exc = apply_edits(base, edits, source=base_ref), None
    except ScenarioError as e:
        edited, exc = None, e
    label = t["edit"] + (f" ({len(edits)})" if edits else "")
    with st.expander(label, expanded=exc is not None):
        sections = list(dict.fromkeys(e.collection for e in ents))
        section = st.selectbox(t["edit_section"], sections, key="edit.section",
                               format_func=lambda s: f"{SECTIONS[s][1]} / {SECTIONS[s][0]} ({s})" if s in SECTIONS else s)
        mine = [e for e in ents if e.collection == section]
        k = 0
        if len(mine) > 1:
            k = st.selectbox(t["edit_entry"], range(len(mine)), format_func=lambda j: mine[j].title, key=f"edit.entry.{section}")
        entry = mine[k]
        shown = list(entry.fields)
        beside, rest = problems_by_field(exc, [f for e in ents for f in e.fields]) if exc else ({}, [])

        def keep(f, wkey):
            def changed():
                v = st.session_state[wkey]
                original = f.value if f.kind in ("flag", "choice") else value_text(f.value)
                if v == original:
                    edits.pop(f.path, None)
                else:
                    edits[f.path] = v
            return changed

        cols = st.columns(3)
        for n, f in enumerate(shown):
            wkey = prefix + f.key
            current = edits.get(f.path, f.value if f.kind in ("flag", "choice") else value_text(f.value))
            with cols[n % 3]:
                if f.kind == "flag":
                    st.checkbox(f.label, value=bool(current), key=wkey, help=f.description or None, on_change=keep(f, wkey))
                elif f.kind == "choice":
                    st.selectbox(f.label, f.choices, index=f.choices.index(current) if current in f.choices else 0,
                                 key=wkey, help=f.description or None, on_change=keep(f, wkey))
                else:
                    st.text_input(f.label + (" (optional)" if f.optional else ""), value=str(current), key=wkey,
                                  help=f.description or None, on_change=keep(f, wkey))
                for msg in beside.get(f.key, []):
                    st.error(f"{f.key}: {msg}")
        elsewhere = [(key, m) for key, ms in beside.items() if key not in {f.key for f in shown} for m in ms]
        elsewhere += [(p.path, p.message) for p in rest]
        if elsewhere:
            st.error(f"{t['edit_other']}:\n\n" + "\n".join(f"- {key}: {m}" for key, m in elsewhere))
        if edits:
            from sim.errors import format_path

            st.caption(f"{t['edits']}: " + "; ".join(f"{format_path(p)} = {v}" for p, v in edits.items()))

            def reset():
                edits.clear()
                for key in [key for key in st.session_state if str(key).startswith(prefix)]:
                    del st.session_state[key]

            st.button(t["edit_reset"], on_click=reset, key="edit.reset")
        if edited is not None and edits:
            st.download_button(t["download_edited"], scenario_yaml(edited), file_name=f"{base_ref.rsplit('.', 1)[0]}_edited.yaml",
                               key="edit.download")
    if exc is not None:
        st.error(t["edit_bad"])
        return None, edits
    return edited, edits


def _reforms(base, base_ref: str, edits: dict, t, lang: str):
    """(plan, reformed scenario), or None after showing a reform's problems."""
    # options are labelled in both languages whatever the page's language: Streamlit keeps a choice by its label,
    # so a label that changed with the language would drop the choice when the language is switched
    chosen = st.multiselect(t["reforms"], list(REFORMS), format_func=lambda r: f"{reform_name(r, 'zh')} / {reform_name(r, 'en')} ({r})",
                            label_visibility="collapsed", key="reforms")
    plan_texts = {}
    for r in chosen:
        with st.expander(f"{t['params']} {reform_name(r, lang)} ({r})", expanded=True):
            plan_texts[r] = {key: st.text_input(f"{key}{' *' if required else ''}", value=default, help=desc, key=f"{r}.{key}")
                             for key, default, desc, required in reform_fields(r)}
    try:
        plan = [(r, parse_params(r, plan_texts[r])) for r in chosen]
        after = reformed(base, plan)
    except ScenarioError as exc:
        _problems(t, exc)
        return None
    ref = f"{base_ref.rsplit('.', 1)[0]}_edited.yaml" if edits else base_ref
    st.download_button(t["download_file"], reformed_file(ref, plan, f"{base.name} + {len(plan)} reforms"),
                       file_name="reformed.yaml", key="reformed.download")
    if edits:
        st.caption(t["edited_note"])
    return plan, after


def _charts(job, results, attribution, lang: str, t) -> None:
    st.subheader(t["charts"])
    for c in charts(results, attribution):
        cache_key = ("png", c.stem, lang, attribution is not None)
        if cache_key not in job.extras:
            job.extras[cache_key] = png(c.draw(lang=lang))
        data = job.extras[cache_key]
        st.markdown(f"**{c.title(lang)}**")
        st.image(data)
        st.download_button(f"{t['download_png']}: {c.title(lang)}", data, file_name=f"{c.stem}_{lang}.png", mime="image/png",
                           key=f"png.{c.stem}")


def _verdict(store, after, table, reps: int, seed: int, workers: int, t, lang: str):
    """The target section; returns (verdict table, text) for the report once judged, else (None, None)."""
    st.subheader(t["verdict"])
    kpis = kpi_choices(table)
    from sim.kpis import KPIS

    c1, c2, c3 = st.columns([3, 1, 1])
    kpi = c1.selectbox(t["verdict_kpi"], kpis, key="verdict.kpi",
                       format_func=lambda k: f"{KPIS[k].zh} / {KPIS[k].en} ({k})")
    direction = c2.radio(t["verdict_dir"], ["<=", ">="], key="verdict.dir", horizontal=True,
                         format_func=lambda d: " / ".join(TEXT["at_most" if d == "<=" else "at_least"][::-1]))
    value = c3.number_input(t["verdict_value"], value=None, key="verdict.value", format="%g")
    st.caption(t["verdict_note"])
    if value is None:
        return None, None
    target = Target(kpi, direction, float(value))
    key = verdict_key(after, target, reps, seed)
    if st.button(t["verdict_run"], key="verdict.run"):
        store.run(key, 0, verdict_call(after, target, reps, seed, workers))
    job = store.get(key)
    if job is None or not _wait(job, t):
        return None, None
    got = _result(job, t)
    if got is None:
        return None, None
    verdict, deciding, estimates = got
    name, meaning = verdict_words(verdict, lang)
    own = table[(table["index"] == 1) & (table["scope"] == "all") & (table["kpi"] == kpi)].iloc[0]
    st.markdown(f"**{target.text(lang)}: {name}** (`{verdict}`)\n\n{meaning}\n\n{deciding}")
    st.caption(f"{t['as_it_stands']}: {own['mean']:.4g} [{own['ci_low']:.4g}; {own['ci_high']:.4g}]")
    st.table(estimates)
    return verdict_table(target, verdict, deciding, estimates), f"{target.text('en')} / {target.text('zh')}: {verdict} ({deciding})"


def _on_demand(store, key: tuple, total: int, call, button: str, name: str, heading: str, columns: list[str], t):
    """A table computed in the background when its button is pressed: shown with its download, and returned."""
    if st.button(button, key=f"{name}.run"):
        store.run(key, total, call)
    job = store.get(key)
    if job is None or not _wait(job, t):
        return None
    table = _result(job, t)
    if table is not None:
        st.subheader(heading)
        st.table(table[columns])
        st.download_button(t["download_table"], table.to_csv(index=False), file_name=f"{name}.csv", key=f"{name}.download")
    return table


def _attribution(store, base, plan, reps: int, seed: int, workers: int, t):
    if len(plan) < 2:
        return None
    kpi = "lead_time_working_days_mean"
    return _on_demand(store, attribution_key(base, plan, kpi, reps, seed), 0, attribution_call(base, plan, kpi, reps, seed, workers),
                      t["attribute"], "attribution", t["attribution"], ["kpi", "reform", "shapley_mean", "ci_low", "ci_high"], t)


def _bottlenecks(store, base, after, reps: int, seed: int, t):
    return _on_demand(store, bottlenecks_key(base, after, reps, seed), 2 * reps, bottlenecks_call(base, after, reps, seed),
                      t["bottlenecks"], "bottlenecks", t["bottlenecks_head"],
                      ["category", "category_zh", "working_minutes_per_case_base", "working_minutes_per_case_reformed",
                       "change_minutes", "share_base", "share_reformed"], t)


def _compare(store, base, base_ref: str, edits: dict, t, lang: str) -> None:
    st.header(t["reforms"])
    got = _reforms(base, base_ref, edits, t, lang)
    if got is None:
        return
    plan, after = got
    c1, c2, c3 = st.columns(3)
    reps = int(c1.number_input(t["reps"], min_value=2, max_value=200, value=5, key="reps"))
    seed = int(c2.number_input(t["seed"], min_value=0, value=int(base.run.seed), key="seed"))
    cores = os.cpu_count() or 1
    workers = int(c3.number_input(t["workers"], min_value=1, max_value=max(1, cores), value=min(2, cores), key="workers"))
    if st.button(t["run"], type="primary", key="run"):
        store.submit(base, after, reps, seed, workers)
    job = store.get(job_key(base, after, reps, seed))
    if job is None or not _wait(job, t):
        return
    got = _result(job, t)
    if got is None:
        return
    results, table = got
    st.subheader(t["results"])
    st.table(comparison_view(table, lang))
    st.download_button(t["download_table"], table.to_csv(index=False), file_name="comparison.csv", key="table.download")
    attribution = _attribution(store, base, plan, reps, seed, workers, t)
    bottlenecks = _bottlenecks(store, base, after, reps, seed, t)
    _charts(job, results, attribution, lang, t)
    verdict, verdict_text = _verdict(store, after, table, reps, seed, workers, t, lang)
    report_key = ("report", attribution is not None, bottlenecks is not None, verdict_text)
    if st.button(t["report"], key="report.build") and report_key not in job.extras:
        job.extras[report_key] = report_html(results, table, base_ref, plan, edits={str(k): v for k, v in edits.items()},
                                             attribution=attribution, bottlenecks=bottlenecks, verdict=verdict,
                                             verdict_text=verdict_text)
    if report_key in job.extras:
        st.download_button(t["download_report"], job.extras[report_key], file_name="report.html", mime="text/html",
                           key="report.download")


def main() -> None:
    st.set_page_config(page_title="approval-sim", layout="wide")
    lang = st.sidebar.radio("Language / 语言", ["en", "zh"], format_func=lambda x: {"en": "English", "zh": "中文"}[x], key="lang")
    t = {k: v[1] if lang == "zh" else v[0] for k, v in TEXT.items()}
    st.markdown(_font_css(page_chars(*(p.stem for p in shipped_scenarios().values()))), unsafe_allow_html=True)
    st.title(t["title"])

    st.header(t["scenario"])
    got = _scenario(t)
    if got is None:
        return
    base, base_ref = got
    st.markdown(_font_css(page_chars(base.name, base.description)), unsafe_allow_html=True)  # the file's own words
    st.caption(base.name)
    edited, edits = _editor(base, base_ref, t, lang)
    if edited is None:
        return
    store = _store()
    compare_tab, optimise = st.tabs([t["tab_compare"], t["tab_optimise"]])
    with compare_tab:
        _compare(store, edited, base_ref, edits, t, lang)
    with optimise:
        optimise_tab.render(lang, store, edited, base_ref)
    if st.session_state.pop("_poll", False):  # something runs in the background: look again in a second
        time.sleep(1.0)
        st.rerun()


main()
