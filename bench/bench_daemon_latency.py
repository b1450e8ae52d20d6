"""Change-to-container latency of the running daemon: write a file, time until the API
lists it. 200 changes, one at a time (each waits for the previous one to land), with the
default debounce (100 ms quiet). Prints JSON: p50/p90/p99/max in milliseconds.

The listing is read from the backend's store in this process (no HTTP, no keep-alive
effect), polled every 2 ms, so the measurement resolution is about 2 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_daemon_common import container_id, start_daemon, stop, write_config
from containersync.localapi.embedded import start_server

CHANGES = 200


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cs-bench-latency-") as raw:
        tmp = Path(raw)
        local = tmp / "folder"
        local.mkdir()
        (local / "seed.txt").write_text("seed")
        with start_server(tmp / "backend") as server:
            config = write_config(tmp, server, local, pull_interval_seconds=5)
            proc = start_daemon(config, tmp / "daemon.log")
            try:
                cid = container_id(tmp / "state")
                while not server.store.list_container_files(cid):
                    time.sleep(0.01)
                latencies = []
                for i in range(CHANGES):
                    name = f"change-{i:03d}.txt"
                    target = f"/mnt/data/{name}"
                    t0 = time.perf_counter()
                    (local / name).write_text(f"change {i}\n")
                    deadline = t0 + 30
                    while not any(f["path"] == target
                                  for f in server.store.list_container_files(cid)):
                        if time.perf_counter() > deadline:
                            raise TimeoutError(f"{name} never arrived")
                        time.sleep(0.002)
                    latencies.append((time.perf_counter() - t0) * 1000)
            finally:
                code = stop(proc)
        qs = statistics.quantiles(latencies, n=100)
        json.dump({"changes": CHANGES, "debounce_ms": 100,
                   "p50_ms": round(statistics.median(latencies), 1),
                   "p90_ms": round(qs[89], 1), "p99_ms": round(qs[98], 1),
                   "max_ms": round(max(latencies), 1), "daemon_exit_code": code},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
