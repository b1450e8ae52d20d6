"""Exponential backoff for a mapping loop that failed (server down, network gone, halt).

Pure except for the injected random source: ``next_delay()`` doubles from ``base`` up to
``cap`` seconds, with "equal jitter" (half fixed, half random) so many daemons restarted by
the same outage do not retry in lock step; ``reset()`` after a success.

Invariant: every delay is in ``[base / 2, cap]``, so a failing loop never spins the CPU and
never waits longer than ``cap`` before trying again.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(self, base: float = 0.5, cap: float = 60.0, *,
                 rand: Callable[[], float] = random.random) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self._rand = rand
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; counts one more failure."""
        ceiling: float = min(self.cap, self.base * float(2 ** min(self.failures, 30)))
        self.failures += 1
        return float(ceiling / 2 + self._rand() * ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
