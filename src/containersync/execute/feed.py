"""The sliding transfer window of one executor phase.

Actions whose intents are committed wait in ``ready``; ``start`` hands them to the pool
while the client's transfer window has a free slot. A transfer that finishes calls
``start`` again on its own thread, after it gave its slot back, so the next ready action
takes that slot at once: the window stays full while the calling thread records results
and writes the next intents (an fsynced commit), instead of draining while it commits.

Invariants:
- only an action in ``ready`` is ever started, and it got there after its intent was
  committed (the caller ``add``s it once ``step`` returned);
- a slot is taken without waiting (``Pacer.take(timeout=0)``) by whichever thread calls
  ``start``; only the calling thread, with nothing of the phase in flight, waits for one
  (and hands it in: ``start(slot)``), so no transfer thread ever waits for a slot;
- after ``close`` nothing more starts; it returns the intents of the ready actions that
  never started (no side effect happened: the caller clears them).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from containersync.api.pacing import Pacer, Slot
from containersync.api.pool import TransferPool
from containersync.execute.outcome import Outcome
from containersync.model.plan import Action, DeleteRemote, Download, SaveConflictCopy, Upload

#: actions that talk to the remote: they run inside the transfer window
REMOTE = (Upload, DeleteRemote, Download, SaveConflictCopy)
Begun = tuple[Action, int | None]


class Feed:
    def __init__(self, pool: TransferPool, pacer: Pacer,
                 perform: Callable[[Action, Slot | None], Outcome]) -> None:
        self._pool = pool
        self._pacer = pacer
        self._perform = perform
        self._lock = threading.Lock()
        self._ready: deque[Begun] = deque()
        self._inflight: dict[Future[Outcome], int | None] = {}
        self._open = True

    @property
    def ready(self) -> int:
        with self._lock:
            return len(self._ready)

    def head_is_remote(self) -> bool:
        with self._lock:
            return bool(self._ready) and isinstance(self._ready[0][0], REMOTE)

    def inflight(self) -> list[Future[Outcome]]:
        with self._lock:
            return list(self._inflight)

    def idle(self) -> bool:
        """Nothing in flight and nothing ready."""
        with self._lock:
            return not self._inflight and not self._ready

    def add(self, begun: Iterable[Begun]) -> None:
        with self._lock:
            self._ready.extend(begun)
        self.start()

    def start(self, slot: Slot | None = None) -> None:
        """Start ready actions while the window has room, never waiting for a slot;
        ``slot``: one the caller already holds (used for the first remote action, or
        given back unused)."""
        with self._lock:
            while self._open and self._ready:
                action = self._ready[0][0]
                held: Slot | None = None
                if isinstance(action, REMOTE):
                    held, slot = slot or self._pacer.take(timeout=0), None
                    if held is None:
                        break
                self._inflight[self._pool.submit(self._task, action, held)] = self._ready[0][1]
                self._ready.popleft()
        if slot is not None:
            self._pacer.give_back(slot)

    def _task(self, action: Action, held: Slot | None) -> Outcome:
        try:
            return self._perform(action, held)
        finally:
            # the slot was given back when ``perform`` ended: the next ready action takes it
            # RACE: another executor sharing the window may take it first; ours then waits
            # for the next finish (or the caller's blocking take): fair, never lost
            with contextlib.suppress(RuntimeError):  # the pool closed (shutdown)
                self.start()

    def finished(self) -> list[tuple[Future[Outcome], int | None]]:
        """The futures that completed since the last call, with their intents."""
        with self._lock:
            done = [f for f in self._inflight if f.done()]
            return [(f, self._inflight.pop(f)) for f in done]

    def close(self) -> list[int]:
        """Start nothing more; the intents of the ready actions that never started."""
        with self._lock:
            self._open = False
            dropped = [intent for _action, intent in self._ready if intent is not None]
            self._ready.clear()
            return dropped
