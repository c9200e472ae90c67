"""Probability distributions for durations.

Each distribution is small immutable data with a readable ``repr``, its
analytic ``mean`` and ``variance`` (so tests can compare with formulas), and a
``sample(rng, size)`` method that draws only from the generator it is handed.

In a scenario file a distribution is either a plain number (a fixed value) or a
mapping with a ``dist`` key::

    intake_minutes: 12                                  # fixed
    intake_minutes: {dist: exponential, mean: 12}
    intake_minutes: {dist: lognormal, mean: 12, cv: 0.5}
    intake_minutes: {dist: triangular, low: 5, mode: 10, high: 30}
    minutes: {dist: mixture, weights: [0.7, 0.3],      # 70% done at once, the rest take time
              components: [0, {dist: gamma, mean: 2400, cv: 1.2}]}

All distributions describe durations, so every value they can take is >= 0.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

__all__ = [
    "Fixed",
    "Exponential",
    "Uniform",
    "Triangular",
    "Lognormal",
    "Gamma",
    "Empirical",
    "Mixture",
    "Distribution",
    "DISTRIBUTION_NAMES",
    "as_distribution",
]

def not_bool(v: Any) -> Any:
    """Refuse YAML booleans where a number is expected (``yes`` must not mean 1)."""
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {str(v).lower()}")
    return v


NoBool = BeforeValidator(not_bool)
MAX_VALUE = 1e9
"""Largest duration parameter accepted (minutes or days): far beyond any real approval, small enough to compute with."""
MAX_CV = 100.0
"""Largest coefficient of variation accepted."""
MIN_GAMMA_CV = 1e-3
"""Smallest gamma cv (its shape 1/cv^2 must stay finite); use ``fixed`` for no variation."""

NonNeg = Annotated[float, NoBool, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False)]
Pos = Annotated[float, NoBool, Field(gt=0, le=MAX_VALUE, allow_inf_nan=False)]
Cv = Annotated[float, NoBool, Field(ge=0, le=MAX_CV, allow_inf_nan=False)]


class _Dist(BaseModel):
    """Common behaviour; subclasses define ``mean``, ``variance`` and ``sample``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.variance)

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (variance / mean^2), 0 for a zero mean."""
        m = self.mean
        return self.variance / (m * m) if m > 0 else 0.0

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.model_dump(exclude={"dist"}).items())
        return f"{type(self).__name__}({fields})"

    __str__ = __repr__


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: NonNeg

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return {"dist": "fixed", "value": v}
        return v

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng, size):
        return np.full(size, self.value, dtype=float)

    def scaled(self, factor):
        return Fixed(value=self.value * factor)


class Exponential(_Dist):
    """Exponential with the given mean (memoryless; cv = 1)."""

    dist: Literal["exponential"] = "exponential"
    mean: Pos

    @property
    def variance(self) -> float:
        return self.mean**2

    def sample(self, rng, size):
        return rng.exponential(self.mean, size)

    def scaled(self, factor):
        return Fixed(value=0.0) if factor == 0 else Exponential(mean=self.mean * factor)


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"] = "uniform"
    low: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    def scaled(self, factor):
        return Uniform(low=self.low * factor, high=self.high * factor)


class Triangular(_Dist):
    """Triangular with minimum ``low``, most likely ``mode`` and maximum ``high``."""

    dist: Literal["triangular"] = "triangular"
    low: NonNeg
    mode: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _order(self):
        if not (self.low <= self.mode <= self.high):
            raise ValueError(
                f"needs low <= mode <= high (got low={self.low}, mode={self.mode}, high={self.high})"
            )
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def sample(self, rng, size):
        if self.high == self.low:
            return np.full(size, self.low, dtype=float)
        return rng.triangular(self.low, self.mode, self.high, size)

    def scaled(self, factor):
        return Triangular(low=self.low * factor, mode=self.mode * factor, high=self.high * factor)


class Lognormal(_Dist):
    """Lognormal given by its own mean and coefficient of variation (not by mu, sigma)."""

    dist: Literal["lognormal"] = "lognormal"
    mean: Pos
    cv: Cv

    @property
    def variance(self) -> float:
        return (self.mean * self.cv) ** 2

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2

    def sample(self, rng, size):
        return rng.lognormal(self.mu, self.sigma, size)

    def scaled(self, factor):
        return Fixed(value=0.0) if factor == 0 else Lognormal(mean=self.mean * factor, cv=self.cv)


class Gamma(_Dist):
    """Gamma given by mean and coefficient of variation (cv = 1/sqrt(k) is Erlang-k)."""

    dist: Literal["gamma"] = "gamma"
    mean: Pos
    cv: Annotated[float, NoBool, Field(ge=MIN_GAMMA_CV, le=MAX_CV, allow_inf_nan=False)]

    @property
    def variance(self) -> float:
        return (self.mean * self.cv) ** 2

    @property
    def shape(self) -> float:
        return 1.0 / self.cv**2

    def sample(self, rng, size):
        return rng.gamma(self.shape, self.mean / self.shape, size)

    def scaled(self, factor):
        return Fixed(value=0.0) if factor == 0 else Gamma(mean=self.mean * factor, cv=self.cv)


class Empirical(_Dist):
    """Draws one of the observed ``values``, with optional ``weights``."""

    dist: Literal["empirical"] = "empirical"
    values: tuple[NonNeg, ...] = Field(min_length=1)
    weights: tuple[NonNeg, ...] | None = None

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._p(), self.values))

    @property
    def variance(self) -> float:
        v = np.asarray(self.values, dtype=float)
        return float(np.dot(self._p(), (v - self.mean) ** 2))

    def sample(self, rng, size):
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())

    def scaled(self, factor):
        return Empirical(values=tuple(v * factor for v in self.values), weights=self.weights)


_SIMPLE = {c.model_fields["dist"].default: c for c in (Fixed, Exponential, Uniform, Triangular, Lognormal, Gamma, Empirical)}


def _tag_in(classes: dict):
    def tag(value: Any) -> str | None:
        if isinstance(value, _Dist):
            return f"[{value.dist}]"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "[fixed]"
        if isinstance(value, dict):
            name = value.get("dist")
            if isinstance(name, str) and name in classes:
                return f"[{name}]"
        return None

    return tag


def _union(classes: dict, note: str = ""):
    members = tuple(Annotated[c, Tag(f"[{name}]")] for name, c in classes.items())
    return Annotated[
        Union[members],
        Discriminator(
            _tag_in(classes),
            custom_error_type="distribution",
            custom_error_message="expected a number or a mapping with 'dist' one of: " + ", ".join(classes) + note,
        ),
    ]


SimpleDistribution = _union(_SIMPLE, " (a mixture's components cannot be mixtures)")
"""Any distribution but a mixture (a mixture's components)."""


class Mixture(_Dist):
    """One of ``components`` drawn with ``weights`` for each value: e.g. a share done at once (``0``) and the
    rest taking a gamma time (a step a log shows as often same-day, sometimes weeks)."""

    dist: Literal["mixture"] = "mixture"
    weights: tuple[NonNeg, ...] = Field(min_length=1)
    components: tuple[SimpleDistribution, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self):
        if len(self.weights) != len(self.components):
            raise ValueError(f"weights has {len(self.weights)} entries but components has {len(self.components)}")
        if sum(self.weights) <= 0:
            raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._p(), [c.mean for c in self.components]))

    @property
    def variance(self) -> float:
        p = self._p()
        second = sum(pk * (c.variance + c.mean**2) for pk, c in zip(p, self.components))
        return max(0.0, float(second) - self.mean**2)

    def sample(self, rng, size):
        which = rng.choice(len(self.components), size=size, p=self._p())
        out = np.empty(size, dtype=float)
        for k, c in enumerate(self.components):
            at = which == k
            n = int(at.sum())
            if n:
                out[at] = c.sample(rng, n)
        return out

    def scaled(self, factor):
        return Mixture(weights=self.weights, components=tuple(c.scaled(factor) for c in self.components))

    def __repr__(self) -> str:
        parts = ", ".join(f"{w:g}: {c!r}" for w, c in zip(self.weights, self.components))
        return f"Mixture({parts})"

    __str__ = __repr__


_CLASSES = {**_SIMPLE, "mixture": Mixture}
DISTRIBUTION_NAMES: tuple[str, ...] = tuple(_CLASSES)


Distribution = _union(_CLASSES)
"""A duration distribution field (number shorthand or ``{dist: ..., ...}``)."""


def as_distribution(value: Any) -> _Dist:
    """Build a distribution from a number or a mapping (used by the Python API)."""
    from pydantic import TypeAdapter

    return TypeAdapter(Distribution).validate_python(value)
