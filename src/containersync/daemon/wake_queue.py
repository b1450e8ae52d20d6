"""When each mapping of the daemon next takes a turn: a heap of wake times, no threads.

``daemon.runners`` drives it under one lock; everything here is a pure decision on the
times it is handed, so its invariants are tested with Hypothesis (``tests/daemon/
test_wake_queue.py``):

- **One turn of a key at a time**: ``start`` never hands out a key whose turn is running.
- **No wake is lost**: a ``wake`` while the key's turn runs is kept and folded into the
  time ``finish`` schedules (the earlier of the two), so a change, ``trigger()``,
  ``sync_now()`` or ``request_stop()`` that arrives mid-turn gets a turn right after it.
- **Earliest wins**: a key is scheduled once, at the earliest time anyone asked for; a
  later ``wake`` does not postpone it.
- **Earliest first**: ``start`` hands out the due key with the earliest wake time (ties in
  the order they were asked for), so no mapping starves behind others made due later.
- ``finish(key, None)`` removes the key: it takes no more turns. A key that waits only for
  a wake is scheduled at ``math.inf`` (never due until woken).

Heap entries are not removed when a key is woken earlier; an entry whose time is no longer
the key's is skipped when it reaches the top (lazy deletion), and the heap is rebuilt when
such entries outnumber the keys, so its size stays proportional to the mapping count.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class _State:
    at: float | None = None  # scheduled (not running): when; None: not scheduled
    running: bool = False
    again: float | None = None  # woken while running: the earliest time asked


@dataclass
class WakeQueue(Generic[K]):
    _states: dict[K, _State] = field(default_factory=dict)
    _heap: list[tuple[float, int, K]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, key: K, at: float) -> None:
        """Start tracking ``key``; its first turn is due at ``at``."""
        if key in self._states:
            raise ValueError(f"{key!r} is already queued")
        self._states[key] = _State()
        self.wake(key, at)

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def __len__(self) -> int:
        return len(self._states)

    def running(self, key: K) -> bool:
        state = self._states.get(key)
        return state is not None and state.running

    def wake(self, key: K, at: float) -> bool:
        """Ask for a turn of ``key`` at ``at`` (or earlier, if already asked); False when
        the key is not tracked (it finished). True: the earliest due time may have moved."""
        state = self._states.get(key)
        if state is None:
            return False
        if state.running:
            state.again = at if state.again is None else min(state.again, at)
            return False
        if state.at is None or at < state.at:
            state.at = at
            if at != math.inf:  # never due: no heap entry (it would only go stale)
                heapq.heappush(self._heap, (at, next(self._seq), key))
                self._compact()
            return True
        return False

    def _compact(self) -> None:
        """Keep the heap proportional to the keys: rebuild it when stale entries (keys
        woken earlier than they were scheduled) outnumber the live ones."""
        if len(self._heap) <= 2 * len(self._states) + 16:
            return
        self._heap = [(s.at, next(self._seq), k) for k, s in self._states.items()
                      if s.at is not None and s.at != math.inf and not s.running]
        heapq.heapify(self._heap)

    def _drop_stale(self) -> None:
        while self._heap:
            at, _seq, key = self._heap[0]
            state = self._states.get(key)
            if state is not None and not state.running and state.at == at:
                return
            heapq.heappop(self._heap)

    def next_time(self) -> float | None:
        """The earliest time a key is due (None: no key is scheduled)."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def start(self, now: float) -> K | None:
        """The due key to run now (it is marked running), or None."""
        self._drop_stale()
        if not self._heap or self._heap[0][0] > now:
            return None
        _at, _seq, key = heapq.heappop(self._heap)
        state = self._states[key]
        state.at, state.running = None, True
        return key

    def finish(self, key: K, next_at: float | None) -> None:
        """``key``'s turn ended; it wants its next turn at ``next_at`` (``math.inf``: only
        when woken), or None: it is done, and leaves the queue (a mid-turn wake with it)."""
        state = self._states[key]
        if not state.running:
            raise ValueError(f"{key!r} has no turn running")
        state.running = False
        again, state.again = state.again, None
        if next_at is None:
            del self._states[key]
            return
        self.wake(key, next_at if again is None else min(again, next_at))
