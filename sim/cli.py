"""Command line: ``approval-sim run | validate``.

A thin layer over the Python API.  Bad input (files, fields, options) is
reported as ``file: field.path: what is wrong`` with exit status 2 and no
traceback; an existing output directory with files is never overwritten.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import Sequence

from . import __version__
from .errors import ScenarioError
from .kpis import CASE_KPIS, KPIS, STATION_KPIS
from .loading import load_scenario

EXIT_BAD_INPUT = 2


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _table(rows: list[list[str]], right_cols: set[int]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(_pad(c, widths[i], i in right_cols) for i, c in enumerate(r)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _kpi_rows(summary, scope: str, kpis) -> list[list[str]]:
    sub = summary[summary["scope"] == scope].set_index("kpi")
    rows = [["KPI", "指标", "mean", "95% CI", "unit"]]
    for k in kpis:
        if k.name not in sub.index:
            continue
        r = sub.loc[k.name]
        if r["n"] == 0:
            continue
        ci = "-" if r["ci_low"] != r["ci_low"] else f"[{_fmt(r['ci_low'], k.unit)}, {_fmt(r['ci_high'], k.unit)}]"
        rows.append([k.name, k.zh, _fmt(r["mean"], k.unit), ci, k.unit])
    return rows


def render_summary(result) -> str:
    """The KPI tables printed by ``approval-sim run``."""
    s = result.scenario
    out = [
        f"{s.name}: {result.replications} replication(s), seed {result.seed}, "
        f"horizon {s.run.horizon_working_days:g} working days after {s.run.warmup_working_days:g} warm-up"
    ]
    out += ["", "All cases / 全部办件", _table(_kpi_rows(result.summary, "all", CASE_KPIS), {2})]
    if len(s.case_types) > 1:
        for ct in s.case_types:
            title = f"Case type {ct.id}" + (f" / {ct.name}" if ct.name else "")
            out += ["", title, _table(_kpi_rows(result.summary, f"case_type:{ct.id}", CASE_KPIS), {2})]
    summary = result.summary
    rows = [["station", "kind", "positions"] + [f"{k.name} / {k.zh}" for k in STATION_KPIS]]
    for st in result.stations.drop_duplicates("station").itertuples(index=False):
        sub = summary[summary["scope"] == f"station:{st.station}"].set_index("kpi")
        rows.append(
            [st.station, st.kind, str(st.capacity)]
            + [_fmt(sub.loc[k.name, "mean"], k.unit) if k.name in sub.index else "-" for k in STATION_KPIS]
        )
    out += ["", "Windows and back-office roles / 窗口与后台岗位 (means over replications)", _table(rows, set(range(2, 3 + len(STATION_KPIS))))]
    return "\n".join(out)


def _progress_bar(total: int):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None, None
    bar = tqdm(total=total, desc="replications", unit="rep", file=sys.stderr, delay=0.5, leave=False, disable=None)

    def update(done, _total):
        bar.update(done - bar.n)

    return bar, update


def cmd_run(args) -> int:
    from .export import OutputExists, check_out_dir, write_run
    from .runner import run

    scenario = load_scenario(args.scenario)
    if args.out:
        check_out_dir(args.out)  # fail before spending time on the run
    reps = args.reps if args.reps is not None else scenario.run.replications
    bar, update = _progress_bar(reps)
    try:
        result = run(scenario, replications=reps, seed=args.seed, trace=args.trace, progress=update)
    finally:
        if bar is not None:
            bar.close()
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
        print(render_summary(result))
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
    bar, update = _progress_bar(n * len(scenarios))
    try:
        results, table = compare(scenarios, n, args.seed, progress=update)
    finally:
        if bar is not None:
            bar.close()
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
    scopes = args.scope or ["all"]
    for k, r in enumerate(results[1:], start=1):
        for scope in scopes:
            print(f"{results[0].scenario.name}  ->  {r.scenario.name}  ({n} paired replications, seed {r.seed})"
                  + ("" if scope == "all" else f"  [{scope}]"))
            print(_compare_rows(table, k, scope))
            print()
    return 0


def _records(table) -> list[dict]:
    """Rows of a table as JSON-ready records (NaN becomes null)."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in table.to_dict(orient="records")]


def _scopes(s) -> list[str]:
    """Result scopes of a scenario: all cases, each case type, each window group and department role."""
    return (
        ["all"]
        + [f"case_type:{c.id}" for c in s.case_types]
        + [f"station:{w.id}" for w in s.windows]
        + [f"station:{d.id}.{role}" for d in s.departments for role in d.staff]
    )


def _compare_rows(table, k: int, scope: str) -> str:
    """Text table of one scenario against the base in one scope."""
    sub = table[(table["index"] == k) & (table["scope"] == scope)].set_index("kpi")
    if sub.empty:
        return f"(no {scope} in this scenario)"
    base = table[(table["index"] == 0) & (table["scope"] == scope)].set_index("kpi")["mean"]
    rows = [["KPI", "指标", "base", "new", "difference [95% CI]", "压缩率 compression [95% CI]"]]
    for kd in STATION_KPIS if scope.startswith("station:") else CASE_KPIS:
        if kd.name not in sub.index or sub.loc[kd.name, "n"] == 0 or kd.name not in base.index:
            continue
        row = sub.loc[kd.name]
        comp = "-" if row["compression_ci_low"] != row["compression_ci_low"] else (
            f"{100 * row['compression_mean']:.1f}% [{100 * row['compression_ci_low']:.1f}%, {100 * row['compression_ci_high']:.1f}%]"
        )
        diff = "-" if row["diff_ci_low"] != row["diff_ci_low"] else (
            f"{_fmt(row['diff_mean'], kd.unit)} [{_fmt(row['diff_ci_low'], kd.unit)}, {_fmt(row['diff_ci_high'], kd.unit)}]"
        )
        rows.append([kd.name, kd.zh, _fmt(base[kd.name], kd.unit), _fmt(row["mean"], kd.unit), diff, comp])
    return _table(rows, {2, 3})


def cmd_bottlenecks(args) -> int:
    from .bottlenecks import decompose_runs

    scenario = load_scenario(args.scenario)
    seed = scenario.run.seed if args.seed is None else args.seed
    reps = args.reps if args.reps is not None else min(scenario.run.replications, 3)
    if args.case_type is not None and args.case_type not in {c.id for c in scenario.case_types}:
        known = ", ".join(c.id for c in scenario.case_types)
        print(f"error: {args.scenario}: --case-type: no case type {args.case_type!r} (known: {known})", file=sys.stderr)
        return EXIT_BAD_INPUT
    d = decompose_runs(scenario, reps, seed, args.case_type)
    if args.json:
        json.dump(
            {"scenario": scenario.name, "case_type": args.case_type, "seed": seed, "replications": reps,
             "rows": _records(d)},
            sys.stdout, ensure_ascii=False, indent=2,
        )
        sys.stdout.write("\n")
        return 0
    rows = [["where the lead time goes / 时长构成", "working minutes per case [95% CI]", "share [95% CI]"]]
    for r in d.itertuples(index=False):
        ci = "" if r.ci_low != r.ci_low else f" [{r.ci_low:,.1f}, {r.ci_high:,.1f}]"
        sci = "" if r.share_ci_low != r.share_ci_low else f" [{100 * r.share_ci_low:.1f}%, {100 * r.share_ci_high:.1f}%]"
        rows.append([r.category, f"{r.working_minutes_per_case:,.1f}{ci}", f"{100 * r.share:.1f}%{sci}"])
    scope = f", case type {args.case_type}" if args.case_type else ""
    print(f"{scenario.name}: critical-path decomposition of lead time{scope} ({reps} replication(s), seed {seed})")
    print("queue:X = waiting for window or role X, service:X = being served there; working minutes")
    print(_table(rows, {1, 2}))
    return 0


def cmd_attribute(args) -> int:
    from .attribution import shapley
    from .kpis import KPIS as _K
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
    runs = 2**k if k <= 8 else None
    bar, update = _progress_bar(runs) if runs else (None, None)
    try:
        table = shapley(base, plan, kpi=kpis, scope=args.scope, replications=args.reps, seed=args.seed,
                        progress=(lambda done: update(done, runs)) if update else None, groups=groups)
    except ScenarioError as exc:
        raise exc.with_source(str(args.scenario)) from None
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        json.dump(
            {"scenario": str(args.scenario), "base": base.name, "scope": args.scope,
             "reforms": [{"reform": name, **params, **({"group": g} if g else {})} for (name, params), g in zip(plan, groups)],
             "rows": _records(table)},
            sys.stdout, ensure_ascii=False, indent=2,
        )
        sys.stdout.write("\n")
        return 0
    for kpi, sub in table.groupby("kpi", sort=False):
        unit = _K[kpi].unit if kpi in _K else ""
        rows = [["reform", "Shapley value [95% CI]", "share", "alone", "last", "sampling se"]]
        for r in sub.itertuples(index=False):
            ci = "" if r.ci_low != r.ci_low else f" [{r.ci_low:.4g}, {r.ci_high:.4g}]"
            se = "-" if r.reform == "total" or r.method == "exact" else f"{r.sampling_se:.2g}"
            rows.append([r.reform, f"{r.shapley_mean:.4g}{ci}", f"{100 * r.share_of_total:.1f}%", f"{r.alone_mean:.4g}", f"{r.last_mean:.4g}", se])
        label = f"{_K[kpi].zh} / {kpi}" if kpi in _K else kpi
        print(f"{args.scenario}: change in {label} ({unit}, scope {args.scope}) from the base to base + all reforms")
        print(f"split by reform (Shapley values, {sub['method'].iloc[0]}; {int(sub['n'].iloc[0])} paired replications, 95% CIs)")
        print("alone: the reform switched on by itself; last: switched off from the full package")
        print(_table(rows, {1, 2, 3, 4, 5}))
        print()
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
    import inspect

    from .reforms import REFORMS

    if args.name is None:
        width = max(len(n) for n in REFORMS)
        for r in REFORMS.values():
            print(f"{r.name.ljust(width)}  {r.zh}  - {r.mechanism}")
        return 0
    r = REFORMS.get(args.name)
    if r is None:
        print(f"error: unknown reform {args.name!r}; known: {', '.join(REFORMS)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{r.name} / {r.zh}\n")
    print(inspect.getdoc(r.function))
    print("\nparameters:")
    for p in r.parameters:
        default = "required" if p.required else f"default {p.default!r}"
        print(f"  {p.name}: {default}" + (f" - {p.description}" if p.description else ""))
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


def cmd_experiment(args) -> int:
    from .experiments import list_experiments, run_experiment

    if args.list or not args.name:
        for e in list_experiments():
            title = e.title_en + (f" / {e.title_zh}" if e.title_zh else "")
            print(f"{e.name:22s} {title}")
        return 0
    command = "approval-sim experiment " + " ".join(
        [args.name] + (["--fast"] if args.fast else []) + ([f"--out {args.out}"] if args.out else [])
    )
    bar, _ = _progress_bar(0)
    state = {"base": 0, "last": 0}

    def progress(done, total):  # batches of replications one after another: one running count
        if bar is None:
            return
        if done < state["last"]:
            state["base"] += state["last"]
        state["last"] = done
        bar.total = max(bar.total or 0, state["base"] + total)
        bar.update(state["base"] + done - bar.n)

    try:
        path = run_experiment(
            args.name, fast=args.fast, out=args.out, workers=args.workers, command=command, progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
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
    x.add_argument("--workers", type=_whole_number(1, "at least 1"), help="processes (default: every core)")
    x.set_defaults(func=cmd_experiment)
    f = sub.add_parser("reforms", help="list the reform catalogue, or explain one reform")
    f.add_argument("name", nargs="?", default=None, help="reform to explain")
    f.set_defaults(func=cmd_reforms)

    h = sub.add_parser("report", help="write one self-contained HTML report of an experiment's results directory")
    h.add_argument("results_dir", help="results directory written by an experiment (with manifest.json)")
    h.add_argument("--lang", choices=["en", "zh", "both"], default="both", help="language of the report (default: both)")
    h.set_defaults(func=cmd_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
