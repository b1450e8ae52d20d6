"""Settling intents left by a run that stopped between a remote side effect and its record.

- upload: the object may exist without the index knowing it. It is found among the objects
  that appeared after the intent started, at the requested path or with the server-chosen
  ``<hex>-<name>`` form, with source "user", an id nobody recorded, and the right size. Its
  content is hashed; the first match for the recorded sha256 is adopted as our upload and
  as the path's base (so "ours but not the base's" always means garbage), and any later
  match is a duplicate of ours and is deleted, so nothing stays uploaded twice.
  A candidate with other content is not provably ours and is left alone. When the upload
  replaced an object (modified file) and was adopted, the replaced object is deleted, which
  finishes what the executor started.
- delete-remote: repeated (deleting what is gone already is fine).
- download: a temporary file may be left in the target's folder; it is removed. (Every
  non-dry run also removes the temporaries its scan meets, wherever they are:
  ``sweep_temporaries``.)
- create-container: handled by ``engine.container`` before anything else.

Settling runs at the start of a cycle (what a crash left) and again at its end for the
outcomes the executor could not know (``settle_open``); an intent that is still open then
is a problem, so the run does not say "converged".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from containersync.engine.context import MappingContext
from containersync.engine.remote import list_full
from containersync.errors import AuthError, ContainerGone, ContainerSyncError, RemoteFileGone
from containersync.execute.localfs import open_parent, stat_local
from containersync.index.records import Intent
from containersync.model.entry import BaseEntry, Problem, RemoteObject
from containersync.model.kinds import IntentKind
from containersync.scan.ignore import TEMP_PREFIX

CLOCK_SKEW_S = 300


def remote_sha256(ctx: MappingContext, container_id: str, file_id: str) -> str:
    return ctx.client.file_sha256(container_id, file_id)


def settle_intents(
    ctx: MappingContext, container_id: str, objects: Sequence[RemoteObject]
) -> int:
    """Settle pending intents against a fresh full listing; returns how many were settled."""
    intents = [i for i in ctx.index.intents(ctx.name) if i.kind != "create-container"]
    if not intents:
        return 0
    claimed = set(ctx.index.own_uploads(ctx.name))
    claimed |= {b.remote_id for b in ctx.index.bases(ctx.name).values() if b.remote_id}
    for intent in intents:
        if intent.kind == IntentKind.UPLOAD:  # claims only the objects it adopted or deleted
            claimed |= _settle_upload(ctx, container_id, intent, objects, claimed)
        elif intent.kind == IntentKind.DELETE_REMOTE and intent.file_id:
            with contextlib.suppress(RemoteFileGone):
                ctx.client.delete_file(container_id, intent.file_id)
        elif intent.kind == IntentKind.DOWNLOAD and intent.path:
            remove_temp_files(ctx.settings.local_root, intent.path)
        with ctx.index.write() as tx:
            tx.clear_intent(intent.id)
    return len(intents)


def settle_open(ctx: MappingContext, container_id: str, problems: list[Problem]) -> int:
    """After a cycle's actions: settle the intents whose outcome stayed unknown, against one
    more full listing. Each intent still open afterwards is a problem (appended to
    ``problems``), so the run does not report convergence. Returns how many were settled."""
    if not _open(ctx):
        return 0
    settled = 0
    try:
        settled = settle_intents(ctx, container_id, list_full(ctx, container_id))
    except (ContainerGone, AuthError):
        raise
    except ContainerSyncError as exc:
        problems.append(Problem("", "unsettled", f"could not settle what the server did: {exc}"))
    for intent in _open(ctx):
        what = {"upload": "an upload", "delete-remote": "a remote delete"}.get(
            intent.kind, intent.kind)
        problems.append(Problem(intent.path or "", "unsettled",
                                f"{what} may or may not have happened on the server; the next"
                                " run settles it"))
    return settled


def _open(ctx: MappingContext) -> list[Intent]:
    return [i for i in ctx.index.intents(ctx.name) if i.kind in (IntentKind.UPLOAD, IntentKind.DELETE_REMOTE)]


def remove_temp_files(root: Path, rel: str) -> int:
    """Remove our temporary files left in ``rel``'s folder by an interrupted download."""
    try:
        dfd, _ = open_parent(root, rel, create=False)
    except (OSError, ContainerSyncError):
        return 0
    removed = 0
    try:
        for name in os.listdir(dfd):
            if name.startswith(TEMP_PREFIX):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dfd)
                    removed += 1
    finally:
        os.close(dfd)
    return removed


def sweep_temporaries(root: Path, found: Sequence[str]) -> int:
    """Remove the temporaries a scan found (``ScanResult.temporaries``), folder by folder:
    what downloads interrupted by a crash left, whether or not an intent points there.

    Called only by a run that holds the mapping's lock, never by a dry run.
    RACE: a temporary is ours only while our executor writes it; the lock keeps every other
    run of this mapping out and our executor does not run during the scan, so each one
    found is a leftover."""
    one_per_folder = {rel.rpartition("/")[0]: rel for rel in found}
    return sum(remove_temp_files(root, rel) for rel in one_per_folder.values())


def _settle_upload(
    ctx: MappingContext, container_id: str, intent: Intent,
    objects: Sequence[RemoteObject], claimed: set[str],
) -> set[str]:
    path = intent.path
    if not path:
        return set()
    if not intent.sha256:
        # a large new file whose digest was to come from the upload's own read: what the
        # attempt sent is the file as it is now, unless it changed since.
        # RACE: edited between the crash and this look, the object is not provably ours and
        # is left alone (as any candidate with other content is); the file is uploaded anew
        intent = replace(intent, sha256=_local_sha256(ctx, path))
        if not intent.sha256:
            return set()
    name = path.rsplit("/", 1)[-1]
    since = intent.started_at - CLOCK_SKEW_S
    candidates = [
        o for o in objects
        if o.file_id not in claimed and o.source == "user" and o.created_at >= since
        and (o.remote_path == intent.remote_path or o.remote_path.endswith("-" + name)
             or o.remote_path.endswith("/" + name))
        and (o.bytes is None or intent.size is None or o.bytes == intent.size)
    ]
    adopted = _adopted_before(ctx, intent, objects, since)
    # only what proved ours is claimed: a candidate with other content may be another
    # open intent's (same file name in another folder, or the same path's older upload)
    ours: set[str] = set()
    for o in sorted(candidates, key=lambda o: (o.created_at, o.file_id)):
        try:
            same = remote_sha256(ctx, container_id, o.file_id) == intent.sha256
        except RemoteFileGone:
            continue
        if not same:
            continue
        ours.add(o.file_id)
        if not adopted:
            _adopt(ctx, intent, o)
            adopted = True
        else:
            with contextlib.suppress(RemoteFileGone):
                ctx.client.delete_file(container_id, o.file_id)
    if adopted and intent.file_id:
        _finish_replace(ctx, container_id, intent.file_id)
    return ours


def _local_sha256(ctx: MappingContext, rel: str) -> str | None:
    try:  # through ``open_parent``: no link in the path is followed
        return stat_local(ctx.settings.local_root, rel).sha256
    except (OSError, ContainerSyncError):
        return None


def _adopt(ctx: MappingContext, intent: Intent, o: RemoteObject) -> None:
    """Make ``o`` our upload for the intent's path *and* its base, so that an object of
    ours that is not the base's is always garbage. The base's ``mtime_ns`` matches no file,
    so the next scan hashes the local file again (it may have changed since)."""
    assert intent.path is not None
    size = intent.size if intent.size is not None else (o.bytes or 0)
    with ctx.index.write() as tx:
        tx.add_own_upload(ctx.name, o.file_id, intent.path)
        tx.add_upload_path(ctx.name, o.remote_path, intent.path)
        tx.put_digest(ctx.name, o.file_id, intent.sha256 or "")
        tx.put_base(ctx.name, BaseEntry(
            path=intent.path, size=size, mtime_ns=-1, sha256=intent.sha256 or "",
            remote_id=o.file_id, remote_path=o.remote_path, remote_created_at=o.created_at,
            source=o.source))


def _adopted_before(
    ctx: MappingContext, intent: Intent, objects: Sequence[RemoteObject], since: float
) -> bool:
    """Whether an earlier, interrupted settling already adopted this intent's upload."""
    own, digests = ctx.index.own_uploads(ctx.name), ctx.index.digests(ctx.name)
    return any(
        own.get(o.file_id) == intent.path and o.file_id != intent.file_id
        and o.created_at >= since and digests.get(o.file_id) == intent.sha256
        for o in objects
    )


def _finish_replace(ctx: MappingContext, container_id: str, old_id: str) -> None:
    """The upload replaced ``old_id`` and landed: delete the old object, as the executor
    would have. Left alone, an old object at the new one's sandbox path is never garbage
    (``remote_view`` does not delete an object that shares its path)."""
    with contextlib.suppress(RemoteFileGone):
        ctx.client.delete_file(container_id, old_id)
    with ctx.index.write() as tx:
        tx.remove_own_upload(ctx.name, old_id)
        tx.remove_remote_objects(ctx.name, [old_id])
