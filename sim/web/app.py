"""The planners' page (Streamlit): pick or upload a scenario, switch reforms on, compare, download.

Run with ``approval-sim web``.  The logic lives in :mod:`sim.web.page` and
the background runs in :mod:`sim.web.jobs`; this script only lays them out.
"""

from __future__ import annotations

import time

import streamlit as st

from sim.charts.labels import reform_name
from sim.errors import ScenarioError
from sim.loading import load_scenario
from sim.reforms import REFORMS
from sim.web.jobs import JobStore
from sim.web.page import (TEXT, comparison_view, distribution_png, font_css, page_chars, load_upload, parse_params, reform_fields, reformed, reformed_file,
                          shipped_scenarios)


@st.cache_data(max_entries=32)
def _font_css(chars: str) -> str:
    return font_css(chars)


@st.cache_resource
def _store() -> JobStore:  # one per server: every visitor and every rerun sees the same jobs
    return JobStore()


def main() -> None:
    st.set_page_config(page_title="approval-sim", layout="wide")
    lang = st.sidebar.radio("Language / 语言", ["en", "zh"], format_func=lambda x: {"en": "English", "zh": "中文"}[x], key="lang")
    t = {k: v[1] if lang == "zh" else v[0] for k, v in TEXT.items()}
    st.markdown(_font_css(page_chars(*(p.stem for p in shipped_scenarios().values()))), unsafe_allow_html=True)
    st.title(t["title"])

    st.header(t["scenario"])
    shipped = shipped_scenarios()
    names = [n for n in shipped if not n.endswith("_after")] or list(shipped)
    choice = st.selectbox(t["shipped"], names, index=names.index("yumen_citizen_centre_before") if "yumen_citizen_centre_before" in names else 0,
                          key="scenario")
    upload = st.file_uploader(t["upload"], type=["yaml", "yml"], key="upload")
    try:
        if upload is not None:
            base, base_ref = load_upload(upload.getvalue(), upload.name), upload.name
        else:
            base, base_ref = load_scenario(shipped[choice]), f"{shipped[choice].name}"
    except ScenarioError as exc:
        st.error(f"{t['bad']}:\n\n" + "\n".join(f"- {line}" for line in str(exc).splitlines()))
        return
    st.markdown(_font_css(page_chars(base.name, base.description)), unsafe_allow_html=True)  # the file's own words
    st.caption(base.name)

    st.header(t["reforms"])
    chosen = st.multiselect(t["reforms"], list(REFORMS), format_func=lambda r: f"{reform_name(r, lang)} ({r})",
                            label_visibility="collapsed", key="reforms")
    plan_texts = {}
    for r in chosen:
        with st.expander(f"{t['params']} {reform_name(r, lang)}"):
            texts = {}
            for key, default, desc, required in reform_fields(r):
                texts[key] = st.text_input(f"{key}{' *' if required else ''}", value=default, help=desc, key=f"{r}.{key}")
            plan_texts[r] = texts
    try:
        plan = [(r, parse_params(r, plan_texts[r])) for r in chosen]
        after = reformed(base, plan)
    except ScenarioError as exc:
        st.error(f"{t['bad']}:\n\n" + "\n".join(f"- {line}" for line in str(exc).splitlines()))
        return
    st.download_button(t["download_file"], reformed_file(base_ref, plan, f"{base.name} + {len(plan)} reforms"),
                       file_name="reformed.yaml")

    c1, c2 = st.columns(2)
    reps = c1.number_input(t["reps"], min_value=2, max_value=200, value=5, key="reps")
    seed = c2.number_input(t["seed"], min_value=0, value=int(base.run.seed), key="seed")
    store = _store()
    if st.button(t["run"], type="primary", key="run"):
        store.submit(base, after, int(reps), int(seed))
    from sim.web.jobs import job_key

    job = store.get(job_key(base, after, int(reps), int(seed)))
    if job is None:
        return
    if not job.finished:
        st.progress(job.done / max(1, job.total), text=f"{t['running']}: {job.done} / {job.total}")
        time.sleep(1.0)
        st.rerun()
    try:
        results, table = job.result()
    except Exception as exc:  # the run failed: say why on the page, keep the page usable
        st.error(f"{t['bad']}: {exc}")
        return
    st.subheader(t["results"])
    view = comparison_view(table, lang)
    st.dataframe(view, hide_index=True)
    st.download_button(t["download_table"], table.to_csv(index=False), file_name="comparison.csv")
    st.subheader(t["chart"])
    png = distribution_png(results, lang)
    st.image(png)
    st.download_button(t["download_chart"], png, file_name=f"lead_time_{lang}.png", mime="image/png", key="chart_png")


main()
