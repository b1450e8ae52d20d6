"""kill -9 of the daemon in the middle of downloads, then a restart: no
``.containersync-tmp-*`` file survives, and every file arrives whole (issue 7.7)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.crash_harness import KillPoint, Rig, assistant_writes, local_tree
from support.daemon_harness import DaemonRun, wait_for

pytestmark = pytest.mark.slow


def _settled_tree(root: Path) -> dict[str, bytes] | None:
    try:
        return local_tree(root)
    except FileNotFoundError:  # the daemon renamed or removed a file under the walk
        return None


def _temporaries(root: Path) -> list[str]:
    return [rel for rel in local_tree(root) if "/.containersync-tmp-" in f"/{rel}"]


@pytest.mark.parametrize("assign_paths", [False, True], ids=["paths-honoured", "paths-assigned"])
def test_kill_during_daemon_downloads_then_restart_leaves_no_temporary(
        tmp_path: Path, local_server_factory: Callable[..., RunningServer],
        runs: list[DaemonRun], assign_paths: bool) -> None:
    server = local_server_factory(assign_paths=assign_paths)
    run = DaemonRun(tmp_path, server)
    (run.local / "mine.txt").write_text("mine")
    runs.append(run.start())
    run.wait_ready()
    cid = run.container_id()
    rig = Rig(server, run.local, run.state, run.config)
    point = KillPoint(server, "open_container_file", 60, after=False)
    assert run.proc is not None
    point.pid = run.proc.pid
    try:
        files = assistant_writes(rig, cid, 200)
        wait_for(point.fired.is_set, "the kill in the middle of the downloads", 60)
        run.proc.wait(30)
    finally:
        point.remove()
    assert _temporaries(run.local), "the kill left no download in progress"

    runs.append(run.start())
    files["mine.txt"] = b"mine"
    pulled = wait_for(lambda: (lambda t: t if t == files else None)(_settled_tree(run.local)),
                      "every assistant file pulled whole", 90)
    assert not _temporaries(run.local)
    assert pulled == files
    assert run.stop() == 0
