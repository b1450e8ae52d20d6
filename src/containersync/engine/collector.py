"""The cyclic garbage collector, paused while a cycle reads and plans.

A full cycle builds a few objects per file (the base, the listing, the view, the scan:
hundreds of thousands at 100,000 files), none of them in a reference cycle, and each
automatic collection walks every tracked object there is: ~15 % of a no-op sync's CPU
went to collections (measured at 20,000 files: 0.42-0.59 s of 3.0-3.3 s; with the pause
0.33-0.47 s, 2 full collections instead of 3). Transfers do make cyclic garbage (~60-100
objects per upload); a listing does not (the client frees each answer as it is read,
``api.client._release``: httpx links a response and its stream both ways, which left
each page's ~30 KB for the collector). The collector is paused from the listing's end
(after collecting the young generations), or from the cycle's start where nothing else in
the process makes garbage meanwhile (``CycleOptions.collect_while_listing``), to the
transfers, and after them.

``paused()`` is shared by threads (the daemon runs mappings side by side): the collector
is off while any cycle holds a pause, and back on when the last one resumes, if it was on
when the first one began (a caller that turned it off keeps it off). Reference counting
still frees everything else as usual.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


class Switch:
    """One holder's pause: ``pause()`` where only objects are made, ``resume()`` before
    work that makes cyclic garbage (a transfer); both idempotent."""

    def __init__(self, *, start: bool = True) -> None:
        self._held = False
        if start:
            self.pause()

    def pause(self) -> None:
        """Collect the young generations (the cyclic garbage just made: a listing's
        pages), then turn the collector off."""
        global _holders, _was_enabled
        with _lock:
            if self._held:
                return
            self._held = True
            if _holders == 0:
                _was_enabled = gc.isenabled()
                if _was_enabled:
                    gc.collect(1)
                gc.disable()
            _holders += 1

    def resume(self) -> None:
        global _holders
        with _lock:
            if not self._held:
                return
            self._held = False
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()


@contextmanager
def paused(*, start: bool = True) -> Iterator[Switch]:
    """The collector off for the block (from ``pause()`` when not ``start``, except
    where ``resume()``d), and as it was once the block ends, whatever it raises."""
    switch = Switch(start=start)
    try:
        yield switch
    finally:
        switch.resume()
