"""The daemon's idle work of every mapping, shared: ``plan.idle_budget`` behind a lock.

The scheduler's one tick (``schedule.start_scheduler``) asks ``due()`` for the work to
start and triggers those mappings' workers; the workers report back a change on either
side (``changed``: a local change, a pull that found something, a cycle that acted), when
a full cycle ran anyway (``full_done``), and pay for every keep-alive (``charge``). The
settings (``[daemon]``):

- ``idle_requests_per_minute``: the budget of every mapping's idle requests together (pull
  checks, periodic full cycles, keep-alives), with a burst of ten seconds' worth (at least a
  full cycle's ``FULL_COST``);
- ``active_pull_interval_seconds``: the pull interval within a minute of a change;
  ``pull_interval_seconds``: after that; ``idle_pull_interval_seconds``: once idle
  (``keepalive_idle_limit_seconds`` without a change). Each is what a mapping gets while
  the budget can pay every mapping's pulls; when it cannot, they all grow by the same
  factor, up to ``pull_backoff_max_seconds``;
- ``full_sync_interval_seconds``: how often each mapping's periodic full cycle is due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from containersync.plan.idle_budget import FULL_COST, IdleBudget, TokenBucket

if TYPE_CHECKING:  # annotations only: the daemon can run on a cached config record
    from containersync.config import DaemonConfig


#: the scheduler's idle-work tick, at most (``tick_seconds``)
TICK_S = 1.0


def tick_seconds(daemon: DaemonConfig) -> float:
    """How often the scheduler asks for due idle work: every ``TICK_S``, or the shortest
    pull interval when that is shorter."""
    return min(TICK_S, daemon.pull_interval_seconds, daemon.active_pull_interval_seconds)


def budget_for(daemon: DaemonConfig) -> IdleBudget:
    """The (empty) idle budget ``daemon`` asks for; work due within half a tick is granted
    by the tick nearest its due time."""
    per_minute = daemon.idle_requests_per_minute
    base = daemon.pull_interval_seconds
    return IdleBudget(TokenBucket(per_minute, max(FULL_COST, per_minute / 6)), base_s=base,
                      cap_s=max(base, daemon.pull_backoff_max_seconds),
                      full_s=daemon.full_sync_interval_seconds,
                      active_s=daemon.active_pull_interval_seconds,
                      idle_s=daemon.idle_pull_interval_seconds,
                      idle_after_s=daemon.keepalive_idle_limit_seconds,
                      lead_s=tick_seconds(daemon) / 2)


class IdleWork:
    """Thread-safe: the tick's thread and every worker call it."""

    def __init__(self, budget: IdleBudget, *, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, daemon: DaemonConfig) -> IdleWork:
        return cls(budget_for(daemon))

    def add(self, name: str) -> None:
        with self._lock:
            self._budget.add(name, self._clock())

    def due(self) -> list[tuple[str, str]]:
        """(kind, mapping) of the idle work to start now (``"pull"`` or ``"full"``)."""
        with self._lock:
            return self._budget.tick(self._clock())

    def changed(self, name: str) -> None:
        with self._lock:
            self._budget.changed(name, self._clock())

    def full_done(self, name: str) -> None:
        with self._lock:
            self._budget.full_done(name, self._clock())

    def charge(self, cost: float = 1.0) -> None:
        with self._lock:
            self._budget.charge(self._clock(), cost)
