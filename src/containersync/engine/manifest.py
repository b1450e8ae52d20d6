"""Keeping the container manifest (``model.manifest``) true at the end of a cycle.

The manifest maps each synced file's logical path to its sandbox path, for code in the
container and for the model, when the server chose the paths. There is no update in the
API: a new manifest is uploaded, recorded, and only then the old one deleted, so at every
moment at least one manifest is in the container (for a moment two; readers take the newest).

# RACE: the manifest has no intent row. A crash between its upload and its record leaves
# an unrecorded object at the manifest's name; ``split`` still knows it as a manifest (by
# its name), so it is never taken for a user file, and the next ``refresh`` deletes it as a
# leftover. Nothing is lost: the manifest is derived from the index and written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from containersync.engine.context import MappingContext
from containersync.engine.remote import to_object
from containersync.errors import AuthError, ContainerGone, RemoteError, RemoteFileGone
from containersync.model import manifest as m
from containersync.model.entry import BaseEntry, Mode, Problem, RemoteObject

MANIFEST_FAILED = "manifest-failed"


def split(ctx: MappingContext, objects: Iterable[RemoteObject]
          ) -> tuple[list[RemoteObject], list[RemoteObject]]:
    """(user objects, manifest objects) of a listing of the mapping's container."""
    row = ctx.index.manifest(ctx.name)
    objects = list(objects)
    root = ctx.settings.remote_root
    # only objects at a manifest name can be one: ask the index about those alone
    named = [o.file_id for o in objects if m.is_manifest_path(o.remote_path, root)]
    own = ctx.index.scoped.own_of(ctx.name, named) if named else {}
    return m.split_listing(objects, remote_root=root, own_ids=frozenset(own),
                           manifest_ids=frozenset({row.file_id} if row else ()))


@dataclass(frozen=True)
class Refreshed:
    """After ``refresh``: the sandbox path of every synced file, where the manifest is
    (None: none is kept), and the problem of a manifest that could not be written."""

    paths: dict[str, str]
    manifest: str | None
    problems: list[Problem] = field(default_factory=list)


def refresh(ctx: MappingContext, cid: str, listed: list[RemoteObject], *,
            full_listing: bool, changed: bool = True,
            new_bases: Sequence[BaseEntry] | None = None,
            bases: Mapping[str, BaseEntry] | None = None,
            shared: Mapping[str, BaseEntry] | None = None) -> Refreshed:
    """Make the container's manifest say what the index says the container holds.

    ``listed``: the manifest objects the cycle's listing showed. Writes nothing when the
    recorded manifest already says it (and, after a full listing, is still there), so a
    sync that changed nothing makes no request here. ``changed``: the cycle changed a base
    (or attached, or rebuilt); a targeted cycle that did not returns at once, with no
    ``paths``. A failure is a problem of the run,
    never a reason to fail the files' sync; it is tried again at the next cycle. A
    pull-only mapping writes nothing to the container: its manifest stays as it was.
    ``bases``: every base as the index holds it, when the caller has them in hand;
    ``shared``: bases the caller holds anyway, whose strings the index's rows may share."""
    s = ctx.settings
    row = ctx.index.manifest(ctx.name)
    if not (full_listing or changed or [o for o in listed if row is None
                                        or o.file_id != row.file_id]):
        # a targeted cycle that changed nothing: the manifest cannot be stale, and reading
        # every base would make an idle daemon's cycles cost the size of the tree
        return Refreshed({}, row.remote_path if row else None)
    if (not full_listing and row is None and not listed and new_bases is not None
            and not m.needed(m.sandbox_paths({b.path: b for b in new_bases}), s.remote_root)):
        # no manifest is kept (the server keeps the folder tree) and nothing this targeted
        # cycle recorded changes that: reading every base would cost the size of the tree
        return Refreshed({}, None)
    # what the index holds after the commit: its two columns, not every base again
    paths = (ctx.index.sandbox_paths(ctx.name, shared=shared) if bases is None
             else m.sandbox_paths(bases))
    # what code in the sandbox wrote at the manifest's name is not ours to delete (it is
    # never pulled either): only uploads, ours or left by a crash of ours, are replaced
    listed = [o for o in listed if o.source == "user" or (row and o.file_id == row.file_id)]
    # another folder sharing the container keeps its own manifest at the same name: not a
    # leftover of ours (deleting it made the two rewrite theirs at every cycle)
    theirs = ctx.index.scoped.claimed_elsewhere(
        ctx.name, {o.file_id for o in listed if row is None or o.file_id != row.file_id})
    listed = [o for o in listed if o.file_id not in theirs]
    if s.mode == Mode.PULL:  # a pull-only mapping never writes to the container
        return Refreshed(paths, row.remote_path if row else None)
    try:
        # an upload at the name that is not the recorded manifest is deleted only when it
        # says it is one (a crash of ours left it): another tool's upload, or our upload of
        # a user file of that name that a lost index no longer knows, is left alone
        listed = [o for o in listed if (row and o.file_id == row.file_id)
                  or _says_manifest(ctx, cid, o.file_id)]
        if not m.needed(paths, s.remote_root):
            gone = [o.file_id for o in listed] + ([row.file_id] if row else [])
            _delete(ctx, cid, gone)
            return Refreshed(paths, None)
        data = m.render(paths, s.remote_root)
        digest = hashlib.sha256(data).hexdigest()
        present = row is not None and (not full_listing
                                       or row.file_id in {o.file_id for o in listed})
        if row is not None and present and row.sha256 == digest:
            _delete(ctx, cid, [o.file_id for o in listed if o.file_id != row.file_id])
            return Refreshed(paths, row.remote_path)
        new = _upload(ctx, cid, data)
        with ctx.index.write() as tx:
            # not into the listing cache (it holds what listings returned): an incremental
            # listing stops at the first cached object, and the manifest there would hide
            # what the sandbox wrote before it, and every upload of ours not listed yet
            tx.set_manifest(ctx.name, new.file_id, new.remote_path, digest)
        old = {o.file_id for o in listed} | ({row.file_id} if row else set())
        _delete(ctx, cid, sorted(old - {new.file_id}))
    except (ContainerGone, AuthError):
        raise
    except RemoteError as exc:
        problem = Problem(m.MANIFEST_NAME, MANIFEST_FAILED,
                          f"the manifest of sandbox paths was not updated: {exc}")
        return Refreshed(paths, row.remote_path if row else None, [problem])
    return Refreshed(paths, new.remote_path)


def _says_manifest(ctx: MappingContext, cid: str, file_id: str) -> bool:
    """Whether the object's content is a manifest this program wrote."""
    sink = io.BytesIO()
    try:
        ctx.client.download_file(cid, file_id, sink)
    except RemoteFileGone:
        return False
    return sink.getvalue().startswith(m.render({}, "").split(b",", 1)[0])


def _upload(ctx: MappingContext, cid: str, data: bytes) -> RemoteObject:
    s = ctx.settings
    with tempfile.TemporaryDirectory(prefix="containersync-manifest-") as tmp:
        source = Path(tmp) / m.MANIFEST_NAME
        source.write_bytes(data)
        obj = ctx.client.upload_file(
            cid, source, filename=m.MANIFEST_NAME,
            remote_path=m.manifest_request_path(s.remote_root) if s.honour_paths else None)
    return to_object(obj)


def _delete(ctx: MappingContext, cid: str, ids: Iterable[str]) -> None:
    """Delete manifest objects by id (one already gone is fine) and forget them."""
    done: list[str] = []
    for fid in dict.fromkeys(ids):
        with contextlib.suppress(RemoteFileGone):
            ctx.client.delete_file(cid, fid)
        done.append(fid)
    if done:
        row = ctx.index.manifest(ctx.name)
        with ctx.index.write() as tx:
            tx.remove_remote_objects(ctx.name, done)
            if row is not None and row.file_id in done:
                tx.drop_manifest(ctx.name)
