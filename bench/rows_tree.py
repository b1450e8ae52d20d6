"""Whole-tree rows: a no-op sync of a large tree (after a real initial sync) against local
tools comparing two identical trees, the full listing of a large container at a live
link's latency, and the start-up of the command line."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_backend import Backend
from bench_fixtures import Ctx, SyncedTree
from bench_measure import containersync, median_of, timed, tool, write_config, write_tree
from bench_report import Check, RowResult
from bench_sync_common import run_sync

HERE = Path(__file__).resolve().parent


def _tool_runs(ctx: Ctx, row: RowResult, src: Path, dst: Path) -> None:
    """rsync, rclone, unison and find over two identical trees, median of the rounds."""
    rounds = ctx.params["noop_rounds"]
    rclone_conf = ctx.work / "rclone.conf"
    rclone_conf.touch()
    unison_dir = ctx.dir("unison-archives")
    commands: dict[str, tuple[str, list[str], dict[str, str]]] = {
        "rsync_an": ("rsync", ["-an", "--delete", f"{src}/", f"{dst}/"], {}),
        "rclone_sync_dry_run": ("rclone", ["sync", "--dry-run", "--config", str(rclone_conf),
                                           str(src), str(dst)], {}),
        "unison_batch": ("unison", [str(src), str(dst), "-batch", "-silent", "-ui", "text"],
                         {"UNISON": str(unison_dir)}),
        "find": ("find", [str(src), "-type", "f"], {}),
    }
    for name, (exe, args, extra) in commands.items():
        path = tool(exe)
        if path is None:
            row.baselines[name] = {"skipped": f"{exe} not installed"}
            row.notes.append(f"{exe} not installed: skipped (apt-get install -y {exe})")
            continue
        if exe == "unison":  # its first run builds the archives; only later runs are no-ops
            timed([path, *args], timeout=3600, extra_env=extra)

        def once(path: str = path, args: list[str] = args, extra: dict[str, str] = extra) -> float:
            seconds, proc = timed([path, *args], timeout=3600, extra_env=extra)
            if proc.returncode != 0:
                raise RuntimeError(f"{path} exited {proc.returncode}: {proc.stderr[-800:]}")
            return seconds

        row.baselines[name] = median_of(rounds, once)


def _python_floor(ctx: Ctx, row: RowResult, fixture: SyncedTree) -> None:
    """``baselines.py noop-floor`` over the synced tree and its container: its first run
    writes its state (untimed, as unison's first run builds its archives); each timed run
    must find nothing changed on either side."""
    state = ctx.dir("noop-floor") / "state.sqlite3"
    cmd = [sys.executable, str(HERE / "baselines.py"), "noop-floor",
           "--base-url", fixture.backend.base_url, "--container", fixture.container_id,
           "--tree", str(fixture.tree), "--state", str(state), "--workers", "4"]
    timeout = ctx.params["sync_timeout_s"]
    timed(cmd, timeout=timeout)

    def once() -> float:
        seconds, proc = timed(cmd, timeout=timeout)
        found = json.loads(proc.stdout) if proc.returncode == 0 else None
        if found is None or found["local_changes"] or found["remote_changes"] \
                or found["listed"] != fixture.files:
            raise RuntimeError(f"noop-floor: exit {proc.returncode}, {proc.stdout[-300:]} "
                               f"{proc.stderr[-800:]}")
        return seconds

    row.baselines["python_floor"] = median_of(ctx.params["noop_rounds"], once)


def row_noop(ctx: Ctx, row: RowResult) -> None:
    p = ctx.params
    fixture = ctx.synced_tree(p["noop_files"])
    row.params = {"files": fixture.files, "folders": fixture.folders, "rounds": p["noop_rounds"],
                  "initial_sync": fixture.initial}
    row.seeded = "api (a real initial sync)"
    runs: list[dict[str, Any]] = []
    for _ in range(p["noop_rounds"]):
        seconds, result, code = run_sync(fixture.config, p["sync_timeout_s"])
        runs.append({"seconds": round(seconds, 3), "engine_seconds": result["seconds"],
                     "requests": result["requests"], "files_hashed": result["files_hashed"],
                     "transfers": int(result["uploaded"]) + int(result["downloaded"]),  # type: ignore[call-overload]
                     "exit_code": code})
    row.containersync = {"seconds": statistics.median(r["seconds"] for r in runs),
                         "engine_seconds": statistics.median(r["engine_seconds"] for r in runs),
                         "runs": runs}
    copy = ctx.dir("noop-copy") / "tree"
    subprocess.run(["cp", "-a", str(fixture.tree), str(copy)], check=True)
    ctx.log(row.row, "baselines over an identical copy")
    _tool_runs(ctx, row, fixture.tree, copy)
    shutil.rmtree(copy.parent)
    ctx.log(row.row, "the plain-Python floor over the synced tree")
    _python_floor(ctx, row, fixture)
    rclone = row.baselines.get("rclone_sync_dry_run", {}).get("seconds")
    floor = row.baselines["python_floor"]["seconds"]
    work_done = max(r["transfers"] + r["files_hashed"] for r in runs)
    row.checks += [
        Check("files hashed + transferred", work_done, "", 0),
        Check(f"no-op sync of {fixture.files:,} files", row.containersync["seconds"], "s", 2.0,
              baseline="rclone sync --dry-run", baseline_value=rclone, compared="ratio"),
        # the same target for the least a Python client does in one process: where this
        # fails, the target is out of reach for such a client, not just for this engine
        Check("plain-Python floor (not containersync)", floor, "s", 2.0,
              baseline="rclone sync --dry-run", baseline_value=rclone, compared="ratio",
              note="baselines.py noop-floor: list, lstat, compare with a state file"),
    ]
    row.notes.append(f"containersync / plain-Python floor: "
                     f"{row.containersync['seconds'] / floor:.2f}")


def row_listing(ctx: Ctx, row: RowResult) -> None:
    p = ctx.params
    files, latency = p["listing_files"], p["listing_latency_ms"]
    row.params = {"files": files, "latency_ms": latency,
                  "how": "sync of an empty folder with a container of foreign user files, "
                         "then the same sync again"}
    row.seeded = "direct"
    work = ctx.dir("listing")
    (work / "local").mkdir()
    floor_s = round((files // 100 + 1) * latency / 1000, 1)
    runs: dict[str, dict[str, object]] = {}
    with Backend(work / "backend", latency_ms=latency) as backend:
        cid = backend.create_container("listing")
        backend.seed_files(cid, ((f"/mnt/data/s{i // 100:04d}/f{i % 100:03d}.txt", b"x\n")
                                 for i in range(files)), source="user")
        config = write_config(work, backend.base_url,
                              [{"name": "bench", "local": str(work / "local"), "container_id": cid}])
        for run in ("cold", "warm"):
            before = backend.requests()
            ctx.log(row.row, f"{run} listing of {files:,} files at {latency} ms per request")
            seconds, result, code = run_sync(config, p["sync_timeout_s"])
            runs[run] = {"seconds": round(seconds, 3), "engine_seconds": result["seconds"],
                         "requests": backend.requests() - before, "exit_code": code,
                         "downloaded": result["downloaded"], "uploaded": result["uploaded"]}
    row.containersync = {**runs, "pages_sequential_floor_s": floor_s}
    row.notes.append("cold: the first sync knows no listing positions, so it has no "
                     "cursors: it reads from both ends at once until they meet (the floor "
                     f"of {files // 100 + 1:,} sequential pages is {floor_s} s, half of it "
                     "for two ends); warm: the second sync of the same mapping (what the "
                     "daemon's periodic full reconcile does) lists segments side by side "
                     "from the positions the first one stored")
    row.checks.append(Check(f"warm full listing of {files:,} files",
                            float(runs["warm"]["seconds"]), "s", 15,  # type: ignore[arg-type]
                            note=f"cold (first sync): {runs['cold']['seconds']} s; "
                                 f"sequential floor {floor_s} s"))


def row_startup(ctx: Ctx, row: RowResult) -> None:
    rounds = ctx.params["startup_rounds"]
    script = Path(sys.executable).parent / "containersync"
    cli = [str(script)] if script.exists() else containersync()
    work = ctx.dir("startup")
    write_tree(work / "tree", 3)
    config = write_config(work, "http://127.0.0.1:9/v1", [{"name": "bench",
                                                           "local": str(work / "tree")}])
    cases = {"python_c_pass": [sys.executable, "-c", "pass"], "version": [*cli, "--version"],
             "status": [*cli, "status", "--config", str(config)]}
    results: dict[str, dict[str, object]] = {}
    for name, cmd in cases.items():
        def once(cmd: list[str] = cmd) -> float:
            seconds, proc = timed(cmd, timeout=60)
            if proc.returncode != 0:
                raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr[-500:]}")
            return seconds
        once()  # warm the page cache and the bytecode cache
        results[name] = median_of(rounds, once)
    row.params = {"rounds": rounds, "command": cli[0]}
    row.baselines["python_c_pass"] = results.pop("python_c_pass")
    row.containersync = results
    base = float(row.baselines["python_c_pass"]["seconds"])
    for name in ("version", "status"):
        row.checks.append(Check(f"containersync {'--version' if name == 'version' else name}",
                                float(results[name]["seconds"]), "s", 0.15,  # type: ignore[arg-type]
                                baseline="python -c pass", baseline_value=base))
