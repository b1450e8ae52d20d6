"""Debounce dirty paths: turn a stream of "this path changed at time t" into batches.

Pure: the caller passes every timestamp (``now``), there is no clock, thread or I/O here,
and the class is not thread-safe (the caller holds a lock; see ``watch.dirty``).

Rules (SYNC_SEMANTICS.md, "Watching"):

- A path is *due* once its last event is older than ``quiet`` seconds, or once its first
  un-flushed event is older than ``max_wait`` seconds, so a path that keeps changing is
  still flushed at least every ``max_wait`` seconds.
- ``due(now)`` returns the due paths and forgets them; the next event starts a new window.
- Parent folding: paths are relative POSIX paths ("a/b.txt"). When a path and a path
  below it are both pending, only the ancestor is kept; its window spans both (earliest
  first event, latest last event). ``FULL_RESCAN`` (the empty path, meaning the root) is
  the ancestor of every path, so "rescan everything" absorbs every pending path.
- Too many pending paths (``max_paths``) also turn into ``FULL_RESCAN``: one full scan is
  cheaper than thousands of single-path rescans, and the set stays bounded.

Invariants: no pending path is an ancestor of another pending path; for each pending
path ``first <= last``; ``next_deadline()`` is the earliest time at which ``due`` would
return something (``None`` when nothing is pending).
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_RESCAN = ""
"""The pending "path" that means: rescan the whole root."""


@dataclass
class _Window:
    first: float
    last: float


def _is_below(path: str, ancestor: str) -> bool:
    """True when ``path`` is ``ancestor`` itself or lies below it."""
    if ancestor == FULL_RESCAN:
        return True
    return path == ancestor or path.startswith(ancestor + "/")


def _ancestors_and_self(path: str) -> list[str]:
    """``"a/b/c"`` -> ``["", "a", "a/b", "a/b/c"]`` (``""`` -> ``[""]``)."""
    if path == FULL_RESCAN:
        return [FULL_RESCAN]
    parts = path.split("/")
    return [FULL_RESCAN] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _normalise(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


class Coalescer:
    """Collects dirty relative paths and releases them after a quiet period."""

    def __init__(self, quiet: float = 0.1, max_wait: float = 2.0, *,
                 max_paths: int = 10_000) -> None:
        if quiet < 0 or max_wait < quiet:
            raise ValueError("need 0 <= quiet <= max_wait")
        if max_paths < 1:
            raise ValueError("max_paths must be at least 1")
        self.quiet = quiet
        self.max_wait = max_wait
        self.max_paths = max_paths
        self._pending: dict[str, _Window] = {}
        # For every proper ancestor of a pending path: how many pending paths lie below it.
        self._below_count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def full_rescan_pending(self) -> bool:
        return FULL_RESCAN in self._pending

    def pending(self) -> list[str]:
        """The pending paths, sorted (for status and tests); does not flush."""
        return sorted(self._pending)

    def add(self, path: str, now: float) -> None:
        """Record that ``path`` (relative to the root) changed at ``now``."""
        path = _normalise(path)
        for ancestor in _ancestors_and_self(path):
            window = self._pending.get(ancestor)
            if window is not None:
                window.first = min(window.first, now)
                window.last = max(window.last, now)
                return
        window = _Window(now, now)
        if self._below_count.get(path, 0):
            for p in [p for p in self._pending if _is_below(p, path)]:
                absorbed = self._forget(p)
                window.first = min(window.first, absorbed.first)
                window.last = max(window.last, absorbed.last)
        self._pending[path] = window
        for ancestor in _ancestors_and_self(path)[:-1]:
            self._below_count[ancestor] = self._below_count.get(ancestor, 0) + 1
        if len(self._pending) > self.max_paths:
            self.add_full_rescan(now)

    def _forget(self, path: str) -> _Window:
        window = self._pending.pop(path)
        for ancestor in _ancestors_and_self(path)[:-1]:
            left = self._below_count[ancestor] - 1
            if left:
                self._below_count[ancestor] = left
            else:
                del self._below_count[ancestor]
        return window

    def add_full_rescan(self, now: float) -> None:
        """Everything may have changed (lost events, too many events, a timer)."""
        self.add(FULL_RESCAN, now)

    def _deadline(self, window: _Window) -> float:
        return min(window.last + self.quiet, window.first + self.max_wait)

    def next_deadline(self) -> float | None:
        """When the earliest pending path becomes due, or None when nothing is pending."""
        if not self._pending:
            return None
        return min(self._deadline(w) for w in self._pending.values())

    def due(self, now: float) -> list[str]:
        """Return (sorted) and forget the paths that are due at ``now``."""
        ready = sorted(p for p, w in self._pending.items() if self._deadline(w) <= now)
        for p in ready:
            self._forget(p)
        return ready

    def flush(self) -> list[str]:
        """Return and forget every pending path regardless of time (on shutdown)."""
        paths = sorted(self._pending)
        self._pending.clear()
        self._below_count.clear()
        return paths
