"""Snapshots of one path on each side, and the base the index recorded between them.

Invariants:
- ``path`` is always the *local relative path*: POSIX separators, NFC, no leading slash,
  no ``.``/``..`` segments (see ``containersync.model.paths``).
- A ``LocalFile`` always carries its sha256 (the scanner reuses the base's digest when
  size and mtime_ns are unchanged, and hashes otherwise).
- A ``RemoteFile`` is one container file object; ``bytes`` may be ``None`` (the live
  service reports null for files the assistant wrote).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Mode(StrEnum):
    """How changes flow for one mapping."""

    TWO_WAY = "two-way"
    PUSH = "push"
    PULL = "pull"


#: A stat taken less than this after a file's mtime cannot tell that file from a later
#: write of the same size within the same tick of the filesystem's timestamp clock (one
#: kernel tick on ext4, two seconds on FAT): such a file is "racily clean"
RACY_NS = 2_000_000_000
#: a base's ``mtime_ns`` that matches no file: the next scan reads the file
NO_MTIME = -1

#: ``LocalFile.sha256`` of a large new file that nothing needs to compare yet: it is hashed
#: in the same read as its upload (``scan.scanner``'s ``defer``, ``api.client.send_file``)
UNHASHED = ""


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True)
class RemoteFile:
    file_id: str
    path: str  # the local relative path this object maps to
    remote_path: str  # the absolute sandbox path the server reports
    created_at: int
    source: str  # "user", "assistant" or anything else the server says
    bytes: int | None = None

    @property
    def order_key(self) -> tuple[int, str]:
        """Newest wins: later ``created_at``, then the larger id."""
        return (self.created_at, self.file_id)


@dataclass(frozen=True, slots=True)
class BaseEntry:
    """What was in sync after the last successful action on ``path``.

    ``remote_id`` is ``None`` when the current generation of the container does not hold
    the path yet (after a new generation: re-seed by uploading, never delete locally).
    """

    path: str
    size: int
    mtime_ns: int
    sha256: str
    remote_id: str | None = None
    remote_path: str | None = None
    remote_created_at: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """One raw object of a container listing, before it is mapped to a local path."""

    file_id: str
    remote_path: str
    created_at: int
    source: str
    bytes: int | None = None

    @property
    def id(self) -> str:
        """The object's id under the wire's name, so a listing can yield these directly."""
        return self.file_id


@dataclass(frozen=True, slots=True)
class Problem:
    """A per-path difficulty that does not stop the rest of the mapping."""

    path: str
    kind: str  # stable kebab-case: "unsafe-remote-path", "symlink", "upload-failed", ...
    message: str


@dataclass(frozen=True)
class RemoteView:
    """The container's files grouped by the local path each maps to.

    ``files``: the current object per mapped path (see ``plan.remote_view``: by knowledge,
    not by clocks). ``garbage``: objects this program uploaded that are not a path's current
    object, to be deleted by id. ``foreign``: objects left alone (user uploads that are not
    ours, sources not pulled, objects of others already decided on). ``problems``: objects
    whose path cannot be mapped safely. ``ambiguous``: paths whose current object is one
    never seen before whose timestamp does not put it after our upload there (written in
    the same second, or between our plan and our upload): the local side must be compared
    with it as if both had changed. ``seen``: per path, the ids of the objects that are not
    ours and may be pulled (what a finished decision for the path has taken into account).
    ``tied``: per path, the unseen objects created in the same second as the current one
    (which is also unseen): no clock orders them, so each is a write to keep (a conflict
    copy unless its content equals the current one's).
    """

    files: Mapping[str, RemoteFile] = field(default_factory=dict)
    garbage: tuple[RemoteFile, ...] = ()
    foreign: tuple[RemoteFile, ...] = ()
    problems: tuple[Problem, ...] = ()
    ambiguous: frozenset[str] = frozenset()
    seen: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tied: Mapping[str, tuple[RemoteFile, ...]] = field(default_factory=dict)


def trusted(entry: BaseEntry, stat_since_ns: int) -> BaseEntry:
    """``entry`` as the next scan may trust it, given that its stat was taken no earlier
    than ``stat_since_ns`` (wall clock): a file whose mtime is within ``RACY_NS`` of that
    moment, or after it, keeps ``NO_MTIME``, so the next scan reads it again instead of
    trusting a size and mtime that a same-tick write would not have changed."""
    if entry.mtime_ns == NO_MTIME or entry.mtime_ns < stat_since_ns - RACY_NS:
        return entry
    return replace(entry, mtime_ns=NO_MTIME)
