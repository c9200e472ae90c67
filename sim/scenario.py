"""A scenario: the whole approval system as validated, immutable data.

Load one with :func:`sim.load_scenario` (YAML file) or
:meth:`Scenario.from_dict` (a Python mapping, e.g. from a web form); both give
the same typed object and raise :class:`sim.ScenarioError` listing every
problem with its field path.  Objects are frozen: a reform builds a new
scenario instead of changing one (see :meth:`Scenario.evolve`).

Units are in the field names: ``*_minutes`` are minutes (working minutes for
work done by staff), ``*_working_days`` and ``*_limit_days`` are working days,
``*_calendar_days`` are calendar days, ``per_day`` is per working day.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Annotated, Any, Literal, Mapping, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)

from .calendar import Calendar
from .distributions import MAX_CV, MAX_VALUE, Distribution, Fixed, NoBool
from .errors import Problem, ScenarioError
from .flow import FlowNode, as_flow

__all__ = [
    "Scenario",
    "Site",
    "Route",
    "Travel",
    "Department",
    "Window",
    "Step",
    "Handoff",
    "Inspection",
    "Item",
    "Intermediary",
    "FixedPeriod",
    "Meeting",
    "Arrivals",
    "Channels",
    "CaseType",
    "Applicants",
    "Agency",
    "RunSettings",
]

Id = Annotated[str, Field(min_length=1, pattern=r"^[^\s\[\].]+$")]
# Bounds keep every number computable; each is far beyond a real service hall.
MAX_COUNT = 100_000
"""Most positions at a window group, staff in a role, replications, meeting places ..."""
MAX_RUN_WORKING_DAYS = 25_000
"""Longest warm-up, horizon or drain (about 100 years of working days)."""
MAX_FLOW_BLOCKS = 2_000
"""Most blocks (applications, external steps, sequences, branches) in one case type's flow."""
MAX_PER_DAY = 1_000_000
"""Most arrivals per working day of one case type (per_hour: a tenth of it)."""

Probability = Annotated[float, NoBool, Field(ge=0, le=1, allow_inf_nan=False)]
NonNeg = Annotated[float, NoBool, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False)]
Pos = Annotated[float, NoBool, Field(gt=0, le=MAX_VALUE, allow_inf_nan=False)]
Count = Annotated[int, NoBool, Field(ge=1, le=MAX_COUNT)]
RunDays = Annotated[float, NoBool, Field(ge=0, le=MAX_RUN_WORKING_DAYS, allow_inf_nan=False)]


_HOUR = re.compile(r"^\s*(\d{1,2})(?::00)?\s*$")


class FrozenMap(Mapping):
    """A read-only mapping that pickles and deep-copies (unlike ``MappingProxyType``).

    Scenarios travel to worker processes, so every part of them must pickle.
    """

    __slots__ = ("_d", "_hash")

    def __init__(self, data=()):
        self._d = dict(data)
        self._hash = None

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    # the dict's own methods (the Mapping defaults go through __getitem__ one key at a time)
    def __contains__(self, key) -> bool:
        return key in self._d

    def get(self, key, default=None):
        return self._d.get(key, default)

    def keys(self):
        return self._d.keys()

    def items(self):
        return self._d.items()

    def values(self):
        return self._d.values()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._d.items()))
        return self._hash

    def __eq__(self, other) -> bool:
        return dict(self._d) == dict(other) if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"

    def __reduce__(self):
        return (FrozenMap, (self._d,))


def _freeze(d: dict) -> Mapping:
    return FrozenMap(d)


def _thaw(d: Mapping) -> dict:
    return dict(d._d) if isinstance(d, FrozenMap) else dict(d)


def _frozen_map(value_type):
    return Annotated[
        dict[str, value_type],
        AfterValidator(_freeze),
        PlainSerializer(_thaw, return_type=dict),
    ]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- places -------------------------------------------------------------------
class Site(_Spec):
    """An office, service hall or township centre (an address the applicant travels to)."""

    id: Id
    name: str = ""
    from_home_minutes: NonNeg | None = Field(
        default=None, description="applicant's travel from home; default travel.from_home_minutes"
    )


class Route(_Spec):
    """Travel time between two sites (both directions); ``home`` is the applicant's home."""

    between: tuple[Id, Id]
    minutes: NonNeg


class Travel(_Spec):
    """Applicant travel times in minutes (calendar time)."""

    default_minutes: NonNeg = 0.0
    from_home_minutes: NonNeg = 0.0
    routes: tuple[Route, ...] = ()


# -- organisation -------------------------------------------------------------
class Department(_Spec):
    """A back office with staff by role (clerk, section chief, leader ...)."""

    id: Id
    name: str = ""
    site: Id
    staff: _frozen_map(Count) = Field(default_factory=FrozenMap)


class Window(_Spec):
    """A window group (counter) at a site: one queue served by ``positions`` staff."""

    id: Id
    name: str = ""
    site: Id
    positions: Count = 1
    items: tuple[Id, ...] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _distinct(cls, v):
        counts = Counter(v)
        dup = sorted(x for x, n in counts.items() if n > 1)
        if dup:
            raise ValueError(f"item {dup[0]!r} is listed twice")
        return v


# -- items --------------------------------------------------------------------
class Step(_Spec):
    """One back-office sign-off step, done by a role (working minutes of effort).

    Steps run one after another in the order listed, unless a step names in
    ``after`` the earlier steps it waits for: ``after: []`` starts it as soon
    as the file reaches the back office, ``after: [a, b]`` when both a and b
    are done.  Steps with no step waiting for them run side by side (同步审查,
    parallel reviews inside one item) and the item is decided when all are done.
    """

    id: Id | None = None
    role: Id
    minutes: Distribution
    department: Id | None = Field(default=None, description="default: the item's department")
    after: tuple[Id, ...] | None = Field(
        default=None,
        description="earlier steps (by id, or role when a step has no id) this step waits for; "
        "default: the step listed just before it",
    )

    @field_validator("after")
    @classmethod
    def _distinct_after(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a step is listed twice in 'after'")
        return v

    @property
    def key(self) -> str:
        return self.id or self.role


def step_predecessors(steps) -> tuple[tuple[int, ...], ...]:
    """Per step, the indices of the steps it waits for (its ``after``, else the step listed before it)."""
    index = {st.key: j for j, st in enumerate(steps)}
    return tuple(
        tuple(index[k] for k in st.after) if st.after is not None else ((j - 1,) if j else ())
        for j, st in enumerate(steps)
    )


def kept_steps(raw_steps: list[dict], steps, keep) -> list[dict]:
    """The step data ``raw_steps`` (of the validated ``steps``) with only the indices in ``keep``.

    A removed step's waits pass to the steps that waited for it, so what ran
    side by side still does and what came after still comes after; a plain
    chain stays a plain chain.
    """
    preds = step_predecessors(steps)
    chain = all(st.after is None for st in steps)

    def nearest(j: int) -> set[int]:
        out: set[int] = set()
        for p in preds[j]:
            out |= {p} if p in keep else nearest(p)
        return out

    result = []
    for j in sorted(keep):
        d = dict(raw_steps[j])
        d.pop("after", None)
        if not chain:
            d["after"] = [steps[p].key for p in sorted(nearest(j))]
        result.append(d)
    return result


class Handoff(_Spec):
    """Paper shuttle between the window and the back office (working minutes)."""

    to_back_office_minutes: Distribution = Fixed(value=0.0)
    to_window_minutes: Distribution = Fixed(value=0.0)


def incomplete_with_fewer_materials(p: float, ratio: float) -> float:
    """Chance of a gap when only ``ratio`` of an item's materials are still handed in.

    If each material is missing independently with the same chance, an item
    with m materials has a gap with probability 1 - (1 - q)^m; keeping
    ratio * m of them gives 1 - (1 - p)^ratio.  Used for shared materials of
    joint applications and by the reforms that cut materials.
    """
    if p <= 0 or ratio >= 1:
        return p
    if ratio <= 0:
        return 0.0
    return 1.0 - (1.0 - p) ** ratio


class Inspection(_Spec):
    """Checks after approval (事中事后监管): a share of decided cases is inspected later.

    The inspection is staff work at a department role that does not hold up the
    applicant (it is off the case's path) but takes capacity from other work.
    """

    share: Probability = Field(description="share of decided applications drawn for inspection")
    role: Id
    department: Id | None = Field(default=None, description="default: the item's department")
    minutes: Distribution


class Item(_Spec):
    """A service item (事项): an approval or service owned by a department."""

    id: Id
    name: str = ""
    department: Id
    kind: Literal["immediate", "back_office"] = Field(
        description="immediate (即办件): decided at the window; back_office (承诺件): sign-off chain"
    )
    intake_minutes: Distribution
    steps: tuple[Step, ...] = ()
    handoff: Handoff = Handoff()
    statutory_limit_days: NonNeg | None = None
    promised_limit_days: NonNeg | None = None
    materials: Annotated[int, NoBool, Field(ge=0, le=MAX_COUNT)] = 0
    incomplete_probability: Probability = 0.0
    tolerated_share: Probability = Field(
        default=0.0,
        description=(
            "容缺受理: share of incomplete applications whose gaps are non-essential; they are "
            "accepted and the applicant supplies the missing part while review goes on"
        ),
    )
    decide_before_supplement: bool = Field(
        default=False,
        description=(
            "容缺后补: a tolerated application is decided without waiting for the supplement "
            "(followed up afterwards); default: the decision waits for it"
        ),
    )
    issued_after: tuple[Id, ...] = Field(
        default=(),
        description=(
            "items whose result this item needs before it can be issued (e.g. the unified social "
            "credit code 统一社会信用代码 of the business licence): when such an item is being "
            "applied for in the same case, this item's decision waits for it; review runs meanwhile"
        ),
    )
    fee_yuan: NonNeg = 0.0
    online: bool = Field(default=True, description="can be applied for online")
    result_delivery: Literal["pickup", "mail", "electronic"] = "pickup"
    pickup_minutes: Distribution = Fixed(value=0.0)
    mail_calendar_days: Distribution = Fixed(value=1.0)
    inspection: Inspection | None = Field(default=None, description="checks after approval (事中事后监管)")

    @model_validator(mode="after")
    def _kind(self):
        if self.kind == "immediate" and self.steps:
            raise ValueError(
                "an immediate item (即办件) is decided at the window and has no back-office steps; "
                "put the work in intake_minutes or make it kind: back_office"
            )
        if self.kind == "back_office" and not self.steps:
            raise ValueError("a back_office item needs at least one step in 'steps'")
        if (
            self.statutory_limit_days is not None
            and self.promised_limit_days is not None
            and self.promised_limit_days > self.statutory_limit_days
        ):
            raise ValueError(
                f"promised_limit_days ({self.promised_limit_days:g}) exceeds "
                f"statutory_limit_days ({self.statutory_limit_days:g})"
            )
        return self


# -- external work ------------------------------------------------------------
class _Duration(_Spec):
    duration_working_days: Distribution | None = None
    duration_calendar_days: Distribution | None = None

    def _one_duration(self, required: bool):
        given = (self.duration_working_days is not None) + (self.duration_calendar_days is not None)
        if given > 1:
            raise ValueError("give duration_working_days or duration_calendar_days, not both")
        if required and given == 0:
            raise ValueError("needs duration_working_days or duration_calendar_days")
        return self


class Intermediary(_Duration):
    """A report by an outside firm (环评, 地灾评估 ...): no government capacity, long durations."""

    kind: Literal["intermediary"]
    id: Id
    name: str = ""
    capacity: Count | None = Field(default=None, description="jobs in progress at once; none = unlimited")

    @model_validator(mode="after")
    def _check(self):
        return self._one_duration(True)


class FixedPeriod(_Duration):
    """A fixed waiting period such as a public notice (公示)."""

    kind: Literal["fixed_period"]
    id: Id
    name: str = ""

    @model_validator(mode="after")
    def _check(self):
        return self._one_duration(True)


class Meeting(_Duration):
    """A periodic meeting (e.g. a joint review) that sits every N working days at a set time.

    A case waits for the next sitting; the decision follows after the optional
    duration.  ``capacity_per_sitting`` cases at most are heard per sitting.
    """

    kind: Literal["meeting"]
    id: Id
    name: str = ""
    every_working_days: Count
    at: str = "09:00"
    first_working_day: Annotated[int, NoBool, Field(ge=0, le=MAX_RUN_WORKING_DAYS)] = 0
    capacity_per_sitting: Count | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, v):
        from .calendar import parse_clock

        parse_clock(v)
        return v

    @model_validator(mode="after")
    def _check(self):
        return self._one_duration(False)


def _external_tag(v: Any) -> str | None:
    if isinstance(v, _Spec):
        return f"[{getattr(v, 'kind', '')}]"
    if isinstance(v, dict) and v.get("kind") in ("intermediary", "fixed_period", "meeting"):
        return f"[{v['kind']}]"
    return None


External = Annotated[
    Union[
        Annotated[Intermediary, Tag("[intermediary]")],
        Annotated[FixedPeriod, Tag("[fixed_period]")],
        Annotated[Meeting, Tag("[meeting]")],
    ],
    Discriminator(
        _external_tag,
        custom_error_type="external_kind",
        custom_error_message="'kind' must be one of: intermediary, fixed_period, meeting",
    ),
]


# -- demand -------------------------------------------------------------------
class Arrivals(_Spec):
    """How cases of a type arrive, during office hours only.

    Give exactly one of ``per_day`` (per working day), ``per_hour`` (per
    working hour) - both Poisson - or ``interarrival_minutes`` (a renewal
    process in working minutes).  ``hourly_profile`` weights clock hours
    (``{9: 2.0, 15: 1.5}``; unlisted hours weigh 1).  ``day_to_day_cv`` > 0
    makes daily counts over-dispersed (each day's rate is multiplied by a
    gamma variate of mean 1 and that cv: negative-binomial counts).
    """

    per_day: Annotated[float, NoBool, Field(gt=0, le=MAX_PER_DAY, allow_inf_nan=False)] | None = None
    per_hour: Annotated[float, NoBool, Field(gt=0, le=MAX_PER_DAY / 10, allow_inf_nan=False)] | None = None
    interarrival_minutes: Distribution | None = None
    hourly_profile: _frozen_map(NonNeg) = Field(default_factory=FrozenMap)
    day_to_day_cv: Annotated[float, NoBool, Field(ge=0, le=MAX_CV, allow_inf_nan=False)] = 0.0

    @field_validator("hourly_profile", mode="before")
    @classmethod
    def _hours(cls, v):
        if isinstance(v, dict):
            out = {}
            for k, w in v.items():
                m = _HOUR.match(str(k)) if isinstance(k, (int, str)) and not isinstance(k, bool) else None
                if m is None or not 0 <= int(m.group(1)) <= 23:
                    raise ValueError(f"hour {k!r} is not a clock hour: write 0-23, or HH:00 such as '09:00'")
                h = int(m.group(1))
                if str(h) in out:
                    raise ValueError(f"hour {h} is listed twice")
                out[str(h)] = w
            return out
        return v

    @model_validator(mode="after")
    def _one(self):
        given = [n for n in ("per_day", "per_hour", "interarrival_minutes") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of per_day, per_hour or interarrival_minutes"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.day_to_day_cv and self.day_to_day_cv < 1e-3:
            raise ValueError(f"day_to_day_cv must be 0 (none) or at least 0.001 (got {self.day_to_day_cv:g})")
        if self.interarrival_minutes is not None:
            if self.interarrival_minutes.mean < 1e-3:
                raise ValueError(
                    f"interarrival_minutes must have a mean of at least 0.001 minute (got {self.interarrival_minutes.mean:g})"
                )
            if self.hourly_profile or self.day_to_day_cv:
                raise ValueError("hourly_profile and day_to_day_cv apply to per_day/per_hour arrivals only")
        if self.hourly_profile and sum(self.hourly_profile.values()) <= 0:
            raise ValueError("hourly_profile weights must not all be zero")
        return self

    def weight(self, hour: int) -> float:
        return float(self.hourly_profile.get(str(hour), 1.0))


class Channels(_Spec):
    """Shares of cases by channel (sum to 1).

    ``counter``: the applicant comes in person; ``online``: applies online, no
    trips; ``assisted`` (帮办代办): an agent carries the paperwork (see
    :class:`Agency`).
    """

    counter: Probability = 1.0
    online: Probability = 0.0
    assisted: Probability = 0.0

    @model_validator(mode="after")
    def _sum(self):
        total = self.counter + self.online + self.assisted
        if abs(total - 1.0) > 1e-9:
            names = "counter + online" + (" + assisted" if self.assisted else "")
            raise ValueError(f"{names} must be 1 (got {total:g})")
        return self


class Agency(_Spec):
    """Agency service (帮办代办): how cases of the ``assisted`` channel differ.

    An agent prepares the materials and makes every visit (queues, intake,
    pickup) for the applicant, who only hands the case over.  The agent works
    from the service hall, so the agent's travel is not counted.
    """

    incomplete_factor: Probability = Field(
        default=0.3, description="multiplies items' incomplete_probability for assisted cases"
    )
    fix_factor: NonNeg = Field(default=0.5, description="multiplies the time to fix materials")
    applicant_trips: Annotated[int, NoBool, Field(ge=0, le=1000)] = Field(
        default=1, description="trips the applicant still makes (handing the case to the agent)"
    )


class Applicants(_Spec):
    """How applicants behave when sent back to fix incomplete materials (补正), and cases that end undecided.

    Fixing takes ``fix_calendar_days`` (calendar time) or ``fix_working_days``;
    each later attempt is incomplete with the item's probability times
    ``repeat_incomplete_factor``; after the k-th return the applicant gives up
    with ``abandon_probability[k-1]`` (the last value repeats).

    ``withdraw_probability`` of the cases are withdrawn (撤回) or terminated
    (终止) without a decision, ``withdraw_after_working_days`` after they
    arrive; they count as abandoned.  Such a case is chosen when it arrives
    and is never decided: it leaves at its time even if its work would have
    been done sooner.  The work already under way when it leaves is still
    done (a file in flight is finished), so its staff time is an upper bound.
    """

    fix_calendar_days: Distribution | None = None
    fix_working_days: Distribution | None = None
    repeat_incomplete_factor: Probability = 0.5
    abandon_probability: tuple[Probability, ...] = Field(default=(0.0,), min_length=1)
    withdraw_probability: Probability = Field(default=0.0, description="share of cases withdrawn or terminated undecided")
    withdraw_after_working_days: Distribution | None = Field(
        default=None, description="working days from arrival to the withdrawal (needed with withdraw_probability)"
    )

    @model_validator(mode="after")
    def _one(self):
        if self.fix_calendar_days is not None and self.fix_working_days is not None:
            raise ValueError("give fix_calendar_days or fix_working_days, not both")
        if self.withdraw_probability > 0 and self.withdraw_after_working_days is None:
            raise ValueError("withdraw_probability needs withdraw_after_working_days: when the cases leave")
        return self

    @property
    def fix_time(self) -> tuple[str, Any]:
        """(basis, distribution) with basis 'calendar' or 'working'; default 1 calendar day."""
        if self.fix_working_days is not None:
            return "working", self.fix_working_days
        return "calendar", self.fix_calendar_days or Fixed(value=1.0)


class CaseType(_Spec):
    """A journey (e.g. enterprise opening): arrivals, channel mix and a flow of items."""

    id: Id
    name: str = ""
    arrivals: Arrivals
    channels: Channels = Channels()
    flow: FlowNode
    target_working_days: NonNeg | None = Field(
        default=None, description="case-level target for the whole journey, in working days"
    )
    applicants: Applicants | None = Field(default=None, description="overrides the scenario's applicants")

    @field_validator("flow", mode="before")
    @classmethod
    def _flow(cls, v):
        return as_flow(v)

    @field_validator("flow")
    @classmethod
    def _flow_size(cls, v):
        from .flow import walk

        n = sum(1 for _ in walk(v))
        if n > MAX_FLOW_BLOCKS:
            raise ValueError(f"the flow has {n:,} blocks; at most {MAX_FLOW_BLOCKS:,} are allowed")
        return v


class RunSettings(_Spec):
    """Run length and replications.

    Cases arrive during ``warmup_working_days + horizon_working_days``;
    statistics cover cases that arrive after the warm-up and resources over the
    horizon.  After arrivals stop, open cases may run on for up to
    ``drain_working_days`` so long journeys are not cut short; any still open
    then are reported as unfinished.
    """

    horizon_working_days: Annotated[float, NoBool, Field(gt=0, le=MAX_RUN_WORKING_DAYS, allow_inf_nan=False)] = 20.0
    warmup_working_days: RunDays = 0.0
    drain_working_days: RunDays = 500.0
    replications: Count = 10
    seed: Annotated[int, NoBool, Field(ge=0)] = 12345


# -- the scenario -------------------------------------------------------------
class Scenario(_Spec):
    """An approval system: calendar, places, organisation, items, demand and run settings."""

    name: str
    description: str = ""
    calendar: Calendar = Calendar(always_open=True)
    sites: tuple[Site, ...] = Field(min_length=1)
    travel: Travel = Travel()
    departments: tuple[Department, ...] = Field(min_length=1)
    windows: tuple[Window, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    externals: tuple[External, ...] = ()
    case_types: tuple[CaseType, ...] = Field(min_length=1)
    applicants: Applicants = Applicants()
    agency: Agency = Agency()
    run: RunSettings = RunSettings()

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> "Scenario":
        """Validate plain data (as read from YAML or JSON) into a scenario.

        Raises :class:`ScenarioError` naming every problem with its field path.
        """
        from .validation import validate_scenario

        try:
            return validate_scenario(data)
        except ScenarioError as exc:
            raise exc.with_source(source) if source else exc from None

    def to_dict(self) -> dict:
        """Plain JSON-ready data; ``Scenario.from_dict(s.to_dict()) == s``."""
        return self.model_dump(mode="json", exclude_none=True)

    def evolve(self, **changes: Any) -> "Scenario":
        """A new scenario with top-level fields replaced (plain data or typed values).

        The new values are validated and the references of the whole scenario
        checked; the fields kept are not validated again (they were, and
        they are immutable).  Problems are reported as :meth:`from_dict` would.
        """
        for k in changes:
            if k not in type(self).model_fields:
                raise ScenarioError([Problem(k, "unknown scenario field")])
        from .validation import validate_changes

        return validate_changes(self, changes)

    def revised(self, data: Any, unedited: Mapping[str, Any] | None = None, kept=()) -> "Scenario":
        """``Scenario.from_dict(data)`` for ``data`` made by editing this scenario's :meth:`to_dict`.

        The same scenario, or the same :class:`ScenarioError`, as
        :meth:`from_dict`, but entries (sites, items, windows ...) left as
        they were are kept instead of validated again: what changed is
        validated, then every reference is checked.  What "as they were"
        means comes from ``unedited`` (plain data by top-level field, e.g. a
        copy of :meth:`to_dict` taken before the edits) or else from this
        scenario; top-level fields named in ``kept`` are taken from this
        scenario without comparing (the edit did not reach them).  Reforms
        build their results this way, so a chain of reforms on a large
        scenario costs little more than loading it.
        """
        from .validation import validate_revision

        return validate_revision(self, data, unedited, kept)

    def content_hash(self) -> str:
        """Stable SHA-256 of the canonical JSON form (same content, same hash); for manifests."""
        return _sha256(self.to_dict())

    def model_hash(self) -> str:
        """SHA-256 of what the engine simulates: the content without name, description,
        seed and replication count.  Two files that differ only in those give the same
        numbers for the same seed and replication, so sweeps and caches key on this.
        """
        data = self.to_dict()
        for k in ("name", "description"):
            data.pop(k, None)
        data["run"] = {k: v for k, v in data["run"].items() if k not in ("seed", "replications")}
        return _sha256(data)

    # -- lookups -----------------------------------------------------------------
    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def windows_for(self, item_ids) -> tuple[Window, ...]:
        """Window groups that accept every one of ``item_ids``."""
        need = set(item_ids)
        return tuple(w for w in self.windows if need <= set(w.items))


def _sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(obj: Any) -> Any:
    """Recursively turn models and mapping proxies into plain data."""
    if isinstance(obj, BaseModel):
        return _plain(obj.model_dump(mode="python"))
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
