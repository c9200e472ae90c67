"""Hostile scenario files for the fuzz tests (issue 13): mutations of the shipped scenarios.

Three sources of mutants, all built from the files in ``scenarios/``:

* **data level** - parse a shipped file with ``yaml.safe_load``, change the
  value at one path (wrong type, special float, huge number, deleted or
  unknown key, dangling reference, tens of thousands of copies ...), dump it
  back as YAML;
* **text level** - change the YAML text itself (NUL bytes and invalid UTF-8,
  a number or date token replaced by a hostile literal, a YAML tag, a complex
  key, a stray structural character, a deleted or re-indented line ...);
* **hostile kinds** - whole files for the failure kinds listed in the issue
  (alias bombs, deep nesting, ``base:`` loops and chains, a NUL byte in a
  ``base:`` path, a calendar with no working day ...), used by the regression
  tests, the Hypothesis strategies and ``tools/fuzz_corpus.py``.

A :class:`Mutant` is bytes plus optional companion files (for ``base:``
chains and loops); :meth:`Mutant.write` puts them in a folder that holds
copies of the shipped scenarios (see :func:`copy_shipped`), so a reformed
file's ``base: county_before_reform.yaml`` still resolves.

The module needs only PyYAML to build mutants; the Hypothesis strategies are
defined only when Hypothesis is installed.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import random
import re
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "scenarios"
SHIPPED: tuple[str, ...] = tuple(sorted(p.name for p in SCENARIO_DIR.glob("*.yaml")))
# a file name placeholder: companion files of one mutant refer to each other through it
STEM = "@STEM@"


# -- shipped files --------------------------------------------------------------
@lru_cache(maxsize=None)
def shipped_text(name: str) -> str:
    return (SCENARIO_DIR / name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _shipped_data(name: str) -> Any:
    return yaml.safe_load(shipped_text(name))


def shipped_data(name: str) -> Any:
    """A fresh deep copy of a shipped file's parsed data."""
    return copy.deepcopy(_shipped_data(name))


def is_reformed(name: str) -> bool:
    d = _shipped_data(name)
    return isinstance(d, dict) and "base" in d


BEFORE = tuple(n for n in SHIPPED if not is_reformed(n))
AFTER = tuple(n for n in SHIPPED if is_reformed(n))


def copy_shipped(folder: Path) -> Path:
    """Copy every shipped scenario into ``folder`` (so ``base:`` names resolve there)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        shutil.copyfile(SCENARIO_DIR / name, folder / name)
    return folder


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000)


# -- mutants ------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    """One hostile scenario file (plus the files it names as ``base``)."""

    kind: str  # e.g. "data:replace", "text:tag", "alias_bomb"
    detail: str  # what was changed, for failure messages
    main: bytes
    companions: tuple[tuple[str, bytes], ...] = field(default=())  # (name suffix, content)

    def write(self, folder: Path, stem: str) -> Path:
        """Write the file as ``folder/stem.yaml`` (companions ``folder/stem<suffix>.yaml``)."""
        tag = stem.encode()
        for suffix, content in self.companions:
            (folder / f"{stem}{suffix}.yaml").write_bytes(content.replace(STEM.encode(), tag))
        path = folder / f"{stem}.yaml"
        path.write_bytes(self.main.replace(STEM.encode(), tag))
        return path

    def paths(self, folder: Path, stem: str) -> list[Path]:
        """Every file :meth:`write` writes (main file first)."""
        return [folder / f"{stem}.yaml"] + [folder / f"{stem}{suffix}.yaml" for suffix, _ in self.companions]

    def __repr__(self) -> str:  # Hypothesis prints this for a failing example
        extra = f" + {len(self.companions)} companion files" if self.companions else ""
        return f"Mutant({self.kind}: {self.detail} [{len(self.main)} bytes{extra}])"

    def _repr_pretty_(self, p, cycle) -> None:  # Hypothesis's printer: not the dataclass fields (megabytes)
        p.text(repr(self))


def _enc(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# -- paths in parsed data ------------------------------------------------------
Path_ = tuple  # a path into parsed YAML: keys and list indexes


def walk_paths(data: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every path below the root, parents before children."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield here + (k,)
            yield from walk_paths(v, here + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield here + (i,)
            yield from walk_paths(v, here + (i,))


@lru_cache(maxsize=None)
def shipped_paths(name: str) -> tuple[Path_, ...]:
    return tuple(walk_paths(_shipped_data(name)))


def get_at(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def set_at(data: Any, path: Path_, value: Any) -> None:
    get_at(data, path[:-1])[path[-1]] = value


def delete_at(data: Any, path: Path_) -> None:
    del get_at(data, path[:-1])[path[-1]]


def show_path(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(top level)"


# -- hostile values --------------------------------------------------------------
SPECIAL_FLOATS = (
    math.nan, math.inf, -math.inf, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308,
    1.7976931348623157e308, 1e30, -1e30, 1e12, 0.1 + 0.2, 1e-300,
)
HUGE_INTS = (10**12, 10**18, 2**63 - 1, 2**63, 2**64, 10**30, -(10**30), 10**300, -1, 0)
IMPOSSIBLE_DATES = ("2025-02-29", "2025-13-01", "0000-01-01", "2025-00-10", "2025-04-31", "9999-12-31", "0001-01-01")
HOSTILE_CLOCKS = (
    "9:99", "25:00", "24:00", "24:01", "-1:00", "9", "9:5", "09:00-08:00", "08:00-08:00", "00:00-24:00",
    "99999999999999999999:00", "\u0669:\u0660\u0660", "\uff19:\uff10\uff10", "", "9:00:00", "12:00-13:00-14:00",
)
HOSTILE_HOUR_KEYS = ("9:99", "25", "-1", "24", "9.5", "", " ", "1e3", "\uff19", "\u0669", "99999999999999999999", "nine")
HOSTILE_STRINGS = (
    "", " ", "12", "1e3", "abc", "nan", "inf", "null", "true", "a b", "a.b", "a[0]", "\u202eevil", "名字",
    "\U0001f600", "\x00", "\x00nul", "\ud800", "\ufeff", "line\nbreak", "x" * 10_000, "../../../etc/passwd",
)
HOSTILE_NAMES_AS_CONTAINERS = (
    ["centralise"], ["lognormal"], {"lognormal": None}, {"dist": "lognormal"}, [[]], [None], {}, [], [1, 2],
)
HOSTILE_BASES = (
    "missing_file.yaml", "", ".", "..", "/", "/dev/null", "nul\x00byte.yaml", "county\x00_before_reform.yaml",
    "x" * 5000 + ".yaml", "\ud800.yaml", 5, None, ["county_before_reform.yaml"], {"a": 1},
)


def _is_ref_like(path: Path_) -> bool:
    """A field that names another object (site, department, role, item, window, external, block)."""
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    return last in {"site", "department", "role", "item", "items", "windows", "external", "after", "between",
                    "issued_after", "base", "reform", "case_type", "id", "draw"}


def rename_everywhere(data: Any, old: str, new: str) -> Any:
    """Replace a string value everywhere (renaming an id and all its references)."""
    if isinstance(data, dict):
        return {k: rename_everywhere(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [rename_everywhere(v, old, new) for v in data]
    return new if data == old else data


# -- raw YAML snippets spliced into a dumped file -------------------------------------
RAW_MARK = "RAWSPLICE9f3ab2"


def nested_list_text(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def nested_flow_text(depth: int, leaf: str = "{item: x}", key: str = "parallel") -> str:
    """A flow block nested ``depth`` levels (``{parallel: [{parallel: [...]}]}``)."""
    return ("{" + key + ": [") * depth + leaf + "]}" * depth


def alias_bomb_text(levels: int = 9, width: int = 6, leaf: str = "lol") -> str:
    """A billion-laughs flow list: ``width**levels`` leaves from a few hundred bytes.

    ``[&a0 [lol, lol ...], &a1 [*a0, *a0 ...], ... ]``: the last element alone
    has ``width**levels`` leaves.
    """
    parts = [f"&a0 [{', '.join([leaf] * width)}]"]
    for i in range(1, levels):
        parts.append(f"&a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "[" + ", ".join(parts) + "]"


def alias_bomb_mapping_text(levels: int = 9, width: int = 6) -> str:
    """Like :func:`alias_bomb_text` but mappings (a bomb where a mapping is expected)."""
    parts = ["&m0 {" + ", ".join(f"k{j}: lol" for j in range(width)) + "}"]
    for i in range(1, levels):
        parts.append(f"&m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(width)) + "}")
    return "{" + ", ".join(f"l{i}: {p}" for i, p in enumerate(parts)) + "}"


RAW_SNIPPETS: tuple[str, ...] = (
    # impossible dates and YAML 1.1 oddities written unquoted
    "2025-02-29", "2025-13-01", "0000-01-01", "2025-02-29 25:61:00", "12:30:00", "0o17", "0x1F", "1_000", "0b101",
    "~", "yes", "no", "on", ".NaN", "-.inf", "+.INF", "9" * 5000, "-" + "9" * 5000, "1e99999",
    # tags
    "!!float abc", "!!int abc", "!!int 1e3", "!!timestamp 2025-13-01", "!!timestamp x", "!!binary ===",
    "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a]", "!!pairs [[a, b]]", "!!null x", "!!bool maybe",
    "!!str", "!!python/object:os.system x", "!custom 1", "!!merge x", "!!value x",
    # complex keys and merges
    "{[a, b]: 1}", "{{a: 1}: 2}", "{? [x] : 1}", "{<<: 5}", "{<<: [1, 2]}", "{<<: {dist: fixed, value: 1}}",
    # anchors, aliases, nesting
    "&x [*x]", "*undefined_anchor", nested_list_text(300), nested_list_text(3000), nested_flow_text(300),
    alias_bomb_text(5, 6),
    # unicode
    '"\\0"', '"\\x00abc"', '"\\uD800"', '"\\U0010FFFF"', "\u2028", "\u0085",
)


# -- data-level mutation -----------------------------------------------------------
def apply_data_mutation(name: str, path: Path_, op: str, value: Any = None) -> Mutant:
    """Change the shipped file ``name`` at ``path`` by ``op`` and dump it back."""
    data = shipped_data(name)
    where = show_path(path)
    raw = None
    try:
        target = get_at(data, path)
    except (KeyError, IndexError, TypeError):  # a new key
        target = None
    if op == "replace":
        set_at(data, path, value)
        detail = f"{where} = {value!r:.80}"
    elif op == "delete":
        delete_at(data, path)
        detail = f"del {where}"
    elif op == "unknown_key":
        holder_path = path if isinstance(target, dict) else path[:-1]
        holder = get_at(data, holder_path)
        if not isinstance(holder, dict):  # a list element: add the key to the element if it is a mapping
            holder_path, holder = path, target
        if isinstance(holder, dict):
            holder[value] = 1
        else:
            set_at(data, path, {value: target})
        detail = f"{show_path(holder_path)}[{value!r}] added"
    elif op == "wrap_list":
        set_at(data, path, [target])
        detail = f"{where} wrapped in a list"
    elif op == "wrap_map":
        set_at(data, path, {target if isinstance(target, (str, int, float)) else "x": target})
        detail = f"{where} wrapped in a mapping"
    elif op == "rename_ref":
        new = f"{target}_renamed" if isinstance(target, str) else "renamed_ref"
        set_at(data, path, new)
        detail = f"{where}: {target!r:.40} -> {new!r:.40} (dangling reference)"
    elif op == "rename_id":
        # rename an id and every reference to it except one: the others dangle
        if isinstance(target, str) and path[-1] == "id":
            new = target + "_moved"
            data = rename_everywhere(data, target, new)
            set_at(data, path, target)
            detail = f"references to {target!r} renamed but {where} kept"
        else:
            set_at(data, path, "renamed_ref")
            detail = f"{where} = 'renamed_ref'"
    elif op == "bloat":
        n = value if isinstance(value, int) else 1000
        if isinstance(target, list) and target:
            proto = target[-1]
            extra = []
            for i in range(n):
                c = copy.deepcopy(proto)
                if isinstance(c, dict) and "id" in c:
                    c["id"] = f"{c['id']}_copy{i}"
                extra.append(c)
            target.extend(extra)
            detail = f"{where}: {n} more copies of the last entry"
        elif isinstance(target, str):
            set_at(data, path, target * min(n, 100_000 // max(1, len(target))))
            detail = f"{where}: string repeated"
        else:
            set_at(data, path, [target] * n)
            detail = f"{where}: list of {n} copies"
    elif op == "raw":
        set_at(data, path, RAW_MARK)
        raw = value
        detail = f"{where}: raw YAML {value[:60]!r}"
    elif op == "bad_hour_key":
        holder = get_at(data, path)
        if isinstance(holder, dict):
            holder[value] = 1.0
            detail = f"{where}[{value!r}] = 1.0"
        else:
            set_at(data, path, {value: 1.0})
            detail = f"{where} = {{{value!r}: 1.0}}"
    else:
        raise ValueError(op)
    text = dump(data)
    if raw is not None:
        text = text.replace(RAW_MARK, raw, 1)
    return Mutant(f"data:{op}", f"{name}: {detail}", _enc(text))


def through_base(inner: Mutant, after_name: str) -> Mutant:
    """A mutated base file (written as a companion) loaded through a reformed file that names it."""
    data = shipped_data(after_name)
    data["base"] = f"{STEM}__base.yaml"
    return Mutant(
        inner.kind + "+via_base", f"{after_name} with base = [{inner.detail}]",
        _enc(dump(data)), inner.companions + (("__base", inner.main),),
    )


# -- text-level mutation ---------------------------------------------------------------
JUNK_BYTES = (
    b"\x00", b"\xff", b"\xfe\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\t", b"\r", b"\x1b[2J", b"\xef\xbb\xbf",
    "\u2028".encode(), "\u0085".encode(), b"\x7f", b"\x0c", "\U0001f600".encode(), b"\xe5\x90",
)
STRUCTURAL = (
    ": ", "- ", "[", "]", "{", "}", "&", "*", "!", "|", ">", "%", "@", "`", "#", "'", '"', "? ", ",",
    "\n", "  ", "---\n", "...\n",
)

_NUMBER = re.compile(r"(?<=[\s\[{,:])-?\d+(?:\.\d+)?(?:e-?\d+)?(?=[\s,\]}]|$)", re.M)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?:-\d{1,2}:\d{2})?\b")
_DIST = re.compile(r"(dist:\s*)(\w+)")
_REFORM = re.compile(r"(reform:\s*)(\w+)")
_BASE = re.compile(r"^(base:\s*)(\S+)", re.M)
_VALUE = re.compile(r"(?<=: )(?=[^\s{\[|>&*!'\"#])", re.M)  # start of a plain scalar value after "key: "

HOSTILE_NUMBER_LITERALS = (
    ".nan", ".inf", "-.inf", "-0.0", "5e-324", "1e308", "1.7976931348623157e308", "1e30", "1000000000000000000000000000000",
    "1e12", "1000000000000", "-1", "0", "1e-320", "0x7fffffffffffffff", "0o777", "1_000_000", "12:30", "1:00:00:00",
    '"12"', "'3.5'", "twelve", "[12]", "{value: 12}", "~", "true", "9" * 5000,
)


def _sub_nth(pattern: re.Pattern, text: str, k: int, repl: Callable[[re.Match], str]) -> tuple[str, str] | None:
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    m = matches[k % len(matches)]
    new = repl(m)
    line = text.count("\n", 0, m.start()) + 1
    return text[: m.start()] + new + text[m.end():], f"line {line}: {m.group(0)!r:.40} -> {new!r:.60}"


def apply_text_mutation(name: str, op: str, k: int, value: Any = None) -> Mutant | None:
    """Change the text of the shipped file ``name``; ``k`` picks the place. None if ``op`` does not apply."""
    text = shipped_text(name)
    raw = _enc(text)
    if op == "insert_bytes":
        pos = k % (len(raw) + 1)
        out = raw[:pos] + value + raw[pos:]
        return Mutant("text:insert_bytes", f"{name}: {value!r} at byte {pos}", out)
    if op == "truncate":
        pos = k % (len(raw) + 1)
        return Mutant("text:truncate", f"{name}: cut at byte {pos}", raw[:pos])
    if op == "delete_span":
        pos = k % (len(raw) + 1)
        n = value if isinstance(value, int) else 10
        return Mutant("text:delete_span", f"{name}: {n} bytes deleted at {pos}", raw[:pos] + raw[pos + n:])
    lines = text.split("\n")
    i = k % len(lines)
    if op == "structural":
        line = lines[i]
        col = (k // len(lines)) % (len(line) + 1)
        lines[i] = line[:col] + value + line[col:]
        return Mutant("text:structural", f"{name}: {value!r} at line {i + 1} col {col + 1}", _enc("\n".join(lines)))
    if op == "delete_line":
        del lines[i]
        return Mutant("text:delete_line", f"{name}: line {i + 1} deleted", _enc("\n".join(lines)))
    if op == "duplicate_line":
        lines.insert(i, lines[i])
        return Mutant("text:duplicate_line", f"{name}: line {i + 1} duplicated", _enc("\n".join(lines)))
    if op == "indent":
        lines[i] = value + lines[i] if value else lines[i][1:]  # "" removes the first character
        return Mutant("text:indent", f"{name}: line {i + 1} re-indented ({value!r})", _enc("\n".join(lines)))
    if op == "number":
        r = _sub_nth(_NUMBER, text, k, lambda m: value)
    elif op == "date":
        r = _sub_nth(_DATE, text, k, lambda m: value)
    elif op == "clock":
        r = _sub_nth(_CLOCK, text, k, lambda m: value)
    elif op == "dist":
        r = _sub_nth(_DIST, text, k, lambda m: m.group(1) + value.replace("NAME", m.group(2)))
    elif op == "reform":
        r = _sub_nth(_REFORM, text, k, lambda m: m.group(1) + value.replace("NAME", m.group(2)))
    elif op == "base":
        r = _sub_nth(_BASE, text, k, lambda m: m.group(1) + value)
    elif op == "tag":
        r = _sub_nth(_VALUE, text, k, lambda m: value + " ")
    elif op == "append":
        r = (text + value, f"appended {value[:60]!r}")
    else:
        raise ValueError(op)
    if r is None:
        return None
    out, detail = r
    return Mutant(f"text:{op}", f"{name}: {detail}", _enc(out))


# -- whole hostile files (one per kind in the issue) ---------------------------------------
def county() -> dict:
    return shipped_data("county_before_reform.yaml")


def from_data(kind: str, detail: str, data: Any, raw: dict[str, str] | None = None) -> Mutant:
    """Dump ``data``; each ``raw`` mark (a string value in data) is replaced by raw YAML text."""
    text = dump(data)
    for mark, snippet in (raw or {}).items():
        assert mark in text, mark
        text = text.replace(mark, snippet, 1)
    return Mutant(kind, detail, _enc(text))


def alias_bomb(levels: int = 9, width: int = 6) -> Mutant:
    """A ~few-KB file whose flow expands to ``width**levels`` blocks (billion laughs).

    The bomb is written as the first case type's flow, where every leaf is
    validated (a bare list is a sequence of blocks), padded with an anchor table
    like the classic attack.
    """
    d = county()
    d["case_types"][0]["flow"] = "BOMBMARK"
    text = dump(d).replace("BOMBMARK", alias_bomb_text(levels, width, "{item: company_registration}"), 1)
    return Mutant("alias_bomb", f"case_types[0].flow: {width}**{levels} = {width ** levels:,} blocks", _enc(text))


def deep_flow(depth: int = 500, key: str = "parallel") -> Mutant:
    d = county()
    d["case_types"][0]["flow"] = "DEEPMARK"
    raw = {"DEEPMARK": nested_flow_text(depth, "{item: company_registration}", key)}
    return from_data("deep_nesting", f"case_types[0].flow: {key} nested {depth} deep", d, raw)


def deep_list(depth: int = 5000, field_path: Path_ = ("sites",)) -> Mutant:
    d = county()
    set_at(d, field_path, "DEEPMARK")
    detail = f"{show_path(field_path)}: list nested {depth} deep"
    return from_data("deep_nesting", detail, d, {"DEEPMARK": nested_list_text(depth)})


def reformed(base: Any, **extra: Any) -> dict:
    d = shipped_data("county_after_reform.yaml")
    d["base"] = base
    d.update(extra)
    return d


def base_self_loop() -> Mutant:
    return Mutant("base_loop", "base names the file itself", _enc(dump(reformed(f"{STEM}.yaml"))))


def base_loop(n: int = 2) -> Mutant:
    """main -> __b1 -> ... -> __b{n-1} -> main."""
    comps = []
    for i in range(1, n):
        nxt = f"{STEM}__b{i + 1}.yaml" if i + 1 < n else f"{STEM}.yaml"
        comps.append((f"__b{i}", _enc(dump({"base": nxt, "name": f"loop {i}"}))))
    main = dump(reformed(f"{STEM}__b1.yaml"))
    return Mutant("base_loop", f"a loop of {n} files naming each other as base", _enc(main), tuple(comps))


def base_chain(n: int = 300) -> Mutant:
    """main -> __c1 -> ... -> __c{n} -> county_before_reform.yaml: every link valid."""
    comps = []
    for i in range(1, n + 1):
        nxt = f"{STEM}__c{i + 1}.yaml" if i < n else "county_before_reform.yaml"
        comps.append((f"__c{i}", _enc(dump({"base": nxt, "name": f"chain link {i}"}))))
    main = dump(reformed(f"{STEM}__c1.yaml"))
    return Mutant("base_chain", f"a chain of {n} base files", _enc(main), tuple(comps))


def base_nul() -> Mutant:
    text = shipped_text("county_after_reform.yaml").replace(
        "base: county_before_reform.yaml", 'base: "county_before\\0_reform.yaml"', 1
    )
    return Mutant("base_nul", "a NUL byte in the base path", _enc(text))


def many_sites(n: int = 30_000) -> Mutant:
    d = county()
    d["sites"] = "SITESMARK"
    sites = "".join(f"\n- {{id: unused_site_{i}, name: 未使用 {i}}}" for i in range(n))
    listed = "".join(f"\n- {{id: {s['id']}}}" for s in county()["sites"])
    return from_data("many_sites", f"{n:,} unused sites", d, {" SITESMARK": listed + sites})


def no_working_day() -> Mutant:
    """Working weekday Monday only, and every Monday for two years is a holiday."""
    d = county()
    cal = d["calendar"]
    start = dt.date(2025, 3, 3)
    cal["working_weekdays"] = ["mon"]
    cal["holidays"] = [(start + dt.timedelta(weeks=w)).isoformat() for w in range(110)]
    cal["extra_working_days"] = []
    return from_data("no_working_day", "calendar: every working day a holiday for two years", d)


def calendar_field(field_name: str, raw: str) -> Mutant:
    d = county()
    d["calendar"][field_name] = "CALMARK"
    return from_data("calendar", f"calendar.{field_name}: {raw}", d, {"CALMARK": raw})


def run_field(field_name: str, value: Any) -> Mutant:
    d = county()
    d["run"][field_name] = value
    return from_data("run", f"run.{field_name} = {value!r}", d)


def hourly_key(key: str) -> Mutant:
    d = county()
    d["case_types"][0]["arrivals"]["hourly_profile"] = {key: 2.0}
    return from_data("hourly_profile", f"case_types[0].arrivals.hourly_profile key {key!r}", d)


def set_field(path: Path_, value: Any, kind: str = "wrong_type", name: str = "county_before_reform.yaml") -> Mutant:
    d = shipped_data(name)
    set_at(d, path, value)
    return from_data(kind, f"{name}: {show_path(path)} = {value!r:.60}", d)


def wrong_reform_name() -> Mutant:
    return Mutant(
        "wrong_type", "reforms[0].reform = [centralise]",
        _enc(shipped_text("county_after_reform.yaml").replace("{reform: centralise}", "{reform: [centralise]}", 1)),
    )


def wrong_dist_name() -> Mutant:
    text = shipped_text("county_before_reform.yaml").replace("{dist: lognormal, mean: 25", "{dist: [lognormal], mean: 25", 1)
    return Mutant("wrong_type", "items[0].intake_minutes.dist = [lognormal]", _enc(text))


def junk_bytes(junk: bytes, where: int = 200) -> Mutant:
    raw = _enc(shipped_text("county_before_reform.yaml"))
    return Mutant("junk", f"{junk!r} at byte {where}", raw[:where] + junk + raw[where:])


# every hostile kind of the issue, at the size the issue describes (tools/fuzz_corpus.py mixes these in)
@lru_cache(maxsize=1)
def hostile_kinds() -> tuple[Mutant, ...]:
    return (
        wrong_reform_name(), wrong_dist_name(),
        set_field(("items", 0, "materials"), "eight"), set_field(("sites",), 5), set_field(("case_types", 0, "arrivals"), 6),
        set_field(("departments", 0, "staff"), 3),
        run_field("horizon_working_days", 1e12), run_field("warmup_working_days", 1e12),
        run_field("drain_working_days", 1e12),
        run_field("horizon_working_days", math.nan), run_field("horizon_working_days", 5e-324),
        set_field(("windows", 0, "positions"), 10**30), set_field(("case_types", 0, "arrivals", "day_to_day_cv"), 5e-324),
        set_field(("case_types", 0, "arrivals", "per_day"), 1e30),
        calendar_field("start_date", "2025-02-29"), calendar_field("start_date", "2025-13-01"),
        calendar_field("start_date", "0000-01-01"), calendar_field("holidays", "[2025-02-29]"),
        calendar_field("start_date", "9999-12-31"),
        hourly_key("9:99"), hourly_key("25"),
        junk_bytes(b"\x00"), junk_bytes(b"\xff\xfe"),
        alias_bomb(), deep_flow(500), deep_list(5000),
        base_self_loop(), base_loop(3), base_chain(300), base_nul(), many_sites(30_000), no_working_day(),
    )


# -- drawing mutants ------------------------------------------------------------------------
# The builders below take a "pick": Hypothesis draws (HypothesisPick, in the tests) or a seeded
# random.Random (RandomPick, in tools/fuzz_corpus.py), so both fuzz the same way.
TEXT_OPS = (
    "insert_bytes", "truncate", "delete_span", "structural", "delete_line", "duplicate_line", "indent",
    "number", "number", "number", "date", "date", "clock", "clock", "dist", "reform", "base", "tag", "tag", "append",
)
DIST_EDITS = ("[NAME]", "{NAME: 1}", "NAMEx", "'NAME '", "5", "~", "!!binary aGk=", "!!float NAME")
REFORM_EDITS = ("[NAME]", "{NAME: 1}", "NAMEx", "5", "~", "!!int NAME", "NAME, reform: NAME")
BASE_EDITS = ('"nul\\0.yaml"', "missing.yaml", "''", ".", "/", "[a.yaml]", "{a: 1}", "5", "~", "/dev/null",
              '"\\uD800.yaml"', "x" * 5000)
TAGS = tuple(sorted({s.split(" ")[0] for s in RAW_SNIPPETS if s.startswith("!")})) + ("&anchor", "*nowhere")
APPENDS = ("\n---\nname: two\n", "\n...\n", "\n%YAML 1.1\n", "\nname: dup\n", "\n<<: {name: m}\n",
           "\nzz_unknown: 1\n", "\n? [a, b]\n: 1\n", "\n" + "  " * 60 + "x: 1\n")
UNKNOWN_KEYS = ("zz_unknown", "nmae", "sites_", "dist_", "horizon_working_day", "Reform", "base", "reforms", "<<")
BAD_DATES = IMPOSSIBLE_DATES + ("2025-02-30", "2025-2-3", "'2025-13-01'", "[2025-02-29]", "20250229")


def build_data_mutant(pick) -> Mutant:
    name = pick.choice(SHIPPED)
    path = pick.choice(shipped_paths(name))
    target = get_at(_shipped_data(name), path)
    ops = ["replace", "replace", "replace", "delete", "delete", "unknown_key", "wrap_list", "wrap_map", "raw", "raw"]
    if isinstance(target, str) or _is_ref_like(path):
        ops += ["rename_ref", "rename_ref"]
    if path[-1] == "id":
        ops += ["rename_id", "rename_id"]
    if isinstance(target, list):
        ops += ["bloat"]
    if "hourly_profile" in path or (isinstance(target, dict) and "per_day" in target):
        ops += ["bad_hour_key"] * 3
    if path == ("base",):
        ops += ["bad_base"] * 4
    op = pick.choice(ops)
    value = None
    if op == "replace":
        value = pick.value()
    elif op == "bad_base":
        op, value = "replace", copy.deepcopy(pick.choice(HOSTILE_BASES))
    elif op == "unknown_key":
        value = pick.key()
    elif op == "raw":
        value = pick.choice(RAW_SNIPPETS)
    elif op == "bloat":
        value = pick.choice((10, 1000, 20_000))
    elif op == "bad_hour_key":
        value = pick.choice(HOSTILE_HOUR_KEYS)
        if isinstance(target, dict) and "per_day" in target:
            path = path + ("hourly_profile",)
            if "hourly_profile" not in target:
                op, value = "replace", {value: 1.0}
    m = apply_data_mutation(name, path, op, value)
    if name in BEFORE and pick.integer(0, 9) == 0:  # now and then: through a reformed file that names it
        after = [a for a in AFTER if _shipped_data(a)["base"] == name]
        if after:
            m = through_base(m, after[0])
    return m


# what each text operation may put in (insert_bytes and delete_span draw their own)
TEXT_OP_VALUES: dict[str, tuple] = {
    "structural": STRUCTURAL, "indent": ("", " ", "  ", "\t", "    "), "number": HOSTILE_NUMBER_LITERALS,
    "date": BAD_DATES, "clock": HOSTILE_CLOCKS, "dist": DIST_EDITS, "reform": REFORM_EDITS,
    "base": BASE_EDITS, "tag": TAGS, "append": APPENDS,
}


def build_text_mutant(pick) -> Mutant:
    name = pick.choice(SHIPPED)
    k = pick.integer(0, 10**6)
    op = pick.choice(TEXT_OPS)
    value: Any = None
    if op == "insert_bytes":
        value = pick.junk()
    elif op == "delete_span":
        value = pick.integer(1, 200)
    elif op in TEXT_OP_VALUES:
        value = pick.choice(TEXT_OP_VALUES[op])
    m = apply_text_mutation(name, op, k, value)
    if m is None:  # the file has no such token: junk bytes instead
        m = apply_text_mutation(name, "insert_bytes", k, b"\x00")
    return m


DEEP_LIST_FIELDS = (("sites",), ("windows", 0, "items"), ("case_types", 0, "flow"), ("name",),
                    ("calendar", "holidays"), ("applicants", "abandon_probability"))
CALENDAR_FIELDS = ("start_date", "holidays", "extra_working_days", "office_hours", "working_weekdays")
CALENDAR_RAW = IMPOSSIBLE_DATES + tuple(f"[{d}]" for d in IMPOSSIBLE_DATES) + tuple(f"[{c!r}]" for c in HOSTILE_CLOCKS) + (
    "[]", "[sun]", "5", "{}")
RUN_FIELDS = ("horizon_working_days", "warmup_working_days", "drain_working_days", "replications", "seed")


def build_kind_mutant(pick) -> Mutant:
    """One of the issue's hostile kinds at a drawn size."""
    kind = pick.choice(("bomb", "deep_flow", "deep_list", "loop", "chain", "sites", "calendar", "run", "hour"))
    if kind == "bomb":
        return alias_bomb(pick.integer(2, 9), pick.integer(2, 6))
    if kind == "deep_flow":
        return deep_flow(pick.integer(1, 1500), pick.choice(("parallel", "sequence")))
    if kind == "deep_list":
        return deep_list(pick.integer(1, 20_000), pick.choice(DEEP_LIST_FIELDS))
    if kind == "loop":
        return base_self_loop() if pick.integer(0, 1) else base_loop(pick.integer(2, 50))
    if kind == "chain":
        return base_chain(pick.integer(1, 400))
    if kind == "sites":
        return many_sites(pick.choice((100, 5000, 30_000)))
    if kind == "calendar":
        return calendar_field(pick.choice(CALENDAR_FIELDS), pick.choice(CALENDAR_RAW))
    if kind == "run":
        f = pick.choice(RUN_FIELDS)
        return run_field(f, pick.choice(SPECIAL_FLOATS + HUGE_INTS) if pick.integer(0, 1) else pick.value())
    return hourly_key(pick.choice(HOSTILE_HOUR_KEYS))


def build_any_mutant(pick) -> Mutant:
    return pick.choice((build_data_mutant, build_data_mutant, build_text_mutant, build_text_mutant, build_kind_mutant))(pick)


class RandomPick:
    """Draws from a seeded ``random.Random`` (for tools/fuzz_corpus.py; no Hypothesis needed)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def choice(self, seq):
        seq = tuple(seq)
        return seq[self.rng.randrange(len(seq))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def text(self, n: int = 12) -> str:
        alphabet = "abc:.-_ [ ]{}#&*!'\"\\\x00\t\n名字\u202e\U0001f600\ud800\ufeff0123456789"
        return "".join(self.choice(alphabet) for _ in range(self.rng.randint(0, n)))

    def scalar(self) -> Any:
        r = self.rng
        kind = r.randrange(10)
        if kind == 0:
            return self.choice(SPECIAL_FLOATS)
        if kind == 1:
            return self.choice(HUGE_INTS)
        if kind == 2:
            return self.choice(IMPOSSIBLE_DATES)
        if kind == 3:
            return self.choice(HOSTILE_CLOCKS)
        if kind == 4:
            return self.choice(HOSTILE_STRINGS)
        if kind == 5:
            import struct
            return struct.unpack("<d", r.randbytes(8))[0]
        if kind == 6:
            return r.randint(-(2**70), 2**70) >> r.randrange(70)
        if kind == 7:
            return self.choice((True, False, None))
        return self.text()

    def value(self) -> Any:
        kind = self.rng.randrange(10)
        if kind == 0:
            return copy.deepcopy(self.choice(HOSTILE_NAMES_AS_CONTAINERS))
        if kind == 1:
            return [self.scalar() for _ in range(self.rng.randint(0, 3))]
        if kind == 2:
            return {self.text(6): self.scalar() for _ in range(self.rng.randint(0, 3))}
        return self.scalar()

    def key(self) -> Any:
        kind = self.rng.randrange(4)
        if kind == 0:
            return self.text(10) or "k"
        if kind == 1:
            return self.rng.randint(-5, 30)
        return self.choice(UNKNOWN_KEYS)

    def junk(self) -> bytes:
        return self.choice(JUNK_BYTES) if self.rng.randrange(2) else self.rng.randbytes(self.rng.randint(1, 8))


def random_mutants(n: int, seed: int = 0) -> Iterator[Mutant]:
    """``n`` mutants drawn with a seeded generator (same seed, same mutants)."""
    pick = RandomPick(random.Random(seed))
    for _ in range(n):
        yield build_any_mutant(pick)


# -- Hypothesis strategies ---------------------------------------------------------------------
try:
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - tools/fuzz_corpus.py works without Hypothesis
    st = None

if st is not None:
    hostile_scalars = st.one_of(
        st.sampled_from(SPECIAL_FLOATS),
        st.sampled_from(HUGE_INTS),
        st.sampled_from(IMPOSSIBLE_DATES),
        st.sampled_from(HOSTILE_CLOCKS),
        st.sampled_from(HOSTILE_STRINGS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.booleans(),
        st.none(),
        st.text(max_size=12),
    )
    hostile_values = st.one_of(
        hostile_scalars,
        st.sampled_from(HOSTILE_NAMES_AS_CONTAINERS).map(copy.deepcopy),
        st.lists(hostile_scalars, max_size=3),
        st.dictionaries(st.text(max_size=6), hostile_scalars, max_size=3),
    )
    unknown_keys = st.one_of(
        st.sampled_from(UNKNOWN_KEYS),
        st.text(min_size=1, max_size=10),
        st.integers(-5, 30),
    )
    junk_bytes_st = st.one_of(st.sampled_from(JUNK_BYTES), st.binary(min_size=1, max_size=8))

    class HypothesisPick:
        """Draws through Hypothesis (so failures replay and can shrink)."""

        def __init__(self, draw):
            self.draw = draw

        def choice(self, seq):
            return self.draw(st.sampled_from(tuple(seq)))

        def integer(self, lo: int, hi: int) -> int:
            return self.draw(st.integers(lo, hi))

        def value(self) -> Any:
            return self.draw(hostile_values)

        def key(self) -> Any:
            return self.draw(unknown_keys)

        def junk(self) -> bytes:
            return self.draw(junk_bytes_st)

    def _strategy(build):
        return st.composite(lambda draw: build(HypothesisPick(draw)))()

    def data_mutants():
        """Mutants of parsed data (a value, key or entry changed, dumped back as YAML)."""
        return _strategy(build_data_mutant)

    def text_mutants():
        """Mutants of YAML text (bytes, tokens, tags, lines)."""
        return _strategy(build_text_mutant)

    def kind_mutants():
        """The issue's hostile kinds at drawn sizes."""
        return _strategy(build_kind_mutant)

    all_mutants = _strategy(build_any_mutant)


# -- running the command line on a mutant (in-process) ---------------------------------------
# "a few seconds": validate, and a short run, must each finish within this (FUZZ_TIME_LIMIT to change)
TIME_LIMIT_S = float(os.environ.get("FUZZ_TIME_LIMIT", "10"))
RUN_CAPS = {"horizon_working_days": 3.0, "warmup_working_days": 1.0, "drain_working_days": 10.0}
# one message line: ``file: field.path: reason`` or ``file:L:C: field.path: reason`` (or ``file:L: ...``)
MESSAGE_LINE = re.compile(
    r"^(?P<file>[^\n]+?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: (?P<field>[^:\n]+?): (?P<reason>\S.*)$", re.M
)


class CliTimeout(BaseException):
    """Raised by the alarm inside a command that ran too long (BaseException: no ``except Exception`` hides it)."""


@dataclass
class Outcome:
    argv: list[str]
    rc: int | None = None
    out: str = ""
    err: str = ""
    exc: str = ""  # "Type: message" of an exception that escaped main
    tb: str = ""
    elapsed: float = 0.0
    timed_out: bool = False

    def summary(self) -> str:
        if self.timed_out:
            return f"{' '.join(self.argv)}: no answer after {self.elapsed:.1f} s"
        if self.exc:
            return f"{' '.join(self.argv)}: {self.exc} escaped main\n{self.tb}"
        return f"{' '.join(self.argv)}: exit {self.rc} in {self.elapsed:.2f} s; stderr:\n{self.err[-3000:]}"


def run_main(argv: list[str], limit: float = TIME_LIMIT_S) -> Outcome:
    """``sim.cli.main(argv)`` in-process with stdout/stderr captured and a SIGALRM time limit."""
    import contextlib
    import io
    import signal
    import time
    import traceback

    from sim.cli import main

    res = Outcome(list(argv))
    out, err = io.StringIO(), io.StringIO()

    def on_alarm(signum, frame):
        raise CliTimeout(f"no answer after {limit:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    # the alarm repeats every 0.5 s: one raised where Python ignores exceptions (a gc callback,
    # a __del__) is lost, the next one stops the command
    signal.setitimer(signal.ITIMER_REAL, limit, 0.5)
    t0 = time.perf_counter()
    try:
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                res.rc = main(list(argv))
        except CliTimeout:
            res.timed_out = True
        except BaseException as exc:  # noqa: BLE001 - anything escaping main is the finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            res.exc = f"{type(exc).__name__}: {str(exc)[:300]}"
            res.tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except CliTimeout:  # a repeated alarm during the handling above
        res.timed_out = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        res.elapsed = time.perf_counter() - t0
    res.out, res.err = out.getvalue(), err.getvalue()
    if res.elapsed > limit and not res.timed_out:  # native code kept the alarm from firing in time
        res.timed_out = True
    return res


def message_problem(err: str, path: Path) -> str | None:
    """What is wrong with the stderr of an exit-2 answer for ``path`` (None: a clear message)."""
    if "Traceback" in err:
        return "stderr holds a traceback"
    if not err.strip():
        return "exit 2 with nothing on stderr"
    if path.name not in err:
        return f"stderr does not name {path.name}"
    for m in MESSAGE_LINE.finditer(err):
        if m.group("field").strip() and m.group("reason").strip():
            return None
    return "no 'file: field.path: reason' line"


def outcome_failures(res: Outcome, path: Path) -> list[str]:
    """Failures of one command's outcome: escaping exception, traceback, timeout, bad status or message."""
    if res.timed_out:
        return [f"timeout: {res.summary()}"]
    if res.exc:
        return [f"exception: {res.summary()}"]
    fails = []
    if res.rc not in (0, 2):
        fails.append(f"exit status {res.rc}: {res.summary()}")
    if "Traceback" in res.err:
        fails.append(f"traceback on stderr: {res.summary()}")
    if res.rc == 2:
        why = message_problem(res.err, path)
        if why and "Traceback" not in res.err:
            fails.append(f"unclear message ({why}): {res.summary()}")
    for stream, text in (("stdout", res.out), ("stderr", res.err)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a real terminal would raise here
            fails.append(f"{stream} cannot be written as UTF-8 ({exc.reason}): {res.summary()}")
    return fails


def capped_copy(path: Path) -> Path | None:
    """A copy of a valid scenario file with a short run (see RUN_CAPS), beside it; None if not a mapping."""
    from sim.loading import read_yaml  # the file validated with our reader (libyaml), which PyYAML's may refuse

    data = read_yaml(path)
    if not isinstance(data, dict):
        return None
    run = dict(data["run"]) if isinstance(data.get("run"), dict) else {}
    for k, cap in RUN_CAPS.items():
        v = run.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v <= cap:
            run[k] = cap
    data["run"] = run
    out = path.with_name(path.stem + "__capped.yaml")
    out.write_text(dump(data), encoding="utf-8")
    return out


def check_file(path: Path, limit: float = TIME_LIMIT_S, run: bool = True) -> tuple[list[str], list[Outcome]]:
    """``validate`` the file; if valid, ``run --reps 1`` a capped copy. Returns (failures, outcomes)."""
    v = run_main(["validate", str(path)], limit)
    fails = outcome_failures(v, path)
    outcomes = [v]
    if fails or v.rc != 0 or not run:
        return fails, outcomes
    capped = capped_copy(path)
    if capped is None:
        return fails, outcomes
    r = run_main(["run", str(capped), "--reps", "1"], limit)
    outcomes.append(r)
    return outcome_failures(r, capped), outcomes
