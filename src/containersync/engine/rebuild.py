"""Rebuilding a mapping's bases from its container when the index lost them.

When: the state has no record of the container the mapping was attached to (the index was
deleted, emptied, corrupt and moved aside, replaced by another mapping's, or the mapping is
new to this identity, or an older copy names a container since replaced:
``Attached.found``), or the index is *older than the
remote*: a full listing holds uploads (``source: "user"``) that no record of ours knows and
that were created after the index's last full listing (an older copy of the index was
restored, so its records miss what later runs uploaded).

What: every listed object that maps to an existing local file (by its path under the remote
root; for an upload at a server-chosen ``<32 hex>-<name>`` path, by a local file of that
name) is hashed when the sizes match or the size is unknown (``bytes: null``); when the
content equals the local file's, the pair is recorded as the base (an upload also as our
own). For an older index, the bases whose object is still listed and whose local file is
unchanged are kept as they are; every other base, and every own upload no kept base
names, is forgotten. So the rest of the cycle can only upload what is missing, pull what
the assistant wrote and make conflict copies: a base exists only where both sides hold the
same content, and nothing is deleted on either side in that run.

``plan_rebuild`` is pure (values in, values out); ``rebuild_if_lost`` is the one call
site's edge: it scans, hashes, writes the index and returns the new base.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from containersync.engine.container import Attached
from containersync.engine.context import MappingContext
from containersync.engine.remote import Listing
from containersync.errors import UnsafePath
from containersync.index.records import MappingState
from containersync.model.entry import BaseEntry, LocalFile, RemoteObject, trusted
from containersync.model.paths import remote_to_local
from containersync.scan.scanner import scan

#: the server-chosen name of an upload: ``<32 hex>-<the name we sent>``
SERVER_NAME = re.compile(r"^[0-9a-f]{32}-(.+)$")
INDEX_LOST = "the index had no record of this container"
INDEX_OLDER = "the index is older than the container (uploads it does not know)"


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild decided: why, the new base, and how it came about."""

    reason: str
    base: dict[str, BaseEntry]
    matched: int = 0  # paths recorded by content
    kept: int = 0  # bases of an older index that still hold
    own: dict[str, str] = field(default_factory=dict)  # file id -> path, our uploads
    digests: dict[str, str] = field(default_factory=dict)  # file id -> sha256, hashed


def lost_reason(state: MappingState | None, attached: Attached, listing: Listing, *,
                base: Mapping[str, BaseEntry], own: Mapping[str, str],
                full_listing: bool) -> str | None:
    """Why the bases must be rebuilt from the container, or None."""
    if attached.container is None or not listing.objects:
        return None
    if attached.found:
        return INDEX_LOST
    if not full_listing or state is None or state.last_full_list is None:
        return None
    known = set(own) | {b.remote_id for b in base.values() if b.remote_id}
    since = int(state.last_full_list) - 1  # created_at has one-second resolution
    unknown = [o for o in listing.fresh if o.source == "user" and o.file_id not in known
               and o.created_at >= since]
    return INDEX_OLDER if unknown else None


def candidates(objects: Sequence[RemoteObject], local: Mapping[str, LocalFile], *,
               remote_root: str, skip_paths: AbstractSet[str] = frozenset(),
               skip_ids: AbstractSet[str] = frozenset()) -> list[tuple[RemoteObject, str]]:
    """(object, local path) pairs worth hashing, newest object first: the path exists
    locally, is not already based, and the size matches or is unknown."""
    by_name: dict[str, list[str]] = {}
    for path in sorted(local):
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    root = remote_root.rstrip("/") or "/"
    out: list[tuple[RemoteObject, str]] = []
    for obj in sorted(objects, key=lambda o: (o.created_at, o.file_id), reverse=True):
        if obj.file_id in skip_ids:
            continue
        for path in _paths_for(obj, local, by_name, remote_root, root):
            lf = local[path]
            if path not in skip_paths and (obj.bytes is None or obj.bytes == lf.size):
                out.append((obj, path))
    return out


def _paths_for(obj: RemoteObject, local: Mapping[str, LocalFile],
               by_name: Mapping[str, list[str]], remote_root: str, root: str) -> list[str]:
    paths: list[str] = []
    try:
        rel = remote_to_local(obj.remote_path, remote_root)
        if rel in local:
            paths.append(rel)
    except UnsafePath:
        pass
    folder, _, name = obj.remote_path.rpartition("/")
    match = SERVER_NAME.match(name)
    if obj.source == "user" and match and (folder or "/") == root:
        sent = unicodedata.normalize("NFC", match.group(1))
        paths += [p for p in by_name.get(sent, ()) if p not in paths]
    return paths


def plan_rebuild(reason: str, pairs: Sequence[tuple[RemoteObject, str]],
                 local: Mapping[str, LocalFile], digests: Mapping[str, str],
                 kept: Mapping[str, BaseEntry],
                 claimed: AbstractSet[str] = frozenset()) -> Rebuilt:
    """Record each local path once, with the newest object of the same content; an object
    stands for one path only. An upload is recorded as our own unless another mapping of
    the index records it (``claimed``)."""
    base = dict(kept)
    own = {b.remote_id: p for p, b in kept.items() if b.remote_id and b.source == "user"}
    used = {b.remote_id for b in kept.values() if b.remote_id}
    matched = 0
    for obj, path in pairs:
        lf = local[path]
        if path in base or obj.file_id in used or digests.get(obj.file_id) != lf.sha256:
            continue
        base[path] = BaseEntry(path, lf.size, lf.mtime_ns, lf.sha256, obj.file_id,
                               obj.remote_path, obj.created_at, obj.source)
        used.add(obj.file_id)
        matched += 1
        if obj.source == "user" and obj.file_id not in claimed:
            own[obj.file_id] = path
    return Rebuilt(reason, base, matched=matched, kept=len(kept), own=own,
                   digests=dict(digests))


def still_valid(base: Mapping[str, BaseEntry], local: Mapping[str, LocalFile],
                listed: AbstractSet[str]) -> dict[str, BaseEntry]:
    """The bases of an older index that still hold: object listed, local file unchanged."""
    return {p: b for p, b in base.items()
            if b.remote_id in listed and (lf := local.get(p)) is not None
            and lf.sha256 == b.sha256}


def rebuild_if_lost(ctx: MappingContext, attached: Attached, listing: Listing, *,
                    full_listing: bool, dry_run: bool,
                    hash_remote: Callable[[str, str], str] | None = None) -> Rebuilt | None:
    """Rebuild the bases from the container when the index lost them (module doc); return
    the result (None: the index is fine). Writes nothing in a dry run."""
    if not attached.found and (not full_listing
                               or not any(o.source == "user" for o in listing.fresh)):
        return None  # the common case, decided without reading the bases (lost_reason)
    state = ctx.index.mapping(ctx.name)
    old_base = ctx.index.bases(ctx.name)
    old_own = ctx.index.own_uploads(ctx.name)
    reason = lost_reason(state, attached, listing, base=old_base, own=old_own,
                         full_listing=full_listing)
    if reason is None or attached.container is None:
        return None
    cid = attached.container.id
    s = ctx.settings
    scanned = scan(s.local_root, ctx.rules, old_base)
    listed = {o.file_id for o in listing.objects}
    kept = still_valid(old_base, scanned.files, listed) if reason == INDEX_OLDER else {}
    pairs = candidates(listing.objects, scanned.files, remote_root=s.remote_root,
                       skip_paths=set(kept),
                       skip_ids={b.remote_id for b in kept.values() if b.remote_id})
    fetch = hash_remote or ctx.client.file_sha256
    digests = dict(ctx.index.digests(ctx.name))
    for obj, _path in pairs:
        if obj.file_id not in digests:
            digests[obj.file_id] = fetch(cid, obj.file_id)
    # another folder sharing the container records these: matched by content they become
    # this mapping's base, never its own upload (nor deleted by it: ``plan.shared``)
    claimed = ctx.index.scoped.claimed_elsewhere(ctx.name, {o.file_id for o, _ in pairs})
    rebuilt = plan_rebuild(reason, pairs, scanned.files, digests, kept, claimed=claimed)
    if not dry_run:
        _record(ctx, rebuilt, old_base, old_own, scanned.started_ns)
    return rebuilt


def _record(ctx: MappingContext, rebuilt: Rebuilt, old_base: Mapping[str, BaseEntry],
            old_own: Mapping[str, str], stat_since_ns: int) -> None:
    name = ctx.name
    with ctx.index.write() as tx:
        for path in old_base:
            if path not in rebuilt.base:
                tx.drop_base(name, path)
        for file_id in old_own:
            if file_id not in rebuilt.own:
                tx.remove_own_upload(name, file_id)
        tx.put_bases(name, [trusted(b, stat_since_ns) for b in rebuilt.base.values()])
        for file_id, path in rebuilt.own.items():
            tx.add_own_upload(name, file_id, path)
        for file_id, sha in rebuilt.digests.items():
            tx.put_digest(name, file_id, sha)
        # a recorded base is a finished decision: its object is no longer a remote change
        tx.add_known(name, [(b.remote_id, p) for p, b in rebuilt.base.items()
                            if b.remote_id and b.remote_id not in rebuilt.own])
        tx.set_rules_fingerprint(name, ctx.rules.fingerprint)
