"""What carrying out one action produced, and how that is written to the index.

The executor returns an ``Outcome`` per action; ``record`` turns it into index writes inside
the caller's transaction. The index learns from results only, never from the plan. An
outcome may carry a result *and* a problem: an upload that landed but whose replaced object
could not be deleted records the new object and base (the old object is then garbage, ours
but not the base's) and reports the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from containersync.index.write import WriteTx
from containersync.model.entry import BaseEntry, Problem, RemoteObject, trusted
from containersync.model.kinds import OutcomeKind
from containersync.model.plan import Action, Conflict


@dataclass
class Outcome:
    action: Action
    kind: OutcomeKind
    problem: Problem | None = None
    base: BaseEntry | None = None
    drop_base: bool = False
    new_remote: RemoteObject | None = None
    deleted_remote_ids: tuple[str, ...] = ()
    digest: tuple[str, str] | None = None  # (file id, sha256)
    conflict: Conflict | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    #: whether what happened is known, so the action's intent can be cleared: False for a
    #: failure after which the remote may or may not have acted (an upload whose answer or
    #: recovery was lost, a delete that got no answer); settling decides it later
    known: bool = True
    #: folders (relative) whose new entries this outcome's local write left to be fsynced:
    #: the executor syncs them before the outcome is recorded (``localfs.sync_folders``)
    unsynced_folders: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


def record(
    tx: WriteTx, mapping: str, outcome: Outcome, current_remote_id: str | None, at: float,
    stat_since_ns: int,
) -> bool:
    """Write one outcome; returns whether the path's base was dropped. ``current_remote_id`` is the base's remote id for the path right now
    (a remote delete drops the base only when it deleted the object the base points at);
    ``stat_since_ns``: no local stat of the outcome is older (``model.entry.trusted``)."""
    path = outcome.action.path
    if outcome.new_remote is not None:
        # cached as not listed: a targeted cycle sees it (no listing may show it for a
        # while), the next incremental listing does not stop at it (it would hide what
        # the sandbox wrote between our last listing and the upload)
        tx.add_own_upload(mapping, outcome.new_remote.file_id, path)
        tx.add_remote_objects(mapping, [outcome.new_remote], listed=False)
        tx.add_upload_path(mapping, outcome.new_remote.remote_path, path)
    for file_id in outcome.deleted_remote_ids:
        tx.remove_own_upload(mapping, file_id)
    if outcome.deleted_remote_ids:
        tx.remove_remote_objects(mapping, list(outcome.deleted_remote_ids))
    if outcome.digest is not None:
        tx.put_digest(mapping, *outcome.digest)
    if outcome.conflict is not None:
        c = outcome.conflict
        tx.add_conflict(mapping, c.path, c.copy_path, c.remote_file_id, at)
    if outcome.base is not None:
        tx.put_base(mapping, trusted(outcome.base, stat_since_ns))
        return False
    if outcome.drop_base or (
        outcome.kind == OutcomeKind.DELETED_REMOTE and current_remote_id in outcome.deleted_remote_ids
    ):
        tx.drop_base(mapping, path)
        return True
    return False
