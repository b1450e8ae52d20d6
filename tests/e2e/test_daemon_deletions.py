"""The daemon's max-delete rail counts over a window (issue 7.6): a mass deletion that the
daemon sees as many small cycles halts like one ``containersync sync`` would.

Each test deletes in batches and waits for each batch to be acted on before the next, so
the deletion is split over cycles for sure (not by luck of the debounce). 28 of 40 tracked
files go (70 %): one ``sync`` halts on that; the daemon must halt too, having deleted at
most half (the rail's share) on the other side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for

N, BATCH, BATCHES = 40, 4, 7  # 28 of 40 deleted


def _halted(run: DaemonRun) -> dict[str, Any] | None:
    halt: dict[str, Any] | None = run.status()["halt"]
    return halt


def _delete_in_batches(run: DaemonRun, delete: Callable[[list[str]], None],
                       acted: Callable[[list[str]], bool]) -> None:
    names = [f"f{i:02d}.txt" for i in range(N)]
    for b in range(BATCHES):
        batch = names[b * BATCH:(b + 1) * BATCH]
        delete(batch)
        wait_for(lambda batch=batch: acted(batch) or _halted(run), f"batch {b} acted on")
        if _halted(run):
            return


def test_local_deletions_spread_over_cycles_halt_the_daemon(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server)
    for i in range(N):
        (run.local / f"f{i:02d}.txt").write_text(f"file {i}")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == N, "the first sync", cid=cid)

    def delete(batch: list[str]) -> None:
        for name in batch:
            (run.local / name).unlink()

    def acted(batch: list[str]) -> bool:
        return not set(batch) & set(run.remote(cid))

    _delete_in_batches(run, delete, acted)
    assert len(run.remote(cid)) >= N // 2  # at most half of the tracked files went
    halt = wait_for(lambda: _halted(run), "the too-many-deletions halt")
    assert halt["rail"] == "too-many-deletions"
    assert "tracked remote files" in halt["reason"]
    wait_for(lambda: run.daemon()["state"] == "halted", "the daemon's halted state")
    assert run.stop() == 0


def test_remote_deletions_spread_over_full_listings_halt_the_daemon(
        tmp_path: Path, local_server_factory: Callable[..., RunningServer],
        runs: list[DaemonRun]) -> None:
    """Remote deletions show in full listings only; with a full listing every 0.3 s, each
    one holds a batch, and the window resets at each: the sliding minute still counts."""
    server = local_server_factory(assign_paths=True)
    run = DaemonRun(tmp_path, server, daemon={"full_sync_interval_seconds": 0.3})
    for i in range(N):
        (run.local / f"f{i:02d}.txt").write_text(f"file {i}")
    runs.append(run.start())
    cid = run.container_id()
    run.wait_remote(lambda r: len(r) == N, "the first sync", cid=cid)

    def delete(batch: list[str]) -> None:
        wanted = set(batch)
        for f in server.store.list_container_files(cid):
            if Path(f["path"]).name.split("-", 1)[-1] in wanted or Path(f["path"]).name in wanted:
                server.store.delete_container_file(cid, f["id"])

    def acted(batch: list[str]) -> bool:
        return not any((run.local / name).exists() for name in batch)

    _delete_in_batches(run, delete, acted)
    assert len(list(run.local.glob("f*.txt"))) >= N // 2
    halt = wait_for(lambda: _halted(run), "the too-many-deletions halt")
    assert halt["rail"] == "too-many-deletions"
    assert "tracked local files" in halt["reason"]
    assert run.stop() == 0
