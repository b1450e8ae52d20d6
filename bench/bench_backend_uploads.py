"""How many 4 KiB container-file uploads per second the local backend sustains.

Starts ``containersync serve-local`` as a subprocess on a free loopback port with a fresh
data dir (so client threads and server do not share a GIL), then for 1 and 8 concurrent
clients (threads, one ``httpx.Client`` each, keep-alive) uploads 4 KiB files for a fixed
time window and prints JSON: ``{"file_size", "clients_1": {"uploads_per_s", ...},
"clients_8": {...}}``. Bounded: about ``2 * WINDOW_S`` seconds plus start-up; stops itself.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time

import httpx

from bench_sync_common import start_backend

FILE_SIZE = 4096
WINDOW_S = 3.0


def measure(base: str, clients: int) -> dict[str, float]:
    with httpx.Client(base_url=base) as setup:
        cid = setup.post("/containers", json={"name": f"bench-{clients}"}).json()["id"]
    payload = os.urandom(FILE_SIZE)
    counts = [0] * clients
    failures = [0] * clients
    start_gate = threading.Barrier(clients + 1)
    deadline = 0.0

    def worker(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            start_gate.wait()
            while time.monotonic() < deadline:
                response = http.post(f"/containers/{cid}/files",
                                     files={"file": (f"f{n}.bin", payload)})
                if response.status_code == 200:
                    counts[n] += 1
                else:
                    failures[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WINDOW_S
    started = time.monotonic()
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"uploads_per_s": round(sum(counts) / elapsed, 1), "uploads": sum(counts),
            "failures": sum(failures), "seconds": round(elapsed, 2)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as data_dir:
        proc, base = start_backend(data_dir)
        try:
            result = {"file_size": FILE_SIZE, "clients_1": measure(base, 1),
                      "clients_8": measure(base, 8)}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            if proc.stderr is not None:
                proc.stderr.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
