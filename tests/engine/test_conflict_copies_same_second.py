"""Two conflicts of one file within one second each keep their remote version.

A conflict copy's name carries the second it was made in (``report.conflict-20261123-
101500.csv``), and the scanner ignores conflict copies, so a plan does not see one made
by an earlier cycle of the same second: it picks the same name. The daemon runs cycles
back to back, so two conflicts of one file in a second happen (the assistant and the user
both rewriting it). Landing the second copy over the first lost the first remote version.
Real backend over HTTP, real files, real SQLite; the cycles' clock is the test's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file

T = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)


def _copies(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in root.iterdir() if ".conflict-" in p.name}


def test_a_second_conflict_in_the_same_second_never_lands_over_the_first_copy(
        ctx: MappingContext, local_server: RunningServer) -> None:
    root = ctx.settings.local_root
    (root / "report.csv").write_bytes(b"v0")
    run_cycle(ctx, CycleOptions(), now=lambda: T)
    state = ctx.index.mapping(ctx.name)
    assert state is not None and state.container_id is not None
    cid = state.container_id

    for n in (1, 2):  # both sides rewrite it, twice, within the same second
        (root / "report.csv").write_bytes(f"local edit {n}".encode())
        add_assistant_file(local_server, cid, "/mnt/data/report.csv",
                           f"assistant's version {n}".encode())
        at = T + timedelta(milliseconds=300 * n)
        run_cycle(ctx, CycleOptions(), now=lambda at=at: at)
    # a cycle of the next second may still have a copy to make
    run_cycle(ctx, CycleOptions(), now=lambda: T + timedelta(seconds=1))

    kept = sorted(_copies(root).values())
    assert kept == [b"assistant's version 1", b"assistant's version 2"], _copies(root)
    assert (root / "report.csv").read_bytes() == b"local edit 2"
