"""The daemon's deletion windows for the max-delete rail (SYNC_SEMANTICS rail 3).

One ``sync`` sees a mass deletion in one plan; the daemon sees it spread over many small
cycles, each under the rail's share. ``DeletionWindows`` remembers what the mapping's cycles
deleted and created, per side, over two windows, and hands them to the rail as values
(``plan.safety.DeletionTally``):

- **since the last full reconcile**: everything since the last full cycle that finished
  (a full cycle is the daemon's equivalent of one ``sync``: it starts a new window);
- **a sliding minute**: the last ``MINUTE_S`` seconds, whatever ran in them, so a full
  cycle landing in the middle of a deletion does not split it either.

Owned by the mapping's worker thread only. Kept in memory: a restart forgets the windows,
and its first cycle is a full reconcile that sees whatever is still to delete at once (as
one ``sync`` would); what was deleted before the restart is not counted again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from containersync.plan.safety import DeletionTally

MINUTE_S = 60.0


class DeletionWindows:
    def __init__(self, clock: Callable[[], float], *, minute: float = MINUTE_S) -> None:
        self._clock = clock
        self._minute = minute
        self._since_full = DeletionTally()
        self._recent: deque[tuple[float, DeletionTally]] = deque()

    def windows(self) -> tuple[DeletionTally, ...]:
        """The windows to check a new plan against (empty ones left out)."""
        self._expire()
        minute = DeletionTally(label="in the last minute")
        for _, t in self._recent:
            minute = minute + t
        since = DeletionTally(label="since the last full reconcile") + self._since_full
        return tuple(w for w in (since, minute) if not w.empty)

    def record(self, done: DeletionTally, *, full: bool) -> None:
        """A cycle finished having done ``done``; ``full``: it was a full reconcile."""
        self._expire()
        if not done.empty:
            self._recent.append((self._clock(), done))
        self._since_full = DeletionTally() if full else self._since_full + done

    def reset(self) -> None:
        """Someone decided (a finished ``sync`` or ``sync --force`` while we were halted):
        what happened before no longer counts."""
        self._since_full = DeletionTally()
        self._recent.clear()

    def _expire(self) -> None:
        cutoff = self._clock() - self._minute
        while self._recent and self._recent[0][0] <= cutoff:
            self._recent.popleft()
