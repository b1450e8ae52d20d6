"""Paths a cycle could not finish, queued again after a backoff (per path).

A targeted cycle takes its dirty paths out of the queue when it starts. When the transfer of
one of them then fails for a reason that may pass (a 5xx after the client's own retries, a
timeout, a file that changed while it was read, a busy disk), nothing else would bring the
path back before the next full reconcile (``full_sync_interval_seconds``, ten minutes by
default): the watcher has nothing new to report and the remote listing has moved past the
object. So the daemon keeps such paths here and hands them back to the loop when their
backoff expires: 1 s after the first failure, doubling each time, at most ``CAP_S``.

A path is forgotten when a cycle that covered it (a full cycle covers every path) reports
no retryable problem for it. Problems only the user can fix (a name the sandbox cannot
hold, a folder in the way, a refused path) are not retried: the user's fix is an event.

Owned by the mapping's worker thread only; values in, values out; the clock is injected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from containersync.model.entry import Problem
from containersync.model.paths import is_under

#: problem kinds that may pass by themselves
RETRYABLE = frozenset({
    "upload-failed", "download-failed", "remote-delete-failed", "local-error",
    "changed-since-scan", "unsettled", "failed", "listing-missed",
})
FIRST_S = 1.0
CAP_S = 300.0


class PathRetries:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._due: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def note(self, problems: Iterable[Problem], scope: Sequence[str] | None) -> None:
        """A cycle over ``scope`` (None: every path) finished with ``problems``."""
        failed = {p.path for p in problems if p.kind in RETRYABLE and p.path}
        covered = None if scope is None else frozenset(scope)
        for path in list(self._failures):
            if path not in failed and (covered is None or is_under(path, covered)):
                self._failures.pop(path)
                self._due.pop(path, None)
        now = self._clock()
        for path in sorted(failed):
            n = self._failures.get(path, 0) + 1
            self._failures[path] = n
            self._due[path] = now + min(CAP_S, FIRST_S * 2 ** (n - 1))

    def take_due(self) -> list[str]:
        """The paths whose backoff expired (they stay known until a cycle clears them)."""
        now = self._clock()
        due = sorted(p for p, at in self._due.items() if at <= now)
        for path in due:
            del self._due[path]
        return due

    def next_deadline(self) -> float | None:
        return min(self._due.values(), default=None)
