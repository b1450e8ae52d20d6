"""Initial push of 2,000 files of 4 KiB through the real engine, to a served local backend.

Starts ``containersync serve-local`` as a subprocess on a free loopback port with a fresh
data dir (so the engine and the server do not share a GIL), writes the tree, then runs
``containersync sync --json`` as a subprocess and prints one JSON object:
``{"files", "seconds", "files_per_s", "requests", "files_hashed", "engine_seconds",
"exit_code"}``. ``seconds`` is the wall time of the whole command (interpreter start-up
included); ``engine_seconds`` is the cycle's own time from ``--json``. Bounded: the sync is
given ``TIMEOUT_S`` and everything is removed at the end.

    .venv/bin/python bench/bench_sync_push.py [FILES]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from bench_sync_common import run_sync, start_backend, write_config

FILES = 2000
FILE_SIZE = 4096
TIMEOUT_S = 300


def write_tree(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"d{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(os.urandom(FILE_SIZE))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else FILES
    with tempfile.TemporaryDirectory(prefix="containersync-bench-push-") as tmp:
        work = Path(tmp)
        write_tree(work / "tree", count)
        backend, base_url = start_backend(work / "backend")
        try:
            seconds, result, code = run_sync(write_config(work, base_url), TIMEOUT_S)
        finally:
            backend.terminate()
            backend.wait(timeout=10)
    print(json.dumps({
        "files": count, "seconds": round(seconds, 3),
        "files_per_s": round(count / seconds, 1), "requests": result["requests"],
        "files_hashed": result["files_hashed"], "uploaded": result["uploaded"],
        "engine_seconds": result["seconds"], "exit_code": code,
    }))


if __name__ == "__main__":
    main()
