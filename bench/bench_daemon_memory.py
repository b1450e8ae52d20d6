"""Resident memory of the daemon watching a large tree (default 100,000 files in 1,000
folders of 100 one-line files), measured from /proc/<pid>/status after the initial sync
has put every file in the container and the daemon is watching (inotify, one watch per
folder). Prints JSON: VmRSS and VmHWM in MiB, the initial sync's duration, and the latency of
one change after it (the targeted cycle in a big index).

Bounded: the initial sync uploads every file through the served local backend (empty
content would be as costly per request, so files hold a few bytes); it aborts after
``TIMEOUT_S``. ``python bench_daemon_memory.py 20000`` for a quicker run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench_daemon_common import container_id, start_daemon, stop, write_config
from containersync.localapi.embedded import start_server

TIMEOUT_S = 1800


def proc_status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)  # kB -> MiB
    return out


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_dir = 100
    with tempfile.TemporaryDirectory(prefix="cs-bench-memory-") as raw:
        tmp = Path(raw)
        local = tmp / "folder"
        for i in range(files):
            folder = local / f"d{i // per_dir:04d}"
            if i % per_dir == 0:
                folder.mkdir(parents=True)
            (folder / f"f{i % per_dir:03d}.txt").write_text(f"{i}\n")
        with start_server(tmp / "backend") as server:
            config = write_config(tmp, server, local, pull_interval_seconds=5)
            t0 = time.monotonic()
            proc = start_daemon(config, tmp / "daemon.log")
            try:
                cid = container_id(tmp / "state")
                while len(server.store.list_container_files(cid)) < files:
                    if time.monotonic() - t0 > TIMEOUT_S or proc.poll() is not None:
                        raise TimeoutError("initial sync did not finish")
                    time.sleep(1)
                initial_s = time.monotonic() - t0
                time.sleep(5)  # let the first cycle commit and the daemon settle to watching
                after_sync = proc_status(proc.pid)
                t1 = time.monotonic()
                (local / "d0000" / "changed.txt").write_text("one change\n")
                while len(server.store.list_container_files(cid)) < files + 1:
                    time.sleep(0.01)
                change_ms = (time.monotonic() - t1) * 1000
                time.sleep(2)
                watching = proc_status(proc.pid)
            finally:
                code = stop(proc)
    json.dump({"files": files, "folders": files // per_dir,
               "initial_sync_s": round(initial_s, 1),
               "rss_mib_after_initial_sync": after_sync["VmRSS"],
               "rss_mib_watching": watching["VmRSS"], "hwm_mib": watching["VmHWM"],
               "one_change_latency_ms": round(change_ms, 1), "daemon_exit_code": code},
              sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
