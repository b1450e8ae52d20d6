"""``box``: an empty local root and a fresh container on the test's own local backend, for
the executor tests (``support.executing``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.executing import Sandbox, sandbox


@pytest.fixture
def box(local_server: RunningServer, tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(local_server, tmp_path, "execute") as made:
        yield made
