"""Write N mutated scenario files to a folder and try each with the installed command line.

    python tools/fuzz_corpus.py 200                     # 200 mutants in a new temporary folder
    python tools/fuzz_corpus.py 1000 --out corpus --seed 7 --jobs 2
    python tools/fuzz_corpus.py 0 --hostile-kinds       # only the fixed file of each hostile kind

The mutants are those of ``tests/fuzz_mutations.py`` (drawn with a seeded
random generator, so a seed gives the same files), written beside copies of
the shipped scenarios so ``base:`` references resolve.  Each file is checked
with ``approval-sim validate``; a valid one is then run briefly
(``approval-sim run <capped copy> --reps 1``, horizon/warm-up/drain capped).
Every command runs in its own process with a time limit and a memory limit.

Outcomes tallied:

* ``exit 2 with message``   - refused with a ``file: field.path: reason`` line (good);
* ``valid``                 - validated and ran (exit 0, or exit 2 with a message) (good);
* ``exit 2, unclear message`` - refused without naming the file or a field;
* ``traceback``             - a traceback on stderr (the exception is shown);
* ``timeout``               - no answer within the limit (timeouts are retried once, alone);
* ``crash``                 - any other exit status (killed, out of memory, ...).

Exit status 0 if every file is good, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import fuzz_mutations as fm  # noqa: E402

GOOD = ("exit 2 with message", "valid")
ORDER = ("exit 2 with message", "valid", "exit 2, unclear message", "traceback", "timeout", "crash", "harness error")


def command() -> list[str]:
    exe = Path(sys.executable).with_name("approval-sim")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("approval-sim")
    return [found] if found else [sys.executable, "-m", "sim"]


def _limits(mem_mb: int):
    def apply() -> None:
        if mem_mb > 0:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb * 2**20, mem_mb * 2**20))

    return apply


def call(argv: list[str], timeout: float, mem_mb: int) -> tuple[str, int | None, str, float]:
    """(status, exit code, stderr, seconds); status is 'ok', 'timeout'."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            argv, capture_output=True, timeout=timeout, preexec_fn=_limits(mem_mb),
            env={**os.environ, "PYTHONIOENCODING": "utf-8"}, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "timeout", None, "", time.perf_counter() - t0
    err = p.stderr.decode("utf-8", "replace")
    return "ok", p.returncode, err, time.perf_counter() - t0


def exception_line(err: str) -> str:
    """The last line of a traceback: ``ValueError: day is out of range for month``."""
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b", ln):
            return ln[:200]
    return lines[-1][:200] if lines else ""


def classify(status: str, rc: int | None, err: str, path: Path) -> tuple[str, str]:
    if status == "timeout":
        return "timeout", ""
    if "Traceback" in err:
        return "traceback", exception_line(err)
    if rc == 2:
        why = fm.message_problem(err, path)
        return ("exit 2 with message", "") if why is None else ("exit 2, unclear message", f"{why}: {err.strip()[-200:]}")
    if rc == 0:
        return "valid", ""
    return "crash", f"exit status {rc}: {err.strip()[-200:]}"


def check(path: Path, cmd: list[str], timeout: float, mem_mb: int, run: bool) -> tuple[str, str, str]:
    """(outcome, step, detail) for one file."""
    status, rc, err, _ = call(cmd + ["validate", str(path)], timeout, mem_mb)
    outcome, detail = classify(status, rc, err, path)
    if outcome != "valid" or not run:
        return outcome, "validate", detail
    try:
        capped = fm.capped_copy(path)
    except Exception as exc:  # noqa: BLE001 - the harness, not the program
        return "harness error", "cap", f"{type(exc).__name__}: {exc}"
    if capped is None:
        return "valid", "validate", ""
    status, rc, err, _ = call(cmd + ["run", str(capped), "--reps", "1"], timeout, mem_mb)
    outcome, detail = classify(status, rc, err, capped)
    return outcome, "run", detail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of random mutants")
    ap.add_argument("--out", type=Path, default=None, help="folder for the files (default: a new temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=fm.TIME_LIMIT_S + 5,
                    help="seconds per command, process start-up included (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="commands at once (default 2)")
    ap.add_argument("--mem-mb", type=int, default=4096, help="address-space limit per command, MB (0: none)")
    ap.add_argument("--no-run", action="store_true", help="validate only")
    ap.add_argument("--hostile-kinds", action="store_true", help="also the fixed file of each hostile kind in the issue")
    args = ap.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="fuzz_corpus_"))
    fm.copy_shipped(out)
    mutants = list(fm.hostile_kinds()) if args.hostile_kinds else []
    mutants += list(fm.random_mutants(args.n, args.seed))
    files: list[tuple[Path, fm.Mutant]] = []
    for i, m in enumerate(mutants):
        files.append((m.write(out, f"mutant_{i:05d}"), m))
    (out / "MUTANTS.txt").write_text("".join(f"{p.name}\t{m!r}\n" for p, m in files), encoding="utf-8")
    print(f"{len(files)} mutants in {out} (list: {out / 'MUTANTS.txt'})", file=sys.stderr)

    cmd = command()
    t0 = time.perf_counter()
    results: list[tuple[Path, fm.Mutant, str, str, str]] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(p, m, pool.submit(check, p, cmd, args.timeout, args.mem_mb, not args.no_run)) for p, m in files]
        for k, (p, m, fut) in enumerate(futures, 1):
            outcome, step, detail = fut.result()
            results.append((p, m, outcome, step, detail))
            if outcome not in GOOD:
                print(f"[{k}/{len(files)}] {outcome} ({step}): {p.name}  {m!r}\n    {detail}", file=sys.stderr, flush=True)

    retry = [i for i, r in enumerate(results) if r[2] == "timeout"]
    if retry:  # a loaded machine gives false timeouts: try those once more, one at a time
        print(f"retrying {len(retry)} timeouts one at a time", file=sys.stderr)
        for i in retry:
            p, m = results[i][:2]
            outcome, step, detail = check(p, cmd, args.timeout, args.mem_mb, not args.no_run)
            results[i] = (p, m, outcome, step, detail)
            print(f"  {p.name}: {outcome} ({step})", file=sys.stderr)

    tally = collections.Counter(r[2] for r in results)
    print(f"\n{len(results)} files, {time.perf_counter() - t0:.0f} s, folder {out}")
    for name in ORDER:
        if tally.get(name):
            print(f"  {name:26s} {tally[name]:6d}")
    bad = [r for r in results if r[2] not in GOOD]
    if bad:
        kinds: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
        for p, m, outcome, step, detail in bad:
            key = detail if outcome == "traceback" else re.sub(r"\S*mutant_\d+\S*", "<file>", detail)[:120]
            kinds[(outcome, step, key)].append(f"{p.name} [{m.kind}: {m.detail[:90]}]")
        print("\noffending files by kind:")
        for (outcome, step, key), names in sorted(kinds.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            print(f"- {outcome} in {step} ({len(names)}): {key}")
            for n in names[:5]:
                print(f"    {n}")
            if len(names) > 5:
                print(f"    ... and {len(names) - 5} more")
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
