"""Random streams keyed by purpose.

Replication ``r`` of seed ``s`` draws from ``SeedSequence(s, spawn_key=(r,))``
and nothing else, so its numbers do not depend on how many replications run
or in how many processes.  Inside a replication every source of randomness has
its own stream, keyed by a name such as ``"arrivals:enterprise_opening"`` or
``"duration:business_licence:chief"``: a reform that removes one step leaves
what every other step and every arrival sees unchanged.  That is what makes
common random numbers, and so paired comparisons of scenarios, sharp.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

__all__ = ["replication_seed", "Streams", "BLOCK", "keyed_uniform"]

_MASK = (1 << 64) - 1


def keyed_uniform(key: int, a: int, b: int) -> float:
    """A U(0, 1) number fixed by (key, a, b): the splitmix64 finaliser of their mix.

    Used for draws that belong to one case (its k-th application attempt has a
    gap or not), so they do not depend on the order in which cases happen to
    reach a window: a reform that changes timing leaves them unchanged.
    """
    x = (key ^ ((a + 1) * 0x9E3779B97F4A7C15) ^ ((b + 1) * 0xD1B54A32D192ED03)) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return (x >> 11) * 1.1102230246251565e-16  # 2**-53

BLOCK = 256
"""Values drawn at a time from a stream (fixed, so draw k is always the same value)."""


def replication_seed(seed: int | np.random.SeedSequence, replication: int) -> np.random.SeedSequence:
    """The seed sequence of one replication: depends only on (seed, replication)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (int(replication),))
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    return np.random.SeedSequence(int(seed), spawn_key=(int(replication),))


def _purpose_key(purpose: str) -> tuple[int, int]:
    digest = hashlib.sha256(purpose.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


class Streams:
    """Independent generators for the purposes of one replication."""

    def __init__(self, root: np.random.SeedSequence):
        self.root = root

    def generator(self, purpose: str) -> np.random.Generator:
        """A fresh generator for ``purpose`` (same purpose, same numbers)."""
        seq = np.random.SeedSequence(self.root.entropy, spawn_key=tuple(self.root.spawn_key) + _purpose_key(purpose))
        return np.random.Generator(np.random.PCG64(seq))

    def sampler(self, purpose: str, dist) -> Callable[[], float]:
        """A function returning the next draw of ``dist`` from the ``purpose`` stream."""
        rng = self.generator(purpose)
        if dist.variance == 0:
            value = float(dist.mean)
            return lambda: value

        def blocks():
            while True:
                yield from dist.sample(rng, BLOCK).tolist()

        return blocks().__next__

    def key(self, purpose: str) -> int:
        """A 64-bit key for :func:`keyed_uniform` draws of ``purpose`` in this replication."""
        return int(self.generator(purpose).integers(0, 1 << 63)) * 2 + 1

    def uniform(self, purpose: str) -> Callable[[], float]:
        """A function returning the next U(0, 1) draw of the ``purpose`` stream."""
        rng = self.generator(purpose)

        def blocks():
            while True:
                yield from rng.random(BLOCK).tolist()

        return blocks().__next__
