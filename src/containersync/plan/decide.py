"""The change matrix: what one path's local and remote states mean in each mode.

Pure. ``classify_local``/``classify_remote`` name what happened on each side since the
base; ``decide`` turns the pair into actions for one path. It is the only place where the
rows of SYNC_SEMANTICS "Modes" and "The change matrix" are written down, so each row below
names its case.

Remote states: ``NEVER`` is a base whose ``remote_id`` is ``None`` (a new generation: the
container never had the path) and no object there now; an object there is ``NEW``. Such a
path is re-seeded by uploading and is never deleted locally because of it.

Content comparison (``Sides.same_content``): the remote digest when known; otherwise two
known, different sizes mean different content; otherwise unknown, and the decision asks
for the digest instead of guessing. An mtime-only local change is ``UNCHANGED`` (sha256
equal), so it is never uploaded.

Choices for rows the spec leaves open (also in the README):
- ``pull``, local new/modified vs a remote new/newer object with different content: the
  local file is kept, the remote one is saved as a conflict copy, and the base records the
  local content against the remote object (``RecordBase``), so the same object is not
  copied again every pass. A later, newer remote object is then pulled normally (the
  local copy goes to the trash first).
- ``pull``, local deleted vs remote unchanged: the deletion is kept locally and not
  pushed (like Syncthing's receive-only folders); nothing is planned. A newer remote object
  is pulled.
- ``pull``, local modified vs remote deleted or never had it: the local file is kept.
- ``push``, local deleted vs a newer remote object that is not ours: the other writer's
  object is left alone (data we never saw is never deleted) and the base is dropped.
- ``push``/``two-way``, both sides new with the same content: ``RecordBase``, no upload.
- Any mode, local unchanged vs a newer remote object whose digest equals the local
  sha256: ``RecordBase`` instead of a download of the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteFile
from containersync.model.plan import (
    Action,
    DeleteRemote,
    Download,
    DropBase,
    RecordBase,
    TrashLocal,
    Upload,
)


class Local(Enum):
    ABSENT = "absent"  # no base, no file
    NEW = "new"
    UNCHANGED = "unchanged"
    MODIFIED = "modified"
    DELETED = "deleted"


class Remote(Enum):
    ABSENT = "absent"  # no base, no object
    NEVER = "never"  # base without remote_id, no object
    NEW = "new"  # an object where the base had none
    UNCHANGED = "unchanged"
    NEWER = "newer"
    DELETED = "deleted"


def classify_local(base: BaseEntry | None, local: LocalFile | None) -> Local:
    if base is None:
        return Local.ABSENT if local is None else Local.NEW
    if local is None:
        return Local.DELETED
    return Local.UNCHANGED if local.sha256 == base.sha256 else Local.MODIFIED


def classify_remote(base: BaseEntry | None, remote: RemoteFile | None) -> Remote:
    if base is None or base.remote_id is None:
        if remote is not None:
            return Remote.NEW
        return Remote.ABSENT if base is None else Remote.NEVER
    if remote is None:
        return Remote.DELETED
    return Remote.UNCHANGED if remote.file_id == base.remote_id else Remote.NEWER


@dataclass(frozen=True, slots=True)
class Sides:
    path: str
    base: BaseEntry | None
    local: LocalFile | None
    remote: RemoteFile | None
    local_state: Local
    remote_state: Remote
    remote_digest: str | None = None

    def same_content(self) -> bool | None:
        """Whether the local file and the remote object hold the same bytes; None: unknown."""
        assert self.local is not None and self.remote is not None
        if self.remote_digest is not None:
            return self.remote_digest == self.local.sha256
        if self.remote.bytes is not None and self.remote.bytes != self.local.size:
            return False
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    """Actions for one path. ``conflict``: also save the remote object as a conflict copy
    (the caller names it). ``needs_digest``: nothing can be decided without the content."""

    actions: tuple[Action, ...] = ()
    conflict: bool = False
    needs_digest: bool = False


NOTHING = Decision()
WAIT = Decision(needs_digest=True)


def decide(s: Sides, mode: Mode) -> Decision:
    """The actions for one path in ``mode`` (two-way, push or pull)."""
    if mode is Mode.PUSH:
        return _push(s)
    if mode is Mode.PULL:
        return _pull(s)
    return _two_way(s)


def _upload(s: Sides, *, replace_tracked: bool = False) -> Decision:
    assert s.local is not None
    replaces = s.remote if replace_tracked else None
    return Decision((Upload(path=s.path, local=s.local, replaces=replaces),))


def _download(s: Sides) -> Decision:
    assert s.remote is not None
    return Decision((Download(path=s.path, remote=s.remote, expect_local=s.local),))


def _record(s: Sides) -> Decision:
    assert s.local is not None and s.remote is not None
    return Decision((RecordBase(path=s.path, local=s.local, remote=s.remote),))


def _trash(s: Sides) -> Decision:
    assert s.local is not None
    gone = s.base.remote_id if s.base is not None else None
    return Decision((TrashLocal(path=s.path, expect_local=s.local, gone=gone),))


def _delete_remote(s: Sides) -> Decision:
    assert s.remote is not None
    return Decision((DeleteRemote(path=s.path, remote=s.remote),))


def _drop(s: Sides) -> Decision:
    return Decision((DropBase(path=s.path),))


def _pull_over_unchanged(s: Sides) -> Decision:
    """Local unchanged (or absent), remote has a new/newer object: pull it."""
    if s.local is not None and s.remote_digest == s.local.sha256:
        return _record(s)
    return _download(s)


def _both_changed(s: Sides, *, upload_local: bool) -> Decision:
    """Local new/modified, remote new/newer: same content -> record, else conflict."""
    same = s.same_content()
    if same is None:
        return WAIT
    if same:
        return _record(s)
    if upload_local:
        return Decision(_upload(s).actions, conflict=True)
    return Decision(_record(s).actions, conflict=True)


def _two_way(s: Sides) -> Decision:
    L, R = s.local_state, s.remote_state
    if L is Local.ABSENT:  # remote-only new object
        return _download(s)
    if L is Local.NEW:
        return _upload(s) if R is Remote.ABSENT else _both_changed(s, upload_local=True)
    if L is Local.UNCHANGED:
        if R is Remote.UNCHANGED:
            return NOTHING
        if R is Remote.NEVER:  # new generation: re-seed
            return _upload(s)
        if R is Remote.DELETED:
            return _trash(s)
        return _pull_over_unchanged(s)  # NEW / NEWER
    if L is Local.MODIFIED:
        if R is Remote.UNCHANGED:
            return _upload(s, replace_tracked=True)
        if R in (Remote.NEVER, Remote.DELETED):  # edit wins
            return _upload(s)
        return _both_changed(s, upload_local=True)
    # Local.DELETED
    if R is Remote.UNCHANGED:
        return _delete_remote(s)
    if R in (Remote.NEVER, Remote.DELETED):
        return _drop(s)
    return _download(s)  # NEW / NEWER: edit wins


def _push(s: Sides) -> Decision:
    L, R = s.local_state, s.remote_state
    if L is Local.ABSENT:  # remote-only object: ignored
        return NOTHING
    if L is Local.DELETED:
        return _delete_remote(s) if R is Remote.UNCHANGED else _drop(s)
    if R is Remote.UNCHANGED:
        if L is Local.UNCHANGED:
            return NOTHING
        return _upload(s, replace_tracked=True)
    if R in (Remote.NEW, Remote.NEWER) and s.same_content():
        return _record(s)
    return _upload(s)  # re-push over a changed/vanished/foreign remote copy


def _pull(s: Sides) -> Decision:
    L, R = s.local_state, s.remote_state
    if R in (Remote.ABSENT, Remote.NEVER, Remote.UNCHANGED):
        return _drop(s) if L is Local.DELETED and R is Remote.NEVER else NOTHING
    if R is Remote.DELETED:
        if L is Local.UNCHANGED:
            return _trash(s)
        return _drop(s) if L is Local.DELETED else NOTHING
    # NEW / NEWER
    if L in (Local.ABSENT, Local.DELETED, Local.UNCHANGED):
        return _pull_over_unchanged(s)
    return _both_changed(s, upload_local=False)
