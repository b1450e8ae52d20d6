"""Seeded fault soak (issue 7's proof): the daemon as a subprocess against a served local
backend that answers 5xx, 429 with ``retry-after``, drops connections before and after it
acted, and answers slowly, while a seeded script changes both sides (files, folders,
renames, big and empty files, assistant writes and deletes, clock ticks). Then faults
off: the daemon must converge to a state where ``support.ledger`` finds nothing wrong,
and a one-shot ``sync`` afterwards must be a no-op.

Default: one short seed in one path mode. ``-m soak``: several hundred changes for 3
seeds in both path modes. The counts (changes, faults, conflicts, files) are printed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from soak_script import Script

from containersync.localapi.embedded import RunningServer
from support.backend import clear_faults
from support.daemon_harness import DaemonRun
from support.ledger import describe
from support.scenario import sync

CONVERGE_S = 60.0


@pytest.fixture
def runs() -> Iterator[list[DaemonRun]]:
    made: list[DaemonRun] = []
    yield made
    for run in made:
        run.kill()


def start_daemon(tmp: Path, server: RunningServer, runs: list[DaemonRun]) -> DaemonRun:
    run = DaemonRun(tmp, server, daemon={"debounce_ms": 50, "max_wait_ms": 500,
                                         "pull_interval_seconds": 0.3,
                                         "full_sync_interval_seconds": 2})
    # deletions are part of the script: the max-delete rail would halt it (tested elsewhere)
    run.config.write_text(run.config.read_text() + "max_delete_fraction = 1.0\n")
    runs.append(run)
    return run


def soak(tmp: Path, server: RunningServer, runs: list[DaemonRun], seed: int, changes: int,
         report: Callable[[str], None]) -> None:
    run = start_daemon(tmp, server, runs)
    script = Script(random.Random(seed), run, server)
    script.seed_files(20)
    run.start(log_level="debug")  # one line per action, for a failure's story
    script.cid = run.container_id()
    run.wait_ready()
    while script.changes < changes:
        script.step()
        time.sleep(script.rng.uniform(0, 0.04))  # pacing: let the daemon interleave
    clear_faults(server)
    server.advance_clock(1)

    problems, stable = script.problems(), 0
    deadline = time.monotonic() + CONVERGE_S
    while stable < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        problems = script.problems()
        stable = stable + 1 if not problems else 0
    status = run.status()
    code = run.stop()
    if not problems:
        problems = script.problems()
    after = sync(run.config, env={"CONTAINERSYNC_TEST_KEY": "sk-unused"})
    moved = {k: v for k, v in after.counts.items() if v} if after.json.get("mappings") else {}
    local = script.local()
    conflicts = sum(".conflict-" in p for p in local)
    report(f"soak seed={seed} paths={'assigned' if server.store.assign_paths else 'honoured'}: "
           f"{script.changes} changes, {script.faults} faults injected, {conflicts} conflict "
           f"copies, {len(local)} files at the end; daemon exit {code}, "
           f"{'converged' if not problems else f'{len(problems)} problems'}")
    if after.code != 0 or moved:
        problems.append(f"a sync after the daemon was not a no-op: exit {after.code} {moved} "
                        f"{after.err.strip()}")
    assert not problems, "\n".join(
        [f"seed {seed}: not converged after the faults stopped:", *problems,
         f"daemon status: {json.dumps(status.get('daemon'), default=str)[:400]}",
         describe(script.objects(), local), "the changes naming those paths and contents:",
         *script.history(problems), "the daemon's log lines naming those paths:",
         *daemon_lines(run.log(), problems)])


def daemon_lines(log: str, problems: list[str], limit: int = 60) -> list[str]:
    """The daemon's log lines that name a path a problem names (the last ``limit``)."""
    paths = {w.split("-", 2)[2] for p in problems for w in p.split() if w.count("-") >= 2
             and w.startswith("@")}
    paths |= {w.rstrip(":") for p in problems for w in p.split() if "/" in w or "." in w}
    picked = [line for line in log.splitlines() if any(f'"{q}' in line or f"'{q}" in line
                                                      or f"/{q}" in line for q in paths)]
    return [f"  {line[:400]}" for line in picked[-limit:]]


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    def report(text: str) -> None:
        with capsys.disabled():
            print(f"\n{text}")
    return report


@pytest.mark.slow
def test_daemon_soak_short(tmp_path: Path, local_server_factory: Callable[..., RunningServer],
                           runs: list[DaemonRun], say: Callable[[str], None]) -> None:
    soak(tmp_path, local_server_factory(), runs, seed=7, changes=100, report=say)


@pytest.mark.soak
@pytest.mark.timeout(900)
@pytest.mark.parametrize("assign_paths", [False, True], ids=["paths-honoured", "paths-assigned"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_daemon_soak(tmp_path: Path, local_server_factory: Callable[..., RunningServer],
                     runs: list[DaemonRun], say: Callable[[str], None], seed: int,
                     assign_paths: bool) -> None:
    soak(tmp_path, local_server_factory(assign_paths=assign_paths), runs, seed=seed,
         changes=400, report=say)
