"""The shared assumption set: one set of values for every place, each with a plausible range.

The seed reports give outcomes, not parameters, so every scenario rests on
assumptions (how often materials are incomplete, how long applicants take to
fix them, whether a tolerated application is decided before the missing part
arrives ...).  A verdict on a claim must not hang on a value that only its own
file chose.  So the experiments apply this one set to every scenario they run:

* a **value** assumption replaces what the file says (e.g. every tolerated
  item waits for its supplement, ``decide_before_supplement = false``);
* a **scale** assumption multiplies what the file says (e.g. all fixing
  times x 1.5): the file's own numbers are its local detail, the scale is
  the shared uncertainty about all of them.

Each assumption has a default (the shared value) and a plausible range; the
robustness analysis moves one at a time to the ends of its range (a tornado)
and all of them together to the least and most favourable ends.  An
experiment may depart from a default only with a seed quote (listed wherever
the verdict is shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pydantic import TypeAdapter

from ..distributions import Distribution
from ..scenario import Scenario

_DIST = TypeAdapter(Distribution)

__all__ = ["Assumption", "ASSUMPTIONS", "apply_assumptions", "assumption"]


@dataclass(frozen=True)
class Assumption:
    """One shared assumption: its default, its plausible range and how it changes a scenario."""

    id: str
    en: str
    zh: str
    kind: str  # "scale" (multiplies the file's numbers) or "value" (replaces them)
    default: Any
    low: Any
    high: Any
    why: str  # where the default and the range come from
    apply: Callable[[dict, Any], None]  # edits a scenario's plain data in place

    def label(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en if lang == "en" else f"{self.en} / {self.zh}"

    def describe_value(self, value) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"x{value:g}" if self.kind == "scale" else f"{value:g}"


# -- how each assumption edits scenario data ------------------------------------
def _scale_dist(d, k: float) -> dict:
    """A distribution (plain data) with its time scaled by ``k`` (the distribution's own ``scaled``)."""
    return _DIST.validate_python(d).scaled(k).model_dump(mode="json")


def _each_applicants(data: dict):
    if data.get("applicants"):
        yield data["applicants"]
    for ct in data.get("case_types", ()):
        if ct.get("applicants"):
            yield ct["applicants"]


def _incomplete(data, k):
    for it in data["items"]:
        it["incomplete_probability"] = min(1.0, it.get("incomplete_probability", 0.0) * k)


def _repeat(data, v):
    data.setdefault("applicants", {})
    for a in _each_applicants(data):
        a["repeat_incomplete_factor"] = v


def _fix(data, k):
    data.setdefault("applicants", {})
    for a in _each_applicants(data):
        if a.get("fix_working_days") is not None:
            a["fix_working_days"] = _scale_dist(a["fix_working_days"], k)
        else:
            a["fix_calendar_days"] = _scale_dist(a.get("fix_calendar_days") or {"dist": "fixed", "value": 1.0}, k)


def _tolerated(data, v):
    for it in data["items"]:
        if it.get("tolerated_share", 0.0) > 0:
            it["tolerated_share"] = v


def _decide_before(data, v):
    for it in data["items"]:
        if it.get("tolerated_share", 0.0) > 0:
            it["decide_before_supplement"] = bool(v)


def _handoff(data, k):
    for it in data["items"]:
        h = it.get("handoff")
        if h:
            for key in ("to_back_office_minutes", "to_window_minutes"):
                if key in h:
                    h[key] = _scale_dist(h[key], k)


def _review(data, k):
    for it in data["items"]:
        for st in it.get("steps", ()):
            st["minutes"] = _scale_dist(st["minutes"], k)


def _travel(data, k):
    t = data.setdefault("travel", {})
    for key in ("default_minutes", "from_home_minutes"):
        if key in t:
            t[key] = t[key] * k
    for r in t.get("routes", ()):
        r["minutes"] = r["minutes"] * k
    for s in data["sites"]:
        if s.get("from_home_minutes") is not None:
            s["from_home_minutes"] = s["from_home_minutes"] * k


def _external(data, k):
    for e in data.get("externals", ()):
        if e.get("kind") == "meeting":
            continue  # sittings keep their schedule; the scale is on the work outside government
        for key in ("duration_working_days", "duration_calendar_days"):
            if e.get(key) is not None:
                e[key] = _scale_dist(e[key], k)


ASSUMPTIONS: dict[str, Assumption] = {
    a.id: a
    for a in (
        Assumption(
            "incomplete_scale", "Incomplete materials (x file)", "材料不全概率(倍数)", "scale", 1.0, 0.5, 1.5,
            "no report gives return rates; x0.5-x1.5 spans the files' 10%-40% per item", _incomplete,
        ),
        Assumption(
            "repeat_incomplete_factor", "Second attempt still incomplete (factor)", "补正后仍不全系数", "value",
            0.3, 0.1, 0.6, "a second submission after a one-time notice (一次性告知) is mostly complete", _repeat,
        ),
        Assumption(
            "fix_time_scale", "Time to fix materials (x file)", "补正/补交时间(倍数)", "scale", 1.0, 0.5, 2.0,
            "days to gather a missing paper are not reported; halved to doubled", _fix,
        ),
        Assumption(
            "tolerated_share", "Share of gaps tolerated (容缺)", "可容缺比例", "value", 0.8, 0.5, 1.0,
            "reports count tolerance items (288, 580), not the share of gaps they cover", _tolerated,
        ),
        Assumption(
            "decide_before_supplement", "Decided before the supplement (容缺后补)", "容缺后补先出结果", "value",
            False, False, True,
            "the law accepts complete applications only; deciding first is a departure needing a quote",
            _decide_before,
        ),
        Assumption(
            "handoff_scale", "Window-back office hand-offs (x file)", "内部流转时间(倍数)", "scale", 1.0, 0.5, 2.0,
            "paper shuttles (收发室) are not reported; halved to doubled", _handoff,
        ),
        Assumption(
            "review_scale", "Review work per step (x file)", "审批环节用时(倍数)", "scale", 1.0, 0.67, 1.5,
            "staff minutes per sign-off are not reported; two thirds to one and a half", _review,
        ),
        Assumption(
            "travel_scale", "Travel times (x file)", "路途时间(倍数)", "scale", 1.0, 0.5, 2.0,
            "county-seat trips of 15-30 minutes; halved to doubled", _travel,
        ),
        Assumption(
            "external_scale", "Intermediaries and notices (x file)", "中介与公示时长(倍数)", "scale", 1.0, 0.75, 1.5,
            "intermediary durations are market estimates; -25% to +50%", _external,
        ),
    )
}


def assumption(name: str) -> Assumption:
    try:
        return ASSUMPTIONS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(ASSUMPTIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown assumption {name!r}{hint}; known: {', '.join(ASSUMPTIONS)}") from None


def apply_assumptions(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """The scenario with every assumption of the shared set at the given (or default) value.

    Value assumptions replace the file's value; scale assumptions multiply it
    (a default scale of 1 leaves the file's numbers).  Returns a new,
    validated scenario; the input is not changed.
    """
    unknown = [k for k in values if k not in ASSUMPTIONS]
    if unknown:
        raise KeyError(f"unknown assumption(s): {', '.join(unknown)}; known: {', '.join(ASSUMPTIONS)}")
    data = scenario.to_dict()
    for a in ASSUMPTIONS.values():
        v = values.get(a.id, a.default)
        if a.kind == "scale" and v == 1.0:
            continue
        a.apply(data, v)
    return Scenario.from_dict(data)
