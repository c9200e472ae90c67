"""Event logs written from runs: CSV, XES and OCEL 2.0, read back (XES and OCEL with pm4py, a test-only dependency).

The scenario has a structure whose activity instances can be counted by
hand (no gaps in materials, so no returns; a long drain, so every case
finishes):

* ``single`` applies for ``permit`` alone, then waits out a notice.  A
  counter case: travel, intake, hand-off to the back office, review,
  approval, hand-off back, travel to collect, pickup, notice = 9 activity
  instances.  An online case makes no trips and collects nothing: intake,
  two hand-offs, review, approval, notice = 6.
* ``bundle`` (one thing done once, 一件事): one joint application for
  ``permit`` and ``stamp``: travel, intake (both items), two hand-offs,
  review, approval, travel, pickup = 8, and two item objects in OCEL.

``permit`` is promised within 0 working days (by the close of the day it is
accepted), so some permits are late and some on time; ``stamp`` has no limit.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import yaml

from sim import run, simulate
from tests.helpers import run_main
from sim.engine.records import TRACE_COLUMNS
from sim.eventlog import LogExists, UnknownLogFormat, run_logged, write_log
from sim.eventlog.csv_log import CSV_COLUMNS
from sim.eventlog.write import LogMeta, StagedLog

from .helpers import scenario

START = dt.date(2025, 3, 3)  # a Monday
SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_COUNTER_SINGLE, PER_ONLINE_SINGLE, PER_BUNDLE = 9, 6, 8


def _scenario():
    return scenario(
        calendar={"start_date": START.isoformat(), "office_hours": ["09:00-12:00", "13:30-17:30"]},
        travel={"from_home_minutes": 20},
        departments=[{"id": "d", "site": "hall", "staff": {"clerk": 2, "chief": 1}}],
        windows=[{"id": "w", "site": "hall", "positions": 2, "items": ["permit", "stamp"]}],
        items=[
            {"id": "permit", "department": "d", "kind": "back_office", "intake_minutes": 15,
             "steps": [{"id": "review", "role": "clerk", "minutes": 30}, {"id": "approve", "role": "chief", "minutes": 10}],
             "handoff": {"to_back_office_minutes": 15, "to_window_minutes": 15},
             "promised_limit_days": 0, "statutory_limit_days": 10, "pickup_minutes": 5},
            {"id": "stamp", "department": "d", "kind": "immediate", "intake_minutes": 10},
        ],
        externals=[{"id": "notice", "kind": "fixed_period", "duration_calendar_days": 1}],
        case_types=[
            {"id": "single", "arrivals": {"per_day": 5}, "channels": {"counter": 0.5, "online": 0.5},
             "flow": [{"item": "permit"}, {"external": "notice"}]},
            {"id": "bundle", "arrivals": {"per_day": 3}, "flow": [{"items": ["permit", "stamp"]}]},
        ],
        run={"horizon_working_days": 4, "warmup_working_days": 1},
    )


@pytest.fixture(scope="module")
def sc():
    return _scenario()


@pytest.fixture(scope="module")
def traced(sc):
    """Two traced replications in memory."""
    return run(sc, replications=2, seed=11, trace=True)


def _expected_instances(cases: pd.DataFrame) -> int:
    single = cases["case_type"] == "single"
    online = cases["channel"] == "online"
    return int((single & ~online).sum() * PER_COUNTER_SINGLE + (single & online).sum() * PER_ONLINE_SINGLE
               + (~single).sum() * PER_BUNDLE)


def _expected_items(cases: pd.DataFrame) -> int:
    return int((cases["case_type"] == "single").sum() + 2 * (cases["case_type"] == "bundle").sum())


def _when(minute: float, zone=SHANGHAI) -> pd.Timestamp:
    """A simulation minute in calendar time, computed here independently (to the millisecond)."""
    local = dt.datetime.combine(START, dt.time()) + dt.timedelta(milliseconds=round(minute * 60_000))
    return pd.Timestamp(local.replace(tzinfo=zone))


def _activities(trace: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The activity instances a log should hold: counted cases, no waits; hand-offs named by direction."""
    counted = pd.MultiIndex.from_frame(cases[["replication", "case"]])
    mine = pd.MultiIndex.from_frame(trace[["replication", "case"]]).isin(counted)  # case numbers restart each replication
    t = trace[mine & ~trace["kind"].isin(["wait_open", "wait_applicant", "wait_result"])].copy()
    hand = t["kind"] == "handoff"
    t.loc[hand, "activity"] = t.loc[hand, "activity"] + ":" + t.loc[hand, "resource"]
    t["case_id"] = "r" + t["replication"].astype(str) + "-c" + t["case"].astype(str)
    t["start"] = [_when(x) for x in t["start_minute"]]
    t["complete"] = [_when(x) for x in t["end_minute"]]
    return t


def _pm4py():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py
    return pm4py


# -- the engine hands the trace over ------------------------------------------------------------------------
def test_trace_sink_gets_the_trace_row_for_row(sc, monkeypatch):
    monkeypatch.setattr("sim.engine.model.TRACE_CHUNK", 64)  # many small hand-overs
    kept = simulate(sc, seed=5, replication=1, trace=True)
    chunks: list[list] = []
    streamed = simulate(sc, seed=5, replication=1, trace_sink=chunks.append)
    assert streamed.trace is None  # the run kept nothing
    assert len(chunks) > 3 and all(len(c) <= 64 for c in chunks[:-1])
    rows = [r for c in chunks for r in c]
    ct_ids = [c.id for c in sc.case_types]
    mine = pd.DataFrame(rows, columns=list(TRACE_COLUMNS))
    mine["case_type"] = [ct_ids[i] for i in mine["case_type"]]
    theirs = kept.trace.drop(columns="replication").astype({"case_type": str})
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)
    pd.testing.assert_frame_equal(streamed.kpis, kept.kpis)  # the sink changes nothing in the run


def test_trace_rows_name_their_item(traced):
    t = traced.trace
    assert set(t.loc[t["kind"] == "step", "item"]) == {"permit"}
    assert set(t.loc[t["activity"] == "intake:permit+stamp", "item"]) == {"permit+stamp"}
    assert set(t.loc[t["kind"] == "fixed_period", "item"]) == {""}  # the notice serves no item


# -- CSV -------------------------------------------------------------------------------------------------
def test_csv_round_trip(traced, tmp_path):
    path = tmp_path / "log.csv"
    w = write_log(traced, path)
    back = pd.read_csv(path, dtype={"on_time": "boolean", "on_time_promised": "boolean", "on_time_statutory": "boolean"},
                       keep_default_na=False, na_values={"on_time": [""], "on_time_promised": [""], "on_time_statutory": [""]})
    assert tuple(back.columns) == CSV_COLUMNS
    assert len(back) == w.events == _expected_instances(traced.cases)
    assert back["case_id"].nunique() == w.cases == len(traced.cases)
    assert back["complete"].str.endswith("+08:00").all()
    exp = _activities(traced.trace, traced.cases)
    mine = back.assign(start=pd.to_datetime(back["start"], format="ISO8601"),
                       complete=pd.to_datetime(back["complete"], format="ISO8601"))
    key = ["case_id", "activity", "start", "complete"]
    pd.testing.assert_frame_equal(mine[key].sort_values(key, ignore_index=True), exp[key].sort_values(key, ignore_index=True),
                                  check_dtype=False)
    assert mine["complete"].dt.tz.utcoffset(None) == dt.timedelta(hours=8)
    # channel and status from the cases table, on time from the items table (an item's every event)
    cases = traced.cases.assign(case_id="r" + traced.cases["replication"].astype(str) + "-c" + traced.cases["case"].astype(str))
    joined = back.merge(cases[["case_id", "channel", "status"]], on="case_id", suffixes=("", "_table"))
    assert (joined["channel"] == joined["channel_table"].astype(str)).all()
    assert (joined["case_status"] == joined["status"].astype(str)).all()
    permit = traced.items[traced.items["item"] == "permit"].assign(
        case_id=lambda d: "r" + d["replication"].astype(str) + "-c" + d["case"].astype(str))
    flags = back[back["item"].isin(["permit", "permit+stamp"])].merge(permit[["case_id", "on_time_promised"]],
                                                                       on="case_id", suffixes=("", "_table"))
    assert len(flags) == len(back[back["item"].isin(["permit", "permit+stamp"])])
    assert (flags["on_time_promised"].astype(float) == flags["on_time_promised_table"]).all()
    assert flags["on_time_promised"].any() and not flags["on_time_promised"].all()  # some late, some on time
    assert back.loc[back["activity"] == "notice", "item"].eq("").all()


# -- XES ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".xes", ".xes.gz"])
def test_pm4py_reads_our_xes(traced, tmp_path, suffix):
    path = tmp_path / f"log{suffix}"
    w = write_log(traced, path)
    pm4py = _pm4py()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a suggestion to install a faster optional reader
        df = pm4py.read_xes(str(path), show_progress_bar=False)
    n = _expected_instances(traced.cases)
    assert df["case:concept:name"].nunique() == len(traced.cases) == w.cases
    assert len(df) == 2 * n and (df["lifecycle:transition"].value_counts() == n).all()
    assert set(df["case:channel"]) == {"counter", "online"}
    assert set(df["case:case_type"]) == {"single", "bundle"}
    assert (df.groupby("case:concept:name")["time:timestamp"].apply(lambda s: s.is_monotonic_increasing)).all()
    # each instance: its start and complete events, at the times of the trace (time zone included)
    pairs = df.pivot_table(index=["case:concept:name", "concept:instance", "concept:name"], columns="lifecycle:transition",
                           values="time:timestamp", aggfunc="first").reset_index().rename_axis(columns=None)
    exp = _activities(traced.trace, traced.cases)
    key = ["case_id", "activity", "start", "complete"]
    got = pairs.rename(columns={"case:concept:name": "case_id", "concept:name": "activity"})[key]
    got[["start", "complete"]] = got[["start", "complete"]].apply(lambda s: s.dt.tz_convert(SHANGHAI))
    pd.testing.assert_frame_equal(got.sort_values(key, ignore_index=True), exp[key].sort_values(key, ignore_index=True),
                                  check_dtype=False)
    opener = gzip.open if suffix == ".xes.gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        head = f.read(3000)
    assert '<string key="time_zone" value="Asia/Shanghai"/>' in head and 'xes.version="1849-2016"' in head


# -- OCEL 2.0 ---------------------------------------------------------------------------------------------
def test_pm4py_reads_our_ocel(traced, tmp_path):
    path = tmp_path / "log.jsonocel"
    write_log(traced, path)
    ocel = _pm4py().read_ocel2_json(str(path))
    cases, n = traced.cases, _expected_instances(traced.cases)
    assert len(ocel.events) == n
    kinds = ocel.objects["ocel:type"].value_counts()
    assert kinds["case"] == len(cases) and kinds["item"] == _expected_items(cases)
    # every event is linked to its case; a bundle's joint intake to both of its items
    rel = ocel.relations
    to_case = rel[rel["ocel:type"] == "case"]
    assert to_case["ocel:eid"].nunique() == n and len(to_case) == n
    joint = rel[(rel["ocel:activity"] == "intake:permit+stamp") & (rel["ocel:type"] == "item")]
    assert len(joint) == 2 * (cases["case_type"] == "bundle").sum()
    assert set(joint["ocel:oid"].str.split("/").str[1]) == {"permit", "stamp"}
    assert len(ocel.o2o) == _expected_items(cases)  # each case -> its items
    # times: an event at its completion, its start as an attribute
    exp = _activities(traced.trace, traced.cases)
    ev = ocel.events.assign(case_id=ocel.events["ocel:eid"].str.split("#").str[0])
    got = pd.DataFrame({"case_id": ev["case_id"], "activity": ev["ocel:activity"],
                        "start": pd.to_datetime(ev["start"]).dt.tz_convert(SHANGHAI),
                        "complete": ev["ocel:timestamp"].dt.tz_convert(SHANGHAI)})
    key = ["case_id", "activity", "start", "complete"]
    pd.testing.assert_frame_equal(got.sort_values(key, ignore_index=True), exp[key].sort_values(key, ignore_index=True),
                                  check_dtype=False)
    # an item object's on-time flag is the items table's
    items = ocel.objects[ocel.objects["ocel:type"] == "item"]
    permits = items[items["item"] == "permit"].set_index("ocel:oid")["on_time_promised"].astype(bool)
    table = traced.items[traced.items["item"] == "permit"]
    table_ids = "r" + table["replication"].astype(str) + "-c" + table["case"].astype(str) + "/permit"
    assert permits.reindex(table_ids).tolist() == table["on_time_promised"].astype(bool).tolist()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {t["name"] for t in doc["objectTypes"]} == {"case", "item"}
    assert all(e["time"].endswith("+08:00") for e in doc["events"])


def test_another_time_zone_keeps_the_wall_clock(traced, tmp_path):
    a, b = tmp_path / "sh.csv", tmp_path / "kolkata.csv"
    write_log(traced, a)
    write_log(traced, b, time_zone="Asia/Kolkata")
    ta, tb = pd.read_csv(a)["start"], pd.read_csv(b)["start"]
    assert (ta.str[:23] == tb.str[:23]).all() and tb.str.endswith("+05:30").all()  # same office hours
    shift = pd.to_datetime(tb, format="ISO8601") - pd.to_datetime(ta, format="ISO8601")
    assert (shift == pd.Timedelta(hours=2, minutes=30)).all()


def test_calendar_time_in_a_zone_with_daylight_saving():
    from sim.eventlog import CalendarTime

    berlin = CalendarTime(dt.date(2025, 3, 29), "Europe/Berlin")  # clocks go forward at 02:00 on 30 March
    minutes = [9 * 60, 1440 + 60, 1440 + 3 * 60 + 1, 1440 + 9 * 60 + 0.5 / 60_000]
    text = berlin.iso(minutes)
    assert text == ["2025-03-29T09:00:00.000+01:00", "2025-03-30T01:00:00.000+01:00",
                    "2025-03-30T03:01:00.000+02:00", "2025-03-30T09:00:00.000+02:00"]
    assert [berlin.one(m) for m in minutes] == text  # the scalar path agrees with the vectorised one
    assert CalendarTime(START, "+05:30").iso([0.0]) == ["2025-03-03T00:00:00.000+05:30"]
    with pytest.raises(ValueError, match="unknown time zone"):
        CalendarTime(START, "Mars/Olympus")


# -- streaming and replications ----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".jsonocel"])
def test_streamed_log_equals_the_in_memory_one(sc, traced, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr("sim.engine.model.TRACE_CHUNK", 100)  # the trace reaches the file in many chunks
    streamed, memory = tmp_path / f"streamed{suffix}", tmp_path / f"memory{suffix}"
    result, w = run_logged(sc, streamed, replications=2, seed=11)
    write_log(traced, memory)
    assert streamed.read_bytes() == memory.read_bytes()
    assert result.trace is None
    pd.testing.assert_frame_equal(result.summary, traced.summary)  # the same run, digit for digit
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_log_of_several_replications(sc, tmp_path):
    path = tmp_path / "reps.csv"
    result, w = run_logged(sc, path, replications=3, seed=4, workers=2)
    log = pd.read_csv(path)
    assert sorted(log["replication"].unique()) == [0, 1, 2]
    assert (log["case_id"] == "r" + log["replication"].astype(str) + "-c" + log["case"].astype(str)).all()
    per_rep = log.groupby("replication")["case_id"].nunique()
    assert per_rep.tolist() == result.cases.groupby("replication").size().tolist()
    assert len(log) == w.events == _expected_instances(result.cases)
    alone = run(sc, replications=3, seed=4)
    pd.testing.assert_frame_equal(result.summary, alone.summary)


def test_a_file_that_appears_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "late.xes"
    with pytest.raises(LogExists):
        with StagedLog(path, LogMeta("s", 1, 1, "Asia/Shanghai", "test")):
            path.write_text("someone else's", encoding="utf-8")
    assert path.read_text(encoding="utf-8") == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.xes"]


def test_unknown_format_and_existing_file(traced, tmp_path):
    with pytest.raises(UnknownLogFormat):
        write_log(traced, tmp_path / "log.txt")
    (tmp_path / "there.csv").write_text("x", encoding="utf-8")
    with pytest.raises(LogExists):
        write_log(traced, tmp_path / "there.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["there.csv"]


# -- the command line ----------------------------------------------------------------------------------------
@pytest.fixture
def scenario_file(sc, tmp_path) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(sc.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_cli_writes_a_log(capsys, scenario_file, tmp_path):
    path = tmp_path / "out" / "run.xes.gz"
    rc, out, err = run_main(capsys, "run", scenario_file, "--reps", "2", "--seed", "3", "--workers", "1", "--log", path)
    assert rc == 0, err
    assert f"wrote event log {path}" in err and "cases" in out
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    assert text.rstrip().endswith("</log>") and "r1-c" in text
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.xes.gz"]
    # --trace keeps the trace in memory and writes the same log from it
    again = tmp_path / "again.xes.gz"
    rc, _, err = run_main(capsys, "run", scenario_file, "--reps", "2", "--seed", "3", "--workers", "1", "--trace",
                      "--log", again, "--log-timezone", "Asia/Shanghai")
    assert rc == 0, err
    assert gzip.decompress(again.read_bytes()) == text.encode("utf-8")


@pytest.mark.parametrize("args, words", [
    (["--log", "{d}/run.txt"], ["--log", "unknown event log format", ".ocel.json"]),
    (["--log", "{d}/there.csv"], ["--log", "already exists"]),
    (["--log", "{d}/there.csv/inside/run.csv"], ["--log", "is not a folder"]),
    (["--log", "{d}/run.csv", "--summary-only"], ["--log", "--summary-only"]),
    (["--log", "{d}/run.csv", "--log-timezone", "Mars/Olympus"], ["--log-timezone", "unknown time zone"]),
    (["--log-timezone", "+08:00"], ["--log-timezone", "--log FILE"]),
])
def test_cli_refuses_a_log_it_cannot_write(capsys, scenario_file, tmp_path, args, words):
    (tmp_path / "there.csv").write_text("mine", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, out, err = run_main(capsys, "run", scenario_file, "--reps", "1", *[a.format(d=tmp_path) for a in args])
    assert rc == 2 and out == ""
    assert "Traceback" not in err and all(w in err for w in words), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "there.csv").read_text(encoding="utf-8") == "mine"


def test_cli_interrupted_leaves_nothing_half_written(capsys, scenario_file, tmp_path, monkeypatch):
    import sim.eventlog.stream as stream

    real = stream.write_replication

    def interrupted(log, *args, **kw):
        real(log, *args, **kw)  # one replication is in the hidden file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(stream, "write_replication", interrupted)
    path = tmp_path / "run.jsonocel"
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, _, err = run_main(capsys, "run", scenario_file, "--reps", "2", "--workers", "1", "--log", path)
    assert rc == 130
    assert f"{path} was not written (nothing half-written was left)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_joint_applications_items_are_read_back_even_with_plus_in_an_id():
    """A joint application's trace item is its ids joined by '+': ids that hold a '+' themselves are kept whole."""
    from sim.eventlog.cases import split_items

    known = {"permit+fire", "seal", "licence"}
    assert split_items("permit+fire+seal", known) == ("permit+fire", "seal")
    assert split_items("seal+permit+fire", known) == ("seal", "permit+fire")
    assert split_items("licence+seal", known) == ("licence", "seal")
    assert split_items("permit+fire", known) == ("permit+fire",)
    assert split_items("other+seal", known) == ("other", "seal")  # a part no id makes is taken as it is
