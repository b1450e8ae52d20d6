"""One mapping's local watching in the daemon: a ``LocalWatcher`` feeding a ``DirtyPaths``,
and the bookkeeping that keeps our own writes from coming back as changes.

Own writes: the executor calls ``on_local_write(rel, expected)`` (on a transfer thread) just
before its write or removal of ``rel`` lands, with what ``rel`` will look like then (the
temporary file's fingerprint, ``ABSENT``, or for a folder it makes ``NEW_FOLDER`` then
the folder's fingerprint). Events for ``rel`` are dropped only while it
still looks like that, for a bounded hold (``OWN_WRITE_HOLD_S``; ``watch.own_writes``): a user's
edit right after our download changes the fingerprint and is reported at once.

Watching is a hint (SYNC_SEMANTICS "Watching"): when the watcher degrades (inotify limits),
it falls back to polling, and the daemon's periodic full cycle still catches anything missed.
The watcher is only started when the local root is a folder: a missing root is the "local
root gone" rail's business, not something to create by watching.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from containersync.scan.ignore import IgnoreRules
from containersync.watch.dirty import DirtyPaths
from containersync.watch.observer import LocalWatcher
from containersync.watch.own_writes import Expected
from containersync.watch.shared import SharedInotify

#: how long events that still match what we wrote are ours (at least two polling
#: intervals when polling): longer than a watcher's delivery delay; an event after it
#: costs a rescan, never an edit
OWN_WRITE_HOLD_S = 60.0


class MappingWatch:
    def __init__(self, root: Path, rules: Callable[[], IgnoreRules], dirty: DirtyPaths, *,
                 use_polling: bool, polling_interval: float,
                 clock: Callable[[], float] = time.monotonic,
                 shared: SharedInotify | None = None) -> None:
        self.root = root
        self._shared = shared
        self._rules = rules
        self.dirty = dirty
        self._use_polling = use_polling
        self._polling_interval = polling_interval
        self._hold = max(OWN_WRITE_HOLD_S, 2 * polling_interval)
        self._clock = clock
        self._watcher: LocalWatcher | None = None
        self.full_rescans = 0
        self.last_rescan_reason: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._watcher is not None

    def start(self) -> bool:
        """Start watching if the root is a folder (idempotent); True when watching."""
        if self._watcher is not None:
            return True
        if not self.root.is_dir():
            return False
        watcher = LocalWatcher(self.root, self.dirty.add, self._on_full_rescan,
                               ignored=self._ignored, use_polling=self._use_polling,
                               polling_interval=self._polling_interval, clock=self._clock,
                               shared=self._shared)
        watcher.start()
        self._watcher = watcher
        return True

    def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def restart(self) -> None:
        """After the ignore rules changed: watch the folders that became included."""
        self.stop()
        self.start()

    # -- what status shows ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._watcher.mode if self._watcher is not None else "not-watching"

    @property
    def degraded(self) -> str | None:
        return self._watcher.degraded if self._watcher is not None else None

    # -- callbacks ---------------------------------------------------------------------------

    def _ignored(self, rel: str, is_dir: bool) -> bool:
        return self._rules().ignored(rel, is_dir)

    def _on_full_rescan(self, reason: str) -> None:
        self.full_rescans += 1
        self.last_rescan_reason = reason
        self.dirty.add_full_rescan(reason)

    def on_local_write(self, rel: str, expected: Expected) -> None:
        """The executor's write or removal of ``rel`` is about to land (any thread)."""
        if self._watcher is not None:
            self._watcher.expect_own_write(rel, self._clock() + self._hold, expected)
