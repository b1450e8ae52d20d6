"""Protocol corner cases the local backend cannot produce, over ``httpx.MockTransport``.

Mocked on purpose, and only these: a connection that drops *after* the server acted (the
backend's faults always answer with a status), a refused connection (the request never
left), and a download body that breaks half way. Everything else is tested against the
real backend in the other files.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from containersync.api import ContainersClient, ContainerSpec
from containersync.errors import Rejected, TransientError

Handler = Callable[[httpx.Request], httpx.Response]


def container(cid: str, name: str, created_at: int) -> dict[str, Any]:
    return {"id": cid, "object": "container", "name": name, "created_at": created_at,
            "status": "running"}


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items, "has_more": False,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None}


def make_client(handler: Handler, delays: list[float]) -> ContainersClient:
    http = httpx.Client(base_url="http://backend.test/v1/", transport=httpx.MockTransport(handler))
    return ContainersClient(http, sleep=delays.append)


def test_create_adopts_container_made_by_a_dropped_attempt() -> None:
    """The server created the container, then the connection dropped: no second create."""
    stored = [container("cntr_old", "job", 100)]
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        if request.method == "GET":
            return httpx.Response(200, json=listing(stored[::-1]))
        posts += 1
        stored.append(container("cntr_new", "job", 100))  # same second as the old one
        raise httpx.RemoteProtocolError("connection closed", request=request)

    delays: list[float] = []
    with make_client(handler, delays) as api:
        made = api.create_container(ContainerSpec(name="job"))
    assert made.id == "cntr_new"
    assert posts == 1
    assert delays == []  # adopted at once, no backoff


def test_refused_connection_is_retried_without_looking() -> None:
    """A refused connection never reached the server, so no look-up is needed."""
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        if request.method == "GET":
            return httpx.Response(200, json=listing([]))
        if methods.count("POST") == 1:
            raise httpx.ConnectError("refused", request=request)
        body = json.loads(request.content)
        return httpx.Response(200, json=container("cntr_1", body["name"], 1))

    delays: list[float] = []
    with make_client(handler, delays) as api:
        made = api.create_container(ContainerSpec(name="fresh"))
    assert made.id == "cntr_1"
    assert methods == ["GET", "POST", "POST"]  # one look before, none after the refusal
    assert len(delays) == 1


class BreaksHalfWay(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: len(self.data) // 2]
        raise httpx.ReadError("connection reset")


def test_download_broken_mid_body_restarts_from_zero() -> None:
    data = bytes(range(256)) * 1000
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return httpx.Response(200, stream=BreaksHalfWay(data))
        return httpx.Response(200, content=data)

    delays: list[float] = []
    sink = io.BytesIO(b"old contents " * 50_000)
    with make_client(handler, delays) as api:
        written, _ = api.download_file("cntr_1", "cfile_1", sink)
        assert api.requests_made == 2
    assert written == len(data)
    assert sink.getvalue() == data


def test_network_failure_that_never_ends_becomes_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    delays: list[float] = []
    with make_client(handler, delays) as api, pytest.raises(TransientError) as caught:
        api.retrieve_container("cntr_1")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(delays) == 4


@pytest.mark.parametrize("pages", ["same", "overlapping"])
def test_a_listing_whose_cursor_does_not_move_is_refused_not_walked_forever(pages: str) -> None:
    # a server that ignores ``after`` (or pages back over what it sent) while it says
    # ``has_more``: the walk handed out the same objects again and again, growing a full
    # listing without end; the decoder accepts each page (it is well-formed), the walk
    # must see that the cursor did not move
    sent = {"n": 0}
    items = [{"id": f"cfile_{i}", "container_id": "cntr_1", "created_at": i,
              "path": f"/mnt/data/{i}", "source": "user", "bytes": 1} for i in range(4)]

    def handler(request: httpx.Request) -> httpx.Response:
        sent["n"] += 1
        after = request.url.params.get("after")
        start = 0 if pages == "same" or after is None else \
            max(0, [i["id"] for i in items].index(after) - 1)  # one item back
        body = listing(items[start:start + 2]) | {"has_more": sent["n"] < 50}
        return httpx.Response(200, json=body)

    with make_client(handler, []) as client, pytest.raises(Rejected, match="cursor"):
        list(client.list_files("cntr_1", page_size=2))
    assert sent["n"] < 50
