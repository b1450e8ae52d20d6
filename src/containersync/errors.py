"""The project's one error tree. Each class says what the caller must do.

    ContainerSyncError
    ├── ConfigError            refuse to start; exit 78 (the daemon too)
    ├── UsageError             bad command line; exit 2
    ├── LockedError            another process acts on this mapping; wait or give up
    ├── RemoteError            anything the API answered or failed to answer
    │   ├── TransientError     retry later; carries ``retry_after`` seconds (or None)
    │   │   └── RateLimited    429
    │   ├── AuthError          the key is missing or refused; halt the mapping
    │   ├── ContainerGone      the container expired or does not exist; new generation
    │   │   ├── ContainerExpired
    │   │   └── ContainerNotFound
    │   ├── RemoteFileGone     one file object is gone (404); re-list and re-plan
    │   └── Rejected           the server refused this request (4xx); a per-path problem
    ├── LocalError             the local filesystem refused (disk full, permission); per-path problem
    ├── UnsafePath             a path that must never be written (escape, control chars, symlinked parent)
    ├── UnknownPath            (also a KeyError) a path the container does not hold
    ├── Halted                 a safety rail stopped the mapping; exit 3 until ``--force``
    └── InvariantViolation     a bug in containersync; halt loudly

HTTP status codes and httpx exceptions are translated into this tree in exactly one place:
``containersync.api.errors.translate``.
"""

from __future__ import annotations


class ContainerSyncError(Exception):
    """Base of every error containersync raises on purpose."""


class ConfigError(ContainerSyncError):
    """The configuration is invalid. ``file`` and ``field`` locate it; ``fix`` says what to do.
    ``more`` holds further problems found at the same time, one line each."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 fix: str | None = None, more: tuple[str, ...] = ()) -> None:
        self.file = file
        self.field = field
        self.fix = fix
        self.more = more
        parts = [p for p in (file, field) if p]
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if fix:
            text = f"{text} ({fix})"
        #: the message as lines: the first problem, then each further one, then the count
        self.lines = (text, *more, f"({len(more) + 1} problems in all)") if more else (text,)
        super().__init__("\n  ".join(self.lines))


class UsageError(ContainerSyncError):
    """The command line is wrong."""


class LockedError(ContainerSyncError):
    """Another process holds the mapping's lock. ``holder`` describes it."""

    def __init__(self, mapping: str, holder: str) -> None:
        self.mapping = mapping
        self.holder = holder
        super().__init__(f"mapping {mapping!r} is in use by {holder}")


class RemoteError(ContainerSyncError):
    """The API answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 param: str | None = None) -> None:
        self.status = status
        self.code = code
        self.param = param
        super().__init__(message)


class TransientError(RemoteError):
    """Worth retrying later. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429."""


class AuthError(RemoteError):
    """The API key is missing, wrong or lacks permission (401/403)."""


class ContainerGone(RemoteError):
    """The container can no longer be used: start a new generation (or halt if adopted)."""

    def __init__(self, message: str, *, container_id: str | None = None,
                 status: int | None = 404) -> None:
        super().__init__(message, status=status)
        self.container_id = container_id


class ContainerExpired(ContainerGone):
    """The container expired: its files are gone and it will never run again."""


class ContainerNotFound(ContainerGone):
    """No container with this id exists (deleted, or never existed)."""


class RemoteFileGone(RemoteError):
    """One container file object no longer exists."""


class Rejected(RemoteError):
    """The server refused this request for reasons a retry will not fix (4xx)."""


class LocalError(ContainerSyncError):
    """The local filesystem refused an operation (disk full, permission, ...)."""


class UnsafePath(ContainerSyncError):
    """A path that containersync must never write to or read from."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe path {path!r}: {reason}")


class UnknownPath(ContainerSyncError, KeyError):
    """``Mirror.sandbox_path``: the container holds no synced file at ``path``. A
    ``KeyError`` too, so ``except KeyError`` works as for a dict."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"no synced file {path!r}: {reason}")

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


class Halted(ContainerSyncError):
    """A safety rail stopped the mapping. ``rail`` is its stable name."""

    def __init__(self, rail: str, reason: str) -> None:
        self.rail = rail
        self.reason = reason
        super().__init__(f"halted ({rail}): {reason}")


class InvariantViolation(ContainerSyncError):
    """Something that must never happen did: a bug in containersync."""
