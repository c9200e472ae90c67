"""Reading event logs: CSVs with any headers (one row per event or per case), XES, times with and without zones."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from sim.eventlog.read import LogError, parse_mapping, read_log

LONG = """办件编号,环节名称,完成时间,经办人,事项名称
A1,收件,2025-03-03 09:10:00,张三,企业设立登记
A1,受理,2025-03-03 09:40:00,张三,企业设立登记
A1,办结,2025-03-05 16:00:00,李四,企业设立登记
B2,收件,2025-03-04 10:00:00,王五,食品经营许可
B2,受理,2025-03-04 10:30:00,王五,食品经营许可
"""

WIDE = """办件编号,事项名称,申请时间,受理时间,办结时间
C1,企业设立登记,2025-03-03 09:00,2025-03-03 09:30,2025-03-04 15:00
C2,企业设立登记,2025-03-03 11:00,2025-03-03 11:20,
"""


def test_a_long_csv_with_chinese_headers_is_read_by_guessing_its_columns(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text(LONG, encoding="utf-8")
    lg = read_log(f)
    assert lg.mapping["case"] == "办件编号" and lg.mapping["activity"] == "环节名称" and lg.mapping["item"] == "事项名称"
    assert lg.cases == 2 and len(lg.events) == 5
    a1 = lg.events[lg.events["case_id"] == "A1"]
    assert list(a1["activity"]) == ["收件", "受理", "办结"] and list(a1["resource"]) == ["张三", "张三", "李四"]
    # no offset in the file: the times are wall clock in the default zone (Asia/Shanghai, +08:00)
    assert a1["local"].iloc[0] == pd.Timestamp("2025-03-03 09:10")
    assert a1["timestamp"].iloc[0] == pd.Timestamp("2025-03-03 01:10", tz="UTC")
    assert lg.granularity() == "minute"


def test_a_one_row_per_case_log_turns_its_time_columns_into_events_and_keeps_open_cases(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_bytes(WIDE.encode("gb18030"))  # a common export encoding
    lg = read_log(f)
    assert {k for k in lg.mapping if k.startswith("event:")} == {"event:申请", "event:受理", "event:办结"}
    c2 = lg.events[lg.events["case_id"] == "C2"]
    assert list(c2["activity"]) == ["申请", "受理"]  # no decision yet: an open case, not an error
    assert any("1 empty times" in n for n in lg.notes)


def test_a_mapping_names_columns_and_bad_ones_are_errors(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id;what;when\n1;a;2025-01-02T08:00:00+01:00\n1;b;2025-01-02T09:30:00+01:00\n", encoding="utf-8")
    lg = read_log(f, parse_mapping(["case=id", "activity=what", "timestamp=when"]))
    assert list(lg.events["activity"]) == ["a", "b"]
    assert lg.events["timestamp"].iloc[0] == pd.Timestamp("2025-01-02 07:00", tz="UTC")  # the offset as written
    assert lg.events["local"].iloc[0] == pd.Timestamp("2025-01-02 08:00")
    with pytest.raises(LogError, match="unknown role 'kase'"):
        parse_mapping(["kase=id"])
    with pytest.raises(LogError, match="expected ROLE=COLUMN"):
        parse_mapping(["case"])
    with pytest.raises(LogError, match="no column 'nope'"):
        read_log(f, {"case": "nope", "activity": "what", "timestamp": "when"})


def test_an_unreadable_time_names_the_file_the_line_and_the_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("case,activity,timestamp\n1,a,2025-01-02 08:00\n1,b,next tuesday\n", encoding="utf-8")
    with pytest.raises(LogError) as info:
        read_log(f)
    assert str(info.value) == f"{f}:3: timestamp: not a date and time: 'next tuesday'"
    g = tmp_path / "nocase.csv"
    g.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(LogError, match="no case id column found"):
        read_log(g)
    with pytest.raises(LogError, match="no such file"):
        read_log(tmp_path / "missing.csv")


XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="kind" value="permit"/>
    <event><string key="concept:name" value="submit"/><date key="time:timestamp" value="2014-04-11T10:00:00+02:00"/>
      <string key="lifecycle:transition" value="start"/></event>
    <event><string key="concept:name" value="submit"/><date key="time:timestamp" value="2014-04-11T10:20:00+02:00"/>
      <string key="lifecycle:transition" value="complete"/><string key="org:resource" value="r1"/></event>
    <event><string key="concept:name" value="decide"/><date key="time:timestamp" value="2014-05-02T00:00:00+02:00"/>
      <list key="nested"><string key="concept:name" value="not an event attribute"/></list></event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event><string key="concept:name" value="submit"/><date key="time:timestamp" value="2014-04-12T09:00:00+02:00"/></event>
  </trace>
</log>
"""


def test_an_xes_log_is_read_with_lifecycles_paired_and_nested_attributes_ignored(tmp_path):
    f = tmp_path / "log.xes.gz"
    f.write_bytes(gzip.compress(XES.encode("utf-8")))
    lg = read_log(f, {"case_type": "kind"})
    assert lg.cases == 2 and len(lg.events) == 3  # start and complete of 'submit' are one instance
    c1 = lg.events[lg.events["case_id"] == "c1"]
    assert list(c1["activity"]) == ["submit", "decide"] and c1["case_type"].iloc[0] == "permit"
    assert c1["start"].iloc[0] == pd.Timestamp("2014-04-11 08:00", tz="UTC")
    assert c1["timestamp"].iloc[0] == pd.Timestamp("2014-04-11 08:20", tz="UTC") and c1["resource"].iloc[0] == "r1"
    assert c1["local"].iloc[1] == pd.Timestamp("2014-05-02 00:00")
    broken = tmp_path / "broken.xes"
    broken.write_text(XES[:400], encoding="utf-8")
    with pytest.raises(LogError, match="not well-formed XML"):
        read_log(broken)
