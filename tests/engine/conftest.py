"""The engine tests' mapping: ``m`` of an empty folder ``work`` on the test's backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from containersync.engine.context import MappingContext
from containersync.localapi.embedded import RunningServer
from support.contexts import mapping_context


@pytest.fixture
def ctx(tmp_path: Path, local_server: RunningServer) -> Iterator[MappingContext]:
    root = tmp_path / "work"
    root.mkdir()
    with mapping_context(tmp_path, local_server.base_url, root) as context:
        yield context
