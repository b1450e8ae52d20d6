"""``api.deliver``: requests go straight to the transport, and what a user reads of an
answer or a failure is what ``httpx.Client.send`` gave.

Against the real local backend over loopback HTTP, and a real refused connection (a port
nothing listens on)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.errors import TransientError
from support.daemon_harness import free_port


def test_a_refused_connection_names_the_request_it_failed() -> None:
    # the failure comes from the transport, below ``Client.send``: the error must still
    # say which request failed (it said nothing, or crashed, when ``.request`` was unset)
    api = ContainersClient(httpx.Client(base_url=f"http://127.0.0.1:{free_port()}/v1/"),
                           max_retries=0, sleep=lambda _s: None)
    with api, pytest.raises(TransientError) as caught:
        api.retrieve_container("cntr_x")
    assert str(caught.value).startswith("GET /v1/containers/cntr_x: ConnectError")


def test_an_upload_and_its_download_carry_the_same_bytes(local_server: object,
                                                         tmp_path: Path) -> None:
    base = local_server.base_url  # type: ignore[attr-defined]
    with ContainersClient.connect(base, None) as api:
        made = api.create_container(ContainerSpec(name="deliver"))
        source = tmp_path / "a.bin"
        source.write_bytes(b"x" * 300_000)
        sent = api.send_file(made.id, source, remote_path="/mnt/data/a.bin")
        assert [f.path for f in api.list_files(made.id)] == ["/mnt/data/a.bin"]
        assert api.file_sha256(made.id, sent.obj.id) == sent.sha256


def test_a_client_that_uses_a_layer_of_client_send_is_sent_through_it(
        local_server: object) -> None:
    # hooks (and auth, redirects, a password in the URL) live in ``Client.send``: a client
    # given one is sent through it, so the hook still sees every request
    seen: list[str] = []
    http = httpx.Client(base_url=local_server.base_url + "/",  # type: ignore[attr-defined]
                        event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    with ContainersClient(http) as api:
        made = api.create_container(ContainerSpec(name="hooked"))
        api.retrieve_container(made.id)
    assert seen[-1] == f"/v1/containers/{made.id}"


def test_a_closed_client_sends_nothing(local_server: object) -> None:
    # httpx's own pool would open a new connection after its close: the client's state
    # is checked first, as ``Client.send`` does
    base = local_server.base_url  # type: ignore[attr-defined]
    api = ContainersClient(httpx.Client(base_url=base + "/"))
    api.close()
    with pytest.raises(RuntimeError, match="closed"):
        api.retrieve_container("cntr_x")
