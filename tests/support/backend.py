"""Helpers for talking to the local backend in tests: SDK clients, raw HTTP, admin calls.

Everything here goes over real HTTP to a ``RunningServer``; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai

from containersync.localapi.embedded import RunningServer

TEST_KEY = "sk-local-test"


@contextmanager
def sdk(server: RunningServer, *, api_key: str = TEST_KEY, max_retries: int = 0,
        **kwargs: Any) -> Iterator[openai.OpenAI]:
    """The official SDK pointed at ``server`` (no retries unless asked, so errors surface)."""
    client = openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=max_retries,
                           **kwargs)
    try:
        yield client
    finally:
        client.close()


@contextmanager
def raw(server: RunningServer, *, api_key: str | None = TEST_KEY) -> Iterator[httpx.Client]:
    """A plain httpx client on the server's root URL (for bodies the SDK would not send)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=server.root_url, headers=headers, timeout=10) as client:
        yield client


def inject_fault(server: RunningServer, **fault: Any) -> None:
    """``POST /_local/faults`` (see ``containersync.localapi.faults``)."""
    with raw(server, api_key=None) as client:
        client.post("/_local/faults", json=fault).raise_for_status()


def clear_faults(server: RunningServer) -> None:
    with raw(server, api_key=None) as client:
        client.delete("/_local/faults").raise_for_status()


def add_assistant_file(server: RunningServer, container_id: str, path: str, content: bytes,
                       *, record_bytes: bool = False) -> dict[str, Any]:
    """A file "written by code in the sandbox", through the admin route."""
    with raw(server, api_key=None) as client:
        response = client.post(f"/_local/containers/{container_id}/files",
                               files={"file": ("out", content)},
                               data={"path": path, "record_bytes": str(record_bytes).lower()})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
