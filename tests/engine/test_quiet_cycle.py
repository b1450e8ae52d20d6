"""A full cycle that the index knows would plan nothing skips planning (``engine.quiet``),
and only such a cycle does: whatever changed on either side, in the settings or in the
index's rows, the cycle plans what planning every path would plan.

The oracle is the cycle itself with the shortcut turned off (``check_quiet`` patched to
find nothing: the one stand-in here, so that the same state is planned both ways), run as
a dry run just before the real one: it writes nothing, and its plan is what ``sync``
would do. Real backend over HTTP, real files, real SQLite.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import containersync.engine.cycle as cycle_module
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.quiet import Quiet
from containersync.engine.summary import CycleReport
from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file, raw
from support.contexts import mapping_context

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR_AGO = time.time_ns() - 3600 * 10**9


def now() -> datetime:
    return AT


def cid_of(ctx: MappingContext) -> str:
    state = ctx.index.mapping(ctx.name)
    assert state is not None and state.container_id is not None
    return state.container_id


class Spy:
    """Counts the cycles that took the shortcut (calls straight through)."""

    def __init__(self) -> None:
        self.held = 0
        self._check = cycle_module.check_quiet

    def __call__(self, *args: object, **kwargs: object) -> Quiet:
        quiet = self._check(*args, **kwargs)  # type: ignore[arg-type]
        self.held += quiet.holds
        return quiet


@contextmanager
def spied() -> Iterator[Spy]:
    spy = Spy()
    with mock.patch.object(cycle_module, "check_quiet", spy):
        yield spy


def planned_without_shortcut(ctx: MappingContext) -> CycleReport:
    """The dry run of a cycle that plans every path (the oracle)."""
    with mock.patch.object(cycle_module, "check_quiet", lambda *_a, **_k: Quiet()):
        return run_cycle(ctx, CycleOptions(dry_run=True, scan_while_listing=True), now=now)


def outcome(report: CycleReport) -> tuple[object, ...]:
    """What planning decided (the scan's problems come from the scan, which runs either
    way; a transfer's from the transfer, which only the real run makes)."""
    return (report.plan.actions, report.plan.conflicts,
            sorted((p.path, p.kind) for p in report.plan.problems))


def sync_checked(ctx: MappingContext, spy: Spy) -> tuple[CycleReport, bool]:
    """One real ``sync`` cycle, checked against the oracle; (its report, whether it took
    the shortcut)."""
    expected = planned_without_shortcut(ctx)
    held = spy.held
    report = run_cycle(ctx, CycleOptions(scan_while_listing=True), now=now)
    assert outcome(report) == outcome(expected)
    return report, spy.held > held


def write_old(path: Path, content: bytes, tick: int) -> None:
    """Write ``content``, dated in the past (older than the racy window, so the next scan
    can trust the stat), one nanosecond later per ``tick``: every write is a new stat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, ns=(HOUR_AGO + tick, HOUR_AGO + tick))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    for i in range(5):
        write_old(root / f"d{i % 2}" / f"f{i}.txt", b"file %d\n" % i, i)
    return root


def settle(ctx: MappingContext, spy: Spy) -> None:
    for _ in range(3):
        sync_checked(ctx, spy)


def test_a_settled_tree_skips_planning_until_something_changes(
        tmp_path: Path, tree: Path, local_server: RunningServer) -> None:
    with mapping_context(tmp_path, local_server.base_url, tree) as ctx, spied() as spy:
        assert sync_checked(ctx, spy)[0].counts == {"uploaded": 5}
        settle(ctx, spy)
        report, held = sync_checked(ctx, spy)
        assert held and report.counts == {} and report.hashed == 0 and not report.problems
        # a local edit, a remote write: each is planned, then the tree settles again
        write_old(tree / "d0" / "f0.txt", b"edited\n", 100)
        report, held = sync_checked(ctx, spy)
        assert not held and report.counts == {"uploaded": 1}
        # the next one lists the upload (and stores that listing): it plans every path,
        # finds nothing, and the one after it skips planning again
        report, held = sync_checked(ctx, spy)
        assert not held and report.counts == {}
        report, held = sync_checked(ctx, spy)
        assert held and report.counts == {}
        add_assistant_file(local_server, cid_of(ctx), "/mnt/data/out.txt", b"from code\n")
        report, held = sync_checked(ctx, spy)
        assert not held and report.counts == {"downloaded": 1}
        # a file written this second is racily clean: read again until it is older
        os.utime(tree / "out.txt", ns=(HOUR_AGO, HOUR_AGO))
        settle(ctx, spy)
        assert sync_checked(ctx, spy)[1]


def test_a_dry_run_takes_the_shortcut_and_writes_nothing(
        tmp_path: Path, tree: Path, local_server: RunningServer) -> None:
    with mapping_context(tmp_path, local_server.base_url, tree) as ctx, spied() as spy:
        settle(ctx, spy)
        stored = ctx.index.quiet_digest(ctx.name)
        assert stored is not None and not stored.startswith("pending")
        held = spy.held
        report = run_cycle(ctx, CycleOptions(dry_run=True, scan_while_listing=True), now=now)
        assert spy.held == held + 1 and not report.plan.actions
        assert ctx.index.quiet_digest(ctx.name) == stored


def test_a_cycle_that_stopped_half_way_leaves_a_mark_that_never_matches(
        tmp_path: Path, tree: Path, local_server: RunningServer) -> None:
    """The digest is pending from before planning reads the index until the cycle ends:
    a run killed in between (here: planning raises) leaves no digest that skips planning."""
    with mapping_context(tmp_path, local_server.base_url, tree) as ctx, spied() as spy:
        run_cycle(ctx, CycleOptions(scan_while_listing=True), now=now)
        run_cycle(ctx, CycleOptions(scan_while_listing=True), now=now)
        with ctx.index.write() as tx:  # a fresh start for the digest
            tx.put_bases(ctx.name, list(ctx.index.bases(ctx.name).values()))
        with mock.patch.object(cycle_module, "_reconcile", side_effect=KeyboardInterrupt), \
                pytest.raises(KeyboardInterrupt):
            run_cycle(ctx, CycleOptions(scan_while_listing=True), now=now)
        mark = ctx.index.quiet_digest(ctx.name)
        assert mark is not None and mark.startswith("pending ")
        _, held = sync_checked(ctx, spy)
        assert not held


def add_user_file(server: RunningServer, cid: str, path: str, content: bytes) -> None:
    """A file someone else uploaded through the API (source ``user``, not ours)."""
    with raw(server) as client:
        client.post(f"/v1/containers/{cid}/files", files={"file": ("f", content)},
                    data={"path": path}).raise_for_status()


#: (settings before, what the sandbox or the user does while they hold, settings after,
#: what the next sync must do): each part of the digest beside the index's rows
SETTING_CHANGES = {
    "mode": ('mode = "push"\n', "assistant", 'mode = "two-way"\n', {"downloaded": 1}),
    "pull_sources": ("", "user", 'pull_sources = ["assistant", "user"]\n',
                     {"downloaded": 1}),
    "exclude": ('exclude = ["out.txt"]\n', "assistant", "", {"downloaded": 1}),
    "folders": ('mode = "push"\n', "assistant+folder", 'mode = "push"\n', {}),
}


@pytest.mark.parametrize("change", sorted(SETTING_CHANGES))
def test_a_change_of_what_planning_reads_beside_the_index_is_planned(
        tmp_path: Path, tree: Path, local_server: RunningServer, change: str) -> None:
    before, remote, after, expected = SETTING_CHANGES[change]
    cid = str(local_server.store.create_container({"name": "quiet"})["id"])
    pinned = f'[mappings.container]\nid = "{cid}"\n'

    def cycle(extra: str, spy: Spy) -> tuple[CycleReport, bool]:
        with mapping_context(tmp_path, local_server.base_url, tree,
                             extra=extra + pinned) as ctx:
            return sync_checked(ctx, spy)

    with spied() as spy:
        cycle(before, spy)
        if remote == "user":
            add_user_file(local_server, cid, "/mnt/data/out.txt", b"theirs\n")
        else:
            add_assistant_file(local_server, cid, "/mnt/data/out.txt", b"from code\n")
        for _ in range(3):
            report, held = cycle(before, spy)
        assert held and not report.problems  # out.txt is left alone, and that is settled
        if remote.endswith("+folder"):
            (tree / "out.txt").mkdir()  # where the sandbox's file would land
        report, held = cycle(after, spy)
        assert not held and report.counts == expected
        if remote.endswith("+folder"):
            assert [p.kind for p in report.problems] == ["folder-in-the-way"]


#: the writes other stages make to the rows planning reads, behind the cycle's back
TAMPER = {
    "forget-digest": "DELETE FROM digests WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM digests WHERE mapping = :m)",
    "forget-known": "DELETE FROM known_objects WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM known_objects WHERE mapping = :m)",
    "forget-own": "DELETE FROM own_uploads WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM own_uploads WHERE mapping = :m)",
    "forget-upload-path": "DELETE FROM upload_paths WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM upload_paths WHERE mapping = :m)",
    "forget-base": "DELETE FROM bases WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM bases WHERE mapping = :m)",
    "edit-base": "UPDATE bases SET sha256 = 'x' || sha256 WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM bases WHERE mapping = :m)",
    "forget-cached": "DELETE FROM remote_cache WHERE mapping = :m AND rowid = (SELECT MIN(rowid) FROM remote_cache WHERE mapping = :m)",
}


@pytest.mark.parametrize("write", sorted(TAMPER))
def test_any_write_to_what_planning_reads_clears_the_digest(
        tmp_path: Path, tree: Path, local_server: RunningServer, write: str) -> None:
    with mapping_context(tmp_path, local_server.base_url, tree) as ctx, spied() as spy:
        sync_checked(ctx, spy)  # every table has rows: an upload of ours, a pulled file
        add_assistant_file(local_server, cid_of(ctx), "/mnt/data/out.txt", b"from code\n")
        assert sync_checked(ctx, spy)[0].counts == {"downloaded": 1}
        os.utime(tree / "out.txt", ns=(HOUR_AGO, HOUR_AGO))
        settle(ctx, spy)
        assert ctx.index.quiet_digest(ctx.name) is not None
        with sqlite3.connect(ctx.index.path) as conn:  # another writer: an older version
            assert conn.execute(TAMPER[write], {"m": ctx.name}).rowcount == 1
        assert ctx.index.quiet_digest(ctx.name) is None
        _, held = sync_checked(ctx, spy)
        assert not held


OPS = st.lists(st.tuples(st.sampled_from([
    "write", "delete", "touch", "mkdir", "remote-write", "remote-delete", "mode", "exclude",
    "sources", *TAMPER, "noop", "settle", "settle"]), st.integers(0, 7)), min_size=1,
    max_size=6)
MODES = ["two-way", "push", "pull"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_a_cycle_plans_what_planning_every_path_plans(
        local_server: RunningServer, ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp_s, spied() as spy:
        tmp = Path(tmp_s)
        root = tmp / "work"
        for i in range(4):
            write_old(root / f"d{i % 2}" / f"f{i}.txt", b"file %d\n" % i, i)
        knobs = {"mode": "two-way", "exclude": False, "sources": False}
        # a container of its own: the examples share the backend
        container = f'[mappings.container]\nid = "{local_server.store.create_container({"name": "quiet"})["id"]}"\n'

        def context() -> Callable[[], object]:
            extra = f'mode = "{knobs["mode"]}"\n'
            if knobs["exclude"]:
                extra += 'exclude = ["f1.txt", "n3.txt"]\n'
            if knobs["sources"]:
                extra += 'pull_sources = ["assistant", "user"]\n'
            return lambda: mapping_context(tmp, local_server.base_url, root,
                                           extra=extra + container)

        def sync() -> bool:
            with context()() as ctx:  # type: ignore[attr-defined]
                return sync_checked(ctx, spy)[1]

        def age_all() -> None:
            for n, f in enumerate(sorted(p for p in root.rglob("*") if p.is_file())):
                os.utime(f, ns=(HOUR_AGO - n, HOUR_AGO - n))  # none racily clean (a download)

        sync()
        for tick, (op, n) in enumerate(ops, start=100):
            path = root / f"d{n % 2}" / f"n{n % 4}.txt" if n >= 4 else root / f"d{n % 2}" / f"f{n}.txt"
            if op == "write" and not path.is_dir():
                write_old(path, b"v%d\n" % tick, tick)
            elif op == "delete" and path.is_file():
                path.unlink()
            elif op == "touch" and path.is_file():
                os.utime(path, ns=(HOUR_AGO + tick, HOUR_AGO + tick))
            elif op == "mkdir":
                (root / f"d{n % 2}" / f"n{n % 4}.txt").mkdir(parents=True, exist_ok=True)
            elif op in ("remote-write", "remote-delete"):
                with context()() as ctx:  # type: ignore[attr-defined]
                    cid = cid_of(ctx)
                    rel = path.relative_to(root).as_posix()
                    if op == "remote-write":
                        add_assistant_file(local_server, cid, f"/mnt/data/{rel}", b"r%d\n" % tick)
                    else:
                        for f in ctx.client.list_files(cid):
                            if f.path == f"/mnt/data/{rel}":
                                ctx.client.delete_file(cid, f.id)
            elif op == "mode":
                knobs["mode"] = MODES[n % 3]
            elif op in ("exclude", "sources"):
                knobs[op] = not knobs[op]
            elif op == "settle":  # a digest is stored: the next change must undo it
                age_all()
                for _ in range(2):
                    sync()
            elif op in TAMPER:
                with context()() as ctx:  # type: ignore[attr-defined]
                    index_path, name = ctx.index.path, ctx.name
                with sqlite3.connect(index_path) as conn:
                    conn.execute(TAMPER[op], {"m": name})
            sync()
        # then it settles; a settled tree that planned nothing and met nothing, with one
        # local file per base (a pull-only or conflict-copy file has none) and each as its
        # base records it (no file read: a local edit that pull mode keeps is read every
        # time), takes the shortcut
        age_all()
        held = False
        for _ in range(4):
            held = sync()
        with context()() as ctx:  # type: ignore[attr-defined]
            report = run_cycle(ctx, CycleOptions(dry_run=True, scan_while_listing=True), now=now)
            bases = set(ctx.index.bases(ctx.name))
            local = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                     and not ctx.rules.ignored(p.relative_to(root).as_posix())}
        if (not report.problems and not report.plan.actions and not report.hashed
                and bases and local == bases):
            assert held
