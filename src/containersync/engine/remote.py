"""Listing the container: a full listing, or an incremental one for cheap idle pulls.

A full listing sees deletions and replaces the index's cache of the listing. An incremental
listing reads newest first and stops at the first object already known, so an idle pull
costs one request whatever the tree size; it cannot see deletions, which the next full
listing will.
"""

from __future__ import annotations

from containersync.api.wire import ContainerFile
from containersync.engine.context import MappingContext
from containersync.model.entry import RemoteObject


def to_object(f: ContainerFile) -> RemoteObject:
    return RemoteObject(f.id, f.path, f.created_at, f.source, f.bytes)


def list_full(ctx: MappingContext, container_id: str) -> list[RemoteObject]:
    return [to_object(f) for f in ctx.client.list_files(container_id, order="asc")]


def list_new(ctx: MappingContext, container_id: str, known: set[str]) -> list[RemoteObject]:
    """Objects newer than the newest one already known (newest first until a known id)."""
    fresh: list[RemoteObject] = []
    for f in ctx.client.list_files(container_id, order="desc", page_size=20):
        if f.id in known:
            break
        fresh.append(to_object(f))
    return fresh


def list_incremental(ctx: MappingContext, container_id: str) -> tuple[list[RemoteObject], int]:
    """The cached listing plus what is new; returns (objects, number of new objects)."""
    cached = ctx.index.remote_cache(ctx.name)
    fresh = list_new(ctx, container_id, {o.file_id for o in cached})
    return cached + fresh, len(fresh)
