"""The daemon and its state: a lost index is rebuilt from the container (issue 7.5), and an
unusable state dir is one line and exit 78 (issue 8.7), as with `sync`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
