"""A no-op re-sync of a 100,000-file tree through the real engine, and the initial sync first.

Starts ``containersync serve-local`` as a subprocess on a free loopback port (fresh data
dir), writes a tree of tiny files (100 folders, dated an hour back), runs
``containersync sync --json`` once to push everything for real (``initial_seconds``:
nothing is seeded behind the engine's back), then runs it again with nothing changed on
either side and prints one JSON object:
``{"files", "initial_seconds", "initial_requests", "noop_seconds", "noop_engine_seconds",
"noop_requests", "noop_files_hashed", "noop_uploaded", "noop_downloaded", "exit_codes"}``.
``*_seconds`` is the wall time of the command (interpreter start-up included);
``noop_engine_seconds`` is the cycle's own time. Bounded: each sync gets ``TIMEOUT_S``.

    .venv/bin/python bench/bench_sync_noop.py [FILES]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from bench_measure import age_tree
from bench_sync_common import run_sync, start_backend, write_config

FILES = 100_000
TIMEOUT_S = 1800


def write_tree(root: Path, count: int) -> None:
    for d in range(100):
        (root / f"d{d:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        fd = os.open(root / f"d{i % 100:02d}" / f"f{i:06d}.txt",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"%d\n" % i)
        os.close(fd)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else FILES
    with tempfile.TemporaryDirectory(prefix="containersync-bench-noop-") as tmp:
        work = Path(tmp)
        write_tree(work / "tree", count)
        # dated an hour back: a tree synced the second it was written is racily clean, and
        # the re-sync would read every file again (``bench_measure.age_tree``)
        age_tree(work / "tree")
        backend, base_url = start_backend(work / "backend")
        try:
            config = write_config(work, base_url)
            initial_s, initial, code1 = run_sync(config, TIMEOUT_S)
            noop_s, noop, code2 = run_sync(config, TIMEOUT_S)
        finally:
            backend.terminate()
            backend.wait(timeout=10)
    print(json.dumps({
        "files": count, "initial_seconds": round(initial_s, 3),
        "initial_requests": initial["requests"], "initial_uploaded": initial["uploaded"],
        "noop_seconds": round(noop_s, 3), "noop_engine_seconds": noop["seconds"],
        "noop_requests": noop["requests"], "noop_files_hashed": noop["files_hashed"],
        "noop_uploaded": noop["uploaded"], "noop_downloaded": noop["downloaded"],
        "exit_codes": [code1, code2],
    }))


if __name__ == "__main__":
    main()
