"""Promises the daemon keeps beside syncing (issue 8.10): it purges the trash like ``sync``;
a key the API refuses halts the mapping instead of being retried forever."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_daemon_harness import DaemonRun, wait_for

from containersync.localapi.embedded import RunningServer


@pytest.fixture
def runs() -> Iterator[list[DaemonRun]]:
    made: list[DaemonRun] = []
    yield made
    for run in made:
        run.kill()


def _slot(run: DaemonRun, mapping: str, age: timedelta) -> Path:
    stamp = (datetime.now(UTC) - age).strftime("%Y%m%d-%H%M%S.%f")
    slot = run.state / "trash" / mapping / stamp
    (slot / "sub").mkdir(parents=True)
    (slot / "sub" / "old.txt").write_text("replaced long ago")
    return slot


def test_the_daemon_purges_its_trash_past_the_retention(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    old = _slot(run, "m", timedelta(days=31))  # the default retention is 30 days
    recent = _slot(run, "m", timedelta(days=29))
    other = _slot(run, "another-mapping", timedelta(days=31))  # not this worker's
    runs.append(run.start())
    run.wait_ready()
    wait_for(lambda: not old.exists(), "the old trash folder purged")
    assert recent.exists() and other.exists()
    assert "purged old trash folders" in run.log()
    assert run.stop() == 0


def test_a_refused_key_halts_the_mapping_instead_of_retrying(
        tmp_path: Path, local_server_factory: Callable[..., RunningServer],
        runs: list[DaemonRun]) -> None:
    server = local_server_factory(api_key="sk-the-right-key")  # the daemon sends another
    run = DaemonRun(tmp_path, server)
    (run.local / "a.txt").write_text("a")
    runs.append(run.start())
    daemon = wait_for(lambda: (lambda d: d if d["state"] == "halted" else None)(run.daemon()),
                      "the mapping halted")
    assert "refused the key" in daemon["error"]
    assert daemon["retry_at"] is None  # no retry is scheduled
    halt = wait_for(lambda: run.status()["halt"], "the halt in the index")
    assert halt["rail"] == "auth-refused"
    assert run.log().count("the API refused the key") == 1
    assert "cycle failed; retrying" not in run.log()
    assert run.stop() == 0
