"""Put a user's action at an exact moment inside our code, without touching our code.

A check-then-act window (look at a path, then rename over it) is too short for a second
thread to hit reliably. ``Interleave`` gets into it deterministically: armed on one thread,
it runs the user's action just before that thread's ``k``-th audited operation
(``sys.addaudithook``: ``open``, ``os.rename`` (``os.replace`` too), ``os.remove``,
``ctypes.call_function``...). A test tries ``k = 1, 2, ...`` until the action no longer
fires, so it covers every audited moment of the window whatever system calls the code
under test happens to use.

Python cannot remove an audit hook: one hook is installed for the whole test process, on
first use, and does nothing (one attribute read) while nothing is armed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any


class Interleave:
    """``arm(k, act)`` on the thread to interrupt; ``act()`` returns whether it acted
    (False: the moment it wanted is past, say the file it would make is already there)."""

    _installed = False
    _armed: Interleave | None = None

    def __init__(self) -> None:
        self.fired = False  # act() ran and acted
        self._thread = 0
        self._left = 0
        self._act: Callable[[], bool] = lambda: False
        self._busy = False
        self._prefix: str | None = None
        if not Interleave._installed:
            sys.addaudithook(Interleave._hook)
            Interleave._installed = True

    def arm(self, k: int, act: Callable[[], bool], *, threads: str | None = None) -> None:
        """Run ``act`` just before the ``k``-th audited operation of the calling thread, or,
        with ``threads``, of the threads whose name starts with it (the transfer pool's:
        ``"transfer"``)."""
        self.fired, self._left, self._act = False, k, act
        self._thread = 0 if threads is not None else threading.get_ident()
        self._prefix = threads
        Interleave._armed = self

    def disarm(self) -> None:
        Interleave._armed = None

    @staticmethod
    def _hook(event: str, _args: tuple[Any, ...]) -> None:
        me = Interleave._armed
        if me is None or me._busy:
            return
        if me._prefix is None:
            if threading.get_ident() != me._thread:
                return
        elif not threading.current_thread().name.startswith(me._prefix):
            return
        me._left -= 1
        if me._left > 0:
            return
        Interleave._armed = None
        me._busy = True
        try:
            me.fired = me._act()
        finally:
            me._busy = False
