"""Verdicts on claims: does the simulated measure agree with what a report says?

A claim holds at a setting of the assumptions when the simulated mean is on
the claim's side (``<=``, ``>=``, within ``tolerance`` of the claimed value
for ``approx``, inside ``[low, high]`` for ``between``).  It *clearly fails*
when the whole 95% confidence interval is on the wrong side.

The verdict reads the robustness runs: the shared defaults, each deciding
assumption alone at both ends of its plausible range (a tornado), and all of
them together at their least and most favourable ends (the two corners).

=================================  ============================================
``reproduced``                     holds at the defaults, at every single end
                                   and at the least favourable corner
``reproduced_under_assumptions``   holds at the defaults but not across the
                                   whole plausible range, or fails at the
                                   defaults but holds somewhere in it; the
                                   deciding assumptions and values are named
``not_reproduced``                 fails at the defaults and everywhere tried,
                                   but the most favourable corner's interval
                                   still reaches the claim
``refuted``                        clearly fails even at the most favourable
                                   corner
``not_testable``                   no model quantity can test it (why given)
``limit``                          arithmetic on declared limits (时限): reported
                                   as such, with whether simulated government
                                   time keeps the new limits
``input``                          a number fed into the model, never a verdict
=================================  ============================================
"""

from __future__ import annotations

import math

from .assumptions import ASSUMPTIONS

__all__ = ["VERDICTS", "MEANINGS", "holds", "clearly_fails", "favourability", "decide"]

VERDICTS = {  # display names, English and Chinese (tables, charts, report)
    "reproduced": ("Reproduced", "复现"),
    "reproduced_under_assumptions": ("Reproduced only under named assumptions", "仅在特定假设下复现"),
    "not_reproduced": ("Not reproduced", "未能复现"),
    "refuted": ("Refuted", "不成立"),
    "not_testable": ("Not testable", "无法检验"),
    "limit": ("Declared limit", "时限测算"),
    "input": ("Model input", "模型输入"),
}

MEANINGS = {  # what each verdict means, for tables, reports and slides
    "reproduced": (
        "Holds at the shared defaults, at both ends of every deciding assumption's plausible range, and with "
        "all of them at their least favourable ends together.",
        "在共享默认假设下成立，在每个关键假设合理范围的两端、以及所有关键假设同时取最不利值时也都成立。",
    ),
    "reproduced_under_assumptions": (
        "Flips inside the plausible range: it holds at the defaults but fails at a named assumption value, or "
        "fails at the defaults and holds only at named values.",
        "结论在合理假设范围内会翻转：默认假设下成立但在指明的假设取值下不成立，或默认下不成立、仅在指明的取值下成立。",
    ),
    "not_reproduced": (
        "Fails at the defaults and at every setting tried, though the most favourable setting's 95% interval "
        "still reaches the claim.",
        "在默认假设及所有尝试的设置下均不成立，但最有利设置下的95%置信区间仍触及声明值。",
    ),
    "refuted": (
        "Fails even with every deciding assumption at its most favourable end: the whole 95% interval is on "
        "the other side.",
        "即使所有关键假设都取最有利值仍不成立：整个95%置信区间都落在另一侧。",
    ),
    "not_testable": (
        "No process model can test it, or no shipped scenario models it yet (the row says which).",
        "流程模型无法检验，或尚无场景对其建模（见该行说明）。",
    ),
    "limit": (
        "A declared time limit (时限): arithmetic on yardsticks, shown with whether simulated government time "
        "keeps the new limits; not a measured time.",
        "声明的是时限：对标准的测算而非实测时间，同时给出仿真办结时间是否守住新时限。",
    ),
    "input": ("A number fed into the model (windows, items, materials): never a verdict.", "输入模型的数字(窗口、事项、材料数)，不作结论。"),
}


def _gap(test, x: float) -> float:
    """Distance of ``x`` from the region where the claim holds (0 inside)."""
    c = test.claimed
    if test.holds_if == "<=":
        return max(0.0, x - c)
    if test.holds_if == ">=":
        return max(0.0, c - x)
    if test.holds_if == "approx":
        return max(0.0, abs(x - c) - test.tolerance)
    lo, hi = c
    return max(0.0, lo - x, x - hi)


def holds(test, mean: float) -> bool:
    return math.isfinite(mean) and _gap(test, mean) <= 1e-12


def clearly_fails(test, lo: float, hi: float) -> bool:
    """The whole interval [lo, hi] lies where the claim does not hold."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return False
    c = test.claimed
    if test.holds_if == "<=":
        return lo > c
    if test.holds_if == ">=":
        return hi < c
    if test.holds_if == "approx":
        return lo > c + test.tolerance or hi < c - test.tolerance
    return lo > c[1] or hi < c[0]


def favourability(test, mean: float) -> float:
    """Higher is more favourable to the claim (minus the distance to where it holds, then the margin)."""
    if not math.isfinite(mean):
        return -math.inf
    gap = _gap(test, mean)
    if gap > 0:
        return -gap
    c = test.claimed
    if test.holds_if == "<=":
        return c - mean
    if test.holds_if == ">=":
        return mean - c
    if test.holds_if == "approx":
        return test.tolerance - abs(mean - c)
    return min(mean - c[0], c[1] - mean)


def _setting(name: str, value) -> str:
    a = ASSUMPTIONS[name]
    return f"{a.id} = {a.describe_value(value)}"


def decide(test, default, ends: dict, least, most) -> tuple[str, str, bool]:
    """(verdict, deciding text, flips inside the plausible range).

    ``default``, ``least`` and ``most`` are (mean, ci_low, ci_high);
    ``ends`` maps assumption -> {value: (mean, ci_low, ci_high)} for the two
    ends of its range.  ``least``/``most`` may be None when no assumption
    decides the claim.
    """
    m0 = default[0]
    h0 = holds(test, m0)
    flips = []
    for name, by_value in ends.items():
        for value, est in by_value.items():
            if holds(test, est[0]) != h0:
                flips.append(_setting(name, value))
    corner_flip = False
    if h0 and least is not None and not holds(test, least[0]):
        corner_flip = True
    if not h0 and most is not None and holds(test, most[0]):
        corner_flip = True
    flipped = bool(flips) or corner_flip
    if h0:
        if not flipped:
            return "reproduced", "holds at the shared defaults and across every plausible range tried", False
        where = "; ".join(flips) if flips else "all deciding assumptions at their least favourable ends together"
        return "reproduced_under_assumptions", f"holds at the shared defaults; fails when {where}", True
    if flipped:
        where = "; ".join(flips) if flips else "all deciding assumptions at their most favourable ends together"
        return "reproduced_under_assumptions", f"fails at the shared defaults; holds only when {where}", True
    best = most if most is not None else default
    if clearly_fails(test, best[1], best[2]):
        return "refuted", "fails at the shared defaults and, clearly (whole 95% CI), at the most favourable ends", False
    return "not_reproduced", "fails at the shared defaults and at every setting tried (the most favourable CI still reaches the claim)", False
