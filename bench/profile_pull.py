"""Profile the pull row: the daemon (ready, empty folder) while N assistant files appear
at once (one direct insert, as ``rows_transfer.row_pull`` does). Prints, per round, the
seconds until all are local and the daemon's CPU seconds (user + system, from /proc) over
the round: CPU is far less noisy than wall time on a shared machine. ``--spy OUT`` records
the daemon with py-spy during each round (``OUT.<round>``: raw folded stacks of the
threads holding the GIL, so they add up to the daemon's Python CPU); ``--concurrency N``
sets ``api.concurrency``. The daemon's JSON log is copied to ``OUT.daemon.log``.
``--timeline`` runs the daemon at debug level and prints, per round, when (seconds after
the insert) the cycle that pulled the files started and when the first, the median and
the last of its downloads was recorded: the wait for the pull check apart from the
downloads.

    .venv/bin/python bench/profile_pull.py [--files 1000] [--rounds 1] [--spy OUT] [--work DIR]
                                          [--concurrency N] [--timeline]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_backend import Backend  # noqa: E402
from bench_daemon_common import start_daemon, stop  # noqa: E402
from bench_measure import wait_for, write_config  # noqa: E402
from rows_transfer import _assistant_files, _landed  # noqa: E402


def _cpu(pid: int) -> dict[str, tuple[float, float]]:
    """CPU seconds (user, system) by thread of ``pid``."""
    out: dict[str, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        key = re.sub(r"-\d+$", "-N", name)
        out[f"{key}#{tid}"] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return out


def _report(before: dict[str, tuple[float, float]],
            after: dict[str, tuple[float, float]]) -> None:
    by: dict[str, float] = {}
    user = system = 0.0
    for k, (u, s) in after.items():
        name = k.split("#")[0]
        u0, s0 = before.get(k, (0.0, 0.0))
        user, system = user + u - u0, system + s - s0
        by[name] = by.get(name, 0.0) + u - u0 + s - s0
    total = sum(by.values())
    print(f"  daemon CPU {total:.2f} s (user {user:.2f}, system {system:.2f}): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v > 0.005))


def _timeline(log: Path, seeded: float, until: float) -> str:
    """The round's cycle start and download times, from the daemon's debug log."""
    done: list[float] = []
    starts: list[float] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
            at = datetime.fromisoformat(event["timestamp"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if not seeded <= at <= until + 1:
            continue
        if event.get("event") == "action" and event.get("outcome") == "downloaded":
            done.append(at - seeded)
        elif event.get("event") == "cycle" and event.get("downloaded"):
            starts.append(at - event["duration_s"] - seeded)
    if not done:
        return "  timeline: no downloads logged"
    done.sort()
    return (f"  timeline: cycle started {min(starts, default=float('nan')):.3f} s, downloads "
            f"first {done[0]:.3f} / median {done[len(done) // 2]:.3f} / last {done[-1]:.3f} s"
            f" ({len(done)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--spy")
    ap.add_argument("--work")
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--timeline", action="store_true")
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
        proc = start_daemon(config, work / "daemon.log", debug=args.timeline)
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
                if args.timeline:
                    time.sleep(0.5)  # the cycle's own line comes after its last download
                    print(_timeline(work / "daemon.log", t0, t0 + s), flush=True)
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
