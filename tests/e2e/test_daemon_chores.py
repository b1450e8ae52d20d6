"""Promises the daemon keeps beside syncing (issue 8.10): it purges the trash like ``sync``;
a key the API refuses halts the mapping instead of being retried forever; a long start-up
or stop asks systemd for more time (``EXTEND_TIMEOUT_USEC``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from containersync.config import load_config, mapping_identity
from containersync.index.lock import MappingLock
from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for


def _key(run: DaemonRun) -> str:
    """The mapping's state key (its trash folder and lock are named by it)."""
    cfg = load_config(run.config).config
    return mapping_identity(cfg, cfg.mappings[0]).key


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
    old = _slot(run, _key(run), timedelta(days=31))  # the default retention is 30 days
    recent = _slot(run, _key(run), timedelta(days=29))
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


def test_a_long_start_and_the_drain_extend_the_systemd_timeout(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    """The first sync is held back (a ``sync`` holds the mapping's lock), so start-up lasts
    as long as the test wants: the daemon keeps asking for time, and READY=1 follows."""
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    lock = MappingLock(run.state, _key(run), purpose="a long containersync sync")
    lock.acquire()
    try:
        runs.append(run.start(notify=True))
        assert run.notify is not None
        wait_for(lambda: run.daemon()["state"] == "waiting-for-lock", "the daemon waiting")
        lines = run.notify.drain()
        assert "EXTEND_TIMEOUT_USEC=30000000" in lines and "READY=1" not in lines
    finally:
        lock.release()
    wait_for(lambda: "READY=1" in run.notify.drain(), "READY=1 once the first sync ran")
    assert run.stop() == 0
    after = run.notify.lines[run.notify.lines.index("STOPPING=1"):]
    assert "EXTEND_TIMEOUT_USEC=40000000" in after  # the drain's bound (30 s) plus 10 s
