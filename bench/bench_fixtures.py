"""What several rows share within one run: the run's parameters, a progress log, and trees
pushed to a served backend by a real ``containersync sync`` (made once, reused by the
no-op row and the daemon rows, removed at the end of the run)."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_backend import Backend
from bench_measure import PER_DIR, age_tree, write_config, write_tree
from bench_sync_common import run_sync

FULL = {
    "daemon_sizes": [1000, 10000, 100000], "changes": 200, "changes_small": 200, "idle_s": 60,
    "push_files": 2000, "sdk_seq_files": 2000, "noop_files": 100000, "noop_rounds": 3,
    "listing_files": 100000, "listing_latency_ms": 100, "upload_mib": 500, "upload_rounds": 5,
    "pull_files": 1000, "pull_rounds": 3, "mappings": 200, "mapping_files": 100,
    "mappings_timeout_s": 600, "startup_rounds": 10, "sync_timeout_s": 1800,
}
QUICK = {
    **FULL, "daemon_sizes": [100, 1000], "changes": 100, "changes_small": 100, "idle_s": 10,
    "push_files": 200,
    "sdk_seq_files": 200, "noop_files": 1000, "listing_files": 2000, "upload_mib": 20,
    "upload_rounds": 1, "pull_files": 100, "pull_rounds": 1, "mappings": 10,
    "mapping_files": 20, "mappings_timeout_s": 120, "startup_rounds": 5, "sync_timeout_s": 300,
}


@dataclass
class SyncedTree:
    """``files`` tiny files in folders of 100, pushed by a real initial sync to a backend
    at 0 ms latency; ``config`` syncs it again (same state dir)."""

    files: int
    work: Path
    backend: Backend
    config: Path
    container_id: str
    initial: dict[str, Any]

    @property
    def tree(self) -> Path:
        return self.work / "tree"

    @property
    def folders(self) -> int:
        return max(1, -(-self.files // PER_DIR))


@dataclass
class Ctx:
    work: Path
    quick: bool
    params: dict[str, Any]
    _trees: dict[int, SyncedTree] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def log(self, row: str, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {row}: {message}", file=sys.stderr, flush=True)

    def dir(self, name: str) -> Path:
        path = self.work / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def synced_tree(self, files: int) -> SyncedTree:
        if files in self._trees:
            return self._trees[files]
        work = self.dir(f"synced-{files}")
        self.log("fixture", f"writing {files:,} files and pushing them with a real sync")
        write_tree(work / "tree", files)
        age_tree(work / "tree")
        backend = Backend(work / "backend")
        try:
            config = write_config(work, backend.base_url,
                                  [{"name": "bench", "local": str(work / "tree")}])
            seconds, result, code = run_sync(config, self.params["sync_timeout_s"])
            if code != 0 or result["uploaded"] != files:
                raise RuntimeError(f"initial sync of {files} files: exit {code}, {result}")
        except BaseException:
            backend.stop()
            raise
        initial = {"seconds": round(seconds, 2), "engine_seconds": result["seconds"],
                   "requests": result["requests"], "uploaded": result["uploaded"]}
        self.log("fixture", f"{files:,} files synced in {seconds:.1f} s")
        tree = SyncedTree(files, work, backend, config, str(result["container_id"]), initial)
        self._trees[files] = tree
        return tree

    def close(self) -> None:
        for tree in self._trees.values():
            tree.backend.stop()
        self._trees.clear()
