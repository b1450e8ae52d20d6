"""Signals of the daemon, turned into requests the main loop handles.

- SIGTERM / SIGINT, first time: request a drain (``"stop"``): workers stop taking work,
  finish what is in flight, commit, and the process exits 0.
- SIGTERM / SIGINT again: exit at once (``os._exit(128 + signum)``); open intents are
  settled on the next start, so this loses nothing either.
- SIGHUP: request a reload of the configuration (``"reload"``).

Handlers run on the main thread between bytecodes and only record the request; all work
happens in ``wait()``'s caller. ``restore()`` puts the previous handlers back (tests run
the daemon in-process too).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import deque
from types import FrameType
from typing import Any

STOP, RELOAD = "stop", "reload"


class SignalInbox:
    def __init__(self) -> None:
        self._events: deque[str] = deque()
        self._ready = threading.Event()
        self._stopping = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.post(RELOAD)
            return
        if self._stopping:
            sys.stderr.write(f"containersync: second {signal.Signals(signum).name}: "
                             "exiting now\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        self._stopping = True
        self.post(STOP)

    def post(self, event: str) -> None:
        if event == STOP:
            self._stopping = True
        self._events.append(event)
        self._ready.set()

    def wait(self, timeout: float) -> list[str]:
        """Requests received so far (waiting up to ``timeout`` seconds for the first)."""
        self._ready.wait(timeout)
        self._ready.clear()
        out: list[str] = []
        while self._events:
            out.append(self._events.popleft())
        return out
