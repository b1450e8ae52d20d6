"""A large new file with nothing to compare it with is read once: hashed while uploaded.

``files_hashed`` counts the scan's hashing reads; the upload's own read is the only other
one (``tests/execute/test_upload_digest.py`` counts its bytes). Where the planner needs a
digest first (a remote object at the path, a vanished tracked file of the same size that
may be its old name) the file is still hashed before deciding.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from containersync.index.store import Index
from containersync.plan.hash_later import HASH_LATER_BYTES
from support.backend import add_assistant_file, inject_fault
from support.scenario import World, counts

BIG = HASH_LATER_BYTES + 12345


def _base_sha(world: World, rel: str) -> str:
    with Index.open(world.index_file) as index:
        return index.bases(world.key)[rel].sha256


def test_a_new_large_file_is_hashed_by_its_upload_not_by_the_scan(
        local_server, tmp_path: Path) -> None:
    world = World(local_server, tmp_path)
    content = os.urandom(BIG)
    (world.root / "big.bin").write_bytes(content)
    (world.root / "small.txt").write_text("small\n")
    world.age()  # older than the racy window: the second sync trusts both stats
    first = world.sync()
    assert (first.code, first.counts) == (0, counts(uploaded=2)), first.err
    assert first.m["files_hashed"] == 1  # the small one; the big one only by its upload
    assert _base_sha(world, "big.bin") == hashlib.sha256(content).hexdigest()
    assert world.remote() == world.local()
    again = world.sync()
    assert (again.code, again.counts, again.m["files_hashed"]) == (0, counts(), 0)


def test_a_large_new_file_with_the_same_content_remotely_is_compared_first(
        local_server, tmp_path: Path) -> None:
    world = World(local_server, tmp_path)
    world.sync()  # the container
    content = os.urandom(BIG)
    add_assistant_file(local_server, world.cid, "/mnt/data/big.bin", content, record_bytes=True)
    (world.root / "big.bin").write_bytes(content)
    result = world.sync()
    assert result.code == 0, result.err
    assert result.counts == counts()  # same content on both sides: no conflict, no upload
    assert result.m["files_hashed"] == 1
    assert _base_sha(world, "big.bin") == hashlib.sha256(content).hexdigest()


def test_renaming_a_large_tracked_file_is_still_a_rename(local_server, tmp_path: Path) -> None:
    """The new name has no base, but a tracked file of its size vanished: it is hashed
    first, so the deletion of the old name pairs with it (the deletion rail ignores it)."""
    world = World(local_server, tmp_path)
    (world.root / "a.bin").write_bytes(os.urandom(BIG))
    (world.root / "keep.txt").write_text("keep\n")
    world.age()  # older than the racy window: keep.txt's stat is trusted
    assert world.sync().code == 0
    (world.root / "a.bin").rename(world.root / "b.bin")
    result = world.sync()
    assert result.m["files_hashed"] == 1
    assert (result.code, result.counts) == (0, counts(uploaded=1, deleted_remote=1)), result.err
    assert world.remote() == world.local()


def test_an_ambiguous_failure_of_an_unhashed_upload_adopts_what_was_sent(
        local_server, tmp_path: Path) -> None:
    """The server stored the file, then answered 500: no digest was planned, so recovery
    proves the object ours with the digest of the bytes the failed attempt read whole."""
    world = World(local_server, tmp_path)
    world.sync()  # the container
    content = os.urandom(BIG)
    (world.root / "big.bin").write_bytes(content)
    inject_fault(local_server, method="POST", path_regex=r"/files$", status=500, times=1,
                 when="after")
    result = world.sync()
    assert (result.code, result.counts) == (0, counts(uploaded=1)), result.err
    assert result.m["files_hashed"] == 0
    big = [o for o in world.objects() if o["path"].endswith("big.bin")]
    assert len(big) == 1  # adopted, not uploaded twice
    assert _base_sha(world, "big.bin") == hashlib.sha256(content).hexdigest()
    assert world.remote() == world.local()
