"""One inotify instance and one emitter thread for every local root of a daemon
(``LocalWatcher(shared=...)``), instead of an observer, or an emitter thread, per mapping.

watchdog's ``InotifyObserver`` runs one ``InotifyEmitter`` thread per scheduled root (each
blocked on its root's queue of grouped events) plus a dispatcher thread; with 200 mappings
that was 200 threads. Here (read from watchdog 7.1's ``observers/inotify.py``,
``inotify_c.py`` and ``inotify_move_event_grouper.py``):

- watchdog's ``InotifyFD`` (one inotify instance, its one reading thread
  ``containersync-inotify-reader``) calls each root's watch group
  (``inotify_hooks.NotifyingWatchGroup``) with the raw events; the group pairs moves in
  its delayed queue, as in watchdog, and tells this class that it has something;
- one thread (``containersync-inotify``) takes every group's ready events
  (``inotify_hooks.take_ready``: an unpaired move-from waits its half second, as in
  watchdog) and turns them into watchdog events with the root's ``RootEmitter`` (an
  ``InotifyEmitter`` that is never started: its ``build_and_queue_event`` dispatches to
  the root's handler at once instead of queueing for a dispatcher thread).

Each root keeps its own reporter (queue overflows, failed watches) and its own ignore
rules. A handler that raises is logged and the others go on.

Invariants: a root is scheduled at most once at a time (mapped folders never contain each
other); after ``unschedule`` no event read later is dispatched for that root (its group is
deactivated, which closes its queue; events already taken may still be handed over); ``stop`` joins both threads. The thread count is two, whatever the root count.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import ObservedWatch

from containersync.logs import get_logger
from containersync.watch import inotify_hooks

log = get_logger(__name__)


class SharedInotify:
    def __init__(self) -> None:
        """Raises ``OSError`` (``EMFILE``) when no inotify instance is left."""
        if not inotify_hooks.HOOKS_OK:
            raise RuntimeError("watchdog's inotify internals are missing")
        from watchdog.observers.inotify_c import InotifyFD  # Linux only: HOOKS_OK says

        self._fd = InotifyFD()
        self._fd.name = "containersync-inotify-reader"
        self._cond = threading.Condition()
        self._roots: dict[str, Any] = {}  # root -> inotify_hooks.RootEmitter
        self._ready = False
        self._stopping = False
        self._fd.start()
        self._thread = threading.Thread(target=self._run, name="containersync-inotify",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def open(cls) -> SharedInotify | None:
        """A shared watcher, or None where there is none to share (each watcher then
        starts its own, and says why it degraded)."""
        try:
            return cls()
        except (OSError, RuntimeError):
            return None

    def schedule(self, handler: FileSystemEventHandler, root: str,
                 reporter: inotify_hooks.InotifyReporter,
                 skip_dir: Callable[[bytes], bool]) -> ObservedWatch:
        """Watch ``root`` recursively; an ``OSError`` for the root itself propagates."""
        watch = ObservedWatch(root, recursive=True)
        emitter = inotify_hooks.RootEmitter(watch, self._fd, handler, reporter=reporter,
                                            skip_dir=skip_dir, on_ready=self._notify,
                                            on_error=self._dispatch_failed)
        with self._cond:
            if root in self._roots:
                raise RuntimeError(f"{root} is already watched")
            self._roots[root] = emitter
        try:
            emitter.activate()  # adds the watches; a failure for the root raises here
        except BaseException:
            with self._cond:
                self._roots.pop(root, None)
            raise
        return watch

    def watched_dirs(self, watch: ObservedWatch) -> int:
        emitter = self._roots.get(str(watch.path))
        return emitter.watched_dirs if emitter is not None else 0

    def unschedule(self, watch: ObservedWatch) -> None:
        with self._cond:
            emitter = self._roots.pop(str(watch.path), None)
        if emitter is not None:
            # RACE: the emitter thread may still be handing this root the events it took
            # before the deactivation; they reach the root's own dirty set (hints: at most
            # a rescan of those paths), and no event read after it does
            emitter.deactivate()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            emitters, self._roots = list(self._roots.values()), {}
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        for emitter in emitters:
            emitter.deactivate()
        self._fd.stop()
        if self._fd.is_alive():
            self._fd.join()

    # -- the emitter thread ---------------------------------------------------------------

    def _notify(self) -> None:
        """A group has events (the reader thread, or overflow handling)."""
        with self._cond:
            self._ready = True
            self._cond.notify()

    def _dispatch_failed(self, event: FileSystemEvent, exc: BaseException) -> None:
        log.error("watch-dispatch-failed", message="a watcher callback failed; the periodic "
                  "full cycle catches what it missed", path=os.fsdecode(event.src_path),
                  exc_info=exc)

    def _run(self) -> None:
        wait: float | None = None
        while True:
            with self._cond:
                if not self._ready and not self._stopping:
                    self._cond.wait(wait)
                if self._stopping:
                    return
                self._ready = False
                emitters = list(self._roots.values())
            wait = None
            now = time.monotonic()
            for emitter in emitters:
                try:
                    later = emitter.emit_ready(now)
                except Exception:  # a bug in one root's emitter never stops the others
                    log.exception("watch-emit-failed", message="a root's inotify events "
                                  "could not be read", root=str(emitter.watch.path))
                    continue
                if later is not None:
                    wait = max(0.0, later - now) if wait is None else min(wait, later - now)
