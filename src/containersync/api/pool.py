"""The threads that move data for one ``ContainersClient``: one pool for every mapping.

Each executor used to start its own pool of ``api.concurrency`` threads per plan, and each
segmented listing its own: with a few mappings acting at once (the daemon's cycle slots)
their threads added up, although the transfer window let only ``concurrency`` of them
talk to the server at a time. Every transfer and listing walk of a client now runs here:

- at most ``maximum`` threads exist at once (``peak`` records the most), whatever number
  of executors and listings submit;
- a thread is started only when work is queued and no thread is idle, and exits after
  ``idle_s`` without work, so an idle daemon keeps none;
- a task runs in the context (``contextvars``) of whoever submitted it, as asyncio's tasks
  do: what it does counts for the work that asked for it (``api.counting``);
- a task must not wait for another task of the same pool (that could deadlock a full
  pool): transfers and listing walks are leaves; whoever waits for them (a cycle's
  thread) is never a pool thread. The executor takes a transfer's window slot before it
  submits it, so queued transfers never exceed the window.

``ThreadPoolExecutor`` bounds its threads but never retires an idle one; this is the
same contract (``submit`` returns a ``Future``) with retirement.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
IDLE_S = 10.0
#: a queued task: its future, the submitter's context, the function and its arguments
Task = tuple[Future[Any], contextvars.Context, Callable[..., Any], tuple[Any, ...]]


class TransferPool:
    def __init__(self, maximum: int, *, idle_s: float = IDLE_S,
                 name: str = "transfer") -> None:
        if maximum < 1:
            raise ValueError("a pool needs at least one thread")
        self.maximum = maximum
        self._idle_s = idle_s
        self._name = name
        self._cond = threading.Condition()
        self._queue: deque[Task] = deque()
        self._threads = 0
        self._idle = 0
        self._started = 0
        self._closed = False
        self.peak = 0  # most threads alive at once

    @property
    def threads(self) -> int:
        with self._cond:
            return self._threads

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the transfer pool is closed")
            self._queue.append((future, contextvars.copy_context(), fn, args))
            if len(self._queue) > self._idle and self._threads < self.maximum:
                self._threads += 1
                self._started += 1
                self.peak = max(self.peak, self._threads)
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}",
                                 daemon=True).start()
            else:
                self._cond.notify()
        return future

    def close(self) -> None:
        """No more work; idle threads leave at once, busy ones after their task."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _work(self) -> None:
        while (task := self._take()) is not None:
            self._run(*task)
            del task  # an idle thread holds nothing of the task it ran

    @staticmethod
    def _run(future: Future[Any], context: contextvars.Context, fn: Callable[..., Any],
             args: tuple[Any, ...]) -> None:
        """One task; its result lives on in its future only (a local of the worker's loop
        kept the last result of every idle thread: a listing's segments, all of them)."""
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = context.run(fn, *args)
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _take(self) -> Task | None:
        with self._cond:
            deadline = time.monotonic() + self._idle_s
            self._idle += 1
            try:
                while not self._queue:
                    left = deadline - time.monotonic()
                    if self._closed or left <= 0:
                        self._threads -= 1
                        return None
                    self._cond.wait(left)
                return self._queue.popleft()
            finally:
                self._idle -= 1
