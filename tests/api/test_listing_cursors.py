"""Paging survives the deletion of the object its cursor names.

A listing pages with ``after=<last id of the page before>``. When that object is deleted
between two pages (a user or the assistant deleting files while the daemon lists), the
local backend answers 400 ``invalid_cursor`` for the next page; the live service's answer
is undocumented. Either way the listing must go on after an earlier object of the same
page, without repeating or losing anything.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.api.client import cursor_gone
from containersync.errors import Rejected, RemoteError


def fill(client: ContainersClient, cid: str, tmp_path: Path, count: int) -> list[str]:
    source = tmp_path / "f.txt"
    source.write_bytes(b"x")
    return [client.upload_file(cid, source, remote_path=f"/mnt/data/f{i:03}.txt").id
            for i in range(count)]


def test_the_local_backend_refuses_a_deleted_cursor(local_client: ContainersClient,
                                                    tmp_path: Path) -> None:
    box = local_client.create_container(_spec())
    ids = fill(local_client, box.id, tmp_path, 3)
    local_client.delete_file(box.id, ids[1])
    with pytest.raises(Rejected) as caught:
        list(local_client.list_files(box.id, order="asc", after=ids[1]))
    assert caught.value.param == "after"


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paging_goes_on_when_the_cursor_object_is_deleted(
        local_client: ContainersClient, tmp_path: Path, order: str) -> None:
    box = local_client.create_container(_spec())
    ids = fill(local_client, box.id, tmp_path, 10)
    expected = ids if order == "asc" else ids[::-1]
    listed = local_client.list_files(box.id, order=order, page_size=4)
    first = [f.id for f in islice(listed, 4)]  # exactly one page
    assert first == expected[:4]
    local_client.delete_file(box.id, first[-1])  # the next page's cursor

    assert [f.id for f in listed] == expected[4:]


def test_paging_goes_back_further_when_the_page_tail_is_deleted(
        local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(_spec())
    ids = fill(local_client, box.id, tmp_path, 12)
    listed = local_client.list_files(box.id, order="asc", page_size=5)
    first = [f.id for f in islice(listed, 5)]
    for fid in first[1:]:  # all but the first object of the page
        local_client.delete_file(box.id, fid)
    before = local_client.requests_made

    assert [f.id for f in listed] == ids[5:]
    assert local_client.requests_made - before <= 2 + 4  # two pages, a few tries back


def test_paging_gives_up_when_the_whole_page_is_gone(local_client: ContainersClient,
                                                     tmp_path: Path) -> None:
    box = local_client.create_container(_spec())
    fill(local_client, box.id, tmp_path, 6)
    listed = local_client.list_files(box.id, order="asc", page_size=3)
    first = [f.id for f in islice(listed, 3)]
    for fid in first:
        local_client.delete_file(box.id, fid)
    with pytest.raises(Rejected):
        list(listed)


def _spec() -> ContainerSpec:
    return ContainerSpec(name="cursors")


def test_a_deleted_cursor_gets_an_answer_the_listing_handles(
        client: ContainersClient, new_container: Any, tmp_path: Path) -> None:
    """Also run against the live service (opt-in), whose answer is undocumented: an error
    ``cursor_gone`` recognises, or the objects after the deleted one's place. An empty
    answer would end a walk early (docs/live-service.md)."""
    box = new_container()
    ids = fill(client, box.id, tmp_path, 3)
    client.delete_file(box.id, ids[1])
    try:
        after = [f.id for f in client.list_files(box.id, order="asc", after=ids[1])]
    except RemoteError as exc:
        assert cursor_gone(exc), exc
    else:
        assert after == [ids[2]]
