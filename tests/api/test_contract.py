"""Contract suite for ContainersClient: every method over real HTTP.

Runs against the local backend on a loopback port; the same tests run against the live
service when opted in (``-m live`` with CONTAINERSYNC_LIVE=1 and OPENAI_API_KEY). Tests
that need the local backend's clock or admin routes use the ``local`` fixture instead.
"""

from __future__ import annotations

import hashlib
import io
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import pytest

from containersync.api import ContainersClient, ContainerSpec, FileObject
from containersync.errors import (
    ContainerExpired,
    ContainerNotFound,
    Rejected,
    RemoteFileGone,
)

UNKNOWN_CONTAINER = "cntr_" + "0" * 48
UNKNOWN_FILE = "cfile_" + "0" * 32


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def landed_at(path: str, remote_path: str, filename: str) -> bool:
    """The server honoured the requested path, or chose its own ``<hex>-<filename>``."""
    return path == remote_path or path.endswith("-" + filename)


def test_container_lifecycle(client: ContainersClient, new_container: Any) -> None:
    made = new_container(expires_after_minutes=20, memory_limit="1g",
                         network_policy={"type": "disabled"})
    assert made.id.startswith("cntr_")
    assert made.expires_after is not None and made.expires_after.minutes == 20
    assert made.memory_limit == "1g"

    again = client.retrieve_container(made.id)
    assert (again.id, again.name, again.created_at) == (made.id, made.name, made.created_at)
    assert isinstance(again.status, str) and again.status

    assert [c.id for c in client.list_containers(name=made.name)] == [made.id]

    client.delete_container(made.id)
    with pytest.raises(ContainerNotFound) as caught:
        client.retrieve_container(made.id)
    assert caught.value.container_id == made.id


def test_file_lifecycle(client: ContainersClient, new_container: Any, tmp_path: Path) -> None:
    box = new_container()
    data = b"print('hello')\n" * 100
    source = write(tmp_path, "script.py", data)

    uploaded = client.upload_file(box.id, source, remote_path="/mnt/data/tools/script.py")
    assert uploaded.container_id == box.id
    assert uploaded.bytes == len(data)
    assert uploaded.source == "user"
    assert landed_at(uploaded.path, "/mnt/data/tools/script.py", "script.py")

    assert client.retrieve_file(box.id, uploaded.id).id == uploaded.id
    assert [f.id for f in client.list_files(box.id)] == [uploaded.id]

    sink = io.BytesIO(b"stale bytes that must disappear")
    written, sha = client.download_file(box.id, uploaded.id, sink)
    assert (written, sha) == (len(data), hashlib.sha256(data).hexdigest())
    assert sink.getvalue() == data

    client.delete_file(box.id, uploaded.id)
    with pytest.raises(RemoteFileGone):
        client.retrieve_file(box.id, uploaded.id)
    assert list(client.list_files(box.id)) == []


def test_upload_without_path_uses_filename(client: ContainersClient, new_container: Any,
                                           tmp_path: Path) -> None:
    box = new_container()
    source = write(tmp_path, "local-name.bin", b"\x00\x01\x02")
    obj = client.upload_file(box.id, source, filename="report.csv")
    assert obj.path.endswith("report.csv")
    assert obj.bytes == 3


def test_copy_file_from_files_api(client: ContainersClient, backend: Any,
                                  new_container: Any) -> None:
    box = new_container()
    # The client has no Files API upload; the test makes the Files API object by hand.
    headers = {"Authorization": f"Bearer {backend.api_key}"} if backend.api_key else {}
    made = httpx.post(f"{backend.base_url}/files", headers=headers, timeout=30,
                      data={"purpose": "assistants"},
                      files={"file": ("data.csv", b"a,b\n1,2\n", "text/csv")})
    made.raise_for_status()
    file_object = FileObject.decode(made.json())

    copied = client.copy_file(box.id, file_object.id)
    assert copied.container_id == box.id
    assert copied.path.endswith("data.csv")
    sink = io.BytesIO()
    client.download_file(box.id, copied.id, sink)
    assert sink.getvalue() == b"a,b\n1,2\n"


def test_pagination_over_more_than_a_page(client: ContainersClient, new_container: Any,
                                          tmp_path: Path) -> None:
    box = new_container()
    source = write(tmp_path, "f.txt", b"x")
    uploaded = [client.upload_file(box.id, source, remote_path=f"/mnt/data/f{i:03}.txt").id
                for i in range(105)]

    before = client.requests_made
    newest_first = [f.id for f in client.list_files(box.id)]
    assert client.requests_made - before == 2  # 100 + 5
    assert sorted(newest_first) == sorted(uploaded)
    assert len(set(newest_first)) == 105

    oldest_first = [f.id for f in client.list_files(box.id, order="asc", page_size=7)]
    assert oldest_first == newest_first[::-1]
    assert oldest_first == uploaded  # created in this order

    after_tenth = list(client.list_files(box.id, order="asc", page_size=50,
                                         after=oldest_first[9]))
    assert [f.id for f in after_tenth] == oldest_first[10:]


def test_list_files_can_stop_early(client: ContainersClient, new_container: Any,
                                   tmp_path: Path) -> None:
    box = new_container()
    source = write(tmp_path, "g.txt", b"y")
    for i in range(12):
        client.upload_file(box.id, source, remote_path=f"/mnt/data/g{i}.txt")

    before = client.requests_made
    first_three = list(islice(client.list_files(box.id, page_size=5), 3))
    assert len(first_three) == 3
    assert client.requests_made - before == 1  # no page fetched beyond what was consumed


def test_unknown_ids(client: ContainersClient, new_container: Any) -> None:
    with pytest.raises(ContainerNotFound) as caught:
        client.retrieve_container(UNKNOWN_CONTAINER)
    assert caught.value.container_id == UNKNOWN_CONTAINER
    with pytest.raises(ContainerNotFound):
        list(client.list_files(UNKNOWN_CONTAINER))

    box = new_container()
    with pytest.raises(RemoteFileGone):
        client.retrieve_file(box.id, UNKNOWN_FILE)
    with pytest.raises(RemoteFileGone):
        client.download_file(box.id, UNKNOWN_FILE, io.BytesIO())


def test_bad_requests_are_rejected_with_param_and_code(client: ContainersClient) -> None:
    with pytest.raises(Rejected) as caught:
        client.create_container(ContainerSpec(name="too-long-lived", expires_after_minutes=10_000))
    assert caught.value.status == 400
    assert caught.value.param is not None and "minutes" in caught.value.param

    with pytest.raises(Rejected) as caught:
        next(client.list_containers(page_size=1000))
    assert (caught.value.param, caught.value.code) == ("limit", "integer_above_max_value")


def test_expired_container(local: Any, local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="short", expires_after_minutes=1))
    obj = local_client.upload_file(box.id, write(tmp_path, "a.txt", b"a"))

    local.advance_clock(120)

    assert local_client.retrieve_container(box.id).status == "expired"
    with pytest.raises(ContainerExpired) as caught:
        list(local_client.list_files(box.id))
    assert caught.value.container_id == box.id
    with pytest.raises(ContainerExpired):
        local_client.download_file(box.id, obj.id, io.BytesIO())
    with pytest.raises(ContainerExpired):
        local_client.upload_file(box.id, write(tmp_path, "b.txt", b"b"))


def test_assistant_files_with_null_bytes_parse(local: Any, local_client: ContainersClient) -> None:
    box = local_client.create_container(ContainerSpec(name="assistant-wrote"))
    wrote = httpx.post(  # the local backend's "code in the sandbox wrote a file" route
        f"{local.server.root_url}/_local/containers/{box.id}/files", timeout=10,
        data={"path": "/mnt/data/chart.png"}, files={"file": ("chart.png", b"png")})
    wrote.raise_for_status()

    [obj] = local_client.list_files(box.id)
    assert obj.bytes is None
    assert obj.source == "assistant"
    assert obj.path == "/mnt/data/chart.png"
