"""How many transfers to run at once: a congestion window that adapts, as TCP Vegas does.

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
- Rising latency: the base is the lowest latency of recent samples (a windowed minimum,
  so a changed link is relearned within ``2 * base_period`` samples). The queue the
  transfers build at the far end is estimated as ``running * (1 - base / latency)``;
  above ``beta`` the window shrinks by the excess (``queue - beta``, at least one) per
  round trip, between ``alpha`` and ``beta``
  it holds, below ``alpha`` it grows; a queue of ``alpha`` or more ends slow start. Only samples flagged ``comparable`` (small
  transfers, whose time is the round trip rather than the bytes) feed the latency rule.
  A queue also needs time to matter: below ``floor`` seconds of queueing (a busy link
  adding 2 ms to a 1 ms round trip) nothing is held back.
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
    alpha: float = 3.0
    beta: float = 6.0
    floor: float = 0.010  # seconds of queueing below which latency never shrinks the window
    base_period: int = 1000  # samples per half of the windowed minimum
    limit_f: float = field(init=False)
    threshold: float = field(init=False)
    epoch: int = field(init=False, default=0)
    _base_now: float = field(init=False, default=math.inf)
    _base_prev: float = field(init=False, default=math.inf)
    _samples: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.maximum = max(1, self.maximum)
        self.limit_f = float(min(max(1, self.start), self.maximum))
        self.threshold = float(self.maximum)

    @property
    def limit(self) -> int:
        """Transfers that may run at once now."""
        return max(1, min(self.maximum, int(self.limit_f)))

    @property
    def base(self) -> float:
        """The lowest recent latency (``inf`` before the first comparable sample)."""
        return min(self._base_now, self._base_prev)

    def on_done(self, latency: float, running: int, *, comparable: bool = True,
                started_epoch: int | None = None) -> None:
        """A transfer finished well after ``latency`` seconds with ``running`` in flight
        (itself included). ``started_epoch``: ``epoch`` when it started."""
        if comparable and latency >= 0:
            self._sample(latency)
        if running * 2 < self.limit:
            return  # the window was not the constraint: no evidence for more
        queue = self._queue(latency, running) if comparable else 0.0
        if queue >= self.alpha:  # a queue is building: slow start is over
            self.threshold = min(self.threshold, self.limit_f)
        if queue > self.beta:
            if started_epoch is None or started_epoch >= self.epoch:
                # per round trip (``limit`` samples), less by the queue's excess
                self._set(self.limit_f - max(1.0, queue - self.beta) / self.limit_f)
            return
        if queue >= self.alpha:
            return
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

    def _queue(self, latency: float, running: int) -> float:
        base = self.base
        if not math.isfinite(base) or latency <= 0 or latency - base < self.floor:
            return 0.0
        return running * (1.0 - base / latency)

    def _sample(self, latency: float) -> None:
        self._base_now = min(self._base_now, latency)
        self._samples += 1
        if self._samples >= self.base_period:
            self._base_prev, self._base_now, self._samples = self._base_now, math.inf, 0

    def _set(self, value: float) -> None:
        self.limit_f = min(float(self.maximum), max(1.0, value))
