"""A watchdog inotify observer that reports what watchdog 7 keeps to itself.

What watchdog 7.1 does (read from ``watchdog/observers/inotify_c.py`` and ``inotify.py``):

- **Queue overflow** (``IN_Q_OVERFLOW``, wd -1): ``InotifyFD.handle_event`` logs the warning
  "Inotify queue overflowed; filesystem events were lost" on ``watchdog.observers.inotify_c``
  and calls ``on_queue_overflow()`` on every ``InotifyWatchGroup``, which drops half-paired
  move events and re-adds its recursive watches. **No event reaches the event handler**,
  so a plain ``FileSystemEventHandler`` never learns that events were lost.
- **Watch limit** (``ENOSPC`` from ``inotify_add_watch``, ``fs.inotify.max_user_watches``):
  ``InotifyFD._raise_error`` raises ``OSError(ENOSPC, "inotify watch limit reached")``, but
  ``InotifyWatchGroup._add_callback`` **swallows every OSError except for the root**: a
  tree larger than the limit is watched partially and silently. Only a failure on the
  root itself propagates, out of ``observer.start()``/``schedule()``.
- **Instance limit** (``EMFILE`` from ``inotify_init``, ``fs.inotify.max_user_instances``):
  ``InotifyObserver()`` itself raises ``OSError(EMFILE, "inotify instance limit reached")``.

This module subclasses the watch group (``on_queue_overflow`` and ``_add_callback``, the
latter re-stating watchdog's five lines so the errno is kept, and skipping a directory
that is already watched under the same (device, inode): watchdog would re-register it and
emit a RuntimeWarning, which kills its thread under ``-W error``) and wires it in through an
emitter and observer subclass. It also skips directories the caller ignores, so ``.git``
or ``node_modules`` do not use up watches. It depends on watchdog 7.1 internals: ``HOOKS_OK``
is False when they are missing, and the caller then falls back to polling.

Invariants: every failed ``inotify_add_watch`` reaches ``InotifyReporter.watch_failed``;
every kernel overflow reaches ``InotifyReporter.queue_overflow``; watched-directory counts
are exact (``ReportingObserver.watched_dirs``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from containersync.scan.ignore import TEMP_PREFIX

_TEMP_PREFIX = os.fsencode(TEMP_PREFIX)

try:
    from watchdog.observers.inotify import InotifyEmitter, InotifyObserver, InotifyWatchGroup
    from watchdog.observers.inotify_c import (
        WATCHDOG_ALL_EVENTS,
        InotifyConstants,
        InotifyFD,
        Mask,
        WatchDescriptor,
    )
    from watchdog.utils.delayed_queue import DelayedQueue

    HOOKS_OK = all(
        hasattr(InotifyWatchGroup, name)
        for name in ("on_queue_overflow", "_add_callback", "_add_all_callbacks",
                     "_recursive_simulate", "_build_event_source_path")
    ) and hasattr(InotifyEmitter, "build_and_queue_event") and all(
        hasattr(DelayedQueue(0), name) for name in ("_lock", "_queue", "delay"))
except ImportError:  # not Linux, or a watchdog without these internals
    HOOKS_OK = False


#: what the kernel is asked to report: watchdog's events but opens and closes after a read,
#: which change nothing (the watcher drops them). Every open of a watched folder or file
#: was two of them, a download opens its folder and the root several times, and each
#: event costs watchdog's threads and ours a parse and a dispatch.
if HOOKS_OK:
    EVENT_MASK = Mask(WATCHDOG_ALL_EVENTS
                      & ~(InotifyConstants.IN_OPEN | InotifyConstants.IN_CLOSE_NOWRITE))


def _identity(path: bytes) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class InotifyReporter(Protocol):
    """What the watcher hears from the inotify layer (called on watchdog's threads)."""

    def queue_overflow(self) -> None: ...

    def watch_failed(self, path: bytes, error: OSError) -> None: ...

    def own_landing(self, path: bytes) -> bool:
        """Whether a file that arrived at ``path`` by a rename is one of our writes landing,
        as declared (``watch.own_writes``): then watchdog builds no event of it."""
        ...


if HOOKS_OK:

    #: an event of one of our temporaries that changes nothing the watcher looks at: it
    #: drops every path with a temporary's name (``LocalWatcher._drop``), so of a landing
    #: only the rename's arrival at the real name is worth watchdog's parse and ours; its
    #: departure from the temporary is skipped too, so the arrival comes alone, as a
    #: creation of the real file (paired, it was a move: one path more to decode and drop,
    #: one event of the folder more). A download's temporary was four events more per
    #: pulled file (made, written, closed, moved away), every one thrown away at the end.
    #: An arrival at a temporary's name is kept: it pairs with the departure of the real
    #: file that a user renamed to it, which the watcher reports.
    _KEPT_FOR_TEMPORARIES = (InotifyConstants.IN_MOVED_TO | InotifyConstants.IN_ISDIR
                             | InotifyConstants.IN_Q_OVERFLOW)

    def ours_to_skip(event: Any) -> bool:
        """An event of one of our temporary files that the watcher has no use for."""
        return (event.name.startswith(_TEMP_PREFIX)
                and not event.mask & _KEPT_FOR_TEMPORARIES)

    @dataclass
    class ReportingWatchGroup(InotifyWatchGroup):
        """An ``InotifyWatchGroup`` that reports overflows and failed watches, and skips
        what our temporaries raise before anything parses it (``ours_to_skip``), the
        creations watchdog makes up for the entries of a folder just made included."""

        reporter: InotifyReporter | None = None
        skip_dir: Callable[[bytes], bool] = field(default=lambda _path: False)
        _identities: dict[bytes, tuple[int, int]] = field(default_factory=dict, init=False)

        def on_event(self, event: Any) -> None:
            if self.wanted(event):
                super().on_event(event)

        def wanted(self, event: Any) -> bool:
            """Not an event of our temporaries (``ours_to_skip``), nor the arrival of a
            download we declared: the handler would drop it as our own write anyway, once
            watchdog had built it into a creation and an event of its folder, queued and
            dispatched them (two events per pulled file). The declaration is checked as
            the kernel reports the rename, with the same rule (the path still looks as we
            wrote it), so a user's file renamed over it right after still counts."""
            if ours_to_skip(event):
                return False
            # a file's arrival by a rename (not a folder's): how each of our downloads lands
            if not event.is_moved_to or event.is_directory or self.reporter is None:
                return True
            path = self._build_event_source_path(event)
            try:
                return path is None or not self.reporter.own_landing(path)
            except Exception:  # on watchdog's reading thread: an error there ended it
                return True  # not known to be ours: reported

        def _recursive_simulate(self, src_path: bytes) -> list[Any]:
            # watchdog walks a folder just made and makes up a creation for each entry it
            # finds, past ``on_event``: the first download into a new folder makes its
            # temporary at once, and that made-up event reached every handler
            return [e for e in super()._recursive_simulate(src_path) if not ours_to_skip(e)]

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()
            if self.reporter is not None:
                self.reporter.queue_overflow()

        def _add_all_callbacks(self, path: bytes) -> None:
            # Same walk as watchdog's, minus directories the caller ignores.
            self._add_callback(path)
            if not (self.is_recursive and os.path.isdir(path)):
                return
            for root, dirnames, _files in os.walk(path, followlinks=self.follow_symlink):
                kept = []
                for name in dirnames:
                    full = os.path.join(root, name)
                    if (not self.follow_symlink and os.path.islink(full)) or self.skip_dir(full):
                        continue
                    kept.append(name)
                    self._add_callback(full)
                dirnames[:] = kept

        def _add_callback(self, path: bytes) -> None:
            identity = _identity(path)
            if identity is not None and self._identities.get(path) == identity \
                    and path in self._active_callbacks_by_path:
                # Already watched (a new directory is reached both by the walk of its
                # parent and by its own IN_CREATE); watchdog would warn and re-register.
                return
            try:
                wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
            except OSError as error:
                if self.reporter is not None:
                    self.reporter.watch_failed(path, error)
                if path == self.path:
                    raise
                return
            self._active_callbacks_by_path[path] = wd
            self._active_callbacks_by_watch[wd] = path
            if identity is not None:
                self._identities[path] = identity

        def _remove_watch_internally(self, wd: WatchDescriptor) -> None:
            path = self._active_callbacks_by_watch.get(wd)
            super()._remove_watch_internally(wd)
            if path is not None and path not in self._active_callbacks_by_path:
                self._identities.pop(path, None)

        @property
        def watched_dirs(self) -> int:
            return len(self._active_callbacks_by_path)

    Route = tuple[InotifyReporter, Callable[[bytes], bool]]

    class ReportingEmitter(InotifyEmitter):
        """Builds a ``ReportingWatchGroup`` instead of watchdog's own; its reporter and
        skip test are the observer's, or (an observer shared by many roots) the ones
        ``routes`` holds for the watched root."""

        def __init__(self, *args: Any, reporter: InotifyReporter | None,
                     skip_dir: Callable[[bytes], bool] | None,
                     routes: dict[str, Route] | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._reporter = reporter
            self._skip_dir = skip_dir or (lambda _path: False)
            self._routes = routes

        def on_thread_start(self) -> None:
            if self._routes is not None:
                self._reporter, self._skip_dir = self._routes[str(self.watch.path)]
            self._inotify = ReportingWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=EVENT_MASK,
                follow_symlink=self.watch.follow_symlink,
                reporter=self._reporter,
                skip_dir=self._skip_dir,
            )

        @property
        def watched_dirs(self) -> int:
            group = self._inotify
            return group.watched_dirs if isinstance(group, ReportingWatchGroup) else 0

    class ReportingObserver(InotifyObserver):
        """``InotifyObserver`` with one private inotify instance and reporting emitters.

        Raises ``OSError(EMFILE)`` when the inotify instance limit is reached.
        """

        def __init__(self, *, reporter: InotifyReporter | None = None,
                     skip_dir: Callable[[bytes], bool] | None = None,
                     routes: dict[str, Route] | None = None, timeout: float = 1.0) -> None:
            # Deliberately not InotifyObserver.__init__: it hard-codes the emitter class.
            self._inotify_fd = InotifyFD()
            self._inotify_fd.start()
            super(InotifyObserver, self).__init__(
                ReportingEmitter, timeout=timeout, inotify_fd=self._inotify_fd,
                reporter=reporter, skip_dir=skip_dir, routes=routes,
            )

        @property
        def watched_dirs(self) -> int:
            return sum(getattr(e, "watched_dirs", 0) for e in self.emitters)

        def release(self) -> None:
            """Free the inotify instance of an observer whose ``start()`` failed."""
            self.stop()

    @dataclass
    class NotifyingWatchGroup(ReportingWatchGroup):
        """A ``ReportingWatchGroup`` that says when it has events to take (the shared
        emitter then takes them with ``take_ready`` instead of a thread blocking on it)."""

        on_put: Callable[[], None] = field(default=lambda: None)

        def on_event(self, event: Any) -> None:
            if self.wanted(event):
                # watchdog's own, past ReportingWatchGroup's: ``wanted`` is asked once
                InotifyWatchGroup.on_event(self, event)
                self.on_put()

    def take_ready(group: InotifyWatchGroup, now: float) -> tuple[list[Any], float | None]:
        """The group's events that are ready at ``now`` (watchdog's clock,
        ``time.monotonic``), in order, and when the next one will be (an unpaired
        move-from waits ``delay`` for its move-to, as ``DelayedQueue.get`` does), or None."""
        queue = group._move_event_grouper._queue
        out: list[Any] = []
        with queue._lock:
            while queue._queue:
                head, inserted, delayed = queue._queue[0]
                if delayed and inserted + queue.delay > now:
                    return out, inserted + queue.delay
                queue._queue.popleft()
                out.append(head)
        return out, None

    class RootEmitter(InotifyEmitter):
        """One root of a ``SharedInotify``: watchdog's event building, without a thread.

        Never started: ``activate`` builds the root's ``NotifyingWatchGroup`` (adding the
        watches), ``emit_ready`` turns the group's ready events into watchdog events and
        hands each to the root's handler on the calling thread, ``deactivate`` removes
        the watches."""

        def __init__(self, watch: Any, inotify_fd: InotifyFD, handler: Any, *,
                     reporter: InotifyReporter, skip_dir: Callable[[bytes], bool],
                     on_ready: Callable[[], None],
                     on_error: Callable[[Any, BaseException], None]) -> None:
            super().__init__(None, watch, inotify_fd=inotify_fd)  # type: ignore[arg-type]
            self._handler = handler
            self._reporter_ = reporter
            self._skip = skip_dir
            self._on_ready = on_ready
            self._on_error = on_error

        def activate(self) -> None:
            self._inotify = NotifyingWatchGroup(
                self._inotify_fd, os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=EVENT_MASK,
                follow_symlink=self.watch.follow_symlink,
                reporter=self._reporter_, skip_dir=self._skip, on_put=self._on_ready)

        def deactivate(self) -> None:
            group, self._inotify = self._inotify, None
            if group is not None:
                group.deactivate()

        def stop(self) -> None:
            """The root itself was deleted (watchdog stops its emitter then)."""
            self.deactivate()

        def emit_ready(self, now: float | None = None) -> float | None:
            group = self._inotify
            if group is None:
                return None
            events, later = take_ready(group, time.monotonic() if now is None else now)
            for event in events:
                self.build_and_queue_event(event)
            return later

        def queue_event(self, event: Any) -> None:
            try:
                self._handler.dispatch(event)
            except Exception as exc:
                self._on_error(event, exc)

        @property
        def watched_dirs(self) -> int:
            group = self._inotify
            return group.watched_dirs if isinstance(group, ReportingWatchGroup) else 0
