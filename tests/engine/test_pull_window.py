"""A pull keeps its transfer window full and pays one index commit per window of
downloads (issue 9's pull row), without giving up the order the crash guarantees need:
an intent committed before its action starts, a result committed before it is relied on.

Counted, not timed: the index's ``COMMIT`` statements (SQLite's trace hook on the index's
own connection, which the cycle's thread alone uses) and the transfer slots held
(``Pacer.active``) while such a commit runs. Real backend over HTTP, real files.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.execute.outcome import Outcome
from containersync.localapi.embedded import RunningServer
from containersync.model.kinds import OutcomeKind
from containersync.model.window import Window
from support.backend import add_assistant_file

WINDOW = 4
DEADLINE = 10.0


def now() -> datetime:
    return datetime.now(UTC)


def seeded(ctx: MappingContext, server: RunningServer, files: int) -> Path:
    """A synced mapping whose container then gets ``files`` assistant files under ``p/``;
    the client's window is fixed at ``WINDOW`` (no growth, no latency shrink)."""
    root = ctx.settings.local_root
    (root / "seed.txt").write_text("seed\n")
    run_cycle(ctx, CycleOptions(), now=now)
    state = ctx.index.mapping(ctx.name)
    assert state is not None and state.container_id is not None
    for i in range(files):
        add_assistant_file(server, state.container_id, f"/mnt/data/p/f{i:03d}.txt",
                           f"content {i}\n".encode())
    ctx.client.pacer.window = Window(maximum=WINDOW, start=WINDOW, tolerance=math.inf)
    return root / "p"


def landed(folder: Path) -> int:
    try:
        return sum(1 for n in os.listdir(folder) if n.endswith(".txt"))
    except FileNotFoundError:
        return 0


def on_commit(ctx: MappingContext, hook: Callable[[], None]) -> Callable[[], None]:
    conn = ctx.index._conn  # sqlite3's own hook on the index's connection

    def trace(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            hook()

    conn.set_trace_callback(trace)
    return lambda: conn.set_trace_callback(None)


def test_a_pull_commits_once_per_window_of_downloads(
        ctx: MappingContext, local_server: RunningServer) -> None:
    files = 64
    folder = seeded(ctx, local_server, files)
    commits: list[int] = []
    stop = on_commit(ctx, lambda: commits.append(landed(folder)))
    try:
        report = run_cycle(ctx, CycleOptions(), now=now)
    finally:
        stop()
    assert report.counts.get(OutcomeKind.DOWNLOADED, 0) == files, report.counts
    assert landed(folder) == files
    during = [c for c in commits if c < files]  # commits while downloads remained
    # one per window: the intents of the next window with the results of the last,
    # never a commit for the results and another for the intents
    assert len(during) <= files / WINDOW + 2, f"{len(during)}: {commits}"
    assert ctx.index.intents(ctx.name) == []


def test_transfers_start_while_the_index_commits(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """While the cycle's thread is in a commit, a download whose intent was committed
    before starts as soon as a slot frees: more files land during the commit than were
    in flight when it began. (Counted at every commit that began with such a download
    waiting: its intent open, not in flight, not landed.)"""
    files = 48
    folder = seeded(ctx, local_server, files)
    pacer = ctx.client.pacer
    reader = sqlite3.connect(ctx.index.path)  # what was committed before this commit
    checked: list[tuple[int, int, int]] = []

    def hold_commit() -> None:
        active = pacer.active  # first: a download counted here and as landed is not waiting
        before = landed(folder)
        begun = reader.execute("SELECT count(*) FROM intents WHERE mapping = ?"
                               " AND kind = 'download'", (ctx.name,)).fetchone()[0]
        recorded = reader.execute("SELECT count(*) FROM bases WHERE mapping = ?"
                                  " AND path LIKE 'p/%'", (ctx.name,)).fetchone()[0]
        waiting = begun - active - (before - recorded)
        if waiting < 1 or active < 1:
            return
        end = time.monotonic() + DEADLINE
        while landed(folder) <= before + active and time.monotonic() < end:
            time.sleep(0.002)
        checked.append((active, waiting, landed(folder) - before))

    stop = on_commit(ctx, hold_commit)
    try:
        run_cycle(ctx, CycleOptions(), now=now)
    finally:
        stop()
        reader.close()
    assert landed(folder) == files
    assert checked, "no commit began with a download waiting for a slot"
    assert all(done > active for active, _waiting, done in checked), checked


@pytest.mark.parametrize("after", [1, 9])
def test_a_drain_leaves_no_intent_and_performs_nothing_it_did_not_record(
        ctx: MappingContext, local_server: RunningServer, after: int) -> None:
    """Stopping mid-pull: actions begun but never started have their intents cleared
    (nothing to settle), and every file on disk is one the index recorded."""
    files = 40
    folder = seeded(ctx, local_server, files)
    seen: list[Outcome] = []
    report = run_cycle(ctx, CycleOptions(on_outcome=seen.append,
                                         should_stop=lambda: len(seen) >= after), now=now)
    downloaded = report.counts.get(OutcomeKind.DOWNLOADED, 0)
    assert after <= downloaded < files
    assert landed(folder) == downloaded
    assert ctx.index.intents(ctx.name) == []
    # the next cycle pulls the rest
    run_cycle(ctx, CycleOptions(), now=now)
    assert landed(folder) == files
