"""A sync keeps each cached object's listing position, and the next full listing is cut
into segments from them (issue 9): the index round trip behind ``api.segmented``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from containersync.api.segmented import MIN_SEGMENT, Stats
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.remote import list_full
from containersync.localapi.embedded import RunningServer
from support.contexts import mapping_context

FILES = 2 * MIN_SEGMENT + 50  # enough for two segments


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def box(local_server: RunningServer) -> str:
    cid = str(local_server.store.create_container({"name": "positions"})["id"])
    for i in range(FILES):  # foreign objects: listed, never pulled
        local_server.store.add_container_file_stream(
            cid, path=f"/mnt/data/u{i:04d}.txt", stream=io.BytesIO(b"u"), source="user",
            record_bytes=True)
    return cid


@pytest.fixture
def ctx(tmp_path: Path, local_server: RunningServer, box: str) -> Iterator[MappingContext]:
    root = tmp_path / "work"
    root.mkdir()
    with mapping_context(tmp_path, local_server.base_url, root,
                         extra=f'[mappings.container]\nid = "{box}"\n') as ctx:
        yield ctx


def walk(ctx: MappingContext, cid: str) -> list[str]:
    return [f.id for f in ctx.client.list_files(cid, order="asc")]


def test_a_sync_stores_positions_and_the_next_listing_uses_them(
        ctx: MappingContext, local_server: RunningServer, box: str) -> None:
    run_cycle(ctx, CycleOptions(), now=now)
    positions = ctx.index.listing_positions(ctx.name)
    order = walk(ctx, box)
    assert list(positions) == order  # every listed object, in the server's order
    assert all(a < b for a, b in pairwise(positions.values()))

    gone = order[:3] + order[FILES // 2 + 5:FILES // 2 + 7]  # not the cursor object
    for fid in gone:
        local_server.store.delete_container_file(box, fid)
    local_server.store.add_container_file_stream(
        box, path="/mnt/data/new.txt", stream=io.BytesIO(b"n"), source="user",
        record_bytes=True)
    stats = Stats()
    before = ctx.client.requests_made
    listed = list_full(ctx, box, stats=stats)
    pages = ctx.client.requests_made - before
    assert [o.file_id for o in listed] == walk(ctx, box)
    assert stats.segments == 2 and stats.absorbed == 0
    assert pages <= FILES // 100 + 1 + stats.segments

    run_cycle(ctx, CycleOptions(), now=now)
    after = ctx.index.listing_positions(ctx.name)
    assert list(after) == walk(ctx, box)
    kept = {fid: p for fid, p in positions.items() if fid not in gone}
    assert {fid: after[fid] for fid in kept} == kept  # survivors keep their place: no rewrite
