"""An id is one segment of a request's path, whatever a server's answer said it was.

The ids the client puts in a URL come from answers (a listing's file ids, a container's
id): a server, or anything between it and us, that hands out ``../../<other container>
/files/<its file>`` as an id must not turn our delete of "this container's superseded
upload" into a delete in another container (httpx resolves dot segments against the base
URL), nor ``x?y`` into a request with a query. Over the real local backend: container B's
file is addressed through container A with such ids; the id is passed as a listing of A
would hand it out (the backend makes its own ids, so the hostile one is given directly).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.errors import ContainerSyncError, Rejected


def _two_containers(client: ContainersClient, tmp_path: Path) -> tuple[str, str, str]:
    a = client.create_container(ContainerSpec(name="ids-a")).id
    b = client.create_container(ContainerSpec(name="ids-b")).id
    source = tmp_path / "keep.txt"
    source.write_bytes(b"B's file")
    fid = client.upload_file(b, source, remote_path="/mnt/data/keep.txt").id
    return a, b, fid


def test_a_file_id_with_dot_segments_does_not_reach_another_container(
        local_client: ContainersClient, tmp_path: Path) -> None:
    a, b, fid = _two_containers(local_client, tmp_path)
    hostile = f"../../{b}/files/{fid}"
    with pytest.raises(ContainerSyncError):
        local_client.delete_file(a, hostile)
    with pytest.raises(ContainerSyncError):
        local_client.download_file(a, hostile, io.BytesIO())
    with pytest.raises(ContainerSyncError):
        local_client.retrieve_file(a, hostile)
    assert [f.id for f in local_client.list_files(b)] == [fid]  # B's file is still there


def test_a_container_id_with_dot_segments_names_no_other_route(
        local_client: ContainersClient, tmp_path: Path) -> None:
    a, b, fid = _two_containers(local_client, tmp_path)
    # "containers/<a>/files/../../<b>" resolves to "containers/<b>": deleting the container
    # that id names must not delete container B
    with pytest.raises(ContainerSyncError):
        local_client.delete_container(f"{a}/files/../../{b}")
    assert [f.id for f in local_client.list_files(b)] == [fid]


def test_a_file_id_holding_a_query_is_not_cut_at_it(
        local_client: ContainersClient, tmp_path: Path) -> None:
    _, b, fid = _two_containers(local_client, tmp_path)
    with pytest.raises(ContainerSyncError):
        local_client.retrieve_file(b, f"{fid}?x=1")
    assert local_client.retrieve_file(b, fid).id == fid  # the real id still works


@pytest.mark.parametrize("fid", ["..", "."])
def test_a_file_id_of_dots_does_not_name_its_container(
        local_client: ContainersClient, tmp_path: Path, fid: str) -> None:
    """``containers/<a>/files/..`` resolves to ``containers/<a>``: a delete of that "file"
    was a delete of the whole container."""
    a, _, _ = _two_containers(local_client, tmp_path)
    kept = tmp_path / "in-a.txt"
    kept.write_bytes(b"A's file")
    mine = local_client.upload_file(a, kept, remote_path="/mnt/data/in-a.txt").id
    with pytest.raises(ContainerSyncError):
        local_client.delete_file(a, fid)
    assert local_client.retrieve_container(a).status == "running"
    assert [f.id for f in local_client.list_files(a)] == [mine]


def test_an_empty_id_is_refused_before_anything_is_sent(
        local_client: ContainersClient, tmp_path: Path) -> None:
    """``containers/<a>/files/`` is the listing's route, not a file's."""
    a, _, _ = _two_containers(local_client, tmp_path)
    sent = local_client.requests_made
    with pytest.raises(Rejected):
        local_client.delete_file(a, "")
    with pytest.raises(Rejected):
        local_client.delete_container("")
    assert local_client.requests_made == sent
