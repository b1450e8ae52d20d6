"""How many transfers to run at once: a window that adapts (TCP-style slow start and AIMD,
plus a latency gradient).

The executor asks ``limit`` before starting a transfer and reports every finished one
(``on_done``: how long it took and how many were running) and every push-back the API
gave (``on_pushback``: a 429 or an overloaded 5xx, from any thread or mapping sharing the
client). Pure: no clock and no threads; the caller passes durations and keeps it behind
its own lock.

Rules:
- The window stays within ``[1, maximum]`` (``maximum`` is the configured
  ``api.concurrency``); it starts at ``start`` (clamped).
- Slow start: while below ``threshold`` every success adds one (the window doubles per
  round trip); above it, each success adds ``1/limit`` (one per round trip).
- Growth needs demand: a success while fewer than half the window were running says
  nothing about a larger one, so it does not grow it (an idle link never inflates it).
- Rising latency, gradient-style (as Netflix's concurrency-limits "Gradient2"): a short
  average of recent latencies is compared with a long one. When the short one is more
  than ``tolerance`` times the long one (and by more than ``floor`` seconds: 2 ms more on
  a 1 ms round trip is no reason to hold back), the window shrinks by that ratio, at most
  once per round (``limit`` samples). Only samples flagged ``comparable`` (small
  transfers, whose time is the round trip rather than the bytes) feed it. A latency that
  rises together with throughput (a busy machine) moves both averages and does not stop
  growth; a sudden rise (a server slowing down, a queue building) does.
- Push-back halves the window (never below 1) and sets ``threshold`` there, at most once
  per round: transfers that started before the last decrease cannot cause another one
  (``epoch``), so thirty-two 429s of one burst halve once, not thirty-two times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Window:
    maximum: int
    start: int = 4
    tolerance: float = 2.0
    floor: float = 0.010  # seconds of extra latency below which nothing is held back
    short_weight: float = 0.1  # the short average: about the last 10 samples
    long_weight: float = 0.005  # the long one: about the last 200
    limit_f: float = field(init=False)
    threshold: float = field(init=False)
    epoch: int = field(init=False, default=0)
    short: float = field(init=False, default=math.nan)
    long: float = field(init=False, default=math.nan)
    _since_shrink: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.maximum = max(1, self.maximum)
        self.limit_f = float(min(max(1, self.start), self.maximum))
        self.threshold = float(self.maximum)

    @property
    def limit(self) -> int:
        """Transfers that may run at once now."""
        return max(1, min(self.maximum, int(self.limit_f)))

    def on_done(self, latency: float, running: int, *, comparable: bool = True) -> None:
        """A transfer finished well after ``latency`` seconds with ``running`` in flight
        (itself included)."""
        self._since_shrink += 1
        if comparable and latency >= 0 and self._sample(latency):
            return
        if running * 2 < self.limit:
            return  # the window was not the constraint: no evidence for more
        step = 1.0 if self.limit_f < self.threshold else 1.0 / self.limit_f
        self._set(self.limit_f + step)

    def on_pushback(self, started_epoch: int | None = None) -> None:
        """The server said slow down (429, or 5xx overload) to a transfer that started at
        ``started_epoch`` (None: unknown, always counts)."""
        if started_epoch is not None and started_epoch < self.epoch:
            return
        self._set(self.limit_f / 2.0)
        self.threshold = max(1.0, self.limit_f)
        self.epoch += 1

    def _sample(self, latency: float) -> bool:
        """Learn one latency; True when it shrank the window (rising latency)."""
        if math.isnan(self.long):
            self.short = self.long = latency
            return False
        self.short += self.short_weight * (latency - self.short)
        self.long += self.long_weight * (latency - self.long)
        rising = (self.short > self.tolerance * self.long
                  and self.short - self.long > self.floor)
        if not rising or self._since_shrink < self.limit:
            return rising
        self._set(self.limit_f * max(0.5, self.tolerance * self.long / self.short))
        self.threshold = min(self.threshold, self.limit_f)
        self._since_shrink = 0
        return True

    def _set(self, value: float) -> None:
        self.limit_f = min(float(self.maximum), max(1.0, value))
