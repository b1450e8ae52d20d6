"""The digest of the listing the cache holds is cleared by every write to the cache or
to the known objects, whatever stage makes it (``v007_listing_digest.sql``), and kept by
the writes a no-op cycle makes after its listing (its times, its summary, a touched
file's base): a set digest always describes what the cache holds, and an unchanged
listing finds it still set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from containersync.index import Index
from containersync.index.store import index_path
from containersync.index.write import WriteTx
from containersync.model.entry import BaseEntry, RemoteObject

A, B = "a", "b"
OBJ = RemoteObject("cfile_1", "/mnt/data/x.txt", 1_700_000_000, "user", 3)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with Index.open(index_path(tmp_path / "state")) as idx:
        with idx.write() as tx:
            for name in (A, B):
                tx.ensure_mapping(name)
                tx.add_remote_objects(name, [OBJ])
                tx.set_positions(name, [(OBJ.file_id, 16)])
                tx.add_known(name, [(OBJ.file_id, "x.txt")])
                tx.set_listing_digest(name, f"digest-{name}")
        yield idx


CLEARING: dict[str, Callable[[WriteTx], None]] = {
    "object cached": lambda tx: tx.add_remote_objects(
        A, [RemoteObject("cfile_2", "/mnt/data/y", 1, "assistant", 1)]),
    "upload cached unlisted": lambda tx: tx.add_remote_objects(A, [OBJ], listed=False),
    "object changed": lambda tx: tx.add_remote_objects(A, [replace(OBJ, bytes=4)]),
    "object removed": lambda tx: tx.remove_remote_objects(A, [OBJ.file_id]),
    "position moved": lambda tx: tx.set_positions(A, [(OBJ.file_id, 3)]),
    "position appended": lambda tx: tx.append_positions(A, [OBJ.file_id]),
    "known added": lambda tx: tx.add_known(A, [("cfile_9", "z")]),
    "known at a new path": lambda tx: tx.add_known(A, [(OBJ.file_id, "moved.txt")]),
    "known forgotten": lambda tx: tx.remove_known(A, [OBJ.file_id]),
}


@pytest.mark.parametrize("write", CLEARING.values(), ids=CLEARING.keys())
def test_a_write_to_the_cache_or_the_known_objects_clears_the_digest(
        index: Index, write: Callable[[WriteTx], None]) -> None:
    with index.write() as tx:
        write(tx)
    assert index.listing_digest(A) is None
    assert index.listing_digest(B) == "digest-b"  # another mapping's is its own


def test_what_a_no_op_cycle_writes_after_its_listing_keeps_the_digest(index: Index) -> None:
    with index.write() as tx:
        tx.set_times(A, last_full_list=1.0, last_pull=2.0)
        tx.set_summary(A, {"converged": True})
        tx.put_bases(A, [BaseEntry(path="x.txt", size=3, mtime_ns=5, sha256="ab" * 32,
                                   remote_id=OBJ.file_id, remote_path=OBJ.remote_path,
                                   remote_created_at=OBJ.created_at, source="user")])
        tx.mark_listed(A)  # every row is listed already: no row changes
        # a finished decision at a path whose objects are known already: every no-op
        # cycle knows them again (a conflict's losing version, say)
        tx.add_known(A, [(OBJ.file_id, "x.txt")])
    assert index.listing_digest(A) == "digest-a"
    assert index.known_objects(A) == {OBJ.file_id: "x.txt"}


def test_a_new_container_clears_the_digest(index: Index) -> None:
    with index.write() as tx:
        tx.attach_container(A, "cntr_new", None, adopted=False)
    assert index.listing_digest(A) is None


def test_a_new_container_clears_the_digest_of_an_empty_cache(index: Index) -> None:
    with index.write() as tx:
        tx.remove_remote_objects(A, [OBJ.file_id])
        tx.remove_known(A, [OBJ.file_id])
        tx.set_listing_digest(A, "digest-of-an-empty-listing")
        tx.attach_container(A, "cntr_new", None, adopted=False)
    assert index.listing_digest(A) is None
