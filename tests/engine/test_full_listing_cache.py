"""A full listing leaves the index's cache of the listing equal to what it listed, and calls
fresh exactly the objects the cache did not hold: whatever was written to the cache, the
known objects or the positions between two listings (issue 9).

The random cases interleave changes in the container (real objects in the local backend,
over HTTP) with the index writes other stages make (a cycle's uploads recorded unlisted, a
row removed, a position moved, a known object added or forgotten), and full listings with
and without the early listing ``sync`` runs beside its scan, and dry runs (which write
nothing). Written before the cache learned to skip the comparison of an unchanged listing:
the same invariants hold with and without that shortcut.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containersync.engine.context import MappingContext
from containersync.engine.remote import Listing, PendingListing, observe
from containersync.index.store import row_of
from containersync.localapi.embedded import RunningServer
from containersync.model.entry import RemoteObject
from support.contexts import mapping_context

SOURCES = st.sampled_from(["user", "assistant"])
CONTAINER_CHANGES = ["add", "delete"]
LISTINGS = ["list", "list-early", "list-dry", "incremental"]
INDEX_WRITES = ["drop-row", "edit-row", "stray-row", "unlisted-row", "move-row", "add-known",
                "stray-known", "forget-known"]
#: (operation, a number that picks its target or its size); short runs, so that one index
#: write is often the only thing between two full listings
OPS = st.lists(st.tuples(st.sampled_from(CONTAINER_CHANGES + LISTINGS + INDEX_WRITES),
                         st.integers(0, 50)), min_size=1, max_size=6)


@contextmanager
def fresh_mapping(server: RunningServer) -> Iterator[tuple[MappingContext, str]]:
    cid = str(server.store.create_container({"name": "listing-cache"})["id"])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        root.mkdir()
        with mapping_context(Path(tmp), server.base_url, root,
                             extra=f'[mappings.container]\nid = "{cid}"\n') as ctx:
            with ctx.index.write() as tx:
                tx.ensure_mapping(ctx.name)
                tx.attach_container(ctx.name, cid, None, adopted=True)
            yield ctx, cid


def server_walk(ctx: MappingContext, cid: str) -> list[RemoteObject]:
    return [RemoteObject(f.id, f.path, f.created_at, f.source, f.bytes)
            for f in ctx.client.list_files(cid, order="asc")]


def full_listing(ctx: MappingContext, cid: str, op: str) -> Listing:
    if op == "list-early":
        pending = PendingListing(ctx, cid)
        try:
            return observe(ctx, cid, incremental=False, dry_run=False, pending=pending)
        finally:
            pending.close()
    return observe(ctx, cid, incremental=False, dry_run=op == "list-dry")


def check_full(ctx: MappingContext, cid: str, op: str) -> None:
    before = ctx.index.cached_rows(ctx.name)
    positions_before = ctx.index.listing_positions(ctx.name)
    known_before = ctx.index.known_objects(ctx.name)
    listing = full_listing(ctx, cid, op)
    walked = server_walk(ctx, cid)
    assert listing.objects == walked and not listing.manifests
    assert [o.file_id for o in listing.fresh] == [
        o.file_id for o in listing.objects if o.file_id not in before]
    cached = ctx.index.cached_rows(ctx.name)
    if op == "list-dry":  # a dry run writes nothing
        assert cached == before
        assert ctx.index.listing_positions(ctx.name) == positions_before
        assert ctx.index.known_objects(ctx.name) == known_before
        return
    assert cached == {o.file_id: row_of(o) for o in walked}
    positions = ctx.index.listing_positions(ctx.name)
    assert list(positions) == [o.file_id for o in walked]
    assert all(a < b for a, b in pairwise(positions.values()))
    ids = {o.file_id for o in walked}
    assert set(ctx.index.known_objects(ctx.name)) <= ids
    assert not ctx.index.scoped.unlisted_among(ctx.name, ids)


def apply(ctx: MappingContext, server: RunningServer, cid: str, op: str, n: int,
          source: str) -> None:
    name = ctx.name
    cached = sorted(ctx.index.cached_rows(ctx.name))
    listed = server_walk(ctx, cid)
    pick = cached[n % len(cached)] if cached else None
    if op == "add":
        for i in range(1 + n % 3):
            server.store.add_container_file_stream(
                cid, path=f"/mnt/data/f{n}-{i}.txt", stream=io.BytesIO(b"x" * n),
                source=source, record_bytes=True)
    elif op == "delete" and listed:
        server.store.delete_container_file(cid, listed[n % len(listed)].file_id)
    elif op in ("list", "list-early", "list-dry"):
        check_full(ctx, cid, op)
    elif op == "incremental":
        observe(ctx, cid, incremental=True, dry_run=False)
    elif op == "stray-row":  # an upload of ours recorded as it landed, then gone
        with ctx.index.write() as tx:
            tx.add_remote_objects(name, [RemoteObject(f"cfile_stray{n}", "/mnt/data/s",
                                                      1, "user", 1)], listed=False)
    elif op == "unlisted-row" and listed:  # an upload of ours recorded before its listing
        with ctx.index.write() as tx:
            tx.add_remote_objects(name, [listed[n % len(listed)]], listed=False)
    elif op == "add-known" and listed:
        with ctx.index.write() as tx:
            tx.add_known(name, [(listed[n % len(listed)].file_id, f"k{n}")])
    elif op == "stray-known":
        with ctx.index.write() as tx:
            tx.add_known(name, [(f"cfile_gone{n}", f"k{n}")])
    elif op == "forget-known":
        known = sorted(ctx.index.known_objects(name))
        if known:
            with ctx.index.write() as tx:
                tx.remove_known(name, [known[n % len(known)]])
    elif pick is not None:
        row = ctx.index.cached_rows(name)[pick]
        with ctx.index.write() as tx:
            if op == "drop-row":
                tx.remove_remote_objects(name, [pick])
            elif op == "edit-row":
                tx.add_remote_objects(name, [RemoteObject(row[0], row[1] + ".old", row[2],
                                                          row[3], (row[4] or 0) + 1)])
            elif op == "move-row":
                tx.set_positions(name, [(pick, n)])


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, sources=st.lists(SOURCES, min_size=7, max_size=7))
def test_a_full_listing_leaves_the_cache_equal_to_it(
        local_server: RunningServer, ops: list[tuple[str, int]], sources: list[str]) -> None:
    with fresh_mapping(local_server) as (ctx, cid):
        apply(ctx, local_server, cid, "add", 2, sources[-1])  # three objects, listed
        check_full(ctx, cid, "list")
        for (op, n), source in zip(ops, sources, strict=False):
            apply(ctx, local_server, cid, op, n, source)
        check_full(ctx, cid, "list")
        check_full(ctx, cid, "list-early")  # unchanged: the same answer again
        check_full(ctx, cid, "list")
