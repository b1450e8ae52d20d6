"""One inotify instance, one reading thread and one dispatching thread for every local
root of a daemon (``LocalWatcher(shared=...)``), instead of an observer per mapping.

watchdog still runs one emitter thread per scheduled root; what this saves per mapping is
an inotify instance (``fs.inotify.max_user_instances`` is often 128: a daemon with more
mappings than that used to fall back to polling for the rest) and two threads. Each root
keeps its own reporter (queue overflows, failed watches) and its own ignore rules, looked
up by the root's path when its emitter starts.

Invariants: a root is scheduled at most once at a time (mapped folders never contain each
other); ``unschedule`` joins the root's emitter; ``stop`` joins every thread started here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from watchdog.events import FileSystemEventHandler
from watchdog.observers.api import ObservedWatch

from containersync.watch import inotify_hooks


class SharedInotify:
    def __init__(self) -> None:
        """Raises ``OSError`` (``EMFILE``) when no inotify instance is left."""
        if not inotify_hooks.HOOKS_OK:
            raise RuntimeError("watchdog's inotify internals are missing")
        self._routes: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._observer = inotify_hooks.ReportingObserver(routes=self._routes)
        self._observer.start()

    @classmethod
    def open(cls) -> SharedInotify | None:
        """A shared observer, or None where there is none to share (each watcher then
        starts its own, and says why it degraded)."""
        try:
            return cls()
        except (OSError, RuntimeError):
            return None

    def schedule(self, handler: FileSystemEventHandler, root: str,
                 reporter: inotify_hooks.InotifyReporter,
                 skip_dir: Callable[[bytes], bool]) -> ObservedWatch:
        """Watch ``root`` recursively; an ``OSError`` for the root itself propagates."""
        with self._lock:
            self._routes[root] = (reporter, skip_dir)
            try:
                return self._observer.schedule(handler, root, recursive=True)
            except BaseException:
                self._routes.pop(root, None)
                raise

    def watched_dirs(self, watch: ObservedWatch) -> int:
        return self._observer.watched_dirs_of(watch)

    def unschedule(self, watch: ObservedWatch) -> None:
        with self._lock:
            with contextlib.suppress(KeyError):
                self._observer.unschedule(watch)
            self._routes.pop(str(watch.path), None)

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join()
