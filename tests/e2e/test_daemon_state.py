"""The daemon and its state: a lost index is rebuilt from the container (issue 7.5), and an
unusable state dir is one line and exit 78 (issue 8.7), as with `sync`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file
from support.daemon_harness import KEY_ENV, DaemonRun, wait_for


def _sync(run: DaemonRun) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "containersync", "sync", "--config",
                           str(run.config)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, KEY_ENV: "sk-test-not-a-secret"}, check=False)


def test_daemon_rebuilds_a_lost_index_from_the_container(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    for i in range(3):
        (run.local / f"f{i}.txt").write_text(f"file {i}")
    assert _sync(run).returncode == 0
    cid = run.container_id()
    add_assistant_file(local_server, cid, "/mnt/data/out.txt", b"from the assistant")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run.state}/index.sqlite3{suffix}").unlink(missing_ok=True)

    runs.append(run.start())
    wait_for(lambda: (run.local / "out.txt").is_file(), "the assistant's file pulled")
    assert run.container_id() == cid
    wait_for(lambda: "rebuilt the index" in run.log(), "the rebuild in the log")
    assert run.stop() == 0
    objects = local_server.store.list_container_files(cid)
    assert sorted(o["path"] for o in objects) == [
        "/mnt/data/f0.txt", "/mnt/data/f1.txt", "/mnt/data/f2.txt", "/mnt/data/out.txt"]
    assert sorted(p.name for p in run.local.iterdir()) == [
        "f0.txt", "f1.txt", "f2.txt", "out.txt"]


def test_daemon_with_a_state_dir_that_is_a_file_exits_78(
        tmp_path: Path, local_server: RunningServer) -> None:
    run = DaemonRun(tmp_path, local_server)
    run.state.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "containersync", "daemon", "--config",
                           str(run.config)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, KEY_ENV: "sk-test-not-a-secret"}, check=False)
    assert done.returncode == 78, done.stderr
    assert "Traceback" not in done.stderr and "not a folder" in done.stderr


def _can_mount() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter")) or os.geteuid() != 0:
        return False
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True,
                          check=False)
    return done.returncode == 0


def _events(run: DaemonRun, event: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in run.log().splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("event") == event]


@pytest.mark.skipif(not _can_mount(), reason="needs root, unshare -m and nsenter")
def test_a_full_disk_under_the_state_files_is_logged_once_and_its_end_too(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    """A real full disk: the daemon runs in its own mount namespace, where its state files'
    folder is a tiny tmpfs filled up before it starts (the index stays on a disk with room).
    The daemon offers each mapping's state every tick (0.5 s): the user is told once that
    it cannot be written, not once a tick, and once when it can be again. The ticks are
    counted by the systemd watchdog pings the same loop sends (``WatchdogSec=2``: a ping
    every other tick)."""
    run = DaemonRun(tmp_path, local_server)
    (run.local / "a.txt").write_text("a")
    folder = run.state / "daemon"
    folder.mkdir(parents=True)
    fill = (f'mount -t tmpfs -o size=16k tmpfs "{folder}" && '
            f'(dd if=/dev/zero of="{folder}/filler" bs=4k 2>/dev/null; true) && '
            'WATCHDOG_USEC=2000000 exec "$@"')
    runs.append(run.start(notify=True, prefix=["unshare", "-m", "--propagation", "private",
                                               "sh", "-c", fill, "sh"]))
    assert run.proc is not None and run.notify is not None
    notify = run.notify
    run.wait_remote(lambda r: r.get("a.txt") == b"a", "the first sync")
    wait_for(lambda: notify.drain().count("WATCHDOG=1") >= 4,
             "four watchdog pings (some six ticks) while the disk is full")
    seen = Path(f"/proc/{run.proc.pid}/root") / str(folder).lstrip("/")  # the daemon's view
    assert not (seen / "m.json").exists()
    subprocess.run(["nsenter", "-t", str(run.proc.pid), "-m", "rm", str(folder / "filler")],
                   check=True)
    wait_for(lambda: (seen / "m.json").exists(), "the state file written once there is room")
    wait_for(lambda: _events(run, "state-file-recovered"), "the recovery in the log")
    # no failed write left a temp file behind
    assert sorted(p.name for p in seen.iterdir()) == ["m.json"]
    assert run.stop() == 0
    failed = _events(run, "state-file-failed")
    assert len(failed) == 1, f"{len(failed)} warnings for one full disk"
    assert "no space left" in failed[0]["error"].lower() and failed[0]["mapping"] == "m"
    [recovered] = _events(run, "state-file-recovered")
    assert recovered["mapping"] == "m" and recovered["failures"] >= 1
