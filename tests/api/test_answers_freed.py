"""The client's answers are freed as soon as they are read, not left for the collector.

httpx links each ``Response`` to its stream and the stream back to the response: without
help, every answer (its headers, request, connection streams and the body it holds, ~30 KB
for a listing page) is reference-cyclic garbage, freed only when the cyclic collector runs.
A full cycle would then have to keep the collector running while it lists, and the
collector walks every object the cycle holds (the base, the scan, the listing) each time.
Counted with the collector off and ``DEBUG_SAVEALL``: how many ``httpx.Response`` objects
a collection finds unreachable afterwards (the server runs in this process too; its
objects are not httpx responses).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from containersync.api import ContainersClient, ContainerSpec

FILES = 25
PAGE = 5


@contextmanager
def collector_off() -> Iterator[Callable[[], int]]:
    """The collector off for the block; the callable collects and counts the httpx
    responses found unreachable since the block began."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()

    def responses_left() -> int:
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            return sum(1 for o in gc.garbage if isinstance(o, httpx.Response))
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    try:
        yield responses_left
    finally:
        if was:
            gc.enable()


def _filled(client: ContainersClient, tmp_path: Path) -> str:
    box = client.create_container(ContainerSpec(name="answers-freed"))
    source = tmp_path / "f.txt"
    source.write_bytes(b"x")
    for i in range(FILES):
        client.upload_file(box.id, source, remote_path=f"/mnt/data/f{i:03}.txt")
    return box.id


def test_a_listing_leaves_no_answer_for_the_collector(local_client: ContainersClient,
                                                      tmp_path: Path) -> None:
    cid = _filled(local_client, tmp_path)
    with collector_off() as responses_left:
        listed = list(local_client.list_files(cid, order="asc", page_size=PAGE))
        left = responses_left()
    assert len(listed) == FILES  # 5 pages
    assert left == 0


def test_a_streamed_answer_is_freed_too(local_client: ContainersClient,
                                        tmp_path: Path) -> None:
    """A download (the client reads the answer as a stream, chunk by chunk)."""
    cid = _filled(local_client, tmp_path)
    fid = next(iter(local_client.list_files(cid))).id
    with collector_off() as responses_left:
        digest = local_client.file_sha256(cid, fid)
        left = responses_left()
    assert digest == hashlib.sha256(b"x").hexdigest()
    assert left == 0
