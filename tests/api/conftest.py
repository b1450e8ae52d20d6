"""Fixtures for the API client's tests: a real backend over loopback HTTP and a client.

``backend`` is the local backend (``containersync.localapi``) started on 127.0.0.1:0 in
this process, or, for tests marked ``live`` and opted into with ``CONTAINERSYNC_LIVE=1``
and ``OPENAI_API_KEY``, the live service. Tests that need the local backend's admin routes
(clock, faults) use ``local`` directly. ``sleeps`` records what the client would have
slept, so retry tests never wait.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from containersync.api import Container, ContainersClient, ContainerSpec
from containersync.localapi.embedded import RunningServer, start_server


@dataclass
class Backend:
    """Where the contract suite points: a base URL, a key, and (local only) admin access."""

    base_url: str
    api_key: str | None
    server: RunningServer | None = None
    created: list[str] = field(default_factory=list)

    @property
    def is_local(self) -> bool:
        return self.server is not None

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self.server is not None, "admin routes exist only on the local backend"
        response = httpx.request(method, self.server.root_url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def fault(self, **fault: Any) -> None:
        self.admin("POST", "/_local/faults", fault)

    def advance_clock(self, seconds: float) -> None:
        self.admin("POST", "/_local/clock/advance", {"seconds": seconds})


class SleepRecorder:
    """Stands in for ``time.sleep``: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _live_backend() -> Backend:
    if os.environ.get("CONTAINERSYNC_LIVE") != "1" or not os.environ.get("OPENAI_API_KEY"):
        pytest.skip("live tests need CONTAINERSYNC_LIVE=1 and OPENAI_API_KEY")
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    return Backend(base_url=base, api_key=os.environ["OPENAI_API_KEY"])


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Backend]:
    server = start_server(tmp_path / "backend")
    try:
        yield Backend(base_url=server.base_url, api_key=None, server=server)
    finally:
        server.stop()


@pytest.fixture(params=["local", pytest.param("live", marks=pytest.mark.live)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "live":
        target = _live_backend()
        yield target
        # best effort: do not leave containers behind on a real account
        with ContainersClient.connect(target.base_url, target.api_key) as cleanup:
            for cid in target.created:
                with contextlib.suppress(Exception):  # cleanup must not mask the result
                    cleanup.delete_container(cid)
        return
    server = start_server(tmp_path / "backend")
    try:
        yield Backend(base_url=server.base_url, api_key=None, server=server)
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(backend: Backend, sleeps: SleepRecorder) -> Iterator[ContainersClient]:
    with ContainersClient.connect(backend.base_url, backend.api_key, sleep=sleeps) as api:
        yield api


@pytest.fixture
def local_client(local: Backend, sleeps: SleepRecorder) -> Iterator[ContainersClient]:
    with ContainersClient.connect(local.base_url, None, sleep=sleeps) as api:
        yield api


@pytest.fixture
def new_container(client: ContainersClient, backend: Backend) -> Any:
    """Create a uniquely named container (deleted afterwards on the live service)."""

    def make(**spec: Any) -> Container:
        made = client.create_container(
            ContainerSpec(name=f"cs-test-{uuid.uuid4().hex[:10]}", **spec))
        backend.created.append(made.id)
        return made

    return make
