"""Writing results to a directory of tidy CSV tables plus a JSON summary.

The directory is written next to its final place (a hidden ``.NAME.xxxx``
folder) and renamed into it at the end, so a failed or interrupted run leaves
nothing half-written, and an existing directory with files in it is never
overwritten.  The renamed folder gets the permissions of any folder the user
makes (``0o777`` less the umask), not the private ``0o700`` of a temporary one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import yaml

from .runner import RunResult

__all__ = ["OutputExists", "check_out_dir", "staged_dir", "write_run", "write_tables"]


class OutputExists(FileExistsError):
    """The output directory already holds files."""


def check_out_dir(out: str | os.PathLike) -> Path:
    """Refuse an output directory that exists and is not empty (or is a file)."""
    p = Path(out)
    if p.exists():
        if not p.is_dir():
            raise OutputExists(f"{p}: exists and is not a directory; choose another --out")
        if any(p.iterdir()):
            raise OutputExists(f"{p}: already exists and is not empty; choose a new --out directory (nothing was written)")
    return p


def umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike) -> Iterator[Path]:
    """A hidden temporary folder next to ``out``, renamed to ``out`` when the block ends normally.

    On any exception (an error, Ctrl-C, SIGTERM turned into an exception)
    the temporary folder is removed and ``out`` is left as it was.
    """
    final = check_out_dir(out)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it 0o700
        if final.exists():  # empty directory: replace it
            final.rmdir()
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_tables(out: str | os.PathLike, tables: dict, texts: dict | None = None) -> list[Path]:
    """Write CSV ``tables`` and text files into the new directory ``out``, atomically."""
    with staged_dir(out) as tmp:
        for name, df in tables.items():
            df.to_csv(tmp / name, index=False)
        for name, text in (texts or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
    return sorted(Path(out).iterdir())


def write_run(result: RunResult, out: str | os.PathLike) -> list[Path]:
    """Write all tables of ``result`` into the new directory ``out``; returns the files."""
    tables = {
        "summary.csv": result.summary,
        "replications.csv": result.kpis,
        "cases.csv": result.cases,
        "stations.csv": result.stations,
        "stations_by_hour.csv": result.stations_by_hour,
    }
    if result.items is not None:
        tables["items.csv"] = result.items
    if result.trace is not None:
        tables["activities.csv"] = result.trace
    texts = {
        "summary.json": json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2),
        "scenario.yaml": yaml.safe_dump(result.scenario.to_dict(), allow_unicode=True, sort_keys=False),
    }
    return write_tables(out, tables, texts)


def write_optimisation(res, out: str | os.PathLike, charts: bool = True) -> list[Path]:
    """Write an optimisation's evidence into the new directory ``out``, atomically.

    ``best_scenario.yaml`` (the chosen design, ready to run), ``candidates.csv``
    (every design met: decision, replications, estimates), ``estimates.csv``
    (tidy: design, scope, KPI, mean, CI), ``final.csv`` (the chosen design on
    fresh replications), ``result.json`` (with the confidence statement) and
    the Pareto chart in English and Chinese.
    """
    import json

    with staged_dir(out) as tmp:
        res.candidates.to_csv(tmp / "candidates.csv", index=False)
        res.estimates.to_csv(tmp / "estimates.csv", index=False)
        res.final.to_csv(tmp / "final.csv", index=False)
        (tmp / "result.json").write_text(json.dumps(res.to_json_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        if res.scenario is not None:
            head = (f"# The design chosen by `approval-sim optimise` ({res.spec.name}, seed {res.seed}"
                    f"{', --fast' if res.fast else ''}): {res.chosen.label}\n"
                    f"# cost {res.chosen.cost_yuan_per_year:,.0f} yuan a year; evidence in candidates.csv and result.json\n")
            body = yaml.safe_dump(res.scenario.to_dict(), allow_unicode=True, sort_keys=False)
            (tmp / "best_scenario.yaml").write_text(head + body, encoding="utf-8")
        if charts and len(res.candidates):
            from .charts import pareto_chart
            from .charts._figure import save

            thresholds = {t.kpi: t.threshold for t in res.spec.targets if t.scope == res.spec.pareto_scope}
            for lang in ("en", "zh"):
                fig = pareto_chart(res.candidates, list(res.spec.pareto), lang=lang, thresholds=thresholds)
                save(fig, tmp / f"pareto_{lang}")
    return sorted(Path(out).iterdir())
