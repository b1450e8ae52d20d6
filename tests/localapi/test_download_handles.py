"""A content download closes its blob however the response ends.

The ASGI ``send`` here is a stand-in for a client that disconnects as soon as the headers
are out: a real disconnect at exactly that moment cannot be timed reliably over a socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import ClientDisconnect

from containersync.localapi.httpio import download


def _scope() -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
            "method": "GET", "path": "/", "headers": []}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_blob_is_closed_when_the_client_leaves_before_the_body(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 200_000)
    handle = blob.open("rb")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("client went away")

    with pytest.raises(ClientDisconnect):
        asyncio.run(download(handle, "text/plain", "blob")(_scope(), _receive, send))
    assert handle.closed


def test_blob_is_closed_after_a_complete_download(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"abc" * 50_000)
    handle = blob.open("rb")
    body = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    asyncio.run(download(handle, "text/plain", "blob")(_scope(), _receive, send))
    assert bytes(body) == b"abc" * 50_000
    assert handle.closed
