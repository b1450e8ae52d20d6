"""Actions a reconcile decides and the executor carries out.

Every action carries the state it was planned against (``expect_*``, ``replaces``), so the
executor can check it just before acting and turn a mismatch into a problem for the next
cycle instead of overwriting something it has not seen. The index is updated from the
executor's results, never from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from containersync.model.entry import LocalFile, Problem, RemoteFile


@dataclass(frozen=True, slots=True)
class Upload:
    """Upload ``local`` to ``path``; then delete ``replaces`` (our previous object), if any."""

    path: str
    local: LocalFile
    replaces: RemoteFile | None = None


@dataclass(frozen=True, slots=True)
class DeleteRemote:
    """Delete the remote object: the local file was deleted (or it is our garbage)."""

    path: str
    remote: RemoteFile


@dataclass(frozen=True, slots=True)
class Download:
    """Download ``remote`` over ``path``. ``expect_local`` is what must still be there
    (``None``: nothing may be there); the replaced local copy goes to the trash."""

    path: str
    remote: RemoteFile
    expect_local: LocalFile | None = None


@dataclass(frozen=True, slots=True)
class TrashLocal:
    """The remote copy of a tracked file was deleted: move the unchanged local copy to trash.
    ``gone``: the object whose absence from the listing decided it; the executor asks for
    it by id first (a listing can come back short), and keeps the file if it is there."""

    path: str
    expect_local: LocalFile
    gone: str | None = None


@dataclass(frozen=True, slots=True)
class SaveConflictCopy:
    """Download ``remote`` beside the local file as ``copy_path``; the local file stays."""

    path: str
    remote: RemoteFile
    copy_path: str


@dataclass(frozen=True, slots=True)
class RecordBase:
    """Both sides already hold the same content: just record it as the base."""

    path: str
    local: LocalFile
    remote: RemoteFile


@dataclass(frozen=True, slots=True)
class DropBase:
    """Both sides deleted the path: forget it."""

    path: str


Action = Upload | DeleteRemote | Download | TrashLocal | SaveConflictCopy | RecordBase | DropBase


@dataclass(frozen=True, slots=True)
class Conflict:
    path: str
    copy_path: str
    remote_file_id: str


@dataclass(frozen=True)
class Plan:
    """What one reconcile decided.

    ``needs_digest``: remote objects whose content must be hashed before the decision for
    their path can be made (new or modified on both sides, content unknown). The caller
    fetches them, adds their digests and reconciles again; paths waiting on a digest have
    no action in this plan.

    ``decided``: the paths this plan made a decision for (with or without actions); once
    all of a path's actions succeeded, the objects the view saw there become known.
    """

    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[Problem, ...] = ()
    needs_digest: tuple[RemoteFile, ...] = ()
    decided: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.actions or self.needs_digest)
