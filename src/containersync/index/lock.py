"""One process at a time per mapping: an ``flock`` on ``<state_dir>/locks/<key>.lock``, where
``key`` is the mapping's identity key (``config.mapping_identity``), not its config name.

Responsibilities: keep a ``sync`` and a running daemon (or two of either) from acting on
the same mapping, and say who holds it when refusing.

Invariants:
- The lock is ``flock(LOCK_EX)`` on an open file; the kernel drops it when the process
  exits or dies, so there are no stale locks to clean up. The file itself is never deleted
  (deleting an flock file lets two processes lock different inodes).
- ``flock`` belongs to the open file, so two ``MappingLock`` objects in one process also
  exclude each other.
- While held, the file holds JSON describing the holder (pid, purpose, hostname,
  started_at in ISO 8601 UTC); it is emptied on release. The description is advice for
  the message only: who holds the lock is decided by the kernel alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from containersync.errors import InvariantViolation, LockedError
from containersync.index.health import FILE_MODE, os_error, prepare_dir

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_POLL_SECONDS = 0.05


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MappingLock:
    """The exclusive right to act on one mapping."""

    def __init__(self, state_dir: Path, mapping: str, *, purpose: str,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        if not _SAFE_NAME.match(mapping):
            raise InvariantViolation(f"mapping name {mapping!r} is not safe as a file name")
        self.mapping = mapping
        self.purpose = purpose
        self.path = Path(state_dir) / "locks" / f"{mapping}.lock"
        self._clock = clock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float = 0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; raise ``LockedError`` if held."""
        if self._fd is not None:
            raise InvariantViolation(f"lock for mapping {self.mapping!r} is already held")
        prepare_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise os_error(exc, self.path) from None
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)  # a lock file an older version left 0644
        deadline = time.monotonic() + max(wait, 0)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockedError(self.mapping, self._holder(fd)) from None
                    time.sleep(_POLL_SECONDS)
            try:
                self._write_holder(fd)
            except OSError as exc:
                raise os_error(exc, self.path) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (a no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> MappingLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _write_holder(self, fd: int) -> None:
        info = {
            "pid": os.getpid(),
            "purpose": self.purpose,
            "hostname": socket.gethostname(),
            "started_at": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        data = (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    @staticmethod
    def _holder(fd: int) -> str:
        """Describe the current holder from the file, as well as it can be read."""
        try:
            raw = os.pread(fd, 4096, 0)
            info = json.loads(raw.decode("utf-8"))
            pid = int(info["pid"])
            purpose = str(info.get("purpose") or "another process")
            started = str(info.get("started_at") or "an unknown time")
            host = str(info.get("hostname") or "")
        except (OSError, ValueError, KeyError, TypeError):
            return "another process (holder unknown)"
        where = "" if not host or host == socket.gethostname() else f" on {host}"
        return f"{purpose} (pid {pid}{where}, since {started})"
