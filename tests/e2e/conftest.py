"""Fixtures shared by the end-to-end scenarios: one mapping against a served local backend,
in both path modes (the server honours the requested upload path, or assigns its own as the
live service does)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.crash_harness import Rig, rig_maker
from support.daemon_harness import DaemonRun
from support.scenario import PATH_MODES, World


@pytest.fixture(params=PATH_MODES)
def world(request: pytest.FixtureRequest, local_server_factory: Callable[..., RunningServer],
          tmp_path: Path) -> World:
    return World(local_server_factory(assign_paths=request.param), tmp_path)


@pytest.fixture
def rig_factory(tmp_path: Path, local_server_factory: Callable[..., RunningServer],
                ) -> Callable[..., Rig]:
    return rig_maker(tmp_path, local_server_factory)


@pytest.fixture(params=[False, True], ids=["paths-honoured", "paths-assigned"])
def assign_paths(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def runs() -> Iterator[list[DaemonRun]]:
    """Daemons a test started; each is killed at the end, whatever the test did."""
    made: list[DaemonRun] = []
    yield made
    for run in made:
        run.kill()
