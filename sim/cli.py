"""Command line: ``approval-sim run | validate | compare | bottlenecks | attribute | experiment | sweep | optimise | web | reforms | report``.

A thin layer over the Python API; what it prints is built in :mod:`sim.views`.
Bad input (files, fields, options) is reported as ``file: field.path: what
is wrong`` with exit status 2 and no traceback; an existing output directory
with files is never overwritten.  Long commands show progress on stderr.
Ctrl-C exits with status 130 and SIGTERM with 143, after removing any
half-written output (the hidden temporary folder) and saying on stderr
whether the output folder was completed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, Sequence

from . import __version__, views
from .errors import Problem, ScenarioError
from .kpis import KPIS, STATION_KPIS
from .loading import load_scenario
from .terminal import Progress

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


def _executor(args):
    """Where the command's replications run: --cluster (or $APPROVAL_SIM_CLUSTER), else --workers local processes."""
    from .execution import executor_for

    try:
        return executor_for(getattr(args, "workers", None), getattr(args, "cluster", None))
    except (RuntimeError, OSError, ValueError) as exc:  # Dask missing, scheduler unreachable, bad address
        raise ScenarioError([Problem("--cluster", str(exc) or type(exc).__name__)], "approval-sim") from None


def _log_problem(args, executor) -> str | None:
    """Why ``--log`` cannot be written as asked (checked before the run), or None."""
    from .eventlog import LogExists, LogNotWritable, UnknownLogFormat, check_log_path, parse_time_zone
    from .execution import LocalExecutor

    if args.log is None:
        return "--log-timezone: give --log FILE too (it is the event log's time zone)" if args.log_timezone else None
    try:
        check_log_path(args.log)
    except (UnknownLogFormat, LogExists, LogNotWritable) as exc:
        return f"--log: {exc}"
    if args.log_timezone is not None:
        try:
            parse_time_zone(args.log_timezone)
        except ValueError as exc:
            return f"--log-timezone: {exc}"
    if args.summary_only:
        return "--log: an event log needs the per-case tables; drop --summary-only"
    if not isinstance(executor, LocalExecutor):
        return ("--log: an event log is written from replications run on this machine; "
                "use --workers instead of a cluster (--cluster or $APPROVAL_SIM_CLUSTER)")
    return None


def cmd_run(args) -> int:
    from .export import OutputExists, check_out_dir, write_run
    from .runner import run

    scenario = load_scenario(args.scenario)
    if args.out:
        check_out_dir(args.out)  # fail before spending time on the run
    reps = args.reps if args.reps is not None else scenario.run.replications
    executor = _executor(args)
    problem = _log_problem(args, executor)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    written = None
    try:
        if args.log and not args.trace:  # the trace goes to disk as the replications make it
            from .eventlog import DEFAULT_TIME_ZONE, run_logged

            with Progress(reps) as bar:
                result, written = run_logged(scenario, args.log, reps, args.seed, executor=executor,
                                             progress=bar.update, time_zone=args.log_timezone or DEFAULT_TIME_ZONE)
        else:
            with Progress(reps) as bar:
                result = run(scenario, replications=reps, seed=args.seed, trace=args.trace, progress=bar.update,
                             executor=executor, per_case=not args.summary_only)
            if args.log:  # --trace keeps the trace in memory anyway: the log is written from it
                from .eventlog import DEFAULT_TIME_ZONE, write_log

                written = write_log(result, args.log, time_zone=args.log_timezone or DEFAULT_TIME_ZONE)
    except OSError as exc:  # a full disk, a folder gone: the log's hidden folder is already removed
        if not args.log or isinstance(exc, FileExistsError):
            raise
        print(f"error: --log: {args.log} could not be written ({exc.strerror or exc}); nothing was written",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if written is not None and not args.json:
        print(f"wrote event log {written.path}: {written.cases} cases, {written.events} activity instances",
              file=sys.stderr)
    if args.out:
        try:
            files = write_run(result, args.out)
        except OutputExists as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not args.json:
            print(f"wrote {len(files)} files to {args.out}", file=sys.stderr)
    if args.json:
        json.dump(result.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(views.summary_text(result))
    return 0


def cmd_compare(args) -> int:
    from .compare import compare
    from .export import check_out_dir, write_tables

    scenarios = [load_scenario(p) for p in [args.base, *args.others]]
    if args.out:
        check_out_dir(args.out)
    if args.scope:  # check before spending time on the runs
        known = _scopes(scenarios[0])
        unknown = [x for x in args.scope if x not in known]
        if unknown:
            print(f"error: --scope: the base has no scope {unknown[0]!r}; known: {', '.join(known)}", file=sys.stderr)
            return EXIT_BAD_INPUT
    n = args.reps if args.reps is not None else scenarios[0].run.replications
    with Progress(n * len(scenarios)) as bar:
        results, table = compare(scenarios, n, args.seed, progress=bar.update, executor=_executor(args))
    if args.out:
        tables = {"comparison.csv": table}
        tables.update({f"replications_{k}.csv": r.kpis for k, r in enumerate(results)})
        write_tables(args.out, tables)
    if args.json:
        out = []
        for k, r in enumerate(results):
            sub = table[table["index"] == k]
            kp = {}
            for row in sub.itertuples(index=False):
                scope = kp.setdefault(row.scope, {})
                f = lambda x: None if x != x else float(x)  # noqa: E731
                scope[row.kpi] = {
                    "mean": f(row.mean), "ci_low": f(row.ci_low), "ci_high": f(row.ci_high),
                    "diff": {"mean": f(row.diff_mean), "ci_low": f(row.diff_ci_low), "ci_high": f(row.diff_ci_high)},
                    "compression": {"mean": f(row.compression_mean), "ci_low": f(row.compression_ci_low), "ci_high": f(row.compression_ci_high)},
                }
            out.append({"scenario": r.scenario.name, "scenario_hash": r.scenario.content_hash(), "base": k == 0, "kpis": kp})
        json.dump({"seed": results[0].seed, "replications": n, "scenarios": out}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(views.compare_text(results, table, args.scope or ["all"]))
    return 0


def _records(table) -> list[dict]:
    """Rows of a table as JSON-ready records (NaN becomes null)."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in table.to_dict(orient="records")]


def _num(x) -> float | None:
    return None if x != x else float(x)


def _scopes(s) -> list[str]:
    """Result scopes of a scenario: all cases, each case type, each window group and department role."""
    return (
        ["all"]
        + [f"case_type:{c.id}" for c in s.case_types]
        + [f"station:{w.id}" for w in s.windows]
        + [f"station:{d.id}.{role}" for d in s.departments for role in d.staff]
    )


def cmd_bottlenecks(args) -> int:
    from .bottlenecks import decompose_runs
    from .calendar import clock_for

    scenario = load_scenario(args.scenario)
    seed = scenario.run.seed if args.seed is None else args.seed
    reps = args.reps if args.reps is not None else min(scenario.run.replications, 3)
    if args.case_type is not None and args.case_type not in {c.id for c in scenario.case_types}:
        known = ", ".join(c.id for c in scenario.case_types)
        print(f"error: {args.scenario}: --case-type: no case type {args.case_type!r} (known: {known})", file=sys.stderr)
        return EXIT_BAD_INPUT
    with Progress(reps) as bar:
        d = decompose_runs(scenario, reps, seed, args.case_type, total=True, progress=bar.update)
    day = clock_for(scenario.calendar).day_minutes
    if args.json:
        rows, total = d[d["category"] != "total"], d[d["category"] == "total"].iloc[0]
        json.dump(
            {"scenario": scenario.name, "case_type": args.case_type, "seed": seed, "replications": reps,
             "rows": _records(rows),
             "total": {"working_minutes_per_case": float(total.working_minutes_per_case),
                       "ci_low": _num(total.ci_low), "ci_high": _num(total.ci_high),
                       "working_days_per_case": float(total.working_minutes_per_case) / day}},
            sys.stdout, ensure_ascii=False, indent=2,
        )
        sys.stdout.write("\n")
        return 0
    print(views.bottlenecks_text(d, scenario, args.case_type, reps, seed, day))
    return 0


def cmd_attribute(args) -> int:
    from .attribution import shapley
    from .loading import attribution_plan

    base, plan, groups = attribution_plan(args.scenario)
    if not plan:
        print(f"error: {args.scenario}: reforms: the file lists no reforms to attribute", file=sys.stderr)
        return EXIT_BAD_INPUT
    full = load_scenario(args.scenario)  # every reform applies: problems are reported against the file now
    kpis = args.kpi or ["lead_time_working_days_mean"]
    known = [x for x in _scopes(base) if x in set(_scopes(full))]
    if args.scope not in known:
        print(f"error: --scope: {args.scope!r} is not a scope of both the base and the reformed scenario; "
              f"known: {', '.join(known)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    station = args.scope.startswith("station:")
    wrong = [k for k in kpis if (k in {x.name for x in STATION_KPIS}) != station]
    if wrong:
        kind = "a station" if not station else "a case"
        print(f"error: --kpi: {wrong[0]} is {kind} KPI; it has no value in scope {args.scope!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    k = len({g if g is not None else i for i, g in enumerate(groups)})
    bar = Progress(None, "runs")

    executor = _executor(args)

    def run_many(jobs: dict) -> dict:  # every subset in one batch: announced, then counted run by run
        from .execution import run_jobs

        reps = [job[1] for job in jobs.values()]
        total = sum(reps)
        how = f"all 2^{k} = {len(jobs)} subsets" if len(jobs) == 2**k else f"{len(jobs)} subsets (sampled orders)"
        per = f"{reps[0]} replications" if len(set(reps)) == 1 else "their replications"
        print(f"attribute: {k} reforms; {how} x {per} = {total} runs on {executor.description}", file=sys.stderr)
        bar.update(0, total)
        return run_jobs(jobs, progress=bar.update, executor=executor)

    try:
        with bar:
            table = shapley(base, plan, kpi=kpis, scope=args.scope, replications=args.reps, seed=args.seed,
                            groups=groups, run_many=run_many)
    except ScenarioError as exc:
        raise exc.with_source(str(args.scenario)) from None
    if args.json:
        json.dump(
            {"scenario": str(args.scenario), "base": base.name, "scope": args.scope,
             "reforms": [{"reform": name, **params, **({"group": g} if g else {})} for (name, params), g in zip(plan, groups)],
             "rows": _records(table)},
            sys.stdout, ensure_ascii=False, indent=2,
        )
        sys.stdout.write("\n")
        return 0
    print(views.attribution_text(table, str(args.scenario), args.scope))
    return 0


def cmd_validate(args) -> int:
    s = load_scenario(args.scenario)
    n_steps = sum(len(i.steps) for i in s.items)
    print(
        f"{args.scenario}: ok - {s.name!r}: {len(s.sites)} sites, {len(s.departments)} departments, "
        f"{len(s.windows)} window groups, {len(s.items)} items ({n_steps} back-office steps), "
        f"{len(s.externals)} externals, {len(s.case_types)} case types"
    )
    return 0


def cmd_reforms(args) -> int:
    from .reforms import REFORMS

    if args.name is None:
        print(views.reforms_text())
        return 0
    r = REFORMS.get(args.name)
    if r is None:
        print(f"error: unknown reform {args.name!r}; known: {', '.join(REFORMS)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(views.reform_text(r))
    return 0


def cmd_report(args) -> int:
    from .charts.report import ReportInputError, build_report

    try:
        path = build_report(args.results_dir, lang=args.lang)
    except ReportInputError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(path)
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: exit 2 with a one-line reason
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def running_count(update: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """A progress callback for batches run one after another, each reporting (done, total) from 1 up: one count.

    Within a batch ``done`` rises by one a call, so a call that does not go
    on from the last one (or follows a finished batch) starts the next batch.
    """
    state = {"base": 0, "last": 0, "total": 0}

    def progress(done: int, total: int) -> None:
        if state["last"] and (done <= state["last"] or state["last"] >= state["total"]):
            state["base"] += state["last"]
        state["last"], state["total"] = done, total
        update(state["base"] + done, state["base"] + total)

    return progress


def _whole_number(low: int, rule: str):
    """argparse type: a whole number >= ``low``; ``rule`` words the bound in messages."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {v}")
        return v

    return parse


_positive_int = _whole_number(1, "at least 1")
_seed = _whole_number(0, ">= 0")
_count = _seed  # a whole number >= 0


def _add_execution_options(parser) -> None:
    parser.add_argument("--workers", type=_positive_int, default=None,
                        help="local processes (default: every core; 1 runs in this process)")
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="run on a Dask scheduler, e.g. tcp://host:8786 (default: $APPROVAL_SIM_CLUSTER, else local)")


def cmd_sweep(args) -> int:
    from .execution.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.file)
    store = Path(args.store) if args.store else Path("results") / f"{sweep.name}.sqlite"
    out = Path(args.out) if args.out else store.with_suffix(".csv")
    executor = _executor(args)
    points = len(sweep.parameter_points()) * len(sweep.scenarios)
    print(f"sweep {sweep.name}: {points} points x {sweep.replications} replications on {executor.description}; "
          f"store {store} (finished replications are kept: run again to resume)", file=sys.stderr)
    with Progress(None, "replications still to run") as bar:
        table = run_sweep(sweep, store, executor, progress=bar.update)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.drop(columns=["model_hash"]).to_csv(tmp, index=False)
        tmp.replace(out)  # a reader never sees half a table
    except OSError as exc:  # the replications are safe in the store: say so
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise ScenarioError([Problem("--out", f"cannot write the table ({exc.strerror or exc}); "
                                              f"the finished replications are kept in {store}")], str(out)) from None
    print(views.sweep_text(table.drop(columns=["model_hash"])))
    print(f"table: {out}", file=sys.stderr)
    return 0


def cmd_optimise(args) -> int:
    from .export import check_out_dir, write_optimisation
    from .optimise import load_spec, optimise

    spec = load_spec(args.spec)
    if args.out:
        check_out_dir(args.out)  # refuse an existing folder with files before hours of search
    executor = _executor(args)
    what = "staffing / 人员配置" if spec.kind == "staffing" else "reform package / 改革组合"
    targets = "; ".join(t.describe() for t in spec.targets) if len(spec.targets) <= 2 else f"{len(spec.targets)} (see the spec)"
    if spec.objective is not None:
        o = spec.objective
        targets = (f"the lowest {o.minimise} [{o.scope}] within {o.budget_yuan_per_year:,.0f} yuan a year"
                   + (f"; targets {targets}" if spec.targets else ""))
    print(f"optimise {spec.name}: {what} on {executor.description}; targets / 目标: {targets}", file=sys.stderr)
    bar = Progress(None, "replications", growing=True)
    progress = running_count(bar.update)
    with bar:
        res = optimise(spec, seed=args.seed, fast=args.fast, executor=executor, progress=progress, say=bar.note)
    if args.json:
        print(json.dumps(res.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print(views.optimisation_text(res))
    if args.out:
        write_optimisation(res, args.out)
        print(f"results: {args.out} (best_scenario.yaml, candidates.csv, final.csv, result.json, pareto charts)", file=sys.stderr)
    return 0 if res.chosen is not None else 1


def cmd_calibrate(args) -> int:
    from .calibrate.draft import CalibrationError, calibrate
    from .calibrate.output import write_report, write_scenario
    from .calibrate.report import fit_report
    from .eventlog.read import LogError, parse_mapping, read_log
    from .export import check_out_dir

    out = Path(args.out)
    if out.exists():
        print(f"error: {out}: already exists; choose another --out (nothing was written)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.report:
        check_out_dir(args.report)
    import pandas as pd

    try:
        pd.Timestamp("2025-01-01").tz_localize(args.timezone)
    except Exception:  # noqa: BLE001 - any failure means the zone is unknown
        print(f"error: --timezone: unknown time zone {args.timezone!r} (e.g. Asia/Shanghai, Europe/Amsterdam, +08:00)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        log = read_log(args.log, parse_mapping(args.map), timezone=args.timezone, encoding=args.encoding)
        cal = calibrate(log, args.decided_by, args.loop or (), hold_out=args.hold_out, replications=args.reps,
                        seed=12345 if args.seed is None else args.seed, loop_until=args.loop_until or (), by=args.by,
                        stage_share=args.stage_share, max_stages=args.max_stages, fit_since=args.fit_since)
    except LogError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (CalibrationError, ScenarioError) as exc:
        print(f"error: {args.log}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, KeyError) as exc:  # a log the estimates cannot be made from: say so, no traceback
        print(f"error: {args.log}: cannot calibrate from this log: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"calibrate: {log.cases:,} cases, {len(log.events):,} events; held out from {cal.split:%Y-%m-%d}; "
          f"log ends {cal.log_end:%Y-%m-%d}", file=sys.stderr)
    with Progress(args.reps) as bar:
        fit = fit_report(cal, args.reps, args.seed, executor=_executor(args), progress=bar.update)
    if args.report:
        write_report(cal, fit, fit.sim_cases, args.report, Path(args.log).name,
                     command="approval-sim " + " ".join(sys.argv[1:]))
    write_scenario(cal, out, Path(args.log).name)
    print(views.calibration_text(cal, fit, str(out), args.report))
    return 0


def cmd_web(args) -> int:
    """The planners' page: ``streamlit run sim/web/app.py`` on this machine only, nothing opened outside."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("streamlit") is None:
        raise ScenarioError([Problem("web", "the page needs Streamlit: pip install -e '.[web]'")], "approval-sim web")
    app = Path(__file__).resolve().parent / "web" / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
           "--server.address", args.address, "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    print(f"approval-sim web: http://{args.address}:{args.port} (Ctrl-C stops it) / 规划人员网页", file=sys.stderr)
    return subprocess.call(cmd)


def cmd_experiment(args) -> int:
    from .experiments import list_experiments, run_experiment

    if args.list or not args.name:
        print(views.experiments_text(list_experiments()))
        return 0
    command = "approval-sim experiment " + " ".join(
        [args.name] + (["--fast"] if args.fast else []) + ([f"--out {args.out}"] if args.out else [])
    )
    bar = Progress(None, "replications", growing=True)
    progress = running_count(bar.update)
    with bar:
        path = run_experiment(
            args.name, fast=args.fast, out=args.out, workers=args.workers, command=command, progress=progress,
            executor=_executor(args),
        )
    print(f"results: {path}")
    claims = path / "tables" / "claims.csv"
    if claims.is_file():
        import pandas as pd

        t = pd.read_csv(claims)
        counts = t["verdict"].value_counts()
        print("verdicts / 结论: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    report = path / "report.html"
    if report.is_file():
        print(f"report: {report}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="approval-sim", description="Simulate government approval processes and their reforms.")
    p.add_argument("--version", action="version", version=f"approval-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a scenario and report KPIs with 95%% confidence intervals")
    r.add_argument("scenario", help="scenario file (YAML)")
    r.add_argument("--reps", type=_positive_int, default=None, help="replications (default: the file's run.replications)")
    r.add_argument("--seed", type=_seed, default=None, help="random seed (default: the file's run.seed)")
    r.add_argument("--out", default=None, help="new directory for CSV tables and summary.json")
    r.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    r.add_argument("--trace", action="store_true", help="also record every activity (activities.csv with --out)")
    r.add_argument("--log", default=None, metavar="FILE",
                   help="write an event log to this new file: .csv, .xes, .xes.gz, .jsonocel or .ocel.json (OCEL 2.0)")
    r.add_argument("--log-timezone", default=None, metavar="ZONE",
                   help="time zone of the log's timestamps: an IANA name or +HH:MM (default Asia/Shanghai)")
    r.add_argument("--summary-only", action="store_true",
                   help="keep no per-case tables: memory stays flat however many cases (p90s within 0.5%%)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check a scenario file and explain every problem")
    v.add_argument("scenario", help="scenario file (YAML)")
    v.set_defaults(func=cmd_validate)

    c = sub.add_parser("compare", help="compare scenarios with common random numbers")
    c.add_argument("base", help="base scenario file")
    c.add_argument("others", nargs="+", help="scenario files to compare with the base")
    c.add_argument("--reps", type=_positive_int, default=None)
    c.add_argument("--seed", type=_seed, default=None)
    c.add_argument("--json", action="store_true", help="print values, paired differences and compression rates as JSON")
    c.add_argument("--out", default=None, help="new directory for comparison.csv")
    c.add_argument("--scope", action="append", default=None,
                   help="all (default), case_type:<id> or station:<id>; repeat for several tables")
    c.set_defaults(func=cmd_compare)

    b = sub.add_parser("bottlenecks", help="which queues, steps and waits make up the lead time")
    b.add_argument("scenario", help="scenario file (YAML)")
    b.add_argument("--reps", type=_positive_int, default=None, help="replications (default: 3, or fewer if the file says so)")
    b.add_argument("--case-type", default=None, help="only cases of this type")
    b.add_argument("--seed", type=_seed, default=None)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bottlenecks)

    a = sub.add_parser("attribute", help="split a reformed file's saving among its reforms (Shapley values)")
    a.add_argument("scenario", help="a reformed scenario file (with base: and reforms:)")
    a.add_argument("--kpi", action="append", choices=sorted(KPIS), metavar="KPI",
                   help="KPI to attribute (repeat for several; default lead_time_working_days_mean)")
    a.add_argument("--scope", default="all", help="all, case_type:<id> or station:<id>")
    a.add_argument("--reps", type=_positive_int, default=None)
    a.add_argument("--seed", type=_seed, default=None)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_attribute)

    x = sub.add_parser("experiment", help="run a reproducible experiment (claims, robustness, charts, report)")
    x.add_argument("name", nargs="?", help="an experiment in experiments/ (e.g. seed-claims), or a spec file")
    x.add_argument("--list", action="store_true", help="list the experiments, one a line")
    x.add_argument("--fast", action="store_true", help="a reduced version: fewer replications, shorter horizon")
    x.add_argument("--out", help="new results folder (default results/NAME-TIMESTAMP)")
    x.set_defaults(func=cmd_experiment)
    for cmd in (r, c, a, x):
        _add_execution_options(cmd)
    w = sub.add_parser("sweep", help="run a grid of parameter values x scenarios x replications (resumable)")
    w.add_argument("file", help="sweep file (YAML)")
    w.add_argument("--store", help="SQLite store of finished replications (default results/NAME.sqlite)")
    w.add_argument("--out", help="CSV table of every point (default: the store's name with .csv)")
    w.set_defaults(func=cmd_sweep)
    _add_execution_options(w)

    o = sub.add_parser("optimise", aliases=["optimize"],
                       help="find the cheapest staffing or reform package that meets targets, with the evidence")
    o.add_argument("spec", help="optimisation spec file (YAML), e.g. experiments/optimise-yumen-staffing.yaml")
    o.add_argument("--fast", action="store_true", help="the spec's reduced settings: a quick look, not a result")
    o.add_argument("--seed", type=_seed, default=None, help="random seed (default: the spec's)")
    o.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    o.add_argument("--out", default=None, help="new directory for the chosen scenario, the tables and the Pareto chart")
    o.set_defaults(func=cmd_optimise)
    _add_execution_options(o)

    g = sub.add_parser("web", help="the planners' page in a browser: pick a scenario, switch reforms on, compare")
    g.add_argument("--port", type=_positive_int, default=8501, help="port (default 8501)")
    g.add_argument("--address", default="127.0.0.1", help="address to listen on (default: this machine only)")
    g.set_defaults(func=cmd_web)

    f = sub.add_parser("reforms", help="list the reform catalogue, or explain one reform")
    f.add_argument("name", nargs="?", default=None, help="reform to explain")
    f.set_defaults(func=cmd_reforms)

    k = sub.add_parser("calibrate", help="a draft scenario from an event log (CSV or XES), with a fit report")
    k.add_argument("log", help="the event log: CSV (one row per event, or per case with time columns) or XES (.xes, .xes.gz)")
    k.add_argument("--out", required=True, help="the draft scenario file to write (YAML; never overwritten)")
    k.add_argument("--decided-by", action="append", required=True, metavar="ACTIVITY",
                   help="an activity that records the decision (办结); repeat for several")
    k.add_argument("--loop", action="append", metavar="ACTIVITY",
                   help="an activity that requests missing documents (补正); repeat for several")
    k.add_argument("--loop-until", action="append", metavar="ACTIVITY",
                   help="an activity that ends the applicant's turnaround (documents received); default: the next event")
    k.add_argument("--map", action="append", metavar="ROLE=COLUMN",
                   help="which column is the case, activity, timestamp, start, resource, item, case_type; "
                        "event:NAME=COLUMN for a column of times (one row per case)")
    k.add_argument("--by", choices=["item", "case_type"], default=None,
                   help="calibrate each item (事项) or case type with enough decided cases as its own case type")
    k.add_argument("--stage-share", type=float, default=0.8, metavar="SHARE",
                   help="an activity in this share of decided cases is a stage (a step of the draft; default 0.8)")
    k.add_argument("--max-stages", type=_count, default=12, metavar="N",
                   help="at most N stages, the most frequent activities (default 12; 0: one review step to the decision)")
    k.add_argument("--encoding", default=None, help="text encoding of a CSV log (default: UTF-8, else GB18030)")
    k.add_argument("--timezone", default="Asia/Shanghai", help="zone of times written without an offset (default Asia/Shanghai)")
    k.add_argument("--hold-out", type=float, default=0.2, help="share of the log's span held out at its end (default 0.2)")
    k.add_argument("--fit-since", default=None, metavar="DATE",
                   help="leave out cases arriving before DATE (e.g. before a reorganisation); the held-out tail stays put")
    k.add_argument("--reps", type=_positive_int, default=10, help="replications of the fit report (default 10)")
    k.add_argument("--seed", type=_seed, default=None)
    k.add_argument("--report", default=None, metavar="DIR", help="write the fit report (tables, charts, report.html) here")
    _add_execution_options(k)
    k.set_defaults(func=cmd_calibrate)

    h = sub.add_parser("report", help="write one self-contained HTML report of an experiment's results directory")
    h.add_argument("results_dir", help="results directory written by an experiment (with manifest.json)")
    h.add_argument("--lang", choices=["en", "zh", "both"], default="both", help="language of the report (default: both)")
    h.set_defaults(func=cmd_report)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that clean-up (temporary folders) runs."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _has_files(out) -> bool:
    p = Path(out)
    return p.is_dir() and any(p.iterdir())


def _leftovers(out) -> set[Path]:
    p = Path(out)
    return set(p.parent.glob(f".{p.name}.*")) if p.parent.is_dir() else set()


def _run_log(args) -> str | None:
    """The event log ``run --log`` writes (other commands' ``log`` is an input)."""
    return getattr(args, "log", None) if getattr(args, "command", None) == "run" else None


def _interrupted(exc: KeyboardInterrupt, args, before: tuple[bool, set], log_before: bool = False) -> str:
    """What an interrupt left behind, in one line: complete output or none, never a half-written folder."""
    how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted (Ctrl-C)"
    said = _output_left(args, before)
    log = _run_log(args)
    if log and not log_before:  # run --log: the log is complete (linked into place) or not there at all
        done = (f"{log} is complete (it was written before the interrupt)" if Path(log).exists()
                else f"{log} was not written (nothing half-written was left)")
        said = done if said == "nothing was written" else f"{done}; {said}"
    return f"{how}: {said}"


def _output_left(args, before: tuple[bool, set]) -> str:
    out = getattr(args, "out", None)
    if not out:
        if getattr(args, "command", "") == "experiment":
            return "no results folder was written (one appears only when complete)"
        return "nothing was written"
    had_files, old_tmp = before
    left = sorted(_leftovers(out) - old_tmp)
    if left:
        return f"{out} was not completed; remove the temporary folder {left[0]}"
    if not had_files and _has_files(out):
        return f"{out} is complete (it was written before the interrupt)"
    return f"{out} was not written (nothing half-written was left)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = getattr(args, "out", None)
    before = (_has_files(out), _leftovers(out)) if out else (False, set())
    log = _run_log(args)
    log_before = bool(log) and Path(log).exists()
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        print(_interrupted(exc, args, before, log_before), file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, like other tools
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def entry(argv: Sequence[str] | None = None) -> int:
    """The ``approval-sim`` program: :func:`main`, then, after Ctrl-C or SIGTERM, exit at once.

    By then the output folder is cleaned up and the message printed.  A normal
    interpreter exit would join the worker pool's threads, and a worker stopped
    mid-way through sending a result leaves them waiting for bytes that never
    come; so the program flushes its streams and leaves without that join.
    """
    code = main(argv)
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(entry())
