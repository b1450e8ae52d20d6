"""Daemon rows: one-change latency by tree size, memory and idle CPU at the largest size,
and one daemon with many mappings.

A *study* starts ``containersync daemon`` on a tree already pushed by a real sync (same
config and state dir), waits until a probe file is listed (ready), then makes ``changes``
new one-line files one at a time, each timed from just before the write until the
backend's SQLite holds its row (polled every 2 ms from this process, no HTTP), then, at the
largest size, waits out the active minute after the last change and stays idle for ``idle_s``
and reads the daemon's CPU time and the backend's request counter.
Memory comes from ``/proc/<pid>/status`` (VmRSS, VmHWM = peak since start).
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from bench_backend import Backend
from bench_daemon_common import start_daemon, stop
from bench_fixtures import Ctx
from bench_measure import (
    cpu_seconds,
    daemon_log_summary,
    percentiles_ms,
    proc_status,
    write_config,
    write_tree,
)
from bench_report import Check, RowResult
from containersync.plan.idle_budget import ACTIVE_FOR_S

REMOTE = "/mnt/data/"
READY_TIMEOUT_S = 1800
CHANGE_TIMEOUT_S = 120


def wait_listed(backend: Backend, seq: int, target: str, timeout: float,
                daemon: subprocess.Popen[bytes]) -> None:
    end = time.perf_counter() + timeout
    while True:
        paths, seq = backend.paths_since(seq)
        if target in paths:
            return
        if time.perf_counter() > end:
            raise TimeoutError(f"{target} not listed within {timeout} s")
        if daemon.poll() is not None:
            raise RuntimeError(f"the daemon exited ({daemon.returncode}) before {target} landed")
        time.sleep(0.002)


def study(ctx: Ctx, files: int) -> dict[str, Any]:
    """One daemon session on a synced tree of ``files``; idle for ``idle_s`` only at the
    largest size (the idle rows measure that one). Cached for the run."""
    key = f"study-{files}"
    if key in ctx.cache:
        return ctx.cache[key]  # type: ignore[no-any-return]
    p = ctx.params
    largest = files == p["daemon_sizes"][-1]
    idle_s = p["idle_s"] if largest else 1
    changes = p["changes"] if largest else p["changes_small"]
    fixture = ctx.synced_tree(files)
    backend = fixture.backend
    ctx.log("daemon", f"daemon on {files:,} files: {changes} changes, {idle_s} s idle")
    started = time.perf_counter()
    proc = start_daemon(fixture.config, fixture.work / f"daemon-{len(ctx.cache)}.log")
    try:
        seq = backend.last_seq()
        (fixture.tree / "probe.txt").write_text("probe\n")
        wait_listed(backend, seq, REMOTE + "probe.txt", READY_TIMEOUT_S, proc)
        ready_s = time.perf_counter() - started
        time.sleep(3)
        ready = proc_status(proc.pid)
        latencies = []
        for i in range(changes):
            rel = f"d{i % fixture.folders:04d}/change-{i:04d}.txt"
            seq = backend.last_seq()
            t0 = time.perf_counter()
            (fixture.tree / rel).write_text(f"change {i}\n")
            wait_listed(backend, seq, REMOTE + rel, CHANGE_TIMEOUT_S, proc)
            latencies.append(time.perf_counter() - t0)
        time.sleep(2)
        after = proc_status(proc.pid)
        if largest:  # idle starts when the active minute after the last change has passed
            time.sleep(ACTIVE_FOR_S)
        cpu0, req0, t0 = cpu_seconds(proc.pid), backend.requests(), time.perf_counter()
        time.sleep(idle_s)
        cpu1, req1, t1 = cpu_seconds(proc.pid), backend.requests(), time.perf_counter()
        idle = proc_status(proc.pid)
    finally:
        code = stop(proc)
    log = daemon_log_summary(fixture.work / f"daemon-{len(ctx.cache)}.log")
    result = {"files": files, "changes": len(latencies), "ready_seconds": round(ready_s, 2),
              **percentiles_ms(latencies), "rss_mib_ready": ready["VmRSS"],
              "rss_mib_after_changes": after["VmRSS"], "rss_mib_peak": idle["VmHWM"],
              "threads": idle["Threads"], "idle_seconds": round(t1 - t0, 1),
              "idle_cpu_percent": round(100 * (cpu1 - cpu0) / (t1 - t0), 3),
              "idle_requests_per_min": round((req1 - req0) * 60 / (t1 - t0), 1),
              "initial_sync": fixture.initial, "daemon_log": log, "daemon_exit_code": code}
    ctx.cache[key] = result
    return result


def _log_notes(row: RowResult, where: str, log: dict[str, Any]) -> None:
    if log["errors"] or log["warnings"]:
        worst = "; ".join(f"{n} x {what}" for what, n in log["most_frequent"].items())
        row.notes.append(f"{where}: the daemon logged {log['errors']} errors and "
                         f"{log['warnings']} warnings ({worst})")


def row_latency(ctx: Ctx, row: RowResult) -> None:
    sizes = ctx.params["daemon_sizes"]
    row.params = {"sizes": sizes, "changes_at_largest": ctx.params["changes"],
                  "changes_at_smaller": ctx.params["changes_small"], "debounce_ms": 100,
                  "change": "a new one-line file in an existing folder"}
    runs = {str(n): study(ctx, n) for n in sizes}
    row.containersync = {n: {k: r[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms",
                                                "ready_seconds", "daemon_log")}
                         for n, r in runs.items()}
    for n, r in runs.items():
        _log_notes(row, f"{int(n):,} files", r["daemon_log"])
    small, big = runs[str(sizes[0])], runs[str(sizes[-1])]
    label = f"{sizes[0]:,} files"
    row.checks += [
        Check(f"p50 at {sizes[-1]:,} files", big["p50_ms"] / 1000, "s", 0.25,
              baseline=label, baseline_value=small["p50_ms"] / 1000),
        Check(f"p99 at {sizes[-1]:,} files", big["p99_ms"] / 1000, "s", 0.6,
              baseline=label, baseline_value=small["p99_ms"] / 1000),
        Check(f"p50 ratio {sizes[-1]:,} / {sizes[0]:,}", big["p50_ms"] / 1000, "s", 1.3,
              baseline=label, baseline_value=small["p50_ms"] / 1000, compared="ratio"),
    ]


def row_memory(ctx: Ctx, row: RowResult) -> None:
    files = ctx.params["daemon_sizes"][-1]
    r = study(ctx, files)
    row.params = {"files": files, "changes": r["changes"]}
    row.containersync = {k: r[k] for k in ("rss_mib_ready", "rss_mib_after_changes",
                                           "rss_mib_peak", "threads")}
    row.notes.append("peak is VmHWM since the daemon started on a synced index (its first "
                     "cycle included), not during an initial upload")
    row.checks += [
        Check(f"RSS after {r['changes']} changes", r["rss_mib_after_changes"], "MiB", 100),
        Check("peak RSS (VmHWM)", r["rss_mib_peak"], "MiB", 150),
    ]


def row_idle_cpu(ctx: Ctx, row: RowResult) -> None:
    files = ctx.params["daemon_sizes"][-1]
    r = study(ctx, files)
    row.params = {"files": files, "idle_seconds": r["idle_seconds"]}
    row.notes.append(f"the window starts {ACTIVE_FOR_S + 2:.0f} s after the last change: for a "
                     "minute after a change the daemon pulls every active_pull_interval_seconds")
    row.containersync = {k: r[k] for k in ("idle_cpu_percent", "idle_requests_per_min")}
    row.checks.append(Check("idle CPU of one core", r["idle_cpu_percent"], "%", 0.3))


def row_many_mappings(ctx: Ctx, row: RowResult) -> None:
    p = ctx.params
    count, per = p["mappings"], p["mapping_files"]
    row.params = {"mappings": count, "files_each": per, "idle_seconds": p["idle_s"],
                  "threads_bound": 64, "idle_requests_per_min_bound": 120}
    row.notes.append("the thread and idle-request bounds are the harness's reading of "
                     "'bounded' (independent of the mapping count), not numbers from issue 9")
    work = ctx.dir("many-mappings")
    mappings = []
    for i in range(count):
        write_tree(work / f"m{i:03d}", per, per_dir=per)
        mappings.append({"name": f"m{i:03d}", "local": str(work / f"m{i:03d}")})
    with Backend(work / "backend") as backend:
        config = write_config(work, backend.base_url, mappings)
        ctx.log(row.row, f"daemon with {count} mappings of {per} files")
        started = time.perf_counter()
        proc = start_daemon(config, work / "daemon.log")
        peak_threads = 0
        converged = False
        try:
            end = started + p["mappings_timeout_s"]
            while time.perf_counter() < end and proc.poll() is None:
                peak_threads = max(peak_threads, int(proc_status(proc.pid)["Threads"]))
                if backend.file_count() >= count * per:
                    converged = True
                    break
                time.sleep(0.5)
            converge_s = time.perf_counter() - started
            listed = backend.file_count()
            time.sleep(5)
            settled = proc_status(proc.pid)
            req0, t0 = backend.requests(), time.perf_counter()
            idle_end = t0 + p["idle_s"]
            while time.perf_counter() < idle_end:
                peak_threads = max(peak_threads, int(proc_status(proc.pid)["Threads"]))
                time.sleep(0.5)
            req1, t1 = backend.requests(), time.perf_counter()
            idle = proc_status(proc.pid)
        finally:
            code = stop(proc)
    per_min = round((req1 - req0) * 60 / (t1 - t0), 1)
    log = daemon_log_summary(work / "daemon.log")
    _log_notes(row, f"{count} mappings", log)
    if not converged:
        row.notes.append(f"not converged after {p['mappings_timeout_s']} s ({listed} of "
                         f"{count * per} files): the 'idle' window still had uploads and retries")
    row.containersync = {"converged": converged, "converge_seconds": round(converge_s, 1),
                         "files_listed": listed, "threads_peak": peak_threads,
                         "threads_idle": idle["Threads"], "rss_mib_converged": settled["VmRSS"],
                         "rss_mib_idle": idle["VmRSS"], "rss_mib_peak": idle["VmHWM"],
                         "idle_requests_per_min": per_min, "daemon_log": log,
                         "daemon_exit_code": code}
    row.checks += [
        Check("converges (all files listed)", float(converged), "", 1, op=">="),
        Check("peak threads", peak_threads, "", 64),
        Check("RSS when idle", idle["VmRSS"], "MiB", 200),
        Check("idle requests per minute", per_min, "/min", 120),
    ]
