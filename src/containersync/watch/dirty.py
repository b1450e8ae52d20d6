"""Thread-safe glue between ``LocalWatcher`` callbacks and the pure ``Coalescer``.

``LocalWatcher`` calls ``add``/``add_full_rescan`` from watchdog's threads. The daemon's
mapping worker takes batches without blocking (``take_due``; ``FULL_RESCAN`` = ``""``
means rescan everything) and is told when a batch may have become due sooner through
``on_change`` (called with the Coalescer's next deadline after every ``add``, outside the
lock); a caller with a thread of its own can block in ``wait_due`` instead, which sleeps
exactly until the Coalescer's next deadline. The clock is injected.

Invariants: every path handed to ``add`` is returned by exactly one ``take_due``/``wait_due``/
``flush`` call (possibly folded into an ancestor or ``FULL_RESCAN``);
``full_rescan_reasons`` lists the reasons received since the last full rescan was taken.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from containersync.watch.coalesce import FULL_RESCAN, Coalescer


class DirtyPaths:
    """A Coalescer behind a lock and a condition variable."""

    def __init__(self, coalescer: Coalescer | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._coalescer = coalescer if coalescer is not None else Coalescer()
        self._clock = clock
        self._cond = threading.Condition()
        self._reasons: list[str] = []
        #: told the next deadline after each ``add`` (the daemon wakes the mapping then)
        self.on_change: Callable[[float], None] | None = None

    def add(self, rel: str) -> None:
        with self._cond:
            self._coalescer.add(rel, self._clock())
            self._cond.notify_all()
            deadline = self._coalescer.next_deadline()
        self._changed(deadline)

    def add_full_rescan(self, reason: str) -> None:
        with self._cond:
            self._coalescer.add_full_rescan(self._clock())
            self._reasons.append(reason)
            self._cond.notify_all()
            deadline = self._coalescer.next_deadline()
        self._changed(deadline)

    def _changed(self, deadline: float | None) -> None:
        listener = self.on_change
        if listener is not None and deadline is not None:
            listener(deadline)

    def next_deadline(self) -> float | None:
        """When the next batch is due (None: nothing is pending)."""
        with self._cond:
            return self._coalescer.next_deadline()

    def take_due(self) -> list[str]:
        """The paths due now, without waiting (possibly none)."""
        with self._cond:
            return self._take_locked()

    @property
    def full_rescan_reasons(self) -> list[str]:
        with self._cond:
            return list(self._reasons)

    def pending(self) -> list[str]:
        with self._cond:
            return self._coalescer.pending()

    def _take_locked(self) -> list[str]:
        due = self._coalescer.due(self._clock())
        if FULL_RESCAN in due:
            self._reasons.clear()
        return due

    def wait_due(self, timeout: float | None = None) -> list[str]:
        """Block until paths are due or ``timeout`` passes."""
        with self._cond:
            end = None if timeout is None else self._clock() + timeout
            while True:
                due = self._take_locked()
                if due:
                    return due
                now = self._clock()
                deadline = self._coalescer.next_deadline()
                if end is not None:
                    deadline = end if deadline is None else min(deadline, end)
                    if now >= end:
                        return []
                self._cond.wait(None if deadline is None else max(0.0, deadline - now))

    def flush(self) -> list[str]:
        with self._cond:
            self._reasons.clear()
            return self._coalescer.flush()
