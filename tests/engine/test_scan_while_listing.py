"""``sync`` loads its base and scans the tree while its full listing is under way
(``CycleOptions.scan_while_listing``, ``engine.ahead``). Each test runs with and without
it: the cycle must decide the same either way, when the listing fails half way, when the
container changes while it is listed, and when the listing shows a rival of a new file
the early scan left unhashed. Real backend over HTTP, real files, real SQLite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.remote import PendingListing
from containersync.errors import RemoteError
from containersync.localapi.embedded import RunningServer
from containersync.plan.hash_later import HASH_LATER_BYTES
from containersync.scan.ignore import TEMP_PREFIX
from support.backend import add_assistant_file, clear_faults, inject_fault
from support.contexts import mapping_context, old_tree
from support.scenario import remote_objects

#: three pages of 100: the listing is still under way after its first page
FILES = 250
LIST = r"/containers/[^/]+/files$"


#: an hour ago: the fixture's files are older than the racy window (``model.entry.RACY_NS``)


def now() -> datetime:
    return datetime.now(UTC)


def cid_of(ctx: MappingContext) -> str:
    state = ctx.index.mapping(ctx.name)
    assert state is not None and state.container_id is not None
    return state.container_id


@pytest.fixture(params=[False, True], ids=["listing-then-scan", "scan-while-listing"])
def ahead(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def synced(tmp_path: Path, local_server: RunningServer) -> Iterator[tuple[MappingContext, Path]]:
    root = tmp_path / "work"
    old_tree(root, FILES)
    with mapping_context(tmp_path, local_server.base_url, root) as ctx:
        assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": FILES}
        assert run_cycle(ctx, CycleOptions(), now=now).counts == {}
        yield ctx, root


def test_a_no_op_cycle_hashes_and_plans_nothing(
        synced: tuple[MappingContext, Path], ahead: bool) -> None:
    ctx, _ = synced
    report = run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    assert report.counts == {} and report.hashed == 0 and not report.plan.actions
    # the listing's requests count for the cycle, from whichever thread sent them: the
    # container's lookup and three pages (two from each end on a cold start: here warm)
    assert report.requests >= 1 + FILES // 100


def test_a_listing_that_fails_half_way_fails_the_cycle_before_anything_is_written(
        synced: tuple[MappingContext, Path], ahead: bool, local_server: RunningServer) -> None:
    ctx, root = synced
    (root / "d0" / "new.txt").write_text("new here\n")
    (root / "d1" / "f100.txt").write_text("edited here\n")
    leftover = root / "d0" / f"{TEMP_PREFIX}download"
    leftover.write_bytes(b"half a download")
    bases = ctx.index.bases(ctx.name)
    inject_fault(local_server, method="GET", path_regex=LIST, when="pass", times=1)
    inject_fault(local_server, method="GET", path_regex=LIST, status=400, times=100)
    with pytest.raises(RemoteError):
        run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    clear_faults(local_server)
    # nothing was sent, swept or recorded: the index and both sides are as they were
    assert len(remote_objects(local_server, cid_of(ctx))) == FILES
    assert leftover.exists()
    assert ctx.index.bases(ctx.name) == bases
    report = run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    assert report.counts == {"uploaded": 2}
    assert not leftover.exists()


def test_a_file_the_assistant_writes_while_the_container_is_listed_is_pulled(
        synced: tuple[MappingContext, Path], ahead: bool, local_server: RunningServer) -> None:
    ctx, root = synced
    (root / "d2" / "mine.txt").write_text("mine\n")
    inject_fault(local_server, method="GET", path_regex=LIST, when="pass", times=1)
    inject_fault(local_server, method="GET", path_regex=LIST, when="pass", times=1,
                 write={"path": "/mnt/data/d2/theirs.txt", "content": "theirs\n"})
    first = run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    clear_faults(local_server)
    second = run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    # seen by this listing or by the next one, never lost and never in conflict
    assert first.counts.get("uploaded") == 1
    assert first.counts.get("downloaded", 0) + second.counts.get("downloaded", 0) == 1
    assert (root / "d2" / "theirs.txt").read_text() == "theirs\n"
    assert run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now).counts == {}
    assert not [p for p in root.rglob("*") if "conflict" in p.name]


def test_a_big_new_file_with_a_rival_in_the_listing_is_hashed_before_it_is_compared(
        synced: tuple[MappingContext, Path], ahead: bool, local_server: RunningServer) -> None:
    """The early scan may leave a big new file unhashed (nothing is known of the
    listing yet); the listing shows the assistant wrote the same content at its path,
    so its digest is needed now: equal content, nothing to move, no conflict copy."""
    ctx, root = synced
    data = os.urandom(HASH_LATER_BYTES + 1)
    (root / "d0" / "big.bin").write_bytes(data)
    add_assistant_file(local_server, cid_of(ctx), "/mnt/data/d0/big.bin", data)
    report = run_cycle(ctx, CycleOptions(scan_while_listing=ahead), now=now)
    assert report.hashed == 1
    assert report.counts.get("uploaded", 0) == 0 and report.counts.get("conflicts", 0) == 0
    assert not [p for p in root.rglob("*") if "conflict" in p.name]


def test_closing_a_pending_listing_stops_it_at_its_next_object(
        synced: tuple[MappingContext, Path], local_server: RunningServer) -> None:
    ctx, _ = synced
    inject_fault(local_server, method="GET", path_regex=LIST, when="pass", delay_ms=300,
                 times=100)
    before = ctx.client.requests_made
    pending = PendingListing(ctx, cid_of(ctx))
    pending.close()
    clear_faults(local_server)
    # each walk (two ends: two) stops after the page it was waiting for, of 3 + 1
    assert ctx.client.requests_made - before <= 2
