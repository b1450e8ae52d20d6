"""A few runner threads that take turns of every mapping of the daemon (issue 9: no
thread per idle mapping).

A mapping's worker (``MappingWorker``) has no thread of its own: its ``turn(open_index)``
makes one decision (take due dirty paths; run a cycle, a pull check or a keep-alive if one
is due) and returns when it next wants to run (``math.inf``: only when woken; None: it
stopped). The runners share one ``WakeQueue`` (a heap of wake times) under one condition:
a free runner waits until the earliest wake time or until ``wake()`` makes a mapping due
earlier, takes the earliest due mapping and runs its turn. There is no separate dispatcher
thread: whichever runner is free dispatches.

Invariants (each tested in ``tests/daemon/test_runners.py`` / ``test_wake_queue.py``):

- **One writer per mapping**: never two turns of one mapping at once (the queue does not
  hand out a running key); a wake while a turn runs gives the mapping a turn right after.
- **Bounded**: at most ``count`` turns at once, whatever the mapping count (the daemon's
  ``CYCLE_SLOTS``: each cycle has its transfer threads and index writes).
- **Index per runner**: an ``Index`` belongs to the thread that opened it; each runner opens
  one when it starts and closes it when it stops, and a turn works only on its runner's
  connection (handed to it as ``open_index``). So the connection count is the runner
  count, not the mapping count. ``start()`` returns once every runner has opened its
  connection, before any turn. Closing any descriptor of the database file drops every
  POSIX lock this process holds on it, SQLite's included, so an open beside a running
  transaction failed it with "disk I/O error" (seen when runners opened lazily); opening
  an index no longer opens an existing file outside SQLite (``index.health.prepare_file``),
  and the connections are still made up front, so no turn waits for one.
- **Stop**: ``stop()`` (after every worker finished) wakes and joins every runner.
- A turn that raises is a bug of the worker's (``turn`` catches its own errors): the
  runner logs it and drops the mapping, whose ``join`` then returns; the runner goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from containersync.daemon.wake_queue import WakeQueue
from containersync.index.store import Index


class Turnable(Protocol):
    name: str

    def __hash__(self) -> int: ...

    def turn(self, open_index: Callable[[], Index]) -> float | None: ...

    def turn_crashed(self, exc: BaseException) -> None: ...


class Runners:
    def __init__(self, open_index: Callable[[], Index], count: int, *,
                 clock: Callable[[], float] = time.monotonic,
                 name: str = "containersync-runner") -> None:
        if count < 1:
            raise ValueError("at least one runner")
        self._open_index = open_index
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: WakeQueue[Turnable] = WakeQueue()
        self._stopping = False
        self._running = 0
        #: most turns that ran at once since start (what the slot tests read)
        self.most_at_once = 0
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
                         for i in range(count)]
        self._started = False
        self._opened = 0  # runners that tried to open their index (guarded by _cond)

    @property
    def count(self) -> int:
        return len(self._threads)

    def start(self) -> None:
        with self._cond:
            if self._started:
                return
            self._started = True
        for thread in self._threads:
            thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._opened == len(self._threads))

    @property
    def healthy(self) -> bool:
        """Every runner thread is alive (a dead one would leave its turns undone)."""
        return not self._started or self._stopping or all(t.is_alive() for t in self._threads)

    def add(self, worker: Turnable) -> None:
        """``worker`` takes its first turn as soon as a runner is free."""
        with self._cond:
            self._queue.add(worker, self._clock())
            self._cond.notify()

    def wake(self, worker: Turnable, at: float | None = None) -> None:
        """Give ``worker`` a turn at ``at`` (default now), or earlier if it has one due;
        right after its running turn when it is running. Any thread; never blocks on a
        turn."""
        with self._cond:
            if self._queue.wake(worker, self._clock() if at is None else at):
                self._cond.notify()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop every runner (turns in progress finish first); True when all ended."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    # -- a runner ---------------------------------------------------------------------

    def _take(self) -> Turnable | None:
        with self._cond:
            while not self._stopping:
                now = self._clock()
                worker = self._queue.start(now)
                if worker is not None:
                    self._running += 1
                    self.most_at_once = max(self.most_at_once, self._running)
                    return worker
                at = self._queue.next_time()
                self._cond.wait(None if at is None else max(0.0, at - now))
            return None

    def _run(self) -> None:
        index: list[Index] = []
        failed: BaseException | None = None
        try:
            index.append(self._open_index())
        except Exception as exc:  # each turn on this runner fails with it (the mapping says)
            failed = exc
        finally:
            with self._cond:
                self._opened += 1
                self._cond.notify_all()

        def open_index() -> Index:
            if failed is not None:
                raise failed
            return index[0]

        try:
            while (worker := self._take()) is not None:
                next_at: float | None = None
                try:
                    next_at = worker.turn(open_index)
                except BaseException as exc:  # a bug in the worker: drop it, keep running
                    worker.turn_crashed(exc)  # it says so (mapping-crashed)
                finally:
                    with self._cond:
                        self._running -= 1
                        self._queue.finish(worker, next_at)
                        self._cond.notify()  # it may be due again (woken mid-turn)
        finally:
            for conn in index:
                conn.close()
