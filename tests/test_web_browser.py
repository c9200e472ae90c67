"""The page in a real browser: Debian's Chromium driven by Playwright loads it, runs a small comparison,
saves a screenshot, and Chinese renders as glyphs from the bundled font (checked by pixels).

Tofu (the empty box a browser draws for a character no font covers) looks the
same for every character, so the title's eight characters must each leave ink
and differ from one another; and the title must be drawn with the page's own
font face, not a system font.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")

TITLE_ZH = "审批流程再造仿真"
ASSIGN = "{veterans: hrss_window, disabled: civil_window, archives: civil_window, health: medins_window, forestry: property_window}"


@pytest.fixture(scope="module")
def server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).parent / "approval-sim"
    proc = subprocess.Popen([str(exe), "web", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cells(png: bytes, n: int) -> list[np.ndarray]:
    import io

    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png))[..., :3].mean(axis=2)
    ink = img < 0.5
    cols = np.flatnonzero(ink.any(axis=0))
    ink = ink[:, cols[0]:cols[-1] + 1]
    width = ink.shape[1] / n
    return [ink[:, int(round(i * width)):int(round((i + 1) * width))] for i in range(n)]


def test_the_page_runs_a_comparison_in_chromium_and_draws_chinese_glyphs(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server, timeout=60_000)
        page.wait_for_selector("h1", timeout=60_000)
        page.get_by_text("中文", exact=True).click()
        page.wait_for_function(f"document.querySelector('h1') && document.querySelector('h1').innerText.includes('{TITLE_ZH}')",
                               timeout=60_000)
        # the planner's comparison: cross-authorisation (with its assignment) then one-window acceptance on the
        # Yumen citizen centre, the page's default replications
        reforms = page.locator(".st-key-reforms [role=combobox]")
        for name in ("cross_authorisation", "one_window"):
            reforms.click()
            page.keyboard.type(name)
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
        page.get_by_text("cross_authorisation.assign: required").wait_for(timeout=60_000)  # the form says what is missing
        assign = page.locator("[class*='st-key-cross_authorisation'][class*='assign'] input")
        assign.fill(ASSIGN)
        assign.press("Enter")
        page.get_by_role("button", name="运行对比").click()
        page.get_by_text("已办结案件的办理时长:改革前后").first.wait_for(timeout=300_000)
        shot = Path(os.environ.get("APPROVAL_SIM_SCREENSHOT", tmp_path / "page.png"))
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000

        # the planner downloads the chart with Chinese labels and the HTML report
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="下载(PNG): 已办结案件的办理时长:改革前后").click()
        chart = tmp_path / "chart.png"
        dl.value.save_as(chart)
        page.get_by_role("button", name="生成HTML报告").click()
        report_button = page.get_by_role("button", name="下载HTML报告")
        report_button.wait_for(timeout=300_000)
        with page.expect_download(timeout=60_000) as dl:
            report_button.click()
        report = tmp_path / "report.html"
        dl.value.save_as(report)
        # back to English: the reforms chosen stay chosen, so the finished comparison is shown again at once
        page.get_by_text("English", exact=True).click()
        page.get_by_text("Lead time of completed cases, base and reformed").first.wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Run the comparison").is_visible()
        page.get_by_text("中文", exact=True).click()
        page.get_by_text(TITLE_ZH).first.wait_for(timeout=30_000)

        # the page's style block arrives with its first element; wait for it to reach the title, then check
        uses_ours = "getComputedStyle(document.querySelector('h1')).fontFamily.startsWith('\"approval-sim Sans SC\"')"
        try:
            page.wait_for_function(uses_ours, timeout=30_000)
        except playwright.TimeoutError:
            styles = page.evaluate("[...document.querySelectorAll('style')].filter(s => s.textContent.includes('approval-sim Sans SC')).length")
            family = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
            pytest.fail(f"the title is drawn in {family}; style blocks with the bundled face: {styles}")
        loaded = "[...document.fonts].some(f => f.family.replace(/\"/g, '') === 'approval-sim Sans SC' && f.status === 'loaded')"
        assert page.evaluate(loaded)  # the bundled face was loaded (a system font would not be)
        rect = page.evaluate("""() => {
            const h = document.querySelector('h1');
            h.scrollIntoView({block: 'center'});
            const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
            let node; while ((node = walker.nextNode())) { if (node.textContent.includes('审')) break; }
            const r = document.createRange(); r.selectNodeContents(node); const b = r.getBoundingClientRect();
            return {x: b.x, y: b.y, width: b.width, height: b.height};
        }""")
        title_png = page.screenshot(clip=rect)

        # the report opens offline with its own embedded face
        page.goto(report.as_uri())
        page.wait_for_function("document.fonts.status === 'loaded'", timeout=30_000)
        assert page.evaluate(loaded)  # the report's @font-face (the same family name) is loaded from the file itself
        browser.close()
    text = report.read_text(encoding="utf-8")
    assert "one_window" in text and "cross_authorisation" in text and "改革" in text
    assert text.count("data:image/png;base64,") >= 2 * 4  # every chart in both languages

    # the downloaded chart is the page's chart of this comparison, in Chinese, with the bundled font
    from sim import load_scenario
    from sim.compare import compare
    from sim.reforms import apply_reform
    from sim.web.results import charts, png

    base = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "yumen_citizen_centre_before.yaml")
    import yaml

    after = apply_reform(apply_reform(base, "cross_authorisation", assign=yaml.safe_load(ASSIGN)), "one_window")
    results, _ = compare([base, after], 5, base.run.seed, workers=2)
    assert chart.read_bytes() == png(charts(results)[0].draw(lang="zh"))
    cells = _cells(title_png, len(TITLE_ZH))
    assert all(c.mean() > 0.03 for c in cells)  # every character leaves ink
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            a, b = cells[i], cells[j]
            w = min(a.shape[1], b.shape[1])
            assert (a[:, :w] != b[:, :w]).mean() > 0.02, (TITLE_ZH[i], TITLE_ZH[j])  # not the same box twice
