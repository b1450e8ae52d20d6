"""Profile the pull row: the daemon (ready, empty folder) while N assistant files appear
at once (one direct insert, as ``rows_transfer.row_pull`` does). Prints, per round, the
seconds until all are local and the daemon's CPU seconds (user + system, from /proc) over
the round: CPU is far less noisy than wall time on a shared machine. ``--spy OUT`` records
the daemon with py-spy during each round (``OUT.<round>``: raw folded stacks of the
threads holding the GIL, so they add up to the daemon's Python CPU); ``--concurrency N``
sets ``api.concurrency``. The daemon's JSON log is copied to ``OUT.daemon.log``.

    .venv/bin/python bench/profile_pull.py [--files 1000] [--rounds 1] [--spy OUT] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_backend import Backend  # noqa: E402
from bench_daemon_common import start_daemon, stop  # noqa: E402
from bench_measure import wait_for, write_config  # noqa: E402
from rows_transfer import _assistant_files, _landed  # noqa: E402


def _cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user+system) by thread name of ``pid`` (names summed)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        key = re.sub(r"-\d+$", "-N", name)
        out[f"{key}#{tid}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _report(before: dict[str, float], after: dict[str, float]) -> None:
    by: dict[str, float] = {}
    for k, v in after.items():
        name = k.split("#")[0]
        by[name] = by.get(name, 0.0) + v - before.get(k, 0.0)
    total = sum(by.values())
    print(f"  daemon CPU {total:.2f} s: " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v > 0.005))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--spy")
    ap.add_argument("--work")
    ap.add_argument("--concurrency", type=int)
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="profile-pull-"))
    local = work / "local"
    local.mkdir(parents=True)
    (local / "probe.txt").write_text("probe\n")
    with Backend(work / "backend") as backend:
        config = write_config(work, backend.base_url, [{"name": "bench", "local": str(local)}])
        if args.concurrency:
            text = config.read_text().replace("[api]\n", f"[api]\nconcurrency = {args.concurrency}\n")
            config.write_text(text)
        proc = start_daemon(config, work / "daemon.log")
        try:
            wait_for(lambda: backend.file_count() >= 1, timeout=120, what="daemon ready")
            cid = backend.containers()[0][0]
            time.sleep(1)
            for r in range(args.rounds):
                spy = None
                if args.spy:
                    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record",
                                            "--pid", str(proc.pid), "--format", "raw",
                                            "--threads", "--gil", "--rate", "250", "--output",
                                            f"{args.spy}.{r}", "--nonblocking"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1.5)
                before = _cpu(proc.pid)
                t0 = time.time()
                backend.seed_files(cid, _assistant_files(f"r{r}", args.files), source="assistant")
                folder = local / f"r{r}"
                s = wait_for(lambda: _landed(folder, args.files, proc),  # noqa: B023
                             timeout=300, what="pulled files")
                after = _cpu(proc.pid)
                print(f"round {r}: {s:.3f} s (seeded at {t0:.3f})", flush=True)
                _report(before, after)
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                time.sleep(1)
        finally:
            stop(proc)
    if args.spy:
        shutil.copy(work / "daemon.log", f"{args.spy}.daemon.log")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
