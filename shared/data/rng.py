"""A small seeded random number generator whose output is fixed by this file alone.

Why not `random.Random`?  Python only promises that `random()` stays the same across versions;
`choice`, `choices`, `shuffle` and `randrange` have changed their use of the stream before.  The data
sets must be byte-identical on every machine and every future Python, so every draw goes through the
few lines below (SplitMix64, Steele et al. 2014), with integer weights so that no float rounding can
move a sample.

A generator is keyed by a tuple of strings and integers (e.g. ``("toystories", 901, "train", 17)``),
hashed with SHA-256: one independent stream per record, so record 17 of a split does not change when
the split gets longer, and any record can be regenerated on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_MASK = (1 << 64) - 1


class Rng:
    """SplitMix64 with unbiased integer draws.  Not for cryptography; for reproducible toy data."""

    __slots__ = ("_state",)

    def __init__(self, *key: str | int):
        if not key:
            raise ValueError("Rng needs a key, e.g. Rng('toystories', 901, 'train', 0)")
        for part in key:
            if not isinstance(part, (str, int)) or isinstance(part, bool):
                raise TypeError(f"Rng key parts must be str or int, got {part!r}")
        text = "\x1f".join(f"{type(p).__name__}:{p}" for p in key)
        self._state = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")

    def next64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n), by rejection so that no value is favoured."""
        if n <= 0:
            raise ValueError(f"below() needs n >= 1, got {n}")
        limit = ((1 << 64) // n) * n
        while True:
            x = self.next64()
            if x < limit:
                return x % n

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi], both ends included."""
        return lo + self.below(hi - lo + 1)

    def chance(self, num: int, den: int) -> bool:
        """True with probability num/den exactly."""
        return self.below(den) < num

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]

    def weighted_index(self, weights: Sequence[int]) -> int:
        """Index i with probability weights[i] / sum(weights); weights are non-negative integers."""
        total = sum(weights)
        if type(total) is not int or min(weights) < 0:  # a float anywhere makes the sum a float
            raise ValueError(f"weights must be non-negative integers, got {list(weights)}")
        r = self.below(total)
        for i, w in enumerate(weights):
            if r < w:
                return i
            r -= w
        raise AssertionError("unreachable")

    def shuffle(self, items: list[T]) -> list[T]:
        """Fisher-Yates shuffle in place; returns the list for convenience."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """k distinct elements (by position) in random order."""
        pool = list(seq)
        if not 0 <= k <= len(pool):
            raise ValueError(f"cannot sample {k} from {len(pool)} items")
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
