"""The daemon says each problem once per run, not on every cycle (issue 8 follow-up), like
``sync`` and the held-back notes: again only once it went away and came back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from containersync.localapi.embedded import RunningServer
from support.daemon_harness import DaemonRun, wait_for


def _said(run: DaemonRun, path: str) -> int:
    lines = [json.loads(line) for line in run.log().splitlines() if line.startswith("{")]
    return sum(1 for e in lines if e.get("event") == "problem" and e.get("path") == path)


def _after_cycles(run: DaemonRun, more: int) -> None:
    start = run.daemon()["cycles"]
    wait_for(lambda: run.daemon()["cycles"] >= start + more, f"{more} more cycles")


def test_each_problem_is_logged_once_until_it_goes_away_and_comes_back(
        tmp_path: Path, local_server: RunningServer, runs: list[DaemonRun]) -> None:
    run = DaemonRun(tmp_path, local_server, daemon={"full_sync_interval_seconds": 0.2})
    (run.local / "a.txt").write_text("a")
    os.symlink("a.txt", run.local / "link")  # a problem every full cycle finds again
    runs.append(run.start())
    run.wait_ready()
    _after_cycles(run, 4)  # full cycles, each reporting the link
    assert _said(run, "link") == 1, run.log()
    (run.local / "link").unlink()
    _after_cycles(run, 2)
    os.symlink("a.txt", run.local / "link")  # back: said again, once
    wait_for(lambda: _said(run, "link") == 2, "the problem said again")
    _after_cycles(run, 3)
    assert _said(run, "link") == 2
    assert run.stop() == 0
