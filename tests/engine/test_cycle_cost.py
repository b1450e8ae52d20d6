"""A daemon's per-change work costs what the change costs, not what the tree costs (issue 9).

Counted, not timed: the rows the index hands back to Python (SQLite's ``row_factory`` hook
on the index's own connection sees every one). A whole-table read returns a row per file,
so a count that stays the same while the tree grows tenfold is a cost independent of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from containersync.daemon.cycles import CycleRequest, new_remote_paths, run
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file


def now() -> datetime:
    return datetime.now(UTC)


class Rows:
    """Counts the rows the index's connection returns while ``with``-ed."""

    def __init__(self, ctx: MappingContext) -> None:
        self.conn = ctx.index._conn  # sqlite3's own hook on the index's connection
        self.count = 0

    def _factory(self, _cursor: Any, row: tuple[Any, ...]) -> tuple[Any, ...]:
        self.count += 1
        return row

    def __enter__(self) -> Rows:
        self.conn.row_factory = self._factory
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.row_factory = None


def grow(ctx: MappingContext, total: int) -> None:
    """Make the tree ``total`` files in folders of 50 and sync it with a full cycle, then
    list it with another (uploads are not put in the cache of the listing: the next
    listing does that)."""
    root = ctx.settings.local_root
    for i in range(total):
        f = root / f"d{i // 50:02d}" / f"f{i:04d}.txt"
        if not f.exists():
            f.parent.mkdir(exist_ok=True)
            f.write_text(f"file {i}\n")
    run_cycle(ctx, CycleOptions(), now=now)
    run_cycle(ctx, CycleOptions(), now=now)


def cid(ctx: MappingContext) -> str:
    state = ctx.index.mapping(ctx.name)
    assert state is not None and state.container_id is not None
    return state.container_id


def test_idle_pull_check_reads_the_same_rows_whatever_the_tree_size(
        ctx: MappingContext) -> None:
    read = []
    for total in (20, 200):
        grow(ctx, total)
        with Rows(ctx) as rows:
            assert new_remote_paths(ctx)[:2] == ([], 0)
        read.append(rows.count)
    assert read[0] == read[1], read


def test_pull_check_finds_every_new_object_over_several_pages(
        ctx: MappingContext, local_server: RunningServer) -> None:
    grow(ctx, 30)
    for i in range(230):  # more than two pages of the newest-first check
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/new/n{i:03d}.txt", b"x")
    found = new_remote_paths(ctx)
    assert found is not None and found[:2] == ([f"new/n{i:03d}.txt" for i in range(230)], 230)


class Reads:
    """The statements the index's connection runs while ``with``-ed that read the rows a
    cycle's scope is made of (sqlite3's trace hook: each with its bound values)."""

    TABLES = ("bases", "own_uploads", "upload_paths", "remote_cache", "known_objects",
              "digests")

    def __init__(self, ctx: MappingContext) -> None:
        self.conn = ctx.index._conn
        self.sql: list[str] = []

    def _trace(self, sql: str) -> None:
        if sql.lstrip().upper().startswith("SELECT") and any(
                f"FROM {t} " in sql for t in self.TABLES):
            self.sql.append(sql)

    def __enter__(self) -> Reads:
        self.conn.set_trace_callback(self._trace)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.set_trace_callback(None)


def test_pull_cycle_does_not_read_its_check_s_scope_again(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """The pull check loads the index rows of the new objects' paths (a few statements per
    new object) to know where they map; the pull cycle it starts plans with those rows
    instead of running the same statements again (1,000 assistant files: ~0.05 s of the
    runner's thread before the first download, twice)."""
    grow(ctx, 20)
    for i in range(30):
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/new/n{i:03d}.txt", b"x")
    with Reads(ctx) as check:
        found = new_remote_paths(ctx)
    assert found is not None and found.news == 30
    with Reads(ctx) as cycle:
        report = run(ctx, CycleRequest("pull", found.paths, "incremental", found.listed,
                                       found.scope),
                     now=now, should_stop=lambda: False, on_progress=lambda: None)
    assert report.counts == {"downloaded": 30}
    assert (ctx.settings.local_root / "new" / "n029.txt").read_bytes() == b"x"
    assert len(check.sql) > 30
    assert set(check.sql) & set(cycle.sql) == set()


def test_pull_check_reads_pages_of_a_hundred(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """230 new objects: three list requests (the third reaches a known object), not
    twelve pages of 20."""
    grow(ctx, 30)
    for i in range(230):
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/new/n{i:03d}.txt", b"x")
    before = ctx.client.requests_made
    assert new_remote_paths(ctx)[1] == 230
    assert ctx.client.requests_made - before == 3


def test_targeted_cycle_reads_the_same_rows_whatever_the_tree_size(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """One new file, one edited file and one assistant file: the cycle for them reads as
    many index rows in a tree of 200 as in a tree of 20."""
    root = ctx.settings.local_root
    read = []
    for total in (20, 200):
        grow(ctx, total)
        (root / f"new-{total}.txt").write_text("new\n")
        (root / "d00" / "f0001.txt").write_text(f"edited at {total}\n")
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/out/a-{total}.txt", b"made")
        with Rows(ctx) as rows:
            report = run_cycle(ctx, CycleOptions(
                only=[f"new-{total}.txt", "d00/f0001.txt"], listing="incremental"), now=now)
        assert report.counts == {"uploaded": 2, "downloaded": 1}
        assert (root / "out" / f"a-{total}.txt").read_bytes() == b"made"
        read.append(rows.count)
    assert read[0] == read[1], read


def test_targeted_cycle_of_a_folder_reads_only_that_folder(ctx: MappingContext) -> None:
    """A dirty folder (created, moved in) is scanned whole; its rows are read, the
    rest of the tree's are not: deleting a folder of 50 costs the same in any tree."""
    root = ctx.settings.local_root
    read = []
    for total, folder in ((100, "d01"), (300, "d03")):
        grow(ctx, total)
        for f in (root / folder).iterdir():
            f.unlink()
        (root / folder).rmdir()
        with Rows(ctx) as rows:
            report = run_cycle(ctx, CycleOptions(only=[folder], listing="incremental"),
                               now=now)
        assert report.counts == {"deleted_remote": 50}
        read.append(rows.count)
    assert read[0] == read[1], read


def test_intents_and_results_are_written_in_batches(ctx: MappingContext) -> None:
    """40 uploads: the intents of each batch go in one transaction (the first batch is
    the whole queue, 16 at concurrency 8), results that finish together in one more;
    two fsynced commits per file was 29 % of an initial push."""
    root = ctx.settings.local_root
    for i in range(40):
        (root / f"f{i:02d}.txt").write_text(f"file {i}\n")
    begun: list[str] = []
    conn = ctx.index._conn  # sqlite3's own hook on the index's connection
    conn.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN") else None)
    try:
        report = run_cycle(ctx, CycleOptions(), now=now)
    finally:
        conn.set_trace_callback(None)
    assert report.counts == {"uploaded": 40}
    assert ctx.index.intents(ctx.name) == []
    # at most 1 + 24 intent batches, 40 result batches, and the cycle's own few (85 before)
    assert len(begun) < 2 * 40, len(begun)


def test_a_pull_check_right_after_our_uploads_finds_nothing_new(ctx: MappingContext) -> None:
    # our uploads are cached as not listed; the first pull check after them took them for
    # new, and each of a daemon's mappings ran a pull cycle for its own uploads after its
    # first sync (four requests where one does)
    root = ctx.settings.local_root
    for i in range(20):
        (root / f"f{i:02d}.txt").write_text(f"file {i}\n")
    run_cycle(ctx, CycleOptions(), now=now)  # the first sync: uploads only
    assert len(ctx.index.scoped.unlisted_among(ctx.name, ctx.index.cached_rows(ctx.name))) == 20
    before = ctx.client.requests_made
    assert new_remote_paths(ctx)[:2] == ([], 0)
    assert ctx.client.requests_made - before == 1
    assert new_remote_paths(ctx)[:2] == ([], 0)


def test_a_pull_cycle_lists_nothing_its_check_just_listed(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """The daemon's pull check lists the new objects; the cycle it starts for them takes
    that listing instead of reading the same pages again (three list requests for 230
    new files, not six), and records them so the next check stops at them."""
    from containersync.daemon import cycles

    grow(ctx, 30)
    for i in range(230):
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/new/n{i:03d}.txt", b"x")
    listed: list[str] = []
    ctx.client._http.event_hooks["request"].append(  # httpx's own hook on the client
        lambda r: listed.append(r.url.path) if r.url.path.endswith("/files") else None)
    found = new_remote_paths(ctx)
    assert found is not None and found.news == 230 and len(listed) == 3
    report = cycles.run(ctx, cycles.CycleRequest("pull", found.paths, "incremental",
                                                 listed=found.listed),
                        now=now, should_stop=lambda: False, on_progress=lambda: None)
    assert report.counts == {"downloaded": 230}
    assert len(listed) == 3
    assert new_remote_paths(ctx)[:2] == ([], 0)  # one request: they are cached
    assert len(listed) == 4


class Steps:
    """Counts the virtual-machine steps SQLite runs on the index's connection while
    ``with``-ed (its progress handler, called every ``EVERY`` steps): a statement that
    returns one row but walks a row per file (an aggregate no index answers) costs steps
    in proportion to the tree, which ``Rows`` cannot see."""

    EVERY = 10

    def __init__(self, ctx: MappingContext) -> None:
        self.conn = ctx.index._conn  # sqlite3's own hook on the index's connection
        self.count = 0

    def _tick(self) -> int:
        self.count += 1
        return 0  # go on

    def __enter__(self) -> Steps:
        self.conn.set_progress_handler(self._tick, self.EVERY)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.set_progress_handler(None, 0)


def test_targeted_cycle_walks_the_same_rows_whatever_the_tree_size(
        ctx: MappingContext, local_server: RunningServer) -> None:
    """One new file and one assistant file: SQLite itself does no more work for them in a
    tree of 500 than in one of 50 (the incremental listing's ``MAX(position)`` walked
    every cached object of the mapping: a partial index it could not use)."""
    root = ctx.settings.local_root
    steps = []
    for total in (50, 500):
        grow(ctx, total)
        (root / f"new-{total}.txt").write_text("new\n")
        add_assistant_file(local_server, cid(ctx), f"/mnt/data/out/a-{total}.txt", b"made")
        with Steps(ctx) as counted:
            report = run_cycle(ctx, CycleOptions(only=[f"new-{total}.txt"],
                                                 listing="incremental"), now=now)
        assert report.counts == {"uploaded": 1, "downloaded": 1}
        steps.append(counted.count)
    # B-tree depth is not a step; a walk of 450 more rows is hundreds of ticks
    assert steps[1] - steps[0] < 50, steps


def test_idle_pull_check_walks_the_same_rows_whatever_the_tree_size(
        ctx: MappingContext) -> None:
    """The pull check runs every second for a minute after each change: SQLite does no
    more work for it in a tree of 500 than in one of 50."""
    steps = []
    for total in (50, 500):
        grow(ctx, total)
        with Steps(ctx) as counted:
            assert new_remote_paths(ctx)[:2] == ([], 0)
        steps.append(counted.count)
    assert steps[1] - steps[0] < 50, steps
