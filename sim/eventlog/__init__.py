"""Event logs of simulated runs: CSV, XES (IEEE 1849) and OCEL 2.0 JSON, for process-mining tools.

One event per activity instance - intake, each sign-off step, hand-offs,
travel, fixing materials, supplements, intermediaries, meetings, notices,
pickups, mail, inspections - with its case and case type, item, resource,
start and completion in calendar time with a time zone (default
``Asia/Shanghai``), the case's channel and whether the item was on time.

* ``write_log(result, "run.xes")``: the log of a run made with ``trace=True``;
* ``run_logged(scenario, "run.xes.gz", replications, seed)``: runs the
  replications and streams each trace to disk as it is made (memory does not
  grow with the log); returns the run's result and what was written.

See docs/event-logs.md for the columns and the XES and OCEL mappings.
"""

from .stream import run_logged
from .timestamps import DEFAULT_TIME_ZONE, CalendarTime, parse_time_zone
from .write import (
    FORMATS, LogExists, LogNotWritable, LogWritten, UnknownLogFormat, check_log_path, log_format, write_log,
)

__all__ = [
    "DEFAULT_TIME_ZONE", "FORMATS", "CalendarTime", "LogExists", "LogNotWritable", "LogWritten", "UnknownLogFormat",
    "check_log_path", "log_format", "parse_time_zone", "run_logged", "write_log",
]
