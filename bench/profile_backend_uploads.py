"""Profile the local backend while it takes 4 KiB container-file uploads.

Serves the app of ``containersync serve-local`` (``Store`` + ``create_app`` + the same
uvicorn config) in a child process, sends ``--uploads`` uploads from ``--clients`` threads
(one keep-alive ``httpx.Client`` each) and prints JSON: uploads/s (wall, load-dependent),
the server's CPU ms per upload (user + system from ``/proc``, far less noisy on a shared
machine) and, with ``--profile``, Python function calls per upload (load-independent) and
the functions with the most own time (cProfile in every server thread: the event loop and
the threadpool workers). ``--profile`` slows the server; compare CPU ms only between runs
with the same flag.

    .venv/bin/python bench/profile_backend_uploads.py [--uploads 2000] [--clients 8]
        [--profile] [--top 25] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench_measure import cpu_split

FILE_SIZE = 4096


def serve(data_dir: Path, stats_out: Path | None, http: str | None) -> None:
    """The child: the backend, profiled in every thread when ``stats_out`` is set."""
    import uvicorn

    from containersync.localapi.app import create_app
    from containersync.localapi.embedded import bind_socket, uvicorn_config
    from containersync.localapi.store import Store

    profiles: list[cProfile.Profile] = []
    if stats_out is not None:
        def start_profiling(*_: Any) -> None:
            # the first profile event in a new thread (anyio's workers override ``run``, so
            # wrapping ``Thread.run`` would miss them): hand the thread to a fresh profiler
            prof = cProfile.Profile(time.thread_time)
            profiles.append(prof)
            prof.enable()

        threading.setprofile(start_profiling)
    sock = bind_socket("127.0.0.1", 0)
    store = Store(data_dir)
    main_prof = cProfile.Profile(time.thread_time)
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}/v1", file=sys.stderr, flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    config = uvicorn_config(create_app(store))
    if http is not None:
        config.http = http  # e.g. "httptools", to compare with the shipped "h11"
    server = uvicorn.Server(config)
    if stats_out is not None:
        main_prof.enable()
    try:
        server.run(sockets=[sock])  # type: ignore[arg-type]
    finally:
        main_prof.disable()
        sock.close()
        store.close()
    if stats_out is not None:
        for prof in profiles:
            prof.disable()  # worker threads may still be parked in the pool
        stats = pstats.Stats(main_prof)
        for prof in profiles:
            try:
                stats.add(prof)
            except TypeError:  # a profile that never recorded anything
                continue
        stats.dump_stats(str(stats_out))


def drive(base: str, uploads: int, clients: int) -> dict[str, Any]:
    with httpx.Client(base_url=base) as setup:
        cid = setup.post("/containers", json={"name": "profile"}).json()["id"]
    payload = os.urandom(FILE_SIZE)
    lock = threading.Lock()
    left = [uploads]
    failures = [0]

    def worker(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                response = http.post(f"/containers/{cid}/files",
                                     files={"file": (f"f{n}.bin", payload)})
                if response.status_code != 200:
                    with lock:
                        failures[0] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.monotonic() - started, "failures": failures[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--uploads", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--http", help="uvicorn's HTTP implementation instead of the shipped one")
    ap.add_argument("--save", type=Path, help="keep the merged pstats file here")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        serve(args.serve, args.stats, args.http)
        return 0
    with tempfile.TemporaryDirectory(prefix="profile-backend-") as tmp:
        stats_path = Path(tmp) / "server.pstats"
        cmd = [sys.executable, __file__, "--serve", str(Path(tmp) / "data")]
        if args.profile:
            cmd += ["--stats", str(stats_path)]
        if args.http:
            cmd += ["--http", args.http]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if "listening on " not in line:
            proc.kill()
            raise SystemExit(f"backend did not start: {line!r}")
        base = line.split("listening on ")[1].split()[0]
        try:
            drive(base, 20, 1)  # warm up: imports, first connection, first pages
            cpu_before = cpu_split(proc.pid)
            result = drive(base, args.uploads, args.clients)
            cpu_after = cpu_split(proc.pid)
            user, system = (a - b for a, b in zip(cpu_after, cpu_before, strict=True))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            proc.stderr.close()
        out: dict[str, Any] = {
            "uploads": args.uploads, "clients": args.clients, "profiled": args.profile,
            "uploads_per_s": round(args.uploads / result["seconds"], 1),
            "server_cpu_ms_per_upload": round(1000 * (user + system) / args.uploads, 3),
            "server_user_ms_per_upload": round(1000 * user / args.uploads, 3),
            "server_system_ms_per_upload": round(1000 * system / args.uploads, 3),
            "failures": result["failures"], "load": os.getloadavg()[0]}
        if args.profile:
            stats = pstats.Stats(str(stats_path))
            if args.save is not None:
                stats.dump_stats(str(args.save))
            out["calls_per_upload (whole run, incl. warm-up)"] = round(
                stats.total_calls / (args.uploads + 21), 1)  # type: ignore[attr-defined]
            text = io.StringIO()
            stats.stream = text  # type: ignore[attr-defined]
            stats.sort_stats(args.sort).print_stats(args.top)
            print(text.getvalue(), file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
