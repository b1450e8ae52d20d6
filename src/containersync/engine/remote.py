"""Listing the container: a full listing, or an incremental one for cheap idle pulls.

A full listing sees deletions and replaces the index's cache of the listing; known objects
(``known_objects``) that it no longer lists are forgotten. An incremental
listing reads newest first and stops at the first object already known, so an idle pull
costs one request whatever the tree size; it cannot see deletions, which the next full
listing will.
"""

from __future__ import annotations

import contextvars
import hashlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import islice

from containersync.api.segmented import Stats, list_segmented
from containersync.api.wire import ContainerFile
from containersync.engine.context import MappingContext
from containersync.index.positions import assign_positions
from containersync.index.store import CachedRow, row_of
from containersync.model.entry import RemoteObject, RemoteView


def to_object(f: ContainerFile) -> RemoteObject:
    # one string per source ("user", "assistant"), not one per object: the decoder makes
    # a new one for every object (~50 B per file of a full listing)
    return RemoteObject(f.id, f.path, f.created_at, sys.intern(f.source), f.bytes)


def list_full(ctx: MappingContext, container_id: str,
              positions: Mapping[str, int] | None = None, *,
              stats: Stats | None = None,
              stop: threading.Event | None = None) -> list[RemoteObject]:
    """Every object, oldest first: in segments listed side by side from where the cached
    objects stood (``positions``, read from the index when not given), exactly as one
    walk of the listing would return them (``api.segmented``). ``stop``, once set, ends
    every walk at its next object (``ListingStopped``)."""
    known = ctx.index.listing_positions(ctx.name) if positions is None else positions

    def files(after: str | None, newest_first: bool = False) -> Iterator[RemoteObject]:
        # each wire object becomes its small engine value as its page arrives: a listing
        # of 100,000 never holds both forms of every object at once
        listed = map(to_object, ctx.client.list_files(
            container_id, order="desc" if newest_first else "asc", after=after))
        return listed if stop is None else _until(stop, listed)

    return list_segmented(files, known, workers=ctx.settings.concurrency, stats=stats,
                          pool=ctx.client.pool)


class ListingStopped(Exception):
    """A background listing was told to stop (its caller no longer wants it)."""


def _until(stop: threading.Event, listed: Iterator[RemoteObject]) -> Iterator[RemoteObject]:
    for obj in listed:
        if stop.is_set():
            raise ListingStopped
        yield obj


class PendingListing:
    """A full listing run in a thread while the cycle loads its base and scans (the
    listing waits on the server; the scan on the disk). ``objects()`` waits for it and
    raises what the listing raised; ``close()`` stops it at its next object and waits.
    The listing thread uses only the API client: the index is read here, before it
    starts (``positions``), and written by the caller after ``objects()``."""

    def __init__(self, ctx: MappingContext, container_id: str) -> None:
        self.positions = ctx.index.listing_positions(ctx.name)
        self._stop = threading.Event()
        self._result: list[RemoteObject] = []
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = list_full(ctx, container_id, self.positions, stop=self._stop)
            except BaseException as exc:  # handed to the caller by objects()
                self._error = exc

        # in the caller's context: its requests count for the caller's cycle (api.counting)
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(run,), name="listing-ahead",
                                        daemon=True)
        self._thread.start()

    def objects(self) -> list[RemoteObject]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


#: objects per page of the newest-first listing a pull check reads
NEW_PAGE = 100


def list_new(ctx: MappingContext, container_id: str,
             known: Callable[[Sequence[str]], AbstractSet[str]]) -> list[RemoteObject]:
    """Objects newer than the newest one already known (read newest first until a known
    id), returned oldest first: the server's order, which ``remote_view`` uses to pick
    among same-second objects. ``known(ids)`` says which of some ids are known; it is
    asked about runs of 1, 2, 4, ... ids, so the check costs about what it finds (one id
    when nothing is new), never the size of what is known."""
    fresh: list[RemoteObject] = []
    listed = ctx.client.list_files(container_id, order="desc", page_size=NEW_PAGE)
    run = 1
    while batch := list(islice(listed, run)):
        seen = known([f.id for f in batch])
        for f in batch:
            if f.id in seen:
                return fresh[::-1]
            fresh.append(to_object(f))
        run = min(run * 2, NEW_PAGE)
    return fresh[::-1]


def cached(ctx: MappingContext) -> Callable[[Sequence[str]], AbstractSet[str]]:
    """``list_new``'s ``known`` for the index's cache of the listing."""
    return lambda ids: ctx.index.cached_among(ctx.name, ids)


def list_incremental(ctx: MappingContext, container_id: str) -> tuple[list[RemoteObject], int]:
    """The cached listing plus what is new, oldest first as a full listing is; returns
    (objects, number of new objects)."""
    # RACE: the cache keeps no listing position: two cached objects of one second come
    # back in id order. Safe: remote_view saves every unseen same-second rival as a
    # conflict copy, so only which one sits at the name is arbitrary, never whether it
    # survives; fresh objects keep the server's order and follow every cached one.
    objects = ctx.index.remote_cache(ctx.name)[::-1]
    fresh = list_new(ctx, container_id, cached(ctx))  # stops at a listed object only
    new = {o.file_id for o in fresh}
    return [o for o in objects if o.file_id not in new] + fresh, len(fresh)


@dataclass
class Listing:
    """What a cycle saw of the container: every object, and ``fresh``, those no earlier
    listing had seen (not in the index's cache of the listing). The container manifest's
    objects are in ``manifests`` only: never a user file (``engine.manifest``)."""

    objects: list[RemoteObject] = field(default_factory=list)
    fresh: list[RemoteObject] = field(default_factory=list)
    manifests: list[RemoteObject] = field(default_factory=list)
    #: a full listing's digest (``listing_digest``)
    digest: str | None = None


def observe(ctx: MappingContext, cid: str | None, *, incremental: bool, dry_run: bool,
            pending: PendingListing | None = None) -> Listing:
    """List the container and keep the index's cache of the listing up to date (not in a
    dry run). The cache keeps the manifest's objects too, so an incremental listing stops
    at them instead of taking them for news. ``pending``: the full listing, already under
    way (used once: a second listing is a new one)."""
    from containersync.engine.manifest import split

    if cid is None:
        return Listing()
    if not incremental:
        if pending is not None:
            positions, objects = pending.positions, pending.objects()
        else:
            positions = ctx.index.listing_positions(ctx.name)
            objects = list_full(ctx, cid, positions)
        digest = listing_digest(cid, objects)
        if ctx.index.listing_digest(ctx.name) == digest:
            fresh = []  # the cache holds exactly this listing: nothing to compare or write
        else:
            # after the listing ended, not beside it (as the base: ``engine.ahead``)
            cached = ctx.index.cached_rows(ctx.name)
            if not dry_run:
                store_full_listing(ctx, objects, cached, positions, digest=digest)
            fresh = [o for o in objects if o.file_id not in cached]
    else:
        digest = None
        objects, count = list_incremental(ctx, cid)
        fresh = objects[len(objects) - count:] if count else []
        if fresh and not dry_run:
            with ctx.index.write() as tx:
                tx.add_remote_objects(ctx.name, fresh)
                tx.append_positions(ctx.name, [o.file_id for o in fresh])
    files, manifests = split(ctx, objects)
    not_files = {o.file_id for o in manifests}
    return Listing(files, [o for o in fresh if o.file_id not in not_files], manifests,
                   digest)


@dataclass(frozen=True)
class NewObjects:
    """What ``list_new`` just read of container ``container_id``: every object newer than
    the newest cached one, oldest first (the daemon's pull check hands it to the cycle it
    starts, which would otherwise read the same pages again)."""

    container_id: str
    objects: list[RemoteObject]


def observe_new(ctx: MappingContext, cid: str | None, *, dry_run: bool,
                listed: NewObjects | None = None) -> Listing:
    """Only what is new since the cached listing (kept in the cache, not in a dry run):
    the listing a targeted cycle starts from, without reading the cache. ``listed``: that
    listing, just read for ``cid`` by a pull check (the cache has not moved since: the
    mapping's worker is its only writer)."""
    if cid is None:
        return Listing()
    # RACE: objects that landed after the check listed are not in ``listed``. Safe: they
    # are newer than every object in it, so the next check (at once, after a pull that
    # found something) reads newest first down to these, now cached, and finds them
    fresh = (list(listed.objects) if listed is not None and listed.container_id == cid
             else list_new(ctx, cid, cached(ctx)))
    if not dry_run:
        remember_listed(ctx, fresh)
    return Listing(list(fresh), fresh)


def remember_listed(ctx: MappingContext, fresh: Sequence[RemoteObject]) -> None:
    """Cache what ``list_new`` read as listed, after the cached listing: it read newest
    first down to a listed object, so it saw every object since, our unlisted uploads
    among them, and the next ``list_new`` stops at these."""
    if fresh:
        with ctx.index.write() as tx:
            tx.add_remote_objects(ctx.name, fresh)
            tx.append_positions(ctx.name, [o.file_id for o in fresh])


#: objects hashed per update of a listing's digest: its text is never held whole (~0.2
#: KiB per file at the listing's stage, which the daemon's memory budget counts)
DIGEST_CHUNK = 1000


def listing_digest(container_id: str, objects: Sequence[RemoteObject]) -> str:
    """A digest of a full listing of ``container_id``: every object's cached fields
    (``row_of``), in the listing's order, each string prefixed with its length so that no
    sandbox path can pass for the end of one object and the start of another."""
    digest = hashlib.blake2b(f"{len(container_id)}:{container_id}".encode(), digest_size=16)
    for start in range(0, len(objects), DIGEST_CHUNK):
        text = "".join([f"{len(o.file_id)}:{o.file_id}{len(o.remote_path)}:{o.remote_path}"
                        f"{o.created_at},{len(o.source)}:{o.source}{o.bytes};"
                        for o in objects[start:start + DIGEST_CHUNK]])
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def store_full_listing(ctx: MappingContext, objects: Sequence[RemoteObject],
                       cached: Mapping[str, CachedRow], positions: Mapping[str, int], *,
                       digest: str) -> None:
    """Make the index's cache of the listing (``cached``: its rows by id) equal
    ``objects``, with their listing positions (``positions``: the cached ones), writing
    only the difference (rewriting 100,000 unchanged rows made a no-op sync seconds
    slower), and record the listing's ``digest`` (``listing_digest``) once the cache
    agrees with it, so the next full listing that finds it unchanged compares nothing."""
    listed = {o.file_id: o for o in objects}
    stale = [fid for fid in cached if fid not in listed]
    changed = [o for fid, o in listed.items() if cached.get(fid) != row_of(o)]
    forgotten = [fid for fid in ctx.index.known_objects(ctx.name) if fid not in listed]
    moved = assign_positions(list(listed), positions)
    with ctx.index.write() as tx:
        tx.remove_remote_objects(ctx.name, stale)
        tx.add_remote_objects(ctx.name, changed)
        tx.remove_known(ctx.name, forgotten)
        tx.mark_listed(ctx.name)  # every row left is one this listing returned
        tx.set_positions(ctx.name, moved.items())
        tx.set_listing_digest(ctx.name, digest)  # last: each write above clears it


def with_fresh_paths(
    only: Sequence[str] | None, view: RemoteView, fresh: Sequence[RemoteObject]
) -> Sequence[str] | None:
    """A targeted cycle also looks at the paths new remote objects map to: once listed they
    count as known, so leaving them out would hide them until the next full listing."""
    if only is None or not fresh:
        return only
    fresh_ids = {o.file_id for o in fresh}
    return [*only, *(p for p, r in view.files.items() if r.file_id in fresh_ids)]
