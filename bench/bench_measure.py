"""Measuring helpers of the harness: trees, configs, timed commands, /proc readings.

Nothing here knows a row; ``run.py``'s rows combine these. Every wait is bounded.
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
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_sync_common import KEY_ENV

PER_DIR = 100
PATHS = re.compile(r"/[^\s;,)]+")  # so one problem on many mappings counts as one
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def write_tree(root: Path, count: int, *, size: int = 0, per_dir: int = PER_DIR) -> None:
    """``count`` files in folders of ``per_dir`` (``d0000/f000.txt`` ...): a few bytes each,
    or ``size`` random bytes each when ``size`` is given."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        folder = root / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            folder.mkdir(exist_ok=True)
        content = os.urandom(size) if size else b"%d\n" % i
        fd = os.open(folder / f"f{i % per_dir:03d}.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o644)
        try:
            os.write(fd, content)
        finally:
            os.close(fd)


def age_tree(root: Path, seconds: float = 3600) -> None:
    """Date every file under ``root`` ``seconds`` back. A tree synced right after it was
    written is racily clean (containersync re-reads, once, each file whose stat was taken
    within 2 s of its mtime: ``model.entry.RACY_NS``); a no-op row measures a tree that was
    not just written."""
    then = time.time_ns() - int(seconds * 1e9)
    for folder, _dirs, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(folder, name), ns=(then, then), follow_symlinks=False)


def write_config(work: Path, base_url: str, mappings: Sequence[dict[str, str]], *,
                 daemon: dict[str, object] | None = None, name: str = "config.toml") -> Path:
    """A config with ``mappings`` (each ``name``, ``local`` and optionally ``container_id``)."""
    lines = ["[api]", f'base_url = "{base_url}"', f'api_key_env = "{KEY_ENV}"',
             "[state]", f'dir = "{work / "state"}"']
    if daemon:
        lines.append("[daemon]")
        lines += [f"{k} = {v}" for k, v in daemon.items()]
    for mapping in mappings:
        lines += ["[[mappings]]", f'name = "{mapping["name"]}"', f'local = "{mapping["local"]}"']
        if "container_id" in mapping:
            lines += ["[mappings.container]", f'id = "{mapping["container_id"]}"']
    config = work / name
    config.write_text("\n".join(lines) + "\n")
    return config


def containersync(*args: str) -> list[str]:
    return [sys.executable, "-m", "containersync", *args]


def env() -> dict[str, str]:
    return {**os.environ, KEY_ENV: "sk-bench"}


def timed(cmd: Sequence[str], *, timeout: float, cwd: Path | None = None,
          extra_env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``cmd`` to completion; returns (wall seconds, the completed process)."""
    started = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**env(), **(extra_env or {})})
    return time.perf_counter() - started, proc


def median_of(rounds: int, run: Callable[[], float]) -> dict[str, object]:
    """Run ``run`` (which returns seconds) ``rounds`` times: median, min and every round."""
    values = [run() for _ in range(rounds)]
    return {"seconds": round(statistics.median(values), 3), "min_seconds": round(min(values), 3),
            "rounds": [round(v, 3) for v in values]}


def percentiles_ms(latencies_s: Sequence[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in latencies_s)
    if len(ms) < 2:
        return {"p50_ms": round(ms[0], 1), "p90_ms": round(ms[0], 1),
                "p99_ms": round(ms[0], 1), "max_ms": round(ms[0], 1)}
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(statistics.median(ms), 1), "p90_ms": round(qs[89], 1),
            "p99_ms": round(qs[98], 1), "max_ms": round(ms[-1], 1)}


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM in MiB and the thread count, from /proc/<pid>/status."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
        elif key == "Threads":
            out[key] = int(value)
    return out


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds the process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    return sum(cpu_split(pid))


def tool(name: str) -> str | None:
    return shutil.which(name)


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.01,
             what: str = "condition") -> float:
    """Poll ``predicate`` until true; returns the seconds it took. Raises TimeoutError."""
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)
    return time.perf_counter() - started


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def daemon_log_summary(path: Path) -> dict[str, object]:
    """Counts of a JSON daemon log's warnings and errors, and its most frequent problems
    (an exception's last line, else the event)."""
    counts = {"warning": 0, "error": 0}
    top: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        level = entry.get("level")
        if level not in ("warning", "error", "critical"):
            continue
        counts["error" if level == "critical" else level] += 1
        exc = str(entry.get("exception") or "").strip().splitlines()
        key = PATHS.sub("<path>", exc[-1] if exc else str(entry.get("event")))[:160]
        top[key] = top.get(key, 0) + 1
    worst = dict(sorted(top.items(), key=lambda kv: -kv[1])[:3])
    return {"warnings": counts["warning"], "errors": counts["error"], "most_frequent": worst}
