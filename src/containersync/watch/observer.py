"""Watch one local root and turn watchdog events into relative dirty paths.

``LocalWatcher`` wraps a watchdog observer: inotify on Linux (through
``watch.inotify_hooks``, which surfaces queue overflow and watch-limit failures), or a
``PollingObserver`` when asked, when inotify is unavailable, or when a kernel limit cut
inotify short. Events are hints (SYNC_SEMANTICS.md "Watching"): the caller debounces them
with ``watch.coalesce.Coalescer`` and rescans the paths.

Event mapping (every path is relative to the root, POSIX separators):

- created / modified / closed-after-write / attrib / deleted -> the path;
- moved -> both the source and the destination (a delete plus a create);
- directory created / deleted / moved -> the directory itself (its children's events
  fold into it in the Coalescer); "directory modified" is dropped: it only says that an
  entry inside changed, and that entry has its own event;
- opened / closed-without-write -> dropped (reads change nothing);
- an event on the root itself -> ``on_full_rescan("root-changed")``.

Dropped before ``on_dirty``: any path with a ``.containersync-tmp-`` component (our own
temporaries), paths for which ``ignored(rel, is_dir)`` is true for the path or for one of
its parent directories, and events explained by our own writes (``watch.own_writes``).

``on_full_rescan(reason)`` reasons: ``"queue-overflow"`` (kernel dropped events),
``"watch-limit"`` (inotify watches ran out while running; the watcher switches to
polling), ``"fell-back-to-polling"`` (events between the two observers may be lost),
``"root-changed"``.

Callbacks run on watchdog's threads; they must be quick and thread-safe (see
``watch.dirty.DirtyPaths``). ``stop()`` joins every thread this class started.

With ``shared`` (``watch.shared.SharedInotify``, the daemon's), the root is scheduled on
that one observer instead of a private one; a fallback to polling unschedules just this
root.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from watchdog.events import (
    DirModifiedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileModifiedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from containersync.logs import get_logger
from containersync.scan.ignore import TEMP_PREFIX
from containersync.watch import inotify_hooks
from containersync.watch.own_writes import Expected, OwnWrites
from containersync.watch.shared import SharedInotify

log = get_logger(__name__)

OWN_TEMP_PREFIX = TEMP_PREFIX
"""Basename prefix of containersync's temporary files (``scan.ignore``); always ignored."""

WATCH_LIMIT_FIX = "sysctl fs.inotify.max_user_watches=524288"
INSTANCE_LIMIT_FIX = "sysctl fs.inotify.max_user_instances=1024"

Ignored = Callable[[str, bool], bool]
#: events of a file written (or its attributes set) in place: never one of our writes,
#: which land by renaming a temporary file over the path or by removing it, so such an
#: event is the user's even when the file still looks exactly as we wrote it (a write of
#: the same size within the same timestamp tick)
IN_PLACE = (FileModifiedEvent, FileClosedEvent)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: LocalWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher._on_event(event)


class LocalWatcher:
    """Reports dirty relative paths under ``root`` to ``on_dirty``."""

    def __init__(self, root: Path, on_dirty: Callable[[str], None],
                 on_full_rescan: Callable[[str], None], *, ignored: Ignored | None = None,
                 use_polling: bool = False, polling_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 shared: SharedInotify | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self._shared = shared
        self._shared_watch: ObservedWatch | None = None
        self._root_str = str(self.root)
        self._on_dirty = on_dirty
        self._on_full_rescan = on_full_rescan
        self._ignored = ignored
        self._want_polling = use_polling or not inotify_hooks.HOOKS_OK
        self._polling_interval = polling_interval
        self._clock = clock
        self._own = OwnWrites(self.root, clock)
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._mode: Literal["inotify", "polling"] | None = None
        self._degraded: str | None = None
        self._watch_limit_hit = False
        self._started = False
        self._fallback: threading.Thread | None = None
        self.walked_dirs = 0
        self.watched_dirs = 0

    # -- public state --------------------------------------------------------------------

    @property
    def mode(self) -> Literal["inotify", "polling"]:
        """The observer in use; before ``start()``, the one that would be tried first."""
        if self._mode is not None:
            return self._mode
        return "polling" if self._want_polling else "inotify"

    @property
    def degraded(self) -> str | None:
        """Why the watcher runs worse than asked (with the fix), or None."""
        return self._degraded

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start watching. Falls back to polling (and sets ``degraded``) on inotify limits."""
        with self._lock:
            if self._started:
                raise RuntimeError("LocalWatcher already started")
            self._started = True
            if not self._want_polling:
                if self._shared is not None:
                    self._start_shared(self._shared)
                else:
                    self._start_inotify()
            if self._observer is None and self._shared_watch is None:
                self._start_polling()

    def stop(self) -> None:
        """Stop watching and join every thread; safe to call twice."""
        fallback = self._fallback
        if fallback is not None and fallback is not threading.current_thread():
            fallback.join()
        with self._lock:
            self._started = False
            self._stop_observer()

    def __enter__(self) -> LocalWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_inotify(self) -> None:
        if not inotify_hooks.HOOKS_OK:
            return
        try:
            observer = inotify_hooks.ReportingObserver(reporter=self, skip_dir=self._skip_dir_bytes)
        except OSError as error:
            if error.errno != errno.EMFILE:
                raise
            self._set_degraded(
                f"inotify instance limit reached (fs.inotify.max_user_instances); watching "
                f"{self._root_str} by polling instead. To fix: {INSTANCE_LIMIT_FIX}")
            return
        observer.schedule(_Handler(self), self._root_str, recursive=True)
        try:
            observer.start()
        except OSError as error:
            observer.release()
            if error.errno != errno.ENOSPC:
                raise
            self._watch_limit_hit = True
        else:
            self.watched_dirs = observer.watched_dirs
            self.walked_dirs = self._count_dirs()
            if not self._watch_limit_hit:
                self._observer, self._mode = observer, "inotify"
                return
            observer.stop()
            observer.join()
        self._set_degraded(self._watch_limit_message())

    def _start_shared(self, shared: SharedInotify) -> None:
        try:
            watch = shared.schedule(_Handler(self), self._root_str, self, self._skip_dir_bytes)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            self._watch_limit_hit = True
        else:
            self.watched_dirs = shared.watched_dirs(watch)
            self.walked_dirs = self._count_dirs()
            if not self._watch_limit_hit:
                self._shared_watch, self._mode = watch, "inotify"
                return
            shared.unschedule(watch)
        self._set_degraded(self._watch_limit_message())

    def _start_polling(self) -> None:
        observer = PollingObserver(timeout=self._polling_interval)
        observer.schedule(_Handler(self), self._root_str, recursive=True)
        observer.start()
        self._observer, self._mode = observer, "polling"

    def _stop_observer(self) -> None:
        watch, self._shared_watch = self._shared_watch, None
        if watch is not None and self._shared is not None:
            self._shared.unschedule(watch)
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join()

    def _watch_limit_message(self) -> str:
        return (f"inotify watch limit reached (fs.inotify.max_user_watches): "
                f"{self.watched_dirs} of {self.walked_dirs} directories under {self._root_str} "
                f"could be watched; watching by polling instead. To fix: {WATCH_LIMIT_FIX}")

    def _set_degraded(self, message: str) -> None:
        self._degraded = message
        log.warning("watcher-degraded", message=message, root=self._root_str)

    def _count_dirs(self) -> int:
        count = 1
        for root, dirnames, _files in os.walk(self._root_str):
            kept = [d for d in dirnames
                    if not os.path.islink(os.path.join(root, d))
                    and not self._skip_dir(os.path.join(root, d))]
            dirnames[:] = kept
            count += len(kept)
        return count

    # -- own writes ----------------------------------------------------------------------

    def expect_own_write(self, rel: str, until: float, expected: Expected) -> None:
        """Drop events for ``rel`` until ``until`` (watcher clock) while it matches
        ``expected``; see ``watch.own_writes`` for the rules."""
        self._own.expect(rel, until, expected)

    # -- inotify reporter (called on watchdog threads) -----------------------------------

    def own_landing(self, path: bytes) -> bool:
        rel = self._relative(path)
        return rel is not None and rel != "" and self._own.is_own(rel)

    def queue_overflow(self) -> None:
        log.warning("watch-queue-overflow", message="inotify queue overflowed: events were "
                    "lost; rescanning", root=self._root_str)
        self._on_full_rescan("queue-overflow")

    def watch_failed(self, path: bytes, error: OSError) -> None:
        if error.errno != errno.ENOSPC:
            return  # a directory vanished or is unreadable: the scan reports it
        first = not self._watch_limit_hit
        self._watch_limit_hit = True
        if first and self._mode == "inotify":
            # Hit while running (a new directory): switch on another thread, since this
            # one belongs to the observer that must be stopped.
            self._fallback = threading.Thread(target=self._fall_back_to_polling,
                                              name="containersync-watch-fallback", daemon=True)
            self._fallback.start()

    def _fall_back_to_polling(self) -> None:
        with self._lock:
            if not self._started or self._mode != "inotify":
                return
            observer = self._observer
            if self._shared_watch is not None and self._shared is not None:
                self.watched_dirs = self._shared.watched_dirs(self._shared_watch)
            else:
                self.watched_dirs = getattr(observer, "watched_dirs", 0)
            self.walked_dirs = self._count_dirs()
            self._set_degraded(self._watch_limit_message())
            self._stop_observer()
            self._start_polling()
        self._on_full_rescan("watch-limit")

    # -- events --------------------------------------------------------------------------

    def _relative(self, path: str | bytes) -> str | None:
        text = os.fsdecode(path)
        if not text:
            return None
        rel = os.path.relpath(text, self._root_str)
        if rel == os.curdir:
            return ""
        if rel.startswith(os.pardir + os.sep) or rel == os.pardir:
            return None
        return rel.replace(os.sep, "/")

    def _skip_dir(self, abs_path: str) -> bool:
        rel = self._relative(abs_path)
        return rel is not None and rel != "" and self._drop(rel, is_dir=True)

    def _skip_dir_bytes(self, abs_path: bytes) -> bool:
        return self._skip_dir(os.fsdecode(abs_path))

    def _drop(self, rel: str, *, is_dir: bool) -> bool:
        parts = rel.split("/")
        if any(p.startswith(OWN_TEMP_PREFIX) for p in parts):
            return True
        if self._ignored is None:
            return False
        for i in range(1, len(parts)):
            if self._ignored("/".join(parts[:i]), True):
                return True
        return self._ignored(rel, is_dir)

    def _on_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, (DirModifiedEvent, FileOpenedEvent, FileClosedNoWriteEvent)):
            return
        paths = [event.src_path]
        if isinstance(event, FileSystemMovedEvent):
            paths.append(event.dest_path)
        for path in paths:
            rel = self._relative(path)
            if rel is None:
                continue
            if rel == "":
                self._on_full_rescan("root-changed")
                continue
            if self._drop(rel, is_dir=event.is_directory):
                continue
            if not isinstance(event, IN_PLACE) and self._own.is_own(rel):
                continue
            self._on_dirty(rel)
