"""The planners' page: its logic (forms, reformed files, tables, background jobs) and the page itself, headless.

The page is driven with Streamlit's own test harness (``AppTest``): load the
Yumen citizen centre, switch on one-window acceptance and cross-authorisation,
run the comparison, read the table.  Bad input shows the message and leaves
finished work alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from sim import ScenarioError, load_scenario  # noqa: E402
from sim.compare import compare  # noqa: E402
from sim.reforms import apply_reform  # noqa: E402
from sim.web.jobs import JobStore  # noqa: E402
from sim.web.page import comparison_view, distribution_png, load_upload, parse_params, reform_fields, reformed, reformed_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "sim" / "web" / "app.py")
YUMEN = ROOT / "scenarios" / "yumen_citizen_centre_before.yaml"
ASSIGN = "{veterans: hrss_window, disabled: civil_window, archives: civil_window, health: medins_window, forestry: property_window}"


def _short(s):
    return s.evolve(run={**s.run.model_dump(), "horizon_working_days": 5.0, "warmup_working_days": 1.0})


def test_reform_forms_come_from_the_catalogue_and_parse_yaml_values():
    fields = {f[0]: f for f in reform_fields("cross_authorisation")}
    assert fields["assign"][3] is True and fields["assign"][1] == ""  # required, no default
    assert fields["decision_minutes"][1] == "10.0" and fields["decide_at_window"][1] == "true"
    assert parse_params("cross_authorisation", {"assign": ASSIGN, "decision_minutes": "12"}) == {
        "assign": yaml.safe_load(ASSIGN), "decision_minutes": 12}
    with pytest.raises(ScenarioError, match="cross_authorisation.assign: required"):
        parse_params("cross_authorisation", {"assign": "  "})
    with pytest.raises(ScenarioError, match="not a YAML value"):
        parse_params("one_window", {"windows": "[unclosed"})


def test_a_reformed_file_from_the_page_loads_back_to_the_same_scenario(tmp_path):
    base = load_scenario(YUMEN)
    # cross-authorisation first: one-window acceptance pools the window groups it assigns to
    plan = [("cross_authorisation", parse_params("cross_authorisation", {"assign": ASSIGN})), ("one_window", {})]
    after = reformed(base, plan)
    f = tmp_path / "reformed.yaml"
    (tmp_path / YUMEN.name).write_text(YUMEN.read_text(encoding="utf-8"), encoding="utf-8")
    f.write_text(reformed_file(YUMEN.name, plan, "page test"), encoding="utf-8")
    again = load_scenario(f)
    assert again.model_hash() == after.model_hash()
    expected = apply_reform(apply_reform(base, "cross_authorisation", assign=yaml.safe_load(ASSIGN)), "one_window")
    assert after.model_hash() == expected.model_hash()


def test_a_broken_upload_is_a_message_naming_the_line():
    with pytest.raises(ScenarioError) as info:
        load_upload(b"name: x\nsites: [\n", "mine.yaml")
    assert "mine.yaml" in str(info.value)
    with pytest.raises(ScenarioError, match="positions"):
        text = YUMEN.read_text(encoding="utf-8").replace("positions: 4,", "positions: -4,", 1)
        load_upload(text.encode("utf-8"), "negative.yaml")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_upload(b"\xff\xfe", "binary.yaml")


def test_background_jobs_are_kept_by_what_they_compute_and_equal_a_plain_comparison():
    base = _short(load_scenario(YUMEN))
    after = reformed(base, [("one_window", {})])
    store = JobStore(threads=1)
    job = store.submit(base, after, 2, 7)
    assert store.submit(base, after, 2, 7) is job  # a second visitor or a rerun finds the same job
    _, table = job.future.result(timeout=300)
    _, plain = compare([base, after], 2, 7)
    pd.testing.assert_frame_equal(table, plain)
    assert job.done == job.total == 4
    view = comparison_view(table, "zh")
    assert list(view.columns)[:3] == ["指标", "改革前", "改革后"] and "平均办理时长(工作日)" in " ".join(view["指标"])
    # the chart the page shows and offers for download: a PNG, drawn, different in the two languages
    import io

    import matplotlib.image as mpimg

    results = job.future.result()[0]
    zh, en = distribution_png(results, "zh"), distribution_png(results, "en")
    assert zh[:8] == b"\x89PNG\r\n\x1a\n" and zh != en
    img = mpimg.imread(io.BytesIO(zh))
    assert (img[..., :3].mean(axis=2) < 0.9).mean() > 0.01  # ink, not a blank canvas


def test_the_page_loads_yumen_edits_it_switches_reforms_on_and_shows_the_comparison():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="scenario").value == "yumen_citizen_centre_before"
    # the editor: a negative staff count is shown beside its field, in the command line's words; nothing runs
    at.selectbox(key="edit.section").set_value("departments").run()
    staff = [w.key for w in at.text_input if ".staff." in w.key]
    assert staff and all(w.label.startswith("staff.") for w in at.text_input if w.key in staff)
    at.text_input(key=staff[0]).input("-2").run()
    assert any("must be greater than or equal to 1 (got -2)" in e.value for e in at.error)
    assert not at.tabs and not at.multiselect  # no reforms, no run until it is fixed
    at.text_input(key=staff[0]).input("5").run()
    assert not at.error and "= 5" in " ".join(c.value for c in at.caption)  # the edit is listed
    at.multiselect(key="reforms").set_value(["cross_authorisation", "one_window"]).run()
    assert at.error  # cross-authorisation needs its assignment: the message is shown, nothing runs
    assert "cross_authorisation.assign: required" in at.error[0].value
    at.text_input(key="cross_authorisation.assign").input(ASSIGN).run()
    assert not at.error
    at.number_input(key="reps").set_value(2).run()
    at.button(key="run").click().run(timeout=600)  # the page reruns itself until the background job is done
    assert not at.exception and not at.error
    table = at.table[0].value
    assert "lead_time_working_days_mean" in " ".join(table.iloc[:, 0]) and len(table) > 10
    heads = [h.value for h in at.subheader]
    assert "Charts" in heads and "Does the reformed scenario reach a target?" in heads
    downloads = [d.proto.label for d in at.get("download_button")]
    assert "Download (PNG): Lead time of completed cases, base and reformed" in downloads
    assert "Download the edited scenario (YAML)" in downloads and "Download the reformed file (YAML)" in downloads
    at.button(key="bottlenecks.run").click().run(timeout=600)
    assert "Working minutes per completed case on its critical path" in [h.value for h in at.subheader]
    where = at.table[1].value
    assert where["category"].iloc[-1] == "total" and (where["working_minutes_per_case_base"] >= 0).all()
    at.button(key="report.build").click().run(timeout=300)
    assert "Download the HTML report" in [d.proto.label for d in at.get("download_button")]
    at.sidebar.radio[0].set_value("zh").run(timeout=60)
    assert at.title[0].value == "审批流程再造仿真"
    assert list(at.table[0].value.columns)[:3] == ["指标", "改革前", "改革后"]  # the finished job, not a new run
    assert "下载HTML报告" in [d.proto.label for d in at.get("download_button")]  # the report (both languages) is kept
    assert "图表" in [h.value for h in at.subheader]


def test_approval_sim_web_serves_the_page_on_this_machine():
    """The command starts the server on the given port, bound to 127.0.0.1; the page's health check answers."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).parent / "approval-sim"
    proc = subprocess.Popen([str(exe), "web", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert body == "ok"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert f"http://127.0.0.1:{port}" in proc.stderr.read()
