"""One mapping's local watching in the daemon: a ``LocalWatcher`` feeding a ``DirtyPaths``,
and the bookkeeping that keeps our own writes from coming back as changes.

Own writes: the executor calls ``on_local_write(rel)`` (on a transfer thread) just before it
writes or removes ``rel``. From then until the cycle ends, events for ``rel`` are dropped by
time alone; ``after_cycle`` then replaces that with the path's real fingerprint (late events
are dropped only while the file still looks like what we wrote) and compares every written
path with the index's base: a path the user touched during the cycle does not match its base
and is queued again. So suppression can delay a user's edit to a path we were writing by one
cycle, never lose it.

Watching is a hint (SYNC_SEMANTICS "Watching"): when the watcher degrades (inotify limits),
it falls back to polling, and the daemon's periodic full cycle still catches anything missed.
The watcher is only started when the local root is a folder: a missing root is the "local
root gone" rail's business, not something to create by watching.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from containersync.model.entry import BaseEntry
from containersync.scan.ignore import IgnoreRules
from containersync.watch.dirty import DirtyPaths
from containersync.watch.observer import LocalWatcher
from containersync.watch.own_writes import ABSENT, ANY, Fingerprint, current_state
from containersync.watch.shared import SharedInotify

#: while a cycle runs, events for a path it writes are dropped for at most this long
DURING_CYCLE_S = 3600.0
#: after the cycle, events that still match what we wrote are dropped for this long
AFTER_CYCLE_S = 5.0


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
        self._clock = clock
        self._watcher: LocalWatcher | None = None
        self._lock = threading.Lock()
        self._written: set[str] = set()
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

    def on_local_write(self, rel: str) -> None:
        """The executor is about to write or remove ``rel`` (any thread)."""
        with self._lock:
            self._written.add(rel)
        if self._watcher is not None:
            self._watcher.expect_own_write(rel, self._clock() + DURING_CYCLE_S, expected=ANY)

    def after_cycle(self, bases: Callable[[set[str]], Mapping[str, BaseEntry]]) -> list[str]:
        """Settle the own-write expectations of the cycle that just ended; return (and
        queue) the written paths that no longer look like what the index recorded.
        ``bases(paths)`` reads the index's bases at those paths."""
        with self._lock:
            written, self._written = self._written, set()
        if not written:
            return []
        known = bases(written)
        rules = self._rules()
        requeue: list[str] = []
        for rel in sorted(written):
            state = current_state(self.root / rel)
            if self._watcher is not None:
                self._watcher.expect_own_write(rel, self._clock() + AFTER_CYCLE_S,
                                               expected=state)
            if rules.ignored(rel):
                continue  # conflict copies and our temporaries
            if _differs(state, known.get(rel)):
                requeue.append(rel)
        for rel in requeue:
            self.dirty.add(rel)
        return requeue


def _differs(state: Fingerprint | object, base: BaseEntry | None) -> bool:
    """Whether the file on disk is not what the index's base says (or should be absent)."""
    if base is None:
        return state is not ABSENT
    if not isinstance(state, Fingerprint):
        return True
    return (state.size, state.mtime_ns) != (base.size, base.mtime_ns)
