"""The HTML report: one self-contained, escaped file built from a results directory.

A results directory is built by hand in ``tmp_path`` (manifest, claims and
robustness tables, charts in both languages, notes).  The report must be a
single file with no reference to anything outside it (no http links, no
``<link>``, no external scripts), must carry the claims, the charts' bytes
and a font that covers the page's Chinese text, and must escape everything
read from the files.  A directory without a manifest is refused with a
one-line message and exit status 2, and nothing is written there.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re

import pandas as pd
import pytest
from fontTools.ttLib import TTFont

from sim.charts import build_report, save, trips_before_after
from sim.charts.report import ReportInputError
from sim.cli import main

EVIL = "<script>alert('x')</script>"

CLAIMS = pd.DataFrame({
    "claim_id": ["C1", "C2", "C3"],
    "claim": ["企业开办压缩至3个工作日", EVIL, "群众满意度显著提升"],
    "kind": ["limit", "outcome", "not_testable"],
    "claimed": [3.0, 0.9, None],
    "simulated_mean": [2.6, 0.72, None],
    "ci_low": [2.3, 0.70, None],
    "ci_high": [2.9, 0.74, None],
    "unit": ["working days", "share", ""],
    "verdict": ["reproduced", "refuted", "not_testable"],
    "least_favourable": [3.4, 0.6, None],
    "most_favourable": [2.0, 0.93, None],
})

MANIFEST = {
    "experiment": "seed-claims",
    "description": "Claims of the county reform reports / 县级改革报告声明核验",
    "command": "approval-sim experiment seed-claims --fast",
    "package_version": "0.1.0",
    "created": "2026-01-05T10:00:00+08:00",
    "seed": 7,
    "replications": 3,
    "fast": True,
    "scenarios": {"scenarios/county_before_reform.yaml": "3f2a9c"},
    "assumptions": {"gap_share": {"en": "Share of incomplete applications", "zh": "材料不全比例",
                                  "default": 0.2, "low": 0.1, "high": 0.4}},
    "future_key": {"nested": [1, 2]},
}


def cases(trips):
    return pd.DataFrame({"trips": trips})


@pytest.fixture(scope="module")
def chart_files(tmp_path_factory):
    """One chart in both languages, drawn once for the module: {name: bytes}."""
    d = tmp_path_factory.mktemp("charts")
    data = {"before": cases([0, 1, 2, 3]), "after": cases([0, 1, 1, 1])}
    out = {}
    for lang, fmt in (("en", "svg"), ("zh", "png")):
        (path,) = save(trips_before_after(data, lang=lang), d / f"trips.{lang}", formats=(fmt,), dpi=40)
        out[path.name] = path.read_bytes()
    return out


def results_dir(root, chart_files, manifest=MANIFEST):
    d = root / "results"
    (d / "tables").mkdir(parents=True)
    (d / "charts").mkdir()
    if manifest is not None:
        (d / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    CLAIMS.to_csv(d / "tables" / "claims.csv", index=False)
    pd.DataFrame({"assumption": ["gap_share"], "measure_low": [2.1], "measure_high": [3.5]}).to_csv(
        d / "tables" / "robustness.csv", index=False)
    pd.DataFrame({"kpi": ["trips_mean"], "value": [1.25]}).to_csv(d / "tables" / "a_summary.csv", index=False)
    for name, data in chart_files.items():
        (d / "charts" / name).write_bytes(data)
    (d / "charts" / "charts.json").write_text(
        json.dumps([{"file_stem": "trips", "title_en": "Trips per case", "title_zh": "每件跑动次数"}], ensure_ascii=False),
        encoding="utf-8")
    (d / "notes.md").write_text("# Scope\n\nOnly <b>county</b> files.\n\n- first point\n- 第二点\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def built(tmp_path_factory, chart_files):
    """A results directory, its files before the report, and the report built in both languages."""
    d = results_dir(tmp_path_factory.mktemp("built"), chart_files)
    before = snapshot(d)
    path = build_report(d)
    return d, before, path, path.read_text(encoding="utf-8")


def snapshot(d):
    return {p.relative_to(d): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def test_report_is_one_self_contained_file(built):
    d, before, path, page = built
    assert path == d / "report.html"
    after = snapshot(d)
    assert set(after) - set(before) == {path.relative_to(d)}  # nothing else written, no temporary left behind
    assert all(after[k] == v for k, v in before.items())      # and nothing else changed
    for ref in ('src="http', "src='http", 'href="http', "href='http", "<link", "<script src", "url(http", "@import"):
        assert ref not in page, ref
    assert "<script" not in page  # the page runs no scripts at all


def test_report_carries_claims_first_and_escapes_file_text(built):
    page = built[3]
    body = page[page.index("<body>"):]
    # every claim row, with its verdict cell coloured
    for cid, text in zip(CLAIMS["claim_id"], ["企业开办压缩至3个工作日", "&lt;script&gt;", "群众满意度显著提升"]):
        assert re.search(rf"<tr><td>{cid}</td><td>{re.escape(text)}", body), cid
    assert re.search(r'<td class="verdict" style="background:#D55E00;color:white">Refuted / 不成立</td>', body)
    # the malicious cell is text, never markup
    assert EVIL not in page and html.escape(EVIL) in page
    assert "<b>county</b>" not in page and "&lt;b&gt;county&lt;/b&gt;" in page
    assert "<li>第二点</li>" in page
    # order: claims table, then charts, then the other tables, then assumptions and the manifest
    order = [body.index(s) for s in ("<h2>Claims / 声明核验", "<h2>Charts / 图表", "<h3>robustness", "<h3>a_summary", "材料不全比例", "3f2a9c")]
    assert order == sorted(order)
    assert "seed-claims --fast" in body and "future_key" in body  # unknown manifest keys are shown, not dropped
    assert "Fast run" in body


def test_report_embeds_the_chart_bytes_in_both_languages(tmp_path, chart_files, built):
    page = built[3]
    images = dict(re.findall(r'src="data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)"', page))
    assert base64.b64decode(images["image/svg+xml"]) == chart_files["trips.en.svg"]
    assert base64.b64decode(images["image/png"]) == chart_files["trips.zh.png"]
    assert "Trips per case / 每件跑动次数" in page

    d = results_dir(tmp_path, chart_files)
    en = build_report(d, lang="en").read_text(encoding="utf-8")
    assert "data:image/svg+xml" in en and "data:image/png" not in en  # only the English chart
    assert "声明核验表的每一行" not in en and "How to read the claims table" in en
    zh = build_report(d, lang="zh").read_text(encoding="utf-8")
    assert "data:image/png" in zh and "data:image/svg+xml" not in zh
    assert "<html lang=\"zh-CN\">" in zh and "如何阅读声明核验表" in zh


def test_report_embeds_a_font_covering_its_chinese_text(built):
    page = built[3]
    (face,) = re.findall(r"@font-face \{[^}]*\}", page)
    data = re.search(r"url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", face).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    cmap = font.getBestCmap()
    visible = re.sub(r"<[^>]+>|base64,[A-Za-z0-9+/=]+", "", page[page.index("<body>"):])
    hanzi = {c for c in visible if "\u4e00" <= c <= "\u9fff"}
    assert len(hanzi) > 50 and all(ord(c) in cmap for c in hanzi)
    family = re.search(r'font-family: "([^"]+)"', face).group(1)
    assert f'body {{ font-family: "{family}"' in page


def test_report_replaces_only_its_own_file(tmp_path, chart_files):
    d = results_dir(tmp_path, chart_files)
    (d / "report.html").write_text("old", encoding="utf-8")
    build_report(d)
    assert (d / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_missing_manifest_is_refused_and_nothing_is_written(tmp_path, chart_files):
    d = results_dir(tmp_path, chart_files, manifest=None)
    before = snapshot(d)
    with pytest.raises(ReportInputError, match=r"results: no manifest\.json"):
        build_report(d)
    assert snapshot(d) == before


def test_bad_manifest_names_the_file(tmp_path, chart_files):
    d = results_dir(tmp_path, chart_files)
    (d / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"manifest\.json: the manifest is not valid JSON"):
        build_report(d)
    (d / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a JSON object"):
        build_report(d)


def test_cli_report_writes_and_prints_the_path(tmp_path, chart_files, capsys):
    d = results_dir(tmp_path, chart_files)
    assert main(["report", str(d), "--lang", "en"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(d / "report.html")
    assert "How to read" in (d / "report.html").read_text(encoding="utf-8")


def test_cli_report_missing_manifest_exits_2_with_one_line(tmp_path, chart_files, capsys):
    d = results_dir(tmp_path, chart_files, manifest=None)
    before = snapshot(d)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{d}: ") and "manifest.json" in err
    assert snapshot(d) == before


def test_cli_report_missing_directory_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["report", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"{missing}: no such directory\n"
    assert not missing.exists()
