"""Loading large reformed scenario files: seconds against entries (fuzzing found 20 s for 20,000 departments).

The county file gets N extra departments, items (all accepted by one extra
window) or windows; a reformed file applies eight reforms to it (the shipped
county_after_reform.yaml list, then reduce_fees, reduce_time_limits and
fully_online).  Each file is loaded ``--repeat`` times with
:func:`sim.load_scenario`; the table shows medians of wall and CPU seconds,
the reformed file against its base, and each size against half of it (about
2 when loading is linear in the entries).  ``approval-sim validate`` on the
largest reformed files is timed once, in a fresh process, as a user sees it.

    python benchmarks/bench_load_large.py                        # 5,000 / 10,000 / 20,000 of each kind
    python benchmarks/bench_load_large.py --sizes 2000 4000 --kinds departments
    python benchmarks/bench_load_large.py --check                # exit 1 if a ratio is out of bounds

``--check`` requires the doubling ratio (CPU time) to stay under 3 and, for
departments and windows (which the reforms leave alone), the reformed file
to cost less than twice its base.  Items are changed by four of the eight
reforms, so each of those validates every item again: linear, but more.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import load_scenario  # noqa: E402
from sim.loading import read_yaml  # noqa: E402

from tests.test_loading_large import REFORMS  # noqa: E402  (the reforms the correctness tests apply)

KINDS = ("departments", "items", "windows")


def write_files(folder: Path, kind: str, n: int) -> tuple[Path, Path]:
    """(base, reformed) files: the county file with ``n`` more ``kind``."""
    d = read_yaml(ROOT / "scenarios" / "county_before_reform.yaml")
    if kind == "departments":
        d["departments"] += [{"id": f"dept_{i}", "site": "market_bureau", "staff": {"clerk": 1}} for i in range(n)]
    elif kind == "items":
        d["departments"].append({"id": "extra", "site": "market_bureau", "staff": {"clerk": 1}})
        d["items"] += [{"id": f"item_{i}", "department": "extra", "kind": "back_office", "intake_minutes": 10,
                        "steps": [{"role": "clerk", "minutes": 5}], "promised_limit_days": 3, "fee_yuan": 10}
                       for i in range(n)]
        d["windows"].append({"id": "extra_window", "site": "market_bureau", "items": [f"item_{i}" for i in range(n)]})
    elif kind == "windows":
        d["windows"] += [{"id": f"window_{i}", "site": "market_bureau", "items": ["company_registration"]}
                         for i in range(n)]
    else:
        raise ValueError(kind)
    folder.mkdir(parents=True, exist_ok=True)
    base, after = folder / f"{kind}_{n}.yaml", folder / f"{kind}_{n}_after.yaml"
    base.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    after.write_text(yaml.safe_dump({"base": base.name, "name": f"{n:,} {kind}, reformed", "reforms": REFORMS},
                                    allow_unicode=True, sort_keys=False), encoding="utf-8")
    return base, after


def seconds(path: Path, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``load_scenario(path)``."""
    wall, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        load_scenario(path)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def cli_seconds(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], cwd=ROOT, capture_output=True).returncode
    return time.perf_counter() - t0, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="exit 1 if loading is not about linear")
    args = ap.parse_args()
    sizes = sorted(args.sizes)
    failures = []
    load_scenario(ROOT / "scenarios" / "county_after_reform.yaml")  # imports and first-use costs
    print("| kind | entries | base wall s | base CPU s | reformed wall s | reformed CPU s | reformed / base | x2 entries: CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        largest = {}
        for kind in args.kinds:
            previous = None
            for n in sizes:
                base, after = write_files(Path(tmp), kind, n)
                (bw, bc), (aw, ac) = seconds(base, args.repeat), seconds(after, args.repeat)
                ratio = ac / bc
                doubling = ac / previous[1] if previous and n == 2 * previous[0] else None
                print(f"| {kind} | {n:,} | {bw:.2f} | {bc:.2f} | {aw:.2f} | {ac:.2f} | {ratio:.2f} | "
                      f"{'' if doubling is None else f'{doubling:.2f}'} |", flush=True)
                if doubling is not None and doubling > 3:
                    failures.append(f"{kind}: {previous[0]:,} -> {n:,} entries took {doubling:.2f}x the CPU time")
                if kind != "items" and ratio > 2:
                    failures.append(f"{kind} {n:,}: the reformed file took {ratio:.2f}x its base")
                previous = (n, ac)
                largest[kind] = after
        for kind, after in largest.items():
            wall, rc = cli_seconds(after)
            print(f"\napproval-sim validate {after.name}: {wall:.2f} s (exit {rc})", end="")
    print()
    for f in failures:
        print("FAIL:", f)
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
