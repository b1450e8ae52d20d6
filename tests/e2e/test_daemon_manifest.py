"""The daemon keeps the container manifest true as files change (targeted cycles with
incremental listings), against a served backend that chooses paths as the live service
does. A real daemon subprocess; every wait is bounded polling."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containersync.localapi.embedded import RunningServer
from containersync.model.manifest import is_manifest_path
from support.daemon_harness import DaemonRun, wait_for


def _manifests(run: DaemonRun, cid: str) -> list[dict[str, Any]]:
    return [f for f in run.server.store.list_container_files(cid)
            if f["source"] == "user" and is_manifest_path(f["path"], "/mnt/data")]


def _said(run: DaemonRun, cid: str) -> dict[str, str] | None:
    """What the newest manifest says (None: no manifest yet)."""
    found = _manifests(run, cid)
    if not found:
        return None
    newest = max(found, key=lambda f: (f["created_at"], f["id"]))
    handle, _, _ = run.server.store.open_container_file(cid, newest["id"])
    with handle:
        files: dict[str, str] = json.loads(handle.read())["files"]
    return files


def _true(run: DaemonRun, cid: str, files: dict[str, str]) -> bool:
    said = _said(run, cid)
    if said is None or set(said) != set(files) or len(_manifests(run, cid)) != 1:
        return False
    by_path = {f["path"]: f for f in run.server.store.list_container_files(cid)}
    for rel, content in files.items():
        obj = by_path.get(said[rel])
        if obj is None:
            return False
        handle, _, _ = run.server.store.open_container_file(cid, obj["id"])
        with handle:
            if handle.read() != content.encode():
                return False
    return True


def test_the_daemon_keeps_the_manifest_true(
        tmp_path: Path, local_server_factory: Callable[..., RunningServer],
        runs: list[DaemonRun]) -> None:
    server = local_server_factory(assign_paths=True)
    run = DaemonRun(tmp_path, server, daemon={"full_sync_interval_seconds": 3600})
    files = {"data/2024/sales.csv": "a,1\n", "archive/sales.csv": "b,2\n"}
    for rel, content in files.items():
        (run.local / rel).parent.mkdir(parents=True, exist_ok=True)
        (run.local / rel).write_text(content)
    runs.append(run.start())
    cid = run.container_id()
    wait_for(lambda: _true(run, cid, files), "a true manifest after the first sync")

    (run.local / "data/2024/sales.csv").rename(run.local / "data/sales.csv")
    (run.local / "notes.md").write_text("n\n")
    files = {"data/sales.csv": "a,1\n", "archive/sales.csv": "b,2\n", "notes.md": "n\n"}
    try:
        wait_for(lambda: _true(run, cid, files), "the manifest after a rename and a new file")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: it says {_said(run, cid)}, objects "
                             f"{run.server.store.list_container_files(cid)}\n"
                             f"{run.log()[-5000:]}") from None
    assert not (run.local / "containersync-manifest.json").exists()
    assert sorted(p.name for p in run.local.rglob("*") if p.is_file()) == [
        "notes.md", "sales.csv", "sales.csv"]
    assert run.stop() == 0
