"""Retries and look-before-create, driven by the local backend's fault injection.

Every failure here is produced by the real server (``POST /_local/faults``); the client's
``sleep`` is a recorder, so no test waits for a backoff.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.errors import Rejected, TransientError
from containersync.localapi.embedded import start_server


def test_503_before_processing_is_retried(local: Any, local_client: ContainersClient,
                                          sleeps: Any) -> None:
    local.fault(method="GET", path_regex=r"^/v1/containers$", status=503, times=2)
    before = local_client.requests_made

    assert list(local_client.list_containers()) == []
    assert local_client.requests_made - before == 3
    assert len(sleeps.delays) == 2
    # capped exponential backoff with at most 25 % jitter: 0.5 then 1.0
    assert 0.375 <= sleeps.delays[0] <= 0.5
    assert 0.75 <= sleeps.delays[1] <= 1.0


def test_429_retry_after_ms_is_honoured(local: Any, local_client: ContainersClient,
                                        sleeps: Any) -> None:
    local.fault(method="GET", path_regex=r"^/v1/containers$", status=429, times=1,
                retry_after_ms=1500)
    assert list(local_client.list_containers()) == []
    assert sleeps.delays == [1.5]


def test_retries_run_out_into_transient_error(local: Any, sleeps: Any) -> None:
    local.fault(method="GET", path_regex=r"^/v1/containers$", status=502, times=10)
    with ContainersClient.connect(local.base_url, None, max_retries=2, sleep=sleeps) as api:
        with pytest.raises(TransientError) as caught:
            list(api.list_containers())
        assert api.requests_made == 3
    assert caught.value.status == 502
    assert len(sleeps.delays) == 2


def test_should_retry_header_overrides_the_status(local: Any, local_client: ContainersClient,
                                                  sleeps: Any) -> None:
    local.fault(method="GET", path_regex=r"^/v1/containers$", status=503, times=1,
                headers={"x-should-retry": "false"})
    with pytest.raises(TransientError):
        list(local_client.list_containers())
    assert sleeps.delays == []

    local.fault(method="GET", path_regex=r"^/v1/containers$", status=400, times=1,
                headers={"x-should-retry": "true"})
    assert list(local_client.list_containers()) == []
    assert len(sleeps.delays) == 1


def test_4xx_is_not_retried(local: Any, local_client: ContainersClient, sleeps: Any) -> None:
    local.fault(method="GET", path_regex=r"^/v1/containers$", status=400, times=5)
    with pytest.raises(Rejected):
        list(local_client.list_containers())
    assert local_client.requests_made == 1
    assert sleeps.delays == []


def test_create_after_ambiguous_failure_leaves_one_container(
        local: Any, local_client: ContainersClient) -> None:
    existing = local_client.create_container(ContainerSpec(name="work"))
    local.fault(method="POST", path_regex=r"^/v1/containers$", status=500, times=1,
                when="after")

    made = local_client.create_container(ContainerSpec(name="work", memory_limit="4g"))

    assert made.id != existing.id
    assert made.memory_limit == "4g"
    assert sorted(c.id for c in local_client.list_containers(name="work")) == sorted(
        [existing.id, made.id])


def test_create_after_failure_before_processing_creates_once(
        local: Any, local_client: ContainersClient) -> None:
    local.fault(method="POST", path_regex=r"^/v1/containers$", status=503, times=1)
    made = local_client.create_container(ContainerSpec(name="solo"))
    assert [c.id for c in local_client.list_containers(name="solo")] == [made.id]


def test_upload_after_ambiguous_failure_leaves_one_file(
        local: Any, local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="files"))
    source = tmp_path / "notes.txt"
    source.write_bytes(b"v1 of the notes\n")
    older = local_client.upload_file(box.id, source, remote_path="/mnt/data/notes.txt")
    source.write_bytes(b"v2 of the notes\n")  # same size, other content: must not be adopted
    local.fault(method="POST", path_regex=r"/files$", status=502, times=1, when="after")

    adopted = local_client.upload_file(box.id, source, remote_path="/mnt/data/notes.txt")

    assert adopted.id != older.id
    files = list(local_client.list_files(box.id))
    assert sorted(f.id for f in files) == sorted([older.id, adopted.id])
    sink = io.BytesIO()
    local_client.download_file(box.id, adopted.id, sink)
    assert sink.getvalue() == b"v2 of the notes\n"


def test_upload_adoption_when_server_chooses_paths(tmp_path: Path, sleeps: Any) -> None:
    with start_server(tmp_path / "srv", assign_paths=True) as server, \
            ContainersClient.connect(server.base_url, None, sleep=sleeps) as api:
        box = api.create_container(ContainerSpec(name="live-like"))
        source = tmp_path / "data.csv"
        source.write_bytes(b"a,b\n1,2\n")
        httpx.post(f"{server.root_url}/_local/faults", timeout=10, json={
            "method": "POST", "path_regex": "/files$", "status": 504, "when": "after"},
        ).raise_for_status()

        obj = api.upload_file(box.id, source, remote_path="/mnt/data/data.csv")

        assert obj.path.endswith("-data.csv")
        assert [f.id for f in api.list_files(box.id)] == [obj.id]


def test_upload_failing_before_processing_is_sent_again_once(
        local: Any, local_client: ContainersClient, tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="again"))
    source = tmp_path / "x.txt"
    source.write_bytes(b"x" * 1000)
    local.fault(method="POST", path_regex=r"/files$", status=503, times=2)

    obj = local_client.upload_file(box.id, source, remote_path="/mnt/data/x.txt")

    assert [f.id for f in local_client.list_files(box.id)] == [obj.id]
    assert obj.bytes == 1000


def test_download_retry_starts_over(local: Any, local_client: ContainersClient,
                                    tmp_path: Path) -> None:
    box = local_client.create_container(ContainerSpec(name="dl"))
    source = tmp_path / "blob.bin"
    source.write_bytes(bytes(range(256)) * 64)
    obj = local_client.upload_file(box.id, source)
    local.fault(method="GET", path_regex=r"/content$", status=503, times=1)

    sink = io.BytesIO(b"garbage from an earlier attempt" * 1000)
    written, _ = local_client.download_file(box.id, obj.id, sink)
    assert written == source.stat().st_size
    assert sink.getvalue() == source.read_bytes()


def test_upload_recovery_adopts_what_was_sent_when_the_file_changed_since(
        local: Any, tmp_path: Path, sleeps: Any) -> None:
    """The user saves the file again between the failed attempt and the look that follows.
    The look must find the object with the content that was sent (the planned digest), not
    hash the file as it is now, miss, and upload a second object nobody records.

    The save is made by an httpx request hook (httpx's own API) on the recovery listing, so
    it happens exactly between the two; the server and the failure are real."""
    source = tmp_path / "notes.txt"
    source.write_bytes(b"as planned\n")
    planned = hashlib.sha256(b"as planned\n").hexdigest()
    saves: list[str] = []

    def user_saves_again(request: httpx.Request) -> None:
        if request.method == "GET" and request.url.path.endswith("/files") and not saves:
            source.write_bytes(b"saved again\n")  # same size: only the digest tells them apart
            saves.append(str(request.url))

    http = httpx.Client(base_url=local.base_url.rstrip("/") + "/", timeout=10,
                        event_hooks={"request": [user_saves_again]})
    with ContainersClient(http, sleep=sleeps) as api:
        box = api.create_container(ContainerSpec(name="changed-meanwhile"))
        local.fault(method="POST", path_regex=r"/files$", status=502, times=1, when="after")

        obj = api.upload_file(box.id, source, remote_path="/mnt/data/notes.txt",
                              expect_sha256=planned)

        assert saves, "the recovery listing ran"
        assert [f.id for f in api.list_files(box.id)] == [obj.id]  # no second upload
        assert api.file_sha256(box.id, obj.id) == planned
