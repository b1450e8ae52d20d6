"""Transfer rows: the initial push of many small files, one large upload, and the pull of
files the assistant wrote. Every client gets a fresh backend (data dir and process) at the
row's latency; every figure is the wall time of a whole process, start-up included.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_backend import Backend
from bench_daemon_common import start_daemon, stop
from bench_fixtures import Ctx
from bench_measure import cpu_split, timed, tool, wait_for, write_config, write_tree
from bench_report import Check, RowResult
from bench_sync_common import run_sync

HERE = Path(__file__).resolve().parent
TODAY_PUSH_0MS_S = 5.1  # issue 9's figure for 2,000 x 4 KiB at 0 ms (the "today" of its target)


def _backend_cpu(before: tuple[float, float], after: tuple[float, float]) -> dict[str, float]:
    return {"user_s": round(after[0] - before[0], 2), "system_s": round(after[1] - before[1], 2)}


def _cs_sync(ctx: Ctx, name: str, tree: Path, latency_ms: int, *,
             flush: bool = False) -> dict[str, Any]:
    """``flush``: write out the page cache's dirty pages just before the sync starts."""
    work = ctx.dir(name)
    with Backend(work / "backend", latency_ms=latency_ms) as backend:
        config = write_config(work, backend.base_url, [{"name": "bench", "local": str(tree)}])
        if flush:
            os.sync()
        before = cpu_split(backend.proc.pid)
        seconds, result, code = run_sync(config, ctx.params["sync_timeout_s"])
        cpu = _backend_cpu(before, cpu_split(backend.proc.pid))
    shutil.rmtree(work)
    return {"seconds": round(seconds, 3), "engine_seconds": result["seconds"],
            "requests": result["requests"], "uploaded": result["uploaded"],
            "files_hashed": result["files_hashed"], "exit_code": code, "backend_cpu": cpu}


def _baseline(ctx: Ctx, name: str, latency_ms: int, *args: str) -> dict[str, Any]:
    work = ctx.dir(name)
    with Backend(work / "backend", latency_ms=latency_ms) as backend:
        seconds, proc = timed([sys.executable, str(HERE / "baselines.py"), "push", "--base-url",
                               backend.base_url, *args], timeout=ctx.params["sync_timeout_s"])
    shutil.rmtree(work)
    if proc.returncode != 0:
        raise RuntimeError(f"baseline {args}: {proc.stderr[-1500:]}")
    return {"seconds": round(seconds, 3), **json.loads(proc.stdout)}


def row_push(ctx: Ctx, row: RowResult) -> None:
    p = ctx.params
    files, sample = p["push_files"], min(p["sdk_seq_files"], p["push_files"])
    row.params = {"files": files, "file_bytes": 4096, "latencies_ms": [50, 0],
                  "containersync_concurrency": "default (config)"}
    tree = ctx.dir("push-tree") / "tree"
    write_tree(tree, files, size=4096)
    seq_tree = tree
    if sample < files:
        seq_tree = ctx.dir("push-tree-sample") / "tree"
        write_tree(seq_tree, sample, size=4096)
    t = str(tree)
    for latency in (50, 0):
        ctx.log(row.row, f"containersync sync at {latency} ms")
        row.containersync[f"{latency}ms"] = _cs_sync(ctx, "push-cs", tree, latency)
    ctx.log(row.row, "baselines at 50 ms")
    seq = _baseline(ctx, "push-b", 50, "--tree", str(seq_tree), "--client", "sdk-seq")
    if sample < files:
        seq.update(sampled_files=sample, seconds=round(seq["seconds"] * files / sample, 3))
        row.notes.append(f"official SDK sequential timed on {sample} files, scaled to {files}")
    row.baselines["50ms"] = {
        "sdk_sequential": seq,
        "async_openai_32": _baseline(ctx, "push-b", 50, "--tree", t, "--client", "sdk-async",
                                     "--workers", "32"),
        "httpx_threads_32": _baseline(ctx, "push-b", 50, "--tree", t, "--client",
                                      "httpx-threads", "--workers", "32")}
    ctx.log(row.row, "baselines at 0 ms")
    row.baselines["0ms"] = {"httpx_threads_8": _baseline(
        ctx, "push-b", 0, "--tree", t, "--client", "httpx-threads", "--workers", "8")}
    cs50, cs0 = row.containersync["50ms"]["seconds"], row.containersync["0ms"]["seconds"]
    b50 = row.baselines["50ms"]
    row.checks += [
        Check("at 50 ms vs AsyncOpenAI at 32", cs50, "s", 1.0, baseline="AsyncOpenAI 32",
              baseline_value=b50["async_openai_32"]["seconds"], compared="ratio"),
        Check("at 50 ms vs httpx threads at 32", cs50, "s", 1.2, baseline="httpx threads 32",
              baseline_value=b50["httpx_threads_32"]["seconds"], compared="ratio"),
    ]
    if files == 2000:
        row.notes.append("'today' at 0 ms is issue 9's 5.1 s, not measured in this run")
        row.checks.append(Check("at 0 ms vs today (5.1 s)", cs0, "s", TODAY_PUSH_0MS_S,
                                baseline="httpx threads 8",
                                baseline_value=row.baselines["0ms"]["httpx_threads_8"]["seconds"]))
    else:
        row.notes.append("the 0 ms check against issue 9's 5.1 s needs 2,000 files: not made")


def _one_upload(ctx: Ctx, name: str, command: Callable[[str, str], list[str]]
                ) -> tuple[float, dict[str, float], subprocess.CompletedProcess[str]]:
    """One baseline upload, alone with a fresh backend and a container made beforehand:
    ``command(base_url, container_id)`` is run after ``os.sync()``. Returns its wall
    seconds, the backend's CPU over it, and the finished process."""
    work = ctx.dir(name)
    with Backend(work / "backend") as backend:
        cid = backend.create_container(name)
        os.sync()
        before = cpu_split(backend.proc.pid)
        seconds, proc = timed(command(backend.base_url, cid), timeout=600)
        cpu = _backend_cpu(before, cpu_split(backend.proc.pid))
    shutil.rmtree(work)
    return round(seconds, 3), cpu, proc


def _curl_upload(ctx: Ctx, curl: str, big: Path) -> tuple[float, dict[str, float]]:
    """The wall seconds of one ``curl -F`` upload of ``big``, and the backend's CPU."""
    seconds, cpu, proc = _one_upload(ctx, "upload-curl", lambda url, cid: [
        curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
        "Authorization: Bearer sk-bench", "-F", f"file=@{big}", f"{url}/containers/{cid}/files"])
    if proc.stdout.strip() != "200":
        raise RuntimeError(f"curl upload: HTTP {proc.stdout!r} {proc.stderr[-500:]}")
    return seconds, cpu


def _httpx_upload(ctx: Ctx, big: Path) -> tuple[float, dict[str, float]]:
    """The wall seconds of one ``baselines.py upload`` of ``big`` (httpx, hashing as it
    reads), and the backend's CPU."""
    seconds, cpu, proc = _one_upload(ctx, "upload-httpx", lambda url, cid: [
        sys.executable, str(HERE / "baselines.py"), "upload", "--base-url", url,
        "--container", cid, "--file", str(big)])
    sent = json.loads(proc.stdout) if proc.returncode == 0 else {}
    if sent.get("status") != 200 or sent.get("bytes") != big.stat().st_size:
        raise RuntimeError(f"httpx upload: {proc.stdout[-300:]} {proc.stderr[-800:]}")
    return seconds, cpu


def row_upload(ctx: Ctx, row: RowResult) -> None:
    """The two clients take turns, round by round, and every round starts with the page
    cache's dirty pages written out (``os.sync``), so no round pays for another's
    writeback: on a small VM the backend's kernel time for writing 500 MiB (its spool
    file, then the blob) swings between 0.5 and 2 s from one identical upload to the next,
    and with two rounds per client one such round decided the row."""
    p = ctx.params
    mib = p["upload_mib"]
    row.params = {"mib": mib, "rounds": p["upload_rounds"], "latency_ms": 0,
                  "order": "interleaved, os.sync() before each round"}
    tree = ctx.dir("big-tree") / "tree"
    tree.mkdir()
    with open(tree / "big.bin", "wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    curl = tool("curl")
    if curl is None:
        row.notes.append("curl not installed: baseline skipped")
        row.baselines["curl"] = {"skipped": "not installed"}
    runs: list[dict[str, Any]] = []
    values: list[float] = []
    backend_cpu: list[dict[str, float]] = []
    plain: list[float] = []
    plain_cpu: list[dict[str, float]] = []
    for _ in range(p["upload_rounds"]):  # in turns: containersync, curl, plain httpx
        runs.append(_cs_sync(ctx, "upload-cs", tree, 0, flush=True))
        if curl is not None:
            seconds, cpu = _curl_upload(ctx, curl, tree / "big.bin")
            values.append(seconds)
            backend_cpu.append(cpu)
        seconds, cpu = _httpx_upload(ctx, tree / "big.bin")
        plain.append(seconds)
        plain_cpu.append(cpu)
    row.containersync = {"seconds": statistics.median(r["seconds"] for r in runs), "runs": runs}
    # not a target: what a script using httpx as documented gets, hashing what it sends
    row.baselines["httpx_hashing"] = {"seconds": statistics.median(plain), "rounds": plain,
                                      "backend_cpu": plain_cpu}
    check_base = None
    if curl is not None:
        row.baselines["curl_F"] = {"seconds": statistics.median(values), "rounds": values,
                                   "backend_cpu": backend_cpu}
        check_base = row.baselines["curl_F"]["seconds"]
    row.checks.append(Check(f"one {mib} MiB file", row.containersync["seconds"], "s", 1.3,
                            baseline="curl -F", baseline_value=check_base, compared="ratio"))
    row.notes.append("containersync / plain httpx hashing as it sends: "
                     f"{row.containersync['seconds'] / row.baselines['httpx_hashing']['seconds']:.2f}")


NAME = re.compile(r"f\d{4}\.txt")


def _landed(folder: Path, count: int, daemon: subprocess.Popen[bytes] | None = None) -> bool:
    if daemon is not None and daemon.poll() is not None:
        raise RuntimeError(f"the daemon exited ({daemon.returncode})")
    try:
        return sum(1 for n in os.listdir(folder) if NAME.fullmatch(n)) >= count
    except FileNotFoundError:
        return False


def _assistant_files(prefix: str, count: int) -> list[tuple[str, bytes]]:
    return [(f"/mnt/data/{prefix}/f{i:04d}.txt", os.urandom(4096)) for i in range(count)]


def row_pull(ctx: Ctx, row: RowResult) -> None:
    p = ctx.params
    files, rounds = p["pull_files"], p["pull_rounds"]
    row.params = {"files": files, "file_bytes": 4096, "rounds": rounds, "latency_ms": 0,
                  "active_pull_interval_seconds": "default (1)"}
    row.seeded = "direct"
    row.notes.append("the assistant's write is one direct insert into the backend's store; "
                     "timing starts when it commits")
    work = ctx.dir("pull")
    local = work / "local"
    local.mkdir()
    (local / "probe.txt").write_text("probe\n")
    cs, base = [], []
    with Backend(work / "backend") as backend:
        config = write_config(work, backend.base_url, [{"name": "bench", "local": str(local)}])
        proc = start_daemon(config, work / "daemon.log")
        try:
            wait_for(lambda: backend.file_count() >= 1, timeout=120, what="daemon ready")
            cid = backend.containers()[0][0]
            time.sleep(1)
            for r in range(rounds):
                backend.seed_files(cid, _assistant_files(f"r{r}", files), source="assistant")
                folder = local / f"r{r}"
                cs.append(round(wait_for(lambda: _landed(folder, files, proc),  # noqa: B023
                                         timeout=300, what="pulled files"), 3))
                ctx.log(row.row, f"round {r}: daemon pulled {files} files in {cs[-1]} s")
        finally:
            code = stop(proc)
        for r in range(rounds):
            other = backend.create_container(f"baseline-{r}")
            backend.seed_files(other, _assistant_files("b", files), source="assistant")
            dest = work / f"baseline-{r}"
            seconds, done = timed([sys.executable, str(HERE / "baselines.py"), "pull",
                                   "--base-url", backend.base_url, "--container", other,
                                   "--dest", str(dest), "--workers", "8"], timeout=600)
            if done.returncode != 0 or not _landed(dest / "b", files):
                raise RuntimeError(f"baseline pull failed: {done.stderr[-1500:]}")
            base.append(round(seconds, 3))
    row.containersync = {"seconds": statistics.median(cs), "rounds": cs, "daemon_exit_code": code}
    row.baselines["httpx_list_download_8"] = {"seconds": statistics.median(base), "rounds": base}
    row.checks.append(Check(f"{files} assistant files until local", row.containersync["seconds"],
                            "s", 1.5, baseline="httpx list+download",
                            baseline_value=statistics.median(base), compared="ratio"))
