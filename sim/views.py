"""What each command prints: KPI tables, comparisons, bottlenecks, attribution, the reform catalogue.

Pure functions from results to text, built on :mod:`sim.terminal` (widths,
numbers, tables); the command line only chooses which to print.
"""

from __future__ import annotations

import inspect

import pandas as pd

from .kpis import CASE_KPIS, KPIS, STATION_KPIS, KPI
from .terminal import NA, RULE, WIDTH, Span, decimals, hanging, interval, is_share, num, table, unit_text

__all__ = [
    "summary_text", "compare_text", "bottlenecks_text", "attribution_text", "reforms_text", "reform_text",
    "experiments_text",
]

CI_NOTE = "95% confidence intervals over replications as [low; high]; n/a: no such value in this scope"


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


# the terminal's station table: the 90th percentile wait is in the CSV tables and JSON, the line stays within 100 columns
_STATION_COLUMNS = tuple(k for k in STATION_KPIS if k.name != "wait_minutes_p90")


def _scaled(unit: str, *values: float) -> tuple[list[float], int]:
    """Values as printed (shares in percent) and their common decimals."""
    if is_share(unit):
        return [100 * float(v) for v in values], 1
    vals = [float(v) for v in values]
    return vals, decimals(vals)


# -- run ------------------------------------------------------------------------------------------------
def _kpi_table(summary: pd.DataFrame, scope: str, kpis: list[KPI]) -> str:
    sub = summary[summary["scope"] == scope].set_index("kpi")
    rows = [["KPI", "mean", "95% CI", "unit", "指标"]]
    for k in kpis:
        unit = unit_text(k.unit)
        if k.name not in sub.index or sub.loc[k.name, "n"] == 0:
            rows.append([k.name, NA, "", unit, k.zh])
            continue
        r = sub.loc[k.name]
        (m, lo, hi), dec = _scaled(k.unit, r["mean"], r["ci_low"], r["ci_high"])
        rows.append([k.name, num(m, dec), interval(lo, hi, dec), unit, k.zh])
    return table(rows, "l.lll", fill=4)


def _station_table(result) -> str:
    summary = result.summary
    stations = result.stations.drop_duplicates("station")[["station", "kind", "capacity"]]
    means = {
        st: summary[summary["scope"] == f"station:{st}"].set_index("kpi")["mean"] for st in stations["station"]
    }
    dec = {
        k.name: 1 if is_share(k.unit) else decimals(m.get(k.name, float("nan")) for m in means.values())
        for k in _STATION_COLUMNS
    }
    heads = {  # short English and Chinese headers; the unit goes on the third line
        "utilisation": ("utilisation", "利用率"),
        "queue_length_mean": ("mean queue", "平均队长"),
        "queue_length_max": ("max queue", "最大队长"),
        "wait_minutes_mean": ("mean wait", "平均等候"),
        "visits_per_day": ("services", "日均服务量"),
    }
    rows: list = [
        ["station", "staff"] + [heads.get(k.name, (k.name, k.zh))[0] for k in _STATION_COLUMNS],
        ["", "岗位数"] + [heads.get(k.name, (k.name, k.zh))[1] for k in _STATION_COLUMNS],
        ["", ""] + [unit_text(k.unit) for k in _STATION_COLUMNS],
    ]
    for kind, title in (("window", "windows / 窗口"), ("back_office", "back-office roles / 后台岗位")):
        group = stations[stations["kind"] == kind]
        if group.empty:
            continue
        rows.append(Span({0: title}))
        for st in group.itertuples(index=False):
            m = means[st.station]
            cells = []
            for k in _STATION_COLUMNS:
                v = m.get(k.name, float("nan"))
                cells.append(num(100 * v if is_share(k.unit) else v, dec[k.name]))
            rows.append(["  " + st.station, str(st.capacity)] + cells)
    return table(rows, "lr" + "." * len(_STATION_COLUMNS), header=3)


def summary_text(result) -> str:
    """The KPI tables printed by ``approval-sim run``."""
    s = result.scenario
    n = result.replications
    out = [
        s.name,
        f"{_plural(n, 'replication')}, seed {result.seed}; horizon {_plural(s.run.horizon_working_days, 'working day')} "
        f"after a warm-up of {_plural(s.run.warmup_working_days, 'working day')}",
        CI_NOTE,
        *([] if n > 1 else ["(one replication gives no interval: use --reps 2 or more)"]),
        *([] if getattr(result, "per_case", True) else [
            "summary-only / 仅汇总: no per-case tables; 90th percentiles within 0.5% of exact"]),
        "",
        "All cases / 全部办件",
        _kpi_table(result.summary, "all", list(CASE_KPIS)),
    ]
    if len(s.case_types) > 1:
        summary = result.summary
        present = set(summary.loc[summary["scope"].str.startswith("case_type:"), "kpi"])
        kpis = [k for k in CASE_KPIS if k.name in present]  # catalogue-level KPIs have no per-type value
        for ct in s.case_types:
            title = f"Case type {ct.id}" + (f" / {ct.name}" if ct.name else "")
            out += ["", *hanging(title, WIDTH, 2), _kpi_table(summary, f"case_type:{ct.id}", kpis)]
    out += ["", "Windows and back-office roles / 窗口与后台岗位 (means over replications)", _station_table(result)]
    return "\n".join(out)


# -- compare -------------------------------------------------------------------------------------------
def _compare_table(table_: pd.DataFrame, k: int, scope: str) -> str:
    sub = table_[(table_["index"] == k) & (table_["scope"] == scope)].set_index("kpi")
    if sub.empty:
        return f"(no {scope} in this scenario)"
    base = table_[(table_["index"] == 0) & (table_["scope"] == scope)].set_index("kpi")
    rows: list = [["KPI  指标", "before", "after", "difference [95% CI]", "压缩率 % [95% CI]"]]
    for kd in STATION_KPIS if scope.startswith("station:") else CASE_KPIS:
        if kd.name not in base.index and kd.name not in sub.index:
            continue
        b = base.loc[kd.name] if kd.name in base.index else None
        r = sub.loc[kd.name] if kd.name in sub.index else None
        b_mean = b["mean"] if b is not None and b["n"] > 0 else float("nan")
        if r is None or r["n"] == 0:
            r_mean, d_mean, d_lo, d_hi = (float("nan"),) * 4
        else:
            r_mean, d_mean, d_lo, d_hi = r["mean"], r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"]
        (bm, rm, dm, dlo, dhi), dec = _scaled(kd.unit, b_mean, r_mean, d_mean, d_lo, d_hi)
        dec = 1 if is_share(kd.unit) else decimals([bm, rm])
        diff = NA if num(dm, dec) == NA else f"{num(dm, dec)} {interval(dlo, dhi, dec)}".replace(f" {NA}", "")
        if r is None or r["compression_mean"] != r["compression_mean"]:
            comp = NA
        else:
            c = [100 * r[x] for x in ("compression_mean", "compression_ci_low", "compression_ci_high")]
            comp = f"{num(c[0], 1)} {interval(c[1], c[2], 1)}".replace(f" {NA}", "")
        rows.append([kd.name, num(bm, dec), num(rm, dec), diff, comp])
        rows.append(Span({0: "  " + kd.zh, 1: unit_text(kd.unit)}))
    return table(rows, "l..ll")


def compare_text(results, table_: pd.DataFrame, scopes: list[str]) -> str:
    """The tables printed by ``approval-sim compare``: each scenario against the base, per scope."""
    n = results[0].replications
    blocks = []
    for k, r in enumerate(results[1:], start=1):
        for scope in scopes:
            head = [
                f"before: {results[0].scenario.name}",
                f"after:  {r.scenario.name}",
                "压缩率 (compression) = 1 - after/before, for KPIs where less is better (n/a for the others)",
                f"{_plural(n, 'paired replication')}, seed {r.seed}; 95% confidence intervals as [low; high]"
                + ("" if scope == "all" else f"  [{scope}]"),
            ]
            blocks.append("\n".join(head + [_compare_table(table_, k, scope)]))
    return "\n\n".join(blocks) + "\n"


# -- bottlenecks --------------------------------------------------------------------------------------
def bottlenecks_text(d: pd.DataFrame, scenario, case_type: str | None, reps: int, seed: int, day_minutes: float) -> str:
    """The critical-path table printed by ``approval-sim bottlenecks``, with its total (the mean lead time)."""
    from .bottlenecks import category_zh

    rows: list = [["where the lead time goes", "时长构成", "work min", "95% CI", "share", "95% CI"],
                  ["", "", "per case", "", "%", ""]]
    body = d[d["category"] != "total"]
    total = d[d["category"] == "total"]
    for r in body.itertuples(index=False):
        rows.append([
            r.category, category_zh(r.category),
            num(r.working_minutes_per_case, 1), interval(r.ci_low, r.ci_high, 1),
            num(100 * r.share, 1), interval(100 * r.share_ci_low, 100 * r.share_ci_high, 1),
        ])
    lines = [
        *hanging(f"{scenario.name}: where the lead time goes" + (f", case type {case_type}" if case_type else ""), WIDTH, 2),
        f"critical path of completed cases, {_plural(reps, 'replication')}, seed {seed}; "
        f"working minutes (one working day = {day_minutes:g})",
        "queue:X = waiting for window or role X, service:X = being served there; 95% CIs as [low; high]",
    ]
    if not total.empty:
        t = total.iloc[0]
        rows += [RULE, [
            "total = mean lead time", "合计",
            num(t.working_minutes_per_case, 1), interval(t.ci_low, t.ci_high, 1), num(100.0, 1), "",
        ]]
    lines.append(table(rows, "ll.l.l", header=2, fill=0))
    if not total.empty:
        days = [x / day_minutes for x in (t.working_minutes_per_case, t.ci_low, t.ci_high)]
        lines.append(f"mean lead time / 平均办理时长: {num(days[0], 2)} working days {interval(days[1], days[2], 2)}"
                     .replace(f" {NA}", ""))
    return "\n".join(lines)


# -- attribution ---------------------------------------------------------------------------------------
def _reform_zh(label: str) -> str:
    from .reforms import REFORMS

    r = REFORMS.get(label.split("[", 1)[0])
    return r.zh.split(" / ", 1)[0] if r is not None else ""


def attribution_text(table_: pd.DataFrame, source: str, scope: str) -> str:
    """The Shapley tables printed by ``approval-sim attribute``, one per KPI."""
    blocks = []
    for kpi, sub in table_.groupby("kpi", sort=False):
        k = KPIS.get(kpi)
        unit = k.unit if k else ""
        exact = sub["method"].iloc[0] == "exact"
        scale = 100.0 if is_share(unit) else 1.0
        # three significant digits of the total, and at least two of the smallest share of it
        phi = [abs(scale * v) for v in sub["shapley_mean"] if v == v and v != 0]
        dec = max(decimals([max(phi, default=0)], 3), decimals([min(phi, default=0)], 2)) if phi else 0
        u = unit_text(unit) if not is_share(unit) else "% points"
        head = ["reform", "改革", "Shapley value [95% CI]", "share", "alone", "last"] + ([] if exact else ["sampling se"])
        units = ["", "", u, "% of total", u, u] + ([] if exact else [u])
        rows: list = [head, units]
        for r in sub.itertuples(index=False):
            if r.reform == "total":
                rows.append(RULE)
            cells = [
                r.reform, "合计" if r.reform == "total" else _reform_zh(r.reform),
                f"{num(scale * r.shapley_mean, dec)} {interval(scale * r.ci_low, scale * r.ci_high, dec)}".replace(f" {NA}", ""),
                num(100 * r.share_of_total, 1), num(scale * r.alone_mean, dec), num(scale * r.last_mean, dec),
            ]
            if not exact:
                cells.append("" if r.reform == "total" else num(scale * r.sampling_se, dec + 1))
            rows.append(cells)
        label = f"{k.zh} / {kpi}" if k else kpi
        lines = [
            *hanging(f"{source}: change in {label}", WIDTH, 2),
            f"({unit_text(unit) if unit else 'no unit'}, scope {scope}) from the base to base + all reforms, "
            "split by reform",
            f"Shapley values, {sub['method'].iloc[0]}; {_plural(int(sub['n'].iloc[0]), 'paired replication')}; "
            "95% CIs as [low; high]",
            "alone: the reform switched on by itself; last: switched off from the full package",
            table(rows, "ll." + "." * (len(head) - 3), header=2),
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# -- reforms and experiments ----------------------------------------------------------------------------
def reforms_text() -> str:
    """The reform catalogue, one reform a row: name, Chinese names, mechanism."""
    from .reforms import REFORMS

    rows = [["reform", "改革", "what it changes"]]
    rows += [[r.name, r.zh, r.mechanism] for r in REFORMS.values()]
    return table(rows, "lll", limits={1: 20}, fill=2)


def _default(value) -> str:
    if value is None or (isinstance(value, (list, tuple, dict, set)) and not value):
        return "none"
    if isinstance(value, str):
        return value
    return repr(value)


def reform_text(r) -> str:
    """One reform: its names, its docstring and its parameters (``name: default X - meaning``)."""
    out = [f"{r.name} / {r.zh}", "", inspect.getdoc(r.function) or "", ""]
    if not r.parameters:
        return "\n".join(out + ["parameters: none"])
    out.append("parameters:")
    for p in r.parameters:
        default = "required" if p.required else f"default {_default(p.default)}"
        line = f"  {p.name}: {default}" + (f" - {p.description}" if p.description else "")
        out += hanging(line, WIDTH, 6)
    return "\n".join(out)


def experiments_text(experiments) -> str:
    """The experiments, one a line: name and title."""
    rows = [[e.name, e.title_en + (f" / {e.title_zh}" if e.title_zh else "")] for e in experiments]
    return table(rows, "ll", header=0, fill=1)



# -- sweep ----------------------------------------------------------------------------------------------
def sweep_text(t: pd.DataFrame) -> str:
    """One block per KPI and scope: a row per point with mean and 95% CI."""
    fixed = {"scope", "kpi", "mean", "ci_low", "ci_high", "std", "n"}
    params = [c for c in t.columns if c not in fixed]
    out = []
    for (scope, kpi), sub in t.groupby(["scope", "kpi"], sort=False):
        k = KPIS.get(kpi)
        unit = k.unit if k else ""
        title = f"{kpi}" + (f" / {k.zh}" if k else "") + f" ({unit_text(unit)}), scope {scope}"
        rows = [[*params, "mean", "95% CI", "n"]]
        for d in sub.to_dict("records"):
            (m, lo, hi), dec = _scaled(unit, d["mean"], d["ci_low"], d["ci_high"])
            rows.append([*(str(d[c]) for c in params), num(m, dec), interval(lo, hi, dec), str(int(d["n"]))])
        out += [title, table(rows, "l" * len(params) + "rlr"), ""]
    return "\n".join(out).rstrip()


def optimisation_text(res) -> str:
    """The chosen design, its cost, its KPIs on fresh replications against the targets, and the evidence."""
    spec = res.spec
    kind = "staffing / 人员配置" if res.kind == "staffing" else "reform package / 改革组合"
    method = {"exhaustive": "every design, cheapest first / 按成本穷举", "local": "local search / 局部搜索",
              "nsga2": "NSGA-II (pymoo) / 多目标遗传算法", "greedy": "greedy allocation within the budget / 预算内逐个增配",
              "within_budget": "every package within the budget / 预算内穷举"}.get(res.method, res.method)
    out = [f"optimisation {spec.name}: {kind}; {method}" + ("  [--fast: a quick look, not a result / 快速预览,非正式结果]" if res.fast else ""),
           f"designs met / 考察方案 {len(res.candidates)}; simulation runs / 模拟次数 {res.runs} (+{res.final_runs} fresh / 独立复核)"
           + ("; the run budget ran out / 预算用尽" if res.budget_cut else ""), ""]
    if res.chosen is None:
        out += ["no design meets every target / 没有方案满足全部目标", "",
                *hanging(res.statement_en, WIDTH, 2), *hanging(res.statement_zh, WIDTH, 2)]
        for n in res.notes:
            out += hanging("note: " + n, WIDTH, 2)
        return "\n".join(out)
    c = res.chosen
    cost = f"{c.cost_yuan_per_year:,.0f} yuan a year / 元每年"
    if c.cost_one_off_yuan:
        cost += f" (one-off / 一次性 {c.cost_one_off_yuan:,.0f}, spread over {spec.amortise_years:g} years / 分摊年数)"
    out += [f"chosen / 所选方案: {c.label}", f"cost / 成本: {cost}", ""]
    rows = [["KPI", "scope", "target / 目标", "mean", "95% CI", "n", "met / 达标"]]
    for d in res.final.to_dict("records"):
        k = KPIS.get(d["kpi"])
        unit = k.unit if k else ""
        (m, lo, hi), dec = _scaled(unit, d["mean"], d["ci_low"], d["ci_high"])
        name = d["kpi"] + (f" / {k.zh}" if k else "")
        met = {"yes": "yes / 是", "no": "NO / 否", "within noise": "within noise / 不确定"}.get(d["met"], "")
        rows.append([name, d["scope"], d["target"], num(m, dec), interval(lo, hi, dec), str(int(d["n"])), met])
    out += ["on fresh replications the search never saw / 搜索未用过的独立重复:", table(rows, "lllrlrl"), ""]
    counts = res.candidates["decision"].value_counts()
    out.append("decisions / 判定: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out += ["", *hanging(res.statement_en, WIDTH, 2), *hanging(res.statement_zh, WIDTH, 2)]
    for n in res.notes:
        out += hanging("note: " + n, WIDTH, 2)
    return "\n".join(out)


def calibration_text(cal, fit, out: str, report: str | None) -> str:
    """What was estimated, what is a placeholder, and how the model fits the log, held-out tail first."""
    out_lines = [f"draft scenario / 校准场景草稿: {out}" + (f"; fit report / 拟合报告: {report}/report.html" if report else ""), ""]
    rows = [["group / 分组", "estimated from the log / 由日志估计", "value", "unit", "from"]]
    for d in cal.estimates.to_dict("records"):
        v = d["value"]
        rows.append([d.get("group", "all"), d["quantity"], num(v, decimals([v])) if isinstance(v, float) else str(v),
                     d["unit"], d["from"]])
    out_lines += [table(rows, "llrll"), ""]
    if cal.stages:
        rows = [["group", "step / 环节", "log activities / 日志活动", "in cases", "waits for / 前置环节", "mean days", "fitted / 拟合"]]
        for d in cal.stage_table().to_dict("records"):
            rows.append([d["group"], d["step"], d["log_activities"], f"{d['share_of_decided_cases']:.0%}", d["waits_for"],
                         num(d["mean_working_days"], 1), d["fitted"]])
        out_lines += ["stages between arrival and decision / 受理至办结的办理环节 (working days / 工作日; "
                      "steps listed side by side wait for the same step / 前置相同者并行):", table(rows, "lllrlrl"), ""]
    out_lines.append("placeholders the log cannot show / 日志无法反映的占位值 (fill in / 请补充):")
    for path, why in cal.placeholders:
        out_lines += hanging(f"- {path}: {why}", WIDTH, 2)
    out_lines.append("")
    rows = [["period / 时段", "measure / 指标", "log / 日志", "model / 模型", "95% CI", "naive / 朴素基线", "within 15% / 达标"]]
    for d in fit.table.to_dict("records"):
        if d["passes"] is None:
            verdict = ""
        else:
            verdict = "yes / 是" if d["passes"] else "NO / 否"
        dec = decimals([d["log"], d["model_mean"]])
        rows.append([d["period"], d["measure"], num(d["log"], dec), num(d["model_mean"], dec),
                     interval(d["model_ci_low"], d["model_ci_high"], dec),
                     num(d["naive_baseline"], dec) if d["naive_baseline"] == d["naive_baseline"] else "", verdict])
    out_lines += [f"fit / 拟合 ({fit.replications} replications, seed {fit.seed}; held out from {cal.split:%Y-%m-%d}):",
                  table(rows, "llrrlrl"), ""]
    if fit.by_year is not None and len(fit.by_year) > 1:
        rows = [["arrival year / 到达年份", "log cases", "log median", "model median", "log p90", "model p90"]]
        for d in fit.by_year.to_dict("records"):
            rows.append([str(d["arrival_year"]), str(d["log_cases"]), num(d["log_median"], 1), num(d["model_median"], 1),
                         num(d["log_p90"], 1), num(d["model_p90"], 1)])
        out_lines += ["time to decision by arrival year (working days; the model is stationary, the log may drift) / "
                      "按到达年份的办结用时:", table(rows, "lrrrrr"), ""]
    if fit.loop_check is not None:
        out_lines.append("the missing-documents loop switched off / 关闭补正环节 (median time to decision, working days):")
        for d in fit.loop_check.to_dict("records"):
            out_lines.append(f"  {d['what']}: {d['median_working_days']:.1f}")
        out_lines.append("")
    for n in cal.notes:
        out_lines += hanging(f"note: {n}", WIDTH, 2)
    return "\n".join(out_lines).rstrip()
