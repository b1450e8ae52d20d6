"""The transfer window shared by everything that uses one ``ContainersClient``.

``model.window.Window`` decides how many transfers may run; this module keeps it behind a
lock for the transfer threads of every executor (every mapping) that shares the client,
so a 429 met by one of them shrinks the window for all. It also spreads the server's
``Retry-After``: after a throttled answer with a wait the client honours, no thread sends
another request before that moment (``wait_turn``), instead of each one finding out with
a 429 of its own.

Invariants: at most ``limit`` slots are held at once, never more than ``maximum``
(``peak`` records the most held); a slot is released however the transfer ends.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from containersync.model.window import Window

#: transfers at most this large are timed by their round trip, not their bytes
COMPARABLE_BYTES = 256 * 1024


class Slot:
    """One held slot: the window's epoch and the clock when it was taken, and whether the
    transfer's time is a round trip worth learning from (set by the holder once it knows)."""

    def __init__(self, epoch: int, started: float) -> None:
        self.epoch = epoch
        self.started = started
        self.comparable = False


class Pacer:
    def __init__(self, maximum: int, *, start: int = 8,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = Window(maximum=maximum, start=start)
        self._clock = clock
        self._cond = threading.Condition()
        self._active = 0
        self._local = threading.local()
        self._not_before = 0.0
        self.peak = 0  # most slots held at once
        self.pushbacks = 0  # push-backs seen (429 / overload), any thread

    @property
    def limit(self) -> int:
        with self._cond:
            return self.window.limit

    @property
    def maximum(self) -> int:
        return self.window.maximum

    def take(self, timeout: float | None = None) -> Slot | None:
        """Take one transfer slot, waiting while the window is full (None: still full
        after ``timeout`` seconds). The executor takes it before it hands the transfer to
        a thread, so threads are only ever given work that may run."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._active < self.window.limit, timeout):
                return None
            self._active += 1
            self.peak = max(self.peak, self._active)
            return Slot(self.window.epoch, self._clock())

    def release(self, held: Slot) -> None:
        """Give ``held`` back; its time teaches the window when ``held.comparable``."""
        elapsed = self._clock() - held.started
        with self._cond:
            self.window.on_done(elapsed, self._active, comparable=held.comparable)
            self._active -= 1
            self._cond.notify_all()

    def give_back(self, held: Slot) -> None:
        """Return a slot that carried no transfer (it teaches the window nothing)."""
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    @property
    def active(self) -> int:
        """Slots held now."""
        with self._cond:
            return self._active

    @contextlib.contextmanager
    def holding(self, held: Slot) -> Iterator[Slot]:
        """Run the transfer of ``held`` on this thread (push-backs it meets are its own)
        and release the slot however it ends."""
        self._local.slot = held
        try:
            yield held
        finally:
            self._local.slot = None
            self.release(held)

    def pushback(self, wait: float | None) -> None:
        """The server pushed back on a request of this thread; ``wait``: the seconds it
        asked for, when the client will honour them (every thread then waits as long)."""
        held: Slot | None = getattr(self._local, "slot", None)
        with self._cond:
            self.pushbacks += 1
            self.window.on_pushback(None if held is None else held.epoch)
            if wait is not None and wait > 0:
                self._not_before = max(self._not_before, self._clock() + wait)
                self._local.own = self._not_before  # this thread sleeps it in its retry
            self._cond.notify_all()

    def wait_turn(self, sleep: Callable[[float], None]) -> None:
        """Before sending: sleep out a ``Retry-After`` another thread was given (once; an
        injected ``sleep`` that does not pass time must not spin)."""
        with self._cond:
            if getattr(self._local, "own", None) == self._not_before:
                return
            left = self._not_before - self._clock()
        if left > 0:
            sleep(left)
