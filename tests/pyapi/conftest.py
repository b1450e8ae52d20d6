"""The Python API as a user runs it: no config file, the endpoint and key from the
environment the ``openai`` SDK reads, the state under ``$XDG_STATE_HOME``."""

from __future__ import annotations

from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import TEST_KEY


@pytest.fixture
def sdk_env(local_server: RunningServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """``OPENAI_BASE_URL``/``OPENAI_API_KEY`` pointing at a served local backend, and a
    private state dir: what a user's shell would hold, with the backend standing in for the
    live service."""
    monkeypatch.setenv("OPENAI_BASE_URL", local_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "CONTAINERSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return local_server
