"""Recognise filesystem events caused by containersync's own local writes.

The executor writes a download to a temporary file (``.containersync-tmp-*``, always
ignored by the watcher), fsyncs it and renames it over the target. That rename, and a
delete or move-to-trash done by the executor, would come back from the watcher as "dirty"
and cause a pointless rescan (or worse, an upload of what was just downloaded).

How suppression decides (the only mechanism; there is no suppression by time alone):

- An expectation names a relative path, a deadline on the watcher's clock, and what the
  path looks like once our write lands: a ``Fingerprint`` (inode, size, mtime_ns) for a
  file, ``ABSENT`` for a path we delete or move to the trash.
- An event for that path is dropped only while the path *still looks like what we wrote*
  (its ``lstat`` matches the fingerprint, or it is still absent) and the deadline has not
  passed. If the user changes the file right after our write, its size/mtime/inode no
  longer match and the event counts, at once, even inside the window.
- Only events our writes can cause are checked: they land by rename or removal, so an
  event of a file written in place (modified, closed after a write) is always the user's,
  even when size, mtime and inode are still ours (a same-size write within the timestamp
  tick of our download; ``watch.observer.IN_PLACE``).
- The executor declares the temporary file's fingerprint *before* renaming it over the
  target (rename keeps inode, size and mtime), and ``ABSENT`` before it removes a path, so
  the expectation is in place before any event of ours can be produced. Until then
  nothing is suppressed: an event that comes before is reported (a spurious rescan at
  worst, never a lost edit).
- A folder we make is declared ``NEW_FOLDER`` just before its ``mkdir`` (its inode is
  not known yet), then by its fingerprint once made, or withdrawn (``NOTHING``) when the
  ``mkdir`` found a folder already there. Declaring only after the ``mkdir`` left its
  creation event racing the declaration (the watcher's thread woken by the ``mkdir`` took
  the GIL first), and every pull into a new folder often cost a targeted cycle.
- Expectations are not consumed by a match (one removal or landing may be reported more
  than once, by inotify and by a polling fallback); they expire at their deadline and are
  pruned lazily.

Thread-safe: registered from the executor's thread, checked from watchdog's thread.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


@dataclass(frozen=True)
class Fingerprint:
    """What a path looked like right after our write (``size``/``mtime_ns`` None for a dir)."""

    ino: int
    size: int | None
    mtime_ns: int | None

    @classmethod
    def of(cls, st: os.stat_result) -> Fingerprint:
        if stat.S_ISDIR(st.st_mode):
            return cls(st.st_ino, None, None)  # a directory's size and mtime change with its entries
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


class _Special(Enum):
    ABSENT = "absent"
    NEW_FOLDER = "new-folder"
    NOTHING = "nothing"
    UNKNOWN = "unknown"


ABSENT = _Special.ABSENT
#: a folder we are about to make: a folder there is ours until its inode is declared (or
#: the expectation is withdrawn with ``NOTHING`` when someone else's folder was there)
NEW_FOLDER = _Special.NEW_FOLDER
#: withdraws a ``NEW_FOLDER`` expectation (one already resolved to an inode stays)
NOTHING = _Special.NOTHING
#: a path that could not be looked at (too long a name, no permission, an I/O error): it
#: matches no expectation, so an event of it is never taken for ours
UNKNOWN = _Special.UNKNOWN
#: what a path looks like once our write lands
Expected = Fingerprint | _Special


def current_state(path: Path) -> Fingerprint | _Special:
    """``Fingerprint`` of ``path`` (not following symlinks), ``ABSENT``, or ``UNKNOWN``
    when it cannot be looked at. Never raises: it runs on watchdog's threads, and an error
    there ended the thread (with a shared inotify instance, every root's events)."""
    try:
        return Fingerprint.of(path.lstat())
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError:
        return UNKNOWN


class OwnWrites:
    """The set of pending expectations for one root."""

    def __init__(self, root: Path, clock: Callable[[], float]) -> None:
        self._root = root
        self._clock = clock
        self._lock = threading.Lock()
        self._expected: dict[str, tuple[float, Expected]] = {}
        self._next_expiry = float("inf")  # the earliest deadline: no pruning walk before it

    def expect(self, rel: str, until: float, expected: Expected) -> None:
        with self._lock:
            if expected is NOTHING:
                if self._expected.get(rel, (0.0, None))[1] is NEW_FOLDER:
                    del self._expected[rel]
                return
            self._expected[rel] = (until, expected)
            self._next_expiry = min(self._next_expiry, until)

    def is_own(self, rel: str) -> bool:
        """True when an event for ``rel`` is explained by our own write."""
        now = self._clock()
        with self._lock:
            if now >= self._next_expiry:  # one walk per deadline passed, not one per event
                for path in [p for p, (until, _) in self._expected.items() if until <= now]:
                    del self._expected[path]
                self._next_expiry = min((u for u, _ in self._expected.values()),
                                        default=float("inf"))
            entry = self._expected.get(rel)
        if entry is None:
            return False
        expected = entry[1]
        state = current_state(self._root / rel)
        if expected is NEW_FOLDER:
            return isinstance(state, Fingerprint) and state.size is None
        if expected is ABSENT:
            return state is ABSENT
        if not isinstance(state, Fingerprint):
            return False  # gone, or it cannot be looked at: not known to be ours
        assert isinstance(expected, Fingerprint)
        if expected.size is None:  # a directory: same inode is enough
            return state.ino == expected.ino
        return state == expected

    def __len__(self) -> int:
        with self._lock:
            return len(self._expected)
