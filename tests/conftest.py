"""Fixtures every test suite may use: a real local Containers API backend on loopback.

- ``local_server``: a fresh backend (own tmp data dir) for one test; yields a
  ``containersync.localapi.embedded.RunningServer`` (``.base_url``, ``.root_url``, ``.store``,
  ``.advance_clock(seconds)``).
- ``local_server_factory``: ``factory(**start_server_kwargs)`` -> a started server; pass
  ``data_dir=`` to reuse a directory (restarts). Every server it made is stopped at teardown.

Helpers (SDK clients, raw HTTP, fault injection) live in ``tests/support``.

Every test gets its own ``$XDG_CACHE_HOME`` (``status`` caches the validated config there,
``containersync.status_config``), so no test writes to, or reads from, the user's cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from containersync.localapi.embedded import RunningServer, start_server


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[RunningServer]:
    with start_server(tmp_path / "local-backend") as server:
        yield server


@pytest.fixture
def local_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        Callable[..., RunningServer]]:
    servers: list[RunningServer] = []

    def factory(**kwargs: Any) -> RunningServer:
        data_dir = kwargs.pop("data_dir", None) or tmp_path_factory.mktemp("local-backend")
        server = start_server(Path(data_dir), **kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
