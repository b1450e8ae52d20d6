"""Requests counted for one piece of work, whatever thread sends them.

A cycle's report says how many requests it made (``CycleReport.requests``). One client
serves every mapping of a daemon, so the client's own total, taken before and after a
cycle, also counted what other mappings sent meanwhile. ``counting()`` gives the work a
``RequestCount`` through a context variable; the client adds each request it sends to the
count of the context it is sent from, and ``api.pool`` runs every task in the context of
whoever submitted it, so a transfer or listing walk on a pool thread counts for the cycle
that asked for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar


class RequestCount:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def add(self) -> None:
        with self._lock:
            self._n += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._n


_CURRENT: ContextVar[RequestCount | None] = ContextVar("containersync_requests", default=None)


@contextlib.contextmanager
def counting() -> Iterator[RequestCount]:
    """Count the requests sent from this context (and the tasks it submits to a pool)."""
    count = RequestCount()
    token = _CURRENT.set(count)
    try:
        yield count
    finally:
        _CURRENT.reset(token)


def note_request() -> None:
    """One request was sent from this context."""
    count = _CURRENT.get()
    if count is not None:
        count.add()
